package raft

import (
	"flag"
	"fmt"
	"testing"
)

// diskSeeds is how many histories TestDiskFaults runs; `make test` runs
// the default, `go test ./raftnode/raft -run TestDiskFaults -disk.seeds 5000`
// many more.
var diskSeeds = flag.Int("disk.seeds", 300, "histories TestDiskFaults runs")

// diskSeed, when set, runs TestDiskFaults for that one seed: a failure
// names its seed.
var diskSeed = flag.Uint64("disk.seed", 0, "run TestDiskFaults for this seed only")

// TestDiskFaults: the disk as an actor. Nodes crash after any durability
// step (part of an append, a hard-state save, a snapshot of the state
// machine) and restart from exactly what was durable; disks stall for
// ticks at a time, so writes finish late, across message deliveries,
// elections and leader changes; the network loses, duplicates and
// reorders messages, and leaders are cut off. Every check of sim holds
// throughout (one leader per term, Log Matching, State Machine Safety,
// each applied sequence a prefix of the committed one, nothing sent
// before what it depends on is durable), every crashed node restarts,
// and once the faults stop every node applies the same last command.
func TestDiskFaults(t *testing.T) {
	seeds := make([]uint64, 0, *diskSeeds)
	if *diskSeed != 0 {
		seeds = append(seeds, *diskSeed)
	} else {
		for i := range uint64(*diskSeeds) {
			seeds = append(seeds, 1000+i)
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			diskFaults(t, seed)
		})
	}
}

// diskFaults runs one history of TestDiskFaults: 3 or 5 nodes, by seed.
func diskFaults(t *testing.T, seed uint64) {
	size := 3 + 2*int(seed%2)
	var opts func(*Config)
	if seed%4 < 2 {
		opts = oneEntryPerMsg // entries of old terms linger on minorities
	}
	s := newSim(t, size, seed, opts)
	s.traceOn = testing.Verbose() || *diskSeed != 0
	s.dropRate, s.dupRate, s.maxDelay = 0.05, 0.02, 2
	s.slowRate = 0.3
	s.stallRate, s.stallTicks = 0.05, 3*simElection
	s.snapshotRate = 0.1
	s.one("start", 1, true)
	s.crashRate = 0.01
	down := map[string]int{} // crashed node → tick to restart it
	for iter := range 400 {
		for _, id := range s.ids {
			if s.isUp(id) && s.nodes[id].r.role == RoleLeader {
				s.propose(id, fmt.Sprint(iter))
			}
		}
		s.run(1 + s.rng.IntN(3))
		switch r := s.rng.IntN(20); {
		case r == 0:
			if l := s.anyLeader(); l != "" {
				s.disconnect(l)
			}
		case r == 1:
			s.crash(s.ids[s.rng.IntN(size)])
		case r < 4:
			s.heal()
		}
		for _, id := range s.ids {
			if s.isUp(id) {
				delete(down, id)
				continue
			}
			if _, ok := down[id]; !ok {
				down[id] = s.now + s.rng.IntN(2*simElection)
			}
			if s.now >= down[id] {
				s.restart(id)
				delete(down, id)
			}
		}
	}
	s.crashRate, s.stallRate = 0, 0
	for _, id := range s.ids {
		if !s.isUp(id) {
			s.restart(id)
		}
	}
	s.heal()
	s.dropRate, s.dupRate = 0, 0
	index := s.one("end", size, true)
	s.waitApplied(index, size)
	t.Logf("%d nodes, %d entries committed in %d terms", size, len(s.committed), len(s.leaders))
}

// anyLeader returns a running node that believes it leads, or "".
func (s *sim) anyLeader() string {
	for _, id := range s.ids {
		if s.isUp(id) && s.nodes[id].r.role == RoleLeader {
			return id
		}
	}
	return ""
}
