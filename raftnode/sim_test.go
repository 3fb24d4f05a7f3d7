package raftnode

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Timing of simulated clusters, in ticks.
const (
	simElection  = 10 // T
	simHeartbeat = 1
)

// sim is a simulated cluster: cores joined by a message queue that can cut
// links, drop, delay and reorder messages, crash and restart nodes. It
// mirrors the runtime: a node's storage records the hard state when the
// node's Ready is processed, before its messages are queued. After every
// Ready it checks the safety invariants, failing the test on a violation.
// Everything random comes from seeds, so a run is reproducible.
type sim struct {
	t     testing.TB          // fails the run
	seed  uint64              // seeds the network and every node
	rng   *rand.Rand          // network faults and delays
	ids   []string            // members, sorted
	nodes map[string]*simNode // by id
	opts  func(*Config)       // applied to every node's Config

	cut       map[[2]string]bool // directed links (from, to) that lose everything
	dropRate  float64            // chance that a sent message is lost
	dupRate   float64            // chance that a sent message arrives twice
	maxDelay  int                // a message waits up to this many extra ticks; > 0 reorders
	hold      bool               // keep every message in the network until released
	crashRate float64            // chance that a node crashes after persisting a Ready, before sending
	queue     []flight           // messages in the network
	now       int                // ticks run so far

	leaders map[uint64]string            // term → the only node that ever led it
	votes   map[string]map[uint64]string // node → term → its durable vote

	trace    []string // the last few deliveries, for failure reports
	traceOn  bool     // keep trace (costs a string per message)
	maxTrace int      // trace length
}

// simNode is one member: its core while up, and its stable storage.
type simNode struct {
	r        *Raft     // nil while crashed
	stored   HardState // what the simulated disk holds
	restarts int       // how often it came back, to vary its seed
}

// flight is a message in the network.
type flight struct {
	m  Message // the message
	at int     // tick at which it may be delivered
}

// newSim builds n nodes named n1..nN with pre-vote and check-quorum on,
// then applies opts to each node's Config.
func newSim(t testing.TB, n int, seed uint64, opts func(*Config)) *sim {
	t.Helper()
	s := &sim{
		t:        t,
		seed:     seed,
		rng:      rand.New(rand.NewPCG(seed, 0x5eed)),
		nodes:    map[string]*simNode{},
		opts:     opts,
		cut:      map[[2]string]bool{},
		leaders:  map[uint64]string{},
		votes:    map[string]map[uint64]string{},
		maxTrace: 60,
		traceOn:  true,
	}
	for i := 1; i <= n; i++ {
		s.ids = append(s.ids, fmt.Sprintf("n%d", i))
	}
	for _, id := range s.ids {
		s.nodes[id] = &simNode{}
		s.votes[id] = map[uint64]string{}
		s.start(id)
	}
	return s
}

// start builds id's core from its stored hard state.
func (s *sim) start(id string) {
	s.t.Helper()
	n := s.nodes[id]
	h := fnv.New64a()
	h.Write([]byte(id))
	cfg := Config{
		ID:             id,
		Peers:          slices.Clone(s.ids),
		ElectionTicks:  simElection,
		HeartbeatTicks: simHeartbeat,
		Rand:           rand.New(rand.NewPCG(s.seed, h.Sum64()+uint64(n.restarts))),
		HardState:      n.stored,
		PreVote:        true,
		CheckQuorum:    true,
	}
	if s.opts != nil {
		s.opts(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		s.fatalf("start %s: %v", id, err)
	}
	n.r = r
}

// crash loses id's memory and every message queued for it later.
func (s *sim) crash(id string) {
	s.nodes[id].r = nil
	s.note("crash %s", id)
}

// restart brings a crashed id back from its storage.
func (s *sim) restart(id string) {
	n := s.nodes[id]
	n.restarts++
	s.start(id)
	s.note("restart %s from %+v", id, n.stored)
}

// isUp reports whether id is running.
func (s *sim) isUp(id string) bool { return s.nodes[id].r != nil }

// raft is id's core; the node must be up.
func (s *sim) raft(id string) *Raft {
	s.t.Helper()
	r := s.nodes[id].r
	if r == nil {
		s.fatalf("%s is down", id)
	}
	return r
}

// isolate cuts every link to and from id.
func (s *sim) isolate(id string) {
	for _, o := range s.ids {
		if o != id {
			s.cut[[2]string{id, o}], s.cut[[2]string{o, id}] = true, true
		}
	}
	s.note("isolate %s", id)
}

// cutLink cuts the link from one node to another, one way only.
func (s *sim) cutLink(from, to string) {
	s.cut[[2]string{from, to}] = true
	s.note("cut %s->%s", from, to)
}

// partition cuts every link between different groups; nodes in no group
// are cut off from everyone.
func (s *sim) partition(groups ...[]string) {
	group := map[string]int{}
	for i, g := range groups {
		for _, id := range g {
			group[id] = i + 1
		}
	}
	s.cut = map[[2]string]bool{}
	for _, a := range s.ids {
		for _, b := range s.ids {
			if a != b && (group[a] == 0 || group[a] != group[b]) {
				s.cut[[2]string{a, b}] = true
			}
		}
	}
	s.note("partition %v", groups)
}

// release delivers everything held in the network.
func (s *sim) release() {
	s.hold = false
	s.note("release")
	s.deliver()
}

// heal restores every link.
func (s *sim) heal() {
	s.cut = map[[2]string]bool{}
	s.note("heal")
}

// run advances the cluster by ticks ticks.
func (s *sim) run(ticks int) {
	for range ticks {
		s.tick()
	}
}

// runUntil ticks until cond holds, at most max ticks; it reports whether
// cond held.
func (s *sim) runUntil(max int, cond func() bool) bool {
	for range max {
		if cond() {
			return true
		}
		s.tick()
	}
	return cond()
}

// tick advances every running node's clock by one, then delivers all
// messages that are due, including the ones they cause.
func (s *sim) tick() {
	s.now++
	for _, id := range s.ids {
		if r := s.nodes[id].r; r != nil {
			r.Tick()
			s.drain(id)
		}
	}
	s.deliver()
}

// deliver steps every due message into its receiver, until none is due.
func (s *sim) deliver() {
	for steps := 0; ; steps++ {
		if steps > 1_000_000 {
			s.fatalf("messages keep coming within one tick")
		}
		i := s.nextDue()
		if i < 0 || s.hold {
			return
		}
		f := s.queue[i]
		s.queue = slices.Delete(s.queue, i, i+1)
		n := s.nodes[f.m.To]
		if n.r == nil || s.cut[[2]string{f.m.From, f.m.To}] {
			continue
		}
		if s.traceOn {
			s.note("t%d deliver %s", s.now, f.m)
		}
		if err := n.r.Step(f.m); err != nil {
			s.fatalf("%s refused %s: %v", f.m.To, f.m, err)
		}
		s.drain(f.m.To)
	}
}

// nextDue picks the next due message: the oldest, or with delays a random
// one, so that messages overtake each other.
func (s *sim) nextDue() int {
	due := -1
	count := 0
	for i, f := range s.queue {
		if f.at > s.now {
			continue
		}
		if s.maxDelay == 0 {
			return i
		}
		count++
		if s.rng.IntN(count) == 0 { // reservoir sampling: uniform among due
			due = i
		}
	}
	return due
}

// drain carries out id's Ready contract, as the runtime does: persist, then
// send, then advance; and checks the invariants on the way.
func (s *sim) drain(id string) {
	s.t.Helper()
	n := s.nodes[id]
	for n.r.HasReady() {
		rd := n.r.Ready()
		s.persist(id, rd)
		s.checkReady(id, rd)
		if s.crashRate > 0 && s.rng.Float64() < s.crashRate {
			s.crash(id)
			return
		}
		for _, m := range rd.Messages {
			s.send(m)
		}
		n.r.Advance()
	}
	s.checkStatus(id)
}

// persist records rd's hard state on id's simulated disk.
func (s *sim) persist(id string, rd Ready) {
	n := s.nodes[id]
	hs := rd.HardState
	if !rd.MustSync {
		if !hs.IsEmpty() && (hs.Term != n.stored.Term || hs.Vote != n.stored.Vote) {
			s.fatalf("%s: term or vote changed without MustSync: %+v stored %+v", id, hs, n.stored)
		}
		return
	}
	if hs.Term < n.stored.Term {
		s.fatalf("%s: term goes back from %d to %d", id, n.stored.Term, hs.Term)
	}
	if hs.Vote != "" {
		if v, ok := s.votes[id][hs.Term]; ok && v != hs.Vote {
			s.fatalf("%s voted for %s and %s in term %d", id, v, hs.Vote, hs.Term)
		}
		s.votes[id][hs.Term] = hs.Vote
	}
	n.stored = hs
}

// checkReady checks that nothing in rd leaves id before the state it
// depends on is durable, and records leaders from the events.
func (s *sim) checkReady(id string, rd Ready) {
	stored := s.nodes[id].stored
	for _, m := range rd.Messages {
		if m.From != id {
			s.fatalf("%s sends as %s: %s", id, m.From, m)
		}
		switch {
		case m.Type == MsgPreVote, m.Type == MsgPreVoteResp && !m.Reject:
			// carry the term of a pre-vote, not the sender's
		case m.Term != stored.Term:
			s.fatalf("%s sends %s with term %d but stored term is %d", id, m, m.Term, stored.Term)
		case m.Type == MsgVote && stored.Vote != id:
			s.fatalf("%s asks for votes before its own vote is durable: stored %+v", id, stored)
		case m.Type == MsgVoteResp && !m.Reject && stored.Vote != m.To:
			s.fatalf("%s grants %s before the vote is durable: stored %+v", id, m.To, stored)
		}
	}
	for _, e := range rd.Events {
		if e.Kind == EventRoleChanged && e.Role == RoleLeader {
			s.recordLeader(e.Term, id)
		}
	}
}

// checkStatus checks id's state against the run's history.
func (s *sim) checkStatus(id string) {
	st := s.nodes[id].r.Status()
	if st.Term != s.nodes[id].stored.Term || st.Vote != s.nodes[id].stored.Vote {
		s.fatalf("%s: term %d vote %q not what is stored: %+v", id, st.Term, st.Vote, s.nodes[id].stored)
	}
	if st.Role == RoleLeader {
		s.recordLeader(st.Term, id)
	}
}

// recordLeader enforces Election Safety: at most one leader per term
// (paper §5.2, Figure 3).
func (s *sim) recordLeader(term uint64, id string) {
	if l, ok := s.leaders[term]; ok && l != id {
		s.fatalf("two leaders in term %d: %s and %s", term, l, id)
	}
	s.leaders[term] = id
}

// send puts m on the network, unless it is lost; it may go twice.
func (s *sim) send(m Message) {
	if s.dropRate > 0 && s.rng.Float64() < s.dropRate {
		return
	}
	at := s.now
	if s.maxDelay > 0 {
		at += s.rng.IntN(s.maxDelay + 1)
	}
	s.queue = append(s.queue, flight{m: m, at: at})
	if s.dupRate > 0 && s.rng.Float64() < s.dupRate {
		s.queue = append(s.queue, flight{m: m, at: at + s.rng.IntN(s.maxDelay+2)})
	}
}

// note adds a line to the trace.
func (s *sim) note(format string, args ...any) {
	if !s.traceOn {
		return
	}
	s.trace = append(s.trace, fmt.Sprintf(format, args...))
	if len(s.trace) > s.maxTrace {
		s.trace = s.trace[len(s.trace)-s.maxTrace:]
	}
}

// fatalf fails the test with the seed, the nodes' states and the trace.
func (s *sim) fatalf(format string, args ...any) {
	s.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d tick %d: %s\n", s.seed, s.now, fmt.Sprintf(format, args...))
	for _, id := range s.ids {
		if r := s.nodes[id].r; r != nil {
			st := r.Status()
			fmt.Fprintf(&b, "  %s %s term=%d vote=%q leader=%q\n", id, st.Role, st.Term, st.Vote, st.Leader)
		} else {
			fmt.Fprintf(&b, "  %s down, stored %+v\n", id, s.nodes[id].stored)
		}
	}
	if s.traceOn {
		b.WriteString("  last steps:\n    " + strings.Join(s.trace, "\n    "))
	}
	s.t.Fatal(b.String())
}

// leaderOf returns the leader of group once the group agrees on it: one
// member leads, every other member follows it in its term. Otherwise "".
func (s *sim) leaderOf(group []string) string {
	leader := ""
	for _, id := range group {
		if s.isUp(id) && s.nodes[id].r.role == RoleLeader {
			if leader != "" {
				return ""
			}
			leader = id
		}
	}
	if leader == "" {
		return ""
	}
	term := s.nodes[leader].r.term
	for _, id := range group {
		r := s.nodes[id].r
		if r != nil && id != leader && (r.role != RoleFollower || r.leader != leader || r.term != term) {
			return ""
		}
	}
	return leader
}

// checkOneLeader runs until group agrees on one leader, and returns it.
func (s *sim) checkOneLeader(group []string) string {
	s.t.Helper()
	var l string
	if !s.runUntil(30*simElection, func() bool { l = s.leaderOf(group); return l != "" }) {
		s.fatalf("no agreed leader in %v within %d ticks", group, 30*simElection)
	}
	return l
}

// checkNoLeader fails if any running member of group is leader.
func (s *sim) checkNoLeader(group []string) {
	s.t.Helper()
	for _, id := range group {
		if s.isUp(id) && s.nodes[id].r.role == RoleLeader {
			s.fatalf("%s leads term %d without a majority", id, s.nodes[id].r.term)
		}
	}
}

// terms returns every running node's term, in id order.
func (s *sim) terms() []uint64 {
	var ts []uint64
	for _, id := range s.ids {
		if s.isUp(id) {
			ts = append(ts, s.nodes[id].r.term)
		}
	}
	return ts
}

// others returns the members except the given ones.
func (s *sim) others(except ...string) []string {
	var out []string
	for _, id := range s.ids {
		if !slices.Contains(except, id) {
			out = append(out, id)
		}
	}
	return out
}
