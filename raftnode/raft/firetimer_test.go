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
