package e2e

import (
	"strings"
	"testing"
)

// TestDashboardShowsMembership: membership changes and a transfer typed at
// the real dashboard's prompt change the real cluster, and the dashboard
// shows them — a new member's card marked as learner, the event pane's
// narration of each change and each entry in the log, a removed member's
// card marked removed, and a removed leader stepping down.
func TestDashboardShowsMembership(t *testing.T) {
	skipIfShort(t)
	h := StartCluster(t, 3)
	leader, _ := h.waitLeader()
	addr := h.startJoining("n4")
	scr := startDashboard(t, h)
	scr.waitScreen("the leader card", func(screen string) bool {
		return strings.Contains(screen, "★ LEADER")
	})

	scr.typeLine("add n4 " + addr + " learner")
	// The event pane is short and fills fast: each wait looks for the
	// newest lines, the proposal's being pushed out within milliseconds.
	scr.waitScreen("n4's card as a learner, the entry in the log and the commit in the events", func(screen string) bool {
		return strings.Contains(screen, "◇ learner") && strings.Contains(screen, "config n1 n2 n3 ◇n4") &&
			strings.Contains(screen, "committed: n1 n2 n3 ◇n4")
	})
	h.waitMember("n4", false)

	h.waitApplied("n4")
	scr.typeLine("promote n4")
	scr.waitScreen("n4 promoted: no learner mark left", func(screen string) bool {
		return strings.Contains(screen, "committed: n1 n2 n3 n4") && !strings.Contains(screen, "◇ learner")
	})
	h.waitMember("n4", true)

	target := h.others(leader, "n4")[0]
	scr.typeLine("transfer " + target)
	scr.waitScreen("the transfer narrated", func(screen string) bool {
		m := headerLeader.FindStringSubmatch(screen)
		return m != nil && m[1] == target && strings.Contains(screen, "leadership transferred to "+target)
	})

	scr.typeLine("remove n4")
	scr.waitScreen("n4 marked removed", func(screen string) bool {
		return strings.Contains(screen, "⊘ removed") && strings.Contains(screen, "n4 removed")
	})
	if rows := h.memberList(); memberRow(rows, "n4") != nil {
		t.Fatalf("member list after `remove n4`: %v", rows)
	}

	// Removing the leader: it leads until the entry commits, then steps
	// down, and another node leads.
	scr.typeLine("remove " + target)
	scr.waitScreen(target+" removed and stepped down, another leading", func(screen string) bool {
		m := headerLeader.FindStringSubmatch(screen)
		return m != nil && m[1] != target && strings.Count(screen, "⊘ removed") == 2
	})
	h.waitLeader(target, "n4")
}
