package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/easykv/easykv/netlink/pb"
)

// follower is a follower's status with its election timer at remaining of
// timeout milliseconds.
func follower(id string, term int64, leader string, timeout, remaining int64) *pb.NodeStatus {
	return &pb.NodeStatus{
		Id: id, Role: pb.Role_ROLE_FOLLOWER, Term: term, VotedFor: leader, LeaderId: leader,
		ElectionTimeoutMs: timeout, ElectionRemainingMs: remaining, HeartbeatMs: 100,
		CommitIndex: 7, AppliedIndex: 7, LastIndex: 7, LastTerm: term,
	}
}

// connectAll connects every node of h.
func connectAll(h *harness) {
	for _, n := range h.m.nodes {
		h.connect(n.node.ID)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	dial := newFakeDialer().dial
	tests := []struct {
		name string
		opts Options
	}{
		{"no nodes", Options{Dial: dial, ClientID: 1}},
		{"no dial", Options{Nodes: []Node{{ID: "n1", Addr: "a:1"}}, ClientID: 1}},
		{"no client id", Options{Nodes: []Node{{ID: "n1", Addr: "a:1"}}, Dial: dial}},
		{"empty id", Options{Nodes: []Node{{Addr: "a:1"}}, Dial: dial, ClientID: 1}},
		{"repeated id", Options{Nodes: []Node{{ID: "n1", Addr: "a:1"}, {ID: "n1", Addr: "a:2"}}, Dial: dial, ClientID: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if m, err := New(tt.opts); err == nil {
				t.Fatalf("New = %v, want an error", m)
			}
		})
	}
}

func TestInitDialsEveryNodeInCommands(t *testing.T) {
	h := newHarness(t, 3)
	init := h.m.Init()
	// Building the commands must not dial: all I/O happens when they run.
	for _, id := range []string{"n1", "n2", "n3"} {
		if n := h.dialer.dials(id); n != 0 {
			t.Errorf("%s dialled %d times by Init itself", id, n)
		}
	}
	batch, ok := init().(tea.BatchMsg)
	if !ok {
		t.Fatalf("Init gave %T, want a batch", init())
	}
	var connected, ticks int
	for _, cmd := range batch {
		switch msg := cmd().(type) {
		case connectedMsg:
			connected++
			h.send(msg)
		case tickMsg:
			ticks++
		}
	}
	if connected != 3 || ticks != 1 {
		t.Errorf("Init ran %d connects and %d ticks, want 3 and 1", connected, ticks)
	}
	if c := h.dialer.conn(t, "n1"); c.interval != defaultStatusInterval {
		t.Errorf("Watch interval = %v, want %v", c.interval, defaultStatusInterval)
	}
	mustContain(t, h.view(), "waiting for status", "n1 connected", "n3 connected")
}

func TestFollowersTimersDrain(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	h.deliver("n1", statusEv(follower("n1", 1, "", 1000, 900)))
	h.deliver("n2", statusEv(follower("n2", 1, "", 1500, 1200)))
	h.deliver("n3", statusEv(follower("n3", 1, "", 2000, 1900)))
	frame := h.view()
	golden(t, "followers", frame)
	mustContain(t, frame, "no leader", "● follower", "0.90s", "1.20s", "1.90s", "leader -")

	h.tick(600 * time.Millisecond)
	frame = h.view()
	golden(t, "followers_600ms", frame)
	mustContain(t, frame, "0.30s", "0.60s", "1.30s")
	if bars(frame, "█") >= bars(h.viewAt(-600*time.Millisecond), "█") {
		t.Error("advancing the clock did not drain the bars")
	}

	// 1s in, n1's timer has run out: it stays at empty, not below.
	h.tick(400 * time.Millisecond)
	frame = h.view()
	if strings.Count(frame, "0.00s") != 1 || strings.Contains(frame, "-0.") {
		t.Errorf("n1's timer not clamped at empty after it ran out:\n%s", frame)
	}
	mustContain(t, frame, "0.20s", "0.90s")

	// A fresh status restarts the interpolation from its own arrival.
	h.deliver("n1", statusEv(follower("n1", 1, "", 1000, 800)))
	mustContain(t, h.view(), "0.80s")
}

// TestSilentNodes: a connected node whose stream brings nothing for longer
// than an election timeout plus a status interval is silent: its card says
// for how long and shows its last role as history, it is counted neither
// up nor leader, and the event pane says when it went silent and when it
// was heard again. A paused former leader does not read as leader either.
func TestSilentNodes(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	leader := logStatus("n1", 9, 9)
	leader.Role, leader.LeaderId, leader.Term, leader.BaseElectionTimeoutMs = pb.Role_ROLE_LEADER, "n1", 6, 1000
	h.deliver("n1", statusEv(leader))
	for _, id := range []string{"n2", "n3"} {
		st := follower(id, 6, "n1", 1500, 1400)
		st.BaseElectionTimeoutMs = 1000
		h.deliver(id, statusEv(st))
	}
	mustContain(t, strings.Join(h.m.viewHeader(), "\n"), "3 nodes: 3 up", "leader n1 (term 6)")

	// n2 and n3 keep talking; n1 stops (SIGSTOP). 1.1s is the limit.
	quiet := func(d time.Duration) {
		for step := 100 * time.Millisecond; d > 0; d -= step {
			h.tick(min(d, step))
			for _, id := range []string{"n2", "n3"} {
				if id == "n2" && h.m.nodes[1].status.GetRole() == pb.Role_ROLE_LEADER {
					h.deliver(id, statusEv(h.m.nodes[1].status))
					continue
				}
				st := follower(id, 6, "n1", 1500, 1400)
				st.BaseElectionTimeoutMs = 1000
				h.deliver(id, statusEv(st))
			}
		}
	}
	quiet(1100 * time.Millisecond)
	if frame := h.view(); strings.Contains(frame, silentText) {
		t.Fatalf("n1 silent after exactly the limit:\n%s", frame)
	}
	quiet(100 * time.Millisecond)
	frame := h.view()
	mustContain(t, frame, "n1 ✖ silent 1.2s", "was leader, term 6", "3 nodes: 2 up, 1 silent", "no leader",
		"n1 silent: nothing heard for 1.2s (was leader, term 6)")
	if strings.Contains(frame, "★ LEADER") || strings.Contains(frame, "heartbeat every") {
		t.Errorf("a silent leader still reads as leading:\n%s", frame)
	}
	if got := h.m.leaderIndex(); got != -1 {
		t.Errorf("leaderIndex = %d with the only leader silent", got)
	}

	// A new leader in term 7 among the live nodes is the header's leader.
	st := logStatus("n2", 9, 9)
	st.Role, st.LeaderId, st.Term, st.BaseElectionTimeoutMs = pb.Role_ROLE_LEADER, "n2", 7, 1000
	h.deliver("n2", statusEv(st))
	mustContain(t, strings.Join(h.m.viewHeader(), "\n"), "leader n2 (term 7)", "2 up, 1 silent")
	if strings.Count(h.view(), "★ LEADER") != 1 {
		t.Errorf("two leaders on screen:\n%s", h.view())
	}

	// n1 continues: heard again, and it is a leader of an old term.
	quiet(2 * time.Second)
	h.deliver("n1", statusEv(leader))
	mustContain(t, h.view(), "n1 heard again after 3.2s of silence", "3 nodes: 3 up", "leader n2 (term 7)")

	// Paused, a leader's card reads as history too.
	st.Paused = true
	h.deliver("n2", statusEv(st))
	frame = h.view()
	mustContain(t, frame, "n2 ⏸ PAUSED", "was leader, term 7", "1 paused", "leader n1 (term 6)")
}

// viewAt draws the frame as it was (or will be) d from now, then restores
// the clock.
func (h *harness) viewAt(d time.Duration) string {
	h.clock.advance(d)
	h.m.ctx.now = h.clock.Now()
	defer func() {
		h.clock.advance(-d)
		h.m.ctx.now = h.clock.Now()
	}()
	return h.view()
}

// bars counts the cells of glyph in frame.
func bars(frame, glyph string) int { return strings.Count(frame, glyph) }

func TestLeaderElected(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	ms := t0.UnixMilli()
	h.deliver("n1",
		&pb.WatchEvent{Kind: pb.WatchEvent_VOTE_REQUESTED, UnixMs: ms, NodeId: "n1", Term: 3, PreVote: true},
		&pb.WatchEvent{Kind: pb.WatchEvent_VOTE_REQUESTED, UnixMs: ms + 5, NodeId: "n1", Term: 3},
	)
	h.deliver("n2", &pb.WatchEvent{Kind: pb.WatchEvent_VOTE_GRANTED, UnixMs: ms + 7, NodeId: "n2", Term: 3, Peer: "n1"})
	h.deliver("n3", &pb.WatchEvent{Kind: pb.WatchEvent_VOTE_DENIED, UnixMs: ms + 8, NodeId: "n3", Term: 3, Peer: "n1", PreVote: true, Reason: "leader n2 is alive"})
	h.deliver("n1",
		&pb.WatchEvent{Kind: pb.WatchEvent_ROLE_CHANGED, UnixMs: ms + 9, NodeId: "n1", Term: 3, Role: pb.Role_ROLE_LEADER},
		statusEv(&pb.NodeStatus{
			Id: "n1", Role: pb.Role_ROLE_LEADER, Term: 3, VotedFor: "n1", LeaderId: "n1",
			CommitIndex: 8, AppliedIndex: 8, LastIndex: 8, LastTerm: 3, HeartbeatMs: 100, ElectionTimeoutMs: 1000,
			Peers: []*pb.PeerProgress{
				{Id: "n2", MatchIndex: 8, NextIndex: 9, RecentActive: true},
				{Id: "n3", MatchIndex: 5, NextIndex: 6},
			},
		}))
	h.deliver("n2",
		&pb.WatchEvent{Kind: pb.WatchEvent_LEADER_CHANGED, UnixMs: ms + 12, NodeId: "n2", Term: 3, LeaderId: "n1"},
		statusEv(follower("n2", 3, "n1", 1200, 1100)))
	h.deliver("n3", statusEv(follower("n3", 3, "n1", 1800, 1700)))

	frame := h.view()
	golden(t, "leader", frame)
	mustContain(t, frame,
		"leader n1 (term 3)", "★ LEADER", "heartbeat every 100ms",
		"✓ n2 match 8  next 9", "✗ n3 match 5  next 6",
		"21:40:01.128 n1 asked for votes (term 3)",
		"21:40:01.130 n2 granted vote to n1 (term 3)",
		"21:40:01.131 n3 denied pre-vote to n1: leader n2 is alive",
		"21:40:01.132 n1 became leader (term 3)",
		"21:40:01.135 n2 follows leader n1 (term 3)",
	)
	if got := strings.Count(frame, "leader n1"); got < 3 {
		t.Errorf("followers do not show leader n1 (%d mentions):\n%s", got, frame)
	}
	if strings.Contains(cardOf(t, frame, "n1"), "█") {
		t.Error("leader card shows a draining election bar")
	}
}

// cardOf is the text of the frame's card row that names id in a card head.
func cardOf(t *testing.T, frame, id string) string {
	t.Helper()
	var out []string
	col := -1
	for _, line := range strings.Split(frame, "\n") {
		if col < 0 {
			if i := strings.Index(line, "│ "+id+" "); i >= 0 {
				col = lipgloss.Width(line[:i])
			}
		}
		if col >= 0 && lipgloss.Width(line) > col {
			out = append(out, cutCells(line, col, 40))
		}
	}
	if col < 0 {
		t.Fatalf("no card for %s in:\n%s", id, frame)
	}
	return strings.Join(out, "\n")
}

// cutCells returns n cells of s starting at cell from.
func cutCells(s string, from, n int) string {
	var b strings.Builder
	cell := 0
	for _, r := range s {
		if cell >= from && cell < from+n {
			b.WriteRune(r)
		}
		cell += lipgloss.Width(string(r))
	}
	return b.String()
}

func TestCandidateShowsTally(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	h.deliver("n1", statusEv(&pb.NodeStatus{
		Id: "n1", Role: pb.Role_ROLE_CANDIDATE, Term: 4, VotedFor: "n1",
		ElectionTimeoutMs: 1600, ElectionRemainingMs: 800, HeartbeatMs: 100,
		CommitIndex: 7, AppliedIndex: 7, LastIndex: 7, LastTerm: 3,
		VotesGranted: []string{"n1"}, VotesRejected: []string{"n3"},
	}))
	h.deliver("n2", statusEv(&pb.NodeStatus{
		Id: "n2", Role: pb.Role_ROLE_PRE_CANDIDATE, Term: 3, VotedFor: "n1",
		ElectionTimeoutMs: 1300, ElectionRemainingMs: 1000, HeartbeatMs: 100,
		CommitIndex: 7, AppliedIndex: 7, LastIndex: 7, LastTerm: 3,
		VotesGranted: []string{"n2"},
	}))
	h.deliver("n3", statusEv(follower("n3", 4, "", 1100, 400)))
	frame := h.view()
	golden(t, "candidate", frame)
	mustContain(t, frame, "◐ candidate", "◌ precandidate", "votes 1 of 2 needed  ● n1  ○ n2", "✗ n3", "votes 1 of 2 needed  ○ n1  ● n2", "○ n3")
}

func TestPausedAndDownNodes(t *testing.T) {
	h := newHarness(t, 3)
	h.dialer.setFail("n3", errors.New("dial 127.0.0.1:7003: connect: connection refused"))
	connectAll(h)
	retry := h.pending["n3"]
	if retry == nil {
		t.Fatal("a failed dial scheduled no retry")
	}
	paused := follower("n2", 2, "n1", 1400, 700)
	paused.Paused = true
	h.deliver("n1", statusEv(follower("n1", 2, "", 1000, 500)))
	h.deliver("n2", statusEv(paused))
	h.tick(200 * time.Millisecond)
	frame := h.view()
	golden(t, "paused_down", frame)
	mustContain(t, frame, "⏸ PAUSED", "0.70s", "0.30s", "✖ DOWN", "connection refused",
		"retry in 0.3s  (attempt 2)", "n3 down: dial 127.0.0.1:7003")

	// The retry fires after the first backoff and dials again; a second
	// failure doubles the wait and is not logged twice.
	start := time.Now()
	msg := retry()
	if waited := time.Since(start); waited < minBackoff/2 {
		t.Errorf("retry fired after %v, want about %v", waited, minBackoff)
	}
	if got, ok := msg.(retryMsg); !ok || got.node != h.idx("n3") {
		t.Fatalf("retry command gave %#v, want retryMsg for n3", msg)
	}
	dial := h.send(msg)
	mustContain(t, h.view(), "reconnecting…")
	h.send(dial())
	if got := h.dialer.dials("n3"); got != 2 {
		t.Errorf("n3 dialled %d times, want 2", got)
	}
	n3 := h.m.nodes[h.idx("n3")]
	if n3.failures != 2 || !n3.retryAt.Equal(h.clock.Now().Add(time.Second)) {
		t.Errorf("after 2 failures: failures=%d retryAt=%v, want 2 and now+1s", n3.failures, n3.retryAt)
	}
	if got := h.m.events.total; got != 3 { // connected n1, connected n2, down n3
		t.Errorf("event pane has %d lines, want 3", got)
	}

	// Once the node answers, the card comes back and the pane says so.
	h.dialer.setFail("n3", nil)
	h.send(h.m.connect(h.idx("n3"))())
	frame = h.view()
	if strings.Contains(frame, "✖ DOWN") {
		t.Errorf("n3 still DOWN after reconnecting:\n%s", frame)
	}
	mustContain(t, frame, "n3 reconnected")
}

func TestEventsCoalesced(t *testing.T) {
	h := newHarness(t, 1)
	h.connect("n1")
	var evs []*pb.WatchEvent
	for i := range 100 {
		evs = append(evs, &pb.WatchEvent{Kind: pb.WatchEvent_TERM_CHANGED, NodeId: "n1", Term: int64(i + 1)})
		evs = append(evs, statusEv(follower("n1", int64(i+1), "", 1000, 900)))
	}
	c := h.dialer.conn(t, "n1")
	for _, ev := range evs {
		c.events <- ev
	}
	msg, ok := h.pending["n1"]().(eventsMsg)
	if !ok || len(msg.events) != 200 || msg.closed {
		t.Fatalf("one read gave %d events (closed=%v), want all 200 in one message", len(msg.events), msg.closed)
	}
	h.send(msg) // one Update for the whole burst
	if got := h.m.events.total; got != 101 {
		t.Errorf("event pane got %d lines, want 101 (connected + 100 term changes)", got)
	}
	if got := h.m.nodes[0].status.GetTerm(); got != 100 {
		t.Errorf("card shows term %d, want the last status's 100", got)
	}
}

func TestEventPaneBounded(t *testing.T) {
	h := newHarness(t, 1)
	h.connect("n1")
	var evs []*pb.WatchEvent
	for i := range 2 * eventLogSize {
		evs = append(evs, &pb.WatchEvent{Kind: pb.WatchEvent_TERM_CHANGED, NodeId: "n1", Term: int64(i + 1)})
	}
	h.deliver("n1", evs...)
	if got := len(h.m.events.ring); got != eventLogSize {
		t.Errorf("kept %d lines, want %d", got, eventLogSize)
	}
	last := h.m.events.last(3)
	for i, want := range []string{"moved to term 998", "moved to term 999", "moved to term 1000"} {
		if last[i].text != want {
			t.Errorf("last(3)[%d] = %q, want %q", i, last[i].text, want)
		}
	}
	frame := h.view()
	lines := strings.Split(frame, "\n")
	if len(lines) != 40 {
		t.Errorf("frame is %d lines, want the terminal's 40", len(lines))
	}
	// Newest at the bottom, just above the status line, prompt and help.
	if got := lines[len(lines)-4]; !strings.HasSuffix(got, "n1 moved to term 1000") {
		t.Errorf("line above the footer = %q, want the newest event", got)
	}
}
