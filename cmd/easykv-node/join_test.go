package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/easykv/easykv/cluster"
)

// TestResolveSelf: a listed node needs no flag; a node the file does not
// list needs --join and --addr the first time, and nothing on a restart,
// which finds both in its data directory; a listed node may rejoin.
func TestResolveSelf(t *testing.T) {
	cfg := &cluster.Config{Nodes: []cluster.Node{{ID: "n1", Addr: "127.0.0.1:7001"}, {ID: "n2", Addr: "127.0.0.1:7002"}}}
	joinedDir := t.TempDir()
	if err := rememberJoin(joinedDir, "127.0.0.1:7004"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		o          options
		wantAddr   string
		wantJoined bool
		wantErr    string
	}{
		{"listed", options{id: "n1"}, "127.0.0.1:7001", false, ""},
		{"listed, rejoining", options{id: "n2", join: true}, "127.0.0.1:7002", true, ""},
		{"new member", options{id: "n4", join: true, addr: "127.0.0.1:7004"}, "127.0.0.1:7004", true, ""},
		{"new member restarted", options{id: "n4", dataDir: joinedDir}, "127.0.0.1:7004", true, ""},
		{"stranger without --join", options{id: "n9"}, "", false, "start a new member with --join"},
		{"joining without an address", options{id: "n9", join: true}, "", false, "--addr HOST:PORT is required"},
		{"listed node moved without --join", options{id: "n1", addr: "127.0.0.1:9999"}, "", false, "only a joining node"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.clusterPath = "cluster.yaml"
			if o.dataDir == "" {
				o.dataDir = filepath.Join(t.TempDir(), o.id)
			}
			self, joined, err := resolveSelf(cfg, o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || self.Addr != tc.wantAddr || self.ID != o.id || joined != tc.wantJoined {
				t.Fatalf("resolveSelf = %+v joined %v err %v, want addr %s joined %v", self, joined, err, tc.wantAddr, tc.wantJoined)
			}
		})
	}
}
