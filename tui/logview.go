package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/easykv/easykv/netlink/pb"
)

const (
	// commitSep stands between a row's last committed cell and its first
	// uncommitted one, so that the commit point reads without colour.
	commitSep = '|'
	// unknownCell fills an index a node has but whose term the dashboard
	// never saw (it came and went between two statuses).
	unknownCell = "?"
	// matchMark and nextMark sit under a follower's row at the leader's
	// match and next index for it.
	matchMark, nextMark = '^', '>'
)

// logScroll is the log view's position: following the newest entry, or
// held with a chosen index at its right edge.
type logScroll struct {
	// held says the user scrolled back; the view then stays put however
	// the logs grow, until End.
	held bool
	// right is the rightmost index shown while held.
	right int64
	// page is how many indexes the last frame showed, what a page key
	// moves by.
	page int64
}

// back scrolls the view half a page towards older entries; tail is the
// newest index any node has. It stops at the first page (index 1 at the
// left edge): pressed there it does nothing, so that the first press
// forward moves the view again.
func (s *logScroll) back(tail int64) {
	right := tail
	if s.held {
		right = min(s.right, tail)
	}
	first := max(1, min(s.page, tail)) // the right edge of the first page
	if right <= first {
		if s.held {
			s.right = first
		}
		return
	}
	s.held, s.right = true, max(first, right-max(1, s.page/2))
}

// forward scrolls half a page towards newer entries, and follows again on
// reaching the tail.
func (s *logScroll) forward(tail int64) {
	if !s.held {
		return
	}
	s.right += max(1, s.page/2)
	if s.right >= tail {
		s.follow()
	}
}

// follow goes back to following the tail.
func (s *logScroll) follow() { s.held, s.right = false, 0 }

// logTail is the newest index any node has: by its status, or by what its
// cache holds while it is down.
func logTail(nodes []*nodeState) int64 {
	var tail int64
	for _, n := range nodes {
		tail = max(tail, n.log.last(), n.status.GetLastIndex())
	}
	return tail
}

// logViewHeight is how many lines the log view takes: a heading, the
// index ruler, a row per node and, when markers is set, a marker row under
// each follower the leader reports on.
func logViewHeight(nodes []*nodeState, markers bool) int {
	h := 2 + len(nodes)
	if markers {
		if leader := currentLeader(nodes); leader != nil {
			h += len(leader.status.GetPeers())
		}
	}
	return h
}

// viewLog draws the RaftScope-like log view width cells wide: one row per
// node, the entries aligned by index, each cell its entry's term, coloured
// by term, solid when the node knows it committed and dim before, with
// commitSep at each row's commit point, the entries a node compacted away
// as one cell ("≤1200 snap"), and under each follower (when markers is
// set) the leader's match (^) and next (>) index for it. It remembers how
// many indexes fit, for the page keys.
func viewLog(c *programContext, nodes []*nodeState, scroll *logScroll, width int, markers bool) string {
	st := &c.styles
	tail := logTail(nodes)
	idWidth := 0
	for _, n := range nodes {
		idWidth = max(idWidth, ansi.StringWidth(n.node.ID))
	}
	labelWidth := idWidth + 3 // id, space, role (or paused) glyph, space
	right := tail
	if scroll.held {
		right = min(scroll.right, tail)
	}
	termWidth := 1
	for _, n := range nodes {
		termWidth = max(termWidth, len(strconv.FormatInt(n.status.GetTerm(), 10)), digits(n.log.term(n.log.last())))
	}
	cell := termWidth + 1 // a separator, then the term
	// Marker rows end with the numbers: keep room for them.
	reserve := 0
	if markers {
		reserve = len(markerText(tail, tail+1))
	}
	cols := max(1, (width-labelWidth-reserve)/cell)
	scroll.page = int64(cols)
	left := max(1, right-int64(cols)+1)
	right = left + int64(cols) - 1

	state := "empty"
	switch {
	case scroll.held:
		state = fmt.Sprintf("index %d–%d, held: end follows", left, min(right, tail))
	case tail > 0:
		state = fmt.Sprintf("index %d–%d, following", left, min(right, tail))
	}
	legend := fmt.Sprintf("%s; cell = term, %c = commit point", state, commitSep)
	for _, n := range nodes {
		if compacted(n.status, left, cols) > 0 {
			legend += ", ≤N " + compactedText + " = compacted up to N"
			break
		}
	}
	lines := []string{ansi.Truncate(st.Section.Render("log")+" "+st.Faint.Render("("+legend+")"), width, "…")}
	shown := int(min(int64(cols), max(1, tail-left+1)))
	lines = append(lines, st.Faint.Render(strings.Repeat(" ", labelWidth)+indexRuler(left, shown, cell)))

	leader := currentLeader(nodes)
	var b strings.Builder
	for _, n := range nodes {
		b.Reset()
		b.WriteString(st.ID.Render(n.node.ID))
		b.WriteString(strings.Repeat(" ", idWidth-ansi.StringWidth(n.node.ID)+1))
		if n.status.GetPaused() {
			b.WriteString(st.Paused.Render(pausedGlyph))
		} else {
			bd := n.badge()
			b.WriteString(bd.style(st).Render(bd.glyph()))
		}
		b.WriteByte(' ')
		writeLogRow(&b, c, nodes, n, left, cols, termWidth)
		lines = append(lines, ansi.Truncate(strings.TrimRight(b.String(), " "), width, ""))
		if !markers || leader == nil || n == leader {
			continue
		}
		for _, p := range leader.status.GetPeers() {
			if p.GetId() == n.node.ID {
				lines = append(lines, ansi.Truncate(markerRow(p, labelWidth, left, cols, cell), width, ""))
			}
		}
	}
	return strings.Join(lines, "\n")
}

// writeLogRow writes node n's cells from index left, cols of them, each a
// separator and the term right-aligned in termWidth; the cells of entries
// compacted away, before the node's first index, are one cell,
// compactedCell ("≤1200 snap"). Runs of cells that look the same are
// styled at once, so that a long row costs a few renders, not one per
// cell.
func writeLogRow(b *strings.Builder, c *programContext, nodes []*nodeState, n *nodeState, left int64, cols, termWidth int) {
	st := &c.styles
	commit := n.status.GetCommitIndex()
	last := n.log.last()
	if n.status != nil {
		last = max(last, n.status.GetLastIndex())
	}
	var run strings.Builder
	runTerm, runCommitted := int64(-1), false
	flush := func() {
		if run.Len() == 0 {
			return
		}
		switch {
		case runTerm <= 0:
			b.WriteString(st.Faint.Render(run.String()))
		case runCommitted:
			b.WriteString(termStyle(st.TermSolid, runTerm).Render(run.String()))
		default:
			b.WriteString(termStyle(st.TermDim, runTerm).Render(run.String()))
		}
		run.Reset()
	}
	terms := rowTerms(nodes, n, left, int(max(0, min(int64(cols), last-left+1))), last)
	// The entries before the node's first index are compacted: one cell
	// stands for them all.
	skip := compacted(n.status, left, len(terms))
	if skip > 0 {
		b.WriteString(compactedCell(st, n.status, skip*(termWidth+1)))
	}
	for i, term := range terms[skip:] {
		index := left + int64(skip+i)
		sep := byte(' ')
		if index == commit+1 {
			sep = commitSep
		}
		text := unknownCell
		if term > 0 {
			text = strconv.FormatInt(term, 10)
		}
		committed := index <= commit
		if term != runTerm || committed != runCommitted || sep != ' ' {
			flush()
			runTerm, runCommitted = term, committed
		}
		if sep != ' ' {
			b.WriteByte(sep)
		} else {
			run.WriteByte(sep)
		}
		run.WriteString(strings.Repeat(" ", termWidth-len(text)))
		run.WriteString(text)
	}
	flush()
}

// rowTerms returns the terms of n's entries from index left, count of
// them, 0 where unknown; last is n's last index. A gap between two known
// entries of the same term is filled with it: terms never decrease along a
// log, so the gap can hold no other term. The known entries on either side
// may lie outside the row, up to logCacheSize away.
func rowTerms(nodes []*nodeState, n *nodeState, left int64, count int, last int64) []int64 {
	terms := make([]int64, count)
	for i := range terms {
		terms[i] = entryTerm(nodes, n, left+int64(i))
	}
	var before int64 // the nearest known term before the current gap
	for j := left - 1; j >= max(1, left-logCacheSize) && before == 0; j-- {
		before = entryTerm(nodes, n, j)
	}
	for i := 0; i < count; {
		if terms[i] > 0 {
			before = terms[i]
			i++
			continue
		}
		end := i // the gap is terms[i:end]
		for end < count && terms[end] == 0 {
			end++
		}
		var after int64
		if end < count {
			after = terms[end]
		} else {
			for j := left + int64(end); j <= min(last, left+int64(end)+logCacheSize) && after == 0; j++ {
				after = entryTerm(nodes, n, j)
			}
		}
		if before > 0 && before == after {
			for k := i; k < end; k++ {
				terms[k] = before
			}
		}
		i = end
	}
	return terms
}

// entryTerm is the term of n's entry at index, 0 if unknown: from n's own
// cache, from its status for its last entry, or, for a committed index n's
// cache missed, from any node's cache where that index is committed too
// (committed entries are the same on every node).
func entryTerm(nodes []*nodeState, n *nodeState, index int64) int64 {
	if t := n.log.term(index); t > 0 {
		return t
	}
	if index == n.status.GetLastIndex() && n.status.GetLastTerm() > 0 {
		return n.status.GetLastTerm()
	}
	if index > n.status.GetCommitIndex() {
		return 0
	}
	for _, o := range nodes {
		if o != n && index <= o.status.GetCommitIndex() {
			if t := o.log.term(index); t > 0 {
				return t
			}
		}
	}
	return 0
}

// markerRow is the line under a follower's row: matchMark under the cell
// of the leader's match index for it, nextMark under its next index, and
// both numbers after the cells.
func markerRow(p *pb.PeerProgress, labelWidth int, left int64, cols, cell int) string {
	row := []byte(strings.Repeat(" ", labelWidth+cols*cell))
	place := func(index int64, mark byte) {
		if i := index - left; i >= 0 && i < int64(cols) {
			row[labelWidth+int(i)*cell+cell-1] = mark
		}
	}
	place(p.GetNextIndex(), nextMark)
	place(p.GetMatchIndex(), matchMark)
	marks := strings.TrimRight(string(row), " ")
	if len(marks) < labelWidth {
		marks = string(row[:labelWidth])
	}
	return marks + markerText(p.GetMatchIndex(), p.GetNextIndex())
}

// markerText is what a marker row ends with: "  ^57 >58".
func markerText(match, next int64) string {
	return fmt.Sprintf("  %c%d %c%d", matchMark, match, nextMark, next)
}

// indexRuler numbers every fifth (or tenth, when the numbers are too wide)
// cell of a row of cols cells starting at index left.
func indexRuler(left int64, cols, cell int) string {
	row := []byte(strings.Repeat(" ", cols*cell))
	step := int64(5)
	if digits(left+int64(cols))+1 > int(step)*cell {
		step = 10
	}
	free := 0 // the first column not yet written
	for i := range cols {
		index := left + int64(i)
		if index%step != 0 {
			continue
		}
		label := strconv.FormatInt(index, 10)
		at := i*cell + cell - 1 // under the cell's last digit
		if at < free || at+len(label) > len(row) {
			continue
		}
		copy(row[at:], label)
		free = at + len(label) + 1
	}
	return strings.TrimRight(string(row), " ")
}

// digits is how many characters v takes in decimal.
func digits(v int64) int { return len(strconv.FormatInt(v, 10)) }

// currentLeader is the leader (leaderOf) among nodes, or nil.
func currentLeader(nodes []*nodeState) *nodeState {
	if i := leaderOf(nodes); i >= 0 {
		return nodes[i]
	}
	return nil
}

// logKey scrolls the log view if msg is one of its keys, and says whether
// it was: [ and ] only when the prompt is empty (they can be typed in a
// command), end only while scrolled back (it also moves the prompt's
// cursor).
func (m *Model) logKey(msg tea.KeyMsg) bool {
	empty := m.input.Value() == ""
	typed := msg.Type == tea.KeyRunes
	switch {
	case key.Matches(msg, m.keys.LogBack) && (empty || !typed):
		m.logScroll.back(logTail(m.nodes))
	case key.Matches(msg, m.keys.LogForward) && (empty || !typed):
		m.logScroll.forward(logTail(m.nodes))
	case key.Matches(msg, m.keys.LogFollow) && m.logScroll.held:
		m.logScroll.follow()
	default:
		return false
	}
	return true
}
