package raft

// progressState is how a leader sends entries to one follower.
type progressState uint8

const (
	// stateProbe: the leader does not know where the follower's log
	// matches its own, so it sends one MsgApp at a time and waits for the
	// answer (or a heartbeat answer) before the next.
	stateProbe progressState = iota
	// stateReplicate: the logs match up to Match; the leader streams
	// entries, advancing Next optimistically, up to MaxInflight messages
	// unacknowledged.
	stateReplicate
	// stateSnapshot: the follower needs entries the leader's log no longer
	// holds; the runtime is sending it a snapshot, and no MsgApp with
	// entries goes out until the follower has it or the send fails.
	stateSnapshot
)

func (s progressState) String() string {
	switch s {
	case stateReplicate:
		return "replicate"
	case stateSnapshot:
		return "snapshot"
	}
	return "probe"
}

// progress is what a leader tracks about one follower (paper Figure 2:
// nextIndex and matchIndex, with etcd raft's probe and replicate states).
type progress struct {
	match uint64 // highest index known to be replicated on the follower
	next  uint64 // index of the next entry to send; always > match
	state progressState
	// probeSent: in probe state, a MsgApp is out and unanswered; no other
	// goes out until an answer or a heartbeat answer arrives.
	probeSent bool
	inflight  inflights // replicate state: MsgApps not yet acknowledged
	// recentActive: heard from within the current check-quorum round.
	recentActive bool
	// readAck is the highest ReadIndex heartbeat round it acknowledged.
	readAck uint64
	// matchAtBeat is match at the last periodic heartbeat; unchanged
	// since then, in replicate state, a MsgApp may have been lost.
	matchAtBeat uint64
	// sentCommit is the highest commit index it was told that it can
	// use, so a commit that changes nothing for it is not sent again.
	sentCommit uint64
	// pendingSnapshot is the index of the snapshot being sent, in
	// snapshot state.
	pendingSnapshot uint64
	// lostReported: the follower was seen to have lost entries it had
	// acknowledged, and an event said so; once per leadership.
	lostReported bool
	// lostSuspect: a refusal of a beat at Match showed the follower's log
	// ending below it, and no acknowledgement of Match came since. Such a
	// refusal may be late: sent before the follower acknowledged Match,
	// and overtaken. lostRounds counts the check-quorum rounds that ended
	// since, suspect: one that comes after a whole round without an
	// acknowledgement of Match shows the loss (a follower that lost its
	// entries refuses every beat; one that holds them acknowledges them).
	lostSuspect bool
	lostRounds  int
}

// newProgress starts probing a follower from next.
func newProgress(next uint64, maxInflight int) *progress {
	return &progress{next: next, inflight: inflights{buf: make([]uint64, maxInflight)}}
}

// becomeProbe goes back to finding the match point, trying next.
func (p *progress) becomeProbe(next uint64) {
	p.state, p.next, p.probeSent = stateProbe, next, false
	p.inflight.reset()
}

// becomeSnapshot waits while the snapshot at index is sent.
func (p *progress) becomeSnapshot(index uint64) {
	p.state, p.pendingSnapshot, p.probeSent = stateSnapshot, index, false
	p.inflight.reset()
}

// becomeReplicate starts streaming after the known match.
func (p *progress) becomeReplicate() {
	p.state, p.next, p.probeSent = stateReplicate, p.match+1, false
	p.inflight.reset()
}

// paused reports whether no MsgApp with entries may go out now.
func (p *progress) paused() bool {
	switch p.state {
	case stateProbe:
		return p.probeSent
	case stateSnapshot:
		return true
	}
	return p.inflight.full()
}

// export is the follower's progress as Status shows it.
func (p *progress) export() Progress {
	return Progress{
		Match:        p.match,
		Next:         p.next,
		RecentActive: p.recentActive,
		State:        p.state.String(),
		Inflight:     p.inflight.count,
	}
}

// inflights is a ring of the last indexes of MsgApps in flight to one
// follower, in increasing order.
type inflights struct {
	buf   []uint64 // the ring; its length is the limit
	start int      // position of the oldest
	count int      // how many are in flight
}

// full reports whether no other MsgApp may go out.
func (in *inflights) full() bool { return in.count == len(in.buf) }

// add records a MsgApp whose last entry is at index last; the ring must
// not be full.
func (in *inflights) add(last uint64) {
	in.buf[(in.start+in.count)%len(in.buf)] = last
	in.count++
}

// freeTo forgets every MsgApp whose entries end at or before index, which
// the follower has acknowledged.
func (in *inflights) freeTo(index uint64) {
	for in.count > 0 && in.buf[in.start] <= index {
		in.start = (in.start + 1) % len(in.buf)
		in.count--
	}
}

// reset forgets every MsgApp in flight.
func (in *inflights) reset() { in.start, in.count = 0, 0 }
