package raftnode

// writeJob is the persisting of one or more Readys, in order: cut off the
// log from entries[0].Index if it reaches that far, append entries, save
// the hard state, make all of it durable, then send the messages that
// waited for it (doc.go, steps 1 and 2).
type writeJob struct {
	entries   []Entry   // to append, replacing the log from entries[0].Index on
	hardState HardState // to save, when saveHard
	saveHard  bool      // the term or vote changed
	msgs      []Message // to send once everything above is durable
}

// last returns the index and term of the job's last entry; 0, 0 without
// entries.
func (j *writeJob) last() (index, term uint64) {
	if n := len(j.entries); n > 0 {
		return j.entries[n-1].Index, j.entries[n-1].Term
	}
	return 0, 0
}

// writeQueue holds the writes of Readys that were handed out and not yet
// started, in order. Consecutive Readys merge into one job, so that one
// fsync makes all of them durable (group commit), but never across a
// truncation: a message of an earlier Ready may acknowledge entries that
// the truncation removes, and must leave while they are still durable (a
// leader of the earlier term could count it). It is not safe for
// concurrent use.
type writeQueue struct {
	jobs []writeJob // not started, oldest first
	// last is the index of the last entry queued, or durable before that:
	// entries that start at or before it replace some.
	last uint64
}

// add queues the writes of one Ready: its entries, its hard state when
// saveHard, and the messages that must wait for them.
func (q *writeQueue) add(entries []Entry, hs HardState, saveHard bool, msgs []Message) {
	if len(entries) == 0 && !saveHard && len(msgs) == 0 {
		return
	}
	truncates := len(entries) > 0 && entries[0].Index <= q.last
	if len(q.jobs) == 0 || truncates {
		q.jobs = append(q.jobs, writeJob{})
	}
	j := &q.jobs[len(q.jobs)-1]
	// entries is the caller's (or the core's, clipped): appending to it
	// copies, and later appends go to the job's own array.
	j.entries = append(j.entries, entries...)
	if saveHard {
		j.hardState, j.saveHard = hs, true
	}
	j.msgs = append(j.msgs, msgs...)
	if n := len(entries); n > 0 {
		q.last = entries[n-1].Index
	}
}

// take removes and returns the oldest job; false when there is none.
func (q *writeQueue) take() (writeJob, bool) {
	if len(q.jobs) == 0 {
		return writeJob{}, false
	}
	j := q.jobs[0]
	q.jobs[0] = writeJob{}
	q.jobs = q.jobs[1:]
	return j, true
}

// empty reports whether no job waits.
func (q *writeQueue) empty() bool { return len(q.jobs) == 0 }

// clear drops every job, unwritten, when the node stops or crashes.
func (q *writeQueue) clear() {
	clear(q.jobs)
	q.jobs = q.jobs[:0]
}
