package raftnode

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/easykv/easykv/segmentlog"
)

// brokenStorage claims five entries but cannot read any of them.
type brokenStorage struct{}

var _ Storage = brokenStorage{}

func (brokenStorage) FirstIndex() uint64 { return 1 }
func (brokenStorage) LastIndex() uint64  { return 5 }
func (brokenStorage) Term(uint64) (uint64, error) {
	return 0, errors.New("disk on fire")
}
func (brokenStorage) Entries(uint64, uint64, uint64) ([]Entry, error) {
	return nil, errors.New("disk on fire")
}

func terms(es []Entry) []uint64 {
	var ts []uint64
	for _, e := range es {
		ts = append(ts, e.Term)
	}
	return ts
}

func TestMemoryStorage(t *testing.T) {
	s := storageWith(1, 1, 2)
	if s.FirstIndex() != 1 || s.LastIndex() != 3 {
		t.Fatalf("first %d last %d", s.FirstIndex(), s.LastIndex())
	}
	for i, want := range []uint64{0, 1, 1, 2} {
		if got, err := s.Term(uint64(i)); err != nil || got != want {
			t.Fatalf("Term(%d) = %d, %v; want %d", i, got, err, want)
		}
	}
	if _, err := s.Term(4); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Term(4): %v", err)
	}

	// A handed-out slice survives a truncation.
	old, err := s.Entries(2, 4, 1<<20)
	if err != nil || !slices.Equal(terms(old), []uint64{1, 2}) {
		t.Fatalf("Entries(2, 4) = %v, %v", old, err)
	}
	if err := s.Append([]Entry{{Term: 3, Index: 3}, {Term: 3, Index: 4}}); err != nil {
		t.Fatal(err)
	}
	if all, _ := s.Entries(1, 5, 1<<20); !slices.Equal(terms(all), []uint64{1, 1, 3, 3}) {
		t.Fatalf("after truncating append: %v", all)
	}
	if !slices.Equal(terms(old), []uint64{1, 2}) {
		t.Fatalf("a truncation rewrote a handed-out slice: %v", old)
	}
	// Replacing from the middle drops the rest.
	if err := s.Append([]Entry{{Term: 4, Index: 2}}); err != nil || s.LastIndex() != 2 {
		t.Fatalf("append at 2: %v, last %d", err, s.LastIndex())
	}

	for _, tc := range []struct {
		name string
		es   []Entry
	}{
		{"gap", []Entry{{Term: 4, Index: 4}}},
		{"index 0", []Entry{{Term: 4, Index: 0}}},
		{"not consecutive", []Entry{{Term: 4, Index: 3}, {Term: 4, Index: 5}}},
		{"term back", []Entry{{Term: 3, Index: 3}}},
		{"term 0", []Entry{{Term: 0, Index: 3}}},
	} {
		if err := s.Append(tc.es); err == nil {
			t.Errorf("%s: Append(%v) accepted", tc.name, tc.es)
		}
	}
	if s.LastIndex() != 2 {
		t.Fatalf("refused appends changed the log: last %d", s.LastIndex())
	}
	if err := s.Append(nil); err != nil {
		t.Fatal(err)
	}
}

// TestMemoryStorageEntriesLimit: Entries gives at least one entry, then
// stops before the byte limit.
func TestMemoryStorageEntriesLimit(t *testing.T) {
	s := NewMemoryStorage()
	var es []Entry
	for i := range uint64(5) {
		es = append(es, Entry{Term: 1, Index: i + 1, Data: make([]byte, 100)})
	}
	if err := s.Append(es); err != nil {
		t.Fatal(err)
	}
	per := uint64(100 + EntryOverhead)
	for _, tc := range []struct {
		lo, hi, max uint64
		want        int
	}{
		{1, 6, 0, 1},
		{1, 6, per - 1, 1},
		{1, 6, per, 1},
		{1, 6, 2*per + 1, 2},
		{1, 6, 1 << 20, 5},
		{2, 4, 1 << 20, 2},
		{3, 3, 1 << 20, 0},
	} {
		got, err := s.Entries(tc.lo, tc.hi, tc.max)
		if err != nil || len(got) != tc.want || (len(got) > 0 && got[0].Index != tc.lo) {
			t.Errorf("Entries(%d, %d, %d) = %d entries, %v; want %d", tc.lo, tc.hi, tc.max, len(got), err, tc.want)
		}
	}
	for _, tc := range [][2]uint64{{0, 2}, {3, 2}, {1, 7}} {
		if _, err := s.Entries(tc[0], tc[1], 1<<20); err == nil {
			t.Errorf("Entries(%d, %d) succeeded", tc[0], tc[1])
		}
	}
}

// TestLogUnstable: the core's log reads unstable entries over durable
// ones, and a conflicting append replaces only from the conflict.
func TestLogUnstable(t *testing.T) {
	l := &raftLog{storage: storageWith(1, 1, 2, 2)}
	l.truncateAndAppend([]Entry{{Term: 3, Index: 3}, {Term: 3, Index: 4}, {Term: 3, Index: 5}})
	if l.lastIndex() != 5 || l.lastTerm() != 3 {
		t.Fatalf("last %d/%d", l.lastIndex(), l.lastTerm())
	}
	all, ok := l.slice(1, 6, 1<<20)
	if !ok || !slices.Equal(terms(all), []uint64{1, 1, 3, 3, 3}) {
		t.Fatalf("slice = %v, %v", all, ok)
	}
	if got := l.findConflict([]Entry{{Term: 1, Index: 2}, {Term: 3, Index: 3}, {Term: 4, Index: 4}}); got != 2 {
		t.Fatalf("findConflict = %d, want 2", got)
	}
	if i, ok := l.lastIndexOfTerm(1, 5); !ok || i != 2 {
		t.Fatalf("lastIndexOfTerm(1) = %d, %v", i, ok)
	}
	if _, ok := l.lastIndexOfTerm(2, 5); ok {
		t.Fatal("found term 2, which was replaced")
	}
	if got := l.firstIndexOfTerm(5); got != 3 {
		t.Fatalf("firstIndexOfTerm(5) = %d", got)
	}

	// Hand out 3..5, then a conflict at 4 arrives before they are durable.
	handed, mark := l.nextUnstable()
	if got, _ := l.nextUnstable(); got != nil {
		t.Fatalf("handed out again: %v", got)
	}
	l.truncateAndAppend([]Entry{{Term: 4, Index: 4}})
	if !slices.Equal(terms(handed), []uint64{3, 3, 3}) {
		t.Fatalf("the conflict rewrote handed-out entries: %v", handed)
	}
	if err := l.storage.(*MemoryStorage).Append(handed); err != nil {
		t.Fatal(err)
	}
	// Entry 5 of term 3 is gone: its report changes nothing, and 3 stays
	// unstable until the replacement after it is durable.
	if l.stableTo(mark) || len(l.unstable) != 2 || l.stableIndex() != 2 {
		t.Fatalf("unstable %v after a report about a replaced entry", l.unstable)
	}
	if tm, _ := l.term(4); tm != 4 {
		t.Fatalf("term(4) = %d, want 4 (the durable 3 is stale)", tm)
	}
	// Only the replacement is handed out.
	next, mark := l.nextUnstable()
	if len(next) != 1 || !entryEqual(next[0], Entry{Term: 4, Index: 4}) || l.lastIndex() != 4 {
		t.Fatalf("handed out %v, last %d", next, l.lastIndex())
	}
	if err := l.storage.(*MemoryStorage).Append(next); err != nil {
		t.Fatal(err)
	}
	if !l.stableTo(mark) || len(l.unstable) != 0 || l.stableIndex() != 4 {
		t.Fatalf("unstable %v after the replacement is durable", l.unstable)
	}
	if tm, _ := l.term(4); tm != 4 {
		t.Fatalf("term(4) = %d from storage, want 4", tm)
	}

	// A limit cuts across storage and unstable entries.
	if got, _ := l.slice(2, 5, 2*EntryOverhead+10); len(got) != 2 {
		t.Fatalf("limited slice %v", got)
	}
	if _, ok := l.slice(2, 6, 1<<20); ok {
		t.Fatal("slice past the end succeeded")
	}
}

// TestSegmentStorage: the runtime's Storage writes to a segment log and
// serves recent entries from memory; whatever it serves must be what the
// log itself holds, across truncations and past the memory bound, and a
// slice it handed out survives a truncation. What it writes shows only
// once it is made stable.
func TestSegmentStorage(t *testing.T) {
	wal, err := segmentlog.Open(t.TempDir(), segmentlog.Options{SegmentSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer wal.Close()
	s := newSegmentStorage(wal)
	persist := func(es []Entry) error {
		if err := s.write(es); err != nil {
			return err
		}
		s.stable(es)
		return nil
	}
	entries := func(first, n, term uint64) []Entry {
		var es []Entry
		for i := range n {
			es = append(es, Entry{Term: term, Index: first + i, Data: fmt.Appendf(nil, "%d/%d", first+i, term)})
		}
		return es
	}
	// check compares every read with a storage that has nothing in memory.
	check := func(step string) {
		t.Helper()
		fresh := newSegmentStorage(wal)
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
			for _, maxBytes := range []uint64{0, 3 * (EntryOverhead + 8), 1 << 20} {
				hi := min(last+1, lo+50)
				a, err1 := s.Entries(lo, hi, maxBytes)
				b, err2 := fresh.Entries(lo, hi, maxBytes)
				if err1 != nil || err2 != nil || !slices.EqualFunc(a, b, entryEqual) {
					t.Fatalf("%s: Entries(%d, %d, %d) = %v, %v; log %v, %v", step, lo, hi, maxBytes, a, err1, b, err2)
				}
			}
		}
		if _, err := s.Term(last + 1); !errors.Is(err, ErrUnavailable) {
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
	if !slices.Equal(terms(handed), []uint64{1, 1, 1}) {
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
	if _, err := s.Term(last + 1); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Term of an entry not yet stable: %v", err)
	}
	if _, err := s.Entries(last, last+2, 1<<20); !errors.Is(err, ErrUnavailable) {
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
	if _, err := s.Term(last - 5); !errors.Is(err, ErrUnavailable) {
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
