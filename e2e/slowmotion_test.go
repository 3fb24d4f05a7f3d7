package e2e

import (
	"fmt"
	"strings"
	"testing"
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
	if res := h.Ctl("--timeout", "20s", "put", "slow", "motion"); res.code != 0 {
		t.Fatalf("put in slow motion: %d %s", res.code, res.stderr)
	}
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
