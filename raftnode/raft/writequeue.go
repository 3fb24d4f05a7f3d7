package raft

// WriteJob is the persisting of one or more Readys, in order: cut off the
// log from Entries[0].Index if it reaches that far, append Entries, save
// the hard state, make all of it durable, then send the messages that
// waited for it (doc.go, the Ready contract, steps 1 and 2). Once its
// entries are durable, the caller reports Mark to StableTo.
type WriteJob struct {
	// Snapshot, when not empty, replaces the whole log first: it
	// restarts after Snapshot.Index (Ready.Snapshot).
	Snapshot  SnapshotMeta
	Entries   []Entry   // to append, replacing the log from Entries[0].Index on
	Mark      LogMark   // names the last of Entries, for StableTo
	HardState HardState // to save, when SaveHard
	SaveHard  bool      // the term or vote changed
	Msgs      []Message // to send once everything above is durable
}

// WriteQueue holds the writes of Readys that were handed out and not yet
// started, in order: the runtime's persister and the simulator's disk both
// write from one. Consecutive Readys merge into one job, so that one fsync
// makes all of them durable (group commit), but never across a
// truncation: a message of an earlier Ready may acknowledge entries that
// the truncation removes, and must leave while they are still durable (a
// leader of the earlier term could count it). It is not safe for
// concurrent use.
type WriteQueue struct {
	jobs []WriteJob // not started, oldest first
	// last is the index of the last entry queued, or durable before that:
	// entries that start at or before it replace some.
	last uint64
}

// NewWriteQueue returns an empty queue over a log whose last durable
// index is last.
func NewWriteQueue(last uint64) WriteQueue { return WriteQueue{last: last} }

// Add queues the writes of one Ready, given as a job: its entries and
// their mark, its hard state when SaveHard, and the messages that must
// wait for them (the ones MayLeaveEarly does not let go at once). A job
// with nothing in it is not queued.
func (q *WriteQueue) Add(rd WriteJob) {
	if len(rd.Entries) == 0 && !rd.SaveHard && len(rd.Msgs) == 0 && rd.Snapshot.IsEmpty() {
		return
	}
	truncates := len(rd.Entries) > 0 && rd.Entries[0].Index <= q.last
	if len(q.jobs) == 0 || truncates || !rd.Snapshot.IsEmpty() {
		// A snapshot replaces the log like a truncation does, and never
		// merges with the writes before it.
		q.jobs = append(q.jobs, WriteJob{Snapshot: rd.Snapshot})
		if !rd.Snapshot.IsEmpty() {
			q.last = rd.Snapshot.Index
			q.jobs[len(q.jobs)-1].Mark = rd.Mark
		}
	}
	j := &q.jobs[len(q.jobs)-1]
	// rd.Entries is the caller's (or the core's, clipped): appending to
	// it copies, and later appends go to the job's own array.
	j.Entries = append(j.Entries, rd.Entries...)
	if rd.SaveHard {
		j.HardState, j.SaveHard = rd.HardState, true
	}
	j.Msgs = append(j.Msgs, rd.Msgs...)
	if n := len(rd.Entries); n > 0 {
		q.last = rd.Entries[n-1].Index
		j.Mark = rd.Mark // a merged job never spans a truncation, so one epoch
	}
}

// Take removes and returns the oldest job; false when there is none.
func (q *WriteQueue) Take() (WriteJob, bool) {
	if len(q.jobs) == 0 {
		return WriteJob{}, false
	}
	j := q.jobs[0]
	q.jobs[0] = WriteJob{}
	q.jobs = q.jobs[1:]
	return j, true
}

// Empty reports whether no job waits.
func (q *WriteQueue) Empty() bool { return len(q.jobs) == 0 }

// clear drops every job, unwritten, when the node crashes (the simulator).
func (q *WriteQueue) clear() {
	clear(q.jobs)
	q.jobs = q.jobs[:0]
}
