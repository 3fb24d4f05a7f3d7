package segmentlog

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestTruncateSuffix removes a conflicting suffix, appends a different one
// in its place and reopens: the old suffix must never come back, and its
// bytes must be gone from the files when TruncateSuffix returns.
func TestTruncateSuffix(t *testing.T) {
	const segSize = 4096 // 32 records of 90 bytes a segment: 1-32, 33-64, ...
	tests := []struct {
		name string
		from uint64
	}{
		{"inside the last segment", 196},
		{"first entry of the last segment", 193},
		{"inside an earlier segment", 50},
		{"first entry of an earlier segment", 65},
		{"second entry", 2},
		{"everything", 1},
		{"below the log", 0},
		{"past the end", 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, segSize)
			want := buildLog(t, l, 200, 90, 16)
			var removed []place
			for i := max(tc.from, 1); i <= 200; i++ {
				removed = append(removed, placeOf(l, i))
			}
			if err := l.TruncateSuffix(tc.from); err != nil {
				t.Fatal(err)
			}
			keep := want[:min(max(tc.from, 1)-1, 200)]
			checkLog(t, l, keep)
			checkGone(t, removed)

			// What Open finds right now is what a crash would find.
			reopened := openLog(t, copyDir(t, dir), segSize)
			checkLog(t, reopened, keep)
			mustClose(t, reopened)

			next := uint64(len(keep)) + 1
			if len(keep) == 0 {
				next = 500 // an empty log starts anywhere
			}
			var fresh []Entry
			for i := next; i < next+40; i++ {
				fresh = append(fresh, Entry{Term: 50, Index: i, Data: payload(i+7, 150)})
			}
			mustAppend(t, l, fresh...)
			mustClose(t, l)
			l = openLog(t, dir, segSize)
			defer mustClose(t, l)
			if len(keep) == 0 {
				checkLog(t, l, fresh)
			} else {
				checkLog(t, l, append(keep, fresh...))
			}
		})
	}
}

// checkGone asserts that the removed records' bytes are zero on disk or
// their files deleted. The cut mark at the first one is allowed.
func checkGone(t *testing.T, removed []place) {
	t.Helper()
	for k, p := range removed {
		data, err := os.ReadFile(p.path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		lo := p.off
		if k == 0 {
			lo += recordAlign
		}
		if !allZero(data[lo : p.off+p.length]) {
			t.Fatalf("%s: bytes of a removed record at offset %d are still there", p.path, p.off)
		}
	}
}

func TestTruncatePrefix(t *testing.T) {
	const segSize = 4096
	dir := t.TempDir()
	l := openLog(t, dir, segSize)
	want := buildLog(t, l, 200, 90, 16) // segments start at 1, 33, 65, 97, 129, 161, 193

	if err := l.TruncatePrefix(1); err != nil {
		t.Fatal(err)
	}
	checkLog(t, l, want)

	// Segments 1 and 33 hold only entries below 70; 65 holds 70.
	if err := l.TruncatePrefix(70); err != nil {
		t.Fatal(err)
	}
	checkLog(t, l, want[64:])
	for _, first := range []uint64{1, 33} {
		if _, err := os.Stat(filepath.Join(dir, segmentName(first))); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("segment %d still there: %v", first, err)
		}
	}
	mustClose(t, l)
	l = openLog(t, dir, segSize)
	checkLog(t, l, want[64:])

	// Far past the end: the segment with the last entry stays.
	if err := l.TruncatePrefix(10_000); err != nil {
		t.Fatal(err)
	}
	checkLog(t, l, want[192:])
	if n := len(segmentFiles(t, dir)); n != 1 {
		t.Fatalf("%d segment files left, want 1", n)
	}
	more := entryOf(201, 90)
	mustAppend(t, l, more)
	mustClose(t, l)
	l = openLog(t, dir, segSize)
	defer mustClose(t, l)
	checkLog(t, l, append(want[192:], more))
}
