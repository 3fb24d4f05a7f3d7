package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// lineOf is the line of frame that starts with the node id, or fails.
func lineOf(t *testing.T, frame, id string) string {
	t.Helper()
	for _, l := range strings.Split(frame, "\n") {
		if strings.HasPrefix(l, id+" ") && !strings.HasPrefix(l, id+" ★  ") && !strings.Contains(l, " 3 3 ") {
			return l
		}
	}
	t.Fatalf("no line for %s in:\n%s", id, frame)
	return ""
}

// TestCompactLayoutAt80x24: an 80×24 terminal keeps the main view, as the
// README says: one line per node (badge, id, term, what the role is
// doing, commit and applied, and the marks of a silent, paused or faulty
// node), the log view and the prompt. n4 went silent after it led term 2,
// n5 is paused and partitioned, n3 is being partitioned.
func TestCompactLayoutAt80x24(t *testing.T) {
	h := newHarness(t, 5)
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	connectAll(h)
	n4 := leaderStatus("n4", 2)
	n4.BaseElectionTimeoutMs = 1000
	h.deliver("n4", statusEv(n4))
	h.clock.advance(1200 * time.Millisecond) // n4 says nothing from here on
	n1 := leaderStatus("n1", 3)
	n1.CommitIndex, n1.AppliedIndex, n1.LastIndex = 9, 9, 10
	n1.Peers = []*pb.PeerProgress{
		{Id: "n2", MatchIndex: 10, NextIndex: 11, RecentActive: true},
		{Id: "n3", MatchIndex: 9, NextIndex: 10, RecentActive: true},
		{Id: "n4", MatchIndex: 7, NextIndex: 8},
		{Id: "n5", MatchIndex: 6, NextIndex: 7},
	}
	n1.LogTail = termLog(10, 3)[2:]
	h.deliver("n1", statusEv(n1))
	n2 := follower("n2", 3, "n1", 1000, 600)
	n2.CommitIndex, n2.AppliedIndex, n2.LastIndex = 9, 8, 10
	h.deliver("n2", statusEv(n2))
	n3 := follower("n3", 3, "n1", 1500, 1200)
	n3.Partitioned = true
	h.deliver("n3", statusEv(n3))
	n5 := follower("n5", 2, "n4", 1000, 400)
	n5.Paused, n5.IsolatedFrom = true, []string{"n1"}
	h.deliver("n5", statusEv(n5))
	h.tick(0)

	frame := h.view()
	golden(t, "compact_80x24", frame)
	checkFits(t, frame, 80, 24)
	if got := len(strings.Split(frame, "\n")); got != 24 {
		t.Errorf("frame is %d lines, want 24", got)
	}
	if strings.Contains(frame, "╭") {
		t.Errorf("80×24 still draws cards:\n%s", frame)
	}
	mustContain(t, lineOf(t, frame, "n1"), "★ LEADER", "term 3", "every 100ms", "commit 9", "applied 9")
	mustContain(t, lineOf(t, frame, "n2"), "● follower", "term 3", "0.60s", "commit 9", "applied 8")
	mustContain(t, lineOf(t, frame, "n3"), "● follower", "✂ PARTITIONED", "commit 7")
	mustContain(t, lineOf(t, frame, "n4"), "✖ silent 1.2s", "was leader, term 2", "commit 7")
	mustContain(t, lineOf(t, frame, "n5"), "⏸ PAUSED", "was follower, term 2", "✂ isolated from n1")
	if strings.Contains(lineOf(t, frame, "n4"), "every 100ms") {
		t.Errorf("a silent leader's line shows a heartbeat:\n%s", frame)
	}
	mustContain(t, frame, "log (index 1–10", "events (", "> put KEY VALUE")
	// Columns: every line leaves out the same fields.
	for _, id := range []string{"n2", "n3"} {
		if strings.Contains(lineOf(t, frame, id), "leader n1") != strings.Contains(lineOf(t, frame, "n2"), "leader n1") {
			t.Errorf("the lines leave out different fields:\n%s", frame)
		}
	}
}

// TestCompactLineLeavesOutFieldsByPriority: a line too wide leaves out the
// leader, then the last index, then the applied index, on every line, and
// keeps the badge, the term, the timer and the commit index.
func TestCompactLineLeavesOutFieldsByPriority(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	h.deliver("n1", statusEv(leaderStatus("n1", 3)))
	h.deliver("n2", statusEv(follower("n2", 3, "n1", 1000, 500)))
	h.deliver("n3", statusEv(follower("n3", 3, "n1", 1000, 250)))
	tests := []struct {
		width      int
		want, lost []string
	}{
		{100, []string{"commit 7", "applied 7", "last 7 (term 3)", "leader n1"}, nil},
		{80, []string{"commit 7", "applied 7", "last 7 (term 3)"}, []string{"leader n1"}},
		{62, []string{"commit 7", "applied 7"}, []string{"last 7", "leader n1"}},
		{52, []string{"commit 7"}, []string{"applied 7", "last 7", "leader n1"}},
	}
	for _, tt := range tests {
		h.m.ctx.width = tt.width
		lines := strings.Split(viewTable(&h.m.ctx, h.m.nodes), "\n")
		if len(lines) != 3 {
			t.Fatalf("%d columns: %d lines, want 3", tt.width, len(lines))
		}
		for _, l := range lines[1:] {
			checkFits(t, l, tt.width, 1)
			mustContain(t, l, append([]string{"● follower", "term 3", "s  commit"}, tt.want...)...)
			for _, lost := range tt.lost {
				if strings.Contains(l, lost) {
					t.Errorf("%d columns: %q still has %q", tt.width, l, lost)
				}
			}
		}
		if strings.Contains(lines[0], "leader n1") {
			t.Errorf("the leader's line names itself its leader: %q", lines[0])
		}
	}
}
