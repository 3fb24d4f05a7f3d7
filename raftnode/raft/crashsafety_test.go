package raft

import (
	"slices"
	"testing"
)

// TestRestartRaisesTermToLog: a crash between a write's entries fsync and
// its hard-state save leaves entries of a term the saved hard state has
// not reached. The node restarts at that term with no vote (no vote for
// it was ever durable, so none was sent) and saves the raised term
// before it sends anything (doc.go, "Restarting").
func TestRestartRaisesTermToLog(t *testing.T) {
	tests := []struct {
		name  string
		saved HardState
		terms []uint64 // of the durable log
		want  HardState
		save  bool // the first Ready saves the repaired hard state
	}{
		{"term and vote behind the log", HardState{Term: 1, Vote: "n2", Commit: 1}, []uint64{1, 2, 2}, HardState{Term: 2, Commit: 1}, true},
		{"never saved at all", HardState{}, []uint64{3}, HardState{Term: 3}, true},
		{"saved term matches", HardState{Term: 2, Vote: "n1"}, []uint64{1, 2}, HardState{Term: 2, Vote: "n1"}, false},
		{"saved term ahead", HardState{Term: 5, Vote: "n3"}, []uint64{1, 2}, HardState{Term: 5, Vote: "n3"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRaft(t, three, func(c *Config) {
				c.Log, c.HardState = storageWith(tc.terms...), tc.saved
			})
			if got := r.hardState(); got != tc.want {
				t.Fatalf("hard state %+v, want %+v", got, tc.want)
			}
			rd := r.Ready()
			if tc.save != (rd.HardState == tc.want && rd.MustSync) {
				t.Fatalf("first Ready: hard state %+v, must sync %v; want it saved: %v", rd.HardState, rd.MustSync, tc.save)
			}
		})
	}
}

// TestStaleDurabilityReportIgnored is the history that made a follower
// apply an entry that was never committed: its disk stalls across two
// leader changes, so three writes are queued, each replacing the last
// one's entries: W1 holds 5(t3); W2 replaces it with 5(t2), 6(t4) from a
// leader of term 4; W3 puts back 5(t3), 6(t5) from the leader of term 3,
// re-elected in term 5, with commit 6. The writes complete in order.
// W1's report names an earlier epoch and is ignored, although 5(t3) is
// back in the log; so is W2's. Only W3's makes 5 and 6 durable, and the
// entries applied are 5(t3), 6(t5), read from a storage that shows what
// W3 wrote.
func TestStaleDurabilityReportIgnored(t *testing.T) {
	five := []string{"n1", "n2", "n3", "n4", "n5"}
	storage := storageWith(1, 1, 1, 1)
	r := newTestRaft(t, five, func(c *Config) {
		c.Log, c.HardState, c.Applied = storage, HardState{Term: 3, Commit: 4}, 4
	})
	appendFrom := func(leader string, term, prevTerm uint64, commit uint64, es ...Entry) Ready {
		t.Helper()
		step(t, r, Message{Type: MsgApp, From: leader, To: "n1", Term: term, Index: 4, LogTerm: prevTerm, Entries: es, Commit: commit})
		rd := r.Ready()
		r.Advance()
		if len(rd.Entries) == 0 {
			t.Fatalf("append from %s in term %d handed out nothing", leader, term)
		}
		return rd
	}
	w1 := appendFrom("n2", 3, 1, 4, Entry{Index: 5, Term: 3, Data: []byte("A")})
	w2 := appendFrom("n3", 4, 1, 4, Entry{Index: 5, Term: 2, Data: []byte("B")}, Entry{Index: 6, Term: 4})
	w3 := appendFrom("n2", 5, 1, 6, Entry{Index: 5, Term: 3, Data: []byte("A")}, Entry{Index: 6, Term: 5})

	// The writes complete in order. The runtime takes in every completion
	// that is waiting before its next Ready (here W1 and W2, then W3), and
	// shows the core the entries of each report the core takes.
	var applied []Entry
	for i, w := range []Ready{w1, w2, w3} {
		if err := storage.Append(w.Entries); err != nil {
			t.Fatal(err)
		}
		if took := r.StableTo(w.Mark); took != (i == 2) {
			t.Errorf("W%d's report %+v taken: %v", i+1, w.Mark, took)
		}
		if i == 0 {
			continue
		}
		rd := r.Ready()
		applied = append(applied, rd.CommittedEntries...)
		r.Advance()
	}
	want := []Entry{{Index: 5, Term: 3, Data: []byte("A")}, {Index: 6, Term: 5}}
	if !slices.EqualFunc(applied, want, entryEqual) {
		t.Fatalf("applied %+v, want the committed %+v", applied, want)
	}
}
