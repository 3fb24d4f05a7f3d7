package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOpensDataDirV1 guards the on-disk format: a node of today opens the
// data directory that the code of 2026-12-04 wrote (hard state, three
// segments, two state-machine snapshots; raftnode's TestWriteDataDir made
// it) and serves its keys, then takes a write on top.
func TestOpensDataDirV1(t *testing.T) {
	h := StartCluster(t, 1)
	h.StopNode("n1", syscall.SIGTERM)
	dst := filepath.Join(h.dir, "data", "n1")
	if err := os.RemoveAll(dst); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("testdata", "datadir-v1", "n1"))); err != nil {
		t.Fatal(err)
	}
	if st := h.RestartNode("n1"); st.GetLastIndex() < 660 {
		t.Fatalf("restarted at last index %d, the fixture's log ends at 660", st.GetLastIndex())
	}
	h.waitLeader()
	expected, err := os.ReadFile(filepath.Join("testdata", "datadir-v1", "expected.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(expected)), "\n")
	// Every 27th key, and the last: each call is a process.
	for i := 0; i < len(lines); i += 27 {
		checkGet(t, h, lines[i])
	}
	checkGet(t, h, lines[len(lines)-1])
	if r := h.Ctl("get", "key-000"); r.code != 1 {
		t.Errorf("get of deleted key-000: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := h.Ctl("put", "key-000", "back"); r.code != 0 {
		t.Fatalf("put on top of the fixture: exit %d: %s", r.code, r.stderr)
	}
	checkGet(t, h, "key-000 back")
}

// checkGet fails unless easykv-ctl get of line's key prints line's value.
func checkGet(t *testing.T, h *Harness, line string) {
	t.Helper()
	key, want, _ := strings.Cut(line, " ")
	if r := h.Ctl("get", key); r.code != 0 || strings.TrimSpace(r.stdout) != want {
		t.Errorf("get %s: exit %d, stdout %q, stderr %q; want %q", key, r.code, r.stdout, r.stderr, want)
	}
}
