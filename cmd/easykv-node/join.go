package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/easykv/easykv/cluster"
)

// joinFile, in a node's data directory, records that the node joined a
// running cluster, and its address: a restart finds both there.
const joinFile = "joined"

// resolveSelf finds this node's id and address, and whether it runs
// outside cluster.yaml's initial configuration: started with --join now,
// or earlier (its data directory says so).
func resolveSelf(cfg *cluster.Config, o options) (self cluster.Node, joined bool, err error) {
	listed, inFile := cfg.Lookup(o.id)
	remembered, err := readJoin(o.dataDir)
	if err != nil {
		return cluster.Node{}, false, err
	}
	self = cluster.Node{ID: o.id, Addr: o.addr, MetricsAddr: listed.MetricsAddr}
	if o.metricsAddr != "" {
		self.MetricsAddr = o.metricsAddr
	}
	switch {
	case self.Addr == "" && inFile:
		self.Addr = listed.Addr
	case self.Addr == "":
		self.Addr = remembered
	}
	switch {
	case !inFile && !o.join && remembered == "":
		return cluster.Node{}, false, fmt.Errorf("node %q is not in %s: start a new member with --join --addr HOST:PORT, after easykv-ctl member add", o.id, o.clusterPath)
	case self.Addr == "":
		return cluster.Node{}, false, fmt.Errorf("node %q is not in %s: --addr HOST:PORT is required", o.id, o.clusterPath)
	case inFile && self.Addr != listed.Addr && !o.join && remembered == "":
		return cluster.Node{}, false, fmt.Errorf("--addr %s differs from %s in %s; only a joining node (--join) may move", self.Addr, listed.Addr, o.clusterPath)
	}
	return self, o.join || remembered != "", nil
}

// readJoin returns the address a node that joined recorded, "" when it
// did not join.
func readJoin(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, joinFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", joinFile, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// rememberJoin records that the node joined, at addr.
func rememberJoin(dataDir, addr string) error {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dataDir, err)
	}
	path := filepath.Join(dataDir, joinFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(addr+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", joinFile, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", joinFile, err)
	}
	return nil
}
