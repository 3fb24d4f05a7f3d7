package raft

import "slices"

// raftLog is the core's view of the replicated log: the entries the caller
// has made durable, read through LogStorage, followed by the unstable entries
// the core holds until the caller has persisted them (Ready.Entries, then
// StableTo). Index 0 is the empty prefix, with term 0.
type raftLog struct {
	storage LogStorage // durable entries
	// unstable are entries not yet durable, at consecutive indexes from
	// unstable[0].Index; they supersede any durable entries at the same
	// or later indexes, which the caller truncates when it persists them.
	// Elements are never overwritten in place (a truncation copies), so
	// slices handed out in messages and Readys stay valid.
	unstable []Entry
	// handed is the last index handed out in Ready.Entries: unstable
	// entries up to it are being persisted, the rest are not handed out
	// yet. A conflicting append lowers it to just before the conflict, so
	// that the replacements are handed out too.
	handed uint64
	// epoch counts the truncations that replaced entries already handed
	// out. A durability report names the epoch its entries were handed
	// out in (LogMark); one from an earlier epoch is stale: a write
	// queued after it replaced some of what it covers, and what it made
	// durable may be overwritten on disk by the time the core reads it.
	epoch   uint64
	applied uint64 // highest index the state machine has applied
	// snap is a snapshot from the leader that replaces the whole log and
	// is not durable yet; zero when none. While it is set, the log is the
	// snapshot followed by the unstable entries, and storage is not read:
	// what it holds is being replaced.
	snap SnapshotMeta
	// snapHanded: snap was handed out in a Ready.
	snapHanded bool
}

// lastIndex is the index of the last entry, 0 when the log is empty.
func (l *raftLog) lastIndex() uint64 {
	if n := len(l.unstable); n > 0 {
		return l.unstable[n-1].Index
	}
	if !l.snap.IsEmpty() {
		return l.snap.Index
	}
	return l.storage.LastIndex()
}

// firstIndex is the first index the log can read.
func (l *raftLog) firstIndex() uint64 {
	if !l.snap.IsEmpty() {
		return l.snap.Index + 1
	}
	first := l.storage.FirstIndex()
	if len(l.unstable) > 0 {
		first = min(first, l.unstable[0].Index)
	}
	return first
}

// lastTerm is the term of the last entry, 0 when the log is empty.
func (l *raftLog) lastTerm() uint64 {
	t, _ := l.term(l.lastIndex())
	return t
}

// term is the term of the entry at i; false when the log cannot tell
// (beyond the last index, or compacted).
func (l *raftLog) term(i uint64) (uint64, bool) {
	if n := len(l.unstable); n > 0 && i >= l.unstable[0].Index {
		if i > l.unstable[n-1].Index {
			return 0, false
		}
		return l.unstable[i-l.unstable[0].Index].Term, true
	}
	if i == 0 {
		return 0, true
	}
	if !l.snap.IsEmpty() {
		return l.snap.Term, i == l.snap.Index
	}
	if i > l.storage.LastIndex() {
		return 0, false
	}
	t, err := l.storage.Term(i)
	return t, err == nil
}

// matchTerm reports whether the log has an entry at i with term t.
func (l *raftLog) matchTerm(i, t uint64) bool {
	got, ok := l.term(i)
	return ok && got == t
}

// isUpToDate reports whether a log ending at (lastTerm, lastIndex) is at
// least as up-to-date as this one: a later last term wins, and with equal
// last terms the longer log wins (Raft paper §5.4.1).
func (l *raftLog) isUpToDate(lastTerm, lastIndex uint64) bool {
	ourTerm := l.lastTerm()
	return lastTerm > ourTerm || (lastTerm == ourTerm && lastIndex >= l.lastIndex())
}

// firstIndexOfTerm is the first index of the run of entries, ending at i,
// that share the term of the entry at i; i must be in the log. A follower
// reports it so that the leader can skip a whole conflicting term at once.
func (l *raftLog) firstIndexOfTerm(i uint64) uint64 {
	t, _ := l.term(i)
	for i > 1 {
		if prev, ok := l.term(i - 1); !ok || prev != t {
			break
		}
		i--
	}
	return i
}

// lastIndexOfTerm is the last index at or before from whose entry has term
// t; false when the log has no entry of term t there. Terms never go back
// along a log, so the scan stops at the first term not above t.
func (l *raftLog) lastIndexOfTerm(t, from uint64) (uint64, bool) {
	for i := from; i > 0; i-- {
		got, ok := l.term(i)
		if !ok || got < t {
			return 0, false
		}
		if got == t {
			return i, true
		}
	}
	return 0, false
}

// findConflict returns the position in es of the first entry that the log
// lacks or holds with another term; len(es) when the log has them all.
func (l *raftLog) findConflict(es []Entry) int {
	for i, e := range es {
		if !l.matchTerm(e.Index, e.Term) {
			return i
		}
	}
	return len(es)
}

// append adds e after the last entry; e.Index must be lastIndex()+1.
func (l *raftLog) append(e Entry) {
	l.unstable = append(l.unstable, e)
}

// truncateAndAppend puts es in the log from es[0].Index, which must be at
// most lastIndex()+1, replacing every entry from there on. The log keeps
// es's entries but not the slice.
func (l *raftLog) truncateAndAppend(es []Entry) {
	first := es[0].Index
	if first <= l.handed {
		l.epoch++
	}
	l.handed = min(l.handed, first-1)
	switch {
	case len(l.unstable) == 0 || first == l.lastIndex()+1:
		// Appending past the end may reuse the array's spare capacity:
		// every slice handed out ends before it.
		l.unstable = append(l.unstable, es...)
	case len(l.unstable) > 0 && first > l.unstable[0].Index:
		keep := int(first - l.unstable[0].Index)
		l.unstable = append(l.unstable[:keep:keep], es...) // a new array
	default:
		// Everything from first on is replaced, durable or not.
		l.unstable = slices.Clone(es)
	}
}

// slice returns the entries [lo, hi): at least one when lo < hi, then as
// many as fit in maxBytes. False when the log cannot provide them. The
// result may share its array with the log; it must not be modified.
func (l *raftLog) slice(lo, hi, maxBytes uint64) ([]Entry, bool) {
	if lo >= hi {
		return nil, true
	}
	if lo == 0 || hi > l.lastIndex()+1 {
		return nil, false
	}
	if lo < l.firstIndex() {
		return nil, false // compacted
	}
	split := hi // where unstable entries begin within [lo, hi)
	if len(l.unstable) > 0 {
		split = min(hi, max(lo, l.unstable[0].Index))
	}
	var out []Entry
	if lo < split {
		es, err := l.storage.Entries(lo, split, maxBytes)
		if err != nil || len(es) == 0 {
			return nil, false
		}
		if uint64(len(es)) < split-lo {
			return es, true // the byte limit was reached
		}
		out = es
	}
	if split == hi {
		return out, true
	}
	off := l.unstable[0].Index
	u := l.unstable[split-off : hi-off : hi-off]
	if len(out) == 0 {
		return LimitSize(u, maxBytes, true), true
	}
	var used uint64
	for _, e := range out {
		used += entrySize(e)
	}
	u = LimitSize(u, maxBytes-min(maxBytes, used), false)
	return append(slices.Clip(out), u...), true
}

// stableIndex is the index of the last entry that is durable and still in
// the log: the entries before the unstable ones, which supersede any
// durable entries from their first index on.
func (l *raftLog) stableIndex() uint64 {
	if !l.snap.IsEmpty() {
		return 0 // nothing is durable until the snapshot is
	}
	if len(l.unstable) > 0 {
		return l.unstable[0].Index - 1
	}
	return l.storage.LastIndex()
}

// toHandOut is how many unstable entries are not handed out yet.
func (l *raftLog) toHandOut() int {
	n := len(l.unstable)
	if n == 0 || l.handed < l.unstable[0].Index {
		return n
	}
	return n - int(min(l.handed, l.unstable[n-1].Index)-l.unstable[0].Index+1)
}

// restore replaces the whole log by snap, a snapshot from the leader
// that the log does not match (thesis §5.3): every entry goes, durable or
// not, and the log restarts after snap once the caller has installed it.
func (l *raftLog) restore(snap SnapshotMeta) {
	l.unstable = nil
	l.snap, l.snapHanded = snap, false
	// Writes handed out before are replaced: their reports are stale.
	l.epoch++
	l.handed = snap.Index
}

// nextSnapshot returns the snapshot to install, once, for Ready.
func (l *raftLog) nextSnapshot() SnapshotMeta {
	if l.snap.IsEmpty() || l.snapHanded {
		return SnapshotMeta{}
	}
	l.snapHanded = true
	return l.snap
}

// nextUnstable returns the unstable entries not handed out yet, for
// Ready, with their mark, and remembers them as handed out. When the
// Ready hands out a snapshot too, the mark names the snapshot if there
// are no entries.
func (l *raftLog) nextUnstable() ([]Entry, LogMark) {
	k := l.toHandOut()
	if k == 0 {
		if !l.snap.IsEmpty() && !l.snapHanded {
			return nil, LogMark{Index: l.snap.Index, Term: l.snap.Term, Epoch: l.epoch}
		}
		return nil, LogMark{}
	}
	n := len(l.unstable)
	last := l.unstable[n-1]
	l.handed = last.Index
	return l.unstable[n-k : n : n], LogMark{Index: last.Index, Term: last.Term, Epoch: l.epoch}
}

// stableTo records that the entries handed out up to m are durable: the
// log reads them from storage from now on. A mark from an earlier epoch is
// stale (a truncation replaced entries handed out before it), and so is
// one whose entry is gone or has another term; the writes queued since
// will report in their turn. It reports whether it took the report.
func (l *raftLog) stableTo(m LogMark) bool {
	if m.Epoch == l.epoch && !l.snap.IsEmpty() && l.snapHanded && m.Index >= l.snap.Index {
		// The write that installs the snapshot is done: storage holds it.
		if m.Index == l.snap.Index && m.Term == l.snap.Term {
			l.snap, l.snapHanded = SnapshotMeta{}, false
			return true
		}
		l.snap, l.snapHanded = SnapshotMeta{}, false
	}
	n := len(l.unstable)
	i := m.Index
	if m.Epoch != l.epoch || n == 0 || i < l.unstable[0].Index || i > l.handed || i > l.unstable[n-1].Index || l.unstable[i-l.unstable[0].Index].Term != m.Term {
		return false
	}
	l.unstable = l.unstable[i-l.unstable[0].Index+1:]
	return true
}
