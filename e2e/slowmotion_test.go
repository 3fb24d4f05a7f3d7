package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// TestSlowMotionAndTimers: on three real nodes, `slow 10` slows every
// node's timers and the cluster still commits; `timeout` fires a chosen
// node's election timer and `hold` keeps another out of the race, so the
// chosen node wins; a leader has no timer to fire.
func TestSlowMotionAndTimers(t *testing.T) {
	h := StartCluster(t, 3)
	leader, _ := h.waitLeader()
	if res := h.Ctl("slow", "10"); res.code != 0 || strings.Count(res.stdout, "slow ×10") != 3 {
		t.Fatalf("slow 10: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, id := range h.ids {
		st := h.mustStatus(id)
		if st.GetSlowFactor() != 10 || st.GetHeartbeatMs() != 10*heartbeat.Milliseconds() || st.GetBaseElectionTimeoutMs() != 10*electionTimeout.Milliseconds() {
			t.Errorf("%s after slow 10: factor %d, heartbeat %d ms, election timeout %d ms", id, st.GetSlowFactor(), st.GetHeartbeatMs(), st.GetBaseElectionTimeoutMs())
		}
	}
	// Messages in flight: each end reports a message with the sender's
	// trace number, and the dashboard draws it on its lane.
	paired := traceMessages(t, h, leader, h.others(leader)[0])
	tm := startDashboard(t, h)
	tm.waitText("messages in flight (slow ×10)")
	tm.waitScreen("a heartbeat on its lane", func(s string) bool { return strings.Contains(s, "♡ heartbeat") && strings.Contains(s, "▶") })
	paired(pb.Traffic_HEARTBEAT)
	if res := h.Ctl("--timeout", "20s", "put", "slow", "motion"); res.code != 0 {
		t.Fatalf("put in slow motion: %d %s", res.code, res.stderr)
	}
	paired(pb.Traffic_APPEND)
	if now, _ := h.waitLeader(); now != leader {
		t.Fatalf("leader changed from %s to %s in slow motion", leader, now)
	}
	if res := h.Ctl("slow", "1"); res.code != 0 {
		t.Fatalf("slow 1: %d %s", res.code, res.stderr)
	}
	if st := h.mustStatus(leader); st.GetSlowFactor() != 1 || st.GetHeartbeatMs() != heartbeat.Milliseconds() {
		t.Fatalf("after slow 1: %v", st)
	}

	// The leader has no election timer.
	if res := h.Ctl("timeout", leader); res.code != 1 || !strings.Contains(res.stderr, "leader has no election timer") {
		t.Errorf("timeout %s (the leader): exit %d, stderr %q", leader, res.code, res.stderr)
	}

	// Choose the next leader: pause this one, hold one follower's timer,
	// fire the other's.
	followers := h.others(leader)
	chosen, held := followers[0], followers[1]
	for _, args := range [][]string{{"hold", held}, {"pause", leader}, {"timeout", chosen}} {
		if res := h.Ctl(args...); res.code != 0 {
			t.Fatalf("%s: %d %s", strings.Join(args, " "), res.code, res.stderr)
		}
	}
	if st := h.mustStatus(held); !st.GetTimerHeld() {
		t.Fatalf("%s does not report its timer held", held)
	}
	if got, _ := h.waitLeader(leader); got != chosen {
		t.Fatalf("%s leads, want %s whose timer was fired (%s held)", got, chosen, held)
	}
	for _, args := range [][]string{{"release", held}, {"resume", leader}} {
		if res := h.Ctl(args...); res.code != 0 {
			t.Fatalf("%s: %d %s", strings.Join(args, " "), res.code, res.stderr)
		}
	}
	h.resumeToFollow(leader, chosen)
	if res := h.Ctl("put", "after", fmt.Sprint(chosen)); res.code != 0 {
		t.Fatalf("put under %s: %d %s", chosen, res.code, res.stderr)
	}
}

// traceMessages watches from and to until the test ends, and returns a
// check that waits for a message of kind that from reported sent to to
// and to reported received, with the same trace number.
func traceMessages(t *testing.T, h *Harness, from, to string) func(kind pb.Traffic_Kind) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]map[uint64]pb.Traffic_Kind{from: {}, to: {}} // node → trace number → kind
	watchEach(t, h, []string{from, to}, time.Second, func(id string, ev *pb.WatchEvent) {
		if ev.GetKind() != pb.WatchEvent_MESSAGE {
			return
		}
		m := ev.GetTraffic()[0]
		if m.GetFrom() == from && m.GetTo() == to && m.GetSent() == (id == from) {
			mu.Lock()
			seen[id][m.GetId()] = m.GetKind()
			mu.Unlock()
		}
	})
	return func(kind pb.Traffic_Kind) {
		t.Helper()
		h.waitFor(fmt.Sprintf("%s sent to %s and received, with one trace number", kind, to), func() (bool, string) {
			mu.Lock()
			defer mu.Unlock()
			for id, k := range seen[from] {
				if k == kind && seen[to][id] == kind {
					return true, ""
				}
			}
			return false, fmt.Sprintf("sent %v, received %v", seen[from], seen[to])
		})
	}
}
