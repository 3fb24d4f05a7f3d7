package raftnode

import "slices"

// Ready is the work a core hands its caller; doc.go gives the contract.
// Entries share their Data with the core; the caller must not modify it.
type Ready struct {
	// HardState is the hard state to persist; empty when unchanged since
	// the last Advance.
	HardState HardState
	// Entries are new log entries to persist, each handed out once. If
	// Entries[0].Index is not past the log's last index as persisted so
	// far, the entries from there on are replaced: truncate, then append.
	// Once they are durable, the caller reports it with StableTo.
	Entries []Entry
	// MustSync says the term, vote or log changed: persist and fsync
	// HardState and Entries before sending Messages. When false, a
	// non-empty HardState differs only in Commit, which may be written
	// lazily.
	MustSync bool
	// Messages are to send once this Ready's (and every earlier Ready's)
	// entries and hard state are durable, except a MsgApp whose Term is at
	// most the durable term, which may go at once (doc.go, step 2).
	Messages []Message
	// CommittedEntries are committed entries to apply, in order; they are
	// durable on this node already. Each is handed out once.
	CommittedEntries []Entry
	ReadStates       []ReadState // reads that became safe, to answer once applied
	DroppedReads     []uint64    // ctxs of reads lost with leadership, to fail
	Events           []Event     // what happened since the last Ready, in order
}

// handedOut remembers what Ready returned, so Advance drops exactly that.
type handedOut struct {
	// prefixes of Raft.msgs, events, readStates and droppedReads
	msgs, events, readStates, droppedReads int
	hardState                              HardState // the hard state as of the Ready
	applied                                uint64    // last index of CommittedEntries; 0 for none
	pending                                bool      // a Ready was returned and not yet advanced
}

// hardState is the current hard state.
func (r *Raft) hardState() HardState {
	return HardState{Term: r.term, Vote: r.vote, Commit: r.commit}
}

// HasReady reports whether Ready has anything for the caller to do.
func (r *Raft) HasReady() bool {
	return len(r.msgs) > 0 || len(r.events) > 0 || r.hardState() != r.persisted ||
		r.log.toHandOut() > 0 || r.log.applied < r.applicable() || r.reads.canStart() ||
		len(r.readStates) > 0 || len(r.droppedReads) > 0
}

// applicable is the last index Ready may hand out to apply: committed,
// and durable here. A node may learn that entries are committed before its
// own copies are durable (a leader from two followers, a follower from its
// leader); the state machine never runs ahead of its own log.
func (r *Raft) applicable() uint64 {
	return min(r.commit, r.log.stableIndex())
}

// Ready returns the work pending since the last Advance, as copies (the
// entries' Data is shared). Entries proposed since the last Ready go to
// the followers here, in as few MsgApps as fit, and reads requested since
// the last round start a new one, so that all of them share its
// heartbeats. Call Advance once the work is done.
func (r *Raft) Ready() Ready {
	if r.appended && r.role == RoleLeader {
		r.bcastAppend()
	}
	r.appended = false
	r.flushReadRound()
	hs := r.hardState()
	rd := Ready{
		Entries:      r.log.nextUnstable(),
		Messages:     slices.Clone(r.msgs),
		ReadStates:   slices.Clone(r.readStates),
		DroppedReads: slices.Clone(r.droppedReads),
		Events:       slices.Clone(r.events),
	}
	if hs != r.persisted {
		rd.HardState = hs
		rd.MustSync = hs.Term != r.persisted.Term || hs.Vote != r.persisted.Vote
	}
	rd.MustSync = rd.MustSync || len(rd.Entries) > 0
	var applied uint64
	if to := r.applicable(); r.log.applied < to {
		// At most MaxMsgBytes per Ready, so a long backlog is applied in
		// slices; the rest comes with the next Ready.
		if ents, ok := r.log.slice(r.log.applied+1, to+1, r.maxMsgBytes); ok && len(ents) > 0 {
			rd.CommittedEntries = slices.Clone(ents)
			applied = ents[len(ents)-1].Index
		}
	}
	r.handed = handedOut{
		msgs:         len(r.msgs),
		events:       len(r.events),
		readStates:   len(r.readStates),
		droppedReads: len(r.droppedReads),
		hardState:    hs,
		applied:      applied,
		pending:      true,
	}
	return rd
}

// Advance tells the core that the caller has taken care of the last Ready:
// its messages sent or queued behind the persisting, its committed entries
// applied, its reads and events handled. The persisting may still be under
// way; StableTo reports its end. Work that arose after that Ready stays
// for the next one.
func (r *Raft) Advance() {
	if !r.handed.pending {
		return
	}
	h := r.handed
	r.msgs = append(r.msgs[:0], r.msgs[h.msgs:]...)
	r.events = append(r.events[:0], r.events[h.events:]...)
	r.readStates = append(r.readStates[:0], r.readStates[h.readStates:]...)
	r.droppedReads = append(r.droppedReads[:0], r.droppedReads[h.droppedReads:]...)
	r.persisted = h.hardState
	r.log.applied = max(r.log.applied, h.applied)
	r.handed = handedOut{}
}

// StableTo tells the core that the entries handed out in Ready.Entries up
// to index, whose entry has term term, are durable, as are the entries
// handed out before them. It may be called at any time, also between Ready
// and Advance. A report about an entry that a conflicting append replaced
// since is ignored: the replacement is reported in its turn.
func (r *Raft) StableTo(index, term uint64) {
	if !r.log.stableTo(index, term) {
		return
	}
	// The leader's own entries count from now on: with the followers'
	// acknowledgements they may make a quorum. What that commits goes out
	// with the next Ready.
	if r.role == RoleLeader && r.maybeCommit() {
		r.bcastCommit()
	}
}
