package testkit

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/easykv/easykv/cluster"
)

// TestWriteClusterLoads checks that what WriteCluster writes is a
// cluster.yaml that cluster.Load accepts, with every field carried.
func TestWriteClusterLoads(t *testing.T) {
	path := WriteCluster(t, "", Cluster{
		Name:      "kit",
		Nodes:     Nodes("127.0.0.1:7001", "127.0.0.1:7002"),
		Heartbeat: 50 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond,
		Extra: "auth_token: s3cret\n",
	})
	if filepath.Base(path) != "cluster.yaml" {
		t.Errorf("wrote %s, want a cluster.yaml", path)
	}
	c, err := cluster.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []cluster.Node{{ID: "n1", Addr: "127.0.0.1:7001"}, {ID: "n2", Addr: "127.0.0.1:7002"}}
	if c.Name != "kit" || !slices.Equal(c.Nodes, want) || c.DataDir != filepath.Join(filepath.Dir(path), "data") ||
		c.Heartbeat != 50*time.Millisecond || c.ElectionTimeout != 500*time.Millisecond || c.AuthToken != "s3cret" {
		t.Errorf("loaded %+v", c)
	}
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v: want 5 distinct positive ports", ports)
		}
		seen[p] = true
	}
}
