package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/easykv/easykv/internal/testkit"
)

// snapFiles lists node id's snapshot files.
func (h *Harness) snapFiles(id string) []string {
	h.t.Helper()
	names, err := filepath.Glob(filepath.Join(h.dir, "data", id, "snap", "*.snap"))
	if err != nil {
		h.t.Fatal(err)
	}
	return names
}

// putN writes n keys prefix-0 .. prefix-(n-1) through one cluster client.
func (h *Harness) putN(prefix string, n int) {
	h.t.Helper()
	c := h.clusterClient()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for i := range n {
		if _, err := c.Put(ctx, fmt.Sprintf("%s-%d", prefix, i), "v"); err != nil {
			h.t.Fatalf("put %s-%d: %v", prefix, i, err)
		}
	}
}

// TestSnapshotEntriesFromClusterYAML: cluster.yaml's snapshot_entries sets
// how often a node snapshots. Under the default (10,000) a few dozen writes
// make no snapshot; restarted under snapshot_entries: 10, every node has
// one after as many more.
func TestSnapshotEntriesFromClusterYAML(t *testing.T) {
	h := StartCluster(t, 3)
	h.waitLeader()
	h.putN("before", 30)
	for _, id := range h.ids {
		if names := h.snapFiles(id); len(names) != 0 {
			t.Fatalf("%s has snapshots %v after 30 writes under the default snapshot_entries", id, names)
		}
	}

	for _, id := range h.ids {
		h.StopNode(id, syscall.SIGTERM)
	}
	h.writeConfigAs(h.cfgPath, "snapshot_entries: 10\nsnapshot_margin: 0\n")
	for _, id := range h.ids {
		h.startNode(id, "restart under snapshot_entries: 10")
	}
	if err := h.waitReachable(h.ids...); err != nil {
		t.Fatal(err)
	}
	h.waitLeader()
	h.putN("after", 30)
	h.waitFor("a snapshot on every node", func() (bool, string) {
		for _, id := range h.ids {
			if len(h.snapFiles(id)) == 0 {
				return false, id + " has none"
			}
		}
		return true, ""
	})
}

// TestSnapshotKeysRefused: a bad snapshot_entries or snapshot_margin is a
// configuration error like any other: exit 2, one line naming the key and
// its line, nothing created.
func TestSnapshotKeysRefused(t *testing.T) {
	skipIfShort(t)
	ports, err := testkit.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, extra, want string }{
		{"zero entries", "snapshot_entries: 0\n", "line 9: snapshot_entries: want a whole number from 1 to 1000000000, got 0"},
		{"negative margin", "snapshot_margin: -1\n", "line 9: snapshot_margin: want a whole number from 0 to 1000000000, got -1"},
		{"absurd entries", "snapshot_entries: 5000000000\n", "snapshot_entries: want a whole number from 1 to 1000000000, got 5000000000"},
		{"a word", "snapshot_margin: lots\n", `snapshot_margin: want a whole number from 0 to 1000000000, got "lots"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testkit.Cluster{Name: clusterName, Heartbeat: heartbeat, ElectionTimeout: electionTimeout, Extra: tt.extra}
			for i, p := range ports {
				c.Nodes = append(c.Nodes, testkit.Node{ID: fmt.Sprintf("n%d", i+1), Addr: fmt.Sprintf("127.0.0.1:%d", p)})
			}
			path := testkit.WriteCluster(t, "", c)
			res := runBinary(t, bins.node, "--cluster", path, "--id", "n1")
			if res.code != 2 {
				t.Errorf("exit status %d, want 2", res.code)
			}
			line := strings.TrimSuffix(res.stderr, "\n")
			if line == "" || strings.Contains(line, "\n") {
				t.Errorf("stderr is not one line:\n%s", res.stderr)
			}
			if !strings.Contains(line, tt.want) {
				t.Errorf("stderr %q does not contain %q", line, tt.want)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), "data")); !os.IsNotExist(err) {
				t.Errorf("data dir exists after a config error (stat: %v)", err)
			}
		})
	}
}
