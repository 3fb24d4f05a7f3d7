package raft

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
)

// Scenarios of compaction and InstallSnapshot (thesis §5.3) on simulated
// clusters (sim): every node snapshots its state machine and compacts its
// log; a leader sends its snapshot to a follower that needs compacted
// entries. Every check of sim holds throughout, and every state machine,
// however it got to its applied index (applying, restarting from its
// snapshot, installing one), equals the reference at that index.

// snapSeeds overrides how many histories TestSnapshotChaos runs:
// `go test ./raftnode/raft -run TestSnapshotChaos -snap.seeds 5000`.
var snapSeeds = flag.Int("snap.seeds", 0, "histories TestSnapshotChaos runs (0: the default)")

// TestSnapshotChaos runs randomized histories, like TestManyElections and
// TestDiskFaults, with compaction on every node and a small snapshot
// interval, so that installs happen often: partitions, message loss,
// duplication and reordering, crashes at every durability step (installs
// included), slow and stalled disks. Once the faults stop, every node
// applies the same last command.
func TestSnapshotChaos(t *testing.T) {
	seeds := 120
	if testing.Short() {
		seeds = 20
	}
	if *snapSeeds > 0 {
		seeds = *snapSeeds
	}
	var installs, sent, lost, committed int
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := snapshotChaos(t, 5000+seed, 400)
			installs += s.installs
			sent += s.snapsSent
			lost += s.snapsLost
			committed += len(s.committed)
		})
	}
	t.Logf("%d entries committed; %d snapshots sent, %d lost, %d installed", committed, sent, lost, installs)
	if installs < seeds {
		t.Fatalf("only %d installs in %d runs: the chaos does not exercise InstallSnapshot", installs, seeds)
	}
}

// snapshotChaos runs one history of TestSnapshotChaos for seed.
func snapshotChaos(t testing.TB, seed uint64, ticks int) *sim {
	p := rand.New(rand.NewPCG(seed, 0x5a95))
	n := 3 + 2*p.IntN(2)
	inflight, msgBytes := []int{0, 1, 4}[p.IntN(3)], []uint64{0, 1}[p.IntN(2)]
	s := newSim(t, n, seed, func(c *Config) {
		c.MaxInflight, c.MaxMsgBytes = inflight, msgBytes
		c.PreVote, c.CheckQuorum = seed%3 != 0, seed%4 != 0
	})
	s.traceOn = testing.Verbose()
	s.snapEvery, s.snapMargin = 2+p.IntN(5), p.IntN(4)
	s.dropRate = float64(p.IntN(3)) * 0.05
	s.maxDelay = p.IntN(3)
	s.dupRate = float64(p.IntN(2)) * 0.05
	s.slowRate = float64(p.IntN(2)) * 0.3
	if p.IntN(2) == 0 {
		s.stallRate, s.stallTicks = 0.03, 2*simElection
	}
	s.keepApplied = p.IntN(3) == 0
	s.one("start", 1, true)
	s.crashRate = 0.005
	var ctx uint64
	for s.now < ticks {
		for _, id := range s.ids {
			if s.isUp(id) && s.nodes[id].r.role == RoleLeader {
				ctx++
				s.propose(id, fmt.Sprint("c", ctx))
				if s.isUp(id) {
					s.readIndex(id, ctx)
				}
			}
		}
		switch s.rng.IntN(6) {
		case 0: // a random partition into up to three sides
			sides := make([][]string, 3)
			for _, id := range s.ids {
				i := s.rng.IntN(3)
				sides[i] = append(sides[i], id)
			}
			s.partition(sides...)
		case 1, 2:
			s.heal()
		case 3:
			id := s.ids[s.rng.IntN(n)]
			if s.isUp(id) {
				s.crash(id)
			} else {
				s.restart(id)
			}
		}
		s.run(1 + s.rng.IntN(simElection/2))
	}
	s.heal()
	s.dropRate, s.dupRate, s.maxDelay, s.crashRate, s.stallRate = 0, 0, 0, 0, 0
	for _, id := range s.ids {
		if !s.isUp(id) {
			s.restart(id)
		}
	}
	s.checkOneLeader(s.ids)
	s.one("last", n, true)
	return s
}
