package segmentlog

import (
	"errors"
	"github.com/easykv/easykv/internal/testkit"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// inode is the file's inode number: a renamed file keeps it.
func inode(t *testing.T, fi os.FileInfo) uint64 {
	t.Helper()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no inode numbers on this system")
	}
	return st.Ino
}

// readySpare waits for l's spare and returns its inode.
func readySpare(t *testing.T, l *Log) uint64 {
	t.Helper()
	if l.spare == nil {
		t.Fatal("no spare under way")
	}
	f := l.spare.wait()
	if f == nil {
		t.Fatalf("spare failed: %v", l.spare.err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != l.segSize {
		t.Fatalf("spare is %d bytes, want %d", fi.Size(), l.segSize)
	}
	return inode(t, fi)
}

func segmentInode(t *testing.T, dir string, first uint64) uint64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, segmentName(first)))
	if err != nil {
		t.Fatal(err)
	}
	return inode(t, fi)
}

// TestSpareBecomesNextSegment: an empty log starts the next segment file
// at once, a filling one once its active segment is a quarter full, and a
// rotation renames that file into place rather than making one.
func TestSpareBecomesNextSegment(t *testing.T) {
	const segSize = 8192 // 64 records of 90 bytes (128 padded)
	dir := t.TempDir()
	l := openLog(t, dir, segSize)
	first := readySpare(t, l)
	if _, err := os.Stat(filepath.Join(dir, spareName)); err != nil {
		t.Fatalf("spare file: %v", err)
	}
	mustAppend(t, l, entryOf(1, 90))
	if got := segmentInode(t, dir, 1); got != first {
		t.Fatalf("segment 1 is inode %d, not the spare's %d", got, first)
	}
	if l.spare != nil {
		t.Fatal("a spare was started for a segment that holds one record")
	}
	var want []Entry
	want = append(want, entryOf(1, 90))
	i := uint64(2)
	for ; l.spare == nil; i++ {
		want = append(want, entryOf(i, 90))
		mustAppend(t, l, want[len(want)-1])
	}
	if end := l.active().end; end < segSize/4 || end-paddedSize(90) >= segSize/4 {
		t.Fatalf("spare started with the active segment %d bytes full, want the append that crossed %d", end, segSize/4)
	}
	second := readySpare(t, l)
	for ; len(l.segs) == 1; i++ {
		want = append(want, entryOf(i, 90))
		mustAppend(t, l, want[len(want)-1])
	}
	if got := segmentInode(t, dir, l.active().first); got != second {
		t.Fatalf("segment %d is inode %d, not the spare's %d", l.active().first, got, second)
	}
	checkLog(t, l, want)
	mustClose(t, l)
	if _, err := os.Stat(filepath.Join(dir, spareName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("spare left after Close: %v", err)
	}
	l = openLog(t, dir, segSize)
	defer mustClose(t, l)
	checkLog(t, l, want)
}

// TestSpareFailureRetried: a spare that could not be made (the disk was
// full then) is made again when it is needed, and the error shows only if
// that fails too.
func TestSpareFailureRetried(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failLater bool // the disk is still full at the rotation
	}{
		{"space freed", false},
		{"still full", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, 4096)
			want := buildLog(t, l, 10, 90, 10) // 10 of the first segment's 32 records
			failFill(t, l, unix.ENOSPC)
			mustAppend(t, l, entryOf(11, 90)) // starts a new spare, which fails
			want = append(want, entryOf(11, 90))
			if l.spare == nil || l.spare.wait() != nil || !errors.Is(l.spare.err, syscall.ENOSPC) {
				t.Fatal("the spare did not fail")
			}
			if !tc.failLater {
				l.fill = zeroFill
			}
			var more []Entry
			for i := uint64(12); i <= 40; i++ {
				more = append(more, entryOf(i, 90))
			}
			err := l.Append(more) // needs a second segment at entry 33
			if tc.failLater {
				if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ErrFailed) {
					t.Fatalf("Append needing a segment the disk cannot hold: %v", err)
				}
				more = more[:32-11]
			} else if err != nil {
				t.Fatal(err)
			}
			mustClose(t, l)
			if tmps, _ := filepath.Glob(filepath.Join(dir, "*"+tempExt)); len(tmps) != 0 {
				t.Fatalf("unfinished segments left: %v", tmps)
			}
			l = openLog(t, dir, 4096)
			defer mustClose(t, l)
			checkLog(t, l, append(want, more...))
		})
	}
}

// TestCloseAbandonsSpare: Close does not wait for a spare to be finished;
// it stops the goroutine making it and deletes the file.
func TestCloseAbandonsSpare(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 4096)
	dropSpare(t, l)
	var started atomic.Bool
	l.fill = func(f *os.File, from, to int64, stop *atomic.Bool) error {
		started.Store(true)
		// A disk so slow that the spare is never finished.
		for stop == nil || !stop.Load() {
			runtime.Gosched()
		}
		return errAbandoned
	}
	l.maybeStartSpare()
	testkit.PollEvery(t, time.Millisecond, 10*time.Second, "the spare to start", func() (bool, string) {
		return started.Load(), "the spare was never started"
	})
	mustClose(t, l)
	if _, err := os.Stat(filepath.Join(dir, spareName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("abandoned spare left: %v", err)
	}
}
