package raft

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Role is the part a node plays in its current term.
type Role uint8

// The roles; the values match the wire enum.
const (
	// RoleFollower answers leaders and candidates.
	RoleFollower Role = iota
	// RolePreCandidate asks for pre-votes without raising its term (thesis §9.6).
	RolePreCandidate
	// RoleCandidate has raised its term and asks for votes (paper §5.2).
	RoleCandidate
	// RoleLeader takes proposals and replicates them.
	RoleLeader
)

func (r Role) String() string {
	switch r {
	case RoleFollower:
		return "follower"
	case RolePreCandidate:
		return "precandidate"
	case RoleCandidate:
		return "candidate"
	case RoleLeader:
		return "leader"
	default:
		return fmt.Sprintf("Role(%d)", uint8(r))
	}
}

// Progress is what a leader knows about one follower.
type Progress struct {
	Match        uint64 // highest index known to be replicated on the follower
	Next         uint64 // index of the next entry to send
	RecentActive bool   // heard from within the current check-quorum round
	// State is "probe" while the leader looks for where the follower's
	// log matches its own, one MsgApp at a time, and "replicate" while it
	// streams entries.
	State    string
	Inflight int // MsgApps streamed and not yet acknowledged
}

// Status is a snapshot of a node's state, for people watching. It shares
// nothing with the node.
type Status struct {
	ID     string // this node
	Role   Role   // current role
	Term   uint64 // current term
	Vote   string // vote in Term, "" for none
	Leader string // known leader of Term, "" for none

	Commit    uint64 // highest index known committed
	Applied   uint64 // highest index the state machine has applied (as of the last Advance)
	LastIndex uint64 // index of the last log entry
	LastTerm  uint64 // term of the last log entry

	// ElectionElapsed counts ticks since the election timer was last reset;
	// on a leader, since the last check-quorum round.
	ElectionElapsed int
	// RandomizedElectionTimeout is this round's timeout in ticks, in [T, 2T).
	RandomizedElectionTimeout int
	ElectionTicks             int // T from Config
	HeartbeatTicks            int // heartbeat interval from Config
	// Membership is the configuration in effect, ConfigIndex its entry's
	// index (0: the initial one).
	Membership  Membership
	ConfigIndex uint64
	Transferee  string // leader: the target of a transfer under way

	// Progress holds the leader's view of every other member; nil unless
	// leader.
	Progress map[string]Progress
	// VotesGranted and VotesRejected are a (pre-)candidate's tally for this
	// round, sorted, including itself; nil in other roles.
	VotesGranted, VotesRejected []string
}

// Status returns a copy of the node's state.
func (r *Raft) Status() Status {
	s := Status{
		ID:                        r.id,
		Role:                      r.role,
		Term:                      r.term,
		Vote:                      r.vote,
		Leader:                    r.leader,
		Commit:                    r.commit,
		Applied:                   r.log.applied,
		LastIndex:                 r.log.lastIndex(),
		LastTerm:                  r.log.lastTerm(),
		ElectionElapsed:           r.electionElapsed,
		RandomizedElectionTimeout: r.randomizedTimeout,
		ElectionTicks:             r.electionTicks,
		HeartbeatTicks:            r.heartbeatTicks,
		Membership:                slices.Clone(r.confs.current().members),
		ConfigIndex:               r.confs.current().index,
		Transferee:                r.transferee,
	}
	if r.role == RoleLeader {
		s.Progress = make(map[string]Progress, len(r.progress))
		for id, p := range r.progress {
			s.Progress[id] = p.export()
		}
	}
	if r.role == RolePreCandidate || r.role == RoleCandidate {
		for _, id := range slices.Sorted(maps.Keys(r.votes)) {
			if r.votes[id] {
				s.VotesGranted = append(s.VotesGranted, id)
			} else {
				s.VotesRejected = append(s.VotesRejected, id)
			}
		}
	}
	return s
}

// LogTail returns copies of the last n entries of the log, durable or not,
// oldest first; fewer when the log is shorter. Their Data is shared with
// the core and must not be modified.
func (r *Raft) LogTail(n int) []Entry {
	last := r.log.lastIndex()
	if n <= 0 || last == 0 {
		return nil
	}
	lo := max(r.log.firstIndex(), last-min(uint64(n), last)+1)
	ents, _ := r.log.slice(lo, last+1, math.MaxUint64)
	return slices.Clone(ents)
}

// TermRun is a stretch of log entries of one term: from First up to the
// next run's First, or to the last index.
type TermRun struct {
	First uint64 // index of the stretch's first entry
	Term  uint64 // term of every entry in it
}

// LogTermRuns describes the terms of the last n entries of the log as
// runs, oldest first. Terms never decrease along a log, so each run's end
// is found by binary search: a few lookups per run, not one per entry.
func (r *Raft) LogTermRuns(n int) []TermRun {
	last := r.log.lastIndex()
	if n <= 0 || last == 0 {
		return nil
	}
	var runs []TermRun
	for i := max(r.log.firstIndex(), last-min(uint64(n), last)+1); i <= last; {
		t, ok := r.log.term(i)
		if !ok {
			return runs
		}
		runs = append(runs, TermRun{First: i, Term: t})
		// The run ends at the last index in [i, last] whose term is t.
		lo, hi := i, last
		for lo < hi {
			mid := lo + (hi-lo+1)/2
			if mt, ok := r.log.term(mid); ok && mt == t {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		i = lo + 1
	}
	return runs
}
