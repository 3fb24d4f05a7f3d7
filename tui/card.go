package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/easykv/easykv/netlink/pb"
)

const (
	// minCardWidth is the narrowest a card may be before the cards wrap to
	// another row; three cards still sit side by side in 80 columns.
	minCardWidth = 26
	// cardChrome is the border and padding around a card's text.
	cardChrome = 4
	// maxErrLines caps how much of a long error a DOWN card shows.
	maxErrLines = 3
)

// viewCards lays the node cards out in rows as wide as the terminal, each
// card in a row as tall as the tallest. Each card ends with the tail of its
// node's log: as many entries as let the cards fit in height lines, the same
// number on every card. If the cards do not fit even without a log, they
// are drawn taller than height and the caller cuts them.
func viewCards(c *programContext, nodes []*nodeState, height int) string {
	perRow := max(1, min(len(nodes), c.width/minCardWidth))
	width := max(c.width/perRow, cardChrome+1)
	inner := width - cardChrome
	styles := make([]lipgloss.Style, len(nodes))
	bodies := make([]string, len(nodes))
	rows := make([]int, len(nodes)) // lines each card's body takes, as wrapped
	tails := make([]int, len(nodes))
	for i, n := range nodes {
		styles[i] = c.styles.Card.
			BorderForeground(n.badge().style(&c.styles).GetForeground()).
			Width(width - 2)
		bodies[i] = cardBody(c, n, inner)
		rows[i] = lipgloss.Height(styles[i].Render(bodies[i])) - 2
		tails[i] = len(n.status.GetLogTail())
	}
	limit := tailLimit(perRow, rows, tails, height)
	var out []string
	for start := 0; start < len(nodes); start += perRow {
		end := min(start+perRow, len(nodes))
		cardHeight := rowHeight(rows[start:end], tails[start:end], limit)
		cards := make([]string, 0, end-start)
		for i := start; i < end; i++ {
			body := bodies[i]
			if tail := tailLines(c, nodes[i].status, inner, limit); len(tail) > 0 {
				body += "\n" + strings.Join(tail, "\n")
			}
			cards = append(cards, styles[i].Height(cardHeight).Render(body))
		}
		out = append(out, lipgloss.JoinHorizontal(lipgloss.Top, cards...))
	}
	return lipgloss.JoinVertical(lipgloss.Left, out...)
}

// tailLimit is how many log entries each card may list so that the rows of
// cards, perRow to a row, fit in height lines: at most maxTailLines, zero
// when even that does not fit. rows and tails are each card's body lines
// and log entries.
func tailLimit(perRow int, rows, tails []int, height int) int {
	for limit := maxTailLines; limit > 0; limit-- {
		total := 0
		for start := 0; start < len(rows); start += perRow {
			end := min(start+perRow, len(rows))
			total += rowHeight(rows[start:end], tails[start:end], limit) + 2 // the borders
		}
		if total <= height {
			return limit
		}
	}
	return 0
}

// rowHeight is the inner height of a row of cards whose bodies take rows
// lines and whose nodes sent tails log entries, when limit are listed.
func rowHeight(rows, tails []int, limit int) int {
	h := 0
	for i := range rows {
		h = max(h, rows[i]+tailRows(tails[i], limit))
	}
	return h
}

// cardBody is the text inside one node's card, inner cells wide.
func cardBody(c *programContext, n *nodeState, inner int) string {
	st := &c.styles
	b := n.badge()
	head := []string{st.ID.Render(n.node.ID) + " " + b.style(st).Render(b.text())}
	if n.status.GetPaused() {
		head = append(head, st.Paused.Render(pausedText))
	}
	for _, mark := range n.faultMarks() {
		head = append(head, st.Fault.Render(mark))
	}
	lines := flow(inner, head...)
	lines = append(lines, st.Faint.Render(n.node.Addr))
	switch {
	case n.status != nil:
		lines = append(lines, statusLines(c, n, inner)...)
	case n.conn != nil:
		lines = append(lines, st.Faint.Render("waiting for status…"))
	case n.err != nil:
		lines = append(lines, downLines(c, n, inner)...)
	default:
		lines = append(lines, st.Faint.Render("dialling…"))
	}
	return strings.Join(lines, "\n")
}

// statusLines shows a connected node's snapshot.
func statusLines(c *programContext, n *nodeState, inner int) []string {
	st := &c.styles
	s := n.status
	lines := flow(inner,
		label(st, "term", fmt.Sprint(s.GetTerm())),
		label(st, "vote", orDash(s.GetVotedFor())),
		label(st, "leader", orDash(s.GetLeaderId())))
	role := s.GetRole()
	if role == pb.Role_ROLE_LEADER {
		lines = append(lines, fmt.Sprintf("heartbeat every %dms", s.GetHeartbeatMs()))
	} else {
		lines = append(lines, timerBar(c, n, inner))
	}
	if role == pb.Role_ROLE_CANDIDATE || role == pb.Role_ROLE_PRE_CANDIDATE {
		lines = append(lines, tallyLines(c, s, inner)...)
	}
	lines = append(lines, flow(inner,
		label(st, "commit", fmt.Sprint(s.GetCommitIndex())),
		label(st, "applied", fmt.Sprint(s.GetAppliedIndex())),
		label(st, "last", fmt.Sprintf("%d (term %d)", s.GetLastIndex(), s.GetLastTerm())))...)
	if role == pb.Role_ROLE_LEADER {
		lines = append(lines, peerLines(c, s, inner)...)
	}
	return lines
}

// timerBar draws the election timer: a bar as long as this round's timeout
// that drains to nothing, and the seconds left.
func timerBar(c *programContext, n *nodeState, inner int) string {
	st := &c.styles
	left := n.electionRemaining(c.now)
	secs := fmt.Sprintf("%.2fs", left.Seconds())
	timeout := time.Duration(n.status.GetElectionTimeoutMs()) * time.Millisecond
	barWidth := inner - 1 - len(secs)
	if timeout <= 0 || barWidth < 1 {
		return "election in " + secs
	}
	full := int((int64(barWidth)*int64(min(left, timeout)) + int64(timeout)/2) / int64(timeout))
	return st.BarFull.Render(strings.Repeat("█", full)) +
		st.BarEmpty.Render(strings.Repeat("░", barWidth-full)) + " " + secs
}

// tallyLines shows a (pre-)candidate's votes so far against the quorum.
func tallyLines(c *programContext, s *pb.NodeStatus, inner int) []string {
	st := &c.styles
	fields := []string{fmt.Sprintf("votes %d of %d needed", len(s.GetVotesGranted()), c.quorum)}
	for _, id := range s.GetVotesGranted() {
		fields = append(fields, st.Good.Render("✓")+" "+clean(id))
	}
	for _, id := range s.GetVotesRejected() {
		fields = append(fields, st.Bad.Render("✗")+" "+clean(id))
	}
	return flow(inner, fields...)
}

// peerLines shows how far the leader has replicated to each peer, one peer
// per line (continued, indented, when narrow); ✗ marks a peer it has not
// heard from within an election timeout.
func peerLines(c *programContext, s *pb.NodeStatus, inner int) []string {
	st := &c.styles
	var lines []string
	for _, p := range s.GetPeers() {
		mark := st.Good.Render("✓")
		if !p.GetRecentActive() {
			mark = st.Bad.Render("✗")
		}
		peer := flow(inner-2,
			mark+" "+clean(p.GetId())+" "+label(st, "match", fmt.Sprint(p.GetMatchIndex())),
			label(st, "next", fmt.Sprint(p.GetNextIndex())))
		for i, l := range peer {
			if i > 0 {
				l = "  " + l
			}
			lines = append(lines, l)
		}
	}
	return lines
}

// downLines shows why a node is unreachable and when it is tried again.
func downLines(c *programContext, n *nodeState, inner int) []string {
	st := &c.styles
	lines := strings.Split(ansi.Wrap(clean(n.err.Error()), inner, ""), "\n")
	if len(lines) > maxErrLines {
		lines = lines[:maxErrLines]
		lines[maxErrLines-1] = ansi.Truncate(lines[maxErrLines-1], inner-1, "") + "…"
	}
	for i := range lines {
		lines[i] = st.Down.Render(lines[i])
	}
	if n.retryAt.IsZero() {
		return append(lines, st.Faint.Render("reconnecting…"))
	}
	return append(lines, flow(inner,
		st.Faint.Render(fmt.Sprintf("retry in %.1fs", max(n.retryAt.Sub(c.now), 0).Seconds())),
		st.Faint.Render(fmt.Sprintf("(attempt %d)", n.failures+1)))...)
}

// flow packs fields into lines at most width cells wide, two spaces apart,
// never splitting a field; a field wider than width gets a line of its own.
func flow(width int, fields ...string) []string {
	var lines []string
	cur := ""
	for _, f := range fields {
		switch {
		case cur == "":
			cur = f
		case lipgloss.Width(cur)+2+lipgloss.Width(f) <= width:
			cur += "  " + f
		default:
			lines = append(lines, cur)
			cur = f
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// label is a faint name followed by its value.
func label(st *Styles, name, value string) string {
	return st.Faint.Render(name) + " " + value
}

// orDash stands in for an empty id, and cleans one sent by a node.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return clean(s)
}
