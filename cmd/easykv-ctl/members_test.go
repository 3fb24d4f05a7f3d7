package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// grown is a cluster that added n4 (learner, at an address no file lists)
// and removed n3: n2 leads, n1 is down, n3 still answers.
func grown() *fakeNet {
	members := []*pb.Member{{Id: "n1", Addr: "127.0.0.1:7001"}, {Id: "n2", Addr: "127.0.0.1:7002"}, {Id: "n4", Addr: "127.0.0.1:7004", Learner: true}}
	return &fakeNet{nodes: map[string]*fakeNode{
		"127.0.0.1:7002": {status: &pb.NodeStatus{Id: "n2", Role: pb.Role_ROLE_LEADER, Term: 7, LeaderId: "n2", Members: members, ConfigIndex: 20, ConfigCommitted: true}},
		"127.0.0.1:7003": {status: &pb.NodeStatus{Id: "n3", Role: pb.Role_ROLE_FOLLOWER, Term: 6, Removed: true, Members: members[:2], ConfigIndex: 18}},
		"127.0.0.1:7004": {status: &pb.NodeStatus{Id: "n4", Role: pb.Role_ROLE_FOLLOWER, Term: 7, LeaderId: "n2", Learner: true, Members: members, ConfigIndex: 20}},
	}}
}

func TestMemberList(t *testing.T) {
	cfg := writeCluster(t)
	got := runCtl(t, grown(), "--cluster", cfg, "member", "list")
	want := `+----+----------------+---------+-----------+--------+
| ID | ADDR           | ROLE    | REACHABLE | LEADER |
+----+----------------+---------+-----------+--------+
| n1 | 127.0.0.1:7001 | voter   | no        | no     |
| n2 | 127.0.0.1:7002 | voter   | yes       | yes    |
| n4 | 127.0.0.1:7004 | learner | yes       | no     |
+----+----------------+---------+-----------+--------+
`
	if got.code != exitOK || got.stdout != want || got.stderr != "" {
		t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant 0, nothing, and:\n%s", got.code, got.stderr, got.stdout, want)
	}

	got = runCtl(t, grown(), "--cluster", cfg, "member", "list", "-o", "json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(got.stdout), &rows); err != nil {
		t.Fatalf("member list -o json: %v\n%s", err, got.stdout)
	}
	wantRows := []map[string]any{
		{"id": "n1", "addr": "127.0.0.1:7001", "voter": true, "reachable": false},
		{"id": "n2", "addr": "127.0.0.1:7002", "voter": true, "reachable": true},
		{"id": "n4", "addr": "127.0.0.1:7004", "voter": false, "reachable": true},
	}
	if got.code != exitOK || !reflect.DeepEqual(rows, wantRows) {
		t.Errorf("exit %d, rows %v; want 0, %v", got.code, rows, wantRows)
	}
}

func TestMemberListWithoutLeader(t *testing.T) {
	net := grown()
	delete(net.nodes, "127.0.0.1:7002")
	got := runCtl(t, net, "--cluster", writeCluster(t), "member", "list", "-o", "json")
	// Only n3 answers (n4 is known to the leader alone): its view it is.
	if got.code != exitOK || !strings.Contains(got.stderr, "no leader; members as n3 reports them (configuration at index 18") {
		t.Errorf("exit %d, stderr %q; want 0 and a note that n3's view is shown", got.code, got.stderr)
	}
	got = runCtl(t, &fakeNet{}, "--cluster", writeCluster(t), "member", "list")
	if got.code != exitUnreachable || !strings.Contains(got.stderr, "no node reported its members") {
		t.Errorf("nothing up: exit %d, stderr %q; want %d", got.code, got.stderr, exitUnreachable)
	}
}

// TestStatusFollowsMembers: status shows n4, which only the nodes know
// of, and n3, removed, as such.
func TestStatusFollowsMembers(t *testing.T) {
	got := runCtl(t, grown(), "--cluster", writeCluster(t), "status", "-o", "json")
	var rows []statusRow
	if err := json.Unmarshal([]byte(got.stdout), &rows); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, r := range rows {
		seen = append(seen, r.ID+" "+r.Member)
	}
	if want := []string{"n1 voter", "n2 voter", "n3 removed", "n4 learner"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("rows %q, want %q", seen, want)
	}
}

// TestBenchUsesCurrentMembers: bench's clients know n4 and not n3.
func TestBenchUsesCurrentMembers(t *testing.T) {
	net := grown()
	got := runCtl(t, net, "--cluster", writeCluster(t), "bench", "put", "--clients", "1", "--total", "1")
	if got.code != exitOK {
		t.Fatalf("exit %d: %s", got.code, got.stderr)
	}
	want := []netlink.NodeAddr{{ID: "n1", Addr: "127.0.0.1:7001"}, {ID: "n2", Addr: "127.0.0.1:7002"}, {ID: "n4", Addr: "127.0.0.1:7004"}}
	if len(net.kvCfgs) != 1 || !reflect.DeepEqual(net.kvCfgs[0].Nodes, want) {
		t.Errorf("cluster client nodes = %v, want %v", net.kvCfgs, want)
	}
}

func TestMemberChanges(t *testing.T) {
	ok := &pb.AdminResponse{Ok: true}
	// n1 is not the leader and names n2; n3 is down.
	redirected := func(leader *pb.AdminResponse) *fakeNet {
		return &fakeNet{nodes: map[string]*fakeNode{
			"127.0.0.1:7001": {admin: &pb.AdminResponse{Error: netlink.NotLeaderReason, LeaderId: "n2", LeaderAddr: "127.0.0.1:7002"}},
			"127.0.0.1:7002": {admin: leader},
		}}
	}
	tests := []struct {
		name   string
		args   []string
		leader *pb.AdminResponse
		code   int
		stdout string
		stderr string
		req    *pb.AdminRequest // what the leader got
	}{
		{"add learner", []string{"member", "add", "n4", "127.0.0.1:7004", "--learner"}, ok, exitOK, "added n4 (127.0.0.1:7004) as learner\n", "",
			&pb.AdminRequest{Command: pb.AdminCommand_MEMBER_ADD, MemberId: "n4", MemberAddr: "127.0.0.1:7004", Learner: true}},
		{"add voter", []string{"member", "add", "n4", "host.example:7004"}, ok, exitOK, "added n4 (host.example:7004) as voter\n", "",
			&pb.AdminRequest{Command: pb.AdminCommand_MEMBER_ADD, MemberId: "n4", MemberAddr: "host.example:7004"}},
		{"promote", []string{"member", "promote", "n4"}, ok, exitOK, "promoted n4 to voter\n", "",
			&pb.AdminRequest{Command: pb.AdminCommand_MEMBER_PROMOTE, MemberId: "n4"}},
		{"remove", []string{"member", "remove", "n3"}, ok, exitOK, "removed n3\n", "",
			&pb.AdminRequest{Command: pb.AdminCommand_MEMBER_REMOVE, MemberId: "n3"}},
		{"transfer", []string{"transfer", "n3"}, ok, exitOK, "n3 leads now\n", "",
			&pb.AdminRequest{Command: pb.AdminCommand_TRANSFER_LEADER, MemberId: "n3"}},
		{"refused", []string{"member", "promote", "n4"}, &pb.AdminResponse{Error: "n4 is 812 entries behind"}, exitFailed, "",
			"easykv-ctl: member promote n4: change refused by n2: n4 is 812 entries behind\n",
			&pb.AdminRequest{Command: pb.AdminCommand_MEMBER_PROMOTE, MemberId: "n4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := redirected(tt.leader)
			got := runCtl(t, net, append([]string{"--cluster", writeCluster(t)}, tt.args...)...)
			if got.code != tt.code || got.stdout != tt.stdout || got.stderr != tt.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", got.code, got.stdout, got.stderr, tt.code, tt.stdout, tt.stderr)
			}
			if reqs := net.admins["127.0.0.1:7002"]; len(reqs) != 1 || !proto.Equal(reqs[0], tt.req) {
				t.Errorf("the leader got %v, want [%v]", reqs, tt.req)
			}
		})
	}
}

func TestMemberChangeJSONAndUnreachable(t *testing.T) {
	net := &fakeNet{nodes: map[string]*fakeNode{"127.0.0.1:7001": {admin: &pb.AdminResponse{Ok: true}}}}
	got := runCtl(t, net, "--cluster", writeCluster(t), "member", "remove", "n3", "-o", "json")
	var res map[string]any
	if err := json.Unmarshal([]byte(got.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"command": "member remove", "id": "n3", "done": "removed n3"}; got.code != exitOK || !reflect.DeepEqual(res, want) {
		t.Errorf("exit %d, %v; want 0, %v", got.code, res, want)
	}

	// No leader before --timeout: exit 3.
	net = &fakeNet{nodes: map[string]*fakeNode{"127.0.0.1:7001": {admin: &pb.AdminResponse{Error: netlink.NotLeaderReason}}}}
	got = runCtl(t, net, "--cluster", writeCluster(t), "--timeout", "100ms", "transfer", "n2")
	if got.code != exitUnreachable || !strings.Contains(got.stderr, "transfer n2: no leader reachable") {
		t.Errorf("exit %d, stderr %q; want %d and no leader", got.code, got.stderr, exitUnreachable)
	}
}

func TestMemberUsageErrors(t *testing.T) {
	cfg := writeCluster(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"member"}, "member: missing subcommand (want one of: list, add, promote, remove)"},
		{[]string{"member", "join", "n4"}, `member: unknown subcommand "join" (want one of: list, add, promote, remove)`},
		{[]string{"member", "add", "n4"}, "member add: want 2 argument(s), got 1"},
		{[]string{"member", "add", "n4", "localhost"}, `member add: bad address "localhost"`},
		{[]string{"member", "add", "n4", ":7004"}, `member add: bad address ":7004"`},
		{[]string{"member", "add", "n4", "127.0.0.1:99999"}, `member add: bad port in "127.0.0.1:99999"`},
		{[]string{"member", "promote"}, "member promote: want 1 argument(s), got 0"},
		{[]string{"transfer"}, "transfer: want 1 argument(s), got 0"},
		{[]string{"member", "remove", "n3", "--learner"}, "flag provided but not defined: -learner"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			net := &fakeNet{}
			got := runCtl(t, net, append([]string{"--cluster", cfg}, tt.args...)...)
			if got.code != exitUsage || !strings.Contains(got.stderr, tt.want) || strings.Count(got.stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want %d and one line with %q", got.code, got.stderr, exitUsage, tt.want)
			}
			if len(net.dialed) != 0 {
				t.Error("dialed a node on a usage error")
			}
		})
	}
}

func TestMemberHelp(t *testing.T) {
	got := runCtl(t, &fakeNet{}, "help")
	for _, want := range []string{"member list", "member add ID ADDR [--learner]", "recommended: --learner, then member promote", "member promote ID", "member remove ID", "transfer ID"} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, got.stdout)
		}
	}
	got = runCtl(t, &fakeNet{}, "help", "member", "add")
	if got.code != exitOK || !strings.Contains(got.stdout, "-learner") {
		t.Errorf("help member add: exit %d, stdout:\n%s", got.code, got.stdout)
	}
}
