package raftnode

import (
	"errors"
	"fmt"
	"time"

	"github.com/easykv/easykv/raftnode/raft"
	"github.com/easykv/easykv/segmentlog"
)

// recentEntries is how many of the last persisted entries coreLog
// keeps in memory at least. They are the ones read most: the committed
// entries to apply, and the MsgApps to followers that are a little behind.
const recentEntries = 4096

// LogStore is the node's durable log of entries; implemented by
// *segmentlog.Log, and by an in-memory log in tests. It must be safe for
// concurrent use: the loop reads it while the persister writes it.
type LogStore interface {
	FirstIndex() uint64
	LastIndex() uint64
	Term(i uint64) (uint64, error)
	// Entries returns [lo, hi), at least one entry and no more than
	// maxBytes of payload beyond it; an index the log does not hold
	// wraps segmentlog.ErrOutOfRange.
	Entries(lo, hi, maxBytes uint64) ([]segmentlog.Entry, error)
	Append(es []segmentlog.Entry) error
	// TruncateSuffix removes the entries from index from on.
	TruncateSuffix(from uint64) error
	// TruncatePrefix removes the segments all of whose entries are below
	// below (compaction); the log keeps its last entry.
	TruncatePrefix(below uint64) error
	// Reset empties the log so that it restarts at next (an installed
	// snapshot replaced it).
	Reset(next uint64) error
	// Sync makes everything appended durable.
	Sync() error
}

// coreLog shows the durable log to the core as its raft.LogStorage, and
// writes Ready.Entries to it. The core sees the log as of the last
// write the Run goroutine has heard completed (stable), not as the
// persister goroutine is writing it (write), so what the core reads
// changes only when StableTo says so. It keeps the last entries made
// stable in memory, sharing their Data with the core, so that reading
// them back costs no lock, no copy out of the mapped segment and no wait
// behind a sync in progress.
type coreLog struct {
	log LogStore // the node's write-ahead log; safe for concurrent use

	// Owned by the Run goroutine:
	first uint64 // the first index the core may read; compaction raises it
	last  uint64 // the log's last index as the core sees it
	// snap is the newest snapshot saved or installed: the core sends it
	// to followers that need entries before first, and reads its term as
	// the term of the entry before first after an install.
	snap raft.SnapshotMeta
	// recent are the last entries made stable, consecutive and ending at
	// last; empty when none were since the start, or a truncation reached
	// before them.
	recent []raft.Entry

	// Owned by the persister goroutine:
	batch []segmentlog.Entry // scratch for the entries of one append
	obs   Observer           // told how long appends and syncs take
}

var (
	_ raft.LogStorage = (*coreLog)(nil)
	_ LogStore        = (*segmentlog.Log)(nil)
)

// newCoreLog shows log, as it is now, with snap its newest snapshot, to a
// core. The log must hold snap's entry or start right after it.
func newCoreLog(log LogStore, snap raft.SnapshotMeta, obs Observer) *coreLog {
	return &coreLog{log: log, first: log.FirstIndex(), last: max(log.LastIndex(), snap.Index), snap: snap, obs: obs}
}

func (s *coreLog) FirstIndex() uint64          { return s.first }
func (s *coreLog) LastIndex() uint64           { return s.last }
func (s *coreLog) Snapshot() raft.SnapshotMeta { return s.snap }

// compacted records a snapshot saved at snap, after which the log's
// entries before first were removed. It runs on the Run goroutine.
func (s *coreLog) compacted(snap raft.SnapshotMeta, first uint64) {
	if snap.Index > s.snap.Index {
		s.snap = snap
	}
	s.first = max(s.first, first)
}

// install empties the log for snap, installed from the leader; the
// entries of the same write follow it. It runs on the persister goroutine.
func (s *coreLog) install(snap raft.SnapshotMeta) error {
	if err := s.log.Reset(snap.Index + 1); err != nil {
		return err
	}
	return nil
}

// installed shows the core the log as install left it: empty after snap.
// It runs on the Run goroutine.
func (s *coreLog) installed(snap raft.SnapshotMeta) {
	s.snap = snap
	s.first, s.last = snap.Index+1, snap.Index
	s.recent = nil
}

// cached returns the entries [lo, hi) from recent; false when recent does
// not hold all of them.
func (s *coreLog) cached(lo, hi uint64) ([]raft.Entry, bool) {
	if len(s.recent) == 0 || lo < s.recent[0].Index || lo >= hi {
		return nil, false
	}
	first := s.recent[0].Index
	if hi-first > uint64(len(s.recent)) {
		return nil, false
	}
	return s.recent[lo-first : hi-first : hi-first], true
}

func (s *coreLog) Term(i uint64) (uint64, error) {
	if i == 0 {
		return 0, nil
	}
	if i == s.snap.Index {
		return s.snap.Term, nil
	}
	if i < s.first {
		return 0, fmt.Errorf("%w: term of %d, first index %d", raft.ErrCompacted, i, s.first)
	}
	if es, ok := s.cached(i, i+1); ok {
		return es[0].Term, nil
	}
	if i > s.last {
		return 0, fmt.Errorf("%w: term of %d, last index %d", raft.ErrUnavailable, i, s.last)
	}
	t, err := s.log.Term(i)
	if errors.Is(err, segmentlog.ErrOutOfRange) {
		return 0, fmt.Errorf("%w: %w", raft.ErrUnavailable, err)
	}
	return t, err
}

func (s *coreLog) Entries(lo, hi, maxBytes uint64) ([]raft.Entry, error) {
	if es, ok := s.cached(lo, hi); ok {
		return raft.LimitSize(es, maxBytes, true), nil
	}
	if lo < s.first {
		return nil, fmt.Errorf("%w: entries from %d, first index %d", raft.ErrCompacted, lo, s.first)
	}
	if hi > s.last+1 {
		return nil, fmt.Errorf("%w: entries [%d, %d), last index %d", raft.ErrUnavailable, lo, hi, s.last)
	}
	es, err := s.log.Entries(lo, hi, maxBytes)
	if errors.Is(err, segmentlog.ErrOutOfRange) {
		return nil, fmt.Errorf("%w: %w", raft.ErrUnavailable, err)
	}
	if err != nil {
		return nil, err
	}
	// The segment log counts payload bytes only; the core also counts a
	// fixed overhead per entry, so that a run of empty no-ops stays bounded.
	out := make([]raft.Entry, 0, len(es))
	var size uint64
	for _, e := range es {
		size += uint64(len(e.Data)) + raft.EntryOverhead
		if len(out) > 0 && size > maxBytes {
			break
		}
		out = append(out, raft.Entry{Term: e.Term, Index: e.Index, Type: raft.EntryType(e.Type), Data: e.Data})
	}
	return out, nil
}

// write makes entries durable, first cutting off any conflicting suffix
// they replace (Ready contract, step 1). It runs on the persister
// goroutine; the core sees the entries once stable is called with them.
func (s *coreLog) write(entries []raft.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if first := entries[0].Index; first <= s.log.LastIndex() {
		if err := s.log.TruncateSuffix(first); err != nil {
			return err
		}
	}
	s.batch = s.batch[:0]
	for _, e := range entries {
		s.batch = append(s.batch, segmentlog.Entry{Term: e.Term, Index: e.Index, Type: uint8(e.Type), Data: e.Data})
	}
	start := time.Now()
	err := s.log.Append(s.batch)
	clear(s.batch) // drop the references to Data
	if err != nil {
		return err
	}
	appended := time.Now()
	s.obs.LogWritten(appended.Sub(start))
	if err := s.log.Sync(); err != nil {
		return err
	}
	s.obs.LogSynced(time.Since(appended))
	return nil
}

// forget stops showing the core the entries from first on, which a write
// the core did not take has overwritten on disk: the core reads none of
// them until a later write it takes shows them again (stable). It runs on
// the Run goroutine.
func (s *coreLog) forget(first uint64) {
	s.last = min(s.last, first-1)
	if len(s.recent) > 0 && first <= s.recent[len(s.recent)-1].Index {
		keep := max(0, int(first)-int(s.recent[0].Index))
		s.recent = s.recent[:keep:keep]
	}
}

// stable shows the core entries that write has made durable, from
// entries[0].Index on: they replace what the core saw there, and the
// newest stay in recent. It runs on the Run goroutine.
func (s *coreLog) stable(entries []raft.Entry) {
	if len(entries) == 0 {
		return
	}
	first := entries[0].Index
	s.last = entries[len(entries)-1].Index
	switch {
	case len(s.recent) == 0 || first < s.recent[0].Index:
		s.recent = nil
	case first <= s.recent[len(s.recent)-1].Index:
		// A truncation: the entries from first on are replaced. Copy, as
		// slices handed out earlier may still be read.
		keep := s.recent[:first-s.recent[0].Index]
		s.recent = append(keep[:len(keep):len(keep)], entries...)
		return
	case first != s.recent[len(s.recent)-1].Index+1:
		s.recent = nil
	}
	if len(s.recent)+len(entries) > 2*recentEntries {
		// Start a new array with the newest recentEntries: slices handed
		// out of the old one stay valid, and the cost is amortized.
		keep := s.recent[max(0, len(s.recent)-recentEntries):]
		s.recent = append(make([]raft.Entry, 0, 2*recentEntries+len(entries)), keep...)
	}
	s.recent = append(s.recent, entries...)
}
