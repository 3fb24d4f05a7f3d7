package raft

import (
	"errors"
	"slices"
	"testing"
)

// brokenStorage claims five entries but cannot read any of them.
type brokenStorage struct{}

var _ LogStorage = brokenStorage{}

func (brokenStorage) FirstIndex() uint64 { return 1 }
func (brokenStorage) LastIndex() uint64  { return 5 }
func (brokenStorage) Term(uint64) (uint64, error) {
	return 0, errors.New("disk on fire")
}
func (brokenStorage) Entries(uint64, uint64, uint64) ([]Entry, error) {
	return nil, errors.New("disk on fire")
}
func (brokenStorage) Snapshot() SnapshotMeta { return SnapshotMeta{} }

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
	s := NewMemoryLogStorage()
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
	if err := l.storage.(*MemoryLogStorage).Append(handed); err != nil {
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
	if err := l.storage.(*MemoryLogStorage).Append(next); err != nil {
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
