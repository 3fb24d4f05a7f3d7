package segmentlog

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFullDiskTmpfs fills a 1 MiB tmpfs. Writing into a mapped page the
// filesystem cannot back kills the process with SIGBUS, so this test
// passing at all shows the log only writes to reserved blocks; the full
// disk must come back as an error from Append instead.
func TestFullDiskTmpfs(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (%v); TestAllocationFailure covers the error path", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	l := openLog(t, dir, 256<<10)
	var err error
	var i uint64
	for i = 1; i <= 1000 && err == nil; i++ {
		err = l.Append([]Entry{entryOf(i, 4000)})
	}
	if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ErrFailed) {
		t.Fatalf("Append on a full disk: %v, want ENOSPC and ErrFailed", err)
	}
	if err := l.Append([]Entry{entryOf(i, 1)}); !errors.Is(err, ErrFailed) {
		t.Fatalf("Append after the failure: %v, want ErrFailed", err)
	}
	// What was appended before the disk filled is still readable.
	if got, err := l.Entry(i - 2); err != nil || !sameEntry(got, entryOf(i-2, 4000)) {
		t.Fatalf("Entry(%d) after the failure: %v", i-2, err)
	}
	mustClose(t, l)
	if tmps, _ := filepath.Glob(filepath.Join(dir, "*"+tempExt)); len(tmps) != 0 {
		t.Fatalf("unfinished segments left: %v", tmps)
	}
}

// failFill makes l fail every preallocation with err from now on,
// including that of the spare: one already made is dropped.
func failFill(t *testing.T, l *Log, err error) {
	t.Helper()
	l.fill = func(*os.File, int64, int64, *atomic.Bool) error { return err }
	dropSpare(t, l)
}

// dropSpare abandons l's spare, if one is under way.
func dropSpare(t *testing.T, l *Log) {
	t.Helper()
	if l.spare != nil {
		if err := l.spare.abandon(); err != nil {
			t.Fatal(err)
		}
		l.spare = nil
	}
}

// TestAllocationFailure injects ENOSPC into preallocation, for systems
// where the test cannot mount a small filesystem.
func TestAllocationFailure(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, 4096)
	want := buildLog(t, l, 20, 90, 20) // the first segment, 20 of its 32 records
	failFill(t, l, unix.ENOSPC)
	var more []Entry
	for i := uint64(21); i <= 40; i++ {
		more = append(more, entryOf(i, 90))
	}
	err := l.Append(more) // needs a second segment at entry 33
	if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ErrFailed) {
		t.Fatalf("Append needing a segment the disk cannot hold: %v", err)
	}
	for name, op := range map[string]func() error{
		"Append":         func() error { return l.Append([]Entry{entryOf(l.LastIndex()+1, 1)}) },
		"Sync":           l.Sync,
		"TruncateSuffix": func() error { return l.TruncateSuffix(5) },
		"TruncatePrefix": func() error { return l.TruncatePrefix(5) },
		"Reset":          func() error { return l.Reset(50) },
	} {
		if err := op(); !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("%s after the failure: %v, want ErrFailed wrapping ENOSPC", name, err)
		}
	}
	mustClose(t, l)
	if tmps, _ := filepath.Glob(filepath.Join(dir, "*"+tempExt)); len(tmps) != 0 {
		t.Fatalf("unfinished segments left: %v", tmps)
	}
	// The entries that fitted in the first segment were synced before the
	// log tried to start the second.
	l = openLog(t, dir, 4096)
	defer mustClose(t, l)
	checkLog(t, l, append(want, more[:12]...))
}

// TestFailedSync: once a sync fails the log refuses every write, and keeps
// refusing after the disk recovers: the kernel may have dropped the pages
// it failed to write, so a later successful fsync would prove nothing.
func TestFailedSync(t *testing.T) {
	l := openLog(t, t.TempDir(), 4096)
	defer mustClose(t, l)
	want := buildLog(t, l, 10, 90, 10)
	healthy := l.msync
	l.msync = func([]byte, int) error { return unix.EIO }
	mustAppend(t, l, entryOf(11, 90))
	if err := l.Sync(); !errors.Is(err, syscall.EIO) || !errors.Is(err, ErrFailed) {
		t.Fatalf("Sync with a failing disk: %v", err)
	}
	l.msync = healthy
	for name, op := range map[string]func() error{
		"Append":         func() error { return l.Append([]Entry{entryOf(12, 1)}) },
		"Sync":           l.Sync,
		"TruncateSuffix": func() error { return l.TruncateSuffix(5) },
		"TruncatePrefix": func() error { return l.TruncatePrefix(5) },
		"Reset":          func() error { return l.Reset(50) },
	} {
		if err := op(); !errors.Is(err, ErrFailed) || !errors.Is(err, syscall.EIO) {
			t.Fatalf("%s after a failed sync: %v, want ErrFailed wrapping EIO", name, err)
		}
	}
	checkLog(t, l, append(want, entryOf(11, 90)))
}
