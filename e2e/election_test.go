package e2e

import (
	"syscall"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// stableFor is how long a healthy cluster must keep its leader: several
// election timeouts (each drawn from [T, 2T) with T = 500ms).
const stableFor = 2 * time.Second

// TestElectsOneLeader: three nodes elect exactly one leader (Raft §5.2),
// and with heartbeats flowing nobody starts another election.
func TestElectsOneLeader(t *testing.T) {
	h := StartCluster(t, 3)
	leader, term := h.waitLeader()

	// A check over an interval, not a wait: every sample must agree.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(stableFor); time.Now().Before(end); <-tick.C {
		for _, id := range h.ids {
			st := h.mustStatus(id)
			if st.GetTerm() != term || st.GetLeaderId() != leader {
				t.Fatalf("%s: term %d leader %q, want term %d leader %q: the cluster re-elected", id, st.GetTerm(), st.GetLeaderId(), term, leader)
			}
			if wantLeader := id == leader; (st.GetRole() == pb.Role_ROLE_LEADER) != wantLeader {
				t.Fatalf("%s: role %v while %s leads", id, st.GetRole(), leader)
			}
		}
	}
}

// TestPauseLeaderElectsNewOne: pausing the leader (no timers, no Raft
// traffic) makes the others elect a new leader in a higher term; resuming it
// makes it a follower without disturbing that leader, thanks to pre-vote
// and stepping down on a higher term (§5.1, §9.6 of Ongaro's thesis).
func TestPauseLeaderElectsNewOne(t *testing.T) {
	h := StartCluster(t, 3)
	old, oldTerm := h.waitLeader()

	if res := h.Ctl("pause", old); res.code != 0 || res.stdout != "OK\n" {
		t.Fatalf("easykv-ctl pause %s: exit %d, stdout %q, stderr %q; want 0 and OK", old, res.code, res.stdout, res.stderr)
	}
	leader, term := h.waitLeader(old)
	if leader == old || term <= oldTerm {
		t.Fatalf("new leader %s in term %d; want a node other than %s in a term above %d", leader, term, old, oldTerm)
	}
	if st := h.mustStatus(old); !st.GetPaused() {
		t.Errorf("paused %s reports paused=false", old)
	}

	h.resumeToFollow(old, leader)
	st := h.mustStatus(leader)
	if st.GetRole() != pb.Role_ROLE_LEADER || st.GetTerm() != term {
		t.Errorf("after resuming %s: %s is %v in term %d, want leader in term %d (the resumed node disrupted it)", old, leader, st.GetRole(), st.GetTerm(), term)
	}
	if st := h.mustStatus(old); st.GetTerm() != term {
		t.Errorf("resumed %s follows %s in term %d, want %d", old, leader, st.GetTerm(), term)
	}
}

// TestTermAndVoteSurviveRestart: currentTerm and votedFor are durable (Raft
// Figure 2, "persistent state on all servers"): a node killed with SIGKILL
// comes back with at least the term it had and, in that same term, the same
// vote; the cluster then settles on one leader. A follower goes first, then
// the leader.
func TestTermAndVoteSurviveRestart(t *testing.T) {
	h := StartCluster(t, 3)
	leader, _ := h.waitLeader()
	follower := h.others(leader)[0]

	for _, victim := range []string{follower, leader} {
		before := h.mustStatus(victim)
		h.KillNode(victim)
		after := h.RestartNode(victim)
		t.Logf("%s: before kill term %d vote %q; after restart term %d vote %q", victim, before.GetTerm(), before.GetVotedFor(), after.GetTerm(), after.GetVotedFor())
		if after.GetTerm() < before.GetTerm() {
			t.Errorf("%s: term %d after restart, below %d before", victim, after.GetTerm(), before.GetTerm())
		}
		if after.GetTerm() == before.GetTerm() && before.GetVotedFor() != "" && after.GetVotedFor() != before.GetVotedFor() {
			t.Errorf("%s: vote in term %d was %q before the kill and %q after", victim, before.GetTerm(), before.GetVotedFor(), after.GetVotedFor())
		}
		h.waitLeader()
	}
}

// TestSIGTERMCleanExit: SIGTERM and SIGINT stop a node promptly with exit
// status 0, whether it leads or follows.
func TestSIGTERMCleanExit(t *testing.T) {
	h := StartCluster(t, 3)
	leader, _ := h.waitLeader()
	follower := h.others(leader)[0]

	for _, stop := range []struct {
		id  string
		sig syscall.Signal
	}{{leader, syscall.SIGTERM}, {follower, syscall.SIGINT}} {
		if code := h.StopNode(stop.id, stop.sig); code != 0 {
			t.Errorf("%s: exit status %d after %v, want 0", stop.id, code, stop.sig)
		}
	}
}
