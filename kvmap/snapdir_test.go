package kvmap

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// mapAt returns a Map with n puts applied at indexes 1..n.
func mapAt(n int) *Map {
	m := New(Options{})
	for i := 1; i <= n; i++ {
		m.Apply(uint64(i), put(7, uint64(i), fmt.Sprintf("k%d", i%5), fmt.Sprintf("v%d", i)))
	}
	return m
}

// bigMapAt is mapAt with values long enough that its snapshot takes many
// chunks to send.
func bigMapAt(n int) *Map {
	m := New(Options{})
	for i := 1; i <= n; i++ {
		m.Apply(uint64(i), put(7, uint64(i), fmt.Sprintf("k%d", i), strings.Repeat(fmt.Sprint(i), 40)))
	}
	return m
}

// dirNames lists dir's file names, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func mustSave(t *testing.T, d *SnapshotDir, m *Map, term uint64) SnapshotInfo {
	t.Helper()
	info, err := d.Save(m, term)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkSameMap asserts that got holds what want holds, byte for byte.
func checkSameMap(t *testing.T, got, want *Map) {
	t.Helper()
	if got == nil {
		t.Fatal("got no Map")
	}
	if !bytes.Equal(snapshot(t, got), snapshot(t, want)) {
		t.Fatalf("Map at %d differs from the one saved at %d", got.AppliedIndex(), want.AppliedIndex())
	}
}

func TestSnapshotDirEmpty(t *testing.T) {
	d := NewSnapshotDir(filepath.Join(t.TempDir(), "snap"), Options{})
	m, info, err := d.Load()
	if m != nil || info != (SnapshotInfo{}) || err != nil {
		t.Fatalf("Load of a missing directory = %v, %+v, %v; want nil, zero, nil", m, info, err)
	}
	if info, ok, err := d.Newest(); ok || info != (SnapshotInfo{}) || err != nil {
		t.Fatalf("Newest of a missing directory = %+v, %v, %v; want zero, false, nil", info, ok, err)
	}
}

// TestSnapshotDirSaveLoadKeepsNewestTwo saves three snapshots and checks
// what Save, Newest and Load say of them, that only the newest two stay,
// and that Load deletes what interrupted writes left and nothing else.
func TestSnapshotDirSaveLoadKeepsNewestTwo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	d := NewSnapshotDir(dir, Options{})
	var infos []SnapshotInfo
	for _, n := range []int{3, 10, 25} {
		infos = append(infos, mustSave(t, d, mapAt(n), uint64(n/10+1)))
	}
	newest := infos[2]
	wantNewest := SnapshotInfo{Index: 25, Term: 3, Path: filepath.Join(dir, "00000000000000000025-00000000000000000003.snap")}
	fi, err := os.Stat(wantNewest.Path)
	if err != nil {
		t.Fatal(err)
	}
	wantNewest.Size = fi.Size()
	if newest != wantNewest {
		t.Fatalf("Save returned %+v, want %+v", newest, wantNewest)
	}
	if got, ok, err := d.Newest(); !ok || err != nil || got != wantNewest {
		t.Fatalf("Newest = %+v, %v, %v; want %+v", got, ok, err, wantNewest)
	}

	leftovers := []string{
		fmt.Sprintf("%020d-%020d.snap.tmp", 99, 4),           // a Save that crashed before its rename
		fmt.Sprintf("%020d-%020d.snap.12345.partial", 99, 4), // a receive cut short
		fmt.Sprintf("%020d.snap.tmp", 98),                    // an old-style Save's
	}
	foreign := []string{
		fmt.Sprintf("%020d.snap", 99), // old-style name: not a snapshot any more
		"notes.partial",
		"README",
	}
	for _, name := range append(leftovers, foreign...) {
		writeFile(t, filepath.Join(dir, name), []byte("half"))
	}
	got, info, err := d.Load()
	if err != nil {
		t.Fatal(err)
	}
	if info != wantNewest {
		t.Fatalf("Load returned %+v, want %+v", info, wantNewest)
	}
	checkSameMap(t, got, mapAt(25))

	want := append([]string{filepath.Base(infos[1].Path), filepath.Base(infos[2].Path)}, foreign...)
	slices.Sort(want)
	if names := dirNames(t, dir); !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
}

func TestSnapshotDirDamagedNewestIsRefused(t *testing.T) {
	dir := t.TempDir()
	d := NewSnapshotDir(dir, Options{})
	mustSave(t, d, mapAt(4), 1)
	newest := mustSave(t, d, mapAt(8), 2).Path
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	writeFile(t, newest, b)
	_, _, err = d.Load()
	if !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), newest) {
		t.Fatalf("Load = %v, want ErrBadSnapshot naming %s", err, newest)
	}
}

func TestSnapshotDirNameMustMatchIndex(t *testing.T) {
	dir := t.TempDir()
	d := NewSnapshotDir(dir, Options{})
	info := mustSave(t, d, mapAt(6), 1)
	if err := os.Rename(info.Path, filepath.Join(dir, snapName(60, 1))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Load(); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("Load of a renamed snapshot = %v, want ErrBadSnapshot", err)
	}
}

// TestSnapshotDirNames: only the exact form is a snapshot name.
func TestSnapshotDirNames(t *testing.T) {
	if name := snapName(100000, 7); name != "00000000000000100000-00000000000000000007.snap" {
		t.Fatalf("snapName(100000, 7) = %q", name)
	}
	for _, tc := range []struct {
		name        string
		index, term uint64
		ok          bool
	}{
		{"00000000000000100000-00000000000000000007.snap", 100000, 7, true},
		{"18446744073709551615-18446744073709551615.snap", 1<<64 - 1, 1<<64 - 1, true},
		{"00000000000000100000.snap", 0, 0, false},
		{"0000000000000010000-000000000000000000007.snap", 0, 0, false},
		{"00000000000000100000_00000000000000000007.snap", 0, 0, false},
		{"00000000000000100000-0000000000000000000x.snap", 0, 0, false},
		{"+0000000000000100000-00000000000000000007.snap", 0, 0, false},
		{"99999999999999999999-00000000000000000007.snap", 0, 0, false},
		{"00000000000000100000-00000000000000000007.snap.tmp", 0, 0, false},
		{"00000000000000100000-00000000000000000007.snap.1.partial", 0, 0, false},
	} {
		index, term, ok := parseSnapName(tc.name)
		if ok != tc.ok || (ok && (index != tc.index || term != tc.term)) {
			t.Errorf("parseSnapName(%q) = %d, %d, %v; want %d, %d, %v", tc.name, index, term, ok, tc.index, tc.term, tc.ok)
		}
	}
}

// crcOf is what a sender computes over the bytes it sends.
func crcOf(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

// send streams the file at path in chunks of n bytes into p, as a leader's
// InstallSnapshot does, and returns the CRC-32C of what it read.
func send(t *testing.T, path string, n int, p *PartialSnapshot) uint32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sum uint32
	buf := make([]byte, n)
	for {
		k, err := f.Read(buf)
		if k > 0 {
			sum = crc32.Update(sum, castagnoli, buf[:k])
			if err := p.Write(buf[:k]); err != nil {
				t.Fatal(err)
			}
		}
		if err == io.EOF {
			return sum
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestPartialSnapshotCommit streams a leader's newest snapshot into a
// follower's directory that holds older ones, and checks that Commit
// returns the leader's Map, installs it as the newest and prunes.
func TestPartialSnapshotCommit(t *testing.T) {
	leader := NewSnapshotDir(t.TempDir(), Options{})
	want := bigMapAt(300)
	mustSave(t, leader, want, 9)
	src, ok, err := leader.Newest()
	if err != nil || !ok {
		t.Fatalf("leader's Newest: %v, %v", ok, err)
	}

	dir := t.TempDir()
	d := NewSnapshotDir(dir, Options{})
	kept := mustSave(t, d, mapAt(100), 4)
	mustSave(t, d, mapAt(200), 5)
	p, err := d.Create(src.Index, src.Term)
	if err != nil {
		t.Fatal(err)
	}
	// While it is received, the directory's snapshots are what they were.
	if info, _, _ := d.Newest(); info.Index != 200 {
		t.Fatalf("Newest during the receive is %d, want 200", info.Index)
	}
	sum := send(t, src.Path, 1000, p)
	if p.Size() != src.Size || src.Size < 5000 {
		t.Fatalf("Size() = %d after sending a file of %d bytes (want several chunks)", p.Size(), src.Size)
	}
	got, info, err := p.Commit(sum)
	if err != nil {
		t.Fatal(err)
	}
	checkSameMap(t, got, want)
	wantInfo := SnapshotInfo{Index: 300, Term: 9, Size: src.Size, Path: filepath.Join(dir, snapName(300, 9))}
	if info != wantInfo {
		t.Fatalf("Commit returned %+v, want %+v", info, wantInfo)
	}
	if names, want := dirNames(t, dir), []string{snapName(200, 5), snapName(300, 9)}; !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	if _, err := os.Stat(kept.Path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the oldest snapshot was not pruned: %v", err)
	}
	loaded, linfo, err := d.Load()
	if err != nil || linfo != wantInfo {
		t.Fatalf("Load after Commit = %+v, %v; want %+v", linfo, err, wantInfo)
	}
	checkSameMap(t, loaded, want)

	// p is finished.
	if err := p.Write([]byte("x")); !errors.Is(err, errFinished) {
		t.Fatalf("Write after Commit: %v", err)
	}
	if _, _, err := p.Commit(sum); !errors.Is(err, errFinished) {
		t.Fatalf("Commit after Commit: %v", err)
	}
	p.Abort()
	if _, err := os.Stat(wantInfo.Path); err != nil {
		t.Fatalf("Abort after Commit touched the snapshot: %v", err)
	}
}

// TestPartialSnapshotRefused: a received snapshot that fails any check is
// ErrBadSnapshot, and leaves the directory as it was.
func TestPartialSnapshotRefused(t *testing.T) {
	good := snapshot(t, bigMapAt(50))
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 1
	tests := []struct {
		name  string
		index uint64 // Create's
		data  []byte // written
		crc   uint32 // given to Commit
	}{
		{"damaged in transit", 50, flipped, crcOf(good)},
		{"wrong sender checksum", 50, good, crcOf(good) + 1},
		{"damaged before it was sent", 50, flipped, crcOf(flipped)},
		{"cut short", 50, good[:len(good)-10], crcOf(good[:len(good)-10])},
		{"empty", 50, nil, crcOf(nil)},
		{"another index", 51, good, crcOf(good)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := NewSnapshotDir(dir, Options{})
			before := mustSave(t, d, mapAt(20), 2)
			p, err := d.Create(tc.index, 3)
			if err != nil {
				t.Fatal(err)
			}
			for b := tc.data; len(b) > 0; b = b[min(len(b), 700):] {
				if err := p.Write(b[:min(len(b), 700)]); err != nil {
					t.Fatal(err)
				}
			}
			if m, info, err := p.Commit(tc.crc); !errors.Is(err, ErrBadSnapshot) || m != nil || info != (SnapshotInfo{}) {
				t.Fatalf("Commit = %v, %+v, %v; want ErrBadSnapshot", m, info, err)
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{filepath.Base(before.Path)}) {
				t.Fatalf("files after a refused Commit: %v", names)
			}
			if _, info, err := d.Load(); err != nil || info != before {
				t.Fatalf("Load = %+v, %v; want %+v", info, err, before)
			}
		})
	}
}

// TestPartialSnapshotAbort: an aborted receive leaves nothing behind, and
// a Save meanwhile is not disturbed by it.
func TestPartialSnapshotAbort(t *testing.T) {
	dir := t.TempDir()
	d := NewSnapshotDir(dir, Options{})
	p, err := d.Create(70, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(snapshot(t, mapAt(70))[:10]); err != nil {
		t.Fatal(err)
	}
	saved := mustSave(t, d, mapAt(30), 1)
	if info, ok, err := d.Newest(); !ok || err != nil || info != saved {
		t.Fatalf("Newest with a receive under way = %+v, %v, %v; want %+v", info, ok, err, saved)
	}
	p.Abort()
	p.Abort()
	if names := dirNames(t, dir); !slices.Equal(names, []string{filepath.Base(saved.Path)}) {
		t.Fatalf("files after Abort: %v", names)
	}
	if err := p.Write([]byte("x")); !errors.Is(err, errFinished) {
		t.Fatalf("Write after Abort: %v", err)
	}
	if _, _, err := p.Commit(0); !errors.Is(err, errFinished) {
		t.Fatalf("Commit after Abort: %v", err)
	}
}

// TestSnapshotDirConcurrent runs Saves, a receive and Newest at once, as a
// node does when its background snapshot overlaps an InstallSnapshot:
// none may fail (a prune must not remove a file under another's feet), and
// the newest snapshot is the highest index whatever the interleaving.
func TestSnapshotDirConcurrent(t *testing.T) {
	dir := t.TempDir()
	d := NewSnapshotDir(dir, Options{})
	received := snapshot(t, bigMapAt(500))
	errs := make(chan error, 3)
	go func() {
		for n := 1; n <= 20; n++ {
			if _, err := d.Save(mapAt(n), 1); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	go func() {
		b := received
		p, err := d.Create(500, 2)
		if err == nil {
			for c := b; len(c) > 0 && err == nil; c = c[min(len(c), 512):] {
				err = p.Write(c[:min(len(c), 512)])
			}
		}
		if err == nil {
			_, _, err = p.Commit(crcOf(b))
		}
		errs <- err
	}()
	go func() {
		for range 200 {
			if _, _, err := d.Newest(); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	m, info, err := d.Load()
	if err != nil || info.Index != 500 || info.Term != 2 {
		t.Fatalf("Load = %+v, %v; want the received snapshot at 500", info, err)
	}
	checkSameMap(t, m, bigMapAt(500))
	if names := dirNames(t, dir); len(names) != keepSnapshots {
		t.Fatalf("files %v, want %d", names, keepSnapshots)
	}
}
