package raftnode

import "slices"

// Ready is the work a core hands its caller; doc.go gives the contract.
// Entries share their Data with the core; the caller must not modify it.
type Ready struct {
	// HardState is the hard state to persist; empty when unchanged since
	// the last Advance.
	HardState HardState
	// Entries are new log entries to persist BEFORE sending Messages. If
	// Entries[0].Index is not past the durable log's last index, the
	// durable entries from there on are replaced: truncate, then append.
	Entries []Entry
	// MustSync says the term, vote or log changed: persist and fsync
	// HardState and Entries BEFORE sending Messages. When false, a
	// non-empty HardState differs only in Commit, which may be written
	// lazily.
	MustSync bool
	Messages []Message // to send, after persisting
	// CommittedEntries are committed entries to apply, in order, after
	// persisting; each is handed out once.
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
		len(r.log.unstable) > 0 || r.log.applied < r.commit || r.reads.due ||
		len(r.readStates) > 0 || len(r.droppedReads) > 0
}

// Ready returns the work pending since the last Advance, as copies (the
// entries' Data is shared). Reads requested since the last round start a
// new one here, so that all of them share its heartbeats. Call Advance
// once the work is done.
func (r *Raft) Ready() Ready {
	r.flushReadRound()
	hs := r.hardState()
	rd := Ready{
		Entries:      r.log.unstableEntries(),
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
	if r.log.applied < r.commit {
		// At most MaxMsgBytes per Ready, so a long backlog is applied in
		// slices; the rest comes with the next Ready.
		if ents, ok := r.log.slice(r.log.applied+1, r.commit+1, r.maxMsgBytes); ok && len(ents) > 0 {
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

// Advance tells the core that the caller has done everything in the last
// Ready: persisted its entries and hard state, sent its messages, applied
// its committed entries. Work that arose after that Ready stays for the
// next one.
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
	r.log.stableTo()
	r.log.applied = max(r.log.applied, h.applied)
	r.handed = handedOut{}
}
