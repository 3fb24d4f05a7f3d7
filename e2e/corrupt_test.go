package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestCorruptLogRefusesToStart damages a synced record in the middle of a
// node's log: the node refuses to start with exit status 1 and one line
// naming the segment file and the offset, and the rest of the cluster keeps
// serving.
func TestCorruptLogRefusesToStart(t *testing.T) {
	skipIfShort(t)
	h := StartCluster(t, 3)
	h.waitLeader()
	c := h.clusterClient()
	for range 20 {
		if r := h.Ctl("put", "k", "v"); r.code != 0 {
			t.Fatalf("put: exit %d: %s", r.code, r.stderr)
		}
	}
	victim := h.others()[2]
	h.StopNode(victim, syscall.SIGTERM)

	segs, err := filepath.Glob(filepath.Join(h.dir, "data", victim, "wal", "*.seg"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no segment files for %s: %v", victim, err)
	}
	// The first record (the first leader's no-op) was synced long before
	// the later writes; flip one byte of its term.
	f, err := os.OpenFile(segs[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, 8); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, 8); err != nil {
		t.Fatal(err)
	}
	f.Close()

	r := runBinary(t, bins.node, "--cluster", h.cfgPath, "--id", victim)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if r.code != 1 || !strings.Contains(last, filepath.Base(segs[0])) || !regexp.MustCompile(`offset \d+`).MatchString(last) {
		t.Fatalf("corrupt log: exit %d, last line %q; want exit 1 naming %s and an offset", r.code, last, filepath.Base(segs[0]))
	}
	if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
		t.Fatalf("node panicked on a corrupt log:\n%s", r.stderr)
	}
	t.Logf("refused: %s", last)

	// The other two still elect a leader and take writes.
	h.waitLeader()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := c.Put(ctx, "after", "corruption"); err != nil {
		t.Fatalf("the healthy majority did not take a write: %v", err)
	}
}

// TestCorruptSnapshotRefusesToStart damages a node's newest snapshot file:
// the node refuses to start with exit status 1 and one line naming the
// file, rather than start from an older state or from nothing.
func TestCorruptSnapshotRefusesToStart(t *testing.T) {
	h := StartCluster(t, 3, withConfig(snapshotConfig))
	leader, _ := h.waitLeader()
	h.putValues("k", 250, strings.Repeat("v", 64))
	victim := h.others(leader)[0]
	h.waitFor(victim+" to take a snapshot", func() (bool, string) {
		st := h.mustStatus(victim)
		return st.GetSnapshotIndex() >= 200, fmt.Sprintf("snapshot %d", st.GetSnapshotIndex())
	})
	h.StopNode(victim, syscall.SIGTERM)
	snaps := h.snapFiles(victim)
	if len(snaps) == 0 {
		t.Fatalf("no snapshot files for %s", victim)
	}
	newest := snaps[len(snaps)-1]
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(newest, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runBinary(t, bins.node, "--cluster", h.cfgPath, "--id", victim)
	line := strings.TrimSpace(r.stderr)
	if i := strings.LastIndex(line, "\n"); i >= 0 {
		line = line[i+1:]
	}
	if r.code != 1 || !strings.Contains(line, filepath.Base(newest)) || strings.Contains(r.stderr, "panic") {
		t.Fatalf("corrupt snapshot: exit %d, last line %q; want exit 1 naming %s", r.code, line, filepath.Base(newest))
	}
	t.Logf("refused: %s", line)
}
