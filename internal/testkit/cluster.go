package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Node is one entry of cluster.yaml's nodes; the optional keys are left
// out when empty.
type Node struct{ ID, Addr, MetricsAddr, CertFile, KeyFile string }

// Nodes names addrs n1, n2, … in order.
func Nodes(addrs ...string) []Node {
	nodes := make([]Node, len(addrs))
	for i, a := range addrs {
		nodes[i] = Node{ID: fmt.Sprintf("n%d", i+1), Addr: a}
	}
	return nodes
}

// Cluster is what a valid cluster.yaml says. Tests of a broken file write
// it as literal text instead: its brokenness is the point.
type Cluster struct {
	Name                       string
	Nodes                      []Node
	DataDir                    string        // "./data" if empty
	Heartbeat, ElectionTimeout time.Duration // written as Duration.String
	Extra                      string        // lines appended as they are, e.g. "auth_token: x\n"
}

// YAML is c as cluster.yaml text.
func (c Cluster) YAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nnodes:\n", c.Name)
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "  - {id: %s, addr: %s", n.ID, n.Addr)
		for _, kv := range [][2]string{{"metrics_addr", n.MetricsAddr}, {"cert_file", n.CertFile}, {"key_file", n.KeyFile}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, ", %s: %s", kv[0], kv[1])
			}
		}
		b.WriteString("}\n")
	}
	dataDir := c.DataDir
	if dataDir == "" {
		dataDir = "./data"
	}
	fmt.Fprintf(&b, "data_dir: %s\nheartbeat: %s\nelection_timeout: %s\n%s", dataDir, c.Heartbeat, c.ElectionTimeout, c.Extra)
	return b.String()
}

// WriteCluster writes c to path, or to cluster.yaml in a new temp dir of
// t's if path is "", and returns the path written.
func WriteCluster(t testing.TB, path string, c Cluster) string {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "cluster.yaml")
	}
	if err := os.WriteFile(path, []byte(c.YAML()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
