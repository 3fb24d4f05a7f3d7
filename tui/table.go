package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/easykv/easykv/netlink/pb"
)

// tableBarWidth is the election timer's length in the node table.
const tableBarWidth = 10

// viewTable is the cards' condensed form for a short terminal or a big
// cluster: one line per node with its role, term, what its role is doing
// (a leader's pulse, a follower's timer, a candidate's tally, why a node
// is down) and its log indexes, each cut to the width.
func viewTable(c *programContext, nodes []*nodeState) string {
	st := &c.styles
	idWidth, badgeWidth := 0, 0
	for _, n := range nodes {
		idWidth = max(idWidth, ansi.StringWidth(n.node.ID))
		badgeWidth = max(badgeWidth, ansi.StringWidth(badgeText(n, n.badge())))
	}
	lines := make([]string, 0, len(nodes))
	for _, n := range nodes {
		b := n.badge()
		text := badgeText(n, b)
		line := st.ID.Render(n.node.ID) + strings.Repeat(" ", idWidth-ansi.StringWidth(n.node.ID)+1) +
			b.style(st).Render(text) + strings.Repeat(" ", badgeWidth-ansi.StringWidth(text))
		fields := tableFields(c, n)
		if b == badgeSilent || b == badgePaused {
			fields = append([]string{st.Faint.Render(n.wasRole())}, fields...)
		}
		for _, mark := range n.faultMarks() {
			fields = append(fields, st.Fault.Render(mark))
		}
		for _, f := range fields {
			line += "  " + f
		}
		lines = append(lines, ansi.Truncate(line, c.width, "…"))
	}
	return strings.Join(lines, "\n")
}

// tableFields are what a node's table line says after its role.
func tableFields(c *programContext, n *nodeState) []string {
	st := &c.styles
	s := n.status
	switch {
	case s != nil:
	case n.err != nil:
		return []string{st.Down.Render(clean(n.err.Error()))}
	case n.conn != nil:
		return []string{st.Faint.Render("waiting for status…")}
	default:
		return []string{st.Faint.Render("dialling…")}
	}
	fields := []string{label(st, "term", fmt.Sprint(s.GetTerm()))}
	switch {
	case !n.acting():
	case s.GetRole() == pb.Role_ROLE_LEADER:
		fields = append(fields, pulse(c, n))
	case s.GetRole() == pb.Role_ROLE_CANDIDATE || s.GetRole() == pb.Role_ROLE_PRE_CANDIDATE:
		var marks strings.Builder
		for _, id := range c.ids {
			marks.WriteString(voteMark(st, s, id))
		}
		fields = append(fields, fmt.Sprintf("%s %s %d/%d", st.Faint.Render("votes"), marks.String(),
			len(s.GetVotesGranted()), c.quorum))
	default:
		fields = append(fields, timerBar(c, n, tableBarWidth+1+len("0.00s")))
	}
	return append(fields,
		label(st, "commit", fmt.Sprint(s.GetCommitIndex())),
		label(st, "last", fmt.Sprintf("%d (term %d)", s.GetLastIndex(), s.GetLastTerm())),
		label(st, "leader", orDash(s.GetLeaderId())))
}
