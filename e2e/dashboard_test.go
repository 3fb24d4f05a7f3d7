package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/easykv/easykv/netlink/pb"
)

// The size of the terminal the dashboard runs in.
const tuiCols, tuiRows = 120, 40

// startDashboard opens easykv-tui on h's cluster in a 120×40 terminal and
// ends it when the test ends.
func startDashboard(t *testing.T, h *Harness) *terminal {
	t.Helper()
	return startTUI(t, nil, "--cluster", h.cfgPath)
}

// startTUI runs easykv-tui with args in a 120×40 pseudo-terminal, with env
// ("NAME=value") added to its environment, and ends it when the test ends.
// Its history goes to the test's temp dir, not the user's.
func startTUI(t *testing.T, env []string, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(bins.tui, args...)
	cmd.Env = append(tuiEnv(t), env...)
	return startTerminal(t, tuiCols, tuiRows, cmd)
}

// tuiEnv is the environment of easykv-tui in a terminal: the binaries'
// usual one, an xterm's TERM, a state directory of the test's own, and
// neither CI nor NO_COLOR nor COLORTERM from the test's own environment:
// termenv draws without colour when CI is set (as it is on CI machines),
// and the tests decide about colour themselves.
func tuiEnv(t *testing.T) []string {
	env := slices.DeleteFunc(childEnv(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains([]string{"CI", "NO_COLOR", "COLORTERM", "TERM", "XDG_STATE_HOME"}, name)
	})
	return append(env, "TERM=xterm-256color", "XDG_STATE_HOME="+t.TempDir())
}

var headerLeader = regexp.MustCompile(`leader (n\d) \(term (\d+)\)`)

// TestDashboardShowsElectionAndPause drives the real dashboard in a
// pseudo-terminal against three real nodes: it shows the elected leader, a
// put typed at the prompt replicates to every card's log tail and a get
// reads it back, `pause` typed at the prompt pauses the leader and the
// screen shows the new leader, `resume` brings it back as a follower, a
// narrower terminal gets narrower cards, and `quit` exits 0.
func TestDashboardShowsElectionAndPause(t *testing.T) {
	skipIfShort(t)
	h := StartCluster(t, 3)
	leader, term := h.waitLeader()
	scr := startDashboard(t, h)

	scr.waitScreen("the leader card and header", func(screen string) bool {
		m := headerLeader.FindStringSubmatch(screen)
		return m != nil && m[1] == leader && m[2] == fmt.Sprint(term) &&
			strings.Contains(screen, "★ LEADER") && strings.Count(screen, "● follower") == 2
	})

	// A write typed at the prompt is answered, and the entry shows in every
	// node's log tail once replicated.
	scr.typeLine("put user:1 alice")
	scr.waitScreen("the put's result and the entry on all three cards", func(screen string) bool {
		return strings.Contains(screen, "put user:1 alice → OK") && strings.Count(screen, "PUT user:1 alice") >= 3
	})
	scr.typeLine("get user:1")
	scr.waitScreen("the get's result", func(screen string) bool {
		return strings.Contains(screen, `get user:1 → "alice"`)
	})

	scr.typeLine("pause " + leader)
	screen := scr.waitScreen("a new leader after pausing "+leader, func(screen string) bool {
		m := headerLeader.FindStringSubmatch(screen)
		return m != nil && m[1] != leader && strings.Contains(screen, "⏸ PAUSED")
	})
	newLeader := headerLeader.FindStringSubmatch(screen)[1]
	if st := h.mustStatus(leader); !st.GetPaused() {
		t.Fatalf("%s not paused after `pause` at the prompt: %v", leader, st)
	}
	got, newTerm := h.waitLeader(leader)
	if got != newLeader {
		t.Fatalf("dashboard shows leader %s, nodes report %s", newLeader, got)
	}

	scr.typeLine("resume " + leader)
	scr.waitScreen(leader+" back as a follower", func(screen string) bool {
		return !strings.Contains(screen, "⏸ PAUSED") && strings.Count(screen, "★ LEADER") == 1 &&
			strings.Count(screen, "● follower") == 2
	})
	h.waitFor(leader+" to follow "+newLeader, func() (bool, string) {
		st, err := h.Status(leader)
		if err != nil {
			return false, err.Error()
		}
		return st.GetRole() == pb.Role_ROLE_FOLLOWER && st.GetLeaderId() == newLeader, st.String()
	})
	if _, term := h.waitLeader(); term != newTerm {
		t.Fatalf("resuming %s changed the term from %d to %d", leader, newTerm, term)
	}

	// Resized, the dashboard draws again for the new width: the row of
	// cards spans it exactly.
	if w := cardRowWidth(scr.screen()); w != tuiCols {
		t.Fatalf("the cards span %d columns of %d before the resize; screen:\n%s", w, tuiCols, scr.screen())
	}
	const cols, rows = 90, 36
	scr.resize(cols, rows)
	scr.waitScreen(fmt.Sprintf("the cards redrawn %d columns wide", cols), func(screen string) bool {
		return cardRowWidth(screen) == cols && headerLeader.MatchString(screen)
	})

	scr.typeLine("quit")
	if code := scr.waitExit(); code != 0 {
		t.Fatalf("dashboard exited %d after quit, want 0; screen:\n%s", code, scr.screen())
	}
}

// cardRowWidth is the width, in cells, of the first line of screen that
// holds the cards' top borders; 0 if there is none.
func cardRowWidth(screen string) int {
	for line := range strings.Lines(screen) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "╭") && strings.HasSuffix(line, "╮") {
			return utf8.RuneCountInString(line)
		}
	}
	return 0
}
