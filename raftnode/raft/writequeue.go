package raftnode

// writeJob is the persisting of one or more Readys, in order: cut off the
// log from entries[0].Index if it reaches that far, append entries, save
// the hard state, make all of it durable, then send the messages that
// waited for it (doc.go, steps 1 and 2).
type writeJob struct {
	entries   []Entry   // to append, replacing the log from entries[0].Index on
	mark      LogMark   // names the last of entries, for StableTo
	hardState HardState // to save, when saveHard
	saveHard  bool      // the term or vote changed
	msgs      []Message // to send once everything above is durable
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

// add queues the writes of one Ready, given as a job: its entries and
// their mark, its hard state when saveHard, and the messages that must
// wait for them.
func (q *writeQueue) add(rd writeJob) {
	if len(rd.entries) == 0 && !rd.saveHard && len(rd.msgs) == 0 {
		return
	}
	truncates := len(rd.entries) > 0 && rd.entries[0].Index <= q.last
	if len(q.jobs) == 0 || truncates {
		q.jobs = append(q.jobs, writeJob{})
	}
	j := &q.jobs[len(q.jobs)-1]
	// rd.entries is the caller's (or the core's, clipped): appending to
	// it copies, and later appends go to the job's own array.
	j.entries = append(j.entries, rd.entries...)
	if rd.saveHard {
		j.hardState, j.saveHard = rd.hardState, true
	}
	j.msgs = append(j.msgs, rd.msgs...)
	if n := len(rd.entries); n > 0 {
		q.last = rd.entries[n-1].Index
		j.mark = rd.mark // a merged job never spans a truncation, so one epoch
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
