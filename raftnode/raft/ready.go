package raft

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
	// Once they are durable, the caller reports it with StableTo(Mark).
	Entries []Entry
	// Mark names the last of Entries and the log's epoch as they were
	// handed out; zero without Entries.
	Mark LogMark
	// Snapshot, when not empty, replaces the state machine and the whole
	// log (thesis §5.3): the runtime has the snapshot's data, received
	// from the leader and durable, and installs it before Entries (which
	// follow it): the log restarts after Snapshot.Index, and the state
	// machine is the snapshot's. Mark covers it, so StableTo reports it
	// durable. It goes before CommittedEntries, of which there are none
	// until it is durable.
	Snapshot SnapshotMeta
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

// LogMark names a batch of entries handed out in Ready.Entries, for the
// report that they are durable (StableTo).
type LogMark struct {
	Index uint64 // the batch's last entry
	Term  uint64 // its term
	// Epoch counts the truncations of handed-out entries before the batch
	// was handed out; a report from an earlier epoch than the log's is
	// stale and ignored.
	Epoch uint64
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
	return len(r.msgs) > 0 || len(r.events) > 0 || r.hardState() != r.persisted || r.ownDurable ||
		r.log.toHandOut() > 0 || (!r.log.snap.IsEmpty() && !r.log.snapHanded) || r.log.applied < r.applicable() || r.reads.canStart() ||
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
	if r.ownDurable && r.role == RoleLeader && r.maybeCommit() {
		// The leader's own copies made durable since count from now on:
		// with the followers' acknowledgements they may make a quorum.
		r.bcastCommit()
	}
	r.ownDurable = false
	if r.appended && r.role == RoleLeader {
		r.bcastAppend()
	}
	r.appended = false
	r.flushReadRound()
	hs := r.hardState()
	entries, mark := r.log.nextUnstable()
	snap := r.log.nextSnapshot()
	rd := Ready{
		Entries:      entries,
		Mark:         mark,
		Snapshot:     snap,
		Messages:     slices.Clone(r.msgs),
		ReadStates:   slices.Clone(r.readStates),
		DroppedReads: slices.Clone(r.droppedReads),
		Events:       slices.Clone(r.events),
	}
	if hs != r.persisted {
		rd.HardState = hs
		rd.MustSync = hs.Term != r.persisted.Term || hs.Vote != r.persisted.Vote
	}
	rd.MustSync = rd.MustSync || len(rd.Entries) > 0 || !snap.IsEmpty()
	var applied uint64
	if !snap.IsEmpty() {
		applied = snap.Index // the state machine is the snapshot's from now on
	} else if to := r.applicable(); r.log.applied < to {
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
// to m are durable, as are the entries handed out before them, and reports
// whether it took the report. It may be called at any time, also between
// Ready and Advance. A stale report (doc.go: a truncation replaced entries
// handed out before it) is ignored: a later one covers its entries. When
// it takes the report, the core reads those entries from LogStorage from its
// next call on; on a leader, the next Ready counts them towards a commit.
func (r *Raft) StableTo(m LogMark) bool {
	if !r.log.stableTo(m) {
		return false
	}
	r.ownDurable = r.ownDurable || r.role == RoleLeader
	return true
}

// MayLeaveEarly reports whether m, handed out in a Ready, may be sent before
// that Ready's writes are durable, when durableTerm is the term already
// durable: only a leader's MsgApp of at most that term may (doc.go, the
// Ready contract, step 2). Everything else waits for the write. The runtime
// and the simulator both decide with it.
func MayLeaveEarly(m Message, durableTerm uint64) bool {
	return m.Type == MsgApp && m.Term <= durableTerm
}
