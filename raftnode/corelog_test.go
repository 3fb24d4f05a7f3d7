package raftnode

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/easykv/easykv/raftnode/raft"
	"github.com/easykv/easykv/segmentlog"
)

// TestCoreLog: the runtime's raft.LogStorage writes to a segment log and
// serves recent entries from memory; whatever it serves must be what the
// log itself holds, across truncations and past the memory bound, and a
// slice it handed out survives a truncation. What it writes shows only
// once it is made stable.
func TestCoreLog(t *testing.T) {
	wal, err := segmentlog.Open(t.TempDir(), segmentlog.Options{SegmentSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer wal.Close()
	s := newCoreLog(wal, raft.SnapshotMeta{}, nopObserver{})
	persist := func(es []raft.Entry) error {
		if err := s.write(es); err != nil {
			return err
		}
		s.stable(es)
		return nil
	}
	entries := func(first, n, term uint64) []raft.Entry {
		var es []raft.Entry
		for i := range n {
			es = append(es, raft.Entry{Term: term, Index: first + i, Data: fmt.Appendf(nil, "%d/%d", first+i, term)})
		}
		return es
	}
	// check compares every read with a coreLog that has nothing in memory.
	check := func(step string) {
		t.Helper()
		fresh := newCoreLog(wal, raft.SnapshotMeta{}, nopObserver{})
		last := s.LastIndex()
		if fresh.LastIndex() != last || fresh.FirstIndex() != s.FirstIndex() {
			t.Fatalf("%s: first/last %d/%d, log %d/%d", step, s.FirstIndex(), last, fresh.FirstIndex(), fresh.LastIndex())
		}
		for lo := max(1, last-2*recentEntries-8); lo <= last; lo += 1 + lo%7 {
			got, err1 := s.Term(lo)
			want, err2 := fresh.Term(lo)
			if got != want || err1 != nil || err2 != nil {
				t.Fatalf("%s: Term(%d) = %d, %v; log %d, %v", step, lo, got, err1, want, err2)
			}
			for _, maxBytes := range []uint64{0, 3 * (raft.EntryOverhead + 8), 1 << 20} {
				hi := min(last+1, lo+50)
				a, err1 := s.Entries(lo, hi, maxBytes)
				b, err2 := fresh.Entries(lo, hi, maxBytes)
				if err1 != nil || err2 != nil || !slices.EqualFunc(a, b, sameEntry) {
					t.Fatalf("%s: Entries(%d, %d, %d) = %v, %v; log %v, %v", step, lo, hi, maxBytes, a, err1, b, err2)
				}
			}
		}
		if _, err := s.Term(last + 1); !errors.Is(err, raft.ErrUnavailable) {
			t.Fatalf("%s: Term past the end: %v", step, err)
		}
	}
	if err := persist(entries(1, 5, 1)); err != nil {
		t.Fatal(err)
	}
	check("first append")
	if err := persist(entries(6, 1, 1)); err != nil {
		t.Fatal(err)
	}
	check("second append")
	handed, err := s.Entries(3, 6, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := persist(entries(4, 3, 2)); err != nil {
		t.Fatal(err)
	}
	check("truncating append")
	if !slices.EqualFunc(handed, []uint64{1, 1, 1}, func(e raft.Entry, term uint64) bool { return e.Term == term }) {
		t.Fatalf("a truncation rewrote a handed-out slice: %v", handed)
	}
	for first := uint64(7); first < 3*recentEntries; first += 100 {
		if err := persist(entries(first, 100, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.recent) > 2*recentEntries+100 || len(s.recent) < recentEntries {
		t.Fatalf("%d entries in memory, want between %d and %d", len(s.recent), recentEntries, 2*recentEntries+100)
	}
	check("past the bound")
	// A truncation from before the entries in memory.
	if err := persist(entries(10, 2, 3)); err != nil {
		t.Fatal(err)
	}
	check("truncation before memory")
	if err := persist(nil); err != nil {
		t.Fatal(err)
	}
	// Written, not yet stable: the core does not see it.
	last := s.LastIndex()
	if err := s.write(entries(last+1, 3, 3)); err != nil {
		t.Fatal(err)
	}
	if s.LastIndex() != last {
		t.Fatalf("last index %d before the write is stable, want %d", s.LastIndex(), last)
	}
	if _, err := s.Term(last + 1); !errors.Is(err, raft.ErrUnavailable) {
		t.Fatalf("Term of an entry not yet stable: %v", err)
	}
	if _, err := s.Entries(last, last+2, 1<<20); !errors.Is(err, raft.ErrUnavailable) {
		t.Fatalf("Entries through an entry not yet stable: %v", err)
	}
	s.stable(entries(last+1, 3, 3))
	check("stable after the write")

	// Writes the core did not take: a stale one over entries in memory,
	// then a later one from past the first. The view forgets what the
	// stale one overwrote, and the taken one shows the disk again,
	// including the stale write's entries before it.
	last = s.LastIndex()
	stale := entries(last-5, 4, 4)
	if err := s.write(stale); err != nil {
		t.Fatal(err)
	}
	s.forget(stale[0].Index)
	if s.LastIndex() != last-6 {
		t.Fatalf("last index %d after forgetting from %d", s.LastIndex(), stale[0].Index)
	}
	if _, err := s.Term(last - 5); !errors.Is(err, raft.ErrUnavailable) {
		t.Fatalf("Term of a forgotten entry: %v", err)
	}
	taken := entries(last-3, 2, 5)
	if err := s.write(taken); err != nil {
		t.Fatal(err)
	}
	s.stable(taken)
	check("taken after a forgotten write")
	if tm, _ := s.Term(last - 4); tm != 4 {
		t.Fatalf("Term(%d) = %d, want the stale write's 4 from disk", last-4, tm)
	}
}

// sameEntry reports whether a and b are the same entry, data included.
func sameEntry(a, b raft.Entry) bool {
	return a.Term == b.Term && a.Index == b.Index && a.Type == b.Type && string(a.Data) == string(b.Data)
}
