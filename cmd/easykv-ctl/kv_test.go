package main

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

func TestKVCommands(t *testing.T) {
	cfg := writeCluster(t)
	tests := []struct {
		name       string
		data       map[string]string // the cluster's keys before the command
		args       []string          // after --cluster
		wantCode   int
		wantStdout string
		wantStderr string   // "" means nothing
		wantOps    []string // what the cluster was asked
		wantData   map[string]string
	}{
		{
			name: "put", args: []string{"put", "k", "hello world"},
			wantStdout: "OK\n", wantOps: []string{"put k hello world"}, wantData: map[string]string{"k": "hello world"},
		},
		{
			name: "put json", args: []string{"-o", "json", "put", "k", "v"},
			wantStdout: "{\n  \"key\": \"k\",\n  \"value\": \"v\",\n  \"node\": \"n1\",\n  \"index\": 1\n}\n",
			wantOps:    []string{"put k v"}, wantData: map[string]string{"k": "v"},
		},
		{
			name: "put a value that looks like a flag", args: []string{"put", "k", "--", "-o"},
			wantStdout: "OK\n", wantOps: []string{"put k -o"}, wantData: map[string]string{"k": "-o"},
		},
		{
			name: "get", data: map[string]string{"k": "hello world"}, args: []string{"get", "k"},
			wantStdout: "hello world\n", wantOps: []string{"get k"},
		},
		{
			name: "get stale", data: map[string]string{"k": "v"}, args: []string{"get", "k", "--stale"},
			wantStdout: "v\n", wantOps: []string{"get k stale"},
		},
		{
			name: "get json", data: map[string]string{"k": "v"}, args: []string{"get", "--stale", "k", "-o", "json"},
			wantStdout: "{\n  \"key\": \"k\",\n  \"value\": \"v\",\n  \"found\": true,\n  \"node\": \"n1\",\n  \"index\": 1\n}\n",
			wantOps:    []string{"get k stale"},
		},
		{
			name: "get missing", args: []string{"get", "x"},
			wantCode: exitFailed, wantStderr: "easykv-ctl: key \"x\" not found\n", wantOps: []string{"get x"},
		},
		{
			name: "get missing json", args: []string{"get", "x", "-o", "json"},
			wantCode:   exitFailed,
			wantStdout: "{\n  \"key\": \"x\",\n  \"value\": \"\",\n  \"found\": false,\n  \"node\": \"n1\",\n  \"index\": 1\n}\n",
			wantStderr: `{"error":"key \"x\" not found","code":"not_found","exit":1}` + "\n", wantOps: []string{"get x"},
		},
		{
			name: "delete", data: map[string]string{"k": "v", "other": "w"}, args: []string{"delete", "k"},
			wantStdout: "OK\n", wantOps: []string{"delete k"}, wantData: map[string]string{"other": "w"},
		},
		{
			name: "delete json", data: map[string]string{"k": "v"}, args: []string{"delete", "k", "-o", "json"},
			wantStdout: "{\n  \"key\": \"k\",\n  \"deleted\": true,\n  \"node\": \"n1\",\n  \"index\": 1\n}\n",
			wantOps:    []string{"delete k"}, wantData: map[string]string{},
		},
		{
			name: "delete missing", args: []string{"delete", "k", "-o", "json"},
			wantStdout: "{\n  \"key\": \"k\",\n  \"deleted\": false,\n  \"node\": \"n1\",\n  \"index\": 1\n}\n",
			wantOps:    []string{"delete k"}, wantData: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := &fakeNet{data: tt.data}
			got := runCtl(t, net, append([]string{"--cluster", cfg}, tt.args...)...)
			if got.code != tt.wantCode || got.stdout != tt.wantStdout || got.stderr != tt.wantStderr {
				t.Errorf("got exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q",
					got.code, got.stdout, got.stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if !reflect.DeepEqual(net.kvOps, tt.wantOps) {
				t.Errorf("operations = %q, want %q", net.kvOps, tt.wantOps)
			}
			if tt.wantData != nil && !reflect.DeepEqual(net.data, tt.wantData) {
				t.Errorf("data after = %v, want %v", net.data, tt.wantData)
			}
			if len(net.kvCfgs) != 1 {
				t.Errorf("opened %d cluster clients, want 1", len(net.kvCfgs))
			}
		})
	}
}

// TestKVErrors checks the exit status of each way an operation can fail.
func TestKVErrors(t *testing.T) {
	cfg := writeCluster(t)
	noLeader := fmt.Errorf("%w: %w (after 9 attempts; last: n2: NOT_LEADER)", netlink.ErrNoLeader, errors.New("context deadline exceeded"))
	uncertain := fmt.Errorf("%w: %w (after 3 attempts; last: n1: TIMEOUT)", netlink.ErrUncertain, errors.New("context deadline exceeded"))
	rejected := fmt.Errorf("%w by n1: BAD_REQUEST: empty key", netlink.ErrRejected)
	lastTry := func(ae *netlink.AttemptError) error {
		return fmt.Errorf("%w: %w (after 9 attempts; last: %s: %w)", netlink.ErrNoLeader, errors.New("context deadline exceeded"), ae.Node, ae)
	}
	stalePaused := lastTry(&netlink.AttemptError{Node: "n3", Resp: &pb.KvResponse{Code: pb.ErrorCode_PAUSED, Message: "node paused"}})
	staleUnavailable := lastTry(&netlink.AttemptError{Node: "n2", Resp: &pb.KvResponse{Code: pb.ErrorCode_UNAVAILABLE, Message: "node busy"}})
	staleReset := lastTry(&netlink.AttemptError{Node: "n1", Err: errors.New("connection reset")})
	tests := []struct {
		name     string
		args     []string
		err      error
		wantCode int
		want     string // the whole stderr
	}{
		{"put, no leader", []string{"put", "k", "v"}, noLeader, exitUnreachable,
			"easykv-ctl: put \"k\": no leader reachable: context deadline exceeded (after 9 attempts; last: n2: NOT_LEADER)\n"},
		{"put, uncertain", []string{"put", "k", "v"}, uncertain, exitUnreachable,
			"easykv-ctl: put \"k\": write may or may not have been applied: context deadline exceeded (after 3 attempts; last: n1: TIMEOUT)\n"},
		{"delete, uncertain", []string{"delete", "k"}, uncertain, exitUnreachable,
			"easykv-ctl: delete \"k\": write may or may not have been applied: context deadline exceeded (after 3 attempts; last: n1: TIMEOUT)\n"},
		{"get, no leader", []string{"get", "k", "-o", "json"}, noLeader, exitUnreachable,
			`{"error":"get \"k\": no leader reachable: context deadline exceeded (after 9 attempts; last: n2: NOT_LEADER)","code":"unreachable","exit":3}` + "\n"},
		// A node's advice to client programs is not passed on to people.
		{"put, leadership lost", []string{"put", "k", "v"}, fmt.Errorf("%w: %w (after 3 attempts; last: n1: %w)", netlink.ErrUncertain, errors.New("context deadline exceeded"),
			&netlink.AttemptError{Node: "n1", Resp: &pb.KvResponse{Code: pb.ErrorCode_TIMEOUT, Message: "leadership lost before the write was applied: it may or may not take effect; retry with the same sequence"}}),
			exitUnreachable,
			"easykv-ctl: put \"k\": write may or may not have been applied: context deadline exceeded (after 3 attempts; last: n1: TIMEOUT: leadership lost before the write was applied: it may or may not take effect)\n"},
		// A stale read needs no leader: it says what the nodes answered.
		{"get --stale, every node paused", []string{"get", "k", "--stale", "--timeout", "2s"}, stalePaused, exitUnreachable,
			"easykv-ctl: get \"k\" --stale: no node served the read within 2s; the last asked, n3, is paused (a paused node serves no reads, stale ones included)\n"},
		{"get --stale, unavailable", []string{"get", "k", "--stale"}, staleUnavailable, exitUnreachable,
			"easykv-ctl: get \"k\" --stale: no node served the read within 3s; the last asked, n2, answered UNAVAILABLE: node busy\n"},
		{"get --stale, transport", []string{"get", "k", "--stale"}, staleReset, exitUnreachable,
			"easykv-ctl: get \"k\" --stale: no node served the read within 3s; the last asked, n1: connection reset\n"},
		{"put, rejected", []string{"put", "", "v"}, rejected, exitFailed,
			"easykv-ctl: put \"\": request rejected by n1: BAD_REQUEST: empty key\n"},
		// A rejection of a retry that may have been applied already is still
		// a refusal: the message says both.
		{"put, rejected and uncertain", []string{"put", "k", "v"}, fmt.Errorf("%w: %w", netlink.ErrUncertain, rejected), exitFailed,
			"easykv-ctl: put \"k\": write may or may not have been applied: request rejected by n1: BAD_REQUEST: empty key\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := &fakeNet{kvFail: func(int) error { return tt.err }}
			got := runCtl(t, net, append([]string{"--cluster", cfg}, tt.args...)...)
			if got.code != tt.wantCode || got.stdout != "" || got.stderr != tt.want {
				t.Errorf("got exit %d, stdout %q, stderr %q\nwant exit %d, no stdout, stderr %q", got.code, got.stdout, got.stderr, tt.wantCode, tt.want)
			}
		})
	}
}

// TestKVClusterConfig checks what the cluster client is given: every node
// of cluster.yaml, easykv-ctl's identity, --timeout per call and no fixed
// session id (each run is a new session).
func TestKVClusterConfig(t *testing.T) {
	cfg := writeCluster(t)
	net := &fakeNet{}
	if got := runCtl(t, net, "--cluster", cfg, "--timeout", "7s", "put", "k", "v"); got.code != exitOK {
		t.Fatalf("exit %d, stderr %q", got.code, got.stderr)
	}
	want := netlink.ClusterConfig{
		Identity: netlink.Identity{Cluster: "unit", NodeID: "easykv-ctl", AuthToken: "sesame"},
		Nodes: []netlink.NodeAddr{
			{ID: "n1", Addr: "127.0.0.1:7001"},
			{ID: "n2", Addr: "127.0.0.1:7002"},
			{ID: "n3", Addr: "127.0.0.1:7003"},
		},
		Timeout: 7 * time.Second,
	}
	if len(net.kvCfgs) != 1 || !reflect.DeepEqual(net.kvCfgs[0], want) {
		t.Errorf("cluster client configs = %+v, want [%+v]", net.kvCfgs, want)
	}
}

// TestGetPrintsValueVerbatim checks that a value is printed as stored, with
// one newline added, whatever it contains.
func TestGetPrintsValueVerbatim(t *testing.T) {
	cfg := writeCluster(t)
	for _, v := range []string{"", "  spaced  ", "two\nlines", "ünïcode ✓", "%s %d"} {
		net := &fakeNet{data: map[string]string{"k": v}}
		got := runCtl(t, net, "--cluster", cfg, "get", "k")
		if got.code != exitOK || got.stdout != v+"\n" || got.stderr != "" {
			t.Errorf("value %q: exit %d, stdout %q, stderr %q", v, got.code, got.stdout, got.stderr)
		}
	}
}

// TestGetStaleNode checks "get --stale --node ID KEY": one stale read sent
// to that node alone, over its own connection, never through the cluster
// client (which would redirect or retry elsewhere).
func TestGetStaleNode(t *testing.T) {
	cfg := writeCluster(t)
	const n2 = "127.0.0.1:7002"
	tests := []struct {
		name       string
		args       []string // after --cluster
		node       fakeNode // what n2 does
		wantCode   int
		wantStdout string
		wantStderr string // the whole stderr
		wantSent   bool   // n2 was asked
	}{
		{
			name: "value", args: []string{"get", "--stale", "--node", "n2", "k"},
			node:       fakeNode{kv: &pb.KvResponse{Success: true, Code: pb.ErrorCode_OK, Found: true, Value: "old", NodeId: "n2", Index: 7}},
			wantStdout: "old\n", wantSent: true,
		},
		{
			name: "flags after the key, json", args: []string{"get", "k", "--stale", "--node=n2", "-o", "json"},
			node:       fakeNode{kv: &pb.KvResponse{Success: true, Code: pb.ErrorCode_OK, Found: true, Value: "old", NodeId: "n2", Index: 7}},
			wantStdout: "{\n  \"key\": \"k\",\n  \"value\": \"old\",\n  \"found\": true,\n  \"node\": \"n2\",\n  \"index\": 7\n}\n", wantSent: true,
		},
		{
			name: "missing", args: []string{"get", "--stale", "--node", "n2", "k"},
			node:     fakeNode{kv: &pb.KvResponse{Code: pb.ErrorCode_NOT_FOUND, NodeId: "n2", Index: 7}},
			wantCode: exitFailed, wantStderr: "easykv-ctl: key \"k\" not found\n", wantSent: true,
		},
		{
			name: "unknown node", args: []string{"get", "--stale", "--node", "n9", "k"},
			wantCode: exitUsage, wantStderr: "easykv-ctl: get: unknown node \"n9\" for --node (nodes: n1, n2, n3)\n",
		},
		{
			name: "unknown node json", args: []string{"get", "--stale", "--node", "n9", "k", "-o", "json"},
			wantCode: exitUsage, wantStderr: `{"error":"get: unknown node \"n9\" for --node (nodes: n1, n2, n3)","code":"usage","exit":2}` + "\n",
		},
		{
			name: "without --stale", args: []string{"get", "--node", "n2", "k"},
			wantCode: exitUsage, wantStderr: "easykv-ctl: get: --node needs --stale (a linearizable read is served by the leader; --stale --node ID reads ID's own copy)\n",
		},
		{
			name: "paused", args: []string{"get", "--stale", "--node", "n2", "k"},
			node:     fakeNode{kv: &pb.KvResponse{Code: pb.ErrorCode_PAUSED, Message: "node paused", NodeId: "n2"}},
			wantCode: exitUnreachable, wantStderr: "easykv-ctl: get \"k\" --stale --node n2: n2 is paused (a paused node serves no reads, stale ones included)\n", wantSent: true,
		},
		{
			name: "unavailable", args: []string{"get", "--stale", "--node", "n2", "k"},
			node:     fakeNode{kv: &pb.KvResponse{Code: pb.ErrorCode_UNAVAILABLE, Message: "node busy"}},
			wantCode: exitUnreachable, wantStderr: "easykv-ctl: get \"k\" --stale --node n2: n2 answered UNAVAILABLE: node busy\n", wantSent: true,
		},
		{
			name: "rejected", args: []string{"get", "--stale", "--node", "n2", "k"},
			node:     fakeNode{kv: &pb.KvResponse{Code: pb.ErrorCode_BAD_REQUEST, Message: "key too long"}},
			wantCode: exitFailed, wantStderr: "easykv-ctl: get \"k\" --stale --node n2: BAD_REQUEST: key too long\n", wantSent: true,
		},
		{
			name: "transport", args: []string{"get", "--stale", "--node", "n2", "k"},
			node:     fakeNode{kvErr: errors.New("connection reset")},
			wantCode: exitUnreachable, wantStderr: "easykv-ctl: get \"k\" --stale --node n2: connection reset\n", wantSent: true,
		},
		{
			name: "down", args: []string{"get", "--stale", "--node", "n2", "k"},
			node:     fakeNode{dialErr: errors.New("dial tcp 127.0.0.1:7002: connection refused")},
			wantCode: exitUnreachable, wantStderr: "easykv-ctl: get \"k\" --stale --node n2: dial tcp 127.0.0.1:7002: connection refused\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := tt.node
			net := &fakeNet{nodes: map[string]*fakeNode{n2: &node, "127.0.0.1:7001": {}, "127.0.0.1:7003": {}}}
			got := runCtl(t, net, append([]string{"--cluster", cfg}, tt.args...)...)
			if got.code != tt.wantCode || got.stdout != tt.wantStdout || got.stderr != tt.wantStderr {
				t.Errorf("got exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q",
					got.code, got.stdout, got.stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			var want map[string][]*pb.KvRequest
			if tt.wantSent {
				want = map[string][]*pb.KvRequest{n2: {{OpType: pb.KvRequest_GET, Key: "k", Stale: true}}}
			}
			if len(net.kvReqs) != len(want) || (want != nil && !proto.Equal(net.kvReqs[n2][0], want[n2][0])) || len(net.kvReqs[n2]) != len(want[n2]) {
				t.Errorf("requests sent = %v, want %v", net.kvReqs, want)
			}
			if len(net.kvCfgs) != 0 || len(net.kvOps) != 0 {
				t.Errorf("a cluster client was opened (%d) or used (%q): --node reads one node only", len(net.kvCfgs), net.kvOps)
			}
		})
	}
}
