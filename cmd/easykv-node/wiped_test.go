package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/segmentlog"
)

// TestDataDirEmpty ties dataDirEmpty to what segmentlog and serve
// actually write: the hard state file, the log directory, snap/.
func TestDataDirEmpty(t *testing.T) {
	mustEmpty := func(dir string, want bool) {
		t.Helper()
		got, err := dataDirEmpty(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("dataDirEmpty(%s) = %v, want %v", dir, got, want)
		}
	}
	base := t.TempDir()
	mustEmpty(filepath.Join(base, "missing"), true)

	locked := filepath.Join(base, "locked")
	unlock, err := lockDataDir(locked)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	mustEmpty(locked, true) // LOCK alone is no state

	hs := filepath.Join(base, "hardstate")
	store, err := segmentlog.OpenHardState(hs)
	if err != nil {
		t.Fatal(err)
	}
	mustEmpty(hs, true) // opening creates nothing
	if err := store.Save(segmentlog.HardState{Term: 1, Vote: "n1"}); err != nil {
		t.Fatal(err)
	}
	mustEmpty(hs, false)

	wal := filepath.Join(base, "wal-only")
	l, err := segmentlog.Open(filepath.Join(wal, walDirName), segmentlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	mustEmpty(wal, false)

	snap := filepath.Join(base, "snap-only")
	if err := os.MkdirAll(filepath.Join(snap, snapDirName), 0o755); err != nil {
		t.Fatal(err)
	}
	mustEmpty(snap, false)
}

// threeNodes is a cluster of n1, n2, n3; the addresses are never dialed.
var threeNodes = &cluster.Config{Name: "t", Nodes: []cluster.Node{
	{ID: "n1", Addr: "127.0.0.1:1"}, {ID: "n2", Addr: "127.0.0.1:2"}, {ID: "n3", Addr: "127.0.0.1:3"},
}}

var errDown = errors.New("connection refused")

// fakePeers answers status requests from a table; a node missing from it
// is down.
func fakePeers(statuses map[string]*pb.NodeStatus) statusFunc {
	return func(ctx context.Context, n cluster.Node) (*pb.NodeStatus, error) {
		if st, ok := statuses[n.ID]; ok {
			return st, nil
		}
		return nil, errDown
	}
}

func TestCheckWiped(t *testing.T) {
	const refusal = "n3's data is gone but the cluster has state (n2 is at term 5, index 120): " +
		"a member that lost its data could vote twice or help elect a leader that lacks committed entries; " +
		"remove n3 and add it back through a membership change"
	tests := []struct {
		name     string
		statuses map[string]*pb.NodeStatus
		want     string // "" to start
	}{
		{"no peer reachable", nil, ""},
		{"every peer fresh", map[string]*pb.NodeStatus{"n1": {}, "n2": {}}, ""},
		{"one peer fresh, one down", map[string]*pb.NodeStatus{"n1": {}}, ""},
		{"a peer with a term", map[string]*pb.NodeStatus{"n1": {}, "n2": {Term: 5, LastIndex: 120}}, refusal},
		{"a peer with a log only", map[string]*pb.NodeStatus{"n2": {LastIndex: 3}}, "(n2 is at term 0, index 3)"},
		{"the peer furthest ahead is named", map[string]*pb.NodeStatus{"n1": {Term: 4, LastIndex: 900}, "n2": {Term: 5, LastIndex: 120}}, refusal},
		{"same term, longer log", map[string]*pb.NodeStatus{"n1": {Term: 5, LastIndex: 7}, "n2": {Term: 5, LastIndex: 120}}, refusal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkWiped(context.Background(), threeNodes, "n3", t.TempDir(), fakePeers(tt.statuses), time.Second, discard)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, errWiped) {
				t.Fatalf("error %v, want errWiped", err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q, want one line containing %q", err, tt.want)
			}
		})
	}
}

// TestCheckWipedSkipsDataDirWithState: a node with its data never asks.
func TestCheckWipedSkipsDataDirWithState(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, walDirName), 0o755); err != nil {
		t.Fatal(err)
	}
	var asked atomic.Int32
	status := func(ctx context.Context, n cluster.Node) (*pb.NodeStatus, error) {
		asked.Add(1)
		return &pb.NodeStatus{Term: 9}, nil
	}
	if err := checkWiped(context.Background(), threeNodes, "n3", dir, status, time.Second, discard); err != nil {
		t.Fatal(err)
	}
	if n := asked.Load(); n != 0 {
		t.Fatalf("asked %d peers, want none", n)
	}
}

// TestCheckWipedBounded: peers that never answer cost the timeout once,
// not once each, and one that answers in time is still heard.
func TestCheckWipedBounded(t *testing.T) {
	cfg := &cluster.Config{Name: "t"}
	for _, id := range []string{"n1", "n2", "n3", "n4", "n5"} {
		cfg.Nodes = append(cfg.Nodes, cluster.Node{ID: id, Addr: "x:1"})
	}
	status := func(ctx context.Context, n cluster.Node) (*pb.NodeStatus, error) {
		if n.ID == "n4" {
			return &pb.NodeStatus{Term: 2, LastIndex: 1}, nil
		}
		<-ctx.Done() // a peer that swallows packets
		return nil, ctx.Err()
	}
	const timeout = 300 * time.Millisecond
	start := time.Now()
	err := checkWiped(context.Background(), cfg, "n5", t.TempDir(), status, timeout, discard)
	if elapsed := time.Since(start); elapsed > 3*timeout {
		t.Fatalf("took %v with a timeout of %v for 3 silent peers: not in parallel", elapsed, timeout)
	}
	if !errors.Is(err, errWiped) || !strings.Contains(err.Error(), "(n4 is at term 2, index 1)") {
		t.Fatalf("error %v, want n4's state", err)
	}
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))
