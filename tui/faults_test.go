package tui

import (
	"errors"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

func TestFaultCommandsSendRequests(t *testing.T) {
	tests := []struct {
		line   string
		node   string           // who must get the request
		want   *pb.AdminRequest // what it must get
		status string           // the status line once the node agreed
	}{
		{"partition n2", "n2", &pb.AdminRequest{Command: pb.AdminCommand_PARTITION}, "partition n2: done"},
		{"heal n2", "n2", &pb.AdminRequest{Command: pb.AdminCommand_HEAL}, "heal n2: done"},
		{"isolate n1 n2 n3", "n1", &pb.AdminRequest{Command: pb.AdminCommand_ISOLATE, Peers: []string{"n2", "n3"}}, "isolate n1: done"},
		{"ISOLATE   n3  n1", "n3", &pb.AdminRequest{Command: pb.AdminCommand_ISOLATE, Peers: []string{"n1"}}, "isolate n3: done"},
		{"delay n3 200ms", "n3", &pb.AdminRequest{Command: pb.AdminCommand_DELAY, DelayMs: 200}, "delay n3: done"},
		{"delay n3 1.5s", "n3", &pb.AdminRequest{Command: pb.AdminCommand_DELAY, DelayMs: 1500}, "delay n3: done"},
		{"delay n3 2500us", "n3", &pb.AdminRequest{Command: pb.AdminCommand_DELAY, DelayMs: 3}, "delay n3: done"},
		{"delay n1 1m", "n1", &pb.AdminRequest{Command: pb.AdminCommand_DELAY, DelayMs: 60000}, "delay n1: done"},
		{"delay n1 0", "n1", &pb.AdminRequest{Command: pb.AdminCommand_DELAY}, "delay n1: done"},
		{"slow-disk n2 1500ms", "n2", &pb.AdminRequest{Command: pb.AdminCommand_SLOW_DISK, StallMs: 1500}, "slow-disk n2: done"},
		{"SLOW-DISK n3 0", "n3", &pb.AdminRequest{Command: pb.AdminCommand_SLOW_DISK}, "slow-disk n3: done"},
		{"timeout n2", "n2", &pb.AdminRequest{Command: pb.AdminCommand_FIRE_TIMER}, "timeout n2: done"},
		{"hold n3", "n3", &pb.AdminRequest{Command: pb.AdminCommand_HOLD_TIMER}, "hold n3: done"},
		{"release n3", "n3", &pb.AdminRequest{Command: pb.AdminCommand_RELEASE_TIMER}, "release n3: done"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			h := newHarness(t, 3)
			connectAll(h)
			cmd := h.typeLine(tt.line)
			if cmd == nil {
				t.Fatalf("%q gave no command (status %q)", tt.line, h.m.status.text)
			}
			h.send(cmd())
			for _, id := range []string{"n1", "n2", "n3"} {
				got := h.dialer.conn(t, id).adminRequests()
				var want []*pb.AdminRequest
				if id == tt.node {
					want = []*pb.AdminRequest{tt.want}
				}
				if !slices.EqualFunc(got, want, func(a, b *pb.AdminRequest) bool { return proto.Equal(a, b) }) {
					t.Errorf("%s got %v, want %v", id, got, want)
				}
			}
			if h.m.status.isErr || h.m.status.text != tt.status {
				t.Errorf("status = %q (error %v), want %q", h.m.status.text, h.m.status.isErr, tt.status)
			}
		})
	}
}

func TestFaultCommandErrors(t *testing.T) {
	testPromptErrors(t, []promptError{
		{"partition without id", "partition", nil, "usage: partition ID"},
		{"heal with two ids", "heal n1 n2", nil, "usage: heal ID, or heal all"},
		{"heal unknown node", "heal n9", nil, `heal: unknown node "n9" (nodes: n1, n2, n3)`},
		{"isolate without peer", "isolate n1", nil, "usage: isolate ID PEER…"},
		{"isolate unknown node", "isolate n9 n1", nil, `isolate: unknown node "n9" (nodes: n1, n2, n3)`},
		{"isolate unknown peer", "isolate n1 n2 n7", nil, `isolate: unknown node "n7" (nodes: n1, n2, n3)`},
		{"isolate from itself", "isolate n1 n2 n1", nil, "isolate: n1 cannot be isolated from itself"},
		{"delay without duration", "delay n1", nil, "usage: delay ID DURATION (e.g. 200ms, 1.5s, or 0 to clear)"},
		{"delay bad duration", "delay n1 fast", nil, `delay: bad duration "fast" (want e.g. 200ms, 1.5s, or 0 to clear)`},
		{"delay without unit", "delay n1 200", nil, `delay: bad duration "200" (want e.g. 200ms, 1.5s, or 0 to clear)`},
		{"delay negative", "delay n1 -1s", nil, "delay: -1s is outside [0, 1m0s]"},
		{"delay too long", "delay n1 61s", nil, "delay: 1m1s is outside [0, 1m0s]"},
		{"delay under a millisecond", "delay n1 400us", nil, "delay: 400µs is under a millisecond (0 clears the delay)"},
		{"delay unknown node", "delay n9 1s", nil, `delay: unknown node "n9" (nodes: n1, n2, n3)`},
		{"slow-disk without duration", "slow-disk n1", nil, "usage: slow-disk ID DURATION (e.g. 1500ms, 2s, or 0 to clear)"},
		{"slow-disk bad duration", "slow-disk n1 slow", nil, `slow-disk: bad duration "slow" (want e.g. 1500ms, 2s, or 0 to clear)`},
		{"slow-disk too long", "slow-disk n1 2m", nil, "slow-disk: 2m0s is outside [0, 1m0s]"},
		{"slow-disk under a millisecond", "slow-disk n1 10us", nil, "slow-disk: 10µs is under a millisecond (0 clears the stall)"},
		{"slow-disk unknown node", "slow-disk n9 1s", nil, `slow-disk: unknown node "n9" (nodes: n1, n2, n3)`},
		{"slow without factor", "slow", nil, "usage: slow N (1 for normal speed, up to 100)"},
		{"slow zero", "slow 0", nil, `slow: want a whole factor from 1 (normal speed) to 100, got "0"`},
		{"slow too much", "slow 101", nil, `slow: want a whole factor from 1 (normal speed) to 100, got "101"`},
		{"timeout unknown node", "timeout n9", nil, `timeout: unknown node "n9" (nodes: n1, n2, n3)`},
		{"down node", "partition n3", func(h *harness) {
			h.dialer.setFail("n3", errors.New("refused"))
			h.connect("n3")
		}, "partition n3: not connected"},
		{"refused by the node", "isolate n1 n2", func(h *harness) {
			h.dialer.conn(t, "n1").adminResp = &pb.AdminResponse{Error: "network faults are not available on this node"}
		}, "isolate n1: network faults are not available on this node"},
		{"transport error", "delay n1 1s", func(h *harness) {
			h.dialer.conn(t, "n1").adminErr = errors.New("i/o timeout")
		}, "delay n1: i/o timeout"},
	})
}

// faultyCluster is three connected nodes in term 4: n1 leads and is
// partitioned, n2 is isolated from n1 and n3 and slowed by 200ms, n3 is
// slowed by 1.5s; each node has said so in the event pane.
func faultyCluster(t *testing.T, width, height int) *harness {
	t.Helper()
	h := newHarness(t, 3)
	h.send(tea.WindowSizeMsg{Width: width, Height: height})
	connectAll(h)
	ms := t0.UnixMilli()
	n1 := leaderStatus("n1", 4)
	n1.Partitioned = true
	n2 := follower("n2", 4, "n1", 1000, 700)
	n2.IsolatedFrom, n2.DelayMs = []string{"n1", "n3"}, 200
	n3 := follower("n3", 4, "n1", 1000, 400)
	n3.DelayMs = 1500
	h.deliver("n1", &pb.WatchEvent{Kind: pb.WatchEvent_FAULT_CHANGED, UnixMs: ms + 1, NodeId: "n1", Reason: "partitioned from n2, n3"},
		statusEv(n1))
	h.deliver("n2",
		&pb.WatchEvent{Kind: pb.WatchEvent_FAULT_CHANGED, UnixMs: ms + 2, NodeId: "n2", Reason: "isolated from n1, n3"},
		&pb.WatchEvent{Kind: pb.WatchEvent_FAULT_CHANGED, UnixMs: ms + 3, NodeId: "n2", Reason: "outbound delay 200ms"},
		statusEv(n2))
	h.deliver("n3", &pb.WatchEvent{Kind: pb.WatchEvent_FAULT_CHANGED, UnixMs: ms + 4, NodeId: "n3", Reason: "outbound delay 1.5s"},
		statusEv(n3))
	return h
}

func TestFaultMarksOnCards(t *testing.T) {
	h := faultyCluster(t, 120, 40)
	frame := h.view()
	golden(t, "faults", frame)
	mustContain(t, cardOf(t, frame, "n1"), "★ LEADER", "✂ PARTITIONED")
	mustContain(t, cardOf(t, frame, "n2"), "✂ isolated from n1,n3", "⏱ +200ms")
	mustContain(t, cardOf(t, frame, "n3"), "⏱ +1.5s")
	mustContain(t, frame,
		"21:40:01.124 n1 partitioned from n2, n3",
		"21:40:01.125 n2 isolated from n1, n3",
		"21:40:01.126 n2 outbound delay 200ms",
		"21:40:01.127 n3 outbound delay 1.5s")

	// The marks still show, and fit, on a small terminal.
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	frame = h.view()
	golden(t, "faults_narrow", frame)
	checkFits(t, frame, 80, 24)
	mustContain(t, frame, "✂ PARTITIONED", "✂ isolated from n1,n3", "⏱ +200ms", "⏱ +1.5s")

	// Once healed, the next status clears the marks (on the cards of a
	// large terminal again).
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.deliver("n2", &pb.WatchEvent{Kind: pb.WatchEvent_FAULT_CHANGED, UnixMs: t0.UnixMilli() + 5, NodeId: "n2", Reason: "healed"},
		statusEv(follower("n2", 4, "n1", 1000, 700)))
	card := cardOf(t, h.view(), "n2")
	for _, mark := range []string{"✂", "⏱"} {
		if strings.Contains(card, mark) {
			t.Errorf("healed n2 still shows %q:\n%s", mark, card)
		}
	}
	mustContain(t, h.view(), "n2 healed")
}

// TestDiskStallMarkOnCard: a node whose disk syncs stall (SLOW_DISK) says
// so on its card next to any network fault, and the mark goes with the
// stall.
func TestDiskStallMarkOnCard(t *testing.T) {
	h := faultyCluster(t, 120, 40)
	n3 := follower("n3", 4, "n1", 1000, 400)
	n3.DelayMs, n3.DiskStallMs = 1500, 2500
	h.deliver("n3", statusEv(n3))
	mustContain(t, cardOf(t, h.view(), "n3"), "⏱ +1.5s", "⏱ disk +2.5s")
	for _, id := range []string{"n1", "n2"} {
		if card := cardOf(t, h.view(), id); strings.Contains(card, "disk") {
			t.Errorf("%s has no stall but its card shows one:\n%s", id, card)
		}
	}

	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	frame := h.view()
	checkFits(t, frame, 80, 24)
	mustContain(t, frame, "⏱ disk +2.5s")

	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	h.deliver("n3", statusEv(follower("n3", 4, "n1", 1000, 400)))
	if card := cardOf(t, h.view(), "n3"); strings.Contains(card, "disk") {
		t.Errorf("cleared stall still shows:\n%s", card)
	}
}

// TestFaultAnswerUpdatesCard takes the status in the node's answer at once,
// before the stream catches up, as pause does.
func TestFaultAnswerUpdatesCard(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	for _, n := range h.m.nodes {
		h.deliver(n.node.ID, statusEv(follower(n.node.ID, 2, "n1", 1000, 600)))
	}
	after := follower("n2", 2, "n1", 1000, 600)
	after.Partitioned = true
	h.dialer.conn(t, "n2").adminResp = &pb.AdminResponse{Ok: true, Status: after}
	h.send(h.typeLine("partition n2")())
	mustContain(t, cardOf(t, h.view(), "n2"), "✂ PARTITIONED")
}

func TestTabCompletesFaultCommands(t *testing.T) {
	tests := []struct {
		typed string
		want  string
	}{
		{"partition n", "partition n1"},
		{"heal n3", "heal n3"},
		{"isolate n2 n", "isolate n2 n1"},
		{"isolate n1 n3", "isolate n1 n3"},
		{"delay n2", "delay n2 "},
		{"slow-", "slow-disk "},
		{"slow-disk n3", "slow-disk n3 "},
	}
	for _, tt := range tests {
		t.Run(tt.typed, func(t *testing.T) {
			h := newHarness(t, 3)
			for _, r := range tt.typed {
				h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
			}
			h.send(tea.KeyMsg{Type: tea.KeyTab})
			if got := h.m.input.Value(); got != tt.want {
				t.Errorf("tab completed %q to %q, want %q", tt.typed, got, tt.want)
			}
		})
	}
}

// TestSlowGoesToEveryNode: slow N asks every connected node at once and
// answers once; the header then shows the factor and a held timer shows
// on its card instead of the bar.
func TestSlowGoesToEveryNode(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	cmd := h.typeLine("slow 20")
	if cmd == nil {
		t.Fatalf("no command (status %q)", h.m.status.text)
	}
	runBatch(h, cmd)
	want := &pb.AdminRequest{Command: pb.AdminCommand_SLOW_MOTION, SlowFactor: 20}
	for _, id := range []string{"n1", "n2", "n3"} {
		if got := h.dialer.conn(t, id).adminRequests(); len(got) != 1 || !proto.Equal(got[0], want) {
			t.Errorf("%s got %v", id, got)
		}
	}
	if h.m.status.isErr || !strings.HasPrefix(h.m.status.text, "slow all: no node changed speed") && !strings.HasPrefix(h.m.status.text, "changed the speed of") {
		t.Errorf("status %q", h.m.status.text)
	}
	h.deliver("n1", statusEv(&pb.NodeStatus{Id: "n1", Role: pb.Role_ROLE_LEADER, LeaderId: "n1", Term: 2, SlowFactor: 20, HeartbeatMs: 2000}))
	h.deliver("n2", statusEv(&pb.NodeStatus{Id: "n2", LeaderId: "n1", Term: 2, SlowFactor: 20, TimerHeld: true, ElectionTimeoutMs: 20000}))
	frame := h.view()
	mustContain(t, frame, "slow ×20", "election timer held")
}
