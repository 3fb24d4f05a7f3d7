package raft

import "fmt"

// EventKind says what happened on a node.
type EventKind uint8

// The event kinds; the values match the wire enum.
const (
	// EventRoleChanged: the node took Event.Role; Reason says why.
	EventRoleChanged EventKind = iota + 1
	// EventTermChanged: the node moved to Event.Term.
	EventTermChanged
	// EventVoteRequested: the node asked its peers for (pre-)votes in Term.
	EventVoteRequested
	// EventVoteGranted: the node granted its (pre-)vote to Peer.
	EventVoteGranted
	// EventVoteDenied: the node refused Peer its (pre-)vote; Reason says why.
	EventVoteDenied
	// EventLeaderChanged: the node learned of a new leader, or lost it.
	EventLeaderChanged
	// EventLostEntries: on a leader, Peer's log ends below Index, which it
	// had acknowledged: its data is gone (a wiped data directory).
	EventLostEntries
	// EventConfProposed: on a leader, a configuration change (Reason) was
	// appended at Index; Members is the configuration it makes.
	EventConfProposed
	// EventConfApplied: the configuration Members, from the entry at Index
	// (or a snapshot at Index), is in effect on this node.
	EventConfApplied
	// EventConfCommitted: the configuration entry at Index is committed.
	EventConfCommitted
	// EventConfRolledBack: the configuration entry at Index was truncated;
	// Members is in effect again.
	EventConfRolledBack
	// EventTransferStarted: on a leader, leadership transfer to Peer began.
	EventTransferStarted
	// EventTransferAborted: the transfer to Peer ended without a new
	// leader; Reason says why. The leader takes proposals again.
	EventTransferAborted
	// EventTimeoutNow: the leader Peer asked this node to campaign at once.
	EventTimeoutNow
)

func (k EventKind) String() string {
	switch k {
	case EventRoleChanged:
		return "role-changed"
	case EventTermChanged:
		return "term-changed"
	case EventVoteRequested:
		return "vote-requested"
	case EventVoteGranted:
		return "vote-granted"
	case EventVoteDenied:
		return "vote-denied"
	case EventLeaderChanged:
		return "leader-changed"
	case EventLostEntries:
		return "lost-entries"
	case EventConfProposed:
		return "conf-proposed"
	case EventConfApplied:
		return "conf-applied"
	case EventConfCommitted:
		return "conf-committed"
	case EventConfRolledBack:
		return "conf-rolled-back"
	case EventTransferStarted:
		return "transfer-started"
	case EventTransferAborted:
		return "transfer-aborted"
	case EventTimeoutNow:
		return "timeout-now"
	default:
		return fmt.Sprintf("EventKind(%d)", uint8(k))
	}
}

// Event is one thing that happened on a node, for people watching it. Events
// never drive the algorithm; dropping them is safe.
type Event struct {
	Kind EventKind // what happened
	// Term is the node's term after the event; for Vote* events, the term
	// of the (pre-)vote, which for a pre-vote is one above the candidate's
	// current term.
	Term   uint64
	Role   Role   // the node's role after the event
	Leader string // LeaderChanged: the new leader ("" = none known)
	Peer   string // VoteGranted/VoteDenied: the candidate
	// Reason says why: VoteDenied: why the vote was refused; RoleChanged:
	// what made the node change role.
	Reason  string
	PreVote bool // Vote* events: a pre-vote round
	// Index: LostEntries: what Peer had acknowledged; Conf*: the
	// configuration entry's index.
	Index   uint64
	Members Membership // Conf*: the configuration
}

func (e Event) String() string {
	s := fmt.Sprintf("%s term=%d role=%s", e.Kind, e.Term, e.Role)
	switch e.Kind {
	case EventLeaderChanged:
		s += fmt.Sprintf(" leader=%q", e.Leader)
	case EventVoteGranted, EventVoteDenied:
		s += " peer=" + e.Peer
	case EventLostEntries:
		s += fmt.Sprintf(" peer=%s index=%d", e.Peer, e.Index)
	case EventConfProposed, EventConfApplied, EventConfCommitted, EventConfRolledBack:
		s += fmt.Sprintf(" index=%d members=%q", e.Index, e.Members.String())
	case EventTransferStarted, EventTransferAborted, EventTimeoutNow:
		s += " peer=" + e.Peer
	}
	if e.PreVote {
		s += " prevote"
	}
	if e.Reason != "" {
		s += fmt.Sprintf(" reason=%q", e.Reason)
	}
	return s
}
