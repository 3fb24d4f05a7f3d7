package raftnode

import "fmt"

// raftLog is the core's in-memory view of the replicated log: the entries
// that are already durable. Index 0 is the empty prefix, with term 0.
// It starts at index 1 (there are no snapshots yet).
type raftLog struct {
	entries []Entry // entries[i].Index == i+1
}

// newRaftLog takes the entries restored from storage. It copies the slice
// but not the entries' Data, which the caller must not modify afterwards.
func newRaftLog(durable []Entry) (*raftLog, error) {
	var prev uint64
	for i, e := range durable {
		if e.Index != uint64(i)+1 {
			return nil, fmt.Errorf("entry %d has index %d, want %d", i, e.Index, i+1)
		}
		if e.Term == 0 || e.Term < prev {
			return nil, fmt.Errorf("entry %d has term %d after term %d", e.Index, e.Term, prev)
		}
		prev = e.Term
	}
	return &raftLog{entries: append([]Entry(nil), durable...)}, nil
}

// lastIndex is the index of the last entry, 0 when the log is empty.
func (l *raftLog) lastIndex() uint64 {
	return uint64(len(l.entries))
}

// lastTerm is the term of the last entry, 0 when the log is empty.
func (l *raftLog) lastTerm() uint64 {
	t, _ := l.term(l.lastIndex())
	return t
}

// term is the term of the entry at i; false when there is no entry at i.
func (l *raftLog) term(i uint64) (uint64, bool) {
	if i == 0 {
		return 0, true
	}
	if i > l.lastIndex() {
		return 0, false
	}
	return l.entries[i-1].Term, true
}

// isUpToDate reports whether a log ending at (lastTerm, lastIndex) is at
// least as up-to-date as this one: a later last term wins, and with equal
// last terms the longer log wins (Raft paper §5.4.1).
func (l *raftLog) isUpToDate(lastTerm, lastIndex uint64) bool {
	ourTerm := l.lastTerm()
	return lastTerm > ourTerm || (lastTerm == ourTerm && lastIndex >= l.lastIndex())
}

// firstIndexOfTerm is the first index of the run of entries, ending at i,
// that share the term of the entry at i; i must be in the log. A leader
// uses it to skip a whole conflicting term at once.
func (l *raftLog) firstIndexOfTerm(i uint64) uint64 {
	t, _ := l.term(i)
	for i > 1 && l.entries[i-2].Term == t {
		i--
	}
	return i
}
