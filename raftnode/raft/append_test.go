package raft

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// Unit tests of log replication on one core (paper §5.3, §5.4, Figure 2).

// entriesOf builds entries of the given terms from index first on.
func entriesOf(first uint64, terms ...uint64) []Entry {
	var es []Entry
	for i, t := range terms {
		es = append(es, Entry{Term: t, Index: first + uint64(i)})
	}
	return es
}

// logTerms returns the terms of r's whole log.
func logTerms(r *Raft) []uint64 {
	return terms(r.LogTail(1 << 20))
}

// TestFollowerAppend: a follower appends what it lacks after a matching
// prefix, replaces a conflicting suffix from the first conflict only, so
// a late MsgApp never removes newer entries, commits no further than the
// message vouches for, and refuses a mismatch with hints (§5.3, Figure 2).
func TestFollowerAppend(t *testing.T) {
	tests := []struct {
		name                  string
		index, logTerm        uint64
		entries               []Entry
		commit                uint64
		wantLog               []uint64
		wantPersist           []uint64 // terms of Ready.Entries
		wantResp              Message
		wantCommit            uint64
		wantPersistFromIndex  uint64
		wantConflictTermIndex [2]uint64
	}{
		{name: "heartbeat", index: 4, logTerm: 2, commit: 3,
			wantLog: []uint64{1, 1, 2, 2}, wantResp: Message{Index: 4}, wantCommit: 3},
		{name: "new entries", index: 4, logTerm: 2, entries: entriesOf(5, 3, 3), commit: 9,
			wantLog: []uint64{1, 1, 2, 2, 3, 3}, wantPersist: []uint64{3, 3}, wantPersistFromIndex: 5,
			wantResp: Message{Index: 6}, wantCommit: 6},
		{name: "all present", index: 2, logTerm: 1, entries: entriesOf(3, 2, 2), commit: 1,
			wantLog: []uint64{1, 1, 2, 2}, wantResp: Message{Index: 4}, wantCommit: 1},
		{name: "late and short: keeps the newer suffix", index: 1, logTerm: 1, entries: entriesOf(2, 1), commit: 9,
			wantLog: []uint64{1, 1, 2, 2}, wantResp: Message{Index: 2}, wantCommit: 2},
		{name: "conflict in the middle", index: 2, logTerm: 1, entries: entriesOf(3, 2, 3, 3), commit: 3,
			wantLog: []uint64{1, 1, 2, 3, 3}, wantPersist: []uint64{3, 3}, wantPersistFromIndex: 4,
			wantResp: Message{Index: 5}, wantCommit: 3},
		{name: "conflict at the first entry", index: 2, logTerm: 1, entries: entriesOf(3, 3), commit: 0,
			wantLog: []uint64{1, 1, 3}, wantPersist: []uint64{3}, wantPersistFromIndex: 3,
			wantResp: Message{Index: 3}},
		{name: "prev beyond the log", index: 6, logTerm: 3,
			wantLog: []uint64{1, 1, 2, 2}, wantResp: Message{Index: 6, Reject: true, ConflictIndex: 5}},
		{name: "prev term differs", index: 4, logTerm: 3, entries: entriesOf(5, 3),
			wantLog: []uint64{1, 1, 2, 2}, wantResp: Message{Index: 4, Reject: true, ConflictTerm: 2, ConflictIndex: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRaft(t, three, withLog(1, 1, 2, 2), withHardState(HardState{Term: 3}))
			step(t, r, Message{Type: MsgApp, From: "n2", To: "n1", Term: 3, Index: tc.index, LogTerm: tc.logTerm, Entries: tc.entries, Commit: tc.commit})
			if got := logTerms(r); !slices.Equal(got, tc.wantLog) {
				t.Errorf("log %v, want %v", got, tc.wantLog)
			}
			rd := drain(r)
			if got := terms(rd.Entries); !slices.Equal(got, tc.wantPersist) || (len(got) > 0 && rd.Entries[0].Index != tc.wantPersistFromIndex) {
				t.Errorf("Ready.Entries %v, want terms %v from %d", rd.Entries, tc.wantPersist, tc.wantPersistFromIndex)
			}
			if rd.MustSync != (len(tc.wantPersist) > 0) {
				t.Errorf("MustSync %v with entries %v", rd.MustSync, rd.Entries)
			}
			want := tc.wantResp
			want.Type, want.From, want.To, want.Term = MsgAppResp, "n1", "n2", 3
			if len(rd.Messages) != 1 || !msgEqual(rd.Messages[0], want) {
				t.Errorf("answered %v, want %s", rd.Messages, want)
			}
			if r.commit != tc.wantCommit {
				t.Errorf("commit %d, want %d", r.commit, tc.wantCommit)
			}
			if got := logTerms(r); !slices.Equal(got, tc.wantLog) {
				t.Errorf("after Advance, log %v, want %v", got, tc.wantLog)
			}
		})
	}
}

// TestFollowerAppliesCommitted: committed entries come out once each, in
// order, once they are durable here (after the Ready.Entries that held them
// are reported stable), and Status shows them applied.
func TestFollowerAppliesCommitted(t *testing.T) {
	r := newTestRaft(t, three, withHardState(HardState{Term: 2}))
	es := []Entry{{Term: 2, Index: 1, Type: EntryNoop}, {Term: 2, Index: 2, Data: []byte("x")}, {Term: 2, Index: 3, Data: []byte("y")}}
	step(t, r, Message{Type: MsgApp, From: "n2", To: "n1", Term: 2, Entries: es, Commit: 2})
	rd := r.Ready()
	if !slices.EqualFunc(rd.Entries, es, entryEqual) || len(rd.CommittedEntries) != 0 || rd.HardState.Commit != 2 {
		t.Fatalf("Entries %v Committed %v hard state %+v: committed entries before they are durable", rd.Entries, rd.CommittedEntries, rd.HardState)
	}
	r.Advance()
	if r.HasReady() {
		t.Fatalf("work before the entries are durable: %+v", r.Ready())
	}
	persistReady(r, rd)
	rd = drain(r)
	if len(rd.Entries) != 0 || !slices.EqualFunc(rd.CommittedEntries, es[:2], entryEqual) {
		t.Fatalf("Entries %v Committed %v", rd.Entries, rd.CommittedEntries)
	}
	if st := r.Status(); st.Applied != 2 || st.Commit != 2 || st.LastIndex != 3 {
		t.Fatalf("status %+v", st)
	}
	step(t, r, Message{Type: MsgApp, From: "n2", To: "n1", Term: 2, Index: 3, LogTerm: 2, Commit: 3})
	rd = drain(r)
	if len(rd.Entries) != 0 || !slices.EqualFunc(rd.CommittedEntries, es[2:], entryEqual) {
		t.Fatalf("second Ready: Entries %v Committed %v", rd.Entries, rd.CommittedEntries)
	}
	if r.HasReady() {
		t.Fatalf("work left: %+v", r.Ready())
	}
}

// TestReadyAdvanceWithConflict: entries that arrive between Ready and
// Advance wait for the next Ready; if they replace entries that Ready
// handed out, Advance does not mark the replacements durable.
func TestReadyAdvanceWithConflict(t *testing.T) {
	r := newTestRaft(t, three, withHardState(HardState{Term: 2}))
	storage := r.log.storage.(*MemoryLogStorage)
	step(t, r, Message{Type: MsgApp, From: "n2", To: "n1", Term: 2, Entries: entriesOf(1, 1, 1, 2)})
	rd := r.Ready()
	if got := terms(rd.Entries); !slices.Equal(got, []uint64{1, 1, 2}) {
		t.Fatalf("first Ready entries %v", got)
	}
	// A leader of term 3 replaces index 3 before the caller is done.
	step(t, r, Message{Type: MsgApp, From: "n3", To: "n1", Term: 3, Index: 2, LogTerm: 1, Entries: entriesOf(3, 3, 3)})
	if err := storage.Append(rd.Entries); err != nil {
		t.Fatal(err)
	}
	stableReady(r, rd) // about entry 3 of term 2, which is gone: ignored
	r.Advance()

	rd = r.Ready()
	if len(rd.Entries) != 2 || rd.Entries[0].Index != 3 || !slices.Equal(terms(rd.Entries), []uint64{3, 3}) {
		t.Fatalf("second Ready entries %v, want terms 3, 3 from index 3", rd.Entries)
	}
	persistReady(r, rd)
	r.Advance()
	if got := terms(mustEntries(t, storage)); !slices.Equal(got, []uint64{1, 1, 3, 3}) {
		t.Fatalf("durable log %v", got)
	}
	if len(r.log.unstable) != 0 || !slices.Equal(logTerms(r), []uint64{1, 1, 3, 3}) {
		t.Fatalf("core log %v, unstable %v", logTerms(r), r.log.unstable)
	}
}

func mustEntries(t *testing.T, s *MemoryLogStorage) []Entry {
	t.Helper()
	es, err := s.Entries(1, s.LastIndex()+1, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestLeaderCommitsOnlyOwnTerm is Figure 8 (§5.4.2): a leader does not
// commit an entry of an earlier term because a majority stores it; it
// commits it with the first entry of its own term that a majority stores.
func TestLeaderCommitsOnlyOwnTerm(t *testing.T) {
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			peers := []string{"n1", "n2", "n3", "n4", "n5"}[:n]
			// Entry 2 of term 2 is not committed; n1 leads term 3.
			r := newTestRaft(t, peers, withLog(1, 2), withHardState(HardState{Term: 2, Commit: 1}))
			makeLeader(t, r)
			if r.term != 3 || !slices.Equal(logTerms(r), []uint64{1, 2, 3}) {
				t.Fatalf("term %d log %v, want term 3 and log 1, 2, 3", r.term, logTerms(r))
			}
			// Every follower but one stores entry 2, not the no-op: a
			// majority has entry 2, which must not commit.
			for _, p := range peers[1 : n-1] {
				step(t, r, Message{Type: MsgAppResp, From: p, To: "n1", Term: 3, Index: 2})
			}
			if r.commit != 1 {
				t.Fatalf("committed %d, an entry of term 2, by counting replicas", r.commit)
			}
			// A majority stores the no-op: it commits, and entry 2 with it.
			for _, p := range peers[1 : n/2+1] {
				step(t, r, Message{Type: MsgAppResp, From: p, To: "n1", Term: 3, Index: 3})
			}
			if r.commit != 3 {
				t.Fatalf("commit %d after a majority stored the no-op, want 3", r.commit)
			}
			rd := drain(r)
			// Entry 1 was handed out when n1 took over.
			if got := terms(rd.CommittedEntries); !slices.Equal(got, []uint64{2, 3}) || rd.CommittedEntries[1].Type != EntryNoop {
				t.Fatalf("committed entries %v", rd.CommittedEntries)
			}
		})
	}
}

// TestLeaderCountsItselfOnceDurable: the leader's MsgApps may leave
// before its own copy of their entries is durable (doc.go, step 2), so it
// counts itself towards a commit only from the Advance that follows
// persisting them. In a three-node cluster, one follower's acknowledgement
// commits nothing while the leader's copy is not durable; a second one
// does (two durable copies of three); and once the leader's copy is
// durable, one follower suffices.
func TestLeaderCountsItselfOnceDurable(t *testing.T) {
	t.Run("one follower, then the leader's persist", func(t *testing.T) {
		r := replicatingLeader(t)
		index, _, err := r.Propose([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		rd := r.Ready() // the entry and its MsgApps: sent, not yet durable here
		if len(rd.Entries) != 1 || len(appsTo(rd.Messages, "n2")) == 0 {
			t.Fatalf("Ready %+v", rd)
		}
		step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: index})
		if r.commit >= index {
			t.Fatalf("committed %d on one follower's ack while the leader's copy is not durable", r.commit)
		}
		persistReady(r, rd)
		r.Advance()
		// The next Ready counts the leader's durable copy.
		rd = drain(r)
		if r.commit != index {
			t.Fatalf("commit %d after the leader's copy became durable, want %d", r.commit, index)
		}
		if len(rd.CommittedEntries) != 1 || string(rd.CommittedEntries[0].Data) != "x" {
			t.Fatalf("committed entries %v", rd.CommittedEntries)
		}
		// At the next tick n2 learns the new commit; n3, which has not
		// acknowledged the entry, may learn only the older one it stores.
		if len(rd.Messages) != 0 {
			t.Fatalf("sent %v before the tick", rd.Messages)
		}
		r.Tick()
		rd = drain(r)
		if ms := appsTo(rd.Messages, "n2"); len(ms) != 1 || ms[0].Commit != index {
			t.Fatalf("commit notice to n2: %v", ms)
		}
		for _, m := range appsTo(rd.Messages, "n3") {
			if m.Commit >= index {
				t.Fatalf("commit notice to n3: %v", m)
			}
		}
	})
	t.Run("two followers", func(t *testing.T) {
		r := replicatingLeader(t)
		index, _, err := r.Propose([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		rd := r.Ready()
		step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: index})
		step(t, r, Message{Type: MsgAppResp, From: "n3", To: "n1", Term: 2, Index: index})
		if r.commit != index {
			t.Fatalf("commit %d with two followers' acks, want %d", r.commit, index)
		}
		persistReady(r, rd)
		r.Advance()
		if rd := drain(r); len(rd.CommittedEntries) != 1 || string(rd.CommittedEntries[0].Data) != "x" {
			t.Fatalf("committed entries %v", rd.CommittedEntries)
		}
	})
	t.Run("durable leader, one follower", func(t *testing.T) {
		r := replicatingLeader(t)
		index, _, err := r.Propose([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		drain(r)
		step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: index})
		if r.commit != index {
			t.Fatalf("commit %d with the leader's durable copy and one ack, want %d", r.commit, index)
		}
	})
}

// replicatingLeader returns n1 leading term 2 of three, with its no-op
// committed and both followers in replicate state.
func replicatingLeader(t *testing.T) *Raft {
	t.Helper()
	r := newLeader(t, three)
	for _, id := range []string{"n2", "n3"} {
		step(t, r, Message{Type: MsgAppResp, From: id, To: "n1", Term: 2, Index: 1})
	}
	drain(r)
	if r.commit != 1 || r.progress["n2"].state != stateReplicate || r.progress["n3"].state != stateReplicate {
		t.Fatalf("commit %d, progress %+v %+v", r.commit, r.progress["n2"], r.progress["n3"])
	}
	return r
}

// newLeader returns n1 leading term 2 of peers, its no-op at index 1
// durable and answered by nobody yet.
func newLeader(t *testing.T, peers []string, opts ...func(*Config)) *Raft {
	t.Helper()
	r := newTestRaft(t, peers, append(opts, withHardState(HardState{Term: 1}))...)
	makeLeader(t, r)
	return r
}

// appsTo returns the MsgApps in ms addressed to id.
func appsTo(ms []Message, id string) []Message {
	var out []Message
	for _, m := range ms {
		if m.Type == MsgApp && m.To == id {
			out = append(out, m)
		}
	}
	return out
}

// TestPropose: only a leader takes proposals; it appends at the next index
// in its term, persists before sending, and replicates.
func TestPropose(t *testing.T) {
	r := newTestRaft(t, three, withHardState(HardState{Term: 1}))
	if _, _, err := r.Propose([]byte("x")); !errors.Is(err, ErrNotLeader) || !strings.Contains(err.Error(), "no leader known") {
		t.Fatalf("follower without leader: %v", err)
	}
	step(t, r, Message{Type: MsgApp, From: "n3", To: "n1", Term: 1})
	drain(r)
	if _, _, err := r.Propose([]byte("x")); !errors.Is(err, ErrNotLeader) || !strings.Contains(err.Error(), "leader is n3") {
		t.Fatalf("follower of n3: %v", err)
	}
	if r.HasReady() {
		t.Fatal("a refused proposal made work")
	}

	r = newLeader(t, three)
	index, term, err := r.Propose([]byte("x"))
	if err != nil || index != 2 || term != 2 {
		t.Fatalf("Propose = %d, %d, %v; want 2, 2", index, term, err)
	}
	rd := drain(r)
	want := []Entry{{Term: 2, Index: 2, Data: []byte("x")}}
	if !slices.EqualFunc(rd.Entries, want, entryEqual) || !rd.MustSync {
		t.Fatalf("Ready entries %v sync %v, want %v synced", rd.Entries, rd.MustSync, want)
	}
	// Both followers are probing and have the no-op out: nothing more goes
	// until they answer.
	if len(rd.Messages) != 0 {
		t.Fatalf("sent %v while probes are out", rd.Messages)
	}
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 1})
	msgs := drain(r).Messages
	if apps := appsTo(msgs, "n2"); len(apps) != 1 || apps[0].Index != 1 || !slices.EqualFunc(apps[0].Entries, want, entryEqual) {
		t.Fatalf("after n2 took the no-op, sent %v", msgs)
	}
}

// TestSingleNodeCommitsOnPersist: a one-member cluster commits its no-op
// and each proposal as soon as the caller has persisted it: the Ready
// after the one that hands it out applies it. Reads need no round.
func TestSingleNodeCommitsOnPersist(t *testing.T) {
	r := newTestRaft(t, []string{"n1"})
	tickUntil(t, r, func() bool { return r.role == RoleLeader })
	rd := drain(r)
	// The no-op is durable after the Ready, so the next one commits it.
	if len(rd.Entries) != 1 || len(rd.CommittedEntries) != 0 || r.commit != 0 || !r.HasReady() {
		t.Fatalf("election Ready: entries %v committed %v, commit %d after Advance", rd.Entries, rd.CommittedEntries, r.commit)
	}
	if _, _, err := r.Propose([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := r.ReadIndex(9); err != nil {
		t.Fatal(err)
	}
	rd = drain(r)
	if len(rd.Entries) != 1 || len(rd.CommittedEntries) != 1 || rd.CommittedEntries[0].Type != EntryNoop || rd.HardState.Commit != 1 {
		t.Fatalf("proposal Ready: %+v", rd)
	}
	// The read was asked before "a" was durable: the no-op bounds it.
	if want := []ReadState{{Index: 1, Ctx: 9}}; !slices.Equal(rd.ReadStates, want) {
		t.Fatalf("read states %v, want %v", rd.ReadStates, want)
	}
	rd = drain(r)
	if len(rd.Entries) != 0 || len(rd.CommittedEntries) != 1 || string(rd.CommittedEntries[0].Data) != "a" || rd.HardState.Commit != 2 {
		t.Fatalf("Ready after persisting the proposal: %+v", rd)
	}
	if r.HasReady() {
		t.Fatalf("work left: %+v", r.Ready())
	}
}

// TestProbeThenReplicate: a leader probes a follower with one MsgApp at a
// time, resumed by a heartbeat answer; once the follower accepts, it
// streams up to MaxInflight MsgApps of at most MaxMsgBytes each, and an
// answer frees a slot per acknowledged message.
func TestProbeThenReplicate(t *testing.T) {
	r := newLeader(t, three, func(c *Config) { c.MaxInflight, c.MaxMsgBytes = 2, 2*EntryOverhead+2 })
	for i := range 10 {
		r.Propose([]byte{byte('a' + i)})
	}
	if msgs := appsTo(drain(r).Messages, "n2"); len(msgs) != 0 {
		t.Fatalf("probing n2 with a probe out, sent %v", msgs)
	}
	// A heartbeat answer says n2 is alive: the probe goes again, with as
	// many entries as fit: the no-op and one more.
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 0})
	msgs := appsTo(drain(r).Messages, "n2")
	if len(msgs) != 1 || msgs[0].Index != 0 || len(msgs[0].Entries) != 2 {
		t.Fatalf("resumed probe %v, want one MsgApp of entries 1 and 2", msgs)
	}
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 2})
	msgs = appsTo(drain(r).Messages, "n2")
	if len(msgs) != 2 || msgs[0].Index != 2 || len(msgs[0].Entries) != 2 || msgs[1].Index != 4 || len(msgs[1].Entries) != 2 {
		t.Fatalf("streaming sent %v, want 2 MsgApps of 2 entries from index 3", msgs)
	}
	if p := r.Status().Progress["n2"]; p.State != "replicate" || p.Inflight != 2 || p.Next != 7 || p.Match != 2 {
		t.Fatalf("progress %+v", p)
	}
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 4})
	msgs = appsTo(drain(r).Messages, "n2")
	if len(msgs) != 1 || msgs[0].Index != 6 {
		t.Fatalf("after one ack sent %v, want the next MsgApp from index 7", msgs)
	}
	if p := r.Status().Progress["n2"]; p.Inflight != 2 || p.Next != 9 || p.Match != 4 {
		t.Fatalf("progress %+v", p)
	}
}

// TestLeaderBacksOff: on a refusal the leader uses the follower's hints to
// skip a whole term at once (§5.3, the optimization at its end), probes
// from there, and ignores refusals of older probes.
func TestLeaderBacksOff(t *testing.T) {
	// The leader's log: terms 1 1 2 2 4 4 then its no-op, 5 at index 7.
	tests := []struct {
		name                        string
		conflictTerm, conflictIndex uint64
		wantNext                    uint64
	}{
		{"follower log shorter", 0, 3, 3},
		{"term the leader lacks", 3, 3, 3},
		{"term the leader has", 2, 3, 5},
		{"never past the refused index", 4, 5, 6},
		{"hint behind the match", 0, 1, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRaft(t, three, withLog(1, 1, 2, 2, 4, 4))
			makeLeader(t, r)
			p := r.progress["n2"]
			p.match = 1 // known from an earlier answer
			step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 5, Index: 6, Reject: true, ConflictTerm: tc.conflictTerm, ConflictIndex: tc.conflictIndex})
			if p.next != tc.wantNext || p.state != stateProbe {
				t.Fatalf("next %d state %s, want %d probe", p.next, p.state, tc.wantNext)
			}
			apps := appsTo(drain(r).Messages, "n2")
			if len(apps) != 1 || apps[0].Index != tc.wantNext-1 || apps[0].Entries[0].Index != tc.wantNext {
				t.Fatalf("sent %v, want a probe at %d", apps, tc.wantNext-1)
			}
			// A refusal of an older probe changes nothing.
			step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 5, Index: 6, Reject: true, ConflictIndex: 2})
			if p.next != tc.wantNext || len(appsTo(drain(r).Messages, "n2")) != 0 {
				t.Fatalf("late refusal moved next to %d", p.next)
			}
		})
	}
}

// TestReplicateRecoversLostMsgApp: when the last MsgApps to a follower in
// replicate state are lost and nothing else is proposed, the next periodic
// heartbeat checks the follower's log at Next-1, is refused, and the
// leader probes and resends.
func TestReplicateRecoversLostMsgApp(t *testing.T) {
	r := newLeader(t, three)
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 1})
	drain(r)
	r.Propose([]byte("lost"))
	if apps := appsTo(drain(r).Messages, "n2"); len(apps) != 1 || r.progress["n2"].next != 3 {
		t.Fatalf("streamed %v", apps)
	}
	// The MsgApp is lost. Heartbeats check n2's log at Match until one
	// finds that n2 acknowledged nothing since the last.
	var probe Message
	for range 3 {
		r.Tick()
		for _, m := range appsTo(drain(r).Messages, "n2") {
			if m.Index == 2 {
				probe = m
			}
		}
	}
	if probe.Type != MsgApp || probe.LogTerm != 2 || len(probe.Entries) != 0 || probe.Commit != 1 {
		t.Fatalf("no heartbeat checked n2 at Next-1: %+v", probe)
	}
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 2, Reject: true, ConflictIndex: 2})
	apps := appsTo(drain(r).Messages, "n2")
	if len(apps) != 1 || apps[0].Index != 1 || string(apps[0].Entries[0].Data) != "lost" {
		t.Fatalf("after the refusal sent %v, want the lost entry again", apps)
	}
}

// TestCommitBoundedByMatch: heartbeats and commit notices never offer a
// follower a commit index beyond what it is known to store.
func TestCommitBoundedByMatch(t *testing.T) {
	r := newLeader(t, three)
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 1})
	r.Propose([]byte("a"))
	drain(r)
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 2})
	if r.commit != 2 {
		t.Fatalf("commit %d", r.commit)
	}
	if msgs := drain(r).Messages; len(msgs) != 0 {
		t.Fatalf("sent %v before the tick", msgs)
	}
	r.Tick()
	msgs := drain(r).Messages
	if n2 := appsTo(msgs, "n2"); len(n2) != 1 || n2[0].Commit != 2 || n2[0].Index != 2 {
		t.Fatalf("commit notice to n2 %v", n2)
	}
	for range 2 {
		for _, m := range msgs {
			if p := r.progress[m.To]; m.Commit > p.match {
				t.Fatalf("%s offers commit past match %d", m, p.match)
			}
		}
		r.Tick()
		msgs = drain(r).Messages
	}
}

// TestCommittedEntriesBounded: a restart hands out the committed entries
// after Applied, in Readys of at most MaxMsgBytes each, each entry once.
func TestCommittedEntriesBounded(t *testing.T) {
	storage := NewMemoryLogStorage()
	var es []Entry
	for i := range uint64(100) {
		es = append(es, Entry{Term: 1, Index: i + 1, Data: make([]byte, 84)})
	}
	if err := storage.Append(es); err != nil {
		t.Fatal(err)
	}
	r := newTestRaft(t, three, func(c *Config) {
		c.Log, c.HardState, c.Applied, c.MaxMsgBytes = storage, HardState{Term: 1, Commit: 90}, 40, 1000
	})
	next := uint64(41)
	for r.HasReady() {
		rd := drain(r)
		if len(rd.CommittedEntries) > 10 {
			t.Fatalf("%d entries of 100 bytes in one Ready, limit 1000 bytes", len(rd.CommittedEntries))
		}
		for _, e := range rd.CommittedEntries {
			if e.Index != next {
				t.Fatalf("applied %d, want %d", e.Index, next)
			}
			next++
		}
	}
	if next != 91 || r.Status().Applied != 90 {
		t.Fatalf("applied up to %d (status %d), want 90", next-1, r.Status().Applied)
	}
}

// TestElectionUsesUnstableLog: the up-to-date check (§5.4.1) counts
// entries not yet durable.
func TestElectionUsesUnstableLog(t *testing.T) {
	r := newTestRaft(t, three, withHardState(HardState{Term: 2}))
	step(t, r, Message{Type: MsgApp, From: "n2", To: "n1", Term: 2, Entries: entriesOf(1, 2, 2)})
	step(t, r, Message{Type: MsgVote, From: "n3", To: "n1", Term: 3, LogTerm: 2, Index: 1})
	rd := r.Ready()
	if m := rd.Messages[len(rd.Messages)-1]; m.Type != MsgVoteResp || !m.Reject {
		t.Fatalf("voted for a shorter log: %s", m)
	}
}

// TestLogTail: the last entries, durable or not, as copies.
func TestLogTail(t *testing.T) {
	r := newTestRaft(t, three, withLog(1, 1, 2))
	makeLeader(t, r) // appends and persists the no-op, term 3
	r.Propose([]byte("x"))
	for _, tc := range []struct {
		n    int
		want []uint64
	}{{0, nil}, {-1, nil}, {2, []uint64{3, 3}}, {4, []uint64{1, 2, 3, 3}}, {9, []uint64{1, 1, 2, 3, 3}}} {
		tail := r.LogTail(tc.n)
		if got := terms(tail); !slices.Equal(got, tc.want) {
			t.Errorf("LogTail(%d) = %v, want %v", tc.n, got, tc.want)
		}
		if len(tail) > 0 {
			tail[0].Term = 99
		}
	}
	if got := logTerms(r); !slices.Equal(got, []uint64{1, 1, 2, 3, 3}) {
		t.Fatalf("LogTail shares its slice: log now %v", got)
	}
	if got := newTestRaft(t, three).LogTail(5); got != nil {
		t.Fatalf("empty log tail %v", got)
	}
}

// TestRestartAppliedAheadOfCommit: entries the state machine applied were
// committed, even if the hard state's commit index was written lazily and
// lags; the core starts from there and hands out nothing again.
func TestRestartAppliedAheadOfCommit(t *testing.T) {
	r := newTestRaft(t, three, withLog(1, 1, 1), withHardState(HardState{Term: 1, Commit: 1}), func(c *Config) { c.Applied = 2 })
	if st := r.Status(); st.Commit != 2 || st.Applied != 2 {
		t.Fatalf("commit %d applied %d, want 2, 2", st.Commit, st.Applied)
	}
	rd := drain(r)
	if len(rd.CommittedEntries) != 0 || rd.HardState.Commit != 2 || rd.MustSync {
		t.Fatalf("Ready %+v, want only the raised commit, unsynced", rd)
	}
}

// TestProposeAtLastIndex: a leader whose log reached the last possible
// index drops proposals instead of wrapping around.
func TestProposeAtLastIndex(t *testing.T) {
	full := &windowStorage{first: math.MaxUint64, entries: entriesOf(math.MaxUint64, 1)}
	r := newTestRaft(t, three, withHardState(HardState{Term: 1}), func(c *Config) {
		c.Log, c.Applied = full, math.MaxUint64-1
	})
	makeLeader(t, r)
	if _, _, err := r.Propose([]byte("x")); !errors.Is(err, ErrProposalDropped) {
		t.Fatalf("Propose at the last index: %v", err)
	}
	if st := r.Status(); st.LastIndex != math.MaxUint64 || st.LastTerm != 1 {
		t.Fatalf("log changed: %+v", st)
	}
}

// TestLogTermRuns: the last entries' terms as runs, durable or not, each
// run starting where the term changes.
func TestLogTermRuns(t *testing.T) {
	r := newTestRaft(t, three, withLog(1, 1, 1, 2, 2, 4))
	makeLeader(t, r) // the no-op, term 5
	r.Propose([]byte("x"))
	r.Propose([]byte("y"))
	for _, tc := range []struct {
		n    int
		want []TermRun
	}{
		{0, nil},
		{-3, nil},
		{1, []TermRun{{9, 5}}},
		{3, []TermRun{{7, 5}}},
		{4, []TermRun{{6, 4}, {7, 5}}},
		{256, []TermRun{{1, 1}, {4, 2}, {6, 4}, {7, 5}}},
	} {
		if got := r.LogTermRuns(tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("LogTermRuns(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
	if got := newTestRaft(t, three).LogTermRuns(5); got != nil {
		t.Fatalf("empty log: %v", got)
	}
}
