package segmentlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// Entry is one Raft log entry as the log stores it.
type Entry struct {
	Term  uint64 // term of the leader that created the entry
	Index uint64 // position in the log, from 1
	Type  uint8  // opaque to the log (raft's EntryNormal=0 / EntryNoop=1)
	Data  []byte // payload; the log copies it in and out
}

// Options tune a Log.
type Options struct {
	SegmentSize int64 // bytes per segment file, preallocated; 0 → 64 MiB; records bigger than a segment get a segment of their own sized to fit
}

const (
	defaultSegmentSize = 64 << 20
	maxSegmentSize     = 1 << 30 // keeps offsets and the batch field inside a u32
)

var (
	// ErrOutOfRange is returned for an index the log does not hold.
	ErrOutOfRange = errors.New("index out of range")
	// ErrFailed is returned once a write or sync has failed: after a failed
	// fsync the kernel may have dropped the dirty pages, so the log stops
	// (fail-stop) instead of retrying and believing a later sync.
	ErrFailed = errors.New("log failed")

	errClosed = errors.New("log closed")
)

// Log is the write-ahead log: entries in segment files mapped into memory,
// found by index in O(1) through a table of record offsets. It is safe for
// concurrent use; readers share a lock, writers hold it alone.
type Log struct {
	mu         sync.RWMutex // guards everything below; readers share it
	dir        string       // directory of the segment files
	segSize    int64        // size of a new segment file
	segs       []*segment   // oldest first; empty exactly when the log is
	nextSeq    uint32       // seq of the next segment created or opened
	first      uint64       // index of the first entry, when there is one or the log is pinned
	pinned     bool         // set by Reset: an empty log starts at first, not wherever the next Append says
	locs       []loc        // locs[i-first] is where entry i is
	batchStart uint64       // first index appended since the log was last durable
	failed     error        // first write or sync error; writes are refused after it
	closed     bool         // Close was called; nothing is mapped any more
	spare      *spare       // the next segment file, being made or ready; nil when none is under way

	fill   fillFunc                        // zeroFill; tests inject ENOSPC
	msync  func(b []byte, flags int) error // unix.Msync; tests inject I/O errors
	remove func(name string) error         // os.Remove; tests see each segment deleted, or fail it
}

// loc places one record: which segment and where in it.
type loc struct {
	seg uint32 // the segment's seq
	off uint32 // byte offset of the record in the segment
}

// Open opens the log in dir, creating dir if needed. It reads every segment
// to rebuild the offset table, cuts off a torn write at the tail of the last
// segment, and refuses (an error wrapping ErrCorrupt that names the file and
// offset) damage anywhere else.
func Open(dir string, opts Options) (*Log, error) {
	segSize := opts.SegmentSize
	if segSize == 0 {
		segSize = defaultSegmentSize
	}
	if segSize < 0 || segSize > maxSegmentSize {
		return nil, fmt.Errorf("open log: segment size %d is not in (0, %d]", segSize, maxSegmentSize)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	l := &Log{
		dir:     dir,
		segSize: alignUp(segSize, pageSize),
		fill:    zeroFill,
		msync:   unix.Msync,
		remove:  os.Remove,
	}
	if err := l.load(); err != nil {
		for _, s := range l.segs {
			s.close()
		}
		return nil, err
	}
	l.maybeStartSpare()
	if l.active() == nil && l.spare != nil {
		// An empty log's first Append needs the spare: make it now, so a
		// new node's first write (a leader's no-op, a follower's ack)
		// does not wait for a segment of zeros while its peers' election
		// timers run out.
		l.spare.wait()
	}
	return l, nil
}

// FirstIndex returns the first entry's index; LastIndex()+1 when empty:
// the index given to Reset, or 1 when the log was not Reset since Open.
func (l *Log) FirstIndex() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.locs) == 0 && !l.pinned {
		return 1
	}
	return l.first
}

// LastIndex returns the last entry's index; when empty, FirstIndex()-1.
func (l *Log) LastIndex() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.lastIndex()
}

func (l *Log) lastIndex() uint64 {
	if len(l.locs) == 0 {
		if l.pinned {
			return l.first - 1
		}
		return 0
	}
	return l.first + uint64(len(l.locs)) - 1
}

// Term returns entry i's term.
func (l *Log) Term(i uint64) (uint64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	rec, err := l.recordAt(i)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(rec[offTerm:]), nil
}

// Entry returns entry i, its Data copied out of the mapping.
func (l *Log) Entry(i uint64) (Entry, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	rec, err := l.recordAt(i)
	if err != nil {
		return Entry{}, err
	}
	var data []byte
	if len(rec) > headerSize {
		data = append([]byte(nil), rec[headerSize:]...)
	}
	return entryFrom(rec, data), nil
}

// Entries returns the entries in [lo, hi): at least one when lo < hi, then
// as many more as keep the total size of their Data within maxBytes.
func (l *Log) Entries(lo, hi uint64, maxBytes uint64) ([]Entry, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, errClosed
	}
	if lo > hi || (lo < hi && (len(l.locs) == 0 || lo < l.first || hi-1 > l.lastIndex())) {
		return nil, fmt.Errorf("%w: [%d, %d) not within [%d, %d]", ErrOutOfRange, lo, hi, l.first, l.lastIndex())
	}
	// Size the batch first so that all payloads share one allocation.
	var recs [][]byte
	var total uint64
	for i := lo; i < hi; i++ {
		rec, err := l.recordAt(i)
		if err != nil {
			return nil, err
		}
		n := uint64(len(rec) - headerSize)
		if len(recs) > 0 && total+n > maxBytes {
			break
		}
		recs = append(recs, rec)
		total += n
	}
	buf := make([]byte, 0, total)
	es := make([]Entry, len(recs))
	for k, rec := range recs {
		var data []byte
		if len(rec) > headerSize {
			start := len(buf)
			buf = append(buf, rec[headerSize:]...)
			data = buf[start:len(buf):len(buf)]
		}
		es[k] = entryFrom(rec, data)
	}
	return es, nil
}

func entryFrom(rec, data []byte) Entry {
	return Entry{
		Term:  binary.LittleEndian.Uint64(rec[offTerm:]),
		Index: binary.LittleEndian.Uint64(rec[offIndex:]),
		Type:  rec[offType],
		Data:  data,
	}
}

// recordAt returns entry i's record bytes, header and payload, straight from
// the offset table: no other record is read.
func (l *Log) recordAt(i uint64) ([]byte, error) {
	if l.closed {
		return nil, errClosed
	}
	if len(l.locs) == 0 || i < l.first || i > l.lastIndex() {
		return nil, fmt.Errorf("%w: %d not within [%d, %d]", ErrOutOfRange, i, l.first, l.lastIndex())
	}
	at := l.locs[i-l.first]
	seg := l.segs[at.seg-l.segs[0].seq]
	// The record was checked when it was written or scanned; the bounds are
	// checked again so that a file changed under the mapping cannot panic.
	buf := seg.data[min(int(at.off), len(seg.data)):]
	if len(buf) < headerSize {
		return nil, fmt.Errorf("segment %s: offset %d: record header past the end: %w", seg.path, at.off, ErrCorrupt)
	}
	length := binary.LittleEndian.Uint32(buf[offLength:])
	if length < headerSize || uint64(length) > uint64(len(buf)) {
		return nil, fmt.Errorf("segment %s: offset %d: bad length %d: %w", seg.path, at.off, length, ErrCorrupt)
	}
	return buf[:length], nil
}

// Append writes es after the last entry. es must be contiguous and start at
// LastIndex()+1; an empty log that was not Reset accepts any first index
// from 1 (a node restarted after a snapshot continues after it; one Reset
// to next accepts only next). Nothing is durable until Sync. An
// I/O error (a full disk when a new segment is allocated) fails the log.
func (l *Log) Append(es []Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if len(es) == 0 {
		return nil
	}
	if err := l.checkAppend(es); err != nil {
		return err
	}
	if len(l.locs) == 0 {
		l.first, l.batchStart = es[0].Index, es[0].Index
	}
	for _, e := range es {
		if err := l.appendOne(e); err != nil {
			return l.fail(err)
		}
	}
	l.maybeStartSpare()
	return nil
}

// checkAppend validates the whole batch before any of it is written.
func (l *Log) checkAppend(es []Entry) error {
	want := l.lastIndex() + 1
	if len(l.locs) == 0 && !l.pinned {
		want = max(es[0].Index, 1)
	}
	for k, e := range es {
		if e.Index != want+uint64(k) {
			return fmt.Errorf("append: entry %d has index %d, want %d", k, e.Index, want+uint64(k))
		}
		if len(e.Data) > maxDataLen {
			return fmt.Errorf("append: entry %d: %d bytes of data is more than %d", e.Index, len(e.Data), maxDataLen)
		}
	}
	return nil
}

func (l *Log) appendOne(e Entry) error {
	size := paddedSize(len(e.Data))
	seg := l.active()
	if seg == nil || seg.size()-seg.end < size {
		var err error
		if seg, err = l.rotate(e.Index, size); err != nil {
			return err
		}
	}
	putRecord(seg.data[seg.end:seg.end+size], e, uint32(e.Index-l.batchStart))
	l.locs = append(l.locs, loc{seg: seg.seq, off: uint32(seg.end)})
	seg.markDirty(seg.end, seg.end+size)
	seg.end += size
	return nil
}

func (l *Log) active() *segment {
	if len(l.segs) == 0 {
		return nil
	}
	return l.segs[len(l.segs)-1]
}

// rotate starts a new segment for the record of entry index, size bytes.
// The old segment is made durable first, so only the last segment can ever
// hold records that are not on disk: the torn-write rule needs no more.
func (l *Log) rotate(index uint64, size int64) (*segment, error) {
	if old := l.active(); old != nil {
		if err := old.sync(l.msync); err != nil {
			return nil, err
		}
	}
	seg, err := l.createSegment(index, max(l.segSize, alignUp(size, pageSize)))
	if err != nil {
		return nil, err
	}
	l.segs = append(l.segs, seg)
	l.batchStart = index
	return seg, nil
}

// createSegment puts a segment file of size bytes, preallocated with zeros
// and synced, in place for entry first: the spare when it is ready and of
// that size (waiting for it if it is still being made), else a file made
// now. Either way it is made under a temporary name and renamed into
// place, so a crash never leaves a short segment.
func (l *Log) createSegment(first uint64, size int64) (*segment, error) {
	path := filepath.Join(l.dir, segmentName(first))
	f, tmp := l.takeSpare(size)
	if f == nil {
		tmp = path + tempExt
		var err error
		if f, err = makeSegmentFile(tmp, size, l.fill, nil); err != nil {
			return nil, fmt.Errorf("create segment %s: %w", path, err)
		}
	}
	fail := func(err error) (*segment, error) {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if err := syncDir(l.dir); err != nil {
		return fail(err)
	}
	seg := &segment{seq: l.nextSeq, first: first, path: path, f: f}
	l.nextSeq++
	if err := seg.mapFile(); err != nil {
		f.Close()
		return nil, err
	}
	return seg, nil
}

// takeSpare hands over the spare, once it is finished, if it has the size
// wanted, with its temporary path. It returns a nil file when there is no
// such spare or it failed: a full disk then shows in making the segment
// again, which may also succeed if space was freed meanwhile.
func (l *Log) takeSpare(size int64) (*os.File, string) {
	sp := l.spare
	if sp == nil || sp.size != size {
		return nil, ""
	}
	l.spare = nil
	return sp.wait(), sp.path
}

// maybeStartSpare starts making the next segment file when none is under
// way and one will be needed: the log is empty (the first Append needs
// it), or the active segment is a quarter full. Waiting for the quarter
// spares a restarted node, whose active segment may hold little, writing
// a segment's worth of zeros it may not need for a long time, and still
// leaves the spare three quarters of a segment's appends to be made in.
func (l *Log) maybeStartSpare() {
	if l.spare != nil || l.failed != nil || l.closed {
		return
	}
	if seg := l.active(); seg != nil && seg.end < seg.size()/4 {
		return
	}
	l.spare = startSpare(filepath.Join(l.dir, spareName), l.segSize, l.fill)
}

// Sync makes everything appended durable: one msync of the active segment's
// written range (earlier segments were synced when the log moved past them).
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	if seg := l.active(); seg != nil {
		if err := seg.sync(l.msync); err != nil {
			return l.fail(err)
		}
	}
	l.batchStart = l.lastIndex() + 1
	return nil
}

// Close syncs what was appended, unless the log has failed, and releases
// the segments. Calls after the first do nothing.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	if seg := l.active(); seg != nil && l.failed == nil {
		errs = append(errs, seg.sync(l.msync))
	}
	if l.spare != nil {
		errs = append(errs, l.spare.abandon())
		l.spare = nil
	}
	for _, s := range l.segs {
		errs = append(errs, s.close())
	}
	l.segs, l.locs = nil, nil
	return errors.Join(errs...)
}

func (l *Log) writable() error {
	if l.closed {
		return errClosed
	}
	if l.failed != nil {
		return fmt.Errorf("%w: %w", ErrFailed, l.failed)
	}
	return nil
}

// fail records the first I/O error; from then on every write returns it.
func (l *Log) fail(err error) error {
	if l.failed == nil {
		l.failed = err
	}
	return fmt.Errorf("%w: %w", ErrFailed, err)
}
