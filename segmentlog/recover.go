package segmentlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// sectorSize is the unit a disk writes atomically. A write torn by a crash
// leaves whole sectors of the unsynced range unwritten, and unwritten bytes
// of a segment read as zeros: preallocation, repair and TruncateSuffix keep
// everything past the last record zero on disk.
const sectorSize = 512

// corruptAt builds the error for damage the log cannot repair.
func corruptAt(path string, off int64, format string, args ...any) error {
	return fmt.Errorf("segment %s: offset %d: %s: %w", path, off, fmt.Sprintf(format, args...), ErrCorrupt)
}

// load opens and scans every segment in l.dir, oldest first.
func (l *Log) load() error {
	firsts, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	for _, first := range firsts {
		seg, err := openSegment(filepath.Join(l.dir, segmentName(first)), first, l.nextSeq)
		if err != nil {
			return err
		}
		l.nextSeq++
		l.segs = append(l.segs, seg)
	}
	scans := scanAll(l.segs)
	total := 0
	for _, sc := range scans {
		total += len(sc.locs)
	}
	l.locs = make([]loc, 0, total)
	// The verdicts are reached in log order, so the error is about the
	// first damage, and nothing is repaired in a log refused further on.
	for k, seg := range l.segs {
		if k == 0 {
			l.first = seg.first
		} else if want := l.lastIndex() + 1; seg.first != want {
			return corruptAt(seg.path, 0, "first index %d does not follow index %d of the previous segment", seg.first, want-1)
		}
		if k < len(l.segs)-1 {
			err = l.scanSealed(seg, scans[k])
		} else {
			err = l.scanLast(seg, scans[k])
		}
		if err != nil {
			return err
		}
	}
	l.batchStart = l.lastIndex() + 1
	return nil
}

// scan is what reading one segment's records found.
type scan struct {
	locs []loc  // the valid records, in order, up to the first that is not
	off  int64  // where the scan stopped: the end of the records, or the bad one
	bad  record // the bad record's length field, when it has one
	err  error  // why the scan stopped there; errEnd at a clean end
	rest int64  // with errEnd: where the bytes after the records begin (past a cut mark)
	zero bool   // with errEnd: every byte from rest on is zero
}

// scanAll reads every segment, on as many cores as the process may use:
// the scans are independent, and checking every record's CRC is most of
// the time Open takes.
func scanAll(segs []*segment) []scan {
	scans := make([]scan, len(segs))
	var wg sync.WaitGroup
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k, seg := range segs {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			scans[k] = scanRecords(seg)
		})
	}
	wg.Wait()
	return scans
}

// scanRecords reads seg's records up to the first one that is not valid
// or does not follow, and returns where it stopped, the error describing
// the record there (errEnd at a clean end) and that record's length field
// when it is one. It only reads the mapping.
func scanRecords(seg *segment) scan {
	var sc scan
	next := seg.first
	for sc.off < seg.size() {
		rec, err := decodeRecord(seg.data[sc.off:])
		if err != nil {
			sc.bad, sc.err = rec, err
			break
		}
		if rec.Index != next {
			sc.bad, sc.err = rec, fmt.Errorf("index %d does not follow %d", rec.Index, next-1)
			break
		}
		sc.locs = append(sc.locs, loc{seg: seg.seq, off: uint32(sc.off)})
		sc.off += alignUp(int64(rec.length), recordAlign)
		next++
	}
	if sc.err == nil || errors.Is(sc.err, errEnd) {
		sc.err = errEnd
		sc.rest = restAfterEnd(seg.data, sc.off)
		sc.zero = allZero(seg.data[sc.rest:])
	}
	return sc
}

// scanSealed scans a segment the log has moved past. It was made durable
// before the next segment was started, so any damage is corruption.
func (l *Log) scanSealed(seg *segment, sc scan) error {
	if !errors.Is(sc.err, errEnd) {
		return corruptAt(seg.path, sc.off, "%v", sc.err)
	}
	if len(sc.locs) == 0 {
		return corruptAt(seg.path, 0, "no records in a segment that is not the last")
	}
	if !sc.zero {
		return corruptAt(seg.path, firstNonZero(seg.data, sc.rest), "data after the last record")
	}
	l.locs = append(l.locs, sc.locs...)
	seg.end = sc.off
	return nil
}

// scanLast scans the segment being written when the log was last closed or
// crashed. A bad record there is a torn write when the bytes say it can be
// one (see tornWrite), and a zero length ends the records unless records
// synced after it follow; the tail is then cut off durably. Afterwards the
// segment is grown back to full size if a crash or a tool shortened it, or
// removed if no record is left in it.
func (l *Log) scanLast(seg *segment, sc scan) error {
	off := sc.off
	want := seg.first + uint64(len(sc.locs))
	leftovers := true
	if errors.Is(sc.err, errEnd) {
		leftovers = !sc.zero
		if leftovers && sc.rest == off {
			if _, synced := validAfter(seg.data, off+recordAlign, want); synced {
				return corruptAt(seg.path, off, "zero length followed by records synced after it")
			}
		}
	} else if !tornWrite(seg.data, off, sc.bad, sc.err, want) {
		return corruptAt(seg.path, off, "%v", sc.err)
	}
	if leftovers {
		if err := l.cut(seg, off, seg.size()); err != nil {
			return fmt.Errorf("repair torn write: %w", err)
		}
	}
	l.locs = append(l.locs, sc.locs...)
	seg.end = off
	if len(sc.locs) == 0 {
		return l.removeEmptyLast(seg)
	}
	if seg.size() >= l.segSize {
		return nil
	}
	if err := l.fill(seg.f, seg.size(), l.segSize, nil); err != nil {
		return fmt.Errorf("grow segment %s: %w", seg.path, err)
	}
	return seg.mapFile()
}

// restAfterEnd returns where the bytes after the end of the records at off
// start: past a cut mark if there is one, else off itself.
func restAfterEnd(buf []byte, off int64) int64 {
	if off+recordAlign <= int64(len(buf)) && binary.LittleEndian.Uint32(buf[off+offCRC:]) == cutMark {
		return off + recordAlign
	}
	return min(off, int64(len(buf)))
}

// removeEmptyLast deletes a last segment without records (a crash right
// after a rotation, or a torn first record): the log then ends with the
// previous segment, or is empty, and Append starts a new one as usual.
func (l *Log) removeEmptyLast(seg *segment) error {
	l.segs = l.segs[:len(l.segs)-1]
	if err := seg.close(); err != nil {
		return err
	}
	if err := os.Remove(seg.path); err != nil {
		return fmt.Errorf("remove empty segment: %w", err)
	}
	return syncDir(l.dir)
}

// tornWrite decides whether the bad record at off in the last segment,
// which should hold entry want, can be the remains of a write that a crash
// interrupted (the rule is in doc.go). Only records appended after the last
// successful sync can be torn, and every record carries how far back that
// sync was (its batch field), so the valid records further on tell which
// case this is:
//
//   - none: a torn tail (a crash can cut anywhere);
//   - one appended after want had been synced: want was durable and is
//     now damaged, so this is corruption;
//   - only records of want's own unsynced batch: the disk wrote later
//     sectors but not all of this record's, which then shows a sector's
//     worth of zeros. Damage without such a hole is corruption.
func tornWrite(buf []byte, off int64, bad record, why error, want uint64) bool {
	// The search starts right after the header, not where the length says:
	// a damaged length must not hide the records after it.
	next, synced := validAfter(buf, off+recordAlign, want)
	length := int64(bad.length)
	switch {
	case next < 0:
		return true
	case synced:
		return false
	case errors.Is(why, errChecksum) && off+length <= next:
		return hasZeroSector(buf, off, off+length)
	default:
		// A whole record with the wrong index, or a length reaching into
		// the next valid record, is not what a lost sector leaves behind.
		return false
	}
}

// validAfter looks for valid records at or after from. It returns the
// offset of the first (-1 if none) and whether any of them was appended
// after entry want had been made durable. Records are followed by their
// lengths; between them (past damage) every aligned offset is tried.
func validAfter(buf []byte, from int64, want uint64) (first int64, synced bool) {
	first = -1
	for p := from; p+headerSize <= int64(len(buf)); {
		rec, err := decodeRecord(buf[p:])
		if err != nil {
			p += recordAlign
			continue
		}
		if first < 0 {
			first = p
		}
		if uint64(rec.batch) > rec.Index || rec.Index-uint64(rec.batch) > want {
			return first, true
		}
		p += alignUp(int64(rec.length), recordAlign)
	}
	return first, false
}

// hasZeroSector reports whether some disk sector's share of [lo, hi) is
// all zeros, the mark of a sector that was never written.
func hasZeroSector(buf []byte, lo, hi int64) bool {
	for lo < hi {
		next := min(hi, (lo/sectorSize+1)*sectorSize)
		if allZero(buf[lo:next]) {
			return true
		}
		lo = next
	}
	return false
}

func firstNonZero(buf []byte, from int64) int64 {
	for i := from; i < int64(len(buf)); i++ {
		if buf[i] != 0 {
			return i
		}
	}
	return int64(len(buf))
}

// cut durably ends the records at off and zeroes the bytes after, up to
// end. A cut mark goes first, in a sync of its own: once it is on disk the
// log ends at off whatever a crash does to the rest of the range.
func (l *Log) cut(seg *segment, off, end int64) error {
	if off+recordAlign > seg.size() {
		seg.zero(off, end) // no room for a record, nor for the mark
		return seg.sync(l.msync)
	}
	binary.LittleEndian.PutUint32(seg.data[off+offLength:], 0)
	binary.LittleEndian.PutUint32(seg.data[off+offCRC:], cutMark)
	seg.markDirty(off, off+recordAlign)
	if err := seg.sync(l.msync); err != nil {
		return err
	}
	seg.zero(off+recordAlign, end)
	return seg.sync(l.msync)
}
