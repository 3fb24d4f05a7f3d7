package kvmap

import (
	"errors"
	"fmt"
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

func TestSnapshotDirEmpty(t *testing.T) {
	d := NewSnapshotDir(filepath.Join(t.TempDir(), "snap"), Options{})
	m, err := d.Load()
	if m != nil || err != nil {
		t.Fatalf("Load of a missing directory = %v, %v; want nil, nil", m, err)
	}
}

func TestSnapshotDirSaveLoadKeepsNewestTwo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snap")
	d := NewSnapshotDir(dir, Options{})
	for _, n := range []int{3, 10, 25} {
		if err := d.Save(mapAt(n)); err != nil {
			t.Fatal(err)
		}
	}
	// Left by a Save that crashed before its rename: never loaded.
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%020d.snap.tmp", 99)), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := d.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got.AppliedIndex() != 25 {
		t.Fatalf("loaded index %d, want 25", got.AppliedIndex())
	}
	want := mapAt(25)
	for i := range 5 {
		k := fmt.Sprintf("k%d", i)
		gv, gok := got.Get(k)
		wv, wok := want.Get(k)
		if gv != wv || gok != wok {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", k, gv, gok, wv, wok)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	wantNames := []string{fmt.Sprintf("%020d.snap", 10), fmt.Sprintf("%020d.snap", 25), fmt.Sprintf("%020d.snap.tmp", 99)}
	if !slices.Equal(names, wantNames) {
		t.Errorf("files %v, want %v", names, wantNames)
	}
}

func TestSnapshotDirDamagedNewestIsRefused(t *testing.T) {
	dir := t.TempDir()
	d := NewSnapshotDir(dir, Options{})
	for _, n := range []int{4, 8} {
		if err := d.Save(mapAt(n)); err != nil {
			t.Fatal(err)
		}
	}
	newest := filepath.Join(dir, fmt.Sprintf("%020d.snap", 8))
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(newest, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = d.Load()
	if !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), newest) {
		t.Fatalf("Load = %v, want ErrBadSnapshot naming %s", err, newest)
	}
}

func TestSnapshotDirNameMustMatchIndex(t *testing.T) {
	dir := t.TempDir()
	d := NewSnapshotDir(dir, Options{})
	if err := d.Save(mapAt(6)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, fmt.Sprintf("%020d.snap", 6)), filepath.Join(dir, fmt.Sprintf("%020d.snap", 60))); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Load(); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("Load of a renamed snapshot = %v, want ErrBadSnapshot", err)
	}
}
