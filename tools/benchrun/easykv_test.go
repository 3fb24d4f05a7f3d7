package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

func TestParseCtlJSON(t *testing.T) {
	tests := []struct {
		file string
		want result
	}{
		{"ctl-put-1client.json", result{Op: "put", Clients: 1, Total: 500, OpsPerSec: 531.7, AvgMs: 1.868, P50Ms: 1.473, P99Ms: 14.878, P999Ms: 16.721}},
		{"ctl-put-64clients.json", result{Op: "put", Clients: 64, Total: 10000, OpsPerSec: 3008.1, AvgMs: 20.741, P50Ms: 18.686, P99Ms: 60.14, P999Ms: 71.565}},
		{"ctl-get-64clients.json", result{Op: "get", Clients: 64, Total: 10000, OpsPerSec: 8015, AvgMs: 7.77, P50Ms: 6.147, P99Ms: 37.746, P999Ms: 46.26}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			out, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, raw, err := parseCtlJSON(out)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if string(raw) != strings.TrimSpace(string(out)) {
				t.Errorf("raw = %s, want the line as printed: %s", raw, out)
			}
		})
	}
}

func TestParseCtlJSONLastLine(t *testing.T) {
	out := "warming up\n" + `{"op":"get","clients":2,"total":4,"errors":1,"ops_per_sec":3,"avg_ms":1,"p50_ms":1,"p99_ms":2,"p999_ms":2,"new_key":true}` + "\n\n"
	got, _, err := parseCtlJSON([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if got.Op != "get" || got.Clients != 2 || got.Errors != 1 {
		t.Errorf("got %+v, want the last line's figures", got)
	}
}

func TestParseCtlJSONBad(t *testing.T) {
	for _, out := range []string{
		"",
		"OP  CLIENTS\nput 1\n",
		`{"op":"put","clients":1`,
		`{"clients":1,"total":5}`,
		`{"op":"put","clients":0,"total":5}`,
		`{"op":"put","clients":1,"total":"many"}`,
	} {
		if got, _, err := parseCtlJSON([]byte(out)); err == nil {
			t.Errorf("parseCtlJSON(%q) = %+v, want an error", out, got)
		}
	}
}

// nodeStatus is a node's status with the fields health looks at.
func nodeStatus(id string, role pb.Role, term int64, leader string) *pb.NodeStatus {
	return &pb.NodeStatus{Id: id, Role: role, Term: term, LeaderId: leader}
}

func TestAgreedLeader(t *testing.T) {
	const (
		F = pb.Role_ROLE_FOLLOWER
		L = pb.Role_ROLE_LEADER
		C = pb.Role_ROLE_CANDIDATE
	)
	paused := nodeStatus("n3", F, 4, "n2")
	paused.Paused = true
	tests := []struct {
		name   string
		sts    []*pb.NodeStatus
		want   int
		wantOK bool
	}{
		{"healthy", []*pb.NodeStatus{nodeStatus("n1", F, 4, "n2"), nodeStatus("n2", L, 4, "n2"), nodeStatus("n3", F, 4, "n2")}, 1, true},
		{"two leaders", []*pb.NodeStatus{nodeStatus("n1", L, 3, "n1"), nodeStatus("n2", L, 4, "n2"), nodeStatus("n3", F, 4, "n2")}, 0, false},
		{"no leader", []*pb.NodeStatus{nodeStatus("n1", F, 4, ""), nodeStatus("n2", C, 5, ""), nodeStatus("n3", F, 4, "")}, 0, false},
		{"behind in term", []*pb.NodeStatus{nodeStatus("n1", F, 3, "n2"), nodeStatus("n2", L, 4, "n2"), nodeStatus("n3", F, 4, "n2")}, 0, false},
		{"other leader named", []*pb.NodeStatus{nodeStatus("n1", F, 4, "n1"), nodeStatus("n2", L, 4, "n2"), nodeStatus("n3", F, 4, "n2")}, 0, false},
		{"paused", []*pb.NodeStatus{nodeStatus("n1", F, 4, "n2"), nodeStatus("n2", L, 4, "n2"), paused}, 0, false},
		{"missing", []*pb.NodeStatus{nodeStatus("n1", F, 4, "n2"), nodeStatus("n2", L, 4, "n2"), nil}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := agreedLeader(tt.sts)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("agreedLeader = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestEventRole(t *testing.T) {
	tests := []struct {
		name   string
		ev     *pb.WatchEvent
		want   pb.Role
		wantOK bool
	}{
		{"role changed", &pb.WatchEvent{Kind: pb.WatchEvent_ROLE_CHANGED, Role: pb.Role_ROLE_LEADER}, pb.Role_ROLE_LEADER, true},
		{"status", &pb.WatchEvent{Kind: pb.WatchEvent_STATUS, Status: &pb.NodeStatus{Role: pb.Role_ROLE_CANDIDATE}}, pb.Role_ROLE_CANDIDATE, true},
		{"status without body", &pb.WatchEvent{Kind: pb.WatchEvent_STATUS}, 0, false},
		{"term changed", &pb.WatchEvent{Kind: pb.WatchEvent_TERM_CHANGED, Role: pb.Role_ROLE_LEADER}, 0, false},
		{"nil", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := eventRole(tt.ev)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("eventRole = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestEasykvElectionsFollow(t *testing.T) {
	e := &easykvElections{elected: make(chan election, 8)}
	ch := make(chan *pb.WatchEvent, 8)
	status := func(r pb.Role) *pb.WatchEvent {
		return &pb.WatchEvent{Kind: pb.WatchEvent_STATUS, Status: &pb.NodeStatus{Role: r}}
	}
	for _, ev := range []*pb.WatchEvent{
		status(pb.Role_ROLE_FOLLOWER),
		{Kind: pb.WatchEvent_ROLE_CHANGED, Role: pb.Role_ROLE_LEADER}, // elected
		status(pb.Role_ROLE_LEADER),                                   // still leader: no new election
		{Kind: pb.WatchEvent_TERM_CHANGED, Term: 9},
		{Kind: pb.WatchEvent_ROLE_CHANGED, Role: pb.Role_ROLE_FOLLOWER},
		status(pb.Role_ROLE_LEADER), // elected again, seen by STATUS only
	} {
		ch <- ev
	}
	close(ch)
	e.follow(t.Context(), "n2", ch)
	close(e.elected)
	var got []string
	for el := range e.elected {
		got = append(got, el.id)
	}
	if strings.Join(got, ",") != "n2,n2" {
		t.Errorf("elections = %v, want n2 twice", got)
	}
}

func TestEasykvElectionsNewLeader(t *testing.T) {
	since := time.Now()
	e := &easykvElections{elected: make(chan election, 8)}
	e.elected <- election{id: "n3", at: since.Add(-time.Second)}     // before the stop
	e.elected <- election{id: "n1", at: since.Add(time.Millisecond)} // the old leader itself
	e.elected <- election{id: "n2", at: since.Add(1500 * time.Millisecond)}
	at, err := e.newLeader(t.Context(), member{id: "n1"}, since)
	if err != nil {
		t.Fatal(err)
	}
	if got := at.Sub(since); got != 1500*time.Millisecond {
		t.Errorf("new leader after %v, want 1.5s", got)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.newLeader(ctx, member{id: "n1"}, since); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("newLeader with no election = %v, want a deadline", err)
	}
}
