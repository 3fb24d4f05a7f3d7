package raft

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Errors returned by Propose and ReadIndex, wrapped with detail; match them
// with errors.Is.
var (
	// ErrNotLeader: only the leader takes proposals and reads; the message
	// names the leader when one is known.
	ErrNotLeader = errors.New("not the leader")
	// ErrProposalDropped: the leader cannot take the proposal.
	ErrProposalDropped = errors.New("proposal dropped")
)

// Propose appends a normal entry carrying data to the leader's log and
// starts replicating it. It returns where the entry will be if it is
// committed: a different term applied at index means it was lost. The core
// keeps data; the caller must not modify it afterwards.
func (r *Raft) Propose(data []byte) (index, term uint64, err error) {
	if r.role != RoleLeader {
		return 0, 0, r.notLeader()
	}
	if r.transferee != "" {
		// Thesis §3.10: new entries would only delay the target's catch-up.
		return 0, 0, fmt.Errorf("%w: leadership transfer to %s under way", ErrProposalDropped, r.transferee)
	}
	if !r.appendEntry(Entry{Type: EntryNormal, Data: data}) {
		return 0, 0, fmt.Errorf("%w: the log is at the last possible index", ErrProposalDropped)
	}
	return r.log.lastIndex(), r.term, nil
}

// appendEntry appends e, in the leader's term, after the last entry, and
// sends it to every follower that can take it. False when the index space
// is exhausted.
func (r *Raft) appendEntry(e Entry) bool {
	last := r.log.lastIndex()
	if last == math.MaxUint64 {
		return false
	}
	e.Term, e.Index = r.term, last+1
	r.log.append(e)
	if e.Type == EntryConfChange {
		r.logAppended([]Entry{e}) // in effect on the leader at once (§4.1)
	}
	// The entry goes to the followers with the next Ready, in one MsgApp
	// with every other entry appended meanwhile, and may reach them before
	// the caller has made it durable here (doc.go, step 2); our own copy
	// counts towards a commit only from Advance on (maybeCommit).
	r.appended = true
	return true
}

// bcastAppend sends every follower what it can take now.
func (r *Raft) bcastAppend() {
	for _, x := range r.confs.current().members {
		if p := r.progress[x.ID]; p != nil {
			r.sendAppends(x.ID, p)
		}
	}
}

// sendAppends sends id as many MsgApps with entries as its state allows.
func (r *Raft) sendAppends(id string, p *progress) {
	for r.sendAppend(id, p, false) {
	}
}

// sendAppend sends id one MsgApp with the entries from its Next on (paper
// §5.3), at most MaxMsgBytes of them, unless its state holds them back.
// With empty, a MsgApp without entries goes out when none can: it probes
// the follower's log at Next-1. It reports whether a message went out.
func (r *Raft) sendAppend(id string, p *progress, empty bool) bool {
	if p.state == stateProbe && p.probeSent || p.state == stateSnapshot {
		return false
	}
	if p.next < r.log.firstIndex() {
		// The entries it needs are compacted: only a snapshot can help.
		return r.sendSnapshot(id, p)
	}
	var ents []Entry
	if last := r.log.lastIndex(); p.next <= last && !p.paused() {
		var ok bool
		if ents, ok = r.log.slice(p.next, last+1, r.maxMsgBytes); !ok {
			return false
		}
	}
	if len(ents) == 0 && !empty {
		return false
	}
	prevTerm, ok := r.log.term(p.next - 1)
	if !ok {
		return false
	}
	r.sendApp(id, p, Message{Type: MsgApp, Index: p.next - 1, LogTerm: prevTerm, Entries: ents, Commit: r.commit})
	switch {
	case p.state == stateProbe:
		p.probeSent = true
	case len(ents) > 0:
		// Replicate: assume it arrives, and stream on from there.
		last := ents[len(ents)-1].Index
		p.next = last + 1
		p.inflight.add(last)
	}
	return true
}

// sendSnapshot asks the runtime to send id the newest snapshot (thesis
// §5.3), and holds back MsgApps with entries until it is through
// (ReportSnapshot, or the follower's answer). It reports whether a
// message went out.
func (r *Raft) sendSnapshot(id string, p *progress) bool {
	snap := r.log.storage.Snapshot()
	if snap.IsEmpty() || snap.Index+1 < r.log.firstIndex() {
		return false // storage breaks its contract: nothing that can help
	}
	r.send(Message{Type: MsgSnap, To: id, Term: r.term, Snapshot: snap})
	p.becomeSnapshot(snap.Index)
	return true
}

// ReportSnapshot tells a leader how sending the snapshot that a MsgSnap to
// id asked for ended. Either way the follower is probed again: after a
// success from the snapshot on (its answer to the installed snapshot may
// have been lost), after a failure from its match, which sends the newest
// snapshot again. The probe waits for the next heartbeat answer, so a
// failing follower is retried once per heartbeat rather than in a loop.
func (r *Raft) ReportSnapshot(id string, ok bool) {
	p := r.progress[id]
	if r.role != RoleLeader || p == nil || p.state != stateSnapshot {
		return
	}
	next := p.match + 1
	if ok {
		next = max(next, p.pendingSnapshot+1)
	}
	p.becomeProbe(next)
	p.probeSent = true
}

// bcastHeartbeat sends every follower an empty MsgApp that proves
// leadership (paper §5.2) and, when readCtx is not 0, asks it to confirm
// a read round. It checks the follower's log at its Match, which never
// fails in this term, and offers a commit index no higher than Match, so
// a follower never commits an entry it may not have. On the periodic beat
// (periodic), a follower in replicate state that has acknowledged nothing
// since the last one is checked at Next-1 instead: if a MsgApp to it was
// lost, it refuses, and the leader goes back to probing it.
func (r *Raft) bcastHeartbeat(readCtx uint64, periodic bool) {
	last := r.log.lastIndex()
	for _, x := range r.confs.current().members {
		id := x.ID
		p := r.progress[id]
		if p == nil {
			continue
		}
		at := p.match
		if periodic {
			if p.state == stateReplicate && p.match < last && p.match == p.matchAtBeat {
				at = p.next - 1
			}
			p.matchAtBeat = p.match
		}
		r.sendHeartbeat(id, p, at, readCtx)
	}
}

// sendHeartbeat sends id an empty MsgApp at index at; see bcastHeartbeat.
func (r *Raft) sendHeartbeat(id string, p *progress, at, readCtx uint64) {
	t, ok := r.log.term(at)
	if !ok {
		// Compacted here: the empty prefix matches on every log, and the
		// beat still proves leadership and confirms reads.
		at, t = 0, 0
	}
	r.sendApp(id, p, Message{Type: MsgApp, Index: at, LogTerm: t, Commit: min(r.commit, p.match), ReadCtx: readCtx})
}

// sendApp sends id the MsgApp m in our term, noting the commit index it
// lets the follower reach.
func (r *Raft) sendApp(id string, p *progress, m Message) {
	m.To, m.Term = id, r.term
	p.sentCommit = max(p.sentCommit, min(m.Commit, m.Index+uint64(len(m.Entries))))
	r.send(m)
}

// handleAppendAck takes a follower's acceptance of a MsgApp: its log
// matches ours up to m.Index.
func (r *Raft) handleAppendAck(id string, p *progress, m Message) {
	if m.Index >= p.match {
		p.lostSuspect, p.lostRounds = false, 0 // it holds Match
	}
	if m.Index > p.match {
		p.match = m.Index
		p.next = max(p.next, m.Index+1)
		switch {
		case p.state == stateProbe:
			p.becomeReplicate() // found the match point: stream from it
		case p.state == stateSnapshot && p.match+1 >= r.log.firstIndex():
			// It has the snapshot (or caught up past it): the log can
			// serve it from here.
			p.becomeReplicate()
		default:
			p.inflight.freeTo(m.Index)
		}
		if r.maybeCommit() {
			r.bcastCommit()
		}
		if r.role != RoleLeader {
			return // the commit removed this leader (§4.2.2)
		}
		r.sendAppends(id, p)
		r.maybeFinishTransfer(id, p)
		return
	}
	// An answer that teaches nothing new: to a heartbeat, or late. A
	// probe whose MsgApp or answer was lost goes on from here.
	if p.state == stateProbe && p.match < r.log.lastIndex() {
		p.probeSent = false
		r.sendAppend(id, p, true)
	}
}

// handleAppendRejection takes a follower's refusal of a MsgApp at m.Index:
// its log has no entry there with that term (paper §5.3). The follower's
// hints let the leader skip a whole term per round trip instead of one
// entry: if the leader has entries of ConflictTerm, the logs may agree up
// to its last one; otherwise not from ConflictIndex on.
func (r *Raft) handleAppendRejection(id string, p *progress, m Message) {
	// Only a refusal of a beat at Match itself shows lost entries: a
	// delayed refusal of an older probe below Match is merely late, and
	// the refusal a node sends to a MsgApp of an older term carries no
	// hints (ConflictIndex 0) and says nothing about its log. Even one at
	// Match may be late, sent before the follower acknowledged Match
	// (progress.lostSuspect): only one after a whole check-quorum round
	// without an acknowledgement of Match shows the loss.
	if m.Index == p.match && m.ConflictIndex > 0 && m.ConflictTerm == 0 && m.ConflictIndex <= m.Index {
		if p.lostSuspect && p.lostRounds >= 2 {
			r.lostEntries(id, p, m)
			return
		}
		p.lostSuspect = true
		return
	}
	if m.Index <= p.match || p.state == stateSnapshot || (p.state == stateProbe && m.Index != p.next-1) {
		return // late: about a prefix known to match, or an older probe
	}
	next := m.ConflictIndex
	if m.ConflictTerm > 0 {
		if i, ok := r.log.lastIndexOfTerm(m.ConflictTerm, m.Index); ok {
			next = i + 1
		}
	}
	// Never behind what is known to match, and always before the refused
	// index, so every refusal makes progress.
	p.becomeProbe(min(max(next, p.match+1), m.Index))
	r.sendAppend(id, p, true)
}

// lostEntries takes a refusal showing that id's log ends before an index
// it had acknowledged: it lost durable entries, so its data is gone (a
// wiped data directory). Raft cannot be safe with such a member; the
// leader says so once, and sends it the entries again from where its log
// ends, since Match no longer holds.
func (r *Raft) lostEntries(id string, p *progress, m Message) {
	if !p.lostReported {
		p.lostReported = true
		r.emit(Event{Kind: EventLostEntries, Term: r.term, Role: r.role, Peer: id, Index: p.match,
			Reason: fmt.Sprintf("%s's log ends at %d, below %d it had acknowledged: its data is gone", id, m.ConflictIndex-1, p.match)})
	}
	p.match, p.lostSuspect, p.lostRounds = m.ConflictIndex-1, false, 0
	p.sentCommit = min(p.sentCommit, p.match)
	p.becomeProbe(m.ConflictIndex)
	r.sendAppend(id, p, true)
}

// maybeCommit advances the commit index to the highest index stored on a
// quorum of the voters in effect, if that entry is of our term: an entry of an earlier term is
// committed only by one of ours after it (paper §5.4.2, Figure 8). Our own
// log counts only as far as it is durable: the caller may send our MsgApps
// before it persists their entries (doc.go, step 2), and an entry counted
// here and then lost in a crash could be committed with fewer copies than
// a quorum. It reports whether the commit index moved.
func (r *Raft) maybeCommit() bool {
	cur := r.confs.current().members
	matches := r.matchBuf[:0]
	if cur.IsVoter(r.id) {
		// A leader being removed leads on without counting itself
		// (thesis §4.2.2).
		matches = append(matches, r.log.stableIndex())
	}
	for id, p := range r.progress {
		if cur.IsVoter(id) {
			matches = append(matches, p.match)
		}
	}
	r.matchBuf = matches
	if len(matches) < r.quorum() {
		return false
	}
	slices.Sort(matches)
	n := matches[len(matches)-r.quorum()]
	if n <= r.commit || !r.log.matchTerm(n, r.term) {
		return false
	}
	r.advanceCommit(n)
	r.commitInTerm()
	return r.role == RoleLeader
}

// advanceCommit moves the commit index to c and acts on a configuration
// entry that it commits.
func (r *Raft) advanceCommit(c uint64) {
	from := r.commit
	r.commit = c
	r.committedConfig(from)
}

// bcastCommit tells the followers of a new commit index with the entries
// each can take now. One with none to take learns it from its next MsgApp
// or, at the latest, at the next tick (sendOwedCommits): a heartbeat sent
// at once would cost it a message and an answer per commit when writes
// come one at a time, and no client's answer waits for a follower to
// learn the commit.
func (r *Raft) bcastCommit() {
	for _, x := range r.confs.current().members {
		if p := r.progress[x.ID]; p != nil {
			r.sendAppend(x.ID, p, false)
		}
	}
}

// sendOwedCommits sends a heartbeat to every follower that has not been
// told of a commit index its log reaches.
func (r *Raft) sendOwedCommits() {
	for _, x := range r.confs.current().members {
		if p := r.progress[x.ID]; p != nil && min(r.commit, p.match) > p.sentCommit {
			r.sendHeartbeat(x.ID, p, p.match, 0)
		}
	}
}

// handleAppend answers a current-term MsgApp as follower (paper §5.3,
// Figure 2): refuse, with hints, if our log lacks the leader's entry at
// Index with LogTerm; otherwise append the entries we lack, replacing a
// conflicting suffix from the first conflict only, so that a late MsgApp
// never removes entries a newer one added. The answer leaves in the same
// Ready as the entries, which the caller persists first.
func (r *Raft) handleAppend(m Message) {
	if m.Index+1 < r.log.firstIndex() {
		// Compacted here, so below the commit index, and everything up to
		// that matches the leader's log (Leader Completeness): answer
		// from there. What the message carried beyond comes again.
		r.send(Message{Type: MsgAppResp, To: m.From, Term: r.term, Index: r.commit, ReadCtx: m.ReadCtx})
		return
	}
	if t, ok := r.log.term(m.Index); !ok || t != m.LogTerm {
		resp := Message{Type: MsgAppResp, To: m.From, Term: r.term, Index: m.Index, Reject: true, ReadCtx: m.ReadCtx}
		if ok {
			resp.ConflictTerm, resp.ConflictIndex = t, r.log.firstIndexOfTerm(m.Index)
		} else {
			resp.ConflictIndex = r.log.lastIndex() + 1
		}
		r.send(resp)
		return
	}
	// Our log matches the leader's up to Index (Log Matching, §5.3).
	if i := r.log.findConflict(m.Entries); i < len(m.Entries) {
		r.log.truncateAndAppend(m.Entries[i:])
		r.logAppended(m.Entries[i:])
	}
	last := m.Index + uint64(len(m.Entries))
	// Entries past last may still be stale: commit only what this message
	// vouches for.
	if c := min(m.Commit, last); c > r.commit {
		r.advanceCommit(c)
	}
	r.send(Message{Type: MsgAppResp, To: m.From, Term: r.term, Index: last, ReadCtx: m.ReadCtx})
}

// handleSnapshot answers a current-term MsgSnap as follower (thesis §5.3):
// the runtime holds the snapshot's data, durable. A snapshot this node's
// commit index already covers changes nothing; one whose last entry the
// log holds commits up to it and keeps the entries after it; any other
// replaces the whole log and the state machine (Ready.Snapshot). The
// answer leaves once that is durable.
func (r *Raft) handleSnapshot(m Message) {
	s := m.Snapshot
	switch {
	case s.Index <= r.commit:
		r.send(Message{Type: MsgAppResp, To: m.From, Term: r.term, Index: r.commit})
		return
	case r.log.matchTerm(s.Index, s.Term):
		r.advanceCommit(s.Index)
	default:
		r.log.restore(s)
		r.resetConfigs(s.Index, s.Membership)
		r.advanceCommit(s.Index)
	}
	r.send(Message{Type: MsgAppResp, To: m.From, Term: r.term, Index: s.Index})
}
