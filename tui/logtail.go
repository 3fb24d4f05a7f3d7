package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/easykv/easykv/netlink/pb"
)

const (
	// maxTailLines is the most log entries a card lists; nodes send about
	// eight. Fewer are shown when the terminal is short.
	maxTailLines = 8
	// committedMark and uncommittedMark start a log line, so that what is
	// committed reads without colour.
	committedMark   = "✓"
	uncommittedMark = "·"
	// noopText stands for the no-op entry a new leader appends.
	noopText = "(no-op)"
)

// tailRows is how many lines a card's log tail takes when it may list limit
// entries and the node sent have of them: a rule, then one line per entry,
// or nothing at all.
func tailRows(have, limit int) int {
	if n := min(have, limit); n > 0 {
		return n + 1
	}
	return 0
}

// tailLines shows the newest limit entries of the node's log tail under a
// rule, oldest first, one per line: a mark (✓ committed, · not yet), the
// index, the term and the command, cut to inner cells. Empty when limit is
// zero or the node sent no entries.
func tailLines(c *programContext, s *pb.NodeStatus, inner, limit int) []string {
	entries := s.GetLogTail()
	if tailRows(len(entries), limit) == 0 {
		return nil
	}
	entries = entries[len(entries)-min(len(entries), limit):]
	st := &c.styles
	indexWidth := 1
	for _, e := range entries {
		indexWidth = max(indexWidth, len(fmt.Sprint(e.GetIndex())))
	}
	lines := []string{st.Faint.Render(rule("log", inner))}
	for _, e := range entries {
		text := fmt.Sprintf("%*d t%d %s", indexWidth, e.GetIndex(), e.GetTerm(), entryText(e))
		// Cut before styling, and leave room for the mark and its space.
		text = ansi.Truncate(text, max(inner-2, 0), "…")
		if e.GetIndex() <= s.GetCommitIndex() {
			lines = append(lines, st.Good.Render(committedMark)+" "+st.Committed.Render(text))
		} else {
			lines = append(lines, st.Uncommitted.Render(uncommittedMark+" "+text))
		}
	}
	return lines
}

// entryText is what a log entry does, as a card lists it.
func entryText(e *pb.LogEntry) string {
	switch {
	case e.GetType() == pb.EntryType_ENTRY_NOOP:
		return noopText
	case e.GetCommand() == "":
		return "-"
	default:
		return clean(e.GetCommand())
	}
}

// rule is "── name ─────" exactly width cells wide, or just name (cut to
// width) when that does not fit.
func rule(name string, width int) string {
	fill := width - len(name) - 4
	if fill < 1 {
		return ansi.Truncate(name, max(width, 0), "")
	}
	return "── " + name + " " + strings.Repeat("─", fill)
}
