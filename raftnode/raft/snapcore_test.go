package raft

import (
	"errors"
	"reflect"
	"testing"
)

// Unit tests of InstallSnapshot in one core (thesis §5.3): the leader's
// snapshot state and ReportSnapshot, the follower's three answers to a
// MsgSnap, the restore through Ready and StableTo, and compaction-aware
// heartbeats and refusals.

// snapLeader returns n1 leading term 2 over ten entries of term 1 and its
// no-op at 11, all durable, with its storage compacted: a snapshot at 8
// and the first index 9. Both followers are being probed.
func snapLeader(t *testing.T) (*Raft, *MemoryLogStorage) {
	t.Helper()
	storage := storageWith(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	r := newTestRaft(t, three, func(c *Config) {
		c.Log, c.HardState, c.Applied = storage, HardState{Term: 1, Commit: 10}, 10
	})
	makeLeader(t, r)
	if err := storage.Compact(8, 9); err != nil {
		t.Fatal(err)
	}
	if r.term != 2 || r.log.lastIndex() != 11 || r.log.firstIndex() != 9 {
		t.Fatalf("term %d, log [%d, %d]", r.term, r.log.firstIndex(), r.log.lastIndex())
	}
	return r, storage
}

// msgsOf returns the messages in ms of type typ to id.
func msgsOf(ms []Message, typ MsgType, id string) []Message {
	var out []Message
	for _, m := range ms {
		if m.Type == typ && m.To == id {
			out = append(out, m)
		}
	}
	return out
}

// TestSnapshotProgress: a follower whose log ends before the leader's
// first index gets a MsgSnap naming the newest snapshot, and its progress
// goes to snapshot state, where no MsgApp with entries goes to it. A
// failed send (ReportSnapshot false) probes again from Match once a
// heartbeat answer comes, which sends the snapshot again; a successful one
// probes from after the snapshot; the follower's answer for the snapshot
// index moves it to replicate, with or without the report.
func TestSnapshotProgress(t *testing.T) {
	for _, report := range []string{"none", "ok", "failed"} {
		t.Run(report, func(t *testing.T) {
			r, _ := snapLeader(t)
			// n2's log ends at 2: it refuses the probe.
			probe := r.progress["n2"].next - 1
			step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: probe, Reject: true, ConflictIndex: 3})
			rd := drain(r)
			snaps := msgsOf(rd.Messages, MsgSnap, "n2")
			if len(snaps) != 1 || !reflect.DeepEqual(snaps[0].Snapshot, SnapshotMeta{Index: 8, Term: 1}) || snaps[0].Term != 2 {
				t.Fatalf("messages %v, want one MsgSnap of 8/1 to n2", rd.Messages)
			}
			if p := r.Status().Progress["n2"]; p.State != "snapshot" || p.Match != 0 {
				t.Fatalf("progress %+v, want snapshot state", p)
			}
			// Paused: a proposal goes to n3 only.
			if _, _, err := r.Propose([]byte("x")); err != nil {
				t.Fatal(err)
			}
			rd = drain(r)
			if apps := appsTo(rd.Messages, "n2"); len(apps) > 0 || len(msgsOf(rd.Messages, MsgSnap, "n2")) > 0 {
				t.Fatalf("sent n2 %v in snapshot state", rd.Messages)
			}
			switch report {
			case "failed":
				r.ReportSnapshot("n2", false)
				if p := r.Status().Progress["n2"]; p.State != "probe" || p.Next != 1 {
					t.Fatalf("after a failed send: %+v, want probing from 1", p)
				}
				if rd := drain(r); len(rd.Messages) > 0 {
					t.Fatalf("a failed send retried at once: %v", rd.Messages)
				}
				// The next heartbeat answer retries: the snapshot again.
				step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 0})
				rd = drain(r)
				if s := msgsOf(rd.Messages, MsgSnap, "n2"); len(s) != 1 || s[0].Snapshot.Index != 8 {
					t.Fatalf("retry sent %v, want the snapshot", rd.Messages)
				}
			case "ok":
				r.ReportSnapshot("n2", true)
				if p := r.Status().Progress["n2"]; p.State != "probe" || p.Next != 9 {
					t.Fatalf("after a sent snapshot: %+v, want probing from 9", p)
				}
			}
			// n2 installed it and answers for its index.
			step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 8})
			if p := r.Status().Progress["n2"]; p.State != "replicate" || p.Match != 8 {
				t.Fatalf("after the answer for the snapshot: %+v, want replicating from 8", p)
			}
			rd = drain(r)
			apps := appsTo(rd.Messages, "n2")
			if len(apps) == 0 || apps[0].Index != 8 || apps[0].LogTerm != 1 || len(apps[0].Entries) == 0 || apps[0].Entries[0].Index != 9 {
				t.Fatalf("after the snapshot sent %v, want entries from 9", rd.Messages)
			}
		})
	}
}

// TestReportSnapshotIgnored: a report changes nothing on a follower, for
// an unknown peer, or for a peer not in snapshot state.
func TestReportSnapshotIgnored(t *testing.T) {
	r, _ := snapLeader(t)
	before := r.Status()
	r.ReportSnapshot("n2", true)
	r.ReportSnapshot("n9", false)
	r.ReportSnapshot("n1", true)
	if after := r.Status(); !statusEqual(before, after) {
		t.Fatalf("reports changed the leader: %+v -> %+v", before, after)
	}
	f := newTestRaft(t, three)
	before = f.Status()
	f.ReportSnapshot("n2", false)
	if after := f.Status(); !statusEqual(before, after) {
		t.Fatalf("a report changed a follower")
	}
}

// snapFollower returns n1 following n2 in term 2 over entries of the
// given terms, committed and applied up to commit.
func snapFollower(t *testing.T, commit uint64, terms ...uint64) (*Raft, *MemoryLogStorage) {
	t.Helper()
	storage := storageWith(terms...)
	r := newTestRaft(t, three, func(c *Config) {
		c.Log, c.HardState, c.Applied = storage, HardState{Term: 2, Commit: commit}, commit
	})
	drain(r)
	return r, storage
}

// TestSnapshotOlderThanCommit: a MsgSnap the commit index covers changes
// nothing; the answer acknowledges the commit index.
func TestSnapshotOlderThanCommit(t *testing.T) {
	r, _ := snapFollower(t, 5, 1, 1, 1, 1, 1, 2)
	step(t, r, Message{Type: MsgSnap, From: "n2", To: "n1", Term: 2, Snapshot: SnapshotMeta{Index: 3, Term: 1}})
	rd := drain(r)
	if !rd.Snapshot.IsEmpty() || len(rd.Entries) > 0 || len(rd.CommittedEntries) > 0 {
		t.Fatalf("an old snapshot handed out %+v", rd)
	}
	if len(rd.Messages) != 1 || rd.Messages[0].Type != MsgAppResp || rd.Messages[0].Reject || rd.Messages[0].Index != 5 {
		t.Fatalf("answered %v, want an acknowledgement of 5", rd.Messages)
	}
	if st := r.Status(); st.Commit != 5 || st.LastIndex != 6 || st.Applied != 5 || r.log.firstIndex() != 1 {
		t.Fatalf("status %+v", st)
	}
}

// TestSnapshotInLog: a MsgSnap whose last entry the log holds, with its
// term, beyond the commit index commits up to it and keeps the entries
// after it: nothing is installed, the entries are applied from the log.
func TestSnapshotInLog(t *testing.T) {
	r, _ := snapFollower(t, 2, 1, 1, 1, 2, 2, 2)
	step(t, r, Message{Type: MsgSnap, From: "n2", To: "n1", Term: 2, Snapshot: SnapshotMeta{Index: 4, Term: 2}})
	rd := drain(r)
	if !rd.Snapshot.IsEmpty() || len(rd.Entries) > 0 {
		t.Fatalf("a snapshot in the log replaced it: %+v", rd)
	}
	if got := rd.CommittedEntries; len(got) != 2 || got[0].Index != 3 || got[1].Index != 4 {
		t.Fatalf("applied %v, want 3 and 4", got)
	}
	if len(rd.Messages) != 1 || rd.Messages[0].Index != 4 || rd.Messages[0].Reject {
		t.Fatalf("answered %v, want an acknowledgement of 4", rd.Messages)
	}
	if st := r.Status(); st.Commit != 4 || st.LastIndex != 6 || st.LastTerm != 2 {
		t.Fatalf("status %+v, want commit 4 and the log to 6 kept", st)
	}
}

// TestSnapshotRestore: a MsgSnap whose entry the log lacks (here: holds
// with another term) replaces the log. Ready hands out the snapshot, must
// sync, and its mark names it; no committed entries and no storage reads
// until it is durable; applied jumps to the snapshot at Advance. Entries
// appended after it follow it, in the same Ready or a later one; StableTo
// of the snapshot's mark, then of the entries', makes them durable, and
// they are applied from the new log.
func TestSnapshotRestore(t *testing.T) {
	for _, sameReady := range []bool{true, false} {
		name := "entries-in-a-later-Ready"
		if sameReady {
			name = "entries-in-the-same-Ready"
		}
		t.Run(name, func(t *testing.T) {
			r, storage := snapFollower(t, 3, 1, 1, 1, 1, 1)
			snap := SnapshotMeta{Index: 10, Term: 2}
			step(t, r, Message{Type: MsgSnap, From: "n2", To: "n1", Term: 3, Snapshot: snap})
			app := Message{Type: MsgApp, From: "n2", To: "n1", Term: 3, Index: 10, LogTerm: 2, Commit: 12,
				Entries: []Entry{{Index: 11, Term: 3, Data: []byte("a")}, {Index: 12, Term: 3, Data: []byte("b")}}}
			if sameReady {
				step(t, r, app)
			}
			if st := r.Status(); st.Commit != 10 && !sameReady || st.LastIndex != 10 && !sameReady {
				t.Fatalf("after the MsgSnap: %+v", st)
			}
			if _, ok := r.log.term(5); ok {
				t.Fatal("the log still reads entry 5 the snapshot replaced")
			}
			rd := r.Ready()
			if !reflect.DeepEqual(rd.Snapshot, snap) || !rd.MustSync || len(rd.CommittedEntries) > 0 || rd.HardState.Term != 3 {
				t.Fatalf("Ready %+v, want the snapshot, synced, nothing to apply", rd)
			}
			wantMark := LogMark{Index: 10, Term: 2, Epoch: rd.Mark.Epoch}
			if sameReady {
				wantMark = LogMark{Index: 12, Term: 3, Epoch: rd.Mark.Epoch}
				if len(rd.Entries) != 2 || rd.Entries[0].Index != 11 {
					t.Fatalf("entries %v, want 11 and 12 after the snapshot", rd.Entries)
				}
			}
			if rd.Mark != wantMark {
				t.Fatalf("mark %+v, want %+v", rd.Mark, wantMark)
			}
			if acks := msgsOf(rd.Messages, MsgAppResp, "n2"); len(acks) == 0 || acks[0].Reject || acks[0].Index != 10 {
				t.Fatalf("answered %v, want an acknowledgement of the snapshot, 10", rd.Messages)
			}
			r.Advance()
			if st := r.Status(); st.Applied != 10 {
				t.Fatalf("applied %d after the Ready, want the snapshot's 10", st.Applied)
			}
			var later Ready
			if !sameReady {
				step(t, r, app)
				later = r.Ready()
				if !later.Snapshot.IsEmpty() || len(later.Entries) != 2 || later.Mark.Epoch != rd.Mark.Epoch || len(later.CommittedEntries) > 0 {
					t.Fatalf("later Ready %+v, want entries 11, 12 after the snapshot, nothing to apply", later)
				}
				r.Advance()
			}
			if r.HasReady() && len(r.Ready().CommittedEntries) > 0 {
				t.Fatal("committed entries handed out before the snapshot is durable")
			}
			r.Advance()
			// The caller installs the snapshot, then appends after it.
			storage.ApplySnapshot(rd.Snapshot)
			if err := storage.Append(rd.Entries); err != nil {
				t.Fatal(err)
			}
			if !r.StableTo(rd.Mark) {
				t.Fatalf("StableTo(%+v) of the snapshot's write refused", rd.Mark)
			}
			if !sameReady {
				if err := storage.Append(later.Entries); err != nil {
					t.Fatal(err)
				}
				if !r.StableTo(later.Mark) {
					t.Fatalf("StableTo(%+v) of the later write refused", later.Mark)
				}
			}
			rd = r.Ready()
			if got := rd.CommittedEntries; len(got) != 2 || got[0].Index != 11 || string(got[1].Data) != "b" {
				t.Fatalf("applied %v, want 11 and 12", got)
			}
			r.Advance()
			if st := r.Status(); st.Applied != 12 || st.Commit != 12 || st.LastIndex != 12 || r.log.firstIndex() != 11 {
				t.Fatalf("status %+v, first index %d", st, r.log.firstIndex())
			}
		})
	}
}

// TestSnapshotStaleMarks: after a restore, a report for entries handed
// out before it is stale, and so is the report of a snapshot replaced by
// a newer one before it was durable: only the newer one's report counts.
func TestSnapshotStaleMarks(t *testing.T) {
	r, storage := snapFollower(t, 3, 1, 1, 1)
	// Entries 4 and 5 are handed out, not yet durable.
	step(t, r, Message{Type: MsgApp, From: "n2", To: "n1", Term: 2, Index: 3, LogTerm: 1, Commit: 3,
		Entries: []Entry{{Index: 4, Term: 2}, {Index: 5, Term: 2}}})
	old := r.Ready()
	r.Advance()
	s1 := SnapshotMeta{Index: 8, Term: 2}
	step(t, r, Message{Type: MsgSnap, From: "n2", To: "n1", Term: 2, Snapshot: s1})
	rd1 := r.Ready()
	r.Advance()
	// A new leader's newer snapshot before the first is durable.
	s2 := SnapshotMeta{Index: 12, Term: 3}
	step(t, r, Message{Type: MsgSnap, From: "n3", To: "n1", Term: 3, Snapshot: s2})
	rd2 := r.Ready()
	r.Advance()
	if !reflect.DeepEqual(rd1.Snapshot, s1) || !reflect.DeepEqual(rd2.Snapshot, s2) || rd2.Mark.Epoch <= rd1.Mark.Epoch || rd1.Mark.Epoch <= old.Mark.Epoch {
		t.Fatalf("marks %+v, %+v, %+v", old.Mark, rd1.Mark, rd2.Mark)
	}
	if err := storage.Append(old.Entries); err != nil {
		t.Fatal(err)
	}
	if r.StableTo(old.Mark) {
		t.Fatal("took the report of entries the snapshot replaced")
	}
	storage.ApplySnapshot(s1)
	if r.StableTo(rd1.Mark) {
		t.Fatal("took the report of a snapshot a newer one replaced")
	}
	if !reflect.DeepEqual(r.log.snap, s2) || r.log.stableIndex() != 0 {
		t.Fatalf("pending snapshot %+v, stable index %d", r.log.snap, r.log.stableIndex())
	}
	storage.ApplySnapshot(s2)
	if !r.StableTo(rd2.Mark) {
		t.Fatal("refused the newest snapshot's report")
	}
	if r.log.stableIndex() != 12 || r.Status().Applied != 12 || r.Status().Commit != 12 {
		t.Fatalf("stable %d, status %+v", r.log.stableIndex(), r.Status())
	}
	// A report of the same index again, e.g. a duplicate, changes nothing.
	if r.StableTo(rd2.Mark) {
		t.Fatal("took a second report of the installed snapshot")
	}
}

// TestSnapshotMessageShape: Step refuses a MsgSnap without a snapshot, a
// snapshot on another type, a snapshot with an index but no term or the
// reverse, one from a term after the message's, and a MsgSnap with
// entries or a read round; the core is unchanged.
func TestSnapshotMessageShape(t *testing.T) {
	snap := SnapshotMeta{Index: 5, Term: 1}
	for name, m := range map[string]Message{
		"no snapshot":       {Type: MsgSnap, Term: 2},
		"snapshot on App":   {Type: MsgApp, Term: 2, Snapshot: snap},
		"snapshot on resp":  {Type: MsgAppResp, Term: 2, Snapshot: snap},
		"snapshot on vote":  {Type: MsgVote, Term: 2, Snapshot: snap},
		"index, no term":    {Type: MsgSnap, Term: 2, Snapshot: SnapshotMeta{Index: 5}},
		"term, no index":    {Type: MsgSnap, Term: 2, Snapshot: SnapshotMeta{Term: 1}},
		"term from future":  {Type: MsgSnap, Term: 2, Snapshot: SnapshotMeta{Index: 5, Term: 3}},
		"with entries":      {Type: MsgSnap, Term: 2, Snapshot: snap, Entries: []Entry{{Index: 6, Term: 2}}},
		"with a read round": {Type: MsgSnap, Term: 2, Snapshot: snap, ReadCtx: 1},
	} {
		t.Run(name, func(t *testing.T) {
			r, _ := snapFollower(t, 2, 1, 1)
			m.From, m.To = "n2", "n1"
			before := r.Status()
			if err := r.Step(m); !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("Step(%s) = %v, want ErrInvalidMessage", m, err)
			}
			if !statusEqual(before, r.Status()) || r.HasReady() {
				t.Fatal("a refused MsgSnap changed the core")
			}
		})
	}
	// A leader refuses a MsgSnap of its own term: another leader.
	r, _ := snapLeader(t)
	if err := r.Step(Message{Type: MsgSnap, From: "n2", To: "n1", Term: 2, Snapshot: snap}); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("leader took a MsgSnap of its term: %v", err)
	}
}

// TestSnapshotStaleTerm: a MsgSnap of an older term is not installed; the
// answer teaches the sender the current term.
func TestSnapshotStaleTerm(t *testing.T) {
	r, _ := snapFollower(t, 1, 1, 1)
	step(t, r, Message{Type: MsgSnap, From: "n3", To: "n1", Term: 1, Snapshot: SnapshotMeta{Index: 9, Term: 1}})
	rd := drain(r)
	if !rd.Snapshot.IsEmpty() || len(rd.Messages) != 1 || !rd.Messages[0].Reject || rd.Messages[0].Term != 2 {
		t.Fatalf("stale MsgSnap: %+v", rd)
	}
}

// TestHeartbeatCompactedMatch: a follower whose Match the leader has
// compacted gets heartbeats at the empty prefix, which every log matches,
// with a commit index no higher than its Match; a compacted follower
// answers a beat below its first index with its commit index.
func TestHeartbeatCompactedMatch(t *testing.T) {
	r, storage := snapLeader(t)
	step(t, r, Message{Type: MsgAppResp, From: "n3", To: "n1", Term: 2, Index: 11})
	drain(r)
	r.progress["n2"].match = 5 // acknowledged before the compaction
	if err := storage.Compact(11, 12); err != nil {
		t.Fatal(err)
	}
	r.bcastHeartbeat(0, false)
	rd := drain(r)
	b2, b3 := appsTo(rd.Messages, "n2"), appsTo(rd.Messages, "n3")
	if len(b2) != 1 || b2[0].Index != 0 || b2[0].LogTerm != 0 || b2[0].Commit != 5 || len(b2[0].Entries) > 0 {
		t.Fatalf("beat to n2 %v, want one at 0/0 with commit 5", b2)
	}
	if len(b3) != 1 || b3[0].Index != 11 || b3[0].LogTerm != 2 || b3[0].Commit != 11 {
		t.Fatalf("beat to n3 %v, want one at 11/2 with commit 11", b3)
	}

	// The follower side: compacted up to 8, commit 10.
	f, fs := snapFollower(t, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	if err := fs.Compact(8, 9); err != nil {
		t.Fatal(err)
	}
	for _, at := range []uint64{0, 3} {
		m := Message{Type: MsgApp, From: "n2", To: "n1", Term: 2, Index: at, Commit: 5, ReadCtx: 4}
		if at > 0 {
			m.LogTerm = 1
		}
		step(t, f, m)
		rd := drain(f)
		if len(rd.Messages) != 1 || rd.Messages[0].Reject || rd.Messages[0].Index != 10 || rd.Messages[0].ReadCtx != 4 {
			t.Fatalf("beat at %d below the first index answered %v, want an acknowledgement of 10", at, rd.Messages)
		}
	}
}

// lostEvents returns the LostEntries events in rd.
func lostEvents(rd Ready) []Event {
	var out []Event
	for _, e := range rd.Events {
		if e.Kind == EventLostEntries {
			out = append(out, e)
		}
	}
	return out
}

// TestLostEntries: a follower that refuses the beats at its Match, its
// log ending below it, lost entries it acknowledged. One such refusal may
// be late (sent before it acknowledged Match, overtaken), so the leader
// concludes only from one that comes after a whole check-quorum round
// without an acknowledgement of Match; then it says so once per
// leadership (EventLostEntries) and sends the entries again from where
// the follower's log ends. A refusal that only looks like one changes
// nothing: the refusal a node sends a MsgApp of an older term (no hints),
// and a delayed refusal of an older probe below Match.
func TestLostEntries(t *testing.T) {
	r := newLeader(t, three)
	for i := range 4 {
		if _, _, err := r.Propose([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	drain(r)
	ack := Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 5}
	step(t, r, ack)
	drain(r)
	if p := r.progress["n2"]; p.match != 5 {
		t.Fatalf("match %d", p.match)
	}
	rounds := func(k int) { // k check-quorum rounds end; n3 keeps answering
		for range k * r.electionTicks {
			r.Tick()
			step(t, r, Message{Type: MsgAppResp, From: "n3", To: "n1", Term: 2, Index: 5})
			drain(r)
		}
	}
	lost := Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 5, Reject: true, ConflictIndex: 2}
	noLoss := func(what string) {
		t.Helper()
		if rd := drain(r); len(lostEvents(rd)) > 0 || r.progress["n2"].match != 5 {
			t.Fatalf("%s: events %v, match %d", what, rd.Events, r.progress["n2"].match)
		}
	}

	// Not lost: a stale-term refusal, in our term, of a MsgApp at 3 of an
	// older term; a late refusal of a probe at 4, the log ending at 2.
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 3, Reject: true})
	noLoss("stale-term refusal")
	step(t, r, Message{Type: MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 4, Reject: true, ConflictIndex: 3})
	noLoss("late probe refusal")
	// A refusal at Match, then an acknowledgement of Match: it was late.
	step(t, r, lost)
	noLoss("first refusal at Match")
	step(t, r, ack)
	rounds(2)
	step(t, r, lost)
	noLoss("refusal at Match after an acknowledgement")
	// Two refusals at Match within a round: one may be a duplicate.
	step(t, r, lost)
	noLoss("second refusal within the round")

	// Lost: refusals at Match across a whole round, none acknowledging.
	rounds(2)
	step(t, r, lost)
	rd := drain(r)
	ev := lostEvents(rd)
	if len(ev) != 1 || ev[0].Peer != "n2" || ev[0].Index != 5 || ev[0].Term != 2 {
		t.Fatalf("events %v, want one LostEntries for n2 at 5", rd.Events)
	}
	if p := r.Status().Progress["n2"]; p.Match != 1 || p.State != "probe" {
		t.Fatalf("progress %+v, want probing after 1", p)
	}
	if apps := appsTo(rd.Messages, "n2"); len(apps) != 1 || apps[0].Index != 1 || len(apps[0].Entries) == 0 {
		t.Fatalf("sent %v, want the entries again from 2", rd.Messages)
	}
	// It catches up, and loses them again: no second event, but the
	// entries go again.
	step(t, r, ack)
	drain(r)
	step(t, r, lost)
	rounds(2)
	step(t, r, lost)
	if rd := drain(r); len(lostEvents(rd)) > 0 || r.progress["n2"].match != 1 {
		t.Fatalf("second loss: events %v, match %d", rd.Events, r.progress["n2"].match)
	}
}

// TestMemoryLogStorageSnapshot: Compact records a snapshot and drops the
// entries before below, keeping Term(FirstIndex()-1); ApplySnapshot
// replaces the log.
func TestMemoryLogStorageSnapshot(t *testing.T) {
	s := storageWith(1, 1, 2, 2, 3)
	if err := s.Compact(4, 3); err != nil {
		t.Fatal(err)
	}
	if s.FirstIndex() != 3 || s.LastIndex() != 5 || !reflect.DeepEqual(s.Snapshot(), SnapshotMeta{Index: 4, Term: 2}) {
		t.Fatalf("after Compact(4, 3): [%d, %d] %+v", s.FirstIndex(), s.LastIndex(), s.Snapshot())
	}
	if tm, err := s.Term(2); err != nil || tm != 1 {
		t.Fatalf("Term(2) = %d, %v", tm, err)
	}
	if _, err := s.Term(1); !errors.Is(err, ErrCompacted) {
		t.Fatalf("Term(1): %v", err)
	}
	if _, err := s.Entries(2, 4, 0); !errors.Is(err, ErrCompacted) {
		t.Fatalf("Entries(2, 4): %v", err)
	}
	if err := s.Compact(9, 9); err == nil {
		t.Fatal("compacted at an index beyond the log")
	}
	if err := s.Append([]Entry{{Index: 2, Term: 1}}); err == nil {
		t.Fatal("appended into the compacted prefix")
	}
	if err := s.Append([]Entry{{Index: 5, Term: 4}, {Index: 6, Term: 4}}); err != nil || s.LastIndex() != 6 {
		t.Fatalf("append after a compaction: %v, last %d", err, s.LastIndex())
	}
	s.ApplySnapshot(SnapshotMeta{Index: 20, Term: 5})
	if s.FirstIndex() != 21 || s.LastIndex() != 20 || s.Snapshot().Index != 20 {
		t.Fatalf("after ApplySnapshot: [%d, %d] %+v", s.FirstIndex(), s.LastIndex(), s.Snapshot())
	}
	if tm, err := s.Term(20); err != nil || tm != 5 {
		t.Fatalf("Term(20) = %d, %v", tm, err)
	}
}
