package segmentlog

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestHardStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenHardState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if hs, err := s.Load(); err != nil || hs != (HardState{}) {
		t.Fatalf("fresh Load = %+v, %v; want zero", hs, err)
	}
	for _, want := range []HardState{{Term: 1, Vote: "n1"}, {Term: 7, Vote: "", Commit: 3}, {Term: 8, Vote: "node-with-a-long-name"}} {
		if err := s.Save(want); err != nil {
			t.Fatal(err)
		}
		// A new store over the same directory stands for a restarted process.
		again, err := OpenHardState(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := again.Load()
		if err != nil || got != want {
			t.Fatalf("Load after Save(%+v) = %+v, %v", want, got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, hardStateFile+".tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left behind: %v", err)
	}
}

func TestHardStateCorruption(t *testing.T) {
	valid := encodeHardState(HardState{Term: 5, Vote: "n2", Commit: 1})
	for i := range valid {
		bad := append([]byte(nil), valid...)
		bad[i] ^= 0x40
		if _, err := decodeHardState(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipped byte %d: err = %v, want ErrCorrupt", i, err)
		}
	}
	for n := 0; n < len(valid); n++ {
		if _, err := decodeHardState(valid[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: err = %v, want ErrCorrupt", n, err)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, hardStateFile), valid[:10], 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := OpenHardState(dir)
	if _, err := s.Load(); err == nil || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load of a torn file: %v", err)
	}
}

func FuzzDecodeHardState(f *testing.F) {
	f.Add(encodeHardState(HardState{Term: 3, Vote: "n1"}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := decodeHardState(data)
		if err != nil {
			return
		}
		if got, _ := decodeHardState(encodeHardState(hs)); got != hs {
			t.Fatalf("round trip %+v -> %+v", hs, got)
		}
	})
}
