package segmentlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// This file is the whole crash matrix in one place: a log spread over
// several segments, every batch synced (the last one too), then damaged in
// every way a crash or a bad disk can leave it — cut at every byte of its
// tail, each 512-byte sector of the last segment zeroed, each byte of the
// last record and of two middle records flipped, a Reset interrupted after
// deleting the newest segments — and opened. The focused
// tests for each rule are TestTornTailTruncate, TestTornTailZeroSector and
// TestCorruption (recover_test.go). A failed fsync is never retried:
// TestFailedSync (fault_test.go) fails msync through the log's hook and
// shows every later write and Sync refused even once the disk is healthy.

// crashRecord is where one record of the matrix log lies and which synced
// batch it belongs to.
type crashRecord struct {
	place
	batchStart uint64 // first index of its batch (index minus its batch field)
}

// crashLog is the undamaged log every case starts from.
type crashLog struct {
	files   map[string][]byte // segment file name to contents
	want    []Entry           // every entry, all synced
	recs    []crashRecord     // recs[k] holds want[k]
	lastSeg string            // path of the last segment
}

// damage is one case of the matrix: bytes [lo, hi) of one file changed.
type damage struct {
	name  string                  // for failure messages
	path  string                  // file damaged, in the original log's dir
	lo    int64                   // first byte changed
	hi    int64                   // end of the bytes changed
	kind  damageKind              // what was done to them
	apply func(path string) error // does it, to the copy at path
}

// damageKind is how a case changes its bytes.
type damageKind int

const (
	damageTruncate damageKind = iota // file cut at lo; everything after is gone
	damageZero                       // [lo, hi) zeroed, as a lost sector reads
	damageFlip                       // one byte at lo changed
	damageRemove                     // the file and every later segment deleted (a Reset cut short)
)

// outcome is what opening one damaged copy did.
type outcome int

const (
	keptAll  outcome = iota // no record's bytes changed (padding, or a cut past the end): all read back
	cutTail                 // opened with the records before the damage
	cutLimit                // the same, dropping intact records of the last batch (doc.go, Limits)
	refused                 // ErrCorrupt naming the file and offset
	numOutcomes
)

func (o outcome) String() string {
	return [...]string{"kept all", "cut tail", "cut last batch", "refused"}[o]
}

const crashSegSize = 16 << 10

// buildCrashLog writes entries of varied sizes in synced batches of varied
// lengths until the log has four segments, the last half full, then a last
// batch long enough to hold whole sectors between its records.
func buildCrashLog(t *testing.T) *crashLog {
	t.Helper()
	dir := t.TempDir()
	l := openLog(t, dir, crashSegSize)
	var want []Entry
	for k := 0; ; k++ {
		n := 3 + k%5
		full := len(l.segs) == 4 && l.active().end >= crashSegSize/2
		if full {
			n = 14
		}
		var batch []Entry
		for range n {
			i := uint64(len(want) + 1)
			e := entryOf(i, int(i*53%130))
			batch = append(batch, e)
			want = append(want, e)
		}
		mustAppend(t, l, batch...)
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
		if len(l.segs) > 4 {
			t.Fatal("the log grew past four segments")
		}
		if full {
			break
		}
	}
	c := &crashLog{files: map[string][]byte{}, want: want, lastSeg: l.active().path}
	for k := range want {
		p := placeOf(l, uint64(k+1))
		rec, err := l.recordAt(uint64(k + 1))
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := decodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		c.recs = append(c.recs, crashRecord{
			place:      p,
			batchStart: decoded.Index - uint64(decoded.batch),
		})
	}
	mustClose(t, l)
	for _, path := range segmentFiles(t, dir) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		c.files[filepath.Base(path)] = data
	}
	return c
}

// lastSegBatches returns the batch starts of the last segment's records, in order.
func (c *crashLog) lastSegBatches() []uint64 {
	var starts []uint64
	for _, r := range c.recs {
		if r.path == c.lastSeg && (len(starts) == 0 || starts[len(starts)-1] != r.batchStart) {
			starts = append(starts, r.batchStart)
		}
	}
	return starts
}

// reset makes dir hold the undamaged segment files and nothing else.
func (c *crashLog) reset(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	for name, data := range c.files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// damaged reports whether d changes any byte of r's record (header and
// payload; the padding is not part of a record).
func (c *crashLog) damaged(r crashRecord, d damage) bool {
	if d.kind == damageRemove {
		return filepath.Base(r.path) >= filepath.Base(d.path) // names sort by first index
	}
	if r.path != d.path {
		return false
	}
	lo, hi := max(d.lo, r.off), min(d.hi, r.off+r.length)
	if lo >= hi {
		return false
	}
	if d.kind == damageZero {
		return !allZero(c.files[filepath.Base(r.path)][lo:hi])
	}
	return true
}

// expect works out what Open must do with d: keep every record before the
// first damaged one and nothing after it, and never drop an intact record
// that was synced before the damaged one was written. The one exception is
// the documented limit: a lost sector in the last batch drops the rest of
// that batch. Anything else must be refused at the first damaged record.
func (c *crashLog) expect(d damage) (first int, want outcome) {
	first = len(c.recs)
	lostIntact := false
	for k, r := range c.recs {
		hit := c.damaged(r, d)
		if hit && first == len(c.recs) {
			first = k
		}
		if first < k && !hit {
			lostIntact = true
		}
	}
	last := c.recs[len(c.recs)-1]
	switch {
	case first == len(c.recs):
		return first, keptAll
	case !lostIntact:
		return first, cutTail
	case d.kind == damageZero && c.recs[first].batchStart == last.batchStart && c.recs[first].path == last.path:
		return first, cutLimit
	default:
		return first, refused
	}
}

// runCase damages a fresh copy in scratch, opens it and checks the result
// against expect. A panic anywhere in the case is reported with its name.
func (c *crashLog) runCase(scratch string, d damage) (got outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	if err := c.reset(scratch); err != nil {
		return 0, err
	}
	path := filepath.Join(scratch, filepath.Base(d.path))
	if err := d.apply(path); err != nil {
		return 0, fmt.Errorf("damage: %w", err)
	}
	first, want := c.expect(d)
	l, openErr := Open(scratch, Options{SegmentSize: crashSegSize})
	if openErr != nil {
		if want != refused {
			return refused, fmt.Errorf("Open refused, want %s (%d records): %w", want, first, openErr)
		}
		at := c.recs[first]
		prefix := fmt.Sprintf("segment %s: offset %d: ", filepath.Join(scratch, filepath.Base(at.path)), at.off)
		if !errors.Is(openErr, ErrCorrupt) || !strings.HasPrefix(openErr.Error(), prefix) {
			return refused, fmt.Errorf("Open: %q, want ErrCorrupt starting %q", openErr, prefix)
		}
		return refused, nil
	}
	if want == refused {
		kept := l.LastIndex()
		l.Close()
		return cutTail, fmt.Errorf("Open accepted it with %d entries; want ErrCorrupt at entry %d", kept, first+1)
	}
	return want, c.checkOpened(scratch, l, c.want[:first])
}

// checkOpened checks that l holds exactly want, that the next append goes
// right after it, and that all of it survives a reopen. It closes l.
func (c *crashLog) checkOpened(dir string, l *Log, want []Entry) error {
	if err := sameContents(l, want); err != nil {
		l.Close()
		return err
	}
	next := Entry{Term: 99, Index: uint64(len(want)) + 1, Data: []byte("after the crash")}
	if err := l.Append([]Entry{next}); err != nil {
		l.Close()
		return fmt.Errorf("append after recovery: %w", err)
	}
	if err := l.Close(); err != nil {
		return err
	}
	l, err := Open(dir, Options{SegmentSize: crashSegSize})
	if err != nil {
		return fmt.Errorf("reopen after recovery: %w", err)
	}
	defer l.Close()
	return sameContents(l, append(want[:len(want):len(want)], next))
}

// sameContents is checkLog as an error, so that one failing case does not
// stop the matrix from counting the others.
func sameContents(l *Log, want []Entry) error {
	if l.LastIndex() != uint64(len(want)) || (len(want) > 0 && l.FirstIndex() != 1) {
		return fmt.Errorf("log holds [%d, %d], want [1, %d]", l.FirstIndex(), l.LastIndex(), len(want))
	}
	if len(want) == 0 {
		return nil
	}
	got, err := l.Entries(1, uint64(len(want))+1, ^uint64(0))
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("read %d entries, want %d", len(got), len(want))
	}
	for k := range got {
		if !sameEntry(got[k], want[k]) {
			return fmt.Errorf("entry %d differs after recovery", want[k].Index)
		}
	}
	return nil
}

func truncateAt(path string, cut int64) damage {
	return damage{
		name: fmt.Sprintf("truncate %s at %d", filepath.Base(path), cut),
		path: path, lo: cut, hi: 1 << 62, kind: damageTruncate,
		apply: func(p string) error { return os.Truncate(p, cut) },
	}
}

func zeroSector(path string, off int64) damage {
	return damage{
		name: fmt.Sprintf("zero sector %s at %d", filepath.Base(path), off),
		path: path, lo: off, hi: off + sectorSize, kind: damageZero,
		apply: func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			_, err = f.WriteAt(make([]byte, sectorSize), off)
			return errors.Join(err, f.Close())
		},
	}
}

func flipAt(path string, off int64) damage {
	return damage{
		name: fmt.Sprintf("flip %s byte %d", filepath.Base(path), off),
		path: path, lo: off, hi: off + 1, kind: damageFlip,
		apply: func(p string) error {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			data[off] ^= 0x10
			return os.WriteFile(p, data, 0o644)
		},
	}
}

// removeFrom deletes the segment at path and every newer one, as a crash
// in Reset leaves the log: it deletes segments newest first.
func removeFrom(path string) damage {
	return damage{
		name: fmt.Sprintf("reset interrupted before %s", filepath.Base(path)),
		path: path, kind: damageRemove,
		apply: func(p string) error {
			names, err := filepath.Glob(filepath.Join(filepath.Dir(p), "*"+segmentExt))
			if err != nil {
				return err
			}
			for _, name := range names {
				if filepath.Base(name) >= filepath.Base(p) {
					if err := os.Remove(name); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
}

// flipRecord flips, one case each, every byte r occupies, padding included.
func flipRecord(r crashRecord) []damage {
	var ds []damage
	for off := r.off; off < r.off+alignUp(r.length, recordAlign); off++ {
		ds = append(ds, flipAt(r.path, off))
	}
	return ds
}

// TestCrashMatrix runs every case and checks each against expect; the
// table of outcomes goes to the test log (go test -v -run CrashMatrix).
func TestCrashMatrix(t *testing.T) {
	c := buildCrashLog(t)
	starts := c.lastSegBatches()
	if len(starts) < 4 {
		t.Fatalf("the last segment holds batches %v; the matrix wants several", starts)
	}
	last := c.recs[len(c.recs)-1]
	end := last.off + alignUp(last.length, recordAlign)
	// Tail records: the last batch and the record before it, so that cuts
	// also reach into a batch that later records were synced after.
	tailFrom := c.recs[starts[len(starts)-1]-2].off
	// A middle record of an earlier segment, and one of the last segment
	// in a batch that others followed (the second entry of its second).
	earlier := c.recs[len(c.recs)/4]
	sameSeg := c.recs[starts[1]]
	if earlier.path == c.lastSeg || sameSeg.path != c.lastSeg || sameSeg.batchStart == last.batchStart {
		t.Fatal("middle records are not where the matrix wants them")
	}

	matrix := []struct {
		name  string
		cases []damage
	}{
		{"truncate tail", nil},
		{"zero sector", nil},
		{"flip last record", flipRecord(last)},
		{"flip earlier segment", flipRecord(earlier)},
		{"flip same segment, earlier batch", flipRecord(sameSeg)},
		{"reset interrupted", nil},
	}
	for cut := tailFrom; cut <= end; cut++ {
		matrix[0].cases = append(matrix[0].cases, truncateAt(c.lastSeg, cut))
	}
	for off := int64(0); off < end; off += sectorSize {
		matrix[1].cases = append(matrix[1].cases, zeroSector(c.lastSeg, off))
	}
	for name := range c.files {
		matrix[5].cases = append(matrix[5].cases, removeFrom(filepath.Join(filepath.Dir(c.lastSeg), name)))
	}
	slices.SortFunc(matrix[5].cases, func(a, b damage) int { return strings.Compare(a.path, b.path) })

	scratch := t.TempDir()
	var table strings.Builder
	fmt.Fprintf(&table, "%d entries in 4 segments of %d bytes, %d batches in the last\n", len(c.want), crashSegSize, len(starts))
	fmt.Fprintf(&table, "%-34s %6s", "damage", "cases")
	for o := range numOutcomes {
		fmt.Fprintf(&table, " %15s", o)
	}
	table.WriteString("\n")
	failures := 0
	for _, m := range matrix {
		var counts [numOutcomes]int
		for _, d := range m.cases {
			got, err := c.runCase(scratch, d)
			if err != nil {
				failures++
				if failures <= 20 {
					t.Errorf("%s: %v", d.name, err)
				}
				continue
			}
			counts[got]++
		}
		fmt.Fprintf(&table, "%-34s %6d", m.name, len(m.cases))
		for _, n := range counts {
			fmt.Fprintf(&table, " %15d", n)
		}
		table.WriteString("\n")
		if len(m.cases) == 0 {
			t.Errorf("%s: no cases", m.name)
		}
	}
	if failures > 20 {
		t.Errorf("... and %d more failing cases", failures-20)
	}
	t.Logf("crash matrix:\n%s", table.String())
}
