package segmentlog

import (
	"fmt"
)

// TruncateSuffix removes the entries with index >= from (a suffix that
// conflicts with the leader's log), durably before it returns: later segment
// files are deleted, newest first, then the removed records of the segment
// that keeps entries are zeroed and synced. A crash part way leaves a prefix
// of the old log, never a gap. from <= FirstIndex() empties the log; one that
// was Reset keeps its FirstIndex, so the next Append must start there.
func (l *Log) TruncateSuffix(from uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if len(l.locs) == 0 || from > l.lastIndex() {
		return nil
	}
	// Everything before from becomes durable here too, so the records
	// appended next start a new batch.
	if err := l.active().sync(l.msync); err != nil {
		return l.fail(err)
	}
	for len(l.segs) > 0 && l.active().first >= from {
		if err := l.dropLast(); err != nil {
			return l.fail(err)
		}
	}
	if len(l.segs) == 0 {
		l.locs = nil
		return nil
	}
	l.batchStart = from
	if from > l.lastIndex() {
		return nil // from was the first entry of a deleted segment
	}
	seg := l.active()
	off := int64(l.locs[from-l.first].off)
	if err := l.cut(seg, off, seg.end); err != nil {
		return l.fail(fmt.Errorf("truncate suffix: %w", err))
	}
	seg.end = off
	l.locs = l.locs[:from-l.first]
	return nil
}

// dropLast deletes the last segment and its entries from the table.
func (l *Log) dropLast() error {
	seg := l.active()
	l.segs = l.segs[:len(l.segs)-1]
	l.locs = l.locs[:seg.first-l.first]
	return l.removeSegment(seg)
}

// Reset empties the log for a snapshot that replaces it (InstallSnapshot):
// afterwards FirstIndex() is next, LastIndex() is next-1, and the next
// Append must start at next. The segment files are deleted newest first,
// the directory synced after each, so a crash part way leaves a prefix of
// the old log, never a gap. Nothing on disk records next: once every file
// is gone, Open finds an empty log starting at 1, and the caller, which
// keeps the snapshot, calls Reset again after a restart.
func (l *Log) Reset(next uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if next == 0 {
		return fmt.Errorf("reset: next index 0; the first index is 1")
	}
	// The newest segment is the only one that may hold unsynced records,
	// and it goes first: what is left at any moment was synced.
	for len(l.segs) > 0 {
		if err := l.dropLast(); err != nil {
			return l.fail(fmt.Errorf("reset: %w", err))
		}
	}
	l.locs = nil
	l.first, l.pinned, l.batchStart = next, true, next
	l.maybeStartSpare()
	return nil
}

// TruncatePrefix deletes, oldest first, the segment files all of whose
// entries are below below, and moves FirstIndex to the first entry left. The
// segment holding the last entry stays, so this never empties the log.
func (l *Log) TruncatePrefix(below uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	n := 0
	for n+1 < len(l.segs) && l.segs[n+1].first <= below {
		n++
	}
	if n == 0 {
		return nil
	}
	drop := l.segs[:n]
	l.segs = l.segs[n:]
	// A fresh table, so the dropped prefix's memory is released.
	l.locs = append([]loc(nil), l.locs[l.segs[0].first-l.first:]...)
	l.first = l.segs[0].first
	for k, seg := range drop {
		if err := l.removeSegment(seg); err != nil {
			// Deleting the newer ones now would leave a gap on disk.
			for _, rest := range drop[k+1:] {
				rest.close()
			}
			return l.fail(err)
		}
	}
	return nil
}

// removeSegment closes and deletes a segment file. The directory is synced
// after each one: deletions reaching the disk out of order could otherwise
// leave a gap between segments, which Open would take for corruption.
func (l *Log) removeSegment(seg *segment) error {
	if err := seg.close(); err != nil {
		return err
	}
	if err := l.remove(seg.path); err != nil {
		return fmt.Errorf("remove segment: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		return fmt.Errorf("remove segment %s: %w", seg.path, err)
	}
	return nil
}
