package raft

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// voters returns the voters of the configuration in effect on the node
// that leads, or, with no leader, on the first node up.
func (s *sim) voters() []string {
	for _, id := range s.ids {
		if r := s.nodes[id].r; r != nil && r.role == RoleLeader {
			return votersOf(r.confs.current().members)
		}
	}
	for _, id := range s.ids {
		if r := s.nodes[id].r; r != nil {
			return votersOf(r.confs.current().members)
		}
	}
	return nil
}

func votersOf(m Membership) []string {
	var out []string
	for _, x := range m {
		if !x.Learner {
			out = append(out, x.ID)
		}
	}
	return out
}

// anyLeader returns a running node that leads (the one of the highest
// term), or "".
func (s *sim) topLeader() string {
	l := ""
	for _, id := range s.ids {
		if r := s.nodes[id].r; r != nil && r.role == RoleLeader && (l == "" || r.term > s.nodes[l].r.term) {
			l = id
		}
	}
	return l
}

// progressAfterHeal runs until a leader commits a fresh proposal and a
// majority of its voters applied it.
func (s *sim) progressAfterHeal(data string) {
	s.t.Helper()
	deadline := s.now + 60*simElection
	for s.now < deadline {
		l := s.topLeader()
		if l == "" {
			s.tick()
			continue
		}
		index, _, err := s.propose(l, data)
		if err != nil {
			s.tick()
			continue
		}
		ok := s.runUntil(4*simElection, func() bool {
			if uint64(len(s.committed)) < index || string(s.committed[index-1].Data) != data {
				return false
			}
			vs := s.voters()
			n := 0
			for _, v := range vs {
				if nd := s.nodes[v]; nd.r != nil && nd.applied >= index {
					n++
				}
			}
			return n >= len(vs)/2+1
		})
		if ok {
			return
		}
	}
	s.fatalf("no progress after healing within %d ticks: voters %v", 60*simElection, s.voters())
}

// memberChaos runs one randomized history of membership changes and
// transfers among n1..n5 (n1..n3 initial, n4 and n5 joining) with
// partitions, message loss, crashes and restarts, then heals and checks
// that the cluster commits again. The sim's invariants are checked
// throughout.
func memberChaos(t testing.TB, seed uint64, ticks int) *sim {
	p := rand.New(rand.NewPCG(seed, 0x3e3b))
	preVote, checkQuorum := p.IntN(3) != 0, p.IntN(3) != 0
	s := newSim(t, 3, seed, func(c *Config) {
		c.PreVote, c.CheckQuorum = preVote, checkQuorum
		c.PromoteMargin = 5
	})
	s.traceOn = false // fast; rerun one seed with traceOn to debug
	s.addNode("n4")
	s.addNode("n5")
	s.dropRate = float64(p.IntN(2)) * 0.1
	s.maxDelay = p.IntN(3)
	s.crashRate = float64(p.IntN(2)) * 0.002
	s.slowRate = float64(p.IntN(2)) * 0.3
	if p.IntN(2) == 0 {
		s.snapEvery, s.snapMargin = 8, 2
	}
	var ctx uint64
	for s.now < ticks {
		ctx = s.loadLeaders(ctx)
		switch s.rng.IntN(8) {
		case 0, 1, 2:
			if l := s.topLeader(); l != "" {
				s.randomChange(l)
			}
		case 3:
			s.randomPartition(2)
		case 4:
			s.heal()
		case 5:
			id := s.ids[s.rng.IntN(len(s.ids))]
			if s.isUp(id) {
				s.crash(id)
			} else {
				s.restart(id)
			}
		}
		s.run(1 + s.rng.IntN(simElection))
	}
	s.heal()
	s.dropRate, s.maxDelay, s.crashRate = 0, 0, 0
	for _, id := range s.ids {
		if !s.isUp(id) {
			s.restart(id)
		}
	}
	s.progressAfterHeal("last")
	return s
}

// randomChange has leader l try one random membership change or
// transfer; refusals are expected and fine.
func (s *sim) randomChange(l string) {
	id := s.ids[s.rng.IntN(len(s.ids))]
	addr := "addr-" + id
	switch s.rng.IntN(5) {
	case 0:
		s.confChange(l, ConfChange{Type: ConfAddLearner, ID: id, Addr: addr})
	case 1:
		s.confChange(l, ConfChange{Type: ConfAddVoter, ID: id, Addr: addr})
	case 2:
		s.confChange(l, ConfChange{Type: ConfPromote, ID: id})
	case 3:
		s.confChange(l, ConfChange{Type: ConfRemove, ID: id})
	case 4:
		err := s.raft(l).TransferLeadership(id)
		s.note("t%d transfer %s→%s: %v", s.now, l, id, err)
		s.drain(l)
	}
}

// TestSimMembershipChaos: random single-server changes (add learner, add
// voter, promote, remove — the leader too) and leadership transfers, with
// partitions, loss, delays, crashes, restarts and snapshots that carry the
// configuration; the sim checks Election Safety, Log Matching, State
// Machine Safety, Leader Completeness and that every commit is durable on
// a majority of a configuration's voters; after healing, the cluster
// commits again.
func TestSimMembershipChaos(t *testing.T) {
	seeds := 500
	if testing.Short() {
		seeds = 40
	}
	changes := 0
	for seed := range uint64(seeds) {
		s := memberChaos(t, seed, 400)
		for _, c := range s.committed {
			if c.Type == EntryConfChange {
				changes++
			}
		}
	}
	if changes < seeds {
		t.Fatalf("only %d configuration entries committed over %d seeds", changes, seeds)
	}
	t.Logf("%d configuration entries committed over %d seeds", changes, seeds)
}

// TestSimMembershipDeterministic: a seed replays exactly.
func TestSimMembershipDeterministic(t *testing.T) {
	a, b := memberChaos(t, 11, 250), memberChaos(t, 11, 250)
	if fmt.Sprint(a.leaders) != fmt.Sprint(b.leaders) || len(a.committed) != len(b.committed) {
		t.Fatalf("two runs of seed 11 differ: %v / %v", a.leaders, b.leaders)
	}
}

// TestSimAddServers: two joining servers are added as learners, promoted
// once caught up, and then a majority of the five commits with two of the
// old three down.
func TestSimAddServers(t *testing.T) {
	s := newSim(t, 3, 21, nil)
	l := s.checkOneLeader(s.ids)
	s.one("a", 3, true)
	for _, id := range []string{"n4", "n5"} {
		s.addNode(id)
		s.changeCommitted(ConfChange{Type: ConfAddLearner, ID: id, Addr: "addr-" + id})
		s.changeCommitted(ConfChange{Type: ConfPromote, ID: id})
	}
	l = s.checkOneLeader(s.ids)
	if got := votersOf(s.raft(l).confs.current().members); len(got) != 5 {
		s.fatalf("voters %v, want five", got)
	}
	// Crash two of the old voters, not the leader: n4 and n5 make the
	// majority.
	down := s.others(l, "n4", "n5")[:2]
	for _, id := range down {
		s.crash(id)
	}
	s.one("b", 3, true)
}

// changeCommitted has the leader make cc, retrying while it refuses
// (its term's entry or the previous change not committed yet, the learner
// behind), until the change commits on the leader.
func (s *sim) changeCommitted(cc ConfChange) {
	s.t.Helper()
	for range 50 * simElection {
		if l := s.topLeader(); l != "" {
			if index, err := s.confChange(l, cc); err == nil {
				if s.runUntil(5*simElection, func() bool { return uint64(len(s.committed)) >= index }) {
					return
				}
			}
		}
		s.tick()
	}
	s.fatalf("%s never committed", cc)
}

// TestSimRemovedServerDoesNotDisrupt: a server removed while cut off never
// learns of its removal and keeps timing out; with pre-vote and
// check-quorum its campaigns neither raise the others' terms nor depose
// the leader (thesis §4.2.3).
func TestSimRemovedServerDoesNotDisrupt(t *testing.T) {
	s := newSim(t, 4, 31, nil)
	l := s.checkOneLeader(s.ids)
	s.one("a", 4, true)
	gone := s.others(l)[0]
	s.isolate(gone)
	s.changeCommitted(ConfChange{Type: ConfRemove, ID: gone})
	rest := s.others(gone)
	l = s.checkOneLeader(rest)
	s.one("b", 3, true)
	if s.raft(gone).confs.current().members.Has(gone) == false {
		s.fatalf("%s learned of its removal", gone)
	}
	term := s.raft(l).term
	var asked int
	s.onSend = func(m Message) {
		if m.From == gone && (m.Type == MsgPreVote || m.Type == MsgVote) {
			asked++
		}
	}
	s.heal()
	for i := range 20 {
		s.run(simElection)
		s.one(fmt.Sprint("c", i), 3, false)
	}
	if asked == 0 {
		s.fatalf("%s never campaigned", gone)
	}
	for _, id := range rest {
		if r := s.raft(id); r.term != term {
			s.fatalf("%s's term went from %d to %d", id, term, r.term)
		}
	}
	if got := s.leaderOf(rest); got != l {
		s.fatalf("leader %q, want %s still", got, l)
	}
	if slices.Contains(votersOf(s.raft(l).confs.current().members), gone) {
		s.fatalf("%s back in the configuration", gone)
	}
}

// TestSimTransfer: a transfer to a caught-up voter makes it leader at
// once, with check-quorum's leases on, its MsgVotes marked Transfer.
func TestSimTransfer(t *testing.T) {
	s := newSim(t, 3, 41, nil)
	l := s.checkOneLeader(s.ids)
	s.one("a", 3, true)
	to := s.others(l)[0]
	term := s.raft(l).term
	marked := false
	s.onSend = func(m Message) {
		if m.From == to && m.Type == MsgVote && m.Transfer {
			marked = true
		}
		if m.From == to && m.Type == MsgPreVote {
			s.fatalf("the transfer's target pre-votes")
		}
	}
	if err := s.raft(l).TransferLeadership(to); err != nil {
		t.Fatal(err)
	}
	s.drain(l)
	if !s.runUntil(2, func() bool { return s.leaderOf(s.ids) == to }) || s.raft(to).term != term+1 || !marked {
		s.fatalf("leader %q, %s's term %d, marked %v; want %s in term %d within 2 ticks", s.leaderOf(s.ids), to, s.raft(to).term, marked, to, term+1)
	}
	s.onSend = nil
	s.one("b", 3, false)
}
