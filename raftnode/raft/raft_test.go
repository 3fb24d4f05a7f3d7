package raft

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Unit tests of one core, driven by hand. Tests cite the section of the
// Raft paper (or Ongaro's thesis) whose rule they check.

var three = []string{"n1", "n2", "n3"}

// newTestRaft builds n1 of peers with T=10, H=1, pre-vote and check-quorum
// off unless opts turn them on.
func newTestRaft(t testing.TB, peers []string, opts ...func(*Config)) *Raft {
	t.Helper()
	cfg := Config{
		ID:             "n1",
		Peers:          peers,
		ElectionTicks:  10,
		HeartbeatTicks: 1,
		Rand:           rand.New(rand.NewPCG(1, 2)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.Log == nil {
		cfg.Log = NewMemoryLogStorage()
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func withPreVote(c *Config)     { c.PreVote = true }
func withCheckQuorum(c *Config) { c.CheckQuorum = true }

func withHardState(hs HardState) func(*Config) {
	return func(c *Config) { c.HardState = hs }
}

// withLog restores a durable log whose entries have the given terms, and
// a current term of at least the last one.
func withLog(terms ...uint64) func(*Config) {
	return func(c *Config) {
		c.Log = storageWith(terms...)
		for _, t := range terms {
			c.HardState.Term = max(c.HardState.Term, t)
		}
	}
}

// storageWith returns a MemoryLogStorage holding entries of the given terms,
// each with data "<index>/<term>".
func storageWith(terms ...uint64) *MemoryLogStorage {
	s := NewMemoryLogStorage()
	var es []Entry
	for i, t := range terms {
		es = append(es, Entry{Term: t, Index: uint64(i) + 1, Data: fmt.Appendf(nil, "%d/%d", i+1, t)})
	}
	if err := s.Append(es); err != nil {
		panic(err)
	}
	return s
}

// drain takes the pending Ready, persists its entries to the core's
// storage, and advances.
func drain(r *Raft) Ready {
	rd := r.Ready()
	persistReady(r, rd)
	r.Advance()
	return rd
}

// appender is a test LogStorage the caller can write to.
type appender interface {
	LogStorage
	Append([]Entry) error
}

var (
	_ appender = (*MemoryLogStorage)(nil)
	_ appender = (*windowStorage)(nil)
)

// persistReady writes rd.Entries to r's storage and reports them stable,
// as a caller that persists synchronously does before Advance.
func persistReady(r *Raft, rd Ready) {
	if err := r.log.storage.(appender).Append(rd.Entries); err != nil {
		panic(err)
	}
	stableReady(r, rd)
}

// stableReady reports rd.Entries stable.
func stableReady(r *Raft, rd Ready) {
	if len(rd.Entries) > 0 {
		r.StableTo(rd.Mark)
	}
}

// step feeds m to r and fails the test on an error.
func step(t testing.TB, r *Raft, m Message) {
	t.Helper()
	if err := r.Step(m); err != nil {
		t.Fatalf("Step(%s): %v", m, err)
	}
}

// tickUntil ticks r until cond holds, at most 2T ticks.
func tickUntil(t testing.TB, r *Raft, cond func() bool) {
	t.Helper()
	for range 2 * r.electionTicks {
		if cond() {
			return
		}
		r.Tick()
	}
	if !cond() {
		t.Fatalf("condition not reached in %d ticks; status %+v", 2*r.electionTicks, r.Status())
	}
}

// makeLeader runs r through an election it wins, and drains the result.
func makeLeader(t testing.TB, r *Raft) {
	t.Helper()
	r.becomeCandidate("test", false)
	for _, x := range r.confs.current().members {
		if p := x.ID; p != r.id && r.role == RoleCandidate {
			step(t, r, Message{Type: MsgVoteResp, From: p, To: r.id, Term: r.term})
		}
	}
	if r.role != RoleLeader {
		t.Fatalf("not leader after all votes: %s", r.role)
	}
	drain(r)
}

func TestNewValidatesConfig(t *testing.T) {
	good := func() Config {
		return Config{ID: "n1", Peers: three, ElectionTicks: 10, HeartbeatTicks: 1, Rand: rand.New(rand.NewPCG(1, 1)), Log: NewMemoryLogStorage()}
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string // in the error; "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"single node", func(c *Config) { c.Peers = []string{"n1"} }, ""},
		{"empty id", func(c *Config) { c.ID = "" }, "empty node id"},
		{"id not a peer", func(c *Config) { c.ID = "n9" }, "not among the peers"},
		{"duplicate peer", func(c *Config) { c.Peers = []string{"n1", "n2", "n1"} }, "listed twice"},
		{"empty peer", func(c *Config) { c.Peers = []string{"n1", ""} }, "empty peer id"},
		{"zero election", func(c *Config) { c.ElectionTicks = 0 }, "must be positive"},
		{"negative heartbeat", func(c *Config) { c.HeartbeatTicks = -1 }, "must be positive"},
		{"heartbeat = election", func(c *Config) { c.HeartbeatTicks = 10 }, "below election ticks"},
		{"huge election", func(c *Config) { c.ElectionTicks, c.HeartbeatTicks = math.MaxInt, 1 }, "too large"},
		{"nil rand", func(c *Config) { c.Rand = nil }, "nil Rand"},
		{"vote in term 0", func(c *Config) { c.HardState = HardState{Vote: "n2"} }, "term 0"},
		{"nil storage", func(c *Config) { c.Log = nil }, "nil Log"},
		{"negative inflight", func(c *Config) { c.MaxInflight = -1 }, "negative"},
		{"commit past log", func(c *Config) { c.HardState = HardState{Term: 1, Commit: 1} }, "commit 1 beyond last index 0"},
		{"applied past log", func(c *Config) { c.Log, c.HardState, c.Applied = storageWith(1), HardState{Term: 1}, 2 }, "applied 2 beyond last index 1"},
		{"applied within log", func(c *Config) { c.Log, c.HardState, c.Applied = storageWith(1, 1), HardState{Term: 1}, 2 }, ""},
		{"unreadable storage", func(c *Config) { c.Log = brokenStorage{} }, "cannot tell the term"},
		{"applied before a compacted log", func(c *Config) {
			c.Log, c.HardState = &windowStorage{first: 5, entries: entriesOf(5, 1, 1)}, HardState{Term: 1}
		}, "applied 0 before first index 5"},
		{"applied covers a compacted log", func(c *Config) {
			c.Log, c.HardState, c.Applied = &windowStorage{first: 5, entries: entriesOf(5, 1, 1)}, HardState{Term: 1, Commit: 4}, 4
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.change(&cfg)
			_, err := New(cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want ErrInvalidConfig with %q", err, tc.want)
			}
		})
	}
}

// TestStartAsFollower: servers start as followers (§5.2), with the
// restored term and vote, and nothing to do yet.
func TestStartAsFollower(t *testing.T) {
	r := newTestRaft(t, three, withHardState(HardState{Term: 4, Vote: "n2"}))
	st := r.Status()
	if st.Role != RoleFollower || st.Term != 4 || st.Vote != "n2" || st.Leader != "" {
		t.Fatalf("status %+v, want follower of term 4 voting n2", st)
	}
	if r.HasReady() {
		t.Fatalf("fresh core has a Ready: %+v", r.Ready())
	}
}

// TestElectionTimeoutRandomized: election timeouts are drawn at random from
// [T, 2T) each time the timer restarts (§5.2), from Config.Rand only.
func TestElectionTimeoutRandomized(t *testing.T) {
	r := newTestRaft(t, three, withPreVote)
	seen := map[int]bool{}
	for range 200 {
		elapsed := 0
		for r.role != RolePreCandidate {
			r.Tick()
			elapsed++
		}
		if elapsed < 10 || elapsed >= 20 {
			t.Fatalf("timed out after %d ticks, want [10, 20)", elapsed)
		}
		seen[elapsed] = true
		r.becomeFollower(r.term, "", "test")
	}
	if len(seen) < 8 {
		t.Fatalf("only %d distinct timeouts in 200 rounds: %v", len(seen), seen)
	}

	// The same seed gives the same timeouts.
	a, b := newTestRaft(t, three), newTestRaft(t, three)
	for range 20 {
		if a.randomizedTimeout != b.randomizedTimeout {
			t.Fatalf("same seed, timeouts %d and %d", a.randomizedTimeout, b.randomizedTimeout)
		}
		a.resetElectionTimer()
		b.resetElectionTimer()
	}
}

// TestFollowerStartsElection: on timeout a follower increments its term,
// votes for itself and asks every peer for its vote with its last log term
// and index (§5.2); term and vote must be synced first (Figure 2).
func TestFollowerStartsElection(t *testing.T) {
	r := newTestRaft(t, three, withLog(1, 2))
	tickUntil(t, r, func() bool { return r.role == RoleCandidate })
	rd := drain(r)
	if r.term != 3 || r.vote != "n1" {
		t.Fatalf("term %d vote %q, want 3, n1", r.term, r.vote)
	}
	if !rd.MustSync || rd.HardState != (HardState{Term: 3, Vote: "n1"}) {
		t.Fatalf("Ready hard state %+v sync %v, want term 3 vote n1 synced", rd.HardState, rd.MustSync)
	}
	want := []Message{
		{Type: MsgVote, From: "n1", To: "n2", Term: 3, LogTerm: 2, Index: 2},
		{Type: MsgVote, From: "n1", To: "n3", Term: 3, LogTerm: 2, Index: 2},
	}
	if !slices.EqualFunc(rd.Messages, want, msgEqual) {
		t.Fatalf("messages %v, want %v", rd.Messages, want)
	}
}

// msgEqual compares messages; nil and empty Entries or Data are equal.
func msgEqual(a, b Message) bool {
	if !slices.EqualFunc(a.Entries, b.Entries, entryEqual) {
		return false
	}
	a.Entries, b.Entries = nil, nil
	return reflect.DeepEqual(a, b)
}

// TestPreCandidateKeepsTermAndVote: a pre-vote changes neither term nor
// vote; it asks for votes in term+1 (thesis §9.6), so nothing needs syncing.
func TestPreCandidateKeepsTermAndVote(t *testing.T) {
	r := newTestRaft(t, three, withPreVote, withHardState(HardState{Term: 5, Vote: "n3"}))
	tickUntil(t, r, func() bool { return r.role == RolePreCandidate })
	rd := drain(r)
	if r.term != 5 || r.vote != "n3" || rd.MustSync {
		t.Fatalf("term %d vote %q sync %v, want 5, n3, no sync", r.term, r.vote, rd.MustSync)
	}
	for _, m := range rd.Messages {
		if m.Type != MsgPreVote || m.Term != 6 {
			t.Fatalf("sent %s, want MsgPreVote for term 6", m)
		}
	}
	if len(rd.Messages) != 2 {
		t.Fatalf("sent %d messages, want 2", len(rd.Messages))
	}

	// A quorum of pre-votes starts the real election.
	step(t, r, Message{Type: MsgPreVoteResp, From: "n2", To: "n1", Term: 6})
	if r.role != RoleCandidate || r.term != 6 || r.vote != "n1" {
		t.Fatalf("after a pre-vote quorum: %s term %d vote %q", r.role, r.term, r.vote)
	}
}

// TestElectionInOneRound: a candidate wins with votes from a majority,
// loses when a majority refuses, and otherwise waits (§5.2).
func TestElectionInOneRound(t *testing.T) {
	tests := []struct {
		size      int
		granted   int // besides itself
		rejected  int
		want      Role
		preVote   bool
		wantTally int // granted votes in Status while still campaigning
	}{
		{size: 1, want: RoleLeader},
		{size: 3, granted: 1, want: RoleLeader},
		{size: 3, granted: 2, want: RoleLeader},
		{size: 3, want: RoleCandidate, wantTally: 1},
		{size: 3, rejected: 1, want: RoleCandidate, wantTally: 1},
		{size: 3, rejected: 2, want: RoleFollower},
		{size: 5, granted: 1, rejected: 1, want: RoleCandidate, wantTally: 2},
		{size: 5, granted: 2, want: RoleLeader},
		{size: 5, granted: 1, rejected: 3, want: RoleFollower},
		{size: 4, granted: 1, rejected: 1, want: RoleCandidate, wantTally: 2},
		{size: 4, granted: 1, rejected: 2, want: RoleFollower},
		{size: 3, granted: 1, want: RoleCandidate, preVote: true},
		{size: 3, rejected: 2, want: RoleFollower, preVote: true},
		{size: 5, granted: 1, want: RolePreCandidate, preVote: true, wantTally: 2},
	}
	for _, tc := range tests {
		peers := []string{"n1", "n2", "n3", "n4", "n5"}[:tc.size]
		opts := []func(*Config){}
		if tc.preVote {
			opts = append(opts, withPreVote)
		}
		r := newTestRaft(t, peers, opts...)
		tickUntil(t, r, func() bool { return r.role != RoleFollower })
		typ, term := MsgVoteResp, r.term
		if tc.preVote {
			typ, term = MsgPreVoteResp, r.term+1
		}
		for i, p := range peers[1 : 1+tc.granted+tc.rejected] {
			m := Message{Type: typ, From: p, To: "n1", Term: term}
			if i >= tc.granted {
				m.Reject, m.Term = true, r.term
			}
			step(t, r, m)
		}
		if r.role != tc.want {
			t.Errorf("%+v: role %s, want %s", tc, r.role, tc.want)
		}
		if tc.wantTally > 0 && len(r.Status().VotesGranted) != tc.wantTally {
			t.Errorf("%+v: granted %v", tc, r.Status().VotesGranted)
		}
	}
}

// TestVoteCountedOnce: a repeated grant from one peer (a duplicated
// message) counts once.
func TestVoteCountedOnce(t *testing.T) {
	r := newTestRaft(t, []string{"n1", "n2", "n3", "n4", "n5"})
	tickUntil(t, r, func() bool { return r.role == RoleCandidate })
	for range 3 {
		step(t, r, Message{Type: MsgVoteResp, From: "n2", To: "n1", Term: r.term})
	}
	if r.role != RoleCandidate {
		t.Fatalf("one peer's vote thrice made n1 %s", r.role)
	}
	st := r.Status()
	if !slices.Equal(st.VotesGranted, []string{"n1", "n2"}) {
		t.Fatalf("granted %v", st.VotesGranted)
	}
}

// TestVoteOncePerTerm: a follower votes for at most one candidate per
// term, first come first served, and may repeat its grant to the same one
// (§5.2). A grant restarts its election timer.
func TestVoteOncePerTerm(t *testing.T) {
	r := newTestRaft(t, three, withHardState(HardState{Term: 1}))
	r.Tick()
	r.Tick()
	step(t, r, Message{Type: MsgVote, From: "n2", To: "n1", Term: 2})
	if r.electionElapsed != 0 {
		t.Fatalf("granting did not restart the timer: elapsed %d", r.electionElapsed)
	}
	step(t, r, Message{Type: MsgVote, From: "n3", To: "n1", Term: 2})
	step(t, r, Message{Type: MsgVote, From: "n2", To: "n1", Term: 2})
	rd := drain(r)
	want := []Message{
		{Type: MsgVoteResp, From: "n1", To: "n2", Term: 2},
		{Type: MsgVoteResp, From: "n1", To: "n3", Term: 2, Reject: true, Reason: "already voted for n2 in term 2"},
		{Type: MsgVoteResp, From: "n1", To: "n2", Term: 2},
	}
	if !slices.EqualFunc(rd.Messages, want, msgEqual) {
		t.Fatalf("messages\n%v\nwant\n%v", rd.Messages, want)
	}
	if !rd.MustSync || rd.HardState.Vote != "n2" {
		t.Fatalf("vote not synced before the grant: %+v sync %v", rd.HardState, rd.MustSync)
	}
}

// TestVoteUpToDate: a vote goes only to a candidate whose log is at least
// as up-to-date: later last term wins, equal terms compare length (§5.4.1).
func TestVoteUpToDate(t *testing.T) {
	// The voter's log: terms 1, 1, 2 (last term 2, last index 3).
	tests := []struct {
		logTerm, index uint64
		grant          bool
		reason         string
	}{
		{3, 1, true, ""}, // later last term, shorter log
		{2, 3, true, ""}, // same log
		{2, 4, true, ""}, // same last term, longer
		{2, 2, false, "candidate log is behind (last index 2 < 3 in term 2)"},
		{1, 5, false, "candidate log is behind (last term 1 < 2)"},
		{0, 0, false, "candidate log is behind (last term 0 < 2)"},
	}
	for _, pre := range []bool{false, true} {
		for _, tc := range tests {
			r := newTestRaft(t, three, withLog(1, 1, 2))
			typ, resp := MsgVote, MsgVoteResp
			if pre {
				typ, resp = MsgPreVote, MsgPreVoteResp
			}
			step(t, r, Message{Type: typ, From: "n2", To: "n1", Term: 4, LogTerm: tc.logTerm, Index: tc.index})
			rd := drain(r)
			want := Message{Type: resp, From: "n1", To: "n2", Term: 4}
			if !tc.grant {
				want.Reject, want.Reason = true, tc.reason
				if pre { // a refused pre-vote carries the voter's term
					want.Term = 2
				}
			}
			if len(rd.Messages) != 1 || !msgEqual(rd.Messages[0], want) {
				t.Errorf("pre=%v %+v: got %v, want %s", pre, tc, rd.Messages, want)
			}
			ev := rd.Events[len(rd.Events)-1]
			if ev.PreVote != pre || ev.Peer != "n2" || (ev.Kind == EventVoteGranted) != tc.grant || ev.Reason != tc.reason || ev.Term != 4 {
				t.Errorf("pre=%v %+v: last event %s", pre, tc, ev)
			}
		}
	}
}

// TestPreVoteChangesNothing: granting or refusing a pre-vote leaves the
// voter's term, vote and timer alone (thesis §9.6).
func TestPreVoteChangesNothing(t *testing.T) {
	r := newTestRaft(t, three, withPreVote, withHardState(HardState{Term: 4, Vote: "n3"}))
	r.Tick()
	step(t, r, Message{Type: MsgPreVote, From: "n2", To: "n1", Term: 5})
	if r.term != 4 || r.vote != "n3" || r.electionElapsed != 1 {
		t.Fatalf("term %d vote %q elapsed %d, want 4, n3, 1", r.term, r.vote, r.electionElapsed)
	}
	rd := drain(r)
	if rd.MustSync || len(rd.Messages) != 1 || rd.Messages[0].Reject || rd.Messages[0].Term != 5 {
		t.Fatalf("Ready %+v, want one unsynced grant for term 5", rd)
	}
	// In its own term, where it voted for n3, it refuses n2.
	step(t, r, Message{Type: MsgPreVote, From: "n2", To: "n1", Term: 4})
	if m := drain(r).Messages[0]; !m.Reject || m.Reason != "already voted for n3 in term 4" {
		t.Fatalf("same-term pre-vote answered %s", m)
	}
}

// TestLease: with check-quorum, a follower that heard from its leader within
// the election timeout refuses (pre-)votes without raising its term; once
// the timeout passes in silence it may vote (thesis §4.2.3).
func TestLease(t *testing.T) {
	for _, typ := range []MsgType{MsgPreVote, MsgVote} {
		r := newTestRaft(t, three, withPreVote, withCheckQuorum, withHardState(HardState{Term: 2}))
		step(t, r, Message{Type: MsgApp, From: "n2", To: "n1", Term: 2})
		drain(r)
		step(t, r, Message{Type: typ, From: "n3", To: "n1", Term: 3})
		rd := drain(r)
		if r.term != 2 || r.leader != "n2" {
			t.Fatalf("%s in lease: term %d leader %q, want 2, n2", typ, r.term, r.leader)
		}
		want := Message{Type: respType(typ), From: "n1", To: "n3", Term: 2, Reject: true, Reason: "leader n2 is alive (lease)"}
		if len(rd.Messages) != 1 || !msgEqual(rd.Messages[0], want) {
			t.Fatalf("%s in lease answered %v, want %s", typ, rd.Messages, want)
		}
		for range 10 {
			r.Tick()
		}
		step(t, r, Message{Type: typ, From: "n3", To: "n1", Term: 3})
		if m := drain(r).Messages; len(m) != 1 || m[0].Reject {
			t.Fatalf("%s after the lease answered %v, want a grant", typ, m)
		}
	}
}

// TestLowerTermMessages: a message from an older term changes nothing; a
// request is answered with the current term so a stale sender learns it
// (§5.1), and a stale response is dropped.
func TestLowerTermMessages(t *testing.T) {
	tests := []struct {
		m    Message
		want []Message
	}{
		{Message{Type: MsgApp, Term: 2}, []Message{{Type: MsgAppResp, Term: 3, Reject: true}}},
		{Message{Type: MsgApp, Term: 2, LogTerm: 1, Index: 1}, []Message{{Type: MsgAppResp, Term: 3, Index: 1, Reject: true}}},
		{Message{Type: MsgVote, Term: 2}, []Message{{Type: MsgVoteResp, Term: 3, Reject: true, Reason: "stale term 2 < 3"}}},
		{Message{Type: MsgPreVote, Term: 2}, []Message{{Type: MsgPreVoteResp, Term: 3, Reject: true, Reason: "stale term 2 < 3"}}},
		{Message{Type: MsgAppResp, Term: 2}, nil},
		{Message{Type: MsgVoteResp, Term: 2}, nil},
		{Message{Type: MsgPreVoteResp, Term: 2, Reject: true}, nil},
	}
	for _, role := range []Role{RoleFollower, RolePreCandidate, RoleCandidate, RoleLeader} {
		for _, tc := range tests {
			r := newTestRaft(t, three, withPreVote, withCheckQuorum, withLog(1), withHardState(HardState{Term: 2}))
			setRole(t, r, role, 3)
			before := r.Status()
			tc.m.From, tc.m.To = "n2", "n1"
			step(t, r, tc.m)
			rd := drain(r)
			for i := range tc.want {
				tc.want[i].From, tc.want[i].To = "n1", "n2"
			}
			if !slices.EqualFunc(rd.Messages, tc.want, msgEqual) {
				t.Errorf("%s got %s: sent %v, want %v", role, tc.m, rd.Messages, tc.want)
			}
			if after := r.Status(); after.Term != 3 || after.Role != role || after.Vote != before.Vote {
				t.Errorf("%s got %s: now %s term %d", role, tc.m, after.Role, after.Term)
			}
		}
	}
}

// setRole puts r in role at term, draining what that produced.
func setRole(t testing.TB, r *Raft, role Role, term uint64) {
	t.Helper()
	r.becomeFollower(term-1, "", "test")
	switch role {
	case RoleFollower:
		r.becomeFollower(term, "", "test")
	case RolePreCandidate:
		r.becomeFollower(term, "", "test")
		r.becomePreCandidate()
	case RoleCandidate:
		r.becomeCandidate("test", false)
	case RoleLeader:
		makeLeader(t, r)
	}
	drain(r)
	if r.role != role || r.term != term {
		t.Fatalf("setRole: %s term %d, want %s term %d", r.role, r.term, role, term)
	}
}

// TestHigherTermMakesFollower: any role seeing a higher term in a request
// or response adopts it and becomes follower (§5.1); a MsgApp also names
// the leader.
func TestHigherTermMakesFollower(t *testing.T) {
	for _, role := range []Role{RoleFollower, RolePreCandidate, RoleCandidate, RoleLeader} {
		for _, typ := range []MsgType{MsgApp, MsgVote, MsgAppResp, MsgVoteResp} {
			r := newTestRaft(t, three, withPreVote)
			setRole(t, r, role, 3)
			step(t, r, Message{Type: typ, From: "n2", To: "n1", Term: 7, Reject: typ == MsgVoteResp})
			wantLeader := ""
			if typ == MsgApp {
				wantLeader = "n2"
			}
			if r.role != RoleFollower || r.term != 7 || r.leader != wantLeader {
				t.Errorf("%s got %s term 7: %s term %d leader %q", role, typ, r.role, r.term, r.leader)
			}
			if rd := drain(r); !rd.MustSync || rd.HardState.Term != 7 {
				t.Errorf("%s got %s term 7: hard state %+v not synced", role, typ, rd.HardState)
			}
		}
	}
}

// TestRefusedPreVoteTeachesTerm: a pre-candidate refused by a node of a
// higher term adopts that term, so it can campaign past it (etcd's fix
// for pre-vote deadlocks).
func TestRefusedPreVoteTeachesTerm(t *testing.T) {
	r := newTestRaft(t, three, withPreVote)
	tickUntil(t, r, func() bool { return r.role == RolePreCandidate })
	step(t, r, Message{Type: MsgPreVoteResp, From: "n2", To: "n1", Term: 5, Reject: true})
	if r.role != RoleFollower || r.term != 5 {
		t.Fatalf("%s term %d, want follower of term 5", r.role, r.term)
	}
	// A granted pre-vote for a later term changes nothing.
	step(t, r, Message{Type: MsgPreVoteResp, From: "n3", To: "n1", Term: 9})
	if r.term != 5 {
		t.Fatalf("a granted pre-vote moved the term to %d", r.term)
	}
}

// TestStalePreVoteGrantIgnored: a grant left from a pre-vote round in an
// older term does not count in the current round.
func TestStalePreVoteGrantIgnored(t *testing.T) {
	r := newTestRaft(t, three, withPreVote, withHardState(HardState{Term: 3}))
	tickUntil(t, r, func() bool { return r.role == RolePreCandidate })
	step(t, r, Message{Type: MsgPreVoteResp, From: "n2", To: "n1", Term: 3})
	step(t, r, Message{Type: MsgVoteResp, From: "n3", To: "n1", Term: 3})
	if r.role != RolePreCandidate || len(r.Status().VotesGranted) != 1 {
		t.Fatalf("%s with grants %v, want pre-candidate with only its own", r.role, r.Status().VotesGranted)
	}
}

// TestCandidateFallsBack: a candidate that hears from a leader of its own
// term becomes its follower (§5.2).
func TestCandidateFallsBack(t *testing.T) {
	for _, role := range []Role{RolePreCandidate, RoleCandidate} {
		r := newTestRaft(t, three, withPreVote)
		setRole(t, r, role, 3)
		step(t, r, Message{Type: MsgApp, From: "n3", To: "n1", Term: 3})
		if r.role != RoleFollower || r.leader != "n3" || r.term != 3 {
			t.Fatalf("%s after MsgApp: %s leader %q term %d", role, r.role, r.leader, r.term)
		}
		rd := drain(r)
		if len(rd.Messages) != 1 || rd.Messages[0].Type != MsgAppResp || rd.Messages[0].Reject {
			t.Fatalf("%s answered %v", role, rd.Messages)
		}
	}
}

// TestLeaderHeartbeats: a new leader announces itself at once with its
// no-op (§8) and then sends an empty MsgApp to every peer each heartbeat
// interval (§5.2), at the peer's Match with a commit index no higher.
func TestLeaderHeartbeats(t *testing.T) {
	r := newTestRaft(t, three, withLog(1, 2), withHardState(HardState{Term: 2, Commit: 1}), func(c *Config) { c.HeartbeatTicks = 3 })
	r.becomeCandidate("test", false)
	step(t, r, Message{Type: MsgVoteResp, From: "n2", To: "n1", Term: 3})
	noop := []Entry{{Term: 3, Index: 3, Type: EntryNoop}}
	want := []Message{
		{Type: MsgApp, From: "n1", To: "n2", Term: 3, LogTerm: 2, Index: 2, Commit: 1, Entries: noop},
		{Type: MsgApp, From: "n1", To: "n3", Term: 3, LogTerm: 2, Index: 2, Commit: 1, Entries: noop},
	}
	rd := drain(r)
	if msgs := rd.Messages; !slices.EqualFunc(msgs[len(msgs)-2:], want, msgEqual) {
		t.Fatalf("on election sent %v, want %v", msgs, want)
	}
	if !slices.EqualFunc(rd.Entries, noop, entryEqual) || !rd.MustSync {
		t.Fatalf("on election Entries %v sync %v, want the no-op synced", rd.Entries, rd.MustSync)
	}
	beat := []Message{
		{Type: MsgApp, From: "n1", To: "n2", Term: 3},
		{Type: MsgApp, From: "n1", To: "n3", Term: 3},
	}
	for i := 1; i <= 6; i++ {
		r.Tick()
		msgs := drain(r).Messages
		if got, beat := len(msgs) > 0, i%3 == 0; got != beat {
			t.Fatalf("tick %d: sent %v", i, msgs)
		}
		if len(msgs) > 0 && !slices.EqualFunc(msgs, beat, msgEqual) {
			t.Fatalf("tick %d: sent %v, want %v", i, msgs, beat)
		}
	}
	st := r.Status()
	if st.Progress["n2"] != (Progress{Next: 3, State: "probe"}) || len(st.Progress) != 2 {
		t.Fatalf("progress %+v", st.Progress)
	}

	// n2 stores the no-op: with the leader that is a quorum, and the no-op
	// is of the leader's term, so it commits, and n2 hears of it at the
	// next tick.
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 3, Index: 3})
	if p := r.Status().Progress["n2"]; p != (Progress{Match: 3, Next: 4, RecentActive: true, State: "replicate"}) {
		t.Fatalf("after ack: %+v", p)
	}
	if r.commit != 3 {
		t.Fatalf("commit %d, want 3", r.commit)
	}
	if msgs := drain(r).Messages; len(msgs) != 0 {
		t.Fatalf("sent %v at the commit, before the tick", msgs)
	}
	r.Tick()
	if msgs := drain(r).Messages; !slices.EqualFunc(msgs, []Message{{Type: MsgApp, From: "n1", To: "n2", Term: 3, LogTerm: 3, Index: 3, Commit: 3}}, msgEqual) {
		t.Fatalf("at the tick after the commit sent %v", msgs)
	}
	r.Tick()
	if msgs := drain(r).Messages; len(msgs) != 0 {
		t.Fatalf("a second tick sent %v: n2 knows the commit", msgs)
	}
	r.Tick()
	beat[0].LogTerm, beat[0].Index, beat[0].Commit = 3, 3, 3
	if msgs := drain(r).Messages; !slices.EqualFunc(msgs, beat, msgEqual) {
		t.Fatalf("heartbeat after commit %v, want %v", msgs, beat)
	}
	if err := r.Step(Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 3, Index: 9}); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("ack beyond the log: %v", err)
	}
	if err := r.Step(Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 3, Index: 9, Reject: true}); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("refusal beyond the log: %v", err)
	}
	if err := r.Step(Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 3, Index: 3, ReadCtx: 1}); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("answer to a read round never sent: %v", err)
	}
	if err := r.Step(Message{Type: MsgApp, From: "n2", To: "n1", Term: 3, LogTerm: 3, Index: 3}); !errors.Is(err, ErrInvalidMessage) || r.role != RoleLeader {
		t.Fatalf("a second leader in term 3: %v, now %s", err, r.role)
	}
}

// entryEqual compares entries; nil and empty Data are equal.
func entryEqual(a, b Entry) bool {
	return a.Term == b.Term && a.Index == b.Index && a.Type == b.Type && string(a.Data) == string(b.Data)
}

// TestCheckQuorumStepsDown: a leader steps down, keeping its term, when a
// check-quorum round ends without a majority heard from (thesis §6.2); one
// answering follower is enough in three.
func TestCheckQuorumStepsDown(t *testing.T) {
	r := newTestRaft(t, three, withCheckQuorum)
	makeLeader(t, r)
	term := r.term
	for range 9 {
		r.Tick()
	}
	step(t, r, Message{Type: MsgAppResp, From: "n3", To: "n1", Term: term})
	r.Tick() // round ends: n1 and n3 are a majority
	if r.role != RoleLeader {
		t.Fatalf("stepped down with a majority: %s", r.role)
	}
	if p := r.Status().Progress["n3"]; p.RecentActive {
		t.Fatal("RecentActive not cleared at the end of the round")
	}
	for range 10 {
		r.Tick()
	}
	if r.role != RoleFollower || r.term != term || r.leader != "" {
		t.Fatalf("after a silent round: %s term %d leader %q", r.role, r.term, r.leader)
	}
	var reason string
	for _, e := range drain(r).Events {
		if e.Kind == EventRoleChanged {
			reason = e.Reason
		}
	}
	if reason != "check-quorum: heard from 1 of 3 voters" {
		t.Fatalf("role change reason %q", reason)
	}
}

// TestAppendConsistencyCheck: a follower accepts a MsgApp only if its log
// has an entry at Index with LogTerm (§5.3), and otherwise says where the
// conflict starts so the leader can skip a term at a time.
func TestAppendConsistencyCheck(t *testing.T) {
	tests := []struct {
		logTerm, index, commit uint64
		want                   Message
		wantCommit             uint64
	}{
		{2, 3, 2, Message{Index: 3}, 2},
		{2, 3, 9, Message{Index: 3}, 3},
		{0, 0, 9, Message{}, 0}, // an empty prefix always matches; commits nothing
		{1, 1, 3, Message{Index: 1}, 1},
		{2, 4, 0, Message{Index: 4, Reject: true, ConflictIndex: 4}, 0},
		{3, 3, 0, Message{Index: 3, Reject: true, ConflictTerm: 2, ConflictIndex: 3}, 0},
		{2, 2, 0, Message{Index: 2, Reject: true, ConflictTerm: 1, ConflictIndex: 1}, 0},
	}
	for _, tc := range tests {
		r := newTestRaft(t, three, withLog(1, 1, 2), withHardState(HardState{Term: 3}))
		step(t, r, Message{Type: MsgApp, From: "n2", To: "n1", Term: 3, LogTerm: tc.logTerm, Index: tc.index, Commit: tc.commit})
		tc.want.Type, tc.want.From, tc.want.To, tc.want.Term = MsgAppResp, "n1", "n2", 3
		rd := drain(r)
		if len(rd.Messages) != 1 || !msgEqual(rd.Messages[0], tc.want) {
			t.Errorf("prev (%d, %d): sent %v, want %s", tc.index, tc.logTerm, rd.Messages, tc.want)
		}
		if r.commit != tc.wantCommit || r.leader != "n2" {
			t.Errorf("prev (%d, %d) commit %d: commit %d leader %q, want %d", tc.index, tc.logTerm, tc.commit, r.commit, r.leader, tc.wantCommit)
		}
		if rd.MustSync && r.commit != 0 {
			t.Errorf("a commit-only change asked for sync")
		}
	}
}

// TestSingleNodeElectsItself: a one-member cluster elects itself as soon as
// its timer fires, through pre-vote and vote.
func TestSingleNodeElectsItself(t *testing.T) {
	r := newTestRaft(t, []string{"n1"}, withPreVote, withCheckQuorum)
	tickUntil(t, r, func() bool { return r.role == RoleLeader })
	if r.term != 1 || r.vote != "n1" || r.leader != "n1" {
		t.Fatalf("term %d vote %q leader %q", r.term, r.vote, r.leader)
	}
	for range 50 {
		r.Tick()
	}
	if r.role != RoleLeader {
		t.Fatalf("single node stepped down: %s", r.role)
	}
	if rd := drain(r); len(rd.Messages) != 0 {
		t.Fatalf("single node sent %v", rd.Messages)
	}
}

// TestElectionEvents: one election, seen by a watcher, in order.
func TestElectionEvents(t *testing.T) {
	r := newTestRaft(t, three, withPreVote, withHardState(HardState{Term: 1}))
	step(t, r, Message{Type: MsgApp, From: "n2", To: "n1", Term: 1})
	tickUntil(t, r, func() bool { return r.role == RolePreCandidate })
	step(t, r, Message{Type: MsgPreVoteResp, From: "n3", To: "n1", Term: 2})
	step(t, r, Message{Type: MsgVoteResp, From: "n3", To: "n1", Term: 2})
	step(t, r, Message{Type: MsgVote, From: "n2", To: "n1", Term: 2})
	step(t, r, Message{Type: MsgApp, From: "n3", To: "n1", Term: 3})
	want := []Event{
		{Kind: EventLeaderChanged, Term: 1, Role: RoleFollower, Leader: "n2"},
		{Kind: EventRoleChanged, Term: 1, Role: RolePreCandidate, Reason: "election timeout"},
		{Kind: EventLeaderChanged, Term: 1, Role: RolePreCandidate},
		{Kind: EventVoteRequested, Term: 2, Role: RolePreCandidate, PreVote: true},
		{Kind: EventTermChanged, Term: 2, Role: RoleCandidate},
		{Kind: EventRoleChanged, Term: 2, Role: RoleCandidate, Reason: "won pre-vote"},
		{Kind: EventVoteRequested, Term: 2, Role: RoleCandidate},
		{Kind: EventRoleChanged, Term: 2, Role: RoleLeader, Reason: "won election"},
		{Kind: EventLeaderChanged, Term: 2, Role: RoleLeader, Leader: "n1"},
		{Kind: EventVoteDenied, Term: 2, Role: RoleLeader, Peer: "n2", Reason: "already voted for n1 in term 2"},
		{Kind: EventTermChanged, Term: 3, Role: RoleFollower},
		{Kind: EventRoleChanged, Term: 3, Role: RoleFollower, Reason: "saw term 3 from n3"},
		{Kind: EventLeaderChanged, Term: 3, Role: RoleFollower, Leader: "n3"},
	}
	if got := drain(r).Events; !reflect.DeepEqual(got, want) {
		t.Fatalf("events:\n%v\nwant:\n%v", got, want)
	}
}

// TestReadyContract: Ready reports term and vote changes as MustSync, hands
// out copies, and Advance drops exactly what was handed out.
func TestReadyContract(t *testing.T) {
	r := newTestRaft(t, three)
	tickUntil(t, r, func() bool { return r.role == RoleCandidate })
	if !r.HasReady() {
		t.Fatal("no Ready after starting an election")
	}
	rd := r.Ready()
	if !rd.MustSync || rd.HardState != (HardState{Term: 1, Vote: "n1"}) || len(rd.Messages) != 2 {
		t.Fatalf("Ready %+v", rd)
	}
	rd.Messages[0].Term = 99 // the caller's copy
	rd.Events[0].Term = 99

	// Work that arrives before Advance waits for the next Ready.
	step(t, r, Message{Type: MsgVote, From: "n2", To: "n1", Term: 1})
	r.Advance()
	next := r.Ready()
	if next.MustSync || !next.HardState.IsEmpty() {
		t.Fatalf("unchanged hard state handed out again: %+v", next)
	}
	if len(next.Messages) != 1 || next.Messages[0].To != "n2" || next.Messages[0].Term != 1 {
		t.Fatalf("second Ready messages %v", next.Messages)
	}
	r.Advance()
	if r.HasReady() {
		t.Fatalf("Ready left after Advance: %+v", r.Ready())
	}
	r.Advance() // without a Ready: nothing happens
	if r.HasReady() {
		t.Fatal("a lone Advance made work")
	}
}

// TestStatusIsACopy: changing a Status changes nothing in the core.
func TestStatusIsACopy(t *testing.T) {
	r := newTestRaft(t, []string{"n1", "n2", "n3", "n4", "n5"})
	tickUntil(t, r, func() bool { return r.role == RoleCandidate })
	step(t, r, Message{Type: MsgVoteResp, From: "n2", To: "n1", Term: 1, Reject: true})
	st := r.Status()
	if !slices.Equal(st.VotesGranted, []string{"n1"}) || !slices.Equal(st.VotesRejected, []string{"n2"}) {
		t.Fatalf("tally %v / %v", st.VotesGranted, st.VotesRejected)
	}
	st.VotesGranted[0] = "x"
	if r.Status().VotesGranted[0] != "n1" {
		t.Fatal("Status shares its tally")
	}

	makeLeader(t, r)
	st = r.Status()
	st.Progress["n2"] = Progress{Match: 7}
	if r.Status().Progress["n2"].Match != 0 {
		t.Fatal("Status shares its progress")
	}
	if st := r.Status(); st.VotesGranted != nil || st.Leader != "n1" || st.ElectionTicks != 10 || st.HeartbeatTicks != 1 {
		t.Fatalf("leader status %+v", st)
	}
}

// TestStepRejectsBadMessages: what no correct peer sends is refused with a
// sentinel error and changes nothing.
func TestStepRejectsBadMessages(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want error
	}{
		{"wrong recipient", Message{Type: MsgApp, From: "n2", To: "n3", Term: 1}, ErrWrongRecipient},
		{"no recipient", Message{Type: MsgApp, From: "n2", Term: 1}, ErrWrongRecipient},
		{"no sender", Message{Type: MsgApp, To: "n1", Term: 1}, ErrInvalidMessage},
		{"transfer mark on a pre-vote", Message{Type: MsgPreVote, From: "n2", To: "n1", Term: 5, Transfer: true}, ErrInvalidMessage},
		{"from itself", Message{Type: MsgApp, From: "n1", To: "n1", Term: 1}, ErrInvalidMessage},
		{"type 0", Message{From: "n2", To: "n1", Term: 1}, ErrInvalidMessage},
		{"type 200", Message{Type: 200, From: "n2", To: "n1", Term: 1}, ErrInvalidMessage},
		{"term 0", Message{Type: MsgVote, From: "n2", To: "n1"}, ErrInvalidMessage},
		{"granted pre-vote in term 0", Message{Type: MsgPreVoteResp, From: "n2", To: "n1"}, ErrInvalidMessage},
		{"index without term", Message{Type: MsgVote, From: "n2", To: "n1", Term: 5, Index: 3}, ErrInvalidMessage},
		{"term without index", Message{Type: MsgApp, From: "n2", To: "n1", Term: 5, LogTerm: 3}, ErrInvalidMessage},
		{"candidate log from its own term", Message{Type: MsgPreVote, From: "n2", To: "n1", Term: 5, LogTerm: 5, Index: 1}, ErrInvalidMessage},
		{"leader log from the future", Message{Type: MsgApp, From: "n2", To: "n1", Term: 5, LogTerm: 6, Index: 1}, ErrInvalidMessage},
		{"entries on a vote", Message{Type: MsgVote, From: "n2", To: "n1", Term: 5, Entries: []Entry{{Term: 1, Index: 1}}}, ErrInvalidMessage},
		{"entry gap", Message{Type: MsgApp, From: "n2", To: "n1", Term: 5, Entries: []Entry{{Term: 1, Index: 2}}}, ErrInvalidMessage},
		{"entry term back", Message{Type: MsgApp, From: "n2", To: "n1", Term: 5, LogTerm: 3, Index: 1, Entries: []Entry{{Term: 2, Index: 2}}}, ErrInvalidMessage},
		{"entry term 0", Message{Type: MsgApp, From: "n2", To: "n1", Term: 5, Entries: []Entry{{Index: 1}}}, ErrInvalidMessage},
		{"entry type", Message{Type: MsgApp, From: "n2", To: "n1", Term: 5, Entries: []Entry{{Term: 5, Index: 1, Type: 9}}}, ErrInvalidMessage},
		{"entries overflow", Message{Type: MsgApp, From: "n2", To: "n1", Term: 5, LogTerm: 1, Index: math.MaxUint64, Entries: []Entry{{Term: 5}}}, ErrInvalidMessage},
		{"read round on a vote", Message{Type: MsgVote, From: "n2", To: "n1", Term: 5, ReadCtx: 1}, ErrInvalidMessage},
		{"prev contradicts a committed entry", Message{Type: MsgApp, From: "n2", To: "n1", Term: 5, LogTerm: 2, Index: 1}, ErrInvalidMessage},
		{"entry replaces a committed one", Message{Type: MsgApp, From: "n2", To: "n1", Term: 5, LogTerm: 1, Index: 1, Entries: []Entry{{Term: 3, Index: 2}}}, ErrInvalidMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Entries 1 and 2 (terms 1, 2) are committed.
			r := newTestRaft(t, three, withLog(1, 2, 2), withHardState(HardState{Term: 2, Commit: 2}))
			drain(r)
			before := r.Status()
			if err := r.Step(tc.m); !errors.Is(err, tc.want) {
				t.Fatalf("Step(%s) = %v, want %v", tc.m, err, tc.want)
			}
			if after := r.Status(); !statusEqual(before, after) || r.HasReady() {
				t.Fatalf("a refused message changed the core: %+v -> %+v", before, after)
			}
		})
	}
}

// statusEqual compares the scalar parts of two statuses.
func statusEqual(a, b Status) bool {
	return slices.Equal(a.VotesGranted, b.VotesGranted) && slices.Equal(a.VotesRejected, b.VotesRejected) &&
		a.ID == b.ID && a.Role == b.Role && a.Term == b.Term && a.Vote == b.Vote && a.Leader == b.Leader &&
		a.Commit == b.Commit && a.Applied == b.Applied && a.LastIndex == b.LastIndex && a.LastTerm == b.LastTerm &&
		a.ElectionElapsed == b.ElectionElapsed && a.RandomizedElectionTimeout == b.RandomizedElectionTimeout &&
		maps.Equal(a.Progress, b.Progress)
}

// TestTermCeiling: a node at the largest term cannot campaign past it, and
// keeps waiting instead of wrapping around to term 0.
func TestTermCeiling(t *testing.T) {
	for _, pre := range []bool{false, true} {
		r := newTestRaft(t, three, func(c *Config) { c.PreVote = pre }, withHardState(HardState{Term: math.MaxUint64}))
		for range 100 {
			r.Tick()
		}
		if r.term != math.MaxUint64 || r.role != RoleFollower {
			t.Fatalf("pre=%v: %s term %d", pre, r.role, r.term)
		}
	}
}

func TestStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{RoleFollower.String(), "follower"},
		{RolePreCandidate.String(), "precandidate"},
		{RoleCandidate.String(), "candidate"},
		{RoleLeader.String(), "leader"},
		{Role(9).String(), "Role(9)"},
		{MsgPreVote.String(), "MsgPreVote"},
		{MsgAppResp.String(), "MsgAppResp"},
		{MsgType(0).String(), "MsgType(0)"},
		{EventVoteDenied.String(), "vote-denied"},
		{EventKind(0).String(), "EventKind(0)"},
		{Message{Type: MsgVoteResp, From: "n1", To: "n2", Term: 3, Reject: true, Reason: "r"}.String(), `MsgVoteResp n1->n2 term=3 logterm=0 index=0 reject reason="r"`},
		{Event{Kind: EventVoteGranted, Term: 4, Role: RoleFollower, Peer: "n2", PreVote: true}.String(), "vote-granted term=4 role=follower peer=n2 prevote"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
