package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// lockName is the file in a data directory that the running node holds an
// exclusive flock on.
const lockName = "LOCK"

// errDataDirInUse means another process holds a data directory's lock.
var errDataDirInUse = errors.New("in use by another easykv-node")

// lockDataDir takes the data directory dir for this process, creating it
// when missing, before anything in it is read: a second node on the same
// directory (the same --id twice, or --data pointing at another node's)
// would otherwise open the log, repair what it takes for a torn tail and
// append to it under the first one. The kernel drops the lock when the
// process ends, however it ends; unlock drops it earlier.
func lockDataDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("data dir %s: %w (%s is locked)", dir, errDataDirInUse, path)
		}
		return nil, fmt.Errorf("lock data dir %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
