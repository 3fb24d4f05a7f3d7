package raft

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
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
// duplication and reordering (some messages held for up to five election
// timeouts), crashes at every durability step (installs
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
	var mu sync.Mutex
	var installs, sent, lost, committed int
	t.Run("seeds", func(t *testing.T) {
		for seed := range uint64(seeds) {
			t.Run(fmt.Sprint(seed), func(t *testing.T) {
				t.Parallel()
				s := snapshotChaos(t, 5000+seed, 400)
				mu.Lock()
				defer mu.Unlock()
				installs += s.installs
				sent += s.snapsSent
				lost += s.snapsLost
				committed += len(s.committed)
			})
		}
	})
	t.Logf("%d entries committed; %d snapshots sent, %d lost, %d installed", committed, sent, lost, installs)
	if installs < seeds {
		t.Fatalf("only %d installs in %d runs: the chaos does not exercise InstallSnapshot", installs, seeds)
	}
}

// TestSnapshotChaosDeterministic: a seed of TestSnapshotChaos replays
// exactly, so a failure can be debugged from its seed.
func TestSnapshotChaosDeterministic(t *testing.T) {
	a, b := snapshotChaos(t, 5007, 400), snapshotChaos(t, 5007, 400)
	if !reflect.DeepEqual(a.leaders, b.leaders) || !reflect.DeepEqual(a.votes, b.votes) || a.installs != b.installs || a.snapsSent != b.snapsSent {
		t.Fatalf("two runs differ: leaders %v / %v, installs %d / %d", a.leaders, b.leaders, a.installs, b.installs)
	}
	for _, id := range a.ids {
		if sa, sb := a.nodes[id].r.Status(), b.nodes[id].r.Status(); !reflect.DeepEqual(sa, sb) || !reflect.DeepEqual(a.nodes[id].snap, b.nodes[id].snap) {
			t.Fatalf("%s ends as %+v and %+v", id, sa, sb)
		}
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
	if p.IntN(2) == 0 { // messages of older terms arrive late
		s.longRate, s.longDelay = 0.02, 5*simElection
	}
	s.slowRate = float64(p.IntN(2)) * 0.3
	if p.IntN(2) == 0 {
		s.stallRate, s.stallTicks = 0.03, 2*simElection
	}
	s.keepApplied = p.IntN(3) == 0
	s.one("start", 1, true)
	s.crashRate = 0.005
	var ctx uint64
	for s.now < ticks {
		ctx = s.loadLeaders(ctx)
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
	s.dropRate, s.dupRate, s.maxDelay, s.crashRate, s.stallRate, s.longRate = 0, 0, 0, 0, 0, 0
	for _, id := range s.ids {
		if !s.isUp(id) {
			s.restart(id)
		}
	}
	s.checkOneLeader(s.ids)
	s.one("last", n, true)
	return s
}

// newSnapSim builds a cluster of n with compaction every `every` applied
// entries, keeping margin entries, and no faults.
func newSnapSim(t testing.TB, n int, seed uint64, every, margin int) *sim {
	s := newSim(t, n, seed, nil)
	s.snapEvery, s.snapMargin = every, margin
	return s
}

// installsOf counts the snapshots each node installs, from now on.
func installsOf(s *sim) map[string]int {
	got := map[string]int{}
	prev := s.onInstall
	s.onInstall = func(id string, meta SnapshotMeta, before bool) bool {
		if !before {
			got[id]++
		}
		return prev != nil && prev(id, meta, before)
	}
	return got
}

// commitN has the leader commit k more entries on the nodes in group.
func (s *sim) commitN(k int, group []string, tag string) uint64 {
	s.t.Helper()
	var index uint64
	for i := range k {
		index = s.one(fmt.Sprintf("%s%d", tag, i), len(group), true)
	}
	return index
}

// checkCaughtUp fails unless every node applied index; the state machines
// are checked against the reference as they move.
func (s *sim) checkCaughtUp(index uint64) {
	s.t.Helper()
	s.waitApplied(index, len(s.ids))
}

// TestSnapshotCatchUp: a follower cut off while the others commit and
// compact far past its log catches up by a snapshot, then by appends; the
// leader's progress for it goes through the snapshot state.
func TestSnapshotCatchUp(t *testing.T) {
	s := newSnapSim(t, 3, 21, 5, 2)
	installs := installsOf(s)
	l := s.checkOneLeader(s.ids)
	f := s.others(l)[0]
	s.disconnect(f)
	s.commitN(30, s.others(f), "a")
	if first := s.nodes[l].storage.FirstIndex(); first <= s.nodes[f].storage.LastIndex()+1 {
		s.fatalf("leader's first index %d, follower's log ends at %d: nothing compacted past it", first, s.nodes[f].storage.LastIndex())
	}
	var sawSnapState bool
	s.onSend = func(m Message) {
		if m.Type == MsgSnap && m.To == f {
			sawSnapState = s.nodes[l].r.progress[f].state == stateSnapshot
		}
	}
	s.reconnect(f)
	index := s.one("b", 3, true)
	s.checkCaughtUp(index)
	if installs[f] == 0 || !sawSnapState {
		s.fatalf("%s caught up with %d installs (snapshot state seen: %v)", f, installs[f], sawSnapState)
	}
	if p := s.nodes[l].r.progress[f]; p.state != stateReplicate {
		s.fatalf("leader's progress for %s is %s after catching up", f, p.state)
	}
	index = s.commitN(3, s.ids, "c") // appends after the snapshot
	s.checkCaughtUp(index)
}

// TestSnapshotLeaderChangeMidInstall: the leader's snapshot reaches a
// follower, and both are cut off at once, so the follower's answer is
// lost; another leader is elected and compacts past the snapshot, then
// reaches the follower and sends its own, newer snapshot. The first
// install completes before the new leader is elected, or only after it
// compacted (the follower's disk stalled, so the install was a queued
// write all along). In a third history the same leader sends a second,
// newer snapshot while the first install is still a queued write: the
// first stream's end was reported failed, and an answer the follower sent
// before arrives late and makes the leader retry. Both writes complete in
// order, the first one's durability report is stale, and the follower
// ends with the newer state.
func TestSnapshotLeaderChangeMidInstall(t *testing.T) {
	for _, tc := range []struct {
		name                string
		stalled, sameLeader bool
	}{
		{"installed-then-new-leader", false, false},
		{"new-leader-while-installing", true, false},
		{"second-snapshot-while-installing", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSnapSim(t, 5, 22, 4, 0)
			l := s.checkOneLeader(s.ids)
			f := s.others(l)[0]
			s.disconnect(f)
			s.commitN(20, s.others(f), "a")
			lastAnswer := Message{Type: MsgAppResp, From: f, To: l, Term: s.nodes[l].r.term, Index: s.nodes[f].r.commit}
			var got []string // the MsgSnaps f steps, and its installs, in order
			s.beforeStep = func(m Message) {
				if m.Type != MsgSnap || m.To != f {
					return
				}
				if len(got) == 0 {
					if tc.stalled {
						s.nodes[f].stalledUntil = math.MaxInt
					}
					if !tc.sameLeader {
						s.disconnect(l) // the leader goes right after it sent
						s.disconnect(f) // and the follower's answer is lost
					}
				}
				got = append(got, fmt.Sprintf("%s:%d", m.From, m.Snapshot.Index))
			}
			s.onInstall = func(id string, meta SnapshotMeta, before bool) bool {
				if id == f && !before {
					got = append(got, fmt.Sprintf("install:%d", meta.Index))
				}
				return false
			}
			s.reconnect(f)
			if !s.runUntil(10*simElection, func() bool { return len(got) > 0 }) {
				s.fatalf("no snapshot reached %s", f)
			}
			l2 := l
			rest := s.others(f)
			if !tc.sameLeader {
				rest = s.others(l, f)
				l2 = s.checkOneLeader(rest)
				if tc.stalled && len(got) != 1 {
					s.fatalf("%s installed before the new leader was elected: %v", f, got)
				}
			}
			s.commitN(10, rest, "b")
			if first := s.nodes[l2].storage.FirstIndex(); first <= 22 {
				s.fatalf("leader %s did not compact past the first snapshot: first index %d", l2, first)
			}
			if tc.sameLeader {
				// The first stream's end is reported failed; the answer
				// f sent before it arrives late and unpauses the probe.
				r := s.nodes[l].r
				r.ReportSnapshot(f, false)
				if err := r.Step(lastAnswer); err != nil {
					s.fatalf("%v", err)
				}
				s.drain(l)
			}
			if !tc.sameLeader {
				s.nodes[f].stalledUntil = 0 // the install completes now
			}
			s.reconnect(f)
			if !s.runUntil(10*simElection, func() bool { return len(got) >= 3 || tc.sameLeader && len(got) >= 2 }) {
				s.fatalf("no second snapshot reached %s: %v", f, got)
			}
			s.nodes[f].stalledUntil = 0
			s.reconnect(l)
			index := s.one("c", 5, true)
			s.checkCaughtUp(index)
			want := []string{l + ":", "install:", l2 + ":", "install:"}
			if tc.sameLeader {
				want = []string{l + ":", l2 + ":", "install:", "install:"}
			}
			ok := len(got) >= len(want)
			for i := 0; ok && i < len(want); i++ {
				ok = strings.HasPrefix(got[i], want[i])
			}
			var inst []string
			for _, g := range got[:min(4, len(got))] {
				if strings.HasPrefix(g, "install:") {
					inst = append(inst, g)
				}
			}
			if !ok || inst[0] == inst[1] {
				s.fatalf("%s saw %v, want %v", f, got, want)
			}
		})
	}
}

// TestSnapshotInstallCrash: the receiver crashes in the middle of an
// install: just before the write that installs it completes (it restarts
// from its old log and state machine, and gets a snapshot again), or just
// after (it restarts from the installed snapshot, whose entries it then
// never needs again). Either way it catches up, and its state machine is
// the reference one throughout.
func TestSnapshotInstallCrash(t *testing.T) {
	for _, before := range []bool{true, false} {
		t.Run(fmt.Sprintf("before=%v", before), func(t *testing.T) {
			s := newSnapSim(t, 3, 23, 5, 1)
			l := s.checkOneLeader(s.ids)
			f := s.others(l)[0]
			s.disconnect(f)
			s.commitN(20, s.others(f), "a")
			oldFirst, oldLast, oldSnap := s.nodes[f].storage.FirstIndex(), s.nodes[f].storage.LastIndex(), s.nodes[f].snap.meta
			var crashed SnapshotMeta
			s.onInstall = func(id string, meta SnapshotMeta, b bool) bool {
				if id == f && b == before && crashed.IsEmpty() {
					crashed = meta
					return true
				}
				return false
			}
			s.reconnect(f)
			if !s.runUntil(10*simElection, func() bool { return !s.isUp(f) }) {
				s.fatalf("%s never crashed installing a snapshot", f)
			}
			st := s.nodes[f].storage
			if before {
				if st.FirstIndex() != oldFirst || st.LastIndex() != oldLast || st.Snapshot().Index >= crashed.Index {
					s.fatalf("crash before the install: log [%d, %d] snapshot %+v, was [%d, %d]", st.FirstIndex(), st.LastIndex(), st.Snapshot(), oldFirst, oldLast)
				}
			} else if st.FirstIndex() != crashed.Index+1 || st.LastIndex() != crashed.Index || !reflect.DeepEqual(st.Snapshot(), crashed) || !reflect.DeepEqual(s.nodes[f].snap.meta, crashed) {
				s.fatalf("crash after the install of %+v: log [%d, %d] snapshot %+v", crashed, st.FirstIndex(), st.LastIndex(), st.Snapshot())
			}
			s.restart(f) // from its own snapshot, or the one installed
			if want := map[bool]uint64{true: oldSnap.Index, false: crashed.Index}[before]; s.nodes[f].applied != want {
				s.fatalf("%s restarted with its state machine at %d, want %d", f, s.nodes[f].applied, want)
			}
			index := s.one("b", 3, true)
			s.checkCaughtUp(index)
		})
	}
}

// TestSnapshotOlderThanLog: a MsgSnap that arrives late, after the
// follower's log has passed it (a duplicate of the stream, in the same
// term), changes nothing: no install, no entry lost, and the answer
// acknowledges the follower's commit index.
func TestSnapshotOlderThanLog(t *testing.T) {
	s := newSnapSim(t, 3, 24, 5, 1)
	installs := installsOf(s)
	l := s.checkOneLeader(s.ids)
	f := s.others(l)[0]
	s.disconnect(f)
	s.commitN(20, s.others(f), "a")
	var snap Message
	s.onSend = func(m Message) {
		if m.Type == MsgSnap && m.To == f {
			snap = m
		}
	}
	s.reconnect(f)
	index := s.commitN(10, s.ids, "b")
	s.checkCaughtUp(index)
	if snap.Snapshot.IsEmpty() || installs[f] != 1 {
		s.fatalf("%s installed %d snapshots, last sent %+v", f, installs[f], snap.Snapshot)
	}
	nf := s.nodes[f]
	first, last, applied := nf.storage.FirstIndex(), nf.storage.LastIndex(), nf.applied
	if nf.r.commit <= snap.Snapshot.Index {
		s.fatalf("%s's commit %d not past the snapshot %+v", f, nf.r.commit, snap.Snapshot)
	}
	data := simSnap{meta: snap.Snapshot, digest: s.digests[snap.Snapshot.Index-1]}
	var answers []Message
	s.onSend = func(m Message) {
		if m.From == f && m.Type == MsgAppResp {
			answers = append(answers, m)
		}
	}
	s.enqueue(flight{m: snap, at: s.now, snap: &data})
	s.deliver()
	if installs[f] != 1 || nf.storage.FirstIndex() != first || nf.storage.LastIndex() != last || nf.applied != applied {
		s.fatalf("the old snapshot changed %s: installs %d, log [%d, %d] applied %d, was [%d, %d] %d",
			f, installs[f], nf.storage.FirstIndex(), nf.storage.LastIndex(), nf.applied, first, last, applied)
	}
	if len(answers) == 0 || answers[0].Reject || answers[0].Index < snap.Snapshot.Index {
		s.fatalf("%s answered the old snapshot with %v", f, answers)
	}
	index = s.one("c", 3, true)
	s.checkCaughtUp(index)
}

// TestSnapshotPartitionedRejoin: a follower partitioned away for many
// compactions rejoins: it needs one snapshot, the newest (the leader
// never sends older ones), then appends.
func TestSnapshotPartitionedRejoin(t *testing.T) {
	s := newSnapSim(t, 5, 25, 10, 3)
	installs := installsOf(s)
	l := s.checkOneLeader(s.ids)
	f := s.others(l)[0]
	s.partition(s.others(f), []string{f})
	for i := range 20 {
		s.commitN(10, s.others(f), fmt.Sprintf("r%d-", i))
		if i == 10 { // and a leader change while it is away
			old := s.leaderOf(s.others(f))
			s.crash(old)
			s.checkOneLeader(s.others(f, old))
			s.restart(old)
		}
	}
	var sent []SnapshotMeta
	s.onSend = func(m Message) {
		if m.Type == MsgSnap && m.To == f {
			sent = append(sent, m.Snapshot)
		}
	}
	s.heal()
	index := s.one("back", 5, true)
	s.checkCaughtUp(index)
	if installs[f] != 1 || len(sent) == 0 || sent[0].Index < 190 {
		s.fatalf("%s installed %d snapshots, sent %v", f, installs[f], sent)
	}
}

// TestSnapshotWipedFollower: a follower's data directory is wiped. Its
// refusals of the leader's beats show its log ending below the Match it
// acknowledged; once it has refused them for a whole check-quorum round,
// the leader emits EventLostEntries, once, and sends it everything again:
// a snapshot, its log being compacted. No follower that lost nothing
// ever gets one, however late its refusals arrive (sim fails on a false
// alarm).
func TestSnapshotWipedFollower(t *testing.T) {
	s := newSnapSim(t, 3, 26, 10, 1)
	l := s.checkOneLeader(s.ids)
	f := s.others(l)[0]
	s.commitN(12, s.ids, "a")
	s.wipe(f)
	s.restart(f)
	s.run(4 * simElection)
	if s.lostEvents[f] != 1 {
		s.fatalf("%d EventLostEntries for wiped %s", s.lostEvents[f], f)
	}
	index := s.commitN(12, s.ids, "b")
	s.checkCaughtUp(index)
	if s.lostEvents[f] != 1 || s.nodes[f].storage.FirstIndex() == 1 {
		s.fatalf("%d EventLostEntries for wiped %s, its log starts at %d", s.lostEvents[f], f, s.nodes[f].storage.FirstIndex())
	}
}
