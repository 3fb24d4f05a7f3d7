package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// nodeLine matches a node's one line in the dashboard's compact layout:
// its id, its badge and its term.
var nodeLine = regexp.MustCompile(`(?m)^(n\d) +(★ LEADER|● follower) +term (\d+) `)

// TestDashboardAt80x24 runs the real dashboard in an 80×24 pseudo-terminal
// against three real nodes that already hold keys written before it
// started: the screen keeps the main view — a line per node, the log view
// and the prompt — instead of cards that crowd the log view out; and tab
// completes the keys the nodes' log tails show, though this dashboard
// never named them.
func TestDashboardAt80x24(t *testing.T) {
	skipIfShort(t)
	h := StartCluster(t, 3)
	leader, _ := h.waitLeader()
	for i := 1; i <= 3; i++ {
		if r := h.Ctl("put", fmt.Sprintf("k%d", i), "v"); r.code != 0 {
			t.Fatalf("put k%d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	cmd := exec.Command(bins.tui, "--cluster", h.cfgPath)
	cmd.Env = tuiEnv(t)
	scr := startTerminal(t, 80, 24, cmd)

	screen := scr.waitScreen("a line per node, the log view and the prompt", func(screen string) bool {
		lines := nodeLine.FindAllStringSubmatch(screen, -1)
		seen := map[string]bool{}
		for _, m := range lines {
			seen[m[1]] = true
		}
		return len(seen) == 3 && strings.Contains(screen, "log (index") && strings.Contains(screen, "events (") &&
			strings.Contains(screen, "> ")
	})
	if strings.Contains(screen, "╭") {
		t.Fatalf("80×24 draws cards; screen:\n%s", screen)
	}
	if !regexp.MustCompile(`(?m)^` + leader + ` +★ LEADER +term \d+ +[♥♡] every \d+ms +commit \d+`).MatchString(screen) {
		t.Fatalf("no leader line for %s with its heartbeat and commit index; screen:\n%s", leader, screen)
	}
	for _, id := range h.ids {
		// The log view's row of each node: its id, its glyph, its cells.
		if !regexp.MustCompile(`(?m)^` + id + ` [★●] +\d`).MatchString(screen) {
			t.Fatalf("no log view row for %s; screen:\n%s", id, screen)
		}
	}
	if rows := strings.Count(screen, "\n") + 1; rows > 24 {
		t.Fatalf("screen is %d rows", rows)
	}

	// The keys written before the dashboard started complete.
	scr.send("get k\t")
	scr.waitScreen("k1, k2 and k3 offered", func(screen string) bool {
		return strings.Contains(screen, "3 completions: [k3]  k2  k1")
	})

	// Tab put the newest in the prompt: enter reads it.
	scr.send("\r")
	scr.waitText(`get k3 → "v"`)
	scr.typeLine("quit")
	if code := scr.waitExit(); code != 0 {
		t.Fatalf("dashboard exited %d after quit, want 0; screen:\n%s", code, scr.screen())
	}
}
