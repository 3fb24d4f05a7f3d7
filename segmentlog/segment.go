package segmentlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/edsrzf/mmap-go"
	"golang.org/x/sys/unix"
)

const (
	segmentExt    = ".seg"
	tempExt       = ".tmp"
	segmentDigits = 20 // enough for any uint64, so names sort as numbers

	pageSize = 4096 // segment sizes are multiples of it
)

// sysPageSize aligns msync ranges, which must start on a page of the
// running system (4 KiB on most, larger on some arm64 kernels).
var sysPageSize = int64(os.Getpagesize())

// segment is one file of the log, mapped whole into memory.
type segment struct {
	seq     uint32    // creation order within this Log; loc.seg refers to it
	first   uint64    // index of its first record, which names the file
	path    string    // file path, for errors
	f       *os.File  // open read-write for fdatasync and growth
	data    mmap.MMap // the whole file, read-write; nil while the file is empty
	end     int64     // offset just past the last record: where the next goes
	dirtyLo int64     // start of the bytes written since they were last made durable
	dirtyHi int64     // end of that range; dirtyHi <= dirtyLo means nothing to sync
}

func segmentName(first uint64) string {
	return fmt.Sprintf("%0*d%s", segmentDigits, first, segmentExt)
}

// parseSegmentName returns the first index a segment file name encodes.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(digits) != segmentDigits {
		return 0, false
	}
	first, err := strconv.ParseUint(digits, 10, 64)
	return first, err == nil
}

// listSegments returns the first indexes of dir's segments in order. It
// deletes temporary files left by a rotation that crashed before its rename:
// such a file never held a record.
func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var firsts []uint64
	removed := false
	for _, ent := range ents {
		name := ent.Name()
		if strings.HasSuffix(name, segmentExt+tempExt) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("remove unfinished segment: %w", err)
			}
			removed = true
			continue
		}
		if first, ok := parseSegmentName(name); ok && ent.Type().IsRegular() {
			firsts = append(firsts, first)
		}
	}
	if removed {
		if err := syncDir(dir); err != nil {
			return nil, fmt.Errorf("sync data dir: %w", err)
		}
	}
	slices.Sort(firsts)
	return firsts, nil
}

// openSegment opens and maps an existing segment file.
func openSegment(path string, first uint64, seq uint32) (*segment, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open segment: %w", err)
	}
	s := &segment{seq: seq, first: first, path: path, f: f}
	if err := s.mapFile(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// mapFile maps the file at its current size, replacing any old mapping.
func (s *segment) mapFile() error {
	if err := s.unmap(); err != nil {
		return err
	}
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("segment %s: %w", s.path, err)
	}
	if fi.Size() == 0 {
		return nil // mmap refuses empty files; an empty segment has no bytes to read
	}
	if fi.Size() > maxSegmentSize+pageSize {
		return fmt.Errorf("segment %s: offset 0: size %d is larger than any segment: %w", s.path, fi.Size(), ErrCorrupt)
	}
	m, err := mmap.Map(s.f, mmap.RDWR, 0)
	if err != nil {
		return fmt.Errorf("map segment %s: %w", s.path, err)
	}
	s.data = m
	return nil
}

func (s *segment) unmap() error {
	if s.data == nil {
		return nil
	}
	if err := s.data.Unmap(); err != nil {
		return fmt.Errorf("unmap segment %s: %w", s.path, err)
	}
	return nil
}

// close releases the mapping and the file. Unmapping does not lose data:
// the pages stay in the page cache and are written back by the kernel.
func (s *segment) close() error {
	return errors.Join(s.unmap(), s.f.Close())
}

func (s *segment) size() int64 { return int64(len(s.data)) }

// markDirty widens the range the next sync must flush.
func (s *segment) markDirty(lo, hi int64) {
	if s.dirtyHi <= s.dirtyLo {
		s.dirtyLo, s.dirtyHi = lo, hi
		return
	}
	s.dirtyLo = min(s.dirtyLo, lo)
	s.dirtyHi = max(s.dirtyHi, hi)
}

// sync makes the dirty range durable. msync with MS_SYNC on Linux is a
// datasync of exactly those pages of the file.
func (s *segment) sync(msync func([]byte, int) error) error {
	if s.dirtyHi <= s.dirtyLo {
		return nil
	}
	lo := s.dirtyLo / sysPageSize * sysPageSize
	if err := msync(s.data[lo:s.dirtyHi], unix.MS_SYNC); err != nil {
		return fmt.Errorf("sync segment %s: %w", s.path, err)
	}
	s.dirtyLo, s.dirtyHi = 0, 0
	return nil
}

// zero clears the nonzero bytes in [lo, hi) and marks them dirty. It leaves
// zero pages alone: writing them would dirty, and then flush, the whole
// preallocated rest of a segment.
func (s *segment) zero(lo, hi int64) {
	for lo < hi {
		next := min(hi, (lo/pageSize+1)*pageSize)
		if chunk := s.data[lo:next]; !allZero(chunk) {
			clear(chunk)
			s.markDirty(lo, next)
		}
		lo = next
	}
}
