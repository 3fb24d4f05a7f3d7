package raft

import (
	"errors"
	"testing"
)

// TestFireElectionTimer: firing a follower's timer starts the same
// campaign as a timeout would (a pre-vote first when PreVote is on);
// a leader has no timer to fire.
func TestFireElectionTimer(t *testing.T) {
	t.Run("follower, pre-vote", func(t *testing.T) {
		r := newTestRaft(t, three, withPreVote)
		if err := r.FireElectionTimer(); err != nil {
			t.Fatal(err)
		}
		if r.role != RolePreCandidate || r.term != 0 {
			t.Fatalf("role %v term %d, want a pre-candidate still in term 0", r.role, r.term)
		}
		if n := len(msgsOfType(drain(r).Messages, MsgPreVote)); n != 2 {
			t.Fatalf("%d pre-vote requests, want 2", n)
		}
	})
	t.Run("follower, no pre-vote", func(t *testing.T) {
		r := newTestRaft(t, three)
		if err := r.FireElectionTimer(); err != nil {
			t.Fatal(err)
		}
		if r.role != RoleCandidate || r.term != 1 {
			t.Fatalf("role %v term %d, want a candidate in term 1", r.role, r.term)
		}
	})
	t.Run("leader", func(t *testing.T) {
		r := newLeader(t, three)
		term := r.term
		if err := r.FireElectionTimer(); !errors.Is(err, ErrLeaderTimer) {
			t.Fatalf("err %v, want ErrLeaderTimer", err)
		}
		if r.role != RoleLeader || r.term != term {
			t.Fatalf("the leader changed: %v term %d", r.role, r.term)
		}
	})
}

// msgsOfType returns the messages of ms of type typ.
func msgsOfType(ms []Message, typ MsgType) []Message {
	var out []Message
	for _, m := range ms {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// TestHoldElectionTimer: a held follower never campaigns by itself, yet
// still grants a pre-vote once its leader has been silent a timeout; it
// campaigns again once released.
func TestHoldElectionTimer(t *testing.T) {
	r := newTestRaft(t, three, withPreVote)
	r.HoldElectionTimer(true)
	for range 100 {
		r.Tick()
	}
	if r.role != RoleFollower || len(drain(r).Messages) != 0 {
		t.Fatalf("a held follower campaigned: %v", r.role)
	}
	step(t, r, Message{Type: MsgPreVote, From: "n2", To: "n1", Term: 1})
	if ms := drain(r).Messages; len(ms) != 1 || ms[0].Type != MsgPreVoteResp || ms[0].Reject {
		t.Fatalf("a held follower answered a pre-vote with %v, want it granted", ms)
	}
	r.HoldElectionTimer(false)
	for i := 0; i < 40 && r.role == RoleFollower; i++ {
		r.Tick()
	}
	if r.role != RolePreCandidate {
		t.Fatalf("released, it is %v after 40 ticks, want a pre-candidate", r.role)
	}
}
