package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// traced is a MESSAGE event: node reports message id of kind from one
// node to another, as its sender (sent) or receiver.
func traced(node string, sent bool, t *pb.Traffic) *pb.WatchEvent {
	t.Sent, t.Count = sent, 1
	return &pb.WatchEvent{Kind: pb.WatchEvent_MESSAGE, NodeId: node, UnixMs: t0.UnixMilli(), Term: t.GetTerm(), Traffic: []*pb.Traffic{t}}
}

// slowCluster is three nodes in slow motion ×20 (a 2 s heartbeat, so a
// message takes 500 ms), n1 leading term 4.
func slowCluster(t *testing.T, width, height int) *harness {
	t.Helper()
	h := newHarness(t, 3)
	h.send(tea.WindowSizeMsg{Width: width, Height: height})
	connectAll(h)
	for _, st := range []*pb.NodeStatus{leaderStatus("n1", 4), follower("n2", 4, "n1", 20000, 15000), follower("n3", 4, "n1", 20000, 9000)} {
		st.SlowFactor, st.HeartbeatMs = 20, 2000
		h.deliver(st.GetId(), statusEv(st))
	}
	return h
}

// TestMessagesInFlight: in slow motion each traced message is drawn on
// its lane from the sender's card towards the receiver's, as far along
// as the time since it was sent says; it reaches the receiver when the
// receiver reports it and then leaves; one never reported is marked lost.
func TestMessagesInFlight(t *testing.T) {
	h := slowCluster(t, 120, 40)
	if frame := h.view(); !strings.Contains(frame, "messages in flight (slow ×20)") || !strings.Contains(frame, "none: a message is drawn") {
		t.Fatalf("no empty lanes in slow motion:\n%s", frame)
	}
	h.deliver("n1",
		traced("n1", true, &pb.Traffic{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Id: 7, Term: 4, Entries: 2}),
		traced("n1", true, &pb.Traffic{Kind: pb.Traffic_HEARTBEAT, From: "n1", To: "n3", Id: 8, Term: 4}))
	h.tick(250 * time.Millisecond)
	h.deliver("n3", traced("n3", true, &pb.Traffic{Kind: pb.Traffic_VOTE_DENIED, From: "n3", To: "n1", Id: 3, Term: 4}))
	h.tick(50 * time.Millisecond)
	frame := h.view()
	golden(t, "lanes", frame)
	lanes := linesAfter(t, frame, "messages in flight")
	// 300 of 500 ms from n1's card centre (column 20) to n2's (60): the
	// glyph at column 44.
	if got := strings.Index(lanes[0], "■"); !strings.HasPrefix(strings.TrimLeft(lanes[0], " "), "n1 ") || runeCol(lanes[0], got) != 44 || !strings.Contains(lanes[0], "■ append 2") || !strings.HasSuffix(lanes[0], "▶ n2") {
		t.Errorf("n1 → n2 lane %q: want append 2 at column 44 heading right", lanes[0])
	}
	if !strings.Contains(lanes[1], "♡ heartbeat") || !strings.Contains(lanes[2], "vote no t4 ○") || !strings.Contains(lanes[2], "◀") {
		t.Errorf("lanes %q: want n1's heartbeat to n3 and n3's refusal heading left", lanes)
	}

	// n2 reports the append: drawn at n2 for a moment (" ■ append 2 "
	// ends against the arrowhead at column 60: the glyph at 49), then gone.
	h.deliver("n2", traced("n2", false, &pb.Traffic{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Id: 7, Term: 4, Entries: 2}))
	if lane := linesAfter(t, h.view(), "messages in flight")[0]; runeCol(lane, strings.Index(lane, "■")) != 49 {
		t.Errorf("arrived append %q: want it against n2's end", lane)
	}
	h.tick(arrivedLinger + time.Millisecond)
	if strings.Contains(h.view(), "append 2") {
		t.Errorf("arrived append still drawn after %v", arrivedLinger)
	}
	// The heartbeat never arrives: lost after four travel times.
	h.tick(lostAfter * 500 * time.Millisecond)
	frame = h.view()
	mustContain(t, frame, "✗ heartbeat lost", "vote no t4 lost ✗")
	h.tick(lostLinger + time.Millisecond)
	mustContain(t, h.view(), "none: a message is drawn")

	// At normal speed there are no lanes.
	for _, st := range []*pb.NodeStatus{leaderStatus("n1", 4), follower("n2", 4, "n1", 1000, 700), follower("n3", 4, "n1", 1000, 400)} {
		h.deliver(st.GetId(), statusEv(st))
	}
	if strings.Contains(h.view(), "messages in flight") {
		t.Errorf("lanes at normal speed:\n%s", h.view())
	}
}

// TestMessagesInFlightListAt80x24: a small terminal lists the messages
// in flight in the traffic pane's place, each with how far it got.
func TestMessagesInFlightListAt80x24(t *testing.T) {
	h := slowCluster(t, 80, 24)
	h.deliver("n1",
		traced("n1", true, &pb.Traffic{Kind: pb.Traffic_VOTE, From: "n1", To: "n2", Id: 1, Term: 5, PreVote: true}),
		traced("n1", true, &pb.Traffic{Kind: pb.Traffic_INSTALL_SNAPSHOT, From: "n1", To: "n3", Id: 2, Term: 5, DoneBytes: 1 << 20, TotalBytes: 4 << 20}))
	h.tick(100 * time.Millisecond)
	h.deliver("n2", traced("n2", true, &pb.Traffic{Kind: pb.Traffic_VOTE_GRANTED, From: "n2", To: "n1", Id: 4, Term: 5, PreVote: true}))
	frame := h.view()
	golden(t, "lanes_80x24", frame)
	checkFits(t, frame, 80, 24)
	mustContain(t, frame, "messages in flight (slow ×20)",
		"n1 → n2 ◇ pre-vote? t5  20% of the way",
		"n1 → n3 ▤ snapshot 1/4 MiB  20% of the way",
		"n2 → n1 ● pre-vote yes t5  0% of the way")
}

// linesAfter returns the frame's lines after the first that holds
// heading.
func linesAfter(t *testing.T, frame, heading string) []string {
	t.Helper()
	lines := strings.Split(frame, "\n")
	for i, l := range lines {
		if strings.Contains(l, heading) {
			return lines[i+1:]
		}
	}
	t.Fatalf("no %q in frame:\n%s", heading, frame)
	return nil
}

// runeCol is the column (in cells, every glyph here one wide) of the byte
// offset i in s.
func runeCol(s string, i int) int {
	if i < 0 {
		return -1
	}
	return len([]rune(s[:i]))
}

// TestLaneOverlap: two messages at one place on a lane do not garble each
// other: the newer is drawn and the other counted at the lane's end.
func TestLaneOverlap(t *testing.T) {
	h := slowCluster(t, 120, 40)
	h.deliver("n1",
		traced("n1", true, &pb.Traffic{Kind: pb.Traffic_HEARTBEAT, From: "n1", To: "n2", Id: 1, Term: 4}),
		traced("n1", true, &pb.Traffic{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Id: 2, Term: 4, Entries: 1}))
	lane := linesAfter(t, h.view(), "messages in flight")[0]
	if !strings.Contains(lane, "■ append 1") || strings.Contains(lane, "heartbeat") || !strings.HasSuffix(lane, "n2 +1") {
		t.Fatalf("lane %q: want the append drawn, the heartbeat under it counted (+1)", lane)
	}
}
