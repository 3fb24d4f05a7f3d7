package raft

import (
	"errors"
	"slices"
	"testing"
)

// ReadIndex tests (Raft thesis §6.4): a read is answered only once the
// leader has committed in its term and a quorum has answered a heartbeat
// sent at or after the request.

// readLeader returns n1 leading term 2 of three with its no-op committed
// (n2 stored it) and everything drained.
func readLeader(t *testing.T) *Raft {
	t.Helper()
	r := newLeader(t, three)
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 1})
	drain(r)
	if r.commit != 1 {
		t.Fatalf("no-op not committed: commit %d", r.commit)
	}
	return r
}

// readRounds returns the read rounds in ms, one per message.
func readRounds(ms []Message) []uint64 {
	var rounds []uint64
	for _, m := range ms {
		if m.ReadCtx != 0 {
			rounds = append(rounds, m.ReadCtx)
		}
	}
	return rounds
}

// TestReadIndexNeedsQuorumRound: the read state comes only after a quorum
// answers the read round; an answer to an earlier heartbeat does not
// count.
func TestReadIndexNeedsQuorumRound(t *testing.T) {
	r := readLeader(t)
	if err := r.ReadIndex(7); err != nil {
		t.Fatal(err)
	}
	rd := drain(r)
	if len(rd.ReadStates) != 0 {
		t.Fatalf("read answered before any heartbeat round: %v", rd.ReadStates)
	}
	if got := readRounds(rd.Messages); !slices.Equal(got, []uint64{1, 1}) {
		t.Fatalf("read rounds sent %v, want round 1 to n2 and n3", got)
	}
	for _, m := range rd.Messages {
		if m.Type != MsgApp || len(m.Entries) != 0 || m.Commit > r.progress[m.To].match {
			t.Fatalf("read round message %s is not a heartbeat", m)
		}
	}
	// An answer from before the round, and a refusal without the round.
	step(t, r, Message{Type: MsgAppResp, From: "n3", To: "n1", Term: 2, Index: 0})
	if r.HasReady() && len(r.Ready().ReadStates) != 0 {
		t.Fatal("read answered by a heartbeat that predates it")
	}
	drain(r)
	step(t, r, Message{Type: MsgAppResp, From: "n3", To: "n1", Term: 2, Index: 0, ReadCtx: 1})
	if rd := drain(r); !slices.Equal(rd.ReadStates, []ReadState{{Index: 1, Ctx: 7}}) {
		t.Fatalf("after a quorum answered: read states %v", rd.ReadStates)
	}
	// The second answer changes nothing.
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 1, ReadCtx: 1})
	if rd := drain(r); len(rd.ReadStates) != 0 {
		t.Fatalf("answered twice: %v", rd.ReadStates)
	}
}

// TestReadIndexWaitsForOwnCommit: a new leader may not know the latest
// commit index until its no-op commits (thesis §6.4 step 1); reads wait
// for it, then take the no-op's index.
func TestReadIndexWaitsForOwnCommit(t *testing.T) {
	r := newTestRaft(t, three, withLog(1, 1), withHardState(HardState{Term: 1, Commit: 1}))
	makeLeader(t, r) // the no-op is at 3, uncommitted
	if err := r.ReadIndex(5); err != nil {
		t.Fatal(err)
	}
	if rd := drain(r); len(readRounds(rd.Messages)) != 0 || len(rd.ReadStates) != 0 {
		t.Fatalf("read went ahead before the no-op committed: %+v", rd)
	}
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 3})
	rd := drain(r)
	if r.commit != 3 || !slices.Equal(readRounds(rd.Messages), []uint64{1, 1}) {
		t.Fatalf("commit %d, rounds %v", r.commit, readRounds(rd.Messages))
	}
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 3, ReadCtx: 1})
	if rd := drain(r); !slices.Equal(rd.ReadStates, []ReadState{{Index: 3, Ctx: 5}}) {
		t.Fatalf("read states %v, want index 3", rd.ReadStates)
	}
}

// TestReadIndexBatches: reads requested between two rounds share one: one
// heartbeat per follower and one quorum, however many reads. A read made
// after a round went out waits for the next, which goes out once that one
// is confirmed: one round is out at a time.
func TestReadIndexBatches(t *testing.T) {
	r := readLeader(t)
	for ctx := range uint64(100) {
		if err := r.ReadIndex(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rd := drain(r)
	if got := readRounds(rd.Messages); !slices.Equal(got, []uint64{1, 1}) || len(rd.Messages) != 2 {
		t.Fatalf("100 reads sent %v, want one round of 2 heartbeats", rd.Messages)
	}
	if err := r.ReadIndex(100); err != nil {
		t.Fatal(err)
	}
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 1, ReadCtx: 1})
	rd = drain(r)
	if len(rd.ReadStates) != 100 {
		t.Fatalf("%d read states, want 100", len(rd.ReadStates))
	}
	for i, rs := range rd.ReadStates {
		if rs != (ReadState{Index: 1, Ctx: uint64(i)}) {
			t.Fatalf("read state %d is %+v", i, rs)
		}
	}
	if got := readRounds(rd.Messages); !slices.Equal(got, []uint64{2, 2}) {
		t.Fatalf("the late read's round: %v", got)
	}

	// While round 2 is out, another read waits: no round goes out for it,
	// and a periodic heartbeat asks round 2 again (its heartbeats or the
	// answers may have been lost).
	r.ReadIndex(101)
	if r.HasReady() {
		t.Fatalf("a second round while one is out: %+v", r.Ready())
	}
	r.Tick()
	if got := readRounds(drain(r).Messages); !slices.Equal(got, []uint64{2, 2}) {
		t.Fatalf("heartbeat with round 2 out sent rounds %v", got)
	}
	step(t, r, Message{Type: MsgAppResp, From: "n3", To: "n1", Term: 2, Index: 0, ReadCtx: 2})
	rd = drain(r)
	if !slices.Equal(rd.ReadStates, []ReadState{{Index: 1, Ctx: 100}}) || !slices.Equal(readRounds(rd.Messages), []uint64{3, 3}) {
		t.Fatalf("round 2 answered %v, then sent rounds %v", rd.ReadStates, readRounds(rd.Messages))
	}
	// The periodic heartbeat carries a due round too, once.
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 1, ReadCtx: 3})
	r.ReadIndex(102)
	r.Tick()
	rd = drain(r)
	if !slices.Equal(rd.ReadStates, []ReadState{{Index: 1, Ctx: 101}}) || !slices.Equal(readRounds(rd.Messages), []uint64{4, 4}) {
		t.Fatalf("round 3 answered %v; heartbeat with a due round sent rounds %v", rd.ReadStates, readRounds(rd.Messages))
	}
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 1, ReadCtx: 4})
	if rd := drain(r); !slices.Equal(rd.ReadStates, []ReadState{{Index: 1, Ctx: 102}}) || len(readRounds(rd.Messages)) != 0 {
		t.Fatalf("round 4 answered %v, sent rounds %v", rd.ReadStates, readRounds(rd.Messages))
	}
}

// TestReadIndexDroppedOnStepDown: a leader that loses its role reports
// every read it had not answered, whether waiting for its round or for its
// first commit.
func TestReadIndexDroppedOnStepDown(t *testing.T) {
	r := newTestRaft(t, three, withLog(1), withHardState(HardState{Term: 1}))
	makeLeader(t, r)
	r.ReadIndex(1) // waits for the no-op
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 2})
	r.ReadIndex(2) // waits for round 1, with 1
	drain(r)
	r.ReadIndex(3) // waits for round 2
	step(t, r, Message{Type: MsgApp, From: "n3", To: "n1", Term: 3, Index: 2, LogTerm: 2})
	rd := drain(r)
	if !slices.Equal(rd.DroppedReads, []uint64{1, 2, 3}) || len(rd.ReadStates) != 0 {
		t.Fatalf("dropped %v, answered %v; want 1, 2, 3 dropped", rd.DroppedReads, rd.ReadStates)
	}
	if err := r.ReadIndex(4); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("ReadIndex on a follower: %v", err)
	}
	if rd := drain(r); len(rd.DroppedReads) != 0 {
		t.Fatalf("dropped again: %v", rd.DroppedReads)
	}
}

// TestReadIndexPartitionedLeader: a leader cut off from the others never
// completes a read, whose round no quorum can answer; when check-quorum
// makes it step down, the read is reported dropped. The majority's new
// leader answers reads, at an index that covers every committed write.
func TestReadIndexPartitionedLeader(t *testing.T) {
	s := newSim(t, 3, 41, nil)
	s.one("before", 3, false)
	old := s.checkOneLeader(s.ids)
	s.isolate(old)
	if err := s.readIndex(old, 1); err != nil {
		s.fatalf("old leader refused the read: %v", err)
	}

	rest := s.others(old)
	l := s.checkOneLeader(rest)
	s.one("after", 2, true)
	if err := s.readIndex(l, 2); err != nil {
		s.fatalf("new leader refused the read: %v", err)
	}
	if !s.runUntil(simElection, func() bool { _, ok := s.readDone(l, 2); return ok }) {
		s.fatalf("new leader did not answer the read")
	}

	s.runUntil(3*simElection, func() bool { return s.nodes[old].r.role != RoleLeader })
	if _, ok := s.readDone(old, 1); ok {
		s.fatalf("cut-off leader answered a read")
	}
	if !slices.Equal(s.nodes[old].dropped, []uint64{1}) {
		s.fatalf("cut-off leader dropped %v, want [1]", s.nodes[old].dropped)
	}
}
