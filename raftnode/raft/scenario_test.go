package raft

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// Scenario tests in the spirit of MIT 6.5840's Raft tests, on simulated
// clusters. Every run also checks, after each step, that no term has two
// leaders and no node votes twice in a term (see sim).

func noPreVote(c *Config)     { c.PreVote = false }
func noCheckQuorum(c *Config) { c.CheckQuorum = false }

// TestInitialElection: three nodes elect one leader (§5.2), which keeps
// its term while nothing fails.
func TestInitialElection(t *testing.T) {
	s := newSim(t, 3, 1, nil)
	l := s.checkOneLeader(s.ids)
	term := s.nodes[l].r.term
	s.run(50 * simElection)
	if got := s.leaderOf(s.ids); got != l {
		s.fatalf("leader changed from %s to %q without failures", l, got)
	}
	for _, got := range s.terms() {
		if got != term {
			s.fatalf("terms %v, want all %d", s.terms(), term)
		}
	}
}

// TestReElection: losing the leader elects another; the old one rejoins as
// follower; without a majority nobody leads; with it back, someone does
// (§5.2).
func TestReElection(t *testing.T) {
	s := newSim(t, 3, 2, nil)
	l1 := s.checkOneLeader(s.ids)

	s.isolate(l1)
	l2 := s.checkOneLeader(s.others(l1))

	s.heal()
	if got := s.checkOneLeader(s.ids); got != l2 {
		s.fatalf("after %s rejoined, leader is %s, want %s", l1, got, l2)
	}

	// Cut two of three: every node alone. A leader steps down within two
	// election timeouts (check-quorum) and nobody is elected after that.
	third := s.others(l2)[0]
	s.isolate(l2)
	s.isolate(third)
	s.run(2*simElection + 1)
	for range 10 * simElection {
		s.tick()
		s.checkNoLeader(s.ids)
	}

	s.heal()
	s.checkOneLeader(s.ids)
}

// TestPreVoteKeepsLeader: a follower cut off for many election timeouts
// rejoins without raising any term, so the leader keeps leading (thesis
// §9.6). Without pre-vote the same history raises the term and unseats it.
func TestPreVoteKeepsLeader(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      func(*Config)
		disrupted bool // the rejoin forces a new term
	}{
		{"prevote", nil, false},
		{"no-prevote", noPreVote, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, 3, 3, tc.opts)
			l := s.checkOneLeader(s.ids)
			term := s.nodes[l].r.term
			f := s.others(l)[0]

			s.isolate(f)
			s.run(40 * simElection) // 20+ of the longest timeouts
			if tc.disrupted != (s.nodes[f].r.term > term) {
				s.fatalf("isolated %s has term %d, leader's term %d", f, s.nodes[f].r.term, term)
			}

			// Rejoin at the worst moment: as f's timer fires again, so its
			// requests race the leader's heartbeats.
			rf := s.nodes[f].r
			s.runUntil(2*simElection, func() bool { return rf.electionElapsed == rf.randomizedTimeout-1 })
			s.heal()
			s.run(5 * simElection)
			got := s.checkOneLeader(s.ids)
			newTerm := s.nodes[got].r.term
			if tc.disrupted {
				if newTerm <= term {
					s.fatalf("without pre-vote, term stayed %d", term)
				}
				return
			}
			if got != l || newTerm != term {
				s.fatalf("leader %s term %d, want %s term %d", got, newTerm, l, term)
			}
		})
	}
}

// TestLeaseProtectsLeader: a node that cannot hear the leader, though the
// others hear it, asks for votes forever; the others heard from the leader
// within the election timeout, so they refuse without raising their term
// and the leader stays (thesis §4.2.3). Without check-quorum there is no
// lease and the node takes over.
func TestLeaseProtectsLeader(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      func(*Config)
		disrupted bool
	}{
		{"lease", nil, false},
		{"no-lease", noCheckQuorum, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, 3, 6, tc.opts)
			l := s.checkOneLeader(s.ids)
			term := s.nodes[l].r.term
			f := s.others(l)[0]
			s.cutLink(l, f)
			s.run(20 * simElection)
			r := s.nodes[l].r
			if disrupted := r.role != RoleLeader || r.term != term; disrupted != tc.disrupted {
				s.fatalf("leader %s is %s in term %d (was term %d)", l, r.role, r.term, term)
			}
		})
	}
}

// TestCheckQuorum: a leader cut off from both followers steps down within
// two election timeouts while still cut off (thesis §6.2). Without
// check-quorum it would lead on.
func TestCheckQuorum(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     func(*Config)
		stepDown bool
	}{
		{"check-quorum", nil, true},
		{"no-check-quorum", noCheckQuorum, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, 3, 4, tc.opts)
			l := s.checkOneLeader(s.ids)
			term := s.nodes[l].r.term
			s.isolate(l)
			s.run(2*simElection + 1)
			r := s.nodes[l].r
			if got := r.role != RoleLeader; got != tc.stepDown {
				s.fatalf("isolated leader %s is %s after two election timeouts", l, r.role)
			}
			if r.term != term {
				s.fatalf("isolated leader's term moved from %d to %d", term, r.term)
			}
		})
	}
}

// TestSplitVote forces every node to become candidate in the same term,
// each voting for itself, so nobody can win that term; randomized timeouts
// then elect exactly one leader in a later term (§5.2).
func TestSplitVote(t *testing.T) {
	s := newSim(t, 3, 5, noPreVote)
	s.hold = true
	// Every first timeout falls in [T, 2T) and no second one before 2T, so
	// at 2T-1 all are candidates of term 1 with their own vote.
	s.run(2*simElection - 1)
	for _, id := range s.ids {
		if r := s.nodes[id].r; r.role != RoleCandidate || r.term != 1 || r.vote != id {
			s.fatalf("%s is %s term %d vote %q, want candidate of term 1 voting for itself", id, r.role, r.term, r.vote)
		}
	}

	// The vote requests meet nodes that have all voted: each refuses, and
	// every candidate, refused by a majority, gives up the term.
	s.release()
	for _, id := range s.ids {
		if r := s.nodes[id].r; r.role != RoleFollower || r.term != 1 || r.vote != id {
			s.fatalf("%s is %s term %d vote %q, want follower of term 1 that lost", id, r.role, r.term, r.vote)
		}
	}

	l := s.checkOneLeader(s.ids)
	if term := s.nodes[l].r.term; term < 2 {
		s.fatalf("%s leads term %d, which was split", l, term)
	}
	if _, ok := s.leaders[1]; ok {
		s.fatalf("term 1 had a leader despite the split vote")
	}
}

// TestLargerClusters: five and seven nodes elect a leader; a minority
// partition keeps it, a majority partition elects a new one and the old
// leader steps down; healed, the cluster agrees on one leader.
func TestLargerClusters(t *testing.T) {
	for _, n := range []int{5, 7} {
		t.Run(fmt.Sprintf("%d-nodes", n), func(t *testing.T) {
			s := newSim(t, n, uint64(n), nil)
			l := s.checkOneLeader(s.ids)
			term := s.nodes[l].r.term
			minority := s.others(l)[:n/2] // cut off; the leader keeps a majority
			majority := s.others(minority...)

			s.partition(majority, minority)
			s.run(10 * simElection)
			if got := s.leaderOf(majority); got != l || s.nodes[l].r.term != term {
				s.fatalf("with a minority cut off, leader %q, want %s in term %d", got, l, term)
			}
			s.checkNoLeader(minority)

			// Now the leader is on the minority side.
			s.heal()
			small := append([]string{l}, s.others(l)[:n/2-1]...)
			large := s.others(small...)
			s.partition(small, large)
			l2 := s.checkOneLeader(large)
			s.run(2*simElection + 1)
			s.checkNoLeader(small)

			s.heal()
			l3 := s.checkOneLeader(s.ids)
			if s.nodes[l3].r.term < s.nodes[l2].r.term {
				s.fatalf("healed leader %s has term %d below %d", l3, s.nodes[l3].r.term, s.nodes[l2].r.term)
			}
		})
	}
}

// TestManyElections runs many seeds of random partitions, message loss,
// reordering, crashes and restarts, with proposals and reads mixed in,
// checking at every step the properties of Figure 3 (see sim): no term has
// two leaders, no node votes twice in a term, logs match, leaders hold
// every committed entry, nodes apply the same entries, reads see every
// committed write. After each run the faults stop and the cluster must
// agree on a leader and commit a last command on every node.
func TestManyElections(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 20
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			chaos(t, seed, 300)
		})
	}
}

// TestSimDeterministic: the same seed gives the same run, so any failure
// above can be replayed from its seed.
func TestSimDeterministic(t *testing.T) {
	a, b := chaos(t, 7, 300), chaos(t, 7, 300)
	if !reflect.DeepEqual(a.leaders, b.leaders) || !reflect.DeepEqual(a.votes, b.votes) {
		t.Fatalf("two runs of seed 7 differ:\nleaders %v / %v\nvotes %v / %v", a.leaders, b.leaders, a.votes, b.votes)
	}
	for _, id := range a.ids {
		if sa, sb := a.nodes[id].r.Status(), b.nodes[id].r.Status(); !reflect.DeepEqual(sa, sb) {
			t.Fatalf("%s ends as %+v and %+v", id, sa, sb)
		}
	}
}

// chaos runs one randomized history of ticks ticks for seed, then heals.
func chaos(t testing.TB, seed uint64, ticks int) *sim {
	p := rand.New(rand.NewPCG(seed, 0xc4a05))              // the run's parameters
	preVote, checkQuorum := p.IntN(2) == 0, p.IntN(2) == 0 // safety must not depend on them
	n := 3 + 2*p.IntN(2)
	inflight, msgBytes := []int{0, 1, 4}[p.IntN(3)], []uint64{0, 1}[p.IntN(2)] // nor on flow control
	s := newSim(t, n, seed, func(c *Config) {
		c.PreVote, c.CheckQuorum = preVote, checkQuorum
		c.MaxInflight, c.MaxMsgBytes = inflight, msgBytes
	})
	s.traceOn = false // fast; rerun one seed with traceOn to debug
	s.dropRate = float64(p.IntN(3)) * 0.1
	s.maxDelay = p.IntN(4)
	s.dupRate = float64(p.IntN(2)) * 0.1
	s.crashRate = 0.002
	s.keepApplied = p.IntN(2) == 0
	s.slowRate = float64(p.IntN(2)) * 0.3 // persisting overlaps delivery
	var ctx uint64
	for s.now < ticks {
		ctx = s.loadLeaders(ctx)
		switch s.rng.IntN(5) {
		case 0: // a new random partition into up to three sides
			s.randomPartition(3)
		case 1:
			s.heal()
		case 2:
			id := s.ids[s.rng.IntN(n)]
			if s.isUp(id) {
				s.crash(id)
			} else {
				s.restart(id)
			}
		case 3: // a teacher fires some node's election timer early
			s.fireTimer(s.ids[s.rng.IntN(n)])
		}
		s.run(1 + s.rng.IntN(simElection))
	}
	s.heal()
	s.dropRate, s.dupRate, s.maxDelay, s.crashRate = 0, 0, 0, 0
	for _, id := range s.ids {
		if !s.isUp(id) {
			s.restart(id)
		}
	}
	s.checkOneLeader(s.ids)
	s.one("last", n, true)
	return s
}

// TestPersistTermAndVote: term and vote survive a crash (Figure 2: both are
// persistent state), and a node that voted in a term and restarted does
// not vote for another candidate in that term.
func TestPersistTermAndVote(t *testing.T) {
	s := newSim(t, 3, 8, noPreVote)
	s.partition([]string{"n1", "n2"}, []string{"n3"})
	l := s.checkOneLeader([]string{"n1", "n2"})
	voter := s.others(l, "n3")[0]
	before := s.nodes[voter].r.Status()
	if before.Vote != l {
		s.fatalf("%s voted for %q, want %s", voter, before.Vote, l)
	}

	s.crash(voter)
	s.restart(voter)
	after := s.nodes[voter].r.Status()
	if after.Term != before.Term || after.Vote != before.Vote {
		s.fatalf("after restart term %d vote %q, want term %d vote %q", after.Term, after.Vote, before.Term, before.Vote)
	}

	// n3 asks the restarted voter for its vote in the same term.
	r := s.nodes[voter].r
	if err := r.Step(Message{Type: MsgVote, From: "n3", To: voter, Term: before.Term}); err != nil {
		t.Fatal(err)
	}
	rd := r.Ready()
	if len(rd.Messages) != 1 || !rd.Messages[0].Reject {
		s.fatalf("restarted voter answered %v, want one refusal", rd.Messages)
	}
	if want := fmt.Sprintf("already voted for %s in term %d", l, before.Term); rd.Messages[0].Reason != want {
		s.fatalf("reason %q, want %q", rd.Messages[0].Reason, want)
	}
	r.Advance()
}

// TestPersistAcrossClusterRestart: every node crashes and restarts from
// storage; terms never go back, and the cluster elects a leader in a later
// term.
func TestPersistAcrossClusterRestart(t *testing.T) {
	s := newSim(t, 3, 9, nil)
	l := s.checkOneLeader(s.ids)
	term := s.nodes[l].r.term
	for _, id := range s.ids {
		s.crash(id)
	}
	for _, id := range s.ids {
		s.restart(id)
		if got := s.nodes[id].r.term; got != term {
			s.fatalf("%s restarted in term %d, want %d", id, got, term)
		}
	}
	l2 := s.checkOneLeader(s.ids)
	if got := s.nodes[l2].r.term; got <= term {
		s.fatalf("new leader's term %d, want above %d", got, term)
	}
}
