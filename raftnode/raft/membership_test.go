package raft

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// ack steps a MsgAppResp from follower from acknowledging index, then
// drains r.
func ack(t testing.TB, r *Raft, from string, index uint64) Ready {
	t.Helper()
	step(t, r, Message{Type: MsgAppResp, From: from, To: r.id, Term: r.term, Index: index})
	return drain(r)
}

// ackCommits acknowledges index from a follower and checks whether that
// commits it.
func ackCommits(t testing.TB, r *Raft, from string, index uint64, commits bool) {
	t.Helper()
	ack(t, r, from, index)
	if got := r.commit >= index; got != commits {
		t.Fatalf("after %s's ack of %d: commit %d, want committed=%t", from, index, r.commit, commits)
	}
}

// committedLeader returns n1 leading peers with its term's no-op
// committed (acknowledged by every other voter).
func committedLeader(t testing.TB, peers []string, opts ...func(*Config)) *Raft {
	t.Helper()
	r := newTestRaft(t, peers, opts...)
	makeLeader(t, r)
	for _, p := range peers[1:] {
		ack(t, r, p, r.log.lastIndex())
	}
	if !r.log.matchTerm(r.commit, r.term) {
		t.Fatalf("no-op not committed: commit %d", r.commit)
	}
	return r
}

func propose(t testing.TB, r *Raft, cc ConfChange) uint64 {
	t.Helper()
	i, _, err := r.ProposeConfChange(cc)
	if err != nil {
		t.Fatalf("%s: %v", cc, err)
	}
	drain(r)
	return i
}

func hasEvent(evs []Event, k EventKind) bool {
	return slices.ContainsFunc(evs, func(e Event) bool { return e.Kind == k })
}

func sentTo(msgs []Message, typ MsgType, to string) bool {
	return slices.ContainsFunc(msgs, func(m Message) bool { return m.Type == typ && m.To == to })
}

// confEntry is a configuration entry at index in term.
func confEntry(index, term uint64, m Membership) Entry {
	return Entry{Index: index, Term: term, Type: EntryConfChange, Data: EncodeMembership(m)}
}

// withStorage starts from st.
func withStorage(st LogStorage) func(*Config) { return func(c *Config) { c.Log = st } }

func asNode(id string) func(*Config) { return func(c *Config) { c.ID = id } }

func joining(c *Config) { c.Join = true }

// TestLearnerReplicatedNotCounted: a learner gets the log but its
// acknowledgements do not commit.
func TestLearnerReplicatedNotCounted(t *testing.T) {
	r := committedLeader(t, three)
	i := propose(t, r, ConfChange{Type: ConfAddLearner, ID: "n4", Addr: "a4"})
	if m, idx := r.Membership(); idx != i || !m.Has("n4") || m.IsVoter("n4") {
		t.Fatalf("membership %v at %d", m, idx)
	}
	ack(t, r, "n2", i) // the change commits: n1 and n2 of three
	if r.commit != i {
		t.Fatalf("commit %d, want %d", r.commit, i)
	}
	j, _, err := r.Propose([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	rd := drain(r)
	if !sentTo(rd.Messages, MsgApp, "n4") {
		t.Fatalf("no MsgApp to the learner: %v", rd.Messages)
	}
	ackCommits(t, r, "n4", j, false) // a learner's
	ackCommits(t, r, "n3", j, true)
}

// TestLearnerNeverCampaigns: a learner, and a node still joining, never
// start an election; a joining node given a configuration that makes it
// a voter does.
func TestLearnerNeverCampaigns(t *testing.T) {
	withLearner := NewMembership(three...).with(Member{ID: "n4", Addr: "a4", Learner: true})
	st := NewMemoryLogStorage()
	if err := st.Append([]Entry{{Index: 1, Term: 1}, confEntry(2, 1, withLearner)}); err != nil {
		t.Fatal(err)
	}
	learner := newTestRaft(t, three, asNode("n4"), joining, withStorage(st))
	join := newTestRaft(t, three, asNode("n5"), joining)
	for _, r := range []*Raft{learner, join} {
		for range 10 * r.electionTicks {
			r.Tick()
		}
		if rd := drain(r); r.role != RoleFollower || r.term != 1 && r.term != 0 || len(rd.Messages) > 0 {
			t.Fatalf("%s: role %s term %d messages %v", r.id, r.role, r.term, rd.Messages)
		}
	}
	// The leader's log makes n5 a voter: now it campaigns.
	withN5 := NewMembership(three...).with(Member{ID: "n5", Addr: "a5"})
	step(t, join, Message{Type: MsgApp, From: "n1", To: "n5", Term: 1, Entries: []Entry{{Index: 1, Term: 1}, confEntry(2, 1, withN5)}})
	drain(join)
	if m, _ := join.Membership(); !m.IsVoter("n5") {
		t.Fatalf("membership %v", m)
	}
	tickUntil(t, join, func() bool { return join.role == RoleCandidate })
}

// TestPromote: refused while the learner is behind, accepted once it is
// within the margin.
func TestPromote(t *testing.T) {
	r := committedLeader(t, three, func(c *Config) { c.PromoteMargin = 2 })
	i := propose(t, r, ConfChange{Type: ConfAddLearner, ID: "n4", Addr: "a4"})
	ack(t, r, "n2", i)
	for range 5 {
		if _, _, err := r.Propose([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	drain(r)
	if _, _, err := r.ProposeConfChange(ConfChange{Type: ConfPromote, ID: "n4"}); !errors.Is(err, ErrConfChangeRefused) {
		t.Fatalf("promote of a learner with nothing: %v", err)
	}
	ack(t, r, "n4", r.log.lastIndex()-3)
	if _, _, err := r.ProposeConfChange(ConfChange{Type: ConfPromote, ID: "n4"}); !errors.Is(err, ErrConfChangeRefused) {
		t.Fatalf("promote of a learner 3 behind, margin 2: %v", err)
	}
	ack(t, r, "n4", r.log.lastIndex()-2)
	j := propose(t, r, ConfChange{Type: ConfPromote, ID: "n4"})
	if m, _ := r.Membership(); !m.IsVoter("n4") || r.quorum() != 3 {
		t.Fatalf("membership %v quorum %d", m, r.quorum())
	}
	// Four voters now: n1 and n2 are not enough.
	ackCommits(t, r, "n2", j, false) // two of four
	ackCommits(t, r, "n4", j, true)
}

// TestRemoveFollowerShrinksQuorum: with four voters two acks are needed;
// once n4 is removed, one other than the leader's own is enough.
func TestRemoveFollowerShrinksQuorum(t *testing.T) {
	four := []string{"n1", "n2", "n3", "n4"}
	r := committedLeader(t, four)
	if _, _, err := r.Propose([]byte("x")); err != nil {
		t.Fatal(err)
	}
	drain(r)
	x := r.log.lastIndex()
	ack(t, r, "n2", x)
	if r.commit >= x {
		t.Fatalf("committed %d with two of four", x)
	}
	i := propose(t, r, ConfChange{Type: ConfRemove, ID: "n4"})
	if _, ok := r.progress["n4"]; ok || r.quorum() != 2 {
		t.Fatalf("n4 still tracked or quorum %d", r.quorum())
	}
	// The smaller quorum commits what n1 and n2 hold at once.
	if r.commit != x {
		t.Fatalf("commit %d, want %d after the removal", r.commit, x)
	}
	ack(t, r, "n2", i)
	if r.commit != i || r.role != RoleLeader {
		t.Fatalf("commit %d role %s, want %d as leader", r.commit, r.role, i)
	}
}

// TestRemoveLeader: the leader keeps leading without counting itself
// until the entry that removes it commits, then steps down.
func TestRemoveLeader(t *testing.T) {
	r := committedLeader(t, three)
	i := propose(t, r, ConfChange{Type: ConfRemove, ID: "n1"})
	if r.role != RoleLeader || r.quorum() != 2 {
		t.Fatalf("role %s quorum %d", r.role, r.quorum())
	}
	// Still leads: heartbeats go to the voters.
	r.Tick()
	if rd := drain(r); !sentTo(rd.Messages, MsgApp, "n2") {
		t.Fatalf("no heartbeat: %v", rd.Messages)
	}
	ack(t, r, "n2", i)
	if r.commit >= i || r.role != RoleLeader {
		t.Fatalf("commit %d role %s: counted itself", r.commit, r.role)
	}
	step(t, r, Message{Type: MsgAppResp, From: "n3", To: "n1", Term: r.term, Index: i})
	rd := drain(r)
	if r.commit != i || r.role != RoleFollower {
		t.Fatalf("commit %d role %s, want %d follower", r.commit, r.role, i)
	}
	if !hasEvent(rd.Events, EventConfCommitted) {
		t.Fatalf("no EventConfCommitted: %v", rd.Events)
	}
	// Removed and committed: it never campaigns.
	for range 10 * r.electionTicks {
		r.Tick()
	}
	if rd := drain(r); len(rd.Messages) > 0 || r.role != RoleFollower {
		t.Fatalf("removed node campaigns: %v", rd.Messages)
	}
}

// TestRemovedUncommittedStillCampaigns: a node whose newest
// configuration, not committed, leaves it out may still be needed to
// elect a leader (thesis §4.2.2): the removed leader crashed before its
// removal committed, and its log is the most up to date. It campaigns,
// not counting its own vote, and the remaining voter's grant elects it.
func TestRemovedUncommittedStillCampaigns(t *testing.T) {
	two := []string{"n1", "n2"}
	st := NewMemoryLogStorage()
	if err := st.Append([]Entry{{Index: 1, Term: 1}, confEntry(2, 1, NewMembership("n2"))}); err != nil {
		t.Fatal(err)
	}
	r := newTestRaft(t, two, withStorage(st), withHardState(HardState{Term: 1, Vote: "n1", Commit: 1}))
	tickUntil(t, r, func() bool { return r.role == RoleCandidate })
	rd := drain(r)
	if !sentTo(rd.Messages, MsgVote, "n2") {
		t.Fatalf("no vote request to n2: %v", rd.Messages)
	}
	step(t, r, Message{Type: MsgVoteResp, From: "n2", To: "n1", Term: r.term})
	if r.role != RoleLeader {
		t.Fatalf("role %s", r.role)
	}
	drain(r)
	ack(t, r, "n2", r.log.lastIndex())
	if r.commit != r.log.lastIndex() || r.role != RoleFollower {
		t.Fatalf("commit %d role %s: want all committed and stepped down", r.commit, r.role)
	}
}

// TestOneChangeAtATime: a second change waits for the first to commit.
func TestOneChangeAtATime(t *testing.T) {
	r := committedLeader(t, three)
	i := propose(t, r, ConfChange{Type: ConfAddLearner, ID: "n4", Addr: "a4"})
	if _, _, err := r.ProposeConfChange(ConfChange{Type: ConfAddLearner, ID: "n5", Addr: "a5"}); !errors.Is(err, ErrConfChangeRefused) {
		t.Fatalf("second change in flight: %v", err)
	}
	ack(t, r, "n2", i)
	propose(t, r, ConfChange{Type: ConfAddLearner, ID: "n5", Addr: "a5"})
}

// TestNoChangeBeforeTermCommit: a new leader refuses a change until an
// entry of its term committed (raft-dev, 2015).
func TestNoChangeBeforeTermCommit(t *testing.T) {
	r := newTestRaft(t, three)
	makeLeader(t, r)
	if _, _, err := r.ProposeConfChange(ConfChange{Type: ConfAddLearner, ID: "n4", Addr: "a4"}); !errors.Is(err, ErrConfChangeRefused) {
		t.Fatalf("change before the no-op committed: %v", err)
	}
	ack(t, r, "n2", r.log.lastIndex())
	propose(t, r, ConfChange{Type: ConfAddLearner, ID: "n4", Addr: "a4"})
	// Not a leader at all.
	f := newTestRaft(t, three, asNode("n2"))
	if _, _, err := f.ProposeConfChange(ConfChange{Type: ConfRemove, ID: "n1"}); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("follower: %v", err)
	}
}

// TestConfRolledBackOnTruncate: a follower uses a configuration entry as
// soon as it is in its log, and the one before again when a new leader
// overwrites it.
func TestConfRolledBackOnTruncate(t *testing.T) {
	r := newTestRaft(t, three, asNode("n2"))
	withN4 := NewMembership(three...).with(Member{ID: "n4", Addr: "a4"})
	step(t, r, Message{Type: MsgApp, From: "n1", To: "n2", Term: 1, Entries: []Entry{{Index: 1, Term: 1}, confEntry(2, 1, withN4)}, Commit: 1})
	rd := drain(r)
	if m, i := r.Membership(); i != 2 || !m.IsVoter("n4") || r.quorum() != 3 || !hasEvent(rd.Events, EventConfApplied) {
		t.Fatalf("membership %v at %d, events %v", m, i, rd.Events)
	}
	step(t, r, Message{Type: MsgApp, From: "n3", To: "n2", Term: 2, Index: 1, LogTerm: 1, Entries: []Entry{{Index: 2, Term: 2}}, Commit: 1})
	rd = drain(r)
	if m, i := r.Membership(); i != 0 || m.Has("n4") || r.quorum() != 2 || !hasEvent(rd.Events, EventConfRolledBack) {
		t.Fatalf("membership %v at %d after truncation, events %v", m, i, rd.Events)
	}
}

// TestRestartFindsConfig: New reads the configuration from the log, and
// from a snapshot's Membership.
func TestRestartFindsConfig(t *testing.T) {
	withN4 := NewMembership(three...).with(Member{ID: "n4", Addr: "a4", Learner: true})
	st := NewMemoryLogStorage()
	if err := st.Append([]Entry{{Index: 1, Term: 1}, confEntry(2, 1, withN4), {Index: 3, Term: 1}}); err != nil {
		t.Fatal(err)
	}
	r := newTestRaft(t, three, withStorage(st), withHardState(HardState{Term: 1, Commit: 3}))
	if m, i := r.Membership(); i != 2 || !slices.Equal(m, withN4) {
		t.Fatalf("membership %v at %d", m, i)
	}
	// Compacted past the entry: the snapshot says.
	if err := st.Compact(3, 4); err != nil {
		t.Fatal(err)
	}
	st.snap.Membership = withN4
	r = newTestRaft(t, three, withStorage(st), withHardState(HardState{Term: 1, Commit: 3}), func(c *Config) { c.Applied = 3 })
	if m, i := r.Membership(); i != 3 || !slices.Equal(m, withN4) {
		t.Fatalf("membership %v at %d from the snapshot", m, i)
	}
}

// TestSnapshotInstallsConfig: a follower that installs a snapshot takes
// its configuration.
func TestSnapshotInstallsConfig(t *testing.T) {
	r := newTestRaft(t, nil, asNode("n5"), joining)
	withN5 := NewMembership(three...).with(Member{ID: "n5", Addr: "a5"})
	step(t, r, Message{Type: MsgSnap, From: "n1", To: "n5", Term: 3, Snapshot: SnapshotMeta{Index: 10, Term: 2, Membership: withN5}})
	drain(r)
	if m, i := r.Membership(); i != 10 || !slices.Equal(m, withN5) || r.commit != 10 {
		t.Fatalf("membership %v at %d commit %d", m, i, r.commit)
	}
	tickUntil(t, r, func() bool { return r.role == RoleCandidate })
}

// transferLeader is n1 leading three, its no-op acknowledged by n2 only.
func transferLeader(t testing.TB, opts ...func(*Config)) *Raft {
	r := newTestRaft(t, three, opts...)
	makeLeader(t, r)
	ack(t, r, "n2", r.log.lastIndex())
	return r
}

// TestTransferCaughtUp: a caught-up target gets MsgTimeoutNow at once,
// campaigns past pre-vote with Transfer set, and voters grant it within
// their lease.
func TestTransferCaughtUp(t *testing.T) {
	r := transferLeader(t)
	if err := r.TransferLeadership("n2"); err != nil {
		t.Fatal(err)
	}
	rd := drain(r)
	if !sentTo(rd.Messages, MsgTimeoutNow, "n2") || r.Transferee() != "n2" || !hasEvent(rd.Events, EventTransferStarted) {
		t.Fatalf("messages %v events %v", rd.Messages, rd.Events)
	}
	// n2, with pre-vote and check-quorum, hears from its leader, then
	// gets TimeoutNow.
	log := []Entry{{Index: 1, Term: 1}}
	target := newTestRaft(t, three, asNode("n2"), withPreVote, withCheckQuorum)
	voter := newTestRaft(t, three, asNode("n3"), withPreVote, withCheckQuorum)
	for _, f := range []*Raft{target, voter} {
		step(t, f, Message{Type: MsgApp, From: "n1", To: f.id, Term: 1, Entries: log, Commit: 1})
		drain(f)
	}
	step(t, target, Message{Type: MsgTimeoutNow, From: "n1", To: "n2", Term: 1})
	rd = drain(target)
	if target.role != RoleCandidate || target.term != 2 || !hasEvent(rd.Events, EventTimeoutNow) {
		t.Fatalf("target role %s term %d", target.role, target.term)
	}
	var vote Message
	for _, m := range rd.Messages {
		if m.Type == MsgVote && m.To == "n3" {
			vote = m
		}
	}
	if !vote.Transfer {
		t.Fatalf("no MsgVote with Transfer to n3: %v", rd.Messages)
	}
	// The same request without Transfer is refused in n3's lease.
	plain := vote
	plain.Transfer = false
	step(t, voter, plain)
	if rd := drain(voter); len(rd.Messages) != 1 || !rd.Messages[0].Reject || voter.term != 1 {
		t.Fatalf("lease did not hold: %v term %d", rd.Messages, voter.term)
	}
	step(t, voter, vote)
	if rd := drain(voter); len(rd.Messages) != 1 || rd.Messages[0].Reject || voter.vote != "n2" {
		t.Fatalf("transfer vote not granted: %v", rd.Messages)
	}
	step(t, target, Message{Type: MsgVoteResp, From: "n3", To: "n2", Term: 2})
	if target.role != RoleLeader {
		t.Fatalf("target role %s", target.role)
	}
}

// TestTransferBehindCatchesUp: a target that is behind is sent the log
// first, and TimeoutNow once it acknowledges the end; proposals are
// refused meanwhile.
func TestTransferBehindCatchesUp(t *testing.T) {
	r := transferLeader(t)
	if err := r.TransferLeadership("n3"); err != nil {
		t.Fatal(err)
	}
	// n3's probe from the election is still out: nothing more goes yet.
	rd := drain(r)
	if sentTo(rd.Messages, MsgTimeoutNow, "n3") {
		t.Fatalf("TimeoutNow to a target that is behind: %v", rd.Messages)
	}
	if _, _, err := r.Propose([]byte("x")); !errors.Is(err, ErrProposalDropped) {
		t.Fatalf("proposal during transfer: %v", err)
	}
	if _, _, err := r.ProposeConfChange(ConfChange{Type: ConfAddLearner, ID: "n4", Addr: "a4"}); !errors.Is(err, ErrConfChangeRefused) {
		t.Fatalf("change during transfer: %v", err)
	}
	rd = ack(t, r, "n3", r.log.lastIndex())
	if !sentTo(rd.Messages, MsgTimeoutNow, "n3") {
		t.Fatalf("no TimeoutNow after catch-up: %v", rd.Messages)
	}
}

// TestTransferAborts: with no new leader within an election timeout the
// transfer is given up, with an event, and proposals are taken again.
func TestTransferAborts(t *testing.T) {
	r := transferLeader(t)
	if err := r.TransferLeadership("n3"); err != nil {
		t.Fatal(err)
	}
	drain(r)
	for range r.electionTicks - 1 {
		r.Tick()
	}
	if r.Transferee() != "n3" {
		t.Fatal("aborted early")
	}
	r.Tick()
	rd := drain(r)
	if r.Transferee() != "" || !hasEvent(rd.Events, EventTransferAborted) {
		t.Fatalf("transferee %q events %v", r.Transferee(), rd.Events)
	}
	if _, _, err := r.Propose([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := r.TransferLeadership("n4"); !errors.Is(err, ErrConfChangeRefused) {
		t.Fatalf("transfer to a stranger: %v", err)
	}
}

// net is a tiny deterministic network of cores for scripted scenarios:
// flush drains every node and delivers, in order, what is not blocked.
type net struct {
	t       testing.TB
	nodes   map[string]*Raft
	block   func(Message) bool
	leaders map[uint64]string
}

func newNet(t testing.TB, initial []string, joiners ...string) *net {
	n := &net{t: t, nodes: map[string]*Raft{}, leaders: map[uint64]string{}, block: func(Message) bool { return false }}
	for i, id := range append(slices.Clone(initial), joiners...) {
		r, err := New(Config{ID: id, Peers: initial, Join: i >= len(initial), ElectionTicks: 10, HeartbeatTicks: 1,
			Rand: rand.New(rand.NewPCG(uint64(i), 7)), Log: NewMemoryLogStorage()})
		if err != nil {
			t.Fatal(err)
		}
		n.nodes[id] = r
	}
	return n
}

func (n *net) flush() {
	n.t.Helper()
	for range 1000 {
		var msgs []Message
		for _, id := range slices.Sorted(mapsKeys(n.nodes)) {
			r := n.nodes[id]
			for r.HasReady() {
				rd := drain(r)
				msgs = append(msgs, rd.Messages...)
			}
			if r.role == RoleLeader {
				if l, ok := n.leaders[r.term]; ok && l != id {
					n.t.Fatalf("two leaders in term %d: %s and %s", r.term, l, id)
				}
				n.leaders[r.term] = id
			}
		}
		n.checkCommitted()
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			if !n.block(m) {
				err := n.nodes[m.To].Step(m)
				if debugNet {
					n.t.Logf("deliver %s: %v", m, err)
				}
			}
		}
	}
	n.t.Fatal("messages keep coming")
}

// checkCommitted fails if two nodes committed different entries at an
// index (State Machine Safety).
func (n *net) checkCommitted() {
	n.t.Helper()
	for _, a := range n.nodes {
		for _, b := range n.nodes {
			for i := uint64(1); i <= min(a.commit, b.commit); i++ {
				ta, _ := a.log.term(i)
				tb, _ := b.log.term(i)
				if ta != tb {
					n.t.Fatalf("%s committed entry %d of term %d, %s of term %d: two disjoint majorities decided", a.id, i, ta, b.id, tb)
				}
			}
		}
	}
}

var debugNet = false

func mapsKeys(m map[string]*Raft) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestRaftDevSingleServerBug replays the bug in single-server changes
// that Ongaro published on raft-dev in 2015. Four servers n1..n4; n1 leads
// term 1 and adds n5, the entry reaching only n5. n1 goes down; n2 is
// elected in term 2 by n2, n3, n4 and at once asks to remove n1 — if it
// could, that entry would commit on n2 and n3, a majority of {n2 n3 n4},
// without n4 ever seeing term 2. n1 comes back and n4 and n5 elect it in
// term 3 under {n1..n5}; its no-op commits on n1, n4, n5 at the index
// n2 and n3 committed the removal at: two disjoint majorities, two
// entries committed at one index. The fix — no change before the leader
// committed an entry of its term — refuses n2's change; n2's no-op
// cannot commit without n4, and once it did n4 would not vote for n1.
func TestRaftDevSingleServerBug(t *testing.T) {
	four := []string{"n1", "n2", "n3", "n4"}
	n := newNet(t, four, "n5")
	n.nodes["n1"].becomeCandidate("test", false)
	n.flush()
	n1, n2 := n.nodes["n1"], n.nodes["n2"]
	if n1.role != RoleLeader || n1.commit != 1 {
		t.Fatalf("n1 %s commit %d", n1.role, n1.commit)
	}
	// n1 adds n5; only n5 hears of it.
	n.block = func(m Message) bool { return m.From == "n1" && m.To != "n5" }
	if _, _, err := n1.ProposeConfChange(ConfChange{Type: ConfAddVoter, ID: "n5", Addr: "a5"}); err != nil {
		t.Fatal(err)
	}
	n.flush()
	n1.Tick() // a heartbeat probes the new member
	n.flush()
	if n.nodes["n5"].log.lastIndex() != 2 || n2.log.lastIndex() != 1 {
		t.Fatalf("n5 last %d, n2 last %d", n.nodes["n5"].log.lastIndex(), n2.log.lastIndex())
	}
	// n1 is down; n2 wins term 2 with n3 and n4, and its no-op reaches
	// only n3.
	down := map[string]bool{"n1": true}
	n.block = func(m Message) bool {
		return down[m.From] || down[m.To] || m.From == "n2" && m.To == "n4" && m.Type == MsgApp
	}
	n2.becomeCandidate("test", false)
	n.flush()
	if n2.role != RoleLeader || n2.term != 2 {
		t.Fatalf("n2 %s term %d", n2.role, n2.term)
	}
	_, _, err := n2.ProposeConfChange(ConfChange{Type: ConfRemove, ID: "n1"})
	n.flush()
	if err == nil {
		t.Logf("n2 removes n1 before committing in term 2: commit %d, membership %v", n2.commit, n2.confs.current().members)
	} else if !errors.Is(err, ErrConfChangeRefused) {
		t.Fatalf("n2's change: %v", err)
	}
	// n1 is back; n2 and n3 are cut off from it. n1 campaigns until
	// elected by n4 and n5.
	down = map[string]bool{}
	n.block = func(m Message) bool {
		side := func(id string) bool { return id == "n2" || id == "n3" }
		return side(m.From) != side(m.To)
	}
	n1.becomeFollower(n1.term, "", "restarted") // as after a crash
	for range 3 {
		if n1.role != RoleLeader {
			n1.becomeCandidate("test", false)
			n.flush()
		}
	}
	if n1.role != RoleLeader {
		t.Fatalf("n1 not elected: %s term %d", n1.role, n1.term)
	}
	for range 3 { // heartbeats bring n4 up to date
		n1.Tick()
		n.flush()
	}
	if err == nil {
		t.Fatalf("n2 changed the configuration before committing in its term, yet no conflict was seen")
	}
	if n1.commit < 3 {
		t.Fatalf("n1 commit %d", n1.commit)
	}
}
