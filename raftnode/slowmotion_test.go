package raftnode

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// TestNodeTimerCommands: slow motion scales the timers a node reports and
// delays its messages; firing the election timer starts a campaign at
// once; holding it shows in the status.
func TestNodeTimerCommands(t *testing.T) {
	log := &opLog{}
	n, _, _ := startNode(t, &fakeStore{log: log}, log)
	ctx := context.Background()
	admin := func(req *pb.AdminRequest) *pb.AdminResponse { return n.Admin(ctx, req) }

	resp := admin(&pb.AdminRequest{Command: pb.AdminCommand_SLOW_MOTION, SlowFactor: 5})
	st := resp.GetStatus()
	if !resp.GetOk() || st.GetSlowFactor() != 5 || st.GetHeartbeatMs() != (5*time.Minute).Milliseconds() || st.GetBaseElectionTimeoutMs() != (5*time.Hour).Milliseconds() {
		t.Fatalf("slow 5 answered %v", resp)
	}
	for _, f := range []int64{0, -1, netlink.MaxSlowFactor + 1} {
		if resp := admin(&pb.AdminRequest{Command: pb.AdminCommand_SLOW_MOTION, SlowFactor: f}); resp.GetOk() || !strings.Contains(resp.GetError(), "outside") {
			t.Errorf("slow %d answered %v, want a refusal", f, resp)
		}
	}
	if resp := admin(&pb.AdminRequest{Command: pb.AdminCommand_SLOW_MOTION, SlowFactor: 1}); resp.GetStatus().GetHeartbeatMs() != time.Minute.Milliseconds() {
		t.Fatalf("slow 1 answered %v", resp)
	}

	resp = admin(&pb.AdminRequest{Command: pb.AdminCommand_HOLD_TIMER})
	if !resp.GetStatus().GetTimerHeld() {
		t.Fatalf("hold answered %v", resp)
	}
	if resp := admin(&pb.AdminRequest{Command: pb.AdminCommand_RELEASE_TIMER}); resp.GetStatus().GetTimerHeld() {
		t.Fatalf("release answered %v", resp)
	}

	// Its one-hour timer fired by hand: a pre-vote goes to each peer now.
	if resp := admin(&pb.AdminRequest{Command: pb.AdminCommand_FIRE_TIMER}); !resp.GetOk() || resp.GetStatus().GetRole() != pb.Role_ROLE_PRE_CANDIDATE {
		t.Fatalf("fire answered %v", resp)
	}
	ops := waitOps(t, log, 2)
	for _, peer := range []string{"n2", "n3"} {
		if !containsPrefix(ops, "send PRE_VOTE_REQUEST to "+peer) {
			t.Errorf("no pre-vote sent to %s after the timer fired: %q", peer, ops)
		}
	}
	admin(&pb.AdminRequest{Command: pb.AdminCommand_PAUSE})
	if resp := admin(&pb.AdminRequest{Command: pb.AdminCommand_FIRE_TIMER}); resp.GetOk() || !strings.Contains(resp.GetError(), "paused") {
		t.Errorf("fire on a paused node answered %v", resp)
	}
}

// TestSlowMotionDelaysMessages: the delivery delay follows the factor and
// heartbeat, and comes on top of a DELAY fault.
func TestSlowMotionDelaysMessages(t *testing.T) {
	if d := slowDelay(100*time.Millisecond, 20); d != 500*time.Millisecond {
		t.Fatalf("slowDelay(100ms, 20) = %v, want 500ms", d)
	}
	if d := slowDelay(100*time.Millisecond, 1); d != 0 {
		t.Fatalf("slowDelay at normal speed = %v", d)
	}
	f := netlink.NewFaults("n1", []string{"n2"})
	f.SetSlowDelay(slowDelay(100*time.Millisecond, 4))
	if _, err := f.Apply(&pb.AdminRequest{Command: pb.AdminCommand_DELAY, DelayMs: 50}); err != nil {
		t.Fatal(err)
	}
	if d := f.Delay("n2"); d != 150*time.Millisecond {
		t.Fatalf("delay %v, want 100ms of slow motion plus 50ms of DELAY", d)
	}
	if _, err := f.Apply(&pb.AdminRequest{Command: pb.AdminCommand_HEAL}); err != nil {
		t.Fatal(err)
	}
	if d := f.Delay("n2"); d != 100*time.Millisecond {
		t.Fatalf("after HEAL delay %v, want slow motion's 100ms kept", d)
	}
}

// containsPrefix reports whether some op starts with prefix.
func containsPrefix(ops []string, prefix string) bool {
	for _, op := range ops {
		if strings.HasPrefix(op, prefix) {
			return true
		}
	}
	return false
}

// TestSlowMotionTracesMessages: in slow motion each message sent is
// numbered and reported on the watch stream, and a traced message that
// arrives is reported with its sender's number; at normal speed neither.
func TestSlowMotionTracesMessages(t *testing.T) {
	log := &opLog{}
	n, _, _ := startNode(t, &fakeStore{log: log}, log)
	ctx := context.Background()
	events, stop := n.Subscribe()
	defer stop()
	nextMessage := func() *pb.Traffic {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case ev := <-events:
				if ev.GetKind() == pb.WatchEvent_MESSAGE {
					return ev.GetTraffic()[0]
				}
			case <-timeout:
				t.Fatal("no MESSAGE event")
			}
		}
	}

	n.Admin(ctx, &pb.AdminRequest{Command: pb.AdminCommand_SLOW_MOTION, SlowFactor: 2})
	n.Admin(ctx, &pb.AdminRequest{Command: pb.AdminCommand_FIRE_TIMER})
	ids := map[string]uint64{}
	for range 2 {
		m := nextMessage()
		if !m.GetSent() || m.GetFrom() != "n1" || m.GetKind() != pb.Traffic_VOTE || !m.GetPreVote() || m.GetId() == 0 {
			t.Fatalf("traced %v, want a pre-vote request sent by n1", m)
		}
		ids[m.GetTo()] = m.GetId()
	}
	if len(ids) != 2 || ids["n2"] == ids["n3"] {
		t.Fatalf("trace numbers %v, want one for each of n2 and n3, different", ids)
	}

	// Back at normal speed, n2's traced pre-vote arrives and is reported;
	// it wins the round, and the real votes go out untraced. Each would be
	// reported before it reaches the transport, so once the transport has
	// them every MESSAGE event is in the channel.
	n.Admin(ctx, &pb.AdminRequest{Command: pb.AdminCommand_SLOW_MOTION, SlowFactor: 1})
	n.StepPeer(&pb.RaftKvMessage{Type: pb.RaftKvMessage_PRE_VOTE_RESPONSE, NodeId: "n2", To: "n1", TraceId: 41,
		VoteResponse: &pb.VoteResponse{Term: 1, VoteGranted: true}})
	if m := nextMessage(); m.GetSent() || m.GetFrom() != "n2" || m.GetId() != 41 || m.GetKind() != pb.Traffic_VOTE_GRANTED || !m.GetPreVote() {
		t.Fatalf("traced %v, want n2's pre-vote 41 received", m)
	}
	testkit.PollEvery(t, time.Millisecond, 5*time.Second, "votes sent", func() (bool, string) {
		ops := log.recorded()
		return containsPrefix(ops, "send VOTE_REQUEST to n2") && containsPrefix(ops, "send VOTE_REQUEST to n3"), fmt.Sprintf("%q", ops)
	})
	for {
		select {
		case ev := <-events:
			if ev.GetKind() == pb.WatchEvent_MESSAGE {
				t.Fatalf("at normal speed a message was traced: %v", ev)
			}
		default:
			return
		}
	}
}
