package tui

import "github.com/easykv/easykv/netlink/pb"

// logCacheSize is how many of the newest indexes the dashboard remembers
// per node for the log view; older ones are forgotten.
const logCacheSize = 1024

// logCache is what the dashboard has learned of one node's log from the
// tails its statuses carried: the term of each index seen, 0 where none
// was (a status carries only the last few entries, so a busy node leaves
// gaps).
type logCache struct {
	// first is the index of terms[0].
	first int64
	// terms[i] is the term of entry first+i, or 0 if unknown.
	terms []int64
}

// last is the highest index held, or first-1 when empty.
func (c *logCache) last() int64 { return c.first + int64(len(c.terms)) - 1 }

// term is the term of entry index, or 0 if unknown.
func (c *logCache) term(index int64) int64 {
	if index < c.first || index > c.last() {
		return 0
	}
	return c.terms[index-c.first]
}

// observe takes a status's log terms and tail: entries past the node's
// last index are forgotten (its log was cut), an entry whose term differs
// from the one remembered replaces it and forgets everything after it (a
// new leader overwrote the suffix), and the status's entries are
// remembered. The terms (the last 256 entries, as runs) fill what the
// tail's few entries would leave as gaps.
func (c *logCache) observe(st *pb.NodeStatus) {
	c.truncate(st.GetLastIndex() + 1)
	runs := st.GetLogTerms()
	for k, run := range runs {
		end := st.GetLastIndex()
		if k+1 < len(runs) {
			end = min(end, runs[k+1].GetFirstIndex()-1)
		}
		// A run longer than the cache cannot come from a node, but
		// costs no more than the cache holds if one does.
		for i := max(run.GetFirstIndex(), end-logCacheSize+1); i <= end; i++ {
			c.learn(i, run.GetTerm())
		}
	}
	for _, e := range st.GetLogTail() {
		c.learn(e.GetIndex(), e.GetTerm())
	}
}

// learn remembers that entry index has term, forgetting what follows it
// if the term differs from the one remembered.
func (c *logCache) learn(index, term int64) {
	if index <= 0 || term <= 0 {
		return
	}
	if old := c.term(index); old != 0 && old != term {
		c.truncate(index)
	}
	c.set(index, term)
}

// truncate forgets every index from index on.
func (c *logCache) truncate(index int64) {
	if index <= c.first {
		c.terms = c.terms[:0]
		return
	}
	if index <= c.last() {
		c.terms = c.terms[:index-c.first]
	}
}

// set remembers that entry index has term, growing the cache with unknown
// gaps as needed and dropping the oldest indexes beyond logCacheSize.
func (c *logCache) set(index, term int64) {
	switch {
	case len(c.terms) == 0 || index-c.last() > logCacheSize:
		c.first, c.terms = index, append(c.terms[:0], term)
		return
	case index < c.first:
		return // older than what is kept: not worth a view
	}
	for c.last() < index {
		c.terms = append(c.terms, 0)
	}
	c.terms[index-c.first] = term
	if drop := len(c.terms) - logCacheSize; drop > 0 {
		c.terms = append(c.terms[:0], c.terms[drop:]...)
		c.first += int64(drop)
	}
}
