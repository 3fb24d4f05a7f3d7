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

func TestNarrowTerminal(t *testing.T) {
	h := newHarness(t, 3)
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	connectAll(h)
	h.deliver("n1", statusEv(&pb.NodeStatus{
		Id: "n1", Role: pb.Role_ROLE_LEADER, Term: 12, VotedFor: "n1", LeaderId: "n1",
		CommitIndex: 123456, AppliedIndex: 123456, LastIndex: 123457, LastTerm: 12, HeartbeatMs: 100,
		Peers: []*pb.PeerProgress{
			{Id: "n2", MatchIndex: 123456, NextIndex: 123457, RecentActive: true},
			{Id: "n3", MatchIndex: 123400, NextIndex: 123457, RecentActive: true},
		},
	}), &pb.WatchEvent{Kind: pb.WatchEvent_VOTE_DENIED, NodeId: "n1", Term: 12, Peer: "n3",
		Reason: strings.Repeat("a very long reason ", 10)})
	paused := follower("n2", 12, "n1", 1500, 1000)
	paused.Paused = true
	h.deliver("n2", statusEv(paused))
	h.deliver("n3", statusEv(&pb.NodeStatus{
		Id: "n3", Role: pb.Role_ROLE_PRE_CANDIDATE, Term: 12, ElectionTimeoutMs: 1500, ElectionRemainingMs: 200,
		VotesGranted: []string{"n3"}, VotesRejected: []string{"n1", "n2"},
	}))
	frame := h.view()
	golden(t, "narrow", frame)
	checkFits(t, frame, 80, 24)
	mustContain(t, frame, "★ LEADER", "⏸ PAUSED", "◌ precandidate", "> ")

	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'?'}})
	frame = h.view()
	golden(t, "narrow_help", frame)
	checkFits(t, frame, 80, 24)

	// A long line typed at the prompt, and a long answer, still fit.
	h.send(tea.KeyMsg{Type: tea.KeyEsc})
	h.typeLine(strings.Repeat("x", 200))
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(strings.Repeat("y", 150))})
	checkFits(t, h.view(), 80, 24)
}

// checkFits fails if frame is wider or taller than the terminal.
func checkFits(t *testing.T, frame string, width, height int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) > height {
		t.Errorf("frame is %d lines, terminal has %d", len(lines), height)
	}
	for i, l := range lines {
		if w := lipgloss.Width(l); w > width {
			t.Errorf("line %d is %d cells wide, terminal has %d: %q", i, w, width, l)
		}
	}
}

func TestWideFrameFits(t *testing.T) {
	h := newHarness(t, 5)
	connectAll(h)
	for _, n := range h.m.nodes {
		h.deliver(n.node.ID, statusEv(follower(n.node.ID, 1, "", 1000, 500)))
	}
	frame := h.view()
	checkFits(t, frame, 120, 40)
	if got := len(strings.Split(frame, "\n")); got != 40 {
		t.Errorf("frame is %d lines, want 40", got)
	}
}

func TestTinyTerminalsDoNotPanic(t *testing.T) {
	for _, size := range []tea.WindowSizeMsg{{}, {Width: 1, Height: 1}, {Width: 12, Height: 5}, {Width: 30, Height: 8}} {
		h := newHarness(t, 3)
		h.dialer.setFail("n3", errors.New(strings.Repeat("long error ", 20)))
		connectAll(h)
		h.deliver("n1", statusEv(follower("n1", 1, "", 1000, 500)))
		h.send(size)
		frame := h.view()
		h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'?'}})
		help := h.view()
		if size.Height >= 5 {
			checkFits(t, frame, size.Width, size.Height)
			checkFits(t, help, size.Width, size.Height)
		}
	}
}

// TestSteadyFrames: with SteadyFrames, what the nodes stream shows at the
// next frame tick, not at once; keys show at once.
func TestSteadyFrames(t *testing.T) {
	h := newHarness(t, 3)
	h.m.opts.SteadyFrames = true
	h.connect("n1")
	h.tick(0)
	before := h.view()
	h.deliver("n1", statusEv(leaderStatus("n1", 7)))
	if got := h.view(); got != before {
		t.Fatalf("a streamed status was drawn before the tick:\n%s", got)
	}
	h.tick(time.Second / 15)
	after := h.view()
	mustContain(t, after, "LEADER", "term 7")
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'g'}})
	if got := h.view(); got == after || !strings.Contains(got, "> g") {
		t.Fatalf("a key was not drawn at once:\n%s", got)
	}
}
