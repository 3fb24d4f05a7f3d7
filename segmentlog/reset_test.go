package segmentlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// checkEmptyAt asserts that l is empty and starts at next: the indexes
// around it are out of range, and an Append must start exactly at next.
func checkEmptyAt(t *testing.T, l *Log, next uint64) {
	t.Helper()
	if l.FirstIndex() != next || l.LastIndex() != next-1 {
		t.Fatalf("FirstIndex %d, LastIndex %d; want %d, %d", l.FirstIndex(), l.LastIndex(), next, next-1)
	}
	for _, i := range []uint64{1, next - 1, next, next + 1} {
		if _, err := l.Term(i); !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("Term(%d) of a log empty at %d: %v, want ErrOutOfRange", i, next, err)
		}
		if _, err := l.Entry(i); !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("Entry(%d) of a log empty at %d: %v, want ErrOutOfRange", i, next, err)
		}
	}
	if next > 1 {
		if _, err := l.Entries(1, next, ^uint64(0)); !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("Entries(1, %d) of a log empty at %d: %v, want ErrOutOfRange", next, next, err)
		}
	}
	if es, err := l.Entries(next, next, 0); err != nil || len(es) != 0 {
		t.Fatalf("Entries(%d, %d) = %v, %v; want none", next, next, es, err)
	}
	for _, start := range []uint64{next - 1, next + 1, next + 100} {
		if start == 0 {
			continue
		}
		if err := l.Append([]Entry{entryOf(start, 5)}); err == nil || errors.Is(err, ErrFailed) {
			t.Fatalf("Append at %d to a log empty at %d: %v, want a plain error", start, next, err)
		}
	}
}

// entriesFrom returns entries first..first+n-1 of size bytes.
func entriesFrom(first uint64, n, size int) []Entry {
	es := make([]Entry, n)
	for k := range es {
		es[k] = entryOf(first+uint64(k), size)
	}
	return es
}

// TestReset empties logs of every shape, then checks that the log starts
// at the new index, that appends, both truncations and a reopen work from
// there, and that a reopen before any append finds an empty log at 1.
func TestReset(t *testing.T) {
	const segSize = 4096 // 32 records of 90 bytes a segment
	tests := []struct {
		name string
		n    int    // entries 1..n before the Reset
		next uint64 // Reset's argument
	}{
		{"empty log", 0, 500},
		{"empty log to 1", 0, 1},
		{"one segment", 20, 1000},
		{"many segments", 200, 1000},
		{"many segments, back inside the old log", 200, 50},
		{"many segments, right after the old log", 200, 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, segSize)
			buildLog(t, l, tc.n, 90, 16)
			if err := l.Reset(tc.next); err != nil {
				t.Fatal(err)
			}
			if files := segmentFiles(t, dir); len(files) != 0 {
				t.Fatalf("segment files left by Reset: %v", files)
			}
			checkEmptyAt(t, l, tc.next)
			// Nothing on disk says where the log starts.
			reopened := openLog(t, copyDir(t, dir), segSize)
			checkLog(t, reopened, nil)
			mustClose(t, reopened)

			// Three segments' worth, so rotation and the spare run again.
			want := entriesFrom(tc.next, 80, 90)
			mustAppend(t, l, want[:50]...)
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			mustAppend(t, l, want[50:]...)
			checkLog(t, l, want)
			mustClose(t, l)
			l = openLog(t, dir, segSize)
			checkLog(t, l, want)

			// Both truncations work on the reset log.
			if err := l.TruncatePrefix(tc.next + 40); err != nil {
				t.Fatal(err)
			}
			checkLog(t, l, want[32:])
			if err := l.TruncateSuffix(tc.next + 70); err != nil {
				t.Fatal(err)
			}
			want = append(want[32:70:70], entriesFrom(tc.next+70, 5, 40)...)
			mustAppend(t, l, want[38:]...)
			checkLog(t, l, want)
			mustClose(t, l)
			l = openLog(t, dir, segSize)
			defer mustClose(t, l)
			checkLog(t, l, want)
		})
	}
}

// TestResetThenTruncateSuffix: emptying a Reset log with TruncateSuffix
// keeps its first index, since the snapshot it continues is still there.
func TestResetThenTruncateSuffix(t *testing.T) {
	l := openLog(t, t.TempDir(), 4096)
	defer mustClose(t, l)
	buildLog(t, l, 50, 90, 10)
	if err := l.Reset(300); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, entriesFrom(300, 40, 90)...)
	for _, from := range []uint64{300, 1} {
		if err := l.TruncateSuffix(from); err != nil {
			t.Fatal(err)
		}
		checkEmptyAt(t, l, 300)
	}
	want := entriesFrom(300, 3, 7)
	mustAppend(t, l, want...)
	checkLog(t, l, want)
	// A second Reset, below the first, moves the start again.
	if err := l.Reset(120); err != nil {
		t.Fatal(err)
	}
	checkEmptyAt(t, l, 120)
	mustAppend(t, l, entriesFrom(120, 2, 7)...)
	checkLog(t, l, entriesFrom(120, 2, 7))
}

// TestResetRefused: Reset is a write like the others, refused by a closed
// log, and next 0 is not an index.
func TestResetRefused(t *testing.T) {
	l := openLog(t, t.TempDir(), 4096)
	want := buildLog(t, l, 10, 90, 10)
	if err := l.Reset(0); err == nil || errors.Is(err, ErrFailed) {
		t.Fatalf("Reset(0): %v, want a plain error", err)
	}
	checkLog(t, l, want)
	mustClose(t, l)
	if err := l.Reset(5); !errors.Is(err, errClosed) {
		t.Fatalf("Reset after Close: %v, want errClosed", err)
	}
}

// TestResetCrash runs Reset over a log of seven segments and copies the
// directory right after each segment file is deleted: what a crash at that
// moment leaves. Each copy must open as a prefix of the old log, shorter
// each time, down to an empty log at 1, and take the next append; never a
// gap. A failed deletion fails the log and leaves such a prefix too.
func TestResetCrash(t *testing.T) {
	const segSize = 4096
	dir := t.TempDir()
	l := openLog(t, dir, segSize)
	want := buildLog(t, l, 200, 90, 16) // segments start at 1, 33, 65, 97, 129, 161, 193
	mustAppend(t, l, entryOf(201, 90))  // unsynced: the last segment goes first anyway
	want = append(want, entryOf(201, 90))
	var crashes []string
	var removed []string
	l.remove = func(name string) error {
		if err := os.Remove(name); err != nil {
			return err
		}
		removed = append(removed, filepath.Base(name))
		crashes = append(crashes, copyDir(t, dir))
		return nil
	}
	if err := l.Reset(1000); err != nil {
		t.Fatal(err)
	}
	mustClose(t, l)
	firsts := []uint64{193, 161, 129, 97, 65, 33, 1}
	if len(removed) != len(firsts) {
		t.Fatalf("Reset removed %v, want %d segments", removed, len(firsts))
	}
	for k, first := range firsts {
		if removed[k] != segmentName(first) {
			t.Fatalf("removal %d was %s, want %s (newest first)", k, removed[k], segmentName(first))
		}
		t.Run(fmt.Sprintf("after removing %d", first), func(t *testing.T) {
			checkRecovery(t, crashes[k], segSize, want[:first-1])
		})
	}

	// A deletion that fails stops the log with what is left a prefix.
	dir = t.TempDir()
	l = openLog(t, dir, segSize)
	want = buildLog(t, l, 200, 90, 16)
	calls := 0
	l.remove = func(name string) error {
		if calls++; calls == 3 {
			return syscall.EIO
		}
		return os.Remove(name)
	}
	if err := l.Reset(1000); !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Reset with a failing deletion: %v, want ErrFailed wrapping EIO", err)
	}
	if err := l.Append([]Entry{entryOf(1000, 1)}); !errors.Is(err, ErrFailed) {
		t.Fatalf("Append after a failed Reset: %v, want ErrFailed", err)
	}
	l.Close()
	checkRecovery(t, dir, segSize, want[:160]) // 193 and 161 went before 129 failed
}
