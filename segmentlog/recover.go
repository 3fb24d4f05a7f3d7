package segmentlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	for k, first := range firsts {
		path := filepath.Join(l.dir, segmentName(first))
		seg, err := openSegment(path, first, l.nextSeq)
		if err != nil {
			return err
		}
		l.nextSeq++
		l.segs = append(l.segs, seg)
		if k == 0 {
			l.first = first
		} else if want := l.lastIndex() + 1; first != want {
			return corruptAt(path, 0, "first index %d does not follow index %d of the previous segment", first, want-1)
		}
		if k < len(firsts)-1 {
			err = l.scanSealed(seg)
		} else {
			err = l.scanLast(seg)
		}
		if err != nil {
			return err
		}
	}
	l.batchStart = l.lastIndex() + 1
	return nil
}

// scanRecords adds seg's records to the offset table up to the first one
// that is not valid or does not follow, and returns where it stopped, the
// error describing the record there (errEnd at a clean end) and that
// record's length field when it is one.
func (l *Log) scanRecords(seg *segment) (off int64, bad record, err error) {
	next := seg.first
	for off < seg.size() {
		rec, err := decodeRecord(seg.data[off:])
		if err != nil {
			return off, rec, err
		}
		if rec.Index != next {
			return off, rec, fmt.Errorf("index %d does not follow %d", rec.Index, next-1)
		}
		l.locs = append(l.locs, loc{seg: seg.seq, off: uint32(off)})
		off += alignUp(int64(rec.length), recordAlign)
		next++
	}
	return off, record{}, errEnd
}

// scanSealed scans a segment the log has moved past. It was made durable
// before the next segment was started, so any damage is corruption.
func (l *Log) scanSealed(seg *segment) error {
	before := len(l.locs)
	off, _, err := l.scanRecords(seg)
	if !errors.Is(err, errEnd) {
		return corruptAt(seg.path, off, "%v", err)
	}
	if len(l.locs) == before {
		return corruptAt(seg.path, 0, "no records in a segment that is not the last")
	}
	if rest := restAfterEnd(seg.data, off); !allZero(seg.data[rest:]) {
		return corruptAt(seg.path, firstNonZero(seg.data, rest), "data after the last record")
	}
	seg.end = off
	return nil
}

// scanLast scans the segment being written when the log was last closed or
// crashed. A bad record there is a torn write when the bytes say it can be
// one (see tornWrite), and a zero length ends the records unless records
// synced after it follow; the tail is then cut off durably. Afterwards the
// segment is grown back to full size if a crash or a tool shortened it, or
// removed if no record is left in it.
func (l *Log) scanLast(seg *segment) error {
	before := len(l.locs)
	off, bad, err := l.scanRecords(seg)
	want := seg.first + uint64(len(l.locs)-before)
	leftovers := true
	if errors.Is(err, errEnd) {
		rest := restAfterEnd(seg.data, off)
		leftovers = !allZero(seg.data[rest:])
		if leftovers && rest == off {
			if _, synced := validAfter(seg.data, off+recordAlign, want); synced {
				return corruptAt(seg.path, off, "zero length followed by records synced after it")
			}
		}
	} else if !tornWrite(seg.data, off, bad, err, want) {
		return corruptAt(seg.path, off, "%v", err)
	}
	if leftovers {
		if err := l.cut(seg, off, seg.size()); err != nil {
			return fmt.Errorf("repair torn write: %w", err)
		}
	}
	seg.end = off
	if len(l.locs) == before {
		return l.removeEmptyLast(seg)
	}
	if seg.size() >= l.segSize {
		return nil
	}
	if err := allocate(seg.f, l.segSize, l.fallocate); err != nil {
		return fmt.Errorf("grow segment %s: %w", seg.path, err)
	}
	if err := seg.f.Sync(); err != nil {
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
