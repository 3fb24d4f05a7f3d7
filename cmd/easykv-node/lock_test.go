package main

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestLockDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n1")
	unlock, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A second holder is refused while the first holds it (flock locks
	// belong to open files, so this holds within one process too).
	if _, err := lockDataDir(dir); !errors.Is(err, errDataDirInUse) {
		t.Fatalf("second lock = %v, want errDataDirInUse", err)
	}
	unlock()
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}
