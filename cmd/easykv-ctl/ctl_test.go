package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// testCluster is a valid three-node cluster.yaml; nothing listens on its
// addresses, the fakes answer instead.
var testCluster = testkit.Cluster{
	Name:      "unit",
	Nodes:     testkit.Nodes("127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"),
	Heartbeat: 50 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond,
	Extra: "auth_token: sesame\n",
}

// writeCluster writes testCluster into a temp dir and returns its path.
func writeCluster(t *testing.T) string {
	t.Helper()
	return testkit.WriteCluster(t, "", testCluster)
}

// healthy is a three-node cluster with n1 leading, a snapshot at 8 taken
// and its log compacted below 9, sending that snapshot to n3; n2 isolated
// from n3 and slowed down, its log never compacted; and n3 paused, its
// disk stalled, and too old a node to report a state digest or its log's
// first index. n1's configuration has n3 as a learner.
func healthy() *fakeNet {
	return &fakeNet{nodes: map[string]*fakeNode{
		"127.0.0.1:7001": {status: &pb.NodeStatus{Id: "n1", Role: pb.Role_ROLE_LEADER, Term: 5, VotedFor: "n1", LeaderId: "n1", CommitIndex: 12, AppliedIndex: 12, LastIndex: 13,
			StateDigest: "5d2a0c1e9b7f43a8d6e1f0a2b3c4d5e6", SnapshotIndex: 8, SnapshotTerm: 4, FirstIndex: 9,
			SnapshotTransfers: []*pb.SnapshotTransfer{{Peer: "n3", Sending: true, SnapshotIndex: 8, BytesDone: 3 << 20, TotalBytes: 12 << 20, BytesPerSecond: 40 << 20}},
			Members:           []*pb.Member{{Id: "n1", Addr: "127.0.0.1:7001"}, {Id: "n2", Addr: "127.0.0.1:7002"}, {Id: "n3", Addr: "127.0.0.1:7003", Learner: true}}, ConfigIndex: 7}},
		"127.0.0.1:7002": {status: &pb.NodeStatus{Id: "n2", Role: pb.Role_ROLE_FOLLOWER, Term: 5, VotedFor: "n1", LeaderId: "n1", CommitIndex: 12, AppliedIndex: 11, LastIndex: 13,
			IsolatedFrom: []string{"n3"}, DelayMs: 1500, StateDigest: "e0f1a2b3c4d5e6f708192a3b4c5d6e7f", FirstIndex: 1}},
		"127.0.0.1:7003": {status: &pb.NodeStatus{Id: "n3", Role: pb.Role_ROLE_FOLLOWER, Term: 4, Paused: true, CommitIndex: 9, AppliedIndex: 9, LastIndex: 10,
			DiskStallMs: 2000}},
	}}
}

// ctlResult is what one run of easykv-ctl produced.
type ctlResult struct {
	code   int    // exit status
	stdout string // everything written to stdout
	stderr string // everything written to stderr
}

// runCtl runs easykv-ctl against net and checks that every client it
// opened was closed.
func runCtl(t *testing.T, net *fakeNet, args ...string) ctlResult {
	t.Helper()
	return runCtlCtx(t, context.Background(), net, args...)
}

// runCtlCtx is runCtl under ctx, which stands for the signal context.
func runCtlCtx(t *testing.T, ctx context.Context, net *fakeNet, args ...string) ctlResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := &app{stdout: &stdout, stderr: &stderr, dial: net.dial, newKV: net.newKV}
	code := a.run(ctx, args)
	if net.open != 0 {
		t.Errorf("%d client(s) left open", net.open)
	}
	return ctlResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestUsageErrors(t *testing.T) {
	cfg := writeCluster(t)
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	tests := []struct {
		name string
		args []string
		want string // substring of the error line
	}{
		{"no arguments", nil, "missing command"},
		{"no command", []string{"--cluster", cfg}, "missing command"},
		{"unknown command", []string{"--cluster", cfg, "foo"}, `unknown command "foo"`},
		{"unknown global flag", []string{"--bogus", "status"}, "-bogus"},
		{"unknown command flag", []string{"--cluster", cfg, "status", "--bogus"}, "-bogus"},
		{"missing --cluster", []string{"status"}, "--cluster is required"},
		{"bad -o before command", []string{"--cluster", cfg, "-o", "yaml", "status"}, `invalid value "yaml" for flag -o`},
		{"bad -o after command", []string{"--cluster", cfg, "status", "-o", "yaml"}, `invalid value "yaml" for flag -o`},
		{"-o without value", []string{"--cluster", cfg, "status", "-o"}, "flag needs an argument: -o"},
		{"zero timeout", []string{"--cluster", cfg, "--timeout", "0s", "status"}, "--timeout must be positive"},
		{"bad timeout", []string{"--cluster", cfg, "--timeout", "soon", "status"}, "-timeout"},
		{"status with argument", []string{"--cluster", cfg, "status", "n1"}, "status: want 0 argument(s), got 1"},
		{"pause without id", []string{"--cluster", cfg, "pause"}, "pause: want 1 argument(s), got 0"},
		{"resume with two ids", []string{"--cluster", cfg, "resume", "n1", "n2"}, "resume: want 1 argument(s), got 2"},
		{"pause unknown id", []string{"--cluster", cfg, "pause", "n9"}, `unknown node "n9" (nodes: n1, n2, n3)`},
		{"resume unknown id", []string{"--cluster", cfg, "resume", "n9", "--timeout", "2s"}, `unknown node "n9"`},
		{"partition without id", []string{"--cluster", cfg, "partition"}, "partition: want 1 argument(s), got 0"},
		{"heal with two ids", []string{"--cluster", cfg, "heal", "n1", "n2"}, "heal: want 1 argument(s), got 2"},
		{"heal unknown id", []string{"--cluster", cfg, "heal", "n9"}, `unknown node "n9" (nodes: n1, n2, n3)`},
		{"isolate without peer", []string{"--cluster", cfg, "isolate", "n1"}, "isolate: want at least 2 argument(s), got 1 (usage: easykv-ctl isolate ID PEER...)"},
		{"isolate unknown id", []string{"--cluster", cfg, "isolate", "n9", "n1"}, `unknown node "n9"`},
		{"isolate unknown peer", []string{"--cluster", cfg, "isolate", "n1", "n2", "n7"}, `isolate: unknown peer "n7" (nodes: n1, n2, n3)`},
		{"isolate from itself", []string{"--cluster", cfg, "isolate", "n1", "n2", "n1"}, "isolate: n1 cannot be isolated from itself"},
		{"delay without duration", []string{"--cluster", cfg, "delay", "n1"}, "delay: want 2 argument(s), got 1 (usage: easykv-ctl delay ID DURATION)"},
		{"delay bad duration", []string{"--cluster", cfg, "delay", "n1", "200"}, `delay: bad duration "200" (want e.g. 200ms, 1.5s, or 0 to clear)`},
		{"delay negative", []string{"--cluster", cfg, "delay", "n1", "--", "-1s"}, "delay: -1s is outside [0, 1m0s]"},
		{"delay too long", []string{"--cluster", cfg, "delay", "n1", "61s"}, "delay: 1m1s is outside [0, 1m0s]"},
		{"delay under a millisecond", []string{"--cluster", cfg, "delay", "n1", "400us"}, "delay: 400µs is under a millisecond (0 clears the delay)"},
		{"delay unknown id", []string{"--cluster", cfg, "delay", "n9", "1s"}, `unknown node "n9"`},
		{"slow-disk without duration", []string{"--cluster", cfg, "slow-disk", "n1"}, "slow-disk: want 2 argument(s), got 1 (usage: easykv-ctl slow-disk ID DURATION)"},
		{"slow-disk bad duration", []string{"--cluster", cfg, "slow-disk", "n1", "1500"}, `slow-disk: bad duration "1500" (want e.g. 1500ms, 2s, or 0 to clear)`},
		{"slow-disk words", []string{"--cluster", cfg, "slow-disk", "n1", "slow"}, `slow-disk: bad duration "slow"`},
		{"slow-disk negative", []string{"--cluster", cfg, "slow-disk", "n1", "--", "-500ms"}, "slow-disk: -500ms is outside [0, 1m0s]"},
		{"slow-disk too long", []string{"--cluster", cfg, "slow-disk", "n1", "2m"}, "slow-disk: 2m0s is outside [0, 1m0s]"},
		{"slow-disk under a millisecond", []string{"--cluster", cfg, "slow-disk", "n1", "10us"}, "slow-disk: 10µs is under a millisecond (0 clears the stall)"},
		{"slow-disk unknown id", []string{"--cluster", cfg, "slow-disk", "n9", "1s"}, `unknown node "n9" (nodes: n1, n2, n3)`},
		{"slow-disk three arguments", []string{"--cluster", cfg, "slow-disk", "n1", "1s", "2s"}, "slow-disk: want 2 argument(s), got 3"},
		{"unreadable cluster file", []string{"--cluster", missing, "status"}, ""},
		{"put without value", []string{"--cluster", cfg, "put", "k"}, "put: want 2 argument(s), got 1 (usage: easykv-ctl put KEY VALUE)"},
		{"get without key", []string{"--cluster", cfg, "get", "--stale"}, "get: want 1 argument(s), got 0"},
		{"delete with two keys", []string{"--cluster", cfg, "delete", "a", "b"}, "delete: want 1 argument(s), got 2"},
		{"put --stale", []string{"--cluster", cfg, "put", "k", "v", "--stale"}, "-stale"},
		{"get with bench flag", []string{"--cluster", cfg, "get", "k", "--clients", "2"}, "-clients"},
		{"bench without op", []string{"--cluster", cfg, "bench"}, "bench: want 1 argument(s), got 0"},
		{"bench unknown op", []string{"--cluster", cfg, "bench", "delete"}, `bench: want put or get, got "delete"`},
		{"bench zero clients", []string{"--cluster", cfg, "bench", "put", "--clients", "0"}, "--clients must be in [1, 1024], got 0"},
		{"bench too many clients", []string{"--cluster", cfg, "bench", "put", "--clients", "5000"}, "--clients must be in"},
		{"bench zero conns", []string{"--cluster", cfg, "bench", "put", "--conns", "0"}, "--conns must be in [1, 1024], got 0"},
		{"bench zero total", []string{"--cluster", cfg, "bench", "get", "--total", "0"}, "--total must be in"},
		{"bench more clients than ops", []string{"--cluster", cfg, "bench", "put", "--clients", "5", "--total", "2"}, "--clients (5) must not exceed --total (2)"},
		{"bench negative value size", []string{"--cluster", cfg, "bench", "put", "--value-size", "-1"}, "--value-size must be in"},
		{"bench empty key space", []string{"--cluster", cfg, "bench", "put", "--key-space", "0"}, "--key-space must be at least 1"},
		{"bench zero key size", []string{"--cluster", cfg, "bench", "put", "--key-size", "0"}, "--key-size must be in"},
		{"bench keys too short", []string{"--cluster", cfg, "bench", "get", "--key-size", "2", "--key-space", "101"}, "--key-size 2 is too short for --key-space 101"},
		{"bench put --stale", []string{"--cluster", cfg, "bench", "put", "--stale"}, "--stale applies to bench get only"},
		{"bench bad number", []string{"--cluster", cfg, "bench", "put", "--total", "many"}, "-total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := healthy()
			got := runCtl(t, net, tt.args...)
			if got.code != exitUsage {
				t.Errorf("exit status = %d, want %d (stderr %q)", got.code, exitUsage, got.stderr)
			}
			if !strings.HasPrefix(got.stderr, "easykv-ctl: ") || strings.Count(got.stderr, "\n") != 1 || !strings.HasSuffix(got.stderr, "\n") {
				t.Errorf("stderr = %q, want one line starting with %q", got.stderr, "easykv-ctl: ")
			}
			if !strings.Contains(got.stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", got.stderr, tt.want)
			}
			if got.stdout != "" {
				t.Errorf("stdout = %q, want nothing", got.stdout)
			}
			if len(net.dialed) != 0 || len(net.kvCfgs) != 0 {
				t.Errorf("dialed %d node(s) and opened %d cluster client(s) on a usage error", len(net.dialed), len(net.kvCfgs))
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"--cluster", "x.yaml", "status", "-h"}, {"pause", "-h"}, {"help"}, {"--cluster", "x.yaml", "help"}, {"help", "get"}, {"help", "nosuch"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			got := runCtl(t, healthy(), args...)
			if got.code != exitOK || got.stderr != "" {
				t.Errorf("exit status %d, stderr %q; want 0 and nothing", got.code, got.stderr)
			}
			for _, want := range []string{"Usage: easykv-ctl", "status", "pause ID", "resume ID", "partition ID", "isolate ID PEER...", "delay ID DURATION", "slow-disk ID DURATION", "heal ID", "put KEY VALUE", "get KEY [--stale [--node ID]]", "delete KEY", "bench put|get", "-cluster", "-timeout", "-o"} {
				if !strings.Contains(got.stdout, want) {
					t.Errorf("usage lacks %q:\n%s", want, got.stdout)
				}
			}
		})
	}
}

// TestHelpShowsTheFlagsOwnDefaults: a command's -h shows each flag's own
// default, not the value given before it on the same line, and --cluster,
// which is required, with none.
func TestHelpShowsTheFlagsOwnDefaults(t *testing.T) {
	for _, args := range [][]string{{"get", "-h"}, {"--cluster", "x.yaml", "--timeout", "9s", "-o", "json", "get", "-h"}, {"help", "get"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			got := runCtl(t, healthy(), args...)
			if got.code != exitOK || got.stderr != "" {
				t.Errorf("exit status %d, stderr %q; want 0 and nothing", got.code, got.stderr)
			}
			for _, want := range []string{"path of cluster.yaml (required)\n", "(default 3s)", "(default table)", "-stale", "-node ID"} {
				if !strings.Contains(got.stdout, want) {
					t.Errorf("usage lacks %q:\n%s", want, got.stdout)
				}
			}
			for _, bad := range []string{"x.yaml", "9s", "default json"} {
				if strings.Contains(got.stdout, bad) {
					t.Errorf("usage shows %q, given on the command line, as a default:\n%s", bad, got.stdout)
				}
			}
		})
	}
}

// TestJSONErrors: with -o json an error is one JSON line on stderr, with
// the message, a code word and the exit status.
func TestJSONErrors(t *testing.T) {
	cfg := writeCluster(t)
	tests := []struct {
		name string
		args []string
		want jsonError
	}{
		{"usage", []string{"--cluster", cfg, "-o", "json", "resume", "n9"},
			jsonError{Error: `unknown node "n9" (nodes: n1, n2, n3)`, Code: "usage", Exit: exitUsage}},
		{"unknown command", []string{"-o", "json", "frob"},
			jsonError{Error: `unknown command "frob" (easykv-ctl help lists the commands)`, Code: "usage", Exit: exitUsage}},
		{"json given after a bad flag", []string{"pause", "-o", "json", "--bogus"},
			jsonError{Error: "flag provided but not defined: -bogus", Code: "usage", Exit: exitUsage}},
		{"not found", []string{"--cluster", cfg, "get", "nosuch", "-o", "json"},
			jsonError{Error: `key "nosuch" not found`, Code: "not_found", Exit: exitFailed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runCtl(t, &fakeNet{}, tt.args...)
			if got.code != tt.want.Exit {
				t.Errorf("exit status %d, want %d", got.code, tt.want.Exit)
			}
			var je jsonError
			if err := json.Unmarshal([]byte(got.stderr), &je); err != nil || strings.Count(got.stderr, "\n") != 1 {
				t.Fatalf("stderr %q is not one line of JSON: %v", got.stderr, err)
			}
			if je != tt.want {
				t.Errorf("stderr %+v, want %+v", je, tt.want)
			}
		})
	}
}

func TestStatusTable(t *testing.T) {
	cfg := writeCluster(t)
	net := healthy()
	got := runCtl(t, net, "--cluster", cfg, "status")
	if got.code != exitOK || got.stderr != "" {
		t.Fatalf("exit status %d, stderr %q; want 0 and nothing", got.code, got.stderr)
	}
	want := `+----+----------------+-----------+----------+---------+------+--------+--------+---------+----------+------+-------+------+--------+-------------------------+
| ID | ADDRESS        | REACHABLE | ROLE     | MEMBER  | TERM | LEADER | COMMIT | APPLIED | DIGEST   | SNAP | FIRST | LAST | PAUSED | FAULTS                  |
+----+----------------+-----------+----------+---------+------+--------+--------+---------+----------+------+-------+------+--------+-------------------------+
| n1 | 127.0.0.1:7001 | true      | leader   | voter   | 5    | n1     | 12     | 12      | 5d2a0c1e | 8@4  | 9     | 13   | false  | -                       |
| n2 | 127.0.0.1:7002 | true      | follower | voter   | 5    | n1     | 12     | 11      | e0f1a2b3 | -    | 1     | 13   | false  | isolated n3; delay 1.5s |
| n3 | 127.0.0.1:7003 | true      | follower | learner | 4    | -      | 9      | 9       | -        | -    | -     | 10   | true   | disk stall 2s           |
+----+----------------+-----------+----------+---------+------+--------+--------+---------+----------+------+-------+------+--------+-------------------------+
`
	if got.stdout != want {
		t.Errorf("table:\n%s\nwant:\n%s", got.stdout, want)
	}
	wantID := netlink.Identity{Cluster: "unit", NodeID: "easykv-ctl", AuthToken: "sesame"}
	if len(net.dialed) != 3 {
		t.Fatalf("dialed %d nodes, want 3", len(net.dialed))
	}
	for _, id := range net.dialed {
		if id != wantID {
			t.Errorf("identity = %+v, want %+v", id, wantID)
		}
	}
}

// parseRows decodes status -o json output.
func parseRows(t *testing.T, out string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("status -o json is not a JSON array: %v\n%s", err, out)
	}
	return rows
}

func TestStatusJSON(t *testing.T) {
	cfg := writeCluster(t)
	// -o is a global flag that the command accepts too.
	for _, args := range [][]string{
		{"--cluster", cfg, "-o", "json", "status"},
		{"--cluster", cfg, "status", "-o", "json"},
		{"status", "--cluster=" + cfg, "-o=json"},
	} {
		t.Run(strings.Join(args[2:], " "), func(t *testing.T) {
			got := runCtl(t, healthy(), args...)
			if got.code != exitOK || got.stderr != "" {
				t.Fatalf("exit status %d, stderr %q; want 0 and nothing", got.code, got.stderr)
			}
			rows := parseRows(t, got.stdout)
			want := []map[string]any{
				{"id": "n1", "addr": "127.0.0.1:7001", "reachable": true, "role": "leader", "member": "voter", "term": 5.0, "voted_for": "n1", "leader": "n1", "commit_index": 12.0, "applied_index": 12.0, "last_index": 13.0, "paused": false,
					"partitioned": false, "isolated_from": []any{}, "delay_ms": 0.0, "disk_stall_ms": 0.0, "state_digest": "5d2a0c1e9b7f43a8d6e1f0a2b3c4d5e6",
					"snapshot_index": 8.0, "snapshot_term": 4.0, "first_index": 9.0, "snapshot_transfers": []any{map[string]any{
						"peer": "n3", "sending": true, "snapshot_index": 8.0, "bytes_done": float64(3 << 20), "total_bytes": float64(12 << 20), "bytes_per_second": float64(40 << 20)}}},
				{"id": "n2", "addr": "127.0.0.1:7002", "reachable": true, "role": "follower", "member": "voter", "term": 5.0, "voted_for": "n1", "leader": "n1", "commit_index": 12.0, "applied_index": 11.0, "last_index": 13.0, "paused": false,
					"partitioned": false, "isolated_from": []any{"n3"}, "delay_ms": 1500.0, "disk_stall_ms": 0.0, "state_digest": "e0f1a2b3c4d5e6f708192a3b4c5d6e7f",
					"snapshot_index": 0.0, "snapshot_term": 0.0, "first_index": 1.0},
				{"id": "n3", "addr": "127.0.0.1:7003", "reachable": true, "role": "follower", "member": "learner", "term": 4.0, "voted_for": "", "leader": "", "commit_index": 9.0, "applied_index": 9.0, "last_index": 10.0, "paused": true,
					"partitioned": false, "isolated_from": []any{}, "delay_ms": 0.0, "disk_stall_ms": 2000.0, "state_digest": "",
					"snapshot_index": 0.0, "snapshot_term": 0.0, "first_index": 0.0},
			}
			if !reflect.DeepEqual(rows, want) {
				t.Errorf("rows:\n%v\nwant:\n%v", rows, want)
			}
		})
	}
}

func TestStatusPartlyUnreachable(t *testing.T) {
	cfg := writeCluster(t)
	newNet := func() *fakeNet {
		net := healthy()
		delete(net.nodes, "127.0.0.1:7002")                                          // refuses connections
		net.nodes["127.0.0.1:7003"].statusErr = errors.New("read: connection reset") // dies mid-request
		return net
	}

	t.Run("json", func(t *testing.T) {
		got := runCtl(t, newNet(), "--cluster", cfg, "status", "-o", "json")
		if got.code != exitOK {
			t.Fatalf("exit status %d, want 0 while one node answers (stderr %q)", got.code, got.stderr)
		}
		rows := parseRows(t, got.stdout)
		if len(rows) != 3 {
			t.Fatalf("got %d rows, want 3", len(rows))
		}
		if rows[0]["reachable"] != true || rows[0]["error"] != nil {
			t.Errorf("n1 = %v, want reachable without error", rows[0])
		}
		for _, r := range rows[1:] {
			if r["reachable"] != false || r["role"] != "" || r["error"] == nil || r["error"] == "" {
				t.Errorf("%v: want reachable false, role \"\" and an error", r)
			}
		}
		if !strings.Contains(rows[2]["error"].(string), "connection reset") {
			t.Errorf("n3 error = %q, want the status failure", rows[2]["error"])
		}
	})

	t.Run("table", func(t *testing.T) {
		got := runCtl(t, newNet(), "--cluster", cfg, "status")
		if got.code != exitOK {
			t.Fatalf("exit status %d, want 0 (stderr %q)", got.code, got.stderr)
		}
		if !strings.Contains(got.stdout, "| n2 | 127.0.0.1:7002 | false     | -") {
			t.Errorf("table lacks the unreachable n2 row:\n%s", got.stdout)
		}
		lines := strings.Split(strings.TrimSuffix(got.stderr, "\n"), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "easykv-ctl: n2 (127.0.0.1:7002): dial") || !strings.HasPrefix(lines[1], "easykv-ctl: n3 (127.0.0.1:7003): status") {
			t.Errorf("stderr = %q, want one line per unreachable node", got.stderr)
		}
	})
}

func TestStatusNoneReachable(t *testing.T) {
	cfg := writeCluster(t)
	got := runCtl(t, &fakeNet{}, "--cluster", cfg, "status", "-o", "json")
	if got.code != exitUnreachable {
		t.Errorf("exit status %d, want %d", got.code, exitUnreachable)
	}
	if rows := parseRows(t, got.stdout); len(rows) != 3 {
		t.Errorf("got %d rows, want all 3 listed as unreachable", len(rows))
	}
	if !strings.Contains(got.stderr, "no node reachable") {
		t.Errorf("stderr = %q, want it to say no node is reachable", got.stderr)
	}
}

func TestAdmin(t *testing.T) {
	cfg := writeCluster(t)
	tests := []struct {
		name       string
		args       []string
		node       fakeNode // what 127.0.0.1:7002 (n2) does
		wantCode   int
		wantStdout string
		wantStderr string             // substring; "" means stderr must be empty
		wantSent   []*pb.AdminRequest // what n2 received
	}{
		{
			name:       "pause",
			args:       []string{"pause", "n2"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "OK\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_PAUSE}},
		},
		{
			name:       "resume json after id",
			args:       []string{"resume", "n2", "-o", "json"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "{\n  \"id\": \"n2\",\n  \"ok\": true\n}\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_RESUME}},
		},
		{
			name:       "refused",
			args:       []string{"resume", "n2"},
			node:       fakeNode{admin: &pb.AdminResponse{Error: "not paused"}},
			wantCode:   exitFailed,
			wantStderr: "resume n2: refused: not paused",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_RESUME}},
		},
		{
			name:       "refused json",
			args:       []string{"-o", "json", "pause", "n2"},
			node:       fakeNode{admin: &pb.AdminResponse{Error: "unauthenticated"}},
			wantCode:   exitFailed,
			wantStdout: "{\n  \"id\": \"n2\",\n  \"ok\": false,\n  \"error\": \"unauthenticated\"\n}\n",
			wantStderr: "pause n2: refused: unauthenticated",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_PAUSE}},
		},
		{
			name:       "partition",
			args:       []string{"partition", "n2"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "OK\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_PARTITION}},
		},
		{
			name:       "heal json",
			args:       []string{"heal", "n2", "-o", "json"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "{\n  \"id\": \"n2\",\n  \"ok\": true\n}\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_HEAL}},
		},
		{
			name:       "isolate",
			args:       []string{"isolate", "n2", "n3", "n1"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "OK\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_ISOLATE, Peers: []string{"n3", "n1"}}},
		},
		{
			name:       "isolate refused",
			args:       []string{"isolate", "n2", "n1"},
			node:       fakeNode{admin: &pb.AdminResponse{Error: "network faults are not available on this node"}},
			wantCode:   exitFailed,
			wantStderr: "isolate n2: refused: network faults are not available on this node",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_ISOLATE, Peers: []string{"n1"}}},
		},
		{
			name:       "delay",
			args:       []string{"delay", "n2", "1.5s"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "OK\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_DELAY, DelayMs: 1500}},
		},
		{
			name:       "delay rounds to milliseconds",
			args:       []string{"delay", "n2", "2500us"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "OK\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_DELAY, DelayMs: 3}},
		},
		{
			name:       "delay cleared json",
			args:       []string{"-o", "json", "delay", "n2", "0"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "{\n  \"id\": \"n2\",\n  \"ok\": true\n}\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_DELAY}},
		},
		{
			name:       "delay at the limit",
			args:       []string{"delay", "n2", "1m"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "OK\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_DELAY, DelayMs: 60000}},
		},
		{
			name:       "slow-disk",
			args:       []string{"slow-disk", "n2", "1500ms"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "OK\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_SLOW_DISK, StallMs: 1500}},
		},
		{
			name:       "slow-disk seconds json",
			args:       []string{"slow-disk", "n2", "2s", "-o", "json"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "{\n  \"id\": \"n2\",\n  \"ok\": true\n}\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_SLOW_DISK, StallMs: 2000}},
		},
		{
			name:       "slow-disk cleared",
			args:       []string{"slow-disk", "n2", "0"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "OK\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_SLOW_DISK}},
		},
		{
			name:       "slow-disk at the limit",
			args:       []string{"slow-disk", "n2", "60s"},
			node:       fakeNode{admin: &pb.AdminResponse{Ok: true}},
			wantCode:   exitOK,
			wantStdout: "OK\n",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_SLOW_DISK, StallMs: 60000}},
		},
		{
			name:       "slow-disk refused by an older node",
			args:       []string{"slow-disk", "n2", "1s"},
			node:       fakeNode{admin: &pb.AdminResponse{Error: "unknown admin command SLOW_DISK"}},
			wantCode:   exitFailed,
			wantStderr: "slow-disk n2: refused: unknown admin command SLOW_DISK",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_SLOW_DISK, StallMs: 1000}},
		},
		{
			name:       "slow-disk unreachable",
			args:       []string{"slow-disk", "n2", "1s"},
			node:       fakeNode{dialErr: errors.New("connection refused")},
			wantCode:   exitUnreachable,
			wantStderr: "slow-disk n2: connection refused",
		},
		{
			name:       "dial fails",
			args:       []string{"pause", "n2"},
			node:       fakeNode{dialErr: errors.New("connection refused")},
			wantCode:   exitUnreachable,
			wantStderr: "pause n2: connection refused",
		},
		{
			name:       "handshake refused",
			args:       []string{"resume", "n2"},
			node:       fakeNode{dialErr: fmt.Errorf("handshake with 127.0.0.1:7002: %w: bad auth token", netlink.ErrRefused)},
			wantCode:   exitFailed,
			wantStderr: "resume n2: handshake with 127.0.0.1:7002: handshake refused: bad auth token",
		},
		{
			name:       "request fails",
			args:       []string{"pause", "n2"},
			node:       fakeNode{adminErr: errors.New("EOF")},
			wantCode:   exitUnreachable,
			wantStderr: "pause n2: EOF",
			wantSent:   []*pb.AdminRequest{{Command: pb.AdminCommand_PAUSE}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := healthy()
			node := tt.node
			net.nodes["127.0.0.1:7002"] = &node
			got := runCtl(t, net, append([]string{"--cluster", cfg}, tt.args...)...)
			if got.code != tt.wantCode {
				t.Errorf("exit status %d, want %d (stderr %q)", got.code, tt.wantCode, got.stderr)
			}
			if got.stdout != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", got.stdout, tt.wantStdout)
			}
			switch {
			case tt.wantStderr == "" && got.stderr != "":
				t.Errorf("stderr = %q, want nothing", got.stderr)
			case tt.wantStderr != "" && (!strings.Contains(got.stderr, tt.wantStderr) || strings.Count(got.stderr, "\n") != 1):
				t.Errorf("stderr = %q, want one line containing %q", got.stderr, tt.wantStderr)
			}
			if sent := net.admins["127.0.0.1:7002"]; !sameRequests(sent, tt.wantSent) {
				t.Errorf("n2 received %v, want %v", sent, tt.wantSent)
			}
			if len(net.admins) > 1 || (len(net.admins) == 1 && tt.wantSent == nil) {
				t.Errorf("admin commands went to other nodes: %v", net.admins)
			}
		})
	}
}

// sameRequests reports whether a and b hold equal requests in the same order.
func sameRequests(a, b []*pb.AdminRequest) bool {
	return slices.EqualFunc(a, b, func(x, y *pb.AdminRequest) bool { return proto.Equal(x, y) })
}

func TestHealth(t *testing.T) {
	cfg := writeCluster(t)
	t.Run("table", func(t *testing.T) {
		got := runCtl(t, healthy(), "--cluster", cfg, "health")
		want := "n1 127.0.0.1:7001 healthy: leader n1, term 5, applied 12 of 12\n" +
			"n2 127.0.0.1:7002 healthy: leader n1, term 5, applied 11 of 12\n" +
			"n3 127.0.0.1:7003 unhealthy: paused by an admin command\n"
		if got.stdout != want {
			t.Errorf("stdout:\n%s\nwant:\n%s", got.stdout, want)
		}
		if got.code != exitFailed || !strings.Contains(got.stderr, "1 of 3 nodes unhealthy") {
			t.Errorf("exit %d, stderr %q; want 1 and the count", got.code, got.stderr)
		}
	})
	t.Run("json", func(t *testing.T) {
		net := healthy()
		delete(net.nodes, "127.0.0.1:7002")
		got := runCtl(t, net, "--cluster", cfg, "health", "-o", "json")
		var rows []map[string]any
		if err := json.Unmarshal([]byte(got.stdout), &rows); err != nil {
			t.Fatalf("%v in %s", err, got.stdout)
		}
		if len(rows) != 3 || rows[0]["healthy"] != true || rows[0]["leader"] != "n1" || rows[0]["applied_index"] != 12.0 ||
			rows[1]["healthy"] != false || !strings.HasPrefix(rows[1]["reason"].(string), "unreachable: ") || rows[2]["healthy"] != false {
			t.Errorf("rows %v", rows)
		}
		if got.code != exitFailed {
			t.Errorf("exit %d, want %d", got.code, exitFailed)
		}
	})
	t.Run("no leader", func(t *testing.T) {
		got := runCtl(t, &fakeNet{}, "--cluster", cfg, "health")
		if got.code != exitUnreachable || !strings.Contains(got.stderr, "no node reports a leader") {
			t.Errorf("exit %d, stderr %q; want %d and why", got.code, got.stderr, exitUnreachable)
		}
		if strings.Count(got.stdout, "unhealthy: unreachable") != 3 {
			t.Errorf("stdout:\n%s\nwant every node unreachable", got.stdout)
		}
	})
}
