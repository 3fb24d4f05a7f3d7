package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDashboardShowsStoppedLeaderAsSilent stops the leader's process
// (SIGSTOP: its connections stay open, it just says nothing) under the
// real dashboard in a pseudo-terminal. Within about an election timeout
// plus a status period its card reads silent, with its role as history;
// the header counts it neither up nor leader and names the new leader; the
// `status` command asks afresh and says the stopped node did not answer.
// Continued (SIGCONT), it is heard again and follows the new leader.
func TestDashboardShowsStoppedLeaderAsSilent(t *testing.T) {
	skipIfShort(t)
	h := StartCluster(t, 3)
	leader, term := h.waitLeader()
	scr := startDashboard(t, h)
	scr.waitScreen("the leader in the header", func(screen string) bool {
		m := headerLeader.FindStringSubmatch(screen)
		return m != nil && m[1] == leader && strings.Contains(screen, "3 nodes: 3 up")
	})

	p := h.procs[leader].cmd.Process
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP %s: %v", leader, err)
	}
	continued := false
	cont := func() {
		if !continued {
			continued = true
			if err := p.Signal(syscall.SIGCONT); err != nil {
				t.Errorf("SIGCONT %s: %v", leader, err)
			}
		}
	}
	t.Cleanup(cont) // before the harness stops the nodes
	stopped := time.Now()

	silentCard := regexp.MustCompile(regexp.QuoteMeta(leader) + ` ✖ silent (\d+\.\d)s`)
	screen := scr.waitScreen(leader+"'s card silent", func(screen string) bool {
		return silentCard.MatchString(screen)
	})
	t.Logf("%s's card read silent %s after SIGSTOP (election timeout %s, status every 100ms): %s",
		leader, time.Since(stopped).Round(time.Millisecond), electionTimeout, silentCard.FindString(screen))
	if want := fmt.Sprintf("was leader, term %d", term); !strings.Contains(screen, want) {
		t.Errorf("the silent card lacks %q; screen:\n%s", want, screen)
	}

	screen = scr.waitScreen("a new leader in the header, the old one counted silent", func(screen string) bool {
		m := headerLeader.FindStringSubmatch(screen)
		return m != nil && m[1] != leader && strings.Contains(screen, "3 nodes: 2 up, 1 silent") &&
			strings.Count(screen, "★ LEADER") == 1
	})
	newLeader := headerLeader.FindStringSubmatch(screen)[1]
	if got, _ := h.waitLeader(leader); got != newLeader {
		t.Errorf("the dashboard shows leader %s, the nodes report %s", newLeader, got)
	}

	scr.typeLine("status")
	scr.waitScreen("status saying "+leader+" did not answer", func(screen string) bool {
		return strings.Contains(screen, "no answer from "+leader) &&
			strings.Contains(screen, leader+" no answer within 1s; last heard")
	})

	cont()
	scr.waitScreen(leader+" heard again, following "+newLeader, func(screen string) bool {
		return strings.Contains(screen, leader+" heard again after") && strings.Contains(screen, "3 nodes: 3 up") &&
			strings.Count(screen, "★ LEADER") == 1 && !silentCard.MatchString(screen)
	})
}
