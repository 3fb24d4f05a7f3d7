package tui

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxShownCandidates is how many candidates the status line lists.
const maxShownCandidates = 12

// completion is where repeated tabs are. The first tab on an ambiguous word
// lists its candidates on the status line and completes their common
// prefix, or, when that adds nothing, puts the first one in the prompt;
// each further tab puts the next one, round and round.
type completion struct {
	// line is what the prompt held after the last tab; if it holds
	// something else now, the user typed, and the next tab starts afresh.
	line string
	// head is the prompt before the word being completed.
	head string
	// candidates are the words that complete it, in the order offered.
	candidates []string
	// next is the candidate the next tab puts in.
	next int
}

// complete is what tab does: it completes the word the cursor ends.
func (m *Model) complete() {
	value := m.input.Value()
	c := &m.repl.completion
	if len(c.candidates) > 0 && value == c.line {
		cand := c.candidates[c.next]
		c.line = c.head + cand
		m.setPrompt(c.line)
		m.showCandidates(c.candidates, c.next)
		c.next = (c.next + 1) % len(c.candidates)
		return
	}
	*c = completion{}
	if m.input.Position() != utf8.RuneCountInString(value) {
		return // only the end of the line is completed
	}
	head, word, cands, more := m.candidates(value)
	switch len(cands) {
	case 0:
		return
	case 1:
		// A space when another word must follow, as a shell does.
		if more {
			m.setPrompt(head + cands[0] + " ")
		} else {
			m.setPrompt(head + cands[0])
		}
		return
	}
	*c = completion{head: head, candidates: cands}
	if p := commonPrefix(cands); len(p) > len(word) {
		c.line = head + p
		m.setPrompt(c.line)
		m.showCandidates(cands, -1)
		return
	}
	c.line = head + cands[0]
	c.next = 1
	m.setPrompt(c.line)
	m.showCandidates(cands, 0)
}

// showCandidates lists an ambiguous word's candidates on the status line,
// the one in the prompt (current, or -1 for none) in brackets.
func (m *Model) showCandidates(cands []string, current int) {
	shown := make([]string, 0, min(len(cands), maxShownCandidates)+1)
	for i, c := range cands {
		if i == maxShownCandidates {
			shown = append(shown, "…")
			break
		}
		if i == current {
			c = "[" + c + "]"
		}
		shown = append(shown, c)
	}
	m.setStatus("%d completions: %s", len(cands), strings.Join(shown, "  "))
}

// candidates splits line into the text before the word being completed and
// that word, and lists what could complete it, by what the command expects
// there: a command name, a node id, a key, or "@" and a node id. more says
// the command needs another word after this one.
func (m *Model) candidates(line string) (head, word string, cands []string, more bool) {
	cut := strings.LastIndexFunc(line, unicode.IsSpace) + 1
	head, word = line[:cut], line[cut:]
	fields := strings.Fields(head)
	if len(fields) == 0 {
		cands = withPrefix(commandNames, strings.ToLower(word))
		return head, word, cands, len(cands) == 1 && !lookupCommand(cands[0]).bare
	}
	c, arg := lookupCommand(fields[0]), len(fields)-1 // arg: which argument word is
	if c == nil || c.complete == nil {
		return head, word, nil, false
	}
	return head, word, withPrefix(c.complete(m, arg, fields), word), arg == 0 && c.more
}

// keyPool is what tab offers for a key: the keys this session's commands
// saw exist (knownKeys, newest first), then the keys the nodes' log tails
// showed put and not deleted since (newest first), so that the cluster's
// keys complete after a restart of the dashboard too. Each is written as
// it must be typed: quoted when it holds a space or a quote, or starts
// with "@".
func (m *Model) keyPool() []string {
	pool := make([]string, 0, len(m.knownKeys))
	seen := map[string]bool{}
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			pool = append(pool, quoteArg(k))
		}
	}
	for _, k := range m.knownKeys {
		add(k)
	}
	// The newest operation on each key on any node: a delete one node
	// shows wins over an older put another shows.
	newest := map[string]keyOp{}
	for _, n := range m.nodes {
		for k, op := range n.log.keys.ops {
			if cur, ok := newest[k]; !ok || op.index > cur.index {
				newest[k] = op
			}
		}
	}
	type logKey struct {
		key   string
		index int64
	}
	var logged []logKey
	for k, op := range newest {
		if op.exists && !seen[k] {
			logged = append(logged, logKey{k, op.index})
		}
	}
	slices.SortFunc(logged, func(a, b logKey) int {
		return cmp.Or(cmp.Compare(b.index, a.index), strings.Compare(a.key, b.key))
	})
	for _, lk := range logged {
		add(lk.key)
	}
	return pool
}

// nodeIDs are the ids of the nodes with a card, in the cluster file's
// order, then the members learned since.
func (m *Model) nodeIDs() []string {
	shown := m.shownNodes()
	ids := make([]string, len(shown))
	for i, n := range shown {
		ids[i] = n.node.ID
	}
	return ids
}

// withPrefix is the words of pool that start with prefix, in pool's order.
func withPrefix(pool []string, prefix string) []string {
	var out []string
	for _, w := range pool {
		if strings.HasPrefix(w, prefix) {
			out = append(out, w)
		}
	}
	return out
}

// commonPrefix is the longest prefix, whole runes, that all of words share.
func commonPrefix(words []string) string {
	if len(words) == 0 {
		return ""
	}
	p := words[0]
	for _, w := range words[1:] {
		n := 0
		for n < len(p) && n < len(w) && p[n] == w[n] {
			n++
		}
		p = p[:n]
	}
	for !utf8.ValidString(p) {
		p = p[:len(p)-1]
	}
	return p
}
