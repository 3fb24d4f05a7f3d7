package raft

import (
	"fmt"
	"slices"
	"testing"
)

// Log replication scenarios after MIT 6.5840's Raft tests (3B, 3C), on
// simulated clusters. Indexes differ from 6.5840's by the no-op each new
// leader appends (§8). Every run also checks, after each Ready, Election
// Safety, Log Matching, Leader Completeness and State Machine Safety (see
// sim), so these tests mostly add liveness and the expected indexes.

// at returns the member k places after id in id order, as 6.5840 uses
// (leader + k) % servers.
func (s *sim) at(id string, k int) string {
	i := slices.Index(s.ids, id)
	return s.ids[(i+k)%len(s.ids)]
}

// connected returns the running members that are not disconnected.
func (s *sim) connected() []string {
	var out []string
	for _, id := range s.ids {
		if s.isUp(id) && !s.offline[id] {
			out = append(out, id)
		}
	}
	return out
}

// nextIndex is where id's next entry goes.
func (s *sim) nextIndex(id string) uint64 {
	return s.raft(id).log.lastIndex() + 1
}

// TestBasicAgree: with no failures, each command is committed at the next
// index on every node, and not before it was proposed (§5.3).
func TestBasicAgree(t *testing.T) {
	s := newSim(t, 3, 11, nil)
	l := s.checkOneLeader(s.ids)
	s.waitApplied(1, 3) // the no-op
	for i := 1; i <= 3; i++ {
		want := s.nextIndex(l)
		if n, _ := s.nCommitted(want); n > 0 {
			s.fatalf("%d nodes committed %d before it was proposed", n, want)
		}
		if got := s.one(fmt.Sprint(i*100), 3, false); got != want {
			s.fatalf("command %d at index %d, want %d", i*100, got, want)
		}
	}
}

// TestRPCBytes: each command goes to each follower once: pipelining sends
// no entry twice when nothing is lost.
func TestRPCBytes(t *testing.T) {
	s := newSim(t, 3, 12, nil)
	s.one("99", 3, false)
	var sent uint64
	s.onSend = func(m Message) {
		for _, e := range m.Entries {
			sent += uint64(len(e.Data))
		}
	}
	const size = 5000
	for i := range 10 {
		cmd := fmt.Sprintf("%d:%s", i, make([]byte, size))
		s.one(cmd, 3, false)
	}
	if want := uint64(10 * (size + 2) * 2); sent > want {
		s.fatalf("sent %d bytes of entries, want %d: some went twice", sent, want)
	}
}

// TestFailAgree: a follower cut off misses entries, which the leader
// brings it once it is back (§5.3).
func TestFailAgree(t *testing.T) {
	s := newSim(t, 3, 13, nil)
	s.one("101", 3, false)
	l := s.checkOneLeader(s.ids)
	f := s.at(l, 1)
	s.disconnect(f)

	s.one("102", 2, false)
	s.one("103", 2, false)
	s.run(simElection)
	s.one("104", 2, false)
	s.one("105", 2, false)

	s.reconnect(f)
	s.one("106", 3, true)
	s.run(simElection)
	s.one("107", 3, true)
}

// TestFailNoAgree: with three of five cut off, the leader's entry is not
// committed; healed, the cluster commits again, and the entry survives
// or is replaced (§5.3, §5.4).
func TestFailNoAgree(t *testing.T) {
	s := newSim(t, 5, 14, nil)
	s.one("10", 5, false)
	l := s.checkOneLeader(s.ids)
	for k := 1; k <= 3; k++ {
		s.disconnect(s.at(l, k))
	}
	want := s.nextIndex(l)
	index, _, err := s.propose(l, "20")
	if err != nil || index != want {
		s.fatalf("leader took the command at %d (%v), want %d", index, err, want)
	}
	s.run(2 * simElection)
	if n, _ := s.nCommitted(index); n > 0 {
		s.fatalf("%d nodes committed %d without a majority", n, index)
	}

	s.heal()
	// The three may elect one of theirs, which forgets "20".
	l2 := s.checkOneLeader(s.ids)
	index2, _, err := s.propose(l2, "30")
	if err != nil || index2 < index+1 || index2 > index+2 {
		s.fatalf("second command at %d (%v), want %d or %d", index2, err, index+1, index+2)
	}
	s.one("1000", 5, true)
}

// TestConcurrentStarts: many proposals in one term, made between two
// Readys, all commit at distinct indexes.
func TestConcurrentStarts(t *testing.T) {
	s := newSim(t, 3, 15, nil)
	s.one("1", 3, false)
	l := s.checkOneLeader(s.ids)
	r := s.raft(l)
	term := r.term
	cmds := map[uint64]string{}
	for i := range 5 {
		cmd := fmt.Sprint(100 + i)
		index, tm, err := r.Propose([]byte(cmd))
		if err != nil || tm != term {
			s.fatalf("Propose(%s) = %d, %d, %v in term %d", cmd, index, tm, err, term)
		}
		if _, dup := cmds[index]; dup {
			s.fatalf("two commands at index %d", index)
		}
		cmds[index] = cmd
	}
	s.drain(l)
	for index, cmd := range cmds {
		s.waitApplied(index, 3)
		if _, got := s.nCommitted(index); got != cmd {
			s.fatalf("index %d holds %q, want %q", index, got, cmd)
		}
	}
}

// TestRejoin: a partitioned leader's uncommitted entries are replaced when
// it rejoins a cluster that moved on (§5.3).
func TestRejoin(t *testing.T) {
	s := newSim(t, 3, 16, nil)
	s.one("101", 3, true)

	l1 := s.checkOneLeader(s.ids)
	s.disconnect(l1)
	for _, cmd := range []string{"102", "103", "104"} {
		if _, _, err := s.propose(l1, cmd); err != nil {
			s.fatalf("cut-off leader refused %s: %v", cmd, err)
		}
	}

	s.one("103", 2, true)
	l2 := s.checkOneLeader(s.connected())
	s.disconnect(l2)
	s.reconnect(l1)
	s.one("104", 2, true)

	s.reconnect(l2)
	s.one("105", 3, true)
}

// TestBackup: leaders repair long divergent logs quickly: a follower's
// conflict hints let the leader skip a whole term per round trip, so a
// log that diverges by 50 entries costs a few refusals, not 50 (§5.3).
func TestBackup(t *testing.T) {
	s := newSim(t, 5, 17, nil)
	s.one("first", 5, true)

	// A leader and one follower, cut off, take 50 entries that never
	// commit.
	l1 := s.checkOneLeader(s.ids)
	for k := 2; k <= 4; k++ {
		s.disconnect(s.at(l1, k))
	}
	for i := range 50 {
		s.propose(l1, fmt.Sprint("lost-a-", i))
	}
	s.run(simElection / 2)
	s.disconnect(l1)
	s.disconnect(s.at(l1, 1))

	// The other three commit 50 entries of their own.
	for k := 2; k <= 4; k++ {
		s.reconnect(s.at(l1, k))
	}
	for i := range 50 {
		s.one(fmt.Sprint("b-", i), 3, true)
	}

	// Their leader and a follower, cut off again, take 50 more that never
	// commit.
	l2 := s.checkOneLeader(s.connected())
	other := s.at(l1, 2)
	if l2 == other {
		other = s.at(l2, 1)
	}
	s.disconnect(other)
	for i := range 50 {
		s.propose(l2, fmt.Sprint("lost-c-", i))
	}
	s.run(simElection / 2)

	// The first leader, its follower and other form a majority: other's
	// log is the most up-to-date of the three, so it leads and repairs
	// the other two, 50 entries behind and 50 astray.
	for _, id := range s.ids {
		s.disconnect(id)
	}
	s.reconnect(l1)
	s.reconnect(s.at(l1, 1))
	s.reconnect(other)
	for i := range 50 {
		s.one(fmt.Sprint("d-", i), 3, true)
	}

	// Everyone: two more logs to repair.
	s.heal()
	s.one("last", 5, true)

	// A repair costs about one refusal per conflicting term, and there are
	// six repairs here; backing off one entry at a time costs over 100.
	if s.rejections > 12 {
		s.fatalf("%d refused MsgApps: leaders back off an entry at a time", s.rejections)
	}
	t.Logf("%d refused MsgApps", s.rejections)
}

// TestPersist1: entries, term and vote survive crashes of every node, of
// the leader, and of a cut-off leader and a follower; restarted nodes
// apply the log again from the start (Figure 2: log[] is persistent).
func TestPersist1(t *testing.T) {
	s := newSim(t, 3, 21, nil)
	s.one("11", 3, true)

	for _, id := range s.ids {
		s.crash(id)
	}
	for _, id := range s.ids {
		s.restart(id)
	}
	s.one("12", 3, true)

	l1 := s.checkOneLeader(s.ids)
	s.crash(l1)
	s.restart(l1)
	s.one("13", 3, true)

	l2 := s.checkOneLeader(s.ids)
	s.disconnect(l2)
	index := s.one("14", 2, true)
	s.crash(l2)
	s.restart(l2)
	s.reconnect(l2)
	s.waitApplied(index, 3)

	i3 := s.at(s.checkOneLeader(s.ids), 1)
	s.disconnect(i3)
	s.one("15", 2, true)
	s.crash(i3)
	s.restart(i3)
	s.reconnect(i3)
	s.one("16", 3, true)
}

// TestPersist2: five nodes, repeatedly losing and restarting a majority,
// keep every committed entry.
func TestPersist2(t *testing.T) {
	s := newSim(t, 5, 22, nil)
	for iter := range 5 {
		s.one(fmt.Sprint(10+iter), 5, true)

		l1 := s.checkOneLeader(s.ids)
		s.crash(s.at(l1, 1))
		s.crash(s.at(l1, 2))
		s.one(fmt.Sprint(20+iter), 3, true)

		s.crash(l1)
		s.crash(s.at(l1, 3))
		s.crash(s.at(l1, 4))
		s.restart(s.at(l1, 1))
		s.restart(s.at(l1, 2))
		s.run(simElection)
		s.restart(s.at(l1, 3))
		s.one(fmt.Sprint(30+iter), 3, true)

		s.restart(s.at(l1, 4))
		s.restart(l1)
	}
	s.one("1000", 5, true)
}

// TestPersist3: a node that crashed after a command was committed without
// it, and the leader that committed it, restart; the command survives
// and the cluster goes on.
func TestPersist3(t *testing.T) {
	s := newSim(t, 3, 23, nil)
	s.one("101", 3, false)

	l := s.checkOneLeader(s.ids)
	s.disconnect(s.at(l, 2))
	s.one("102", 2, false)

	s.crash(l)
	s.crash(s.at(l, 1))
	s.reconnect(s.at(l, 2))
	s.restart(l)
	s.one("103", 2, true)

	s.restart(s.at(l, 1))
	s.one("104", 3, true)
}

// oneEntryPerMsg makes every MsgApp carry a single entry, so that a
// follower can hold an earlier-term entry without the new leader's no-op
// after it: the Figure 8 situation needs that.
func oneEntryPerMsg(c *Config) { c.MaxMsgBytes = 1 }

// figure8Seeds is how many histories each Figure 8 test runs; enough that
// a leader committing by counting earlier-term replicas is caught.
const figure8Seeds = 16

// TestFigure8: leaders crash right after taking a command, again and
// again, so that entries of old terms sit on a minority when a new leader
// arrives: the Figure 8 situation. A leader must not commit them by
// counting replicas (§5.4.2); every check of sim holds throughout.
func TestFigure8(t *testing.T) {
	for seed := range uint64(figure8Seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			s := newSim(t, 5, seed, oneEntryPerMsg)
			s.traceOn = false
			s.keepApplied = true
			s.maxDelay = 2 // replication takes a few ticks, so crashes cut it short
			s.one("start", 1, true)
			figure8(s, func(leader string) {
				s.crash(leader)
			})
		})
	}
}

// TestFigure8Unreliable: Figure 8 on a network that loses, duplicates and
// (after a while) long delays and reorders messages, with leaders cut off
// rather than crashed, random crashes between sending a leader's MsgApps
// and persisting their entries, and between persisting and sending the
// rest, and persisting that overlaps delivery.
func TestFigure8Unreliable(t *testing.T) {
	for seed := range uint64(figure8Seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			s := newSim(t, 5, 100+seed, oneEntryPerMsg)
			s.traceOn = false
			s.dropRate, s.dupRate, s.maxDelay = 0.1, 0.05, 2
			s.slowRate = 0.3
			s.one("start", 1, true)
			s.crashRate = 0.001
			figure8(s, func(leader string) {
				if s.rng.IntN(2) == 0 {
					s.disconnect(leader)
				}
			})
		})
	}
}

// figure8 runs 1000 rounds of: every leader takes a command, time passes,
// the last leader found is struck down, and while fewer than three nodes
// are up and connected, a random one comes back. Then the crashes stop,
// everything heals, and one more command must reach every node over the
// same network.
func figure8(s *sim, strike func(leader string)) {
	s.t.Helper()
	for iter := range 1000 {
		if iter == 200 && s.dropRate > 0 {
			s.longRate, s.longDelay = 2.0/3, 2*simElection
		}
		leader := ""
		for _, id := range s.ids {
			if s.isUp(id) && s.nodes[id].r.role == RoleLeader {
				if _, _, err := s.propose(id, fmt.Sprint(iter)); err == nil && s.isUp(id) {
					leader = id
				}
			}
		}
		if s.rng.IntN(10) == 0 {
			s.run(1 + s.rng.IntN(simElection/2))
		} else {
			s.run(s.rng.IntN(2))
		}
		if leader != "" && s.isUp(leader) {
			strike(leader)
		}
		if len(s.connected()) < 3 {
			id := s.ids[s.rng.IntN(len(s.ids))]
			if !s.isUp(id) {
				s.restart(id)
			}
			s.reconnect(id)
		}
	}
	s.crashRate = 0
	for _, id := range s.ids {
		if !s.isUp(id) {
			s.restart(id)
		}
	}
	s.heal()
	s.one("end", 5, true)
	s.t.Logf("%d entries committed in %d terms", len(s.committed), len(s.leaders))
}
