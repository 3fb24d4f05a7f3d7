package segmentlog

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// spareName is the temporary name of the segment file made ahead of need.
// It ends like every unfinished segment, so Open deletes one a crash left.
const spareName = "spare" + segmentExt + tempExt

// fillChunk is how many zeros zeroFill writes before it waits for them to
// reach the disk. A spare is made while the Raft loop syncs the active
// segment, and every sync waits for the disk to take what was queued
// before it: writing back a chunk at a time keeps that to about 1 MiB
// instead of a whole segment (measured: a 64 MiB flush stalled a
// concurrent one-entry sync for 200-270 ms, chunks for under 80 ms).
const fillChunk = 1 << 20

// errAbandoned is the error of a spare abandoned by Close.
var errAbandoned = errors.New("spare segment abandoned")

// fillFunc writes zeros over [from, to) of f and makes them durable,
// giving up with errAbandoned once stop (when not nil) is set.
type fillFunc func(f *os.File, from, to int64, stop *atomic.Bool) error

// spare is the next segment file, made by a goroutine while the active one
// fills, so that a rotation only renames it into place (doc.go, Segment
// files). Its fields other than path, size, stop and done belong to the
// goroutine until done is closed.
type spare struct {
	path string        // temporary name, in the log's directory
	size int64         // bytes the file is made with
	stop atomic.Bool   // set to abandon the file (Close)
	done chan struct{} // closed once f or err is set
	f    *os.File      // the finished file, open read-write; nil when err is set
	err  error         // why it could not be made; its file is then removed
}

// startSpare makes the file at path in the background.
func startSpare(path string, size int64, fill fillFunc) *spare {
	sp := &spare{path: path, size: size, done: make(chan struct{})}
	go func() {
		defer close(sp.done)
		sp.f, sp.err = makeSegmentFile(path, size, fill, &sp.stop)
	}()
	return sp
}

// wait returns the finished file, or nil once the spare failed.
func (sp *spare) wait() *os.File {
	<-sp.done
	return sp.f
}

// abandon stops the goroutine and deletes the file.
func (sp *spare) abandon() error {
	sp.stop.Store(true)
	f := sp.wait()
	if f == nil {
		return nil
	}
	return errors.Join(f.Close(), os.Remove(sp.path))
}

// makeSegmentFile creates a segment file of size bytes at path, every one
// of them written as zero and durable, and returns it open read-write. On
// failure it deletes what it made.
func makeSegmentFile(path string, size int64, fill fillFunc, stop *atomic.Bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	// fallocate reserves every block at once, so a full disk fails here
	// before a byte is written; the zeros then turn the reserved blocks
	// into written ones (see zeroFill). A filesystem without fallocate
	// gets its blocks from the zeros alone.
	err = unix.Fallocate(int(f.Fd()), 0, 0, size)
	if err == nil || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		err = fill(f, 0, size, stop)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("allocate %d bytes: %w", size, err)
	}
	return f, nil
}

// zeroFill is the fillFunc of a Log: it preallocates by writing zeros, so
// that every block is reserved (a full disk is an error here, never a
// SIGBUS on a mapped page later) and already written. fallocate(2) only
// reserves: its blocks stay "unwritten" until written, and turning them
// into written blocks is a metadata change that each sync of a new page
// must carry too — on ext4 with a journal a second journal commit and
// cache flush per sync (measured: twice the flushes at 16 and 128 entries
// per sync), without one an extra metadata write. Written zeros cost one
// more write of the segment, in the background.
//
// The zeros go out one 4 KiB page per write. Linux caches a write in a
// folio as large as the write, and a page dirtied later through the
// mapping makes its whole folio dirty: a segment written in 1 MiB writes
// made every sync write 1 MiB (measured: 2,048 sectors per one-entry sync,
// 8 with 4 KiB writes).
func zeroFill(f *os.File, from, to int64, stop *atomic.Bool) error {
	zeros := make([]byte, pageSize)
	fd := int(f.Fd())
	for off := from; off < to; {
		if stop != nil && stop.Load() {
			return errAbandoned
		}
		end := min(to, (off/fillChunk+1)*fillChunk)
		for p := off; p < end; {
			// Up to the next page boundary, so that every write covers
			// one page at most.
			n := min((p/pageSize+1)*pageSize, end) - p
			if _, err := f.WriteAt(zeros[:n], p); err != nil {
				return err
			}
			p += n
		}
		// Only pacing: the Fdatasync below is what makes the zeros
		// durable, so a kernel without sync_file_range loses nothing else.
		err := unix.SyncFileRange(fd, off, end-off, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
		if err != nil && !errors.Is(err, unix.ENOSYS) {
			return err
		}
		off = end
	}
	return unix.Fdatasync(fd)
}
