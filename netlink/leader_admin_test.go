package netlink

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// adminNode serves a fake node id whose admin commands answer answers,
// counting them in calls; it returns where it listens.
func adminNode(t *testing.T, id string, calls *atomic.Int64, answer func(ctx context.Context, req *pb.AdminRequest) *pb.AdminResponse) NodeAddr {
	t.Helper()
	cfg := testServerConfig()
	cfg.NodeID = id
	_, addr, _ := startServer(t, cfg, &fakeHandler{admin: func(ctx context.Context, req *pb.AdminRequest) *pb.AdminResponse {
		calls.Add(1)
		return answer(ctx, req)
	}})
	return NodeAddr{ID: id, Addr: addr}
}

// notLeader is a follower's answer naming leader (none when its id is "").
func notLeader(leader NodeAddr) func(context.Context, *pb.AdminRequest) *pb.AdminResponse {
	return func(context.Context, *pb.AdminRequest) *pb.AdminResponse {
		return &pb.AdminResponse{Error: NotLeaderReason + " (fake)", LeaderId: leader.ID, LeaderAddr: leader.Addr}
	}
}

var testAdminDial = DialAdmin(Identity{Cluster: "demo", NodeID: "admin-test"})

func addN4() *pb.AdminRequest {
	return &pb.AdminRequest{Command: pb.AdminCommand_MEMBER_ADD, MemberId: "n4", MemberAddr: "127.0.0.1:7004", Learner: true}
}

// TestLeaderAdminFollowsUnknownLeader: n1 names n5, a leader the caller
// does not know (added since cluster.yaml was written), and the command
// runs there.
func TestLeaderAdminFollowsUnknownLeader(t *testing.T) {
	var c1, c5 atomic.Int64
	var got atomic.Pointer[pb.AdminRequest]
	n5 := adminNode(t, "n5", &c5, func(_ context.Context, req *pb.AdminRequest) *pb.AdminResponse {
		got.Store(req)
		return &pb.AdminResponse{Ok: true, Status: &pb.NodeStatus{Id: "n5"}}
	})
	n1 := adminNode(t, "n1", &c1, notLeader(n5))
	resp, err := LeaderAdmin(testCtx(t, 0), []NodeAddr{n1}, testAdminDial, addN4())
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus().GetId() != "n5" || c1.Load() != 1 || c5.Load() != 1 {
		t.Errorf("answered by %q after %d call(s) to n1, %d to n5; want n5 after 1 and 1", resp.GetStatus().GetId(), c1.Load(), c5.Load())
	}
	if r := got.Load(); r.GetMemberId() != "n4" || r.GetMemberAddr() != "127.0.0.1:7004" || !r.GetLearner() {
		t.Errorf("the leader got %v", r)
	}
}

// TestLeaderAdminWaitsForALeader: while no node knows a leader, the nodes
// are asked in turn, a down one skipped, until one leads.
func TestLeaderAdminWaitsForALeader(t *testing.T) {
	var calls atomic.Int64
	n1 := adminNode(t, "n1", &calls, func(context.Context, *pb.AdminRequest) *pb.AdminResponse {
		if calls.Load() < 4 {
			return &pb.AdminResponse{Error: NotLeaderReason + "; no leader known"}
		}
		return &pb.AdminResponse{Ok: true}
	})
	if _, err := LeaderAdmin(testCtx(t, 0), []NodeAddr{downNode(t, "n2"), n1}, testAdminDial, addN4()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 4 {
		t.Errorf("n1 asked %d times, want 4", calls.Load())
	}
}

func TestLeaderAdminErrors(t *testing.T) {
	refuse := func(context.Context, *pb.AdminRequest) *pb.AdminResponse {
		return &pb.AdminResponse{Error: "another configuration change is in flight"}
	}
	// hang never answers: the client gives up, and closing the connection
	// ends ctx.
	hang := func(ctx context.Context, _ *pb.AdminRequest) *pb.AdminResponse {
		<-ctx.Done()
		return &pb.AdminResponse{Ok: true}
	}
	tests := []struct {
		name   string
		nodes  func(t *testing.T) []NodeAddr
		ctx    time.Duration
		want   error
		notErr error  // must not match
		text   string // part of the message
	}{
		{"refused change", func(t *testing.T) []NodeAddr {
			var c atomic.Int64
			return []NodeAddr{adminNode(t, "n1", &c, refuse)}
		}, 0, ErrChangeRefused, ErrNoLeader, "by n1: another configuration change is in flight"},
		{"no leader in time", func(t *testing.T) []NodeAddr {
			var c atomic.Int64
			return []NodeAddr{adminNode(t, "n1", &c, notLeader(NodeAddr{})), downNode(t, "n2")}
		}, 300 * time.Millisecond, ErrNoLeader, ErrChangeRefused, "no leader reachable"},
		{"answer lost", func(t *testing.T) []NodeAddr {
			var c atomic.Int64
			return []NodeAddr{adminNode(t, "n1", &c, hang)}
		}, 300 * time.Millisecond, ErrUncertain, ErrChangeRefused, "deadline"},
		{"leader lost before the change committed", func(t *testing.T) []NodeAddr {
			var c atomic.Int64
			return []NodeAddr{adminNode(t, "n1", &c, func(context.Context, *pb.AdminRequest) *pb.AdminResponse {
				return &pb.AdminResponse{Error: "leadership lost before the change committed", Uncertain: true}
			})}
		}, 0, ErrUncertain, ErrChangeRefused, "leadership lost"},
		{"two nodes naming each other", func(t *testing.T) []NodeAddr {
			// A redirect chain is cut short, then retried after a pause.
			var c atomic.Int64
			n2 := downNode(t, "n2")
			n1 := adminNode(t, "n1", &c, notLeader(n2))
			return []NodeAddr{n1}
		}, 300 * time.Millisecond, ErrNoLeader, ErrUncertain, "n2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LeaderAdmin(testCtx(t, tt.ctx), tt.nodes(t), testAdminDial, addN4())
			if !errors.Is(err, tt.want) || errors.Is(err, tt.notErr) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("err = %v, want %v (not %v) with %q", err, tt.want, tt.notErr, tt.text)
			}
		})
	}
}

func TestLeaderAdminHandshakeRefusedByEveryNode(t *testing.T) {
	var c atomic.Int64
	n1 := adminNode(t, "n1", &c, notLeader(NodeAddr{}))
	dial := DialAdmin(Identity{Cluster: "other", NodeID: "admin-test"})
	_, err := LeaderAdmin(testCtx(t, 0), []NodeAddr{n1}, dial, addN4())
	if !errors.Is(err, ErrRejected) || !errors.Is(err, ErrRefused) || errors.Is(err, ErrNoLeader) {
		t.Fatalf("err = %v, want ErrRejected and ErrRefused", err)
	}
}

// TestLeaderSearchLearns checks the hint rules: a known id takes the
// hint's address, an unknown one is added, and a chain of redirects stops.
func TestLeaderSearchLearns(t *testing.T) {
	s := &leaderSearch{nodes: []NodeAddr{{"n1", "a1"}, {"n2", "a2"}}}
	n1 := s.next()
	if !s.follow(n1, &pb.AdminResponse{LeaderId: "n2", LeaderAddr: "b2"}) {
		t.Fatal("did not follow n2")
	}
	if got := s.next(); got != (NodeAddr{"n2", "b2"}) {
		t.Errorf("next = %v, want n2 at its new address", got)
	}
	if s.follow(NodeAddr{"n2", "b2"}, &pb.AdminResponse{LeaderId: "n2"}) {
		t.Error("followed a node naming itself")
	}
	s.next() // after a pause, the next in turn: a new chain
	for i := range maxLeaderRedirects {
		if !s.follow(n1, &pb.AdminResponse{LeaderId: "n9", LeaderAddr: "a9"}) {
			t.Fatalf("redirect %d not followed", i+1)
		}
		s.next()
	}
	if s.follow(n1, &pb.AdminResponse{LeaderId: "n9", LeaderAddr: "a9"}) {
		t.Error("followed a redirect past the limit")
	}
	want := []NodeAddr{{"n1", "a1"}, {"n2", "b2"}, {"n9", "a9"}}
	if !reflect.DeepEqual(s.nodes, want) {
		t.Errorf("nodes = %v, want %v", s.nodes, want)
	}
}
