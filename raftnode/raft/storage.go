package raft

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// Errors a LogStorage returns, wrapped or not; match them with errors.Is.
var (
	// ErrUnavailable: asked for entries the storage does not have.
	ErrUnavailable = errors.New("requested entries are unavailable")
	// ErrCompacted: asked for entries before the storage's first index,
	// removed after a snapshot.
	ErrCompacted = errors.New("requested entries are compacted")
)

// LogStorage is the durable log as the core reads it. The runtime implements
// it over segmentlog; tests use MemoryLogStorage. The core only reads it: the
// caller writes what Ready.Entries hands out, and reads must see those
// writes once Advance is called. Reads must be cheap (memory or mmap); the
// core calls them while stepping.
type LogStorage interface {
	// FirstIndex is the index of the first entry; LastIndex()+1 when the
	// storage is empty (1 for a new log). The entries before it were
	// removed after a snapshot covered them.
	FirstIndex() uint64
	// LastIndex is the index of the last entry, 0 for a new log.
	LastIndex() uint64
	// Term is the term of entry i. Term(0) is 0, and Term(FirstIndex()-1)
	// works (it is the snapshot's term after a compaction); below that it
	// may fail with ErrCompacted, beyond LastIndex() it fails with
	// ErrUnavailable.
	Term(i uint64) (uint64, error)
	// Entries returns the entries [lo, hi): at least one when lo < hi,
	// then as many as fit in maxBytes, counting len(Data) plus
	// EntryOverhead for each. The core does not modify the result.
	Entries(lo, hi, maxBytes uint64) ([]Entry, error)
	// Snapshot names the newest durable snapshot of the state machine, the
	// one a leader sends a follower that needs entries before
	// FirstIndex(); zero when there is none. It covers every entry before
	// FirstIndex(): its Index is at least FirstIndex()-1.
	Snapshot() SnapshotMeta
}

// EntryOverhead is what an entry costs beyond its Data when byte limits
// (Config.MaxMsgBytes, LogStorage.Entries) are counted: term, index, type
// and framing, so that a run of empty entries is limited too.
const EntryOverhead = 16

// entrySize is what e counts against a byte limit.
func entrySize(e Entry) uint64 {
	return uint64(len(e.Data)) + EntryOverhead
}

// LimitSize returns the longest prefix of es that fits in maxBytes, but at
// least one entry when atLeastOne. A LogStorage bounds what Entries returns
// with it, as MemoryLogStorage does, so that every LogStorage counts bytes the
// way the core does (EntryOverhead per entry).
func LimitSize(es []Entry, maxBytes uint64, atLeastOne bool) []Entry {
	var size uint64
	for i, e := range es {
		size += entrySize(e)
		if size > maxBytes && (i > 0 || !atLeastOne) {
			return es[:i]
		}
	}
	return es
}

// MemoryLogStorage is a LogStorage in memory, for tests and the simulator.
// It compacts (Compact) and installs snapshots (ApplySnapshot) as the
// runtime's log does. The zero value is an empty log. It is not safe for
// concurrent use.
type MemoryLogStorage struct {
	entries []Entry // entries[i].Index == off+1+i
	// off is the index of the entry before the first, FirstIndex()-1, and
	// offTerm its term, so that Term(FirstIndex()-1) works after a
	// compaction.
	off, offTerm uint64
	snap         SnapshotMeta // newest snapshot recorded; zero when none
}

var _ LogStorage = (*MemoryLogStorage)(nil)

// NewMemoryLogStorage returns an empty log.
func NewMemoryLogStorage() *MemoryLogStorage {
	return &MemoryLogStorage{}
}

// FirstIndex is the first entry still held.
func (s *MemoryLogStorage) FirstIndex() uint64 { return s.off + 1 }

// LastIndex is the index of the last entry, 0 when empty.
func (s *MemoryLogStorage) LastIndex() uint64 { return s.off + uint64(len(s.entries)) }

// Snapshot is the newest snapshot recorded by Compact or ApplySnapshot.
func (s *MemoryLogStorage) Snapshot() SnapshotMeta { return s.snap }

// Term is the term of entry i.
func (s *MemoryLogStorage) Term(i uint64) (uint64, error) {
	switch {
	case i < s.off:
		return 0, fmt.Errorf("term of %d, first index %d: %w", i, s.FirstIndex(), ErrCompacted)
	case i == s.off:
		return s.offTerm, nil
	case i > s.LastIndex():
		return 0, fmt.Errorf("term of %d, last index %d: %w", i, s.LastIndex(), ErrUnavailable)
	}
	return s.entries[i-s.off-1].Term, nil
}

// Entries returns [lo, hi) limited by maxBytes; the result shares the
// entries' Data with the storage.
func (s *MemoryLogStorage) Entries(lo, hi, maxBytes uint64) ([]Entry, error) {
	switch {
	case lo <= s.off:
		return nil, fmt.Errorf("entries from %d, first index %d: %w", lo, s.FirstIndex(), ErrCompacted)
	case lo > hi || hi > s.LastIndex()+1:
		return nil, fmt.Errorf("entries [%d, %d), last index %d: %w", lo, hi, s.LastIndex(), ErrUnavailable)
	}
	// Clipped, so that a caller appending to the result cannot write into
	// the storage.
	es := s.entries[lo-s.off-1 : hi-s.off-1 : hi-s.off-1]
	return LimitSize(es, maxBytes, true), nil
}

// Append writes es, which must be consecutive with terms that never go
// back, replacing every entry from es[0].Index on, as the runtime does
// with TruncateSuffix then Append. It keeps the entries but not a copy of
// their Data.
func (s *MemoryLogStorage) Append(es []Entry) error {
	if len(es) == 0 {
		return nil
	}
	first := es[0].Index
	if first <= s.off || first > s.LastIndex()+1 {
		return fmt.Errorf("append at %d to a log holding [%d, %d]: %w", first, s.FirstIndex(), s.LastIndex(), ErrUnavailable)
	}
	prev, _ := s.Term(first - 1)
	for i, e := range es {
		if e.Index != first+uint64(i) {
			return fmt.Errorf("append: entry %d has index %d, want %d", i, e.Index, first+uint64(i))
		}
		if e.Term == 0 || e.Term < prev {
			return fmt.Errorf("append: entry %d has term %d after term %d", e.Index, e.Term, prev)
		}
		prev = e.Term
	}
	keep := s.entries[:first-s.off-1]
	if first-1 < s.LastIndex() {
		// Truncating: write into a new array, since slices handed out
		// earlier may still be read.
		keep = keep[:len(keep):len(keep)]
	}
	s.entries = append(keep, es...)
	return nil
}

// Compact records a snapshot at index, which must be in the log, and drops
// the entries before below (at most index+1): the first index becomes
// below, or stays where it is when it is there already. The runtime keeps
// a margin of entries below the snapshot, so below is usually lower.
func (s *MemoryLogStorage) Compact(index, below uint64) error {
	t, err := s.Term(index)
	if err != nil || index == 0 {
		return fmt.Errorf("compact at %d: %w", index, cmp.Or(err, ErrUnavailable))
	}
	s.snap = SnapshotMeta{Index: index, Term: t}
	below = min(below, index+1)
	if below <= s.FirstIndex() {
		return nil
	}
	s.offTerm, _ = s.Term(below - 1)
	// A new array, since slices handed out earlier may still be read.
	s.entries = slices.Clone(s.entries[below-1-s.off:])
	s.off = below - 1
	return nil
}

// ApplySnapshot replaces the whole log by snap: it becomes empty, with
// FirstIndex() == snap.Index+1, and snap its newest snapshot, as when a
// follower installs a snapshot from its leader.
func (s *MemoryLogStorage) ApplySnapshot(snap SnapshotMeta) {
	s.entries, s.off, s.offTerm, s.snap = nil, snap.Index, snap.Term, snap
}
