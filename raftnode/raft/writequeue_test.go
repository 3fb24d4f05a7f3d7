package raft

import (
	"reflect"
	"slices"
	"testing"
)

// TestWriteQueue: consecutive Readys merge into one write, one fsync for
// all; a Ready whose entries replace some starts a new write, so that the
// messages queued before it leave while what they acknowledge is durable.
func TestWriteQueue(t *testing.T) {
	es := func(first uint64, terms ...uint64) []Entry {
		var out []Entry
		for i, term := range terms {
			out = append(out, Entry{Index: first + uint64(i), Term: term})
		}
		return out
	}
	msg := func(to string) Message { return Message{Type: MsgAppResp, From: "n1", To: to, Term: 2} }
	type ready struct {
		entries  []Entry
		hs       HardState
		saveHard bool
		msgs     []Message
	}
	type job struct {
		entries  []uint64 // indexes
		hs       HardState
		saveHard bool
		msgs     []string // To of each
	}
	tests := []struct {
		name   string
		last   uint64 // durable before the first Ready
		readys []ready
		want   []job
	}{
		{"nothing", 0, []ready{{}}, nil},
		{"one Ready", 0, []ready{{entries: es(1, 1, 1), msgs: []Message{msg("n2")}}},
			[]job{{entries: []uint64{1, 2}, msgs: []string{"n2"}}}},
		{"consecutive Readys share a write", 3, []ready{
			{entries: es(4, 2), msgs: []Message{msg("n2")}},
			{hs: HardState{Term: 3, Vote: "n3"}, saveHard: true, msgs: []Message{msg("n3")}},
			{entries: es(5, 3, 3), hs: HardState{Term: 3, Vote: "n3", Commit: 4}},
			{msgs: []Message{msg("n2")}},
		}, []job{{entries: []uint64{4, 5, 6}, hs: HardState{Term: 3, Vote: "n3"}, saveHard: true, msgs: []string{"n2", "n3", "n2"}}}},
		{"a hard state not to save stays out", 0, []ready{
			{hs: HardState{Term: 2, Vote: "n2"}, saveHard: true},
			{hs: HardState{Term: 2, Vote: "n2", Commit: 1}},
		}, []job{{hs: HardState{Term: 2, Vote: "n2"}, saveHard: true}}},
		{"a truncation starts a new write", 0, []ready{
			{entries: es(1, 1, 1, 1), msgs: []Message{msg("n2")}},
			{entries: es(3, 2), msgs: []Message{msg("n3")}},
			{entries: es(4, 2)},
		}, []job{
			{entries: []uint64{1, 2, 3}, msgs: []string{"n2"}},
			{entries: []uint64{3, 4}, msgs: []string{"n3"}},
		}},
		{"replacing durable entries starts a new write too", 5, []ready{
			{msgs: []Message{msg("n2")}},
			{entries: es(5, 3)},
		}, []job{{msgs: []string{"n2"}}, {entries: []uint64{5}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := WriteQueue{last: tc.last}
			for _, rd := range tc.readys {
				q.Add(WriteJob{Entries: rd.entries, HardState: rd.hs, SaveHard: rd.saveHard, Msgs: rd.msgs})
			}
			var got []job
			for {
				j, ok := q.Take()
				if !ok {
					break
				}
				g := job{hs: j.HardState, saveHard: j.SaveHard}
				for _, e := range j.Entries {
					g.entries = append(g.entries, e.Index)
				}
				for _, m := range j.Msgs {
					g.msgs = append(g.msgs, m.To)
				}
				got = append(got, g)
			}
			if !slices.EqualFunc(got, tc.want, func(a, b job) bool {
				return slices.Equal(a.entries, b.entries) && a.hs == b.hs && a.saveHard == b.saveHard && slices.Equal(a.msgs, b.msgs)
			}) {
				t.Errorf("jobs %+v, want %+v", got, tc.want)
			}
			if !q.Empty() {
				t.Error("not empty after taking every job")
			}
		})
	}
}

// TestWriteQueueKeepsEntries: a job owns its entries: appending more to
// it never writes into the slices Ready handed out.
func TestWriteQueueKeepsEntries(t *testing.T) {
	arr := make([]Entry, 3, 8)
	for i := range arr {
		arr[i] = Entry{Index: uint64(i + 1), Term: 1}
	}
	var q WriteQueue
	q.Add(WriteJob{Entries: arr[:2]})
	q.Add(WriteJob{Entries: arr[2:3]})
	spare := arr[:4]
	spare[3] = Entry{Index: 99}
	q.Add(WriteJob{Entries: []Entry{{Index: 4, Term: 1}}})
	if spare[3].Index != 99 {
		t.Fatalf("the queue wrote into a handed-out array: %+v", spare[3])
	}
	j, _ := q.Take()
	if len(j.Entries) != 4 || j.Entries[3].Index != 4 {
		t.Fatalf("job entries %+v", j.Entries)
	}
	q.Add(WriteJob{Entries: []Entry{{Index: 5, Term: 1}}})
	q.clear()
	if !q.Empty() {
		t.Fatal("not empty after clear")
	}
}

// TestWriteQueueSnapshot: a Ready that installs a snapshot starts a new
// write, never merged with the writes before it (their messages must
// leave while what they acknowledge is durable, before the log is
// replaced); the Readys after it merge into it, their entries following
// the snapshot; its mark names the snapshot until entries come, then the
// last of them. A later Ready whose entries replace some after the
// snapshot starts a new write again.
func TestWriteQueueSnapshot(t *testing.T) {
	snap := SnapshotMeta{Index: 10, Term: 2}
	msg := func(to string) Message { return Message{Type: MsgAppResp, From: "n1", To: to, Term: 3} }
	q := NewWriteQueue(5)
	q.Add(WriteJob{Entries: []Entry{{Index: 6, Term: 1}}, Mark: LogMark{Index: 6, Term: 1}, Msgs: []Message{msg("n2")}})
	q.Add(WriteJob{Snapshot: snap, Mark: LogMark{Index: 10, Term: 2, Epoch: 1}, HardState: HardState{Term: 3, Commit: 10}, SaveHard: true, Msgs: []Message{msg("n3")}})
	q.Add(WriteJob{Entries: []Entry{{Index: 11, Term: 3}, {Index: 12, Term: 3}}, Mark: LogMark{Index: 12, Term: 3, Epoch: 1}})
	q.Add(WriteJob{Msgs: []Message{msg("n2")}})
	q.Add(WriteJob{Entries: []Entry{{Index: 12, Term: 4}}, Mark: LogMark{Index: 12, Term: 4, Epoch: 2}})
	// A snapshot alone, right after: a new write too.
	q.Add(WriteJob{Snapshot: SnapshotMeta{Index: 20, Term: 4}, Mark: LogMark{Index: 20, Term: 4, Epoch: 3}})

	j1, _ := q.Take()
	if !j1.Snapshot.IsEmpty() || len(j1.Entries) != 1 || len(j1.Msgs) != 1 || j1.Mark.Index != 6 {
		t.Fatalf("first write %+v, want entry 6 and its message only", j1)
	}
	j2, _ := q.Take()
	if !reflect.DeepEqual(j2.Snapshot, snap) || len(j2.Entries) != 2 || j2.Entries[0].Index != 11 || j2.Mark != (LogMark{Index: 12, Term: 3, Epoch: 1}) ||
		!j2.SaveHard || j2.HardState.Commit != 10 || len(j2.Msgs) != 2 {
		t.Fatalf("second write %+v, want the snapshot, entries 11 and 12, both messages", j2)
	}
	j3, _ := q.Take()
	if !j3.Snapshot.IsEmpty() || len(j3.Entries) != 1 || j3.Entries[0].Term != 4 || j3.Mark.Epoch != 2 {
		t.Fatalf("third write %+v, want the replacement of 12", j3)
	}
	j4, _ := q.Take()
	if j4.Snapshot.Index != 20 || len(j4.Entries) != 0 || j4.Mark != (LogMark{Index: 20, Term: 4, Epoch: 3}) {
		t.Fatalf("fourth write %+v, want the second snapshot alone, its mark", j4)
	}
	if !q.Empty() {
		t.Fatal("more writes than Readys")
	}
	// After a snapshot, the queue's last index is the snapshot's: entries
	// right after it merge, entries at or before it would replace.
	q.Add(WriteJob{Entries: []Entry{{Index: 21, Term: 4}}})
	if q.last != 21 {
		t.Fatalf("last %d after appending 21 behind the snapshot at 20", q.last)
	}
}
