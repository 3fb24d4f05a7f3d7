package e2e

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	snapOnCard    = regexp.MustCompile(`snap [1-9][0-9]*@1`)
	compactedCell = regexp.MustCompile(`≤[1-9][0-9]* snap`)
	logWindow     = regexp.MustCompile(`log \(index ([0-9]+)–`)
)

// logFrom is the first index the log view shows, 0 when there is none.
func logFrom(screen string) int {
	m := logWindow.FindStringSubmatch(screen)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestDashboardShowsSnapshots: on the real dashboard, a compacted log
// shows as one "≤N snap" cell in the log view and as "snap N@T" on the
// card, and a follower brought back behind the compaction point shows in
// the event pane as the leader's snapshot sent to it.
func TestDashboardShowsSnapshots(t *testing.T) {
	skipIfShort(t)
	h := StartCluster(t, 3, withConfig(snapshotConfig))
	leader, _ := h.waitLeader()
	follower := h.others(leader)[0]
	h.KillNode(follower)
	h.putValues("k", 500, strings.Repeat("v", 256))
	scr := startDashboard(t, h)
	scr.waitScreen("the snapshot on the leader's card", func(screen string) bool {
		return snapOnCard.MatchString(screen)
	})
	// The log view follows the tail; scrolled back it reaches the entries
	// compacted away, drawn as one cell.
	for !compactedCell.MatchString(scr.screen()) {
		from := logFrom(scr.screen())
		if from == 1 {
			t.Fatalf("scrolled back to index 1 without a compacted cell:\n%s", scr.screen())
		}
		scrolled := func(screen string) bool { return compactedCell.MatchString(screen) || logFrom(screen) < from }
		// One key at a time, pressed again if the dashboard missed it:
		// keys typed together may arrive as one.
		for press := 0; ; press++ {
			scr.send("[")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := scr.pt.Wait(ctx, scrolled)
			cancel()
			if err == nil {
				break
			}
			if press == 5 {
				t.Fatalf("the log view did not scroll back from %d after %d presses of [:\n%s", from, press+1, scr.screen())
			}
		}
	}
	h.RestartNode(follower)
	// The follower installs the snapshot before the dashboard's watch
	// reconnects to it, so its own event is not seen; the leader's is.
	scr.waitScreen("the leader's event: the snapshot sent to "+follower, func(screen string) bool {
		return strings.Contains(screen, "→ "+follower+" snapshot at") && strings.Contains(screen, "sent (")
	})
}
