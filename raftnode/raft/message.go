package raft

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors returned by New and Step, wrapped with detail; match them
// with errors.Is.
var (
	// ErrInvalidConfig: New was given a configuration it cannot run with.
	ErrInvalidConfig = errors.New("invalid raft config")
	// ErrWrongRecipient: a message was addressed to another node.
	ErrWrongRecipient = errors.New("wrong recipient")
	// ErrInvalidMessage: a message that no correct peer can send.
	ErrInvalidMessage = errors.New("invalid raft message")
)

// MsgType is the kind of a Raft message.
type MsgType uint8

// The message types. There are no local message types: time enters through
// Tick, and everything Step sees came from a peer.
const (
	// MsgPreVote asks "would you vote for me in Term?" without anyone
	// changing term or vote (Raft thesis §9.6).
	MsgPreVote MsgType = iota + 1
	// MsgPreVoteResp answers MsgPreVote.
	MsgPreVoteResp
	// MsgVote is RequestVote (Raft paper §5.2).
	MsgVote
	// MsgVoteResp answers MsgVote.
	MsgVoteResp
	// MsgApp is AppendEntries; with no entries it is the leader's heartbeat.
	MsgApp
	// MsgAppResp answers MsgApp.
	MsgAppResp
	// MsgSnap is InstallSnapshot (thesis §5.3). A leader hands it out,
	// naming its newest snapshot, when a follower needs entries its log no
	// longer holds; the runtime streams the snapshot's data and, on the
	// follower, steps the MsgSnap once the whole snapshot is durable. The
	// follower answers with a MsgAppResp.
	MsgSnap
	// MsgTimeoutNow tells the target of a leadership transfer, whose log
	// matches the leader's, to campaign at once (thesis §3.10).
	MsgTimeoutNow
)

func (t MsgType) String() string {
	switch t {
	case MsgPreVote:
		return "MsgPreVote"
	case MsgPreVoteResp:
		return "MsgPreVoteResp"
	case MsgVote:
		return "MsgVote"
	case MsgVoteResp:
		return "MsgVoteResp"
	case MsgApp:
		return "MsgApp"
	case MsgAppResp:
		return "MsgAppResp"
	case MsgSnap:
		return "MsgSnap"
	case MsgTimeoutNow:
		return "MsgTimeoutNow"
	default:
		return fmt.Sprintf("MsgType(%d)", uint8(t))
	}
}

// EntryType says what a log entry carries.
type EntryType uint8

// The entry types; the values match the wire enum.
const (
	// EntryNormal carries a client command in Data.
	EntryNormal EntryType = iota
	// EntryNoop is appended by a new leader to commit entries of earlier
	// terms (Raft paper §8).
	EntryNoop
	// EntryConfChange carries a whole configuration (EncodeMembership),
	// in effect on each node from when it is in its log (thesis §4.1).
	EntryConfChange
)

// Entry is one log entry.
type Entry struct {
	Term  uint64    // term of the leader that created the entry
	Index uint64    // position in the log, from 1
	Type  EntryType // what Data means
	Data  []byte    // the encoded command; empty for EntryNoop
}

// Message is one Raft message between peers. Which fields matter depends on
// Type; unused fields are zero.
type Message struct {
	Type MsgType // what this message is
	From string  // sender id
	To   string  // receiver id
	Term uint64  // sender's term; for MsgPreVote the term the sender would campaign in
	// LogTerm: (Pre)Vote: candidate's last log term; App: term of the entry
	// at Index.
	LogTerm uint64
	// Index: (Pre)Vote: candidate's last log index; App: index of the entry
	// just before Entries; AppResp: when accepted, the last index the
	// request covered (its Index plus its entries), which now matches the
	// leader's log; when rejected, the refused Index.
	Index   uint64
	Entries []Entry // App: entries to append after Index
	// Commit: App: the leader's commit index; the follower commits no
	// further than the last index the message covers.
	Commit uint64
	Reject bool // responses: the request was refused
	// Reason says why a vote response refused, in words for people watching.
	Reason string
	// ConflictTerm and ConflictIndex help a leader skip back on a rejected
	// App: the follower's term at Index (0 if it has no entry there) and the
	// first index of that term (or its last index + 1).
	ConflictTerm, ConflictIndex uint64
	// ReadCtx: App: when not 0, the heartbeat round that confirms the
	// leader's pending ReadIndex requests; AppResp: echoes it.
	ReadCtx uint64
	// Snapshot: Snap: the snapshot the leader sends.
	Snapshot SnapshotMeta
	// Transfer: Vote: the election began with MsgTimeoutNow, so a voter's
	// leader lease does not hold it back (thesis §3.10).
	Transfer bool
	// Trace is the runtime's number for a message sent in slow motion, so
	// that watchers can pair its sending and arrival; the core neither sets
	// nor reads it.
	Trace uint64
}

// SnapshotMeta names a snapshot of the state machine: the last entry it
// covers, and that entry's term. The zero value means no snapshot.
type SnapshotMeta struct {
	Index uint64
	Term  uint64
	// Membership is the configuration as of Index; nil when the snapshot
	// does not say (the configuration known before is kept).
	Membership Membership
}

// IsEmpty reports whether s names no snapshot.
func (s SnapshotMeta) IsEmpty() bool { return s.Index == 0 }

func (m Message) String() string {
	s := fmt.Sprintf("%s %s->%s term=%d logterm=%d index=%d", m.Type, m.From, m.To, m.Term, m.LogTerm, m.Index)
	if len(m.Entries) > 0 {
		s += fmt.Sprintf(" entries=%d", len(m.Entries))
	}
	if m.Commit > 0 {
		s += fmt.Sprintf(" commit=%d", m.Commit)
	}
	if m.Reject {
		s += " reject"
	}
	if m.ConflictIndex > 0 {
		s += fmt.Sprintf(" conflict=%d/%d", m.ConflictTerm, m.ConflictIndex)
	}
	if m.ReadCtx > 0 {
		s += fmt.Sprintf(" readctx=%d", m.ReadCtx)
	}
	if !m.Snapshot.IsEmpty() {
		s += fmt.Sprintf(" snapshot=%d/%d", m.Snapshot.Index, m.Snapshot.Term)
	}
	if m.Transfer {
		s += " transfer"
	}
	if m.Reason != "" {
		s += fmt.Sprintf(" reason=%q", m.Reason)
	}
	return s
}

// isResponse reports whether t answers a request.
func (t MsgType) isResponse() bool {
	return t == MsgPreVoteResp || t == MsgVoteResp || t == MsgAppResp
}

// checkShape refuses messages whose fields contradict each other, whoever
// they came from. Membership and recipient are checked by Step.
func (m *Message) checkShape() error {
	if m.Type < MsgPreVote || m.Type > MsgTimeoutNow {
		return fmt.Errorf("%w: unknown type %d", ErrInvalidMessage, uint8(m.Type))
	}
	// Every term on the wire is at least 1, except a refused pre-vote from a
	// node that has never seen a term: it answers with its own term, 0.
	if m.Term == 0 && (m.Type != MsgPreVoteResp || !m.Reject) {
		return fmt.Errorf("%w: %s with term 0", ErrInvalidMessage, m.Type)
	}
	if m.Type != MsgApp && len(m.Entries) > 0 {
		return fmt.Errorf("%w: %s with entries", ErrInvalidMessage, m.Type)
	}
	if m.Type != MsgApp && m.Type != MsgAppResp && m.ReadCtx != 0 {
		return fmt.Errorf("%w: %s with a read round", ErrInvalidMessage, m.Type)
	}
	if m.Transfer && m.Type != MsgVote {
		return fmt.Errorf("%w: %s marked as a transfer", ErrInvalidMessage, m.Type)
	}
	if m.Type == MsgTimeoutNow {
		return nil
	}
	if (m.Type == MsgSnap) == m.Snapshot.IsEmpty() || (m.Snapshot.Index == 0) != (m.Snapshot.Term == 0) {
		return fmt.Errorf("%w: %s with snapshot %d/%d", ErrInvalidMessage, m.Type, m.Snapshot.Index, m.Snapshot.Term)
	}
	if m.Type == MsgSnap {
		// A snapshot holds committed entries, which are of the leader's
		// term or earlier.
		if m.Snapshot.Term > m.Term {
			return fmt.Errorf("%w: %s in term %d of a snapshot in term %d", ErrInvalidMessage, m.Type, m.Term, m.Snapshot.Term)
		}
		return nil
	}
	if m.Type.isResponse() {
		return nil
	}
	// Index 0 is the empty log, whose term is 0; every real entry has a
	// term of at least 1.
	if (m.Index == 0) != (m.LogTerm == 0) {
		return fmt.Errorf("%w: %s with index %d but log term %d", ErrInvalidMessage, m.Type, m.Index, m.LogTerm)
	}
	switch m.Type {
	case MsgPreVote, MsgVote:
		// A candidate's entries all predate the term it campaigns in.
		if m.LogTerm >= m.Term {
			return fmt.Errorf("%w: %s for term %d with last log term %d", ErrInvalidMessage, m.Type, m.Term, m.LogTerm)
		}
	case MsgApp:
		return m.checkEntries()
	}
	return nil
}

// checkEntries checks that an App's entries follow Index without gaps, in
// terms that never go back and never pass the leader's term.
func (m *Message) checkEntries() error {
	if m.LogTerm > m.Term {
		return fmt.Errorf("%w: %s in term %d with log term %d", ErrInvalidMessage, m.Type, m.Term, m.LogTerm)
	}
	if uint64(len(m.Entries)) > math.MaxUint64-m.Index {
		return fmt.Errorf("%w: %s entries overflow the index", ErrInvalidMessage, m.Type)
	}
	prev := m.LogTerm
	for i, e := range m.Entries {
		if e.Index != m.Index+uint64(i)+1 {
			return fmt.Errorf("%w: %s entry %d has index %d, want %d", ErrInvalidMessage, m.Type, i, e.Index, m.Index+uint64(i)+1)
		}
		if e.Term < prev || e.Term > m.Term || e.Term == 0 {
			return fmt.Errorf("%w: %s entry %d has term %d after %d in term %d", ErrInvalidMessage, m.Type, e.Index, e.Term, prev, m.Term)
		}
		if e.Type > EntryConfChange {
			return fmt.Errorf("%w: %s entry %d has unknown type %d", ErrInvalidMessage, m.Type, e.Index, uint8(e.Type))
		}
		prev = e.Term
	}
	return nil
}

// HardState is what Raft must keep on stable storage (Raft paper Figure 2:
// currentTerm, votedFor), plus the commit index as a hint for restarts.
type HardState struct {
	Term   uint64 // current term
	Vote   string // who this node voted for in Term; "" for nobody
	Commit uint64 // highest log index known to be committed
}

// IsEmpty reports whether h is the zero hard state.
func (h HardState) IsEmpty() bool {
	return h == HardState{}
}
