package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestBackupRestore: keys written to a real cluster survive easykv-ctl
// snapshot save, wiping every node, easykv-node restore on each, and a
// restart; a damaged backup is refused by status and by restore.
func TestBackupRestore(t *testing.T) {
	h := StartCluster(t, 3, withConfig("snapshot_entries: 50\nsnapshot_margin: 10\n"))
	h.waitLeader()
	const keys = 120
	for i := range keys {
		if res := h.Ctl("put", fmt.Sprintf("key%03d", i), fmt.Sprintf("value%d", i)); res.code != 0 {
			t.Fatalf("put: %d %s", res.code, res.stderr)
		}
	}
	backup := filepath.Join(t.TempDir(), "cluster.backup")
	res := h.Ctl("snapshot", "save", backup)
	if res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf("%d keys", keys)) {
		t.Fatalf("snapshot save: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := h.Ctl("snapshot", "status", backup, "-o", "json"); res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf(`"keys": %d`, keys)) {
		t.Fatalf("snapshot status: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// A damaged copy is refused by both, naming the file.
	good, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	altered := append([]byte(nil), good...)
	altered[len(altered)/2] ^= 0x01
	for name, b := range map[string][]byte{"truncated": good[:len(good)-100], "altered": altered} {
		bad := filepath.Join(t.TempDir(), name+".backup")
		if err := os.WriteFile(bad, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if res := h.Ctl("snapshot", "status", bad); res.code != 1 || !strings.Contains(res.stderr, bad) {
			t.Errorf("status of the %s backup: exit %d, stderr %q; want 1 naming it", name, res.code, res.stderr)
		}
		dir := filepath.Join(t.TempDir(), "n1")
		res := runBinary(t, bins.node, "restore", "--cluster", h.cfgPath, "--id", "n1", "--from", bad, "--data", dir)
		if res.code != 1 || !strings.Contains(res.stderr, bad) || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 {
			t.Errorf("restore from the %s backup: exit %d, stderr %q; want 1 and one line naming it", name, res.code, res.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "wal")); !os.IsNotExist(err) {
			t.Errorf("restore from the %s backup left a log behind (%v)", name, err)
		}
	}

	// Wipe every node, restore each from the backup, start them again.
	for _, id := range h.ids {
		h.StopNode(id, syscall.SIGTERM)
	}
	for _, id := range h.ids {
		dir := filepath.Join(h.dir, "data", id)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		res := runBinary(t, bins.node, "restore", "--cluster", h.cfgPath, "--id", id, "--from", backup)
		if res.code != 0 || !strings.Contains(res.stdout, fmt.Sprintf("restored %s", id)) {
			t.Fatalf("restore %s: exit %d\n%s%s", id, res.code, res.stdout, res.stderr)
		}
	}
	// A second restore onto a restored directory is refused.
	if res := runBinary(t, bins.node, "restore", "--cluster", h.cfgPath, "--id", "n1", "--from", backup); res.code != 1 || !strings.Contains(res.stderr, "already holds") {
		t.Errorf("restore over a node's state: exit %d, stderr %q", res.code, res.stderr)
	}
	for _, id := range h.ids {
		h.startNode(id, "restored from backup")
	}
	if err := h.waitReachable(h.ids...); err != nil {
		t.Fatal(err)
	}
	h.waitLeader()
	for i := range keys {
		res := h.Ctl("get", fmt.Sprintf("key%03d", i))
		if want := fmt.Sprintf("value%d\n", i); res.code != 0 || res.stdout != want {
			t.Fatalf("get key%03d after the restore: exit %d, %q, want %q (%s)", i, res.code, res.stdout, want, res.stderr)
		}
	}
	// The restored cluster takes writes.
	if res := h.Ctl("put", "after", "restore"); res.code != 0 {
		t.Fatalf("put after the restore: %d %s", res.code, res.stderr)
	}
}
