package segmentlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildLog appends entries 1..n of size bytes in synced batches of batch.
func buildLog(t testing.TB, l *Log, n, size, batch int) []Entry {
	t.Helper()
	var want []Entry
	for len(want) < n {
		var es []Entry
		for k := 0; k < batch && len(want) < n; k++ {
			e := entryOf(uint64(len(want)+1), size)
			es = append(es, e)
			want = append(want, e)
		}
		mustAppend(t, l, es...)
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// place is where a record lies in the files.
type place struct {
	path   string
	off    int64 // record start
	length int64 // header and payload
}

func placeOf(l *Log, i uint64) place {
	at := l.locs[i-l.first]
	seg := l.segs[at.seg-l.segs[0].seq]
	rec, _ := l.recordAt(i)
	return place{path: seg.path, off: int64(at.off), length: int64(len(rec))}
}

// copyDir copies the segment files of src into a new temporary directory,
// so each damage case starts from the same bytes.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, path := range segmentFiles(t, src) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(path)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// inDir is p's file as copied into dir.
func inDir(dir string, p place) string { return filepath.Join(dir, filepath.Base(p.path)) }

// checkRecovery opens a damaged copy and checks that it holds exactly
// want, then that an append goes right after it and survives a reopen.
func checkRecovery(t *testing.T, dir string, segSize int64, want []Entry) {
	t.Helper()
	l, err := Open(dir, Options{SegmentSize: segSize})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	checkLog(t, l, want)
	next := Entry{Term: 99, Index: uint64(len(want)) + 1, Data: []byte("after the repair")}
	mustAppend(t, l, next)
	mustClose(t, l)
	l = openLog(t, dir, segSize)
	defer mustClose(t, l)
	checkLog(t, l, append(want[:len(want):len(want)], next))
}

// TestTornTailTruncate cuts the last segment at every byte offset of its
// last records, as a crash in the middle of writing them can: Open keeps
// exactly the records complete before the cut.
func TestTornTailTruncate(t *testing.T) {
	const segSize = 4096
	dir := t.TempDir()
	l := openLog(t, dir, segSize)
	want := buildLog(t, l, 40, 90, 8) // a full segment, then part of another
	tail := []Entry{entryOf(41, 0), entryOf(42, 13), entryOf(43, 70), entryOf(44, 200)}
	mustAppend(t, l, tail...) // one batch, never synced before the "crash"
	want = append(want, tail...)
	var places []place
	for _, e := range tail {
		places = append(places, placeOf(l, e.Index))
	}
	end := l.active().end
	mustClose(t, l)
	if places[0].path == filepath.Join(dir, segmentName(1)) {
		t.Fatal("the tail is meant to be in the second segment")
	}

	for cut := places[0].off; cut <= end; cut++ {
		complete := 40
		for k, p := range places {
			if p.off+p.length <= cut {
				complete = 41 + k
			}
		}
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			d := copyDir(t, dir)
			if err := os.Truncate(inDir(d, places[0]), cut); err != nil {
				t.Fatal(err)
			}
			checkRecovery(t, d, segSize, want[:complete])
		})
	}
}

// TestTornTailZeroSector zeroes, one at a time, each 512-byte sector of a
// last batch that was never synced, as a crash that wrote some of its
// sectors and not others leaves it: Open keeps the records before the first
// damaged one, even with intact records of the batch after it. (Losing a
// sector of records synced before the last batch is corruption: see
// TestCorruption.)
func TestTornTailZeroSector(t *testing.T) {
	const segSize = 8192
	dir := t.TempDir()
	l := openLog(t, dir, segSize)
	want := buildLog(t, l, 70, 90, 10)
	// A filler entry so that the last batch starts on a sector boundary:
	// every sector of it then holds nothing else.
	gap := sectorSize - l.active().end%sectorSize
	if gap < headerSize {
		gap += sectorSize
	}
	filler := entryOf(71, int(gap-headerSize))
	mustAppend(t, l, filler)
	want = append(want, filler)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	start := l.active().end
	var tail []Entry
	for k, n := range []int{100, 600, 20, 900, 0, 300} {
		tail = append(tail, entryOf(uint64(72+k), n))
	}
	mustAppend(t, l, tail...)
	want = append(want, tail...)
	var places []place
	for i := uint64(1); i <= 77; i++ {
		places = append(places, placeOf(l, i))
	}
	end := l.active().end
	mustClose(t, l)
	data, err := os.ReadFile(places[76].path)
	if err != nil {
		t.Fatal(err)
	}

	// firstHit is the first record whose bytes zeroing [lo, hi) changes.
	firstHit := func(lo, hi int64) int {
		for k, p := range places {
			a, b := max(lo, p.off), min(hi, p.off+p.length)
			if p.path == places[76].path && a < b && !allZero(data[a:b]) {
				return k
			}
		}
		return len(places)
	}
	for s := start; s < end; s += sectorSize {
		t.Run(fmt.Sprintf("sector at %d", s), func(t *testing.T) {
			d := copyDir(t, dir)
			zeroFileRange(t, inDir(d, places[76]), s, sectorSize)
			checkRecovery(t, d, segSize, want[:firstHit(s, s+sectorSize)])
		})
	}
}

func zeroFileRange(t *testing.T, path string, off, n int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, n), off); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= 0x10
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// rewriteRecord replaces the record at off with a valid one of the same size.
func rewriteRecord(t *testing.T, path string, off int64, e Entry, batch uint32) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(encodeRecord(e, batch), off); err != nil {
		t.Fatal(err)
	}
}

func checkCorrupt(t *testing.T, err error, path string, off int64) {
	t.Helper()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open: %v, want ErrCorrupt", err)
	}
	if prefix := fmt.Sprintf("segment %s: offset %d: ", path, off); !strings.HasPrefix(err.Error(), prefix) {
		t.Fatalf("Open: %q, want it to start %q", err, prefix)
	}
}

// TestCorruption damages records that were durable before others were
// written after them: Open must refuse, naming the file and offset.
func TestCorruption(t *testing.T) {
	const segSize = 8192
	dir := t.TempDir()
	l := openLog(t, dir, segSize)
	want := buildLog(t, l, 260, 80, 10) // 73 records a segment, 16 bytes spare
	places := make([]place, len(want)+1)
	for i := uint64(1); i <= 260; i++ {
		places[i] = placeOf(l, i)
	}
	firstEnd := l.segs[0].end
	mustClose(t, l)
	last := places[260].path
	if places[219].path == last || places[220].path != last {
		t.Fatalf("the cases below want the last segment to start at 220, not at %s", last)
	}
	// A record of the last segment that a sector boundary splits after its
	// header, in a batch that later ones followed.
	var split place
	var boundary int64
	for i := 221; i <= 250 && boundary == 0; i++ {
		p := places[i]
		if b := (p.off/sectorSize + 1) * sectorSize; b-p.off >= recordAlign && b < p.off+p.length {
			split, boundary = p, b
		}
	}
	if boundary == 0 {
		t.Fatal("no record of entries 221-250 crosses a sector boundary")
	}

	tests := []struct {
		name   string
		damage func(d string)
		at     place // where the error must point
	}{
		{"payload in an earlier segment", func(d string) { flipByte(t, inDir(d, places[40]), places[40].off+50) }, places[40]},
		{"length of the first record", func(d string) { flipByte(t, inDir(d, places[1]), 0) }, places[1]},
		{"index in an earlier segment", func(d string) { flipByte(t, inDir(d, places[100]), places[100].off+offIndex) }, places[100]},
		{"last segment, later batches follow", func(d string) { flipByte(t, inDir(d, places[235]), places[235].off+40) }, places[235]},
		{"last segment, lost sector in a synced batch", func(d string) {
			zeroFileRange(t, inDir(d, split), boundary, split.off+split.length-boundary)
		}, split},
		{"last batch, no zero sector", func(d string) { flipByte(t, inDir(d, places[255]), places[255].off+60) }, places[255]},
		{"last batch, length shortened", func(d string) { flipByte(t, inDir(d, places[255]), places[255].off) }, places[255]},
		{"last batch, length past the segment", func(d string) { flipByte(t, inDir(d, places[255]), places[255].off+2) }, places[255]},
		{"last batch, whole record with a wrong index", func(d string) {
			e := want[254]
			e.Index = 999
			rewriteRecord(t, inDir(d, places[255]), places[255].off, e, 4)
		}, places[255]},
		{"data after the records of an earlier segment", func(d string) {
			flipByte(t, inDir(d, places[1]), firstEnd+5)
		}, place{path: places[1].path, off: firstEnd + 5}},
		{"length past the segment in an earlier segment", func(d string) {
			flipByte(t, inDir(d, places[1]), firstEnd+3)
		}, place{path: places[1].path, off: firstEnd}},
		{"last segment, zeroed header in a synced batch", func(d string) {
			zeroFileRange(t, inDir(d, places[235]), places[235].off, 8)
		}, places[235]},
		{"gap between segments", func(d string) {
			if err := os.Remove(inDir(d, places[80])); err != nil {
				t.Fatal(err)
			}
		}, place{path: places[150].path, off: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := copyDir(t, dir)
			tc.damage(d)
			_, err := Open(d, Options{SegmentSize: segSize})
			checkCorrupt(t, err, inDir(d, tc.at), tc.at.off)
		})
	}
	t.Run("damaged last record is a torn write", func(t *testing.T) {
		d := copyDir(t, dir)
		flipByte(t, inDir(d, places[260]), places[260].off+50)
		checkRecovery(t, d, segSize, want[:259])
	})
}

// TestOpenLeftovers covers files a crash can leave besides torn records.
func TestOpenLeftovers(t *testing.T) {
	const segSize = 4096
	dir := t.TempDir()
	l := openLog(t, dir, segSize)
	want := buildLog(t, l, 40, 90, 40)
	mustClose(t, l)

	t.Run("unfinished rotation", func(t *testing.T) {
		d := copyDir(t, dir)
		tmp := filepath.Join(d, segmentName(41)+tempExt)
		if err := os.WriteFile(tmp, make([]byte, 100), 0o644); err != nil {
			t.Fatal(err)
		}
		checkRecovery(t, d, segSize, want)
		if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("temporary segment left: %v", err)
		}
	})
	t.Run("unfinished spare", func(t *testing.T) {
		d := copyDir(t, dir)
		spare := filepath.Join(d, spareName)
		if err := os.WriteFile(spare, make([]byte, 100), 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := Open(d, Options{SegmentSize: segSize})
		if err != nil {
			t.Fatal(err)
		}
		defer mustClose(t, l)
		checkLog(t, l, want)
		// Open deleted the leftover; a spare it started since is whole.
		if l.spare != nil && l.spare.wait() == nil {
			t.Fatalf("new spare: %v", l.spare.err)
		}
		if fi, err := os.Stat(spare); err == nil && fi.Size() != segSize {
			t.Fatalf("spare left by a crash was kept: %d bytes", fi.Size())
		} else if err != nil && (l.spare != nil || !errors.Is(err, os.ErrNotExist)) {
			t.Fatal(err)
		}
	})
	t.Run("new segment with nothing written", func(t *testing.T) {
		d := copyDir(t, dir)
		if err := os.WriteFile(filepath.Join(d, segmentName(41)), make([]byte, segSize), 0o644); err != nil {
			t.Fatal(err)
		}
		checkRecovery(t, d, segSize, want)
	})
	t.Run("empty only segment", func(t *testing.T) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, segmentName(7)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		checkRecovery(t, d, segSize, nil)
	})
	t.Run("garbage after the last record", func(t *testing.T) {
		d := copyDir(t, dir)
		p := filepath.Join(d, segmentName(33))
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		// A zero header ends the records; whatever follows it is the
		// remains of an unsynced write and is wiped.
		f.WriteAt([]byte("leftover"), 8*128+64)
		f.Close()
		checkRecovery(t, d, segSize, want)
		data, _ := os.ReadFile(p)
		if !allZero(data[8*128+48:]) { // after the record checkRecovery appends
			t.Fatal("leftover bytes survived the repair")
		}
	})
}

// FuzzOpen opens a log whose segment holds arbitrary bytes, as the last
// segment or as an earlier one: Open must not panic, and a log it accepts
// must read back and take appends.
func FuzzOpen(f *testing.F) {
	var seg []byte
	for i := uint64(1); i <= 3; i++ {
		seg = append(seg, encodeRecord(entryOf(i, int(i*5)), uint32(i-1))...)
	}
	f.Add(seg, false)
	f.Add(seg, true)
	f.Add(seg[:50], false)
	f.Fuzz(func(t *testing.T, data []byte, sealed bool) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if sealed {
			next := encodeRecord(entryOf(2, 3), 0)
			if err := os.WriteFile(filepath.Join(dir, segmentName(2)), next, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		l, err := Open(dir, Options{SegmentSize: 4096})
		if err != nil {
			return
		}
		defer mustClose(t, l)
		if _, err := l.Entries(l.FirstIndex(), l.LastIndex()+1, ^uint64(0)); err != nil {
			t.Fatalf("reading what Open accepted: %v", err)
		}
		mustAppend(t, l, Entry{Index: max(l.LastIndex()+1, 1), Data: []byte("x")})
	})
}
