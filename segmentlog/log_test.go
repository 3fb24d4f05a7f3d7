package segmentlog

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// payload is entry i's data in these tests: n bytes, none of them zero, so
// that damage to a record never leaves it looking intact.
func payload(i uint64, n int) []byte {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte(i*131+uint64(k)*17) | 1
	}
	return b
}

func entryOf(i uint64, n int) Entry {
	return Entry{Term: 1 + i/100, Index: i, Type: uint8(i % 2), Data: payload(i, n)}
}

func openLog(t testing.TB, dir string, segSize int64) *Log {
	t.Helper()
	l, err := Open(dir, Options{SegmentSize: segSize})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

func mustAppend(t testing.TB, l *Log, es ...Entry) {
	t.Helper()
	if err := l.Append(es); err != nil {
		t.Fatalf("Append [%d..]: %v", es[0].Index, err)
	}
}

func mustClose(t testing.TB, l *Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func sameEntry(a, b Entry) bool {
	return a.Term == b.Term && a.Index == b.Index && a.Type == b.Type && bytes.Equal(a.Data, b.Data)
}

// checkLog asserts that l holds exactly want, through every read method.
func checkLog(t testing.TB, l *Log, want []Entry) {
	t.Helper()
	if len(want) == 0 {
		if l.FirstIndex() != 1 || l.LastIndex() != 0 {
			t.Fatalf("empty log: FirstIndex %d, LastIndex %d; want 1, 0", l.FirstIndex(), l.LastIndex())
		}
		return
	}
	first, last := want[0].Index, want[len(want)-1].Index
	if l.FirstIndex() != first || l.LastIndex() != last {
		t.Fatalf("FirstIndex %d, LastIndex %d; want %d, %d", l.FirstIndex(), l.LastIndex(), first, last)
	}
	for _, w := range want {
		got, err := l.Entry(w.Index)
		if err != nil || !sameEntry(got, w) {
			t.Fatalf("Entry(%d) = %+v, %v; want %+v", w.Index, got.Index, err, w.Index)
		}
		if term, err := l.Term(w.Index); err != nil || term != w.Term {
			t.Fatalf("Term(%d) = %d, %v; want %d", w.Index, term, err, w.Term)
		}
	}
	all, err := l.Entries(first, last+1, ^uint64(0))
	if err != nil || len(all) != len(want) {
		t.Fatalf("Entries(all) = %d entries, %v; want %d", len(all), err, len(want))
	}
	for k := range all {
		if !sameEntry(all[k], want[k]) {
			t.Fatalf("Entries(all)[%d] is entry %d, want %d", k, all[k].Index, want[k].Index)
		}
	}
	for _, i := range []uint64{first - 1, last + 1} {
		if _, err := l.Entry(i); !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("Entry(%d) outside the log: %v, want ErrOutOfRange", i, err)
		}
	}
}

func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestAppendReopenManySegments writes thousands of entries of varied sizes
// through small segments — some entries bigger than a segment — and reads
// them back before and after reopening, then appends after the restart. The
// original Java log overwrote its first record on restart and looped forever
// on a record that crossed a segment boundary.
func TestAppendReopenManySegments(t *testing.T) {
	dir := t.TempDir()
	const segSize = 4096
	rng := rand.New(rand.NewPCG(1, 2))
	size := func(i uint64) int {
		switch {
		case i%250 == 0:
			return segSize + rng.IntN(3*segSize) // a segment of its own
		case i%7 == 0:
			return 0
		default:
			return rng.IntN(600)
		}
	}
	var want []Entry
	appendBatches := func(l *Log, n int) {
		for len(want) < n {
			var batch []Entry
			for k := 1 + rng.IntN(40); k > 0 && len(want) < n; k-- {
				e := entryOf(uint64(len(want)+1), size(uint64(len(want)+1)))
				batch = append(batch, e)
				want = append(want, e)
			}
			mustAppend(t, l, batch...)
			if rng.IntN(3) == 0 {
				if err := l.Sync(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	l := openLog(t, dir, segSize)
	appendBatches(l, 3000)
	checkLog(t, l, want)
	mustClose(t, l)
	if n := len(segmentFiles(t, dir)); n < 200 {
		t.Fatalf("%d segment files; the test means to cross hundreds of boundaries", n)
	}

	l = openLog(t, dir, segSize)
	checkLog(t, l, want)
	appendBatches(l, 3500)
	mustClose(t, l)

	l = openLog(t, dir, segSize)
	defer mustClose(t, l)
	checkLog(t, l, want)
}

func TestEmptyLog(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 0)
	checkLog(t, l, nil)
	if _, err := l.Term(1); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Term(1) on an empty log: %v", err)
	}
	if es, err := l.Entries(1, 1, 0); err != nil || len(es) != 0 {
		t.Fatalf("Entries(1, 1) on an empty log = %v, %v", es, err)
	}
	if err := l.Append([]Entry{entryOf(0, 1)}); err == nil {
		t.Fatal("Append at index 0 succeeded")
	}
	// An empty log starts wherever it is told (after a snapshot, say).
	want := []Entry{entryOf(40, 3), entryOf(41, 0)}
	mustAppend(t, l, want...)
	for _, bad := range [][]Entry{{entryOf(43, 1)}, {entryOf(41, 1)}, {entryOf(42, 1), entryOf(44, 1)}} {
		if err := l.Append(bad); err == nil || errors.Is(err, ErrFailed) {
			t.Fatalf("Append starting at %d after 41: %v, want a plain error", bad[0].Index, err)
		}
	}
	if err := l.Append(nil); err != nil {
		t.Fatal(err)
	}
	mustClose(t, l)
	if err := l.Append(want); err == nil {
		t.Fatal("Append after Close succeeded")
	}
	if _, err := l.Entry(40); err == nil {
		t.Fatal("Entry after Close succeeded")
	}
	l = openLog(t, dir, 0)
	defer mustClose(t, l)
	checkLog(t, l, want)
}

func TestOpenRejectsBadOptions(t *testing.T) {
	for _, size := range []int64{-1, maxSegmentSize + 1} {
		if _, err := Open(t.TempDir(), Options{SegmentSize: size}); err == nil {
			t.Fatalf("Open with SegmentSize %d succeeded", size)
		}
	}
}

func TestEntriesLimit(t *testing.T) {
	l := openLog(t, t.TempDir(), 4096)
	defer mustClose(t, l)
	var es []Entry
	for i := uint64(1); i <= 10; i++ {
		es = append(es, entryOf(i, 100))
	}
	es[4].Data = nil // entry 5 is empty
	mustAppend(t, l, es...)
	tests := []struct {
		lo, hi, max uint64
		want        int // entries returned, from lo
	}{
		{1, 11, 0, 1},        // always at least one
		{1, 11, 99, 1},       // even when it alone is over the limit
		{1, 11, 100, 1},      // exactly one entry's worth
		{1, 11, 299, 2},      // stops before going over
		{1, 11, 300, 3},      // exactly three
		{4, 11, 200, 3},      // 4, the empty 5, and 6
		{1, 11, 1 << 20, 10}, // all
		{3, 3, 0, 0},         // empty range
		{10, 11, 0, 1},       // the last entry
	}
	for _, tc := range tests {
		got, err := l.Entries(tc.lo, tc.hi, tc.max)
		if err != nil || len(got) != tc.want {
			t.Fatalf("Entries(%d, %d, %d) = %d entries, %v; want %d", tc.lo, tc.hi, tc.max, len(got), err, tc.want)
		}
		for k, e := range got {
			if !sameEntry(e, es[tc.lo-1+uint64(k)]) {
				t.Fatalf("Entries(%d, %d, %d)[%d] = entry %d", tc.lo, tc.hi, tc.max, k, e.Index)
			}
		}
	}
	// Returned slices do not share spare capacity: appending to one
	// payload must not write into the next.
	got, _ := l.Entries(1, 3, 1<<20)
	_ = append(got[0].Data, 0)
	if !bytes.Equal(got[1].Data, es[1].Data) {
		t.Fatal("appending to one returned payload changed the next")
	}
	for _, r := range [][2]uint64{{0, 2}, {1, 12}, {11, 12}, {5, 4}} {
		if _, err := l.Entries(r[0], r[1], 0); !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("Entries(%d, %d): %v, want ErrOutOfRange", r[0], r[1], err)
		}
	}
}

// TestLookupDoesNotScan proves Entry and Term use the offset table rebuilt
// on open: with every byte of every segment except entry i's record
// overwritten, entry i still reads back intact, wherever it is in a
// 100k-entry log. A lookup that walked the records would trip over the
// garbage. BenchmarkEntry shows the cost does not grow with i.
func TestLookupDoesNotScan(t *testing.T) {
	const n = 100_000
	dir := t.TempDir()
	l := openLog(t, dir, 1<<20)
	batch := make([]Entry, 0, 1000)
	for i := uint64(1); i <= n; i++ {
		batch = append(batch, entryOf(i, int(i%24)))
		if len(batch) == cap(batch) {
			mustAppend(t, l, batch...)
			batch = batch[:0]
		}
	}
	mustClose(t, l)
	l = openLog(t, dir, 1<<20)
	defer mustClose(t, l)
	if len(l.segs) < 4 {
		t.Fatalf("%d segments; want the log spread over several", len(l.segs))
	}
	garbage := bytes.Repeat([]byte{0xff}, 1<<20)
	for _, i := range []uint64{1, n / 2, n} {
		at := l.locs[i-l.first]
		var saved [][]byte
		for _, s := range l.segs {
			saved = append(saved, bytes.Clone(s.data))
			if s.seq != at.seg {
				copy(s.data, garbage)
				continue
			}
			copy(s.data[:at.off], garbage)
			copy(s.data[int(at.off)+headerSize+int(i%24):], garbage)
		}
		got, err := l.Entry(i)
		if err != nil || !sameEntry(got, entryOf(i, int(i%24))) {
			t.Fatalf("Entry(%d) among garbage = %+v, %v", i, got, err)
		}
		if term, err := l.Term(i); err != nil || term != entryOf(i, 0).Term {
			t.Fatalf("Term(%d) among garbage = %d, %v", i, term, err)
		}
		for k, s := range l.segs {
			copy(s.data, saved[k])
		}
	}
}

func TestSegmentNames(t *testing.T) {
	l := openLog(t, t.TempDir(), 4096)
	mustAppend(t, l, entryOf(1, 10))
	mustClose(t, l)
	names := segmentFiles(t, l.dir)
	if len(names) != 1 || filepath.Base(names[0]) != "00000000000000000001.seg" {
		t.Fatalf("segment files %v, want one named 00000000000000000001.seg", names)
	}
	fi, err := os.Stat(names[0])
	if err != nil || fi.Size() != 4096 {
		t.Fatalf("segment size %v, %v; want preallocated 4096", fi.Size(), err)
	}
	for _, name := range []string{"1.seg", "0000000000000000000x.seg", "00000000000000000001.seg.tmp", "00000000000000000001.log"} {
		if _, ok := parseSegmentName(name); ok {
			t.Fatalf("%q parsed as a segment name", name)
		}
	}
}

// TestConcurrentReaders reads while a writer appends and syncs; run with
// -race it checks the locking that lets the status loop read the log.
func TestConcurrentReaders(t *testing.T) {
	l := openLog(t, t.TempDir(), 4096)
	defer mustClose(t, l)
	mustAppend(t, l, entryOf(1, 50))
	done := make(chan struct{})
	errs := make(chan error, 2)
	for r := 0; r < 2; r++ {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				last := l.LastIndex()
				got, err := l.Entry(last)
				if err != nil || !sameEntry(got, entryOf(last, 50)) {
					errs <- fmt.Errorf("Entry(%d) = %d, %v", last, got.Index, err)
					return
				}
			}
		}()
	}
	for i := uint64(2); i <= 500; i++ {
		mustAppend(t, l, entryOf(i, 50))
		if i%10 == 0 {
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(done)
	for r := 0; r < 2; r++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
