package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

func TestRoleName(t *testing.T) {
	tests := []struct {
		role pb.Role
		want string
	}{
		{pb.Role_ROLE_FOLLOWER, "follower"},
		{pb.Role_ROLE_PRE_CANDIDATE, "precandidate"},
		{pb.Role_ROLE_CANDIDATE, "candidate"},
		{pb.Role_ROLE_LEADER, "leader"},
		{pb.Role(42), "42"},
	}
	for _, tt := range tests {
		if got := netlink.RoleName(tt.role); got != tt.want {
			t.Errorf("netlink.RoleName(%v) = %q, want %q", tt.role, got, tt.want)
		}
	}
}

// TestStatusRowKeys pins the JSON keys scripts rely on: "error" appears
// only for unreachable nodes.
func TestStatusRowKeys(t *testing.T) {
	base := []string{"id", "addr", "reachable", "role", "member", "term", "voted_for", "leader", "commit_index", "applied_index", "last_index", "paused",
		"partitioned", "isolated_from", "delay_ms", "disk_stall_ms", "state_digest", "snapshot_index", "snapshot_term", "first_index"}
	n := cluster.Node{ID: "n1", Addr: "127.0.0.1:7001"}
	tests := []struct {
		name string
		row  statusRow
		want []string
	}{
		{"reachable", statusRowOf(n, &pb.NodeStatus{Role: pb.Role_ROLE_LEADER}), base},
		{"sending a snapshot", statusRowOf(n, &pb.NodeStatus{Role: pb.Role_ROLE_LEADER, SnapshotTransfers: []*pb.SnapshotTransfer{{Peer: "n2", Sending: true}}}),
			append(slices.Clone(base), "snapshot_transfers")},
		{"unreachable", unreachableRow(n, errors.New("connection refused")), append(slices.Clone(base), "error")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.row)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(maps.Keys(m))
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("keys = %q, want %q", got, want)
			}
		})
	}
}

func TestWriteStatusTable(t *testing.T) {
	rows := []statusRow{
		{ID: "node-one", Addr: "10.0.0.1:7001", Reachable: true, Role: "precandidate", Member: memberVoter, Term: 123, CommitIndex: 4567, AppliedIndex: 4560, LastIndex: 4570,
			Partitioned: true, StateDigest: "0123456789abcdef0123456789abcdef", SnapIndex: 4500, SnapTerm: 122, FirstIndex: 4001},
		{ID: "n2", Addr: "10.0.0.2:7002", Member: memberRemoved, Error: "connection refused"},
		{ID: "n3", Addr: "10.0.0.3:7003", Reachable: true, Role: "follower", Term: 123, CommitIndex: 4567, AppliedIndex: 4567, LastIndex: 4567, FirstIndex: 1},
	}
	want := `+----------+---------------+-----------+--------------+---------+------+--------+--------+---------+----------+----------+-------+------+--------+-------------+
| ID       | ADDRESS       | REACHABLE | ROLE         | MEMBER  | TERM | LEADER | COMMIT | APPLIED | DIGEST   | SNAP     | FIRST | LAST | PAUSED | FAULTS      |
+----------+---------------+-----------+--------------+---------+------+--------+--------+---------+----------+----------+-------+------+--------+-------------+
| node-one | 10.0.0.1:7001 | true      | precandidate | voter   | 123  | -      | 4567   | 4560    | 01234567 | 4500@122 | 4001  | 4570 | false  | partitioned |
| n2       | 10.0.0.2:7002 | false     | -            | removed | -    | -      | -      | -       | -        | -        | -     | -    | -      | -           |
| n3       | 10.0.0.3:7003 | true      | follower     | -       | 123  | -      | 4567   | 4567    | -        | -        | 1     | 4567 | false  | -           |
+----------+---------------+-----------+--------------+---------+------+--------+--------+---------+----------+----------+-------+------+--------+-------------+
`
	var buf bytes.Buffer
	if err := writeStatusTable(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if buf.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestShortDigest(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"01234567", "01234567"},
		{"0123456789abcdef0123456789abcdef", "01234567"},
		{"éééééééééé", "éééééééé"}, // a node's string is cut by characters, never mid-rune
	} {
		if got := shortDigest(tt.in); got != tt.want {
			t.Errorf("shortDigest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestStatusRowFaults(t *testing.T) {
	n := cluster.Node{ID: "n1", Addr: "127.0.0.1:7001"}
	tests := []struct {
		name string
		st   *pb.NodeStatus
		want string
	}{
		{"none", &pb.NodeStatus{}, "-"},
		{"partitioned", &pb.NodeStatus{Partitioned: true}, "partitioned"},
		{"isolated", &pb.NodeStatus{IsolatedFrom: []string{"n2", "n3"}}, "isolated n2,n3"},
		{"delay", &pb.NodeStatus{DelayMs: 200}, "delay 200ms"},
		{"disk stall", &pb.NodeStatus{DiskStallMs: 1500}, "disk stall 1.5s"},
		{"all", &pb.NodeStatus{Partitioned: true, IsolatedFrom: []string{"n3"}, DelayMs: 60000, DiskStallMs: 2000},
			"partitioned; isolated n3; delay 1m0s; disk stall 2s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := statusRowOf(n, tt.st)
			if got := row.faults(); got != tt.want {
				t.Errorf("faults = %q, want %q", got, tt.want)
			}
			if !slices.Equal(row.IsolatedFrom, tt.st.GetIsolatedFrom()) || row.IsolatedFrom == nil {
				t.Errorf("IsolatedFrom = %#v, want a non-nil copy of %q", row.IsolatedFrom, tt.st.GetIsolatedFrom())
			}
		})
	}
	// An unreachable node lists no peers as [], not null, like a healthy one.
	b, err := json.Marshal(unreachableRow(n, errors.New("refused")))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"isolated_from":[]`)) {
		t.Errorf("unreachable row JSON = %s, want isolated_from []", b)
	}
}
