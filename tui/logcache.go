package tui

import (
	"strconv"
	"strings"

	"github.com/easykv/easykv/netlink/pb"
)

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
	// keys are the keys the committed entries of the tails wrote or
	// deleted, for tab completion (see Model.keyPool).
	keys logKeys
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
	c.keys.observe(st)
}

// maxLogKeys is how many keys a node's logKeys remembers: the most
// recently written or deleted.
const maxLogKeys = maxKnownKeys

// keyOp is the newest write of a key a log tail showed: at which index,
// and whether it was a put (the key exists) or a delete.
type keyOp struct {
	index  int64
	exists bool
}

// logKeys are the keys a node's log tails showed written, each with its
// newest committed put or delete, at most maxLogKeys of them: what tab
// completes after a restart of the dashboard, before any command of its
// own named a key.
type logKeys struct {
	// ops is the newest operation on each key.
	ops map[string]keyOp
	// through is the highest index taken: a tail repeats the entries of
	// the one before, which are not parsed again.
	through int64
}

// observe takes the committed entries of a status's tail that are newer
// than those taken already. A log cut back below them (a restarted node,
// a new leader) is taken again from there.
func (k *logKeys) observe(st *pb.NodeStatus) {
	k.through = min(k.through, st.GetCommitIndex())
	for _, e := range st.GetLogTail() {
		if e.GetIndex() <= k.through || e.GetIndex() > st.GetCommitIndex() {
			continue
		}
		k.through = e.GetIndex()
		key, exists, ok := entryKey(e)
		if !ok {
			continue
		}
		if old, seen := k.ops[key]; seen && old.index > e.GetIndex() {
			continue
		}
		if k.ops == nil {
			k.ops = map[string]keyOp{}
		}
		k.ops[key] = keyOp{index: e.GetIndex(), exists: exists}
	}
	for len(k.ops) > maxLogKeys {
		oldest, at := "", int64(-1)
		for key, op := range k.ops {
			if at < 0 || op.index < at {
				oldest, at = key, op.index
			}
		}
		delete(k.ops, oldest)
	}
}

// entryKey is the key a log entry writes, read from its command as the
// node words it (kvmap.Command.String: "PUT user:1 alice", "DEL user:1"; a key with spaces or
// quotes as a Go string, a long one cut with "…"), and whether the entry
// puts it (true) or deletes it. ok is false for an entry that writes no
// key, or a key cut short, which cannot be completed.
func entryKey(e *pb.LogEntry) (key string, exists, ok bool) {
	if e.GetType() == pb.EntryType_ENTRY_NOOP {
		return "", false, false
	}
	op, rest, _ := strings.Cut(e.GetCommand(), " ")
	switch op {
	case "PUT":
		exists = true
	case "DEL", "DELETE":
	default:
		return "", false, false
	}
	if strings.HasPrefix(rest, `"`) {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil || strings.HasPrefix(rest[len(q):], "…") {
			return "", false, false
		}
		key, _ = strconv.Unquote(q)
		return key, exists, true
	}
	key, _, _ = strings.Cut(rest, " ")
	if key == "" || strings.HasSuffix(key, "…") {
		return "", false, false
	}
	return key, exists, true
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
