package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// tmuxScreen runs easykv-tui in a detached tmux session: a real terminal,
// typed into with send-keys and read with capture-pane.
type tmuxScreen struct {
	t       *testing.T // the owning test
	session string     // tmux session name, unique per test
}

// startDashboard opens easykv-tui on h's cluster in a 120×40 tmux terminal
// and ends the session when the test ends.
func startDashboard(t *testing.T, h *Harness) *tmuxScreen {
	t.Helper()
	return startTUI(t, nil, "--cluster", h.cfgPath)
}

// startTUI runs easykv-tui with args in a 120×40 tmux terminal, with env
// ("NAME=value") added to its environment, and ends the session when the
// test ends. Its history goes to the test's temp dir, not the user's.
func startTUI(t *testing.T, env []string, args ...string) *tmuxScreen {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is needed to drive the dashboard in a real terminal (.ci/run installs it): %v", err)
	}
	s := &tmuxScreen{t: t, session: fmt.Sprintf("easykv-e2e-%d", time.Now().UnixNano())}
	env = append([]string{"XDG_STATE_HOME=" + t.TempDir()}, env...)
	// Without CI and NO_COLOR from the test's own environment: termenv
	// draws without colour when CI is set (as it is on CI machines), and
	// the tests decide about colour themselves.
	cmd := fmt.Sprintf("env -u CI -u NO_COLOR %s %s %s", strings.Join(env, " "), bins.tui, strings.Join(args, " "))
	out, err := exec.Command("tmux", "new-session", "-d", "-s", s.session, "-x", "120", "-y", "40", cmd).CombinedOutput()
	if err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "kill-session", "-t", s.session).Run() })
	return s
}

func (s *tmuxScreen) capture() string {
	out, err := exec.Command("tmux", "capture-pane", "-p", "-t", s.session).Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// typeLine types line at the dashboard prompt and presses enter.
func (s *tmuxScreen) typeLine(line string) {
	s.t.Helper()
	if out, err := exec.Command("tmux", "send-keys", "-t", s.session, "-l", line).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
	if out, err := exec.Command("tmux", "send-keys", "-t", s.session, "Enter").CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys: %v: %s", err, out)
	}
}

// waitScreen polls the terminal until cond holds for its text.
func (s *tmuxScreen) waitScreen(what string, cond func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		screen := s.capture()
		if cond(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for the dashboard to show %s; screen:\n%s", what, screen)
		}
		time.Sleep(pollInterval)
	}
}

// alive reports whether the dashboard's tmux session still exists.
func (s *tmuxScreen) alive() bool {
	return exec.Command("tmux", "has-session", "-t", s.session).Run() == nil
}

var headerLeader = regexp.MustCompile(`leader (n\d) \(term (\d+)\)`)

// TestDashboardShowsElectionAndPause drives the real dashboard in tmux
// against three real nodes: it shows the elected leader, a put typed at the
// prompt replicates to every card's log tail and a get reads it back, `pause`
// typed at the prompt pauses the leader and the screen shows the new leader, `resume` brings
// it back as a follower, and `quit` exits.
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

	scr.typeLine("quit")
	deadline := time.Now().Add(waitTimeout)
	for scr.alive() {
		if time.Now().After(deadline) {
			t.Fatalf("dashboard still running after quit; screen:\n%s", scr.capture())
		}
		time.Sleep(pollInterval)
	}
}
