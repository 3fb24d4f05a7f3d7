package raft

import "slices"

// ReadState says that a linearizable read may be served once the state
// machine has applied Index (Raft thesis §6.4).
type ReadState struct {
	Index uint64 // the leader's commit index when the read was requested
	Ctx   uint64 // the ctx given to ReadIndex
}

// ReadIndex asks for a linearizable read barrier (thesis §6.4). Only the
// leader serves it. The read index is the commit index, once the leader
// has committed an entry of its own term (until then it may not know the
// latest commit, so the request waits). The leader then confirms it is
// still leader by a heartbeat round: when a quorum, counting itself, has
// answered a heartbeat sent at or after the request, Ready.ReadStates
// carries ReadState{Index, ctx}. Requests made before the same round share
// it: the round goes out with the next Ready, or the next heartbeat. One
// round is out at a time: requests made while one is out wait for it to
// be confirmed, then share the next, which keeps the heartbeats per read
// few under load. If the node stops leading first, ctx comes back in
// Ready.DroppedReads.
func (r *Raft) ReadIndex(ctx uint64) error {
	if r.role != RoleLeader {
		return r.notLeader()
	}
	if !r.log.matchTerm(r.commit, r.term) {
		r.reads.beforeCommit = append(r.reads.beforeCommit, ctx)
		return nil
	}
	r.queueRead(ctx)
	return nil
}

// readQueue is a leader's ReadIndex requests that are not yet safe.
type readQueue struct {
	// round numbers the heartbeat rounds that confirm reads: the ReadCtx
	// of the last one broadcast. It only grows, across terms too, so an
	// answer always names the round it confirms.
	round uint64
	// confirmed is the last round a quorum answered, or that was given up
	// with leadership; below round, round is out.
	confirmed uint64
	// due says pending holds requests for round+1, not yet broadcast.
	due bool
	// pending are requests waiting for a quorum to confirm their round,
	// in round order.
	pending []readRequest
	// beforeCommit are the ctxs of requests waiting for the leader's first
	// commit in its term.
	beforeCommit []uint64
}

// readRequest is one request waiting for its round.
type readRequest struct {
	ctx   uint64 // the caller's
	index uint64 // the read index: the commit index at the request
	round uint64 // the first round sent at or after the request
}

// canStart reports whether requests wait for a round and none is out.
func (q *readQueue) canStart() bool {
	return q.due && q.confirmed == q.round
}

// startRound returns the ctx of a new read round when requests wait for
// one and none is out, else 0.
func (q *readQueue) startRound() uint64 {
	if !q.canStart() {
		return 0
	}
	q.due = false
	q.round++
	return q.round
}

// beatRound returns the read round a periodic heartbeat carries: a new
// one if startRound gives one, else the round that is out, asked again in
// case its heartbeats or their answers were lost, else 0.
func (q *readQueue) beatRound() uint64 {
	if ctx := q.startRound(); ctx != 0 {
		return ctx
	}
	if q.confirmed < q.round {
		return q.round
	}
	return 0
}

// drop forgets every request, and the round that is out, and returns
// their ctxs.
func (q *readQueue) drop() []uint64 {
	var ctxs []uint64
	for _, p := range q.pending {
		ctxs = append(ctxs, p.ctx)
	}
	ctxs = append(ctxs, q.beforeCommit...)
	q.pending, q.beforeCommit, q.due = nil, nil, false
	q.confirmed = q.round
	return ctxs
}

// queueRead records a request at the current commit index, to be
// confirmed by the next round; a one-node cluster is its own quorum.
func (r *Raft) queueRead(ctx uint64) {
	if r.quorum() == 1 && r.isVoter() {
		r.readStates = append(r.readStates, ReadState{Index: r.commit, Ctx: ctx})
		return
	}
	r.reads.pending = append(r.reads.pending, readRequest{ctx: ctx, index: r.commit, round: r.reads.round + 1})
	r.reads.due = true
}

// commitInTerm is called when the leader commits in its term: requests
// that waited for that get their read index now.
func (r *Raft) commitInTerm() {
	waiting := r.reads.beforeCommit
	r.reads.beforeCommit = nil
	for _, ctx := range waiting {
		r.queueRead(ctx)
	}
}

// flushReadRound broadcasts the round that waiting requests need.
func (r *Raft) flushReadRound() {
	if ctx := r.reads.startRound(); ctx != 0 {
		r.bcastHeartbeat(ctx, false)
	}
}

// ackRead records that a follower answered read round ctx (0: none) and
// releases the requests a quorum has now confirmed.
func (r *Raft) ackRead(p *progress, ctx uint64) {
	if ctx <= p.readAck {
		return
	}
	p.readAck = ctx
	cur := r.confs.current().members
	acks := r.matchBuf[:0]
	for id, q := range r.progress {
		if cur.IsVoter(id) {
			acks = append(acks, q.readAck)
		}
	}
	r.matchBuf = acks
	// The leader counts itself while it votes; the other voters make up
	// the rest of the quorum.
	need := r.quorum()
	if r.isVoter() {
		need--
	}
	if need == 0 || need > len(acks) {
		return
	}
	slices.Sort(acks)
	confirmed := acks[len(acks)-need]
	r.reads.confirmed = max(r.reads.confirmed, confirmed)
	n := 0
	for n < len(r.reads.pending) && r.reads.pending[n].round <= confirmed {
		pr := r.reads.pending[n]
		r.readStates = append(r.readStates, ReadState{Index: pr.index, Ctx: pr.ctx})
		n++
	}
	r.reads.pending = r.reads.pending[n:]
}
