package raft

import "fmt"

// TransferLeadership hands leadership to the voter to (thesis §3.10): the
// leader stops taking proposals, brings to's log up to date, and sends it
// MsgTimeoutNow, on which to campaigns at once, past pre-vote and the
// voters' leader leases. If no new leader shows up within an election
// timeout, the leader takes proposals again (EventTransferAborted).
// Errors wrap ErrNotLeader or ErrConfChangeRefused.
func (r *Raft) TransferLeadership(to string) error {
	if r.role != RoleLeader {
		return r.notLeader()
	}
	switch {
	case to == r.id:
		return fmt.Errorf("%w: %s already leads", ErrConfChangeRefused, to)
	case !r.confs.current().members.IsVoter(to):
		return fmt.Errorf("%w: %s is not a voter", ErrConfChangeRefused, to)
	case r.transferee == to:
		return nil // under way already
	}
	if r.transferee != "" {
		r.abortTransfer(fmt.Sprintf("superseded by a transfer to %s", to))
	}
	r.transferee, r.transferElapsed = to, 0
	r.emit(Event{Kind: EventTransferStarted, Term: r.term, Peer: to, Reason: fmt.Sprintf("leadership transfer to %s", to)})
	p := r.progress[to]
	if p.match == r.log.lastIndex() {
		r.sendTimeoutNow(to)
		return nil
	}
	r.sendAppends(to, p)
	return nil
}

// Transferee is the target of the leadership transfer under way, "" when
// none.
func (r *Raft) Transferee() string { return r.transferee }

// sendTimeoutNow tells the transfer's target to campaign now: its log
// matches ours to the end.
func (r *Raft) sendTimeoutNow(to string) {
	r.send(Message{Type: MsgTimeoutNow, To: to, Term: r.term})
}

// maybeFinishTransfer sends TimeoutNow once the target has caught up.
func (r *Raft) maybeFinishTransfer(id string, p *progress) {
	if id == r.transferee && p.match == r.log.lastIndex() {
		r.sendTimeoutNow(id)
	}
}

// tickTransfer gives up a transfer that has not produced a new leader in
// an election timeout: the target is down or cut off, and the cluster
// needs a leader that takes proposals.
func (r *Raft) tickTransfer() {
	if r.transferee == "" {
		return
	}
	r.transferElapsed++
	if r.transferElapsed >= r.electionTicks {
		r.abortTransfer(fmt.Sprintf("no new leader within an election timeout (%d ticks)", r.electionTicks))
	}
}

// abortTransfer ends the transfer under way; the leader takes proposals
// again.
func (r *Raft) abortTransfer(reason string) {
	to := r.transferee
	r.transferee, r.transferElapsed = "", 0
	r.emit(Event{Kind: EventTransferAborted, Term: r.term, Peer: to, Reason: fmt.Sprintf("transfer to %s aborted: %s", to, reason)})
}

// handleTimeoutNow starts an election at once, on the leader's request,
// unless this node does not vote.
func (r *Raft) handleTimeoutNow(m Message) {
	if !r.isVoter() {
		return
	}
	r.emit(Event{Kind: EventTimeoutNow, Term: r.term, Peer: m.From, Reason: fmt.Sprintf("%s transfers leadership here: campaign now", m.From)})
	r.becomeCandidate(fmt.Sprintf("leadership transfer from %s", m.From), true)
}
