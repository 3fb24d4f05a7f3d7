package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/easykv/easykv/netlink/pb"
)

// tableBarWidth is the election timer's length in the node table.
const tableBarWidth = 10

// Priorities of a node line's fields: when the line is too wide, the
// fields of the lowest priority are left out first, wherever they stand.
const (
	// keepAlways is never left out (the line is cut with "…" instead):
	// what state the node is in, and why.
	keepAlways = iota
	// keepRole is its term, what its role is doing (a leader's heartbeat,
	// a follower's timer, a candidate's tally) and its commit index.
	keepRole
	// keepApplied is its applied index.
	keepApplied
	// keepLast is its last index and term.
	keepLast
	// keepLeader is the leader it follows.
	keepLeader
)

// lineField is one field of a node line and its priority.
type lineField struct {
	text     string
	priority int
}

// viewTable is the cards' condensed form for a small terminal (80×24) or a
// big cluster: one line per node, read like the card's head. Its badge
// (from the card's n.badge(), badgeText: a silent node's "✖ silent 3.2s"),
// the role it last reported when silent or paused, its fault marks, then
// its term, what its role is doing, commit, applied and last index, a
// short mark per snapshot it sends or receives ("⇡snap→n3 26%", "⇣snap
// 26%") and its leader. When a line is too wide for the terminal, every line leaves
// out, in turn, the leader, the last index and the applied index; what
// still does not fit is cut with "…".
func viewTable(c *programContext, nodes []*nodeState) string {
	st := &c.styles
	idWidth, badgeWidth := 0, 0
	for _, n := range nodes {
		idWidth = max(idWidth, ansi.StringWidth(n.node.ID))
		badgeWidth = max(badgeWidth, ansi.StringWidth(badgeText(n, n.badge())))
	}
	heads := make([]string, len(nodes))
	fields := make([][]lineField, len(nodes))
	for i, n := range nodes {
		b := n.badge()
		text := badgeText(n, b)
		heads[i] = st.ID.Render(n.node.ID) + strings.Repeat(" ", idWidth-ansi.StringWidth(n.node.ID)+1) +
			b.style(st).Render(text) + strings.Repeat(" ", badgeWidth-ansi.StringWidth(text))
		fields[i] = tableFields(c, n)
	}
	// Every line leaves out the same fields, so that they read as columns:
	// as few as the widest line needs, unless it is cut all the same.
	keep := keepLeader
	for i := range nodes {
		need := keepLeader
		for need > keepRole && ansi.StringWidth(joinFields(heads[i], fields[i], need)) > c.width {
			need--
		}
		if ansi.StringWidth(joinFields(heads[i], fields[i], need)) <= c.width {
			keep = min(keep, need)
		}
	}
	lines := make([]string, len(nodes))
	for i := range nodes {
		lines[i] = ansi.Truncate(joinFields(heads[i], fields[i], keep), c.width, "…")
	}
	return strings.Join(lines, "\n")
}

// joinFields is head followed by the fields of priority keep or higher
// (a lower number), two spaces apart.
func joinFields(head string, fields []lineField, keep int) string {
	var b strings.Builder
	b.WriteString(head)
	for _, f := range fields {
		if f.priority <= keep {
			b.WriteString("  ")
			b.WriteString(f.text)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// tableFields are what a node's line says after its badge.
func tableFields(c *programContext, n *nodeState) []lineField {
	st := &c.styles
	var fields []lineField
	for _, mark := range memberMarks(st, n) {
		fields = append(fields, lineField{mark, keepAlways})
	}
	b := n.badge()
	if (b == badgeSilent || b == badgePaused) && n.status != nil {
		fields = append(fields, lineField{st.Faint.Render(n.wasRole()), keepAlways})
	}
	for _, mark := range n.faultMarks() {
		fields = append(fields, lineField{st.Fault.Render(mark), keepAlways})
	}
	if mark := diskStallMark(n.status); mark != "" {
		fields = append(fields, lineField{st.Fault.Render(mark), keepAlways})
	}
	s := n.status
	switch {
	case s != nil:
	case n.err != nil:
		return append(fields, lineField{st.Down.Render(clean(n.err.Error())), keepAlways})
	case n.conn != nil:
		return append(fields, lineField{st.Faint.Render("waiting for status…"), keepAlways})
	default:
		return append(fields, lineField{st.Faint.Render("dialling…"), keepAlways})
	}
	if b != badgeSilent && b != badgePaused {
		// The role it last reported says the term already.
		fields = append(fields, lineField{label(st, "term", fmt.Sprint(s.GetTerm())), keepRole})
	}
	role := s.GetRole()
	// A paused follower's timer stands still: worth less than its indexes.
	doing := keepRole
	if b == badgePaused {
		doing = keepLast
	}
	switch {
	case !n.acting():
	case role == pb.Role_ROLE_LEADER:
		fields = append(fields, lineField{pulse(c, n) + " " + label(st, "every", fmt.Sprintf("%dms", s.GetHeartbeatMs())), keepRole})
	case role == pb.Role_ROLE_CANDIDATE || role == pb.Role_ROLE_PRE_CANDIDATE:
		var marks strings.Builder
		for _, id := range c.ids {
			marks.WriteString(voteMark(st, s, id))
		}
		fields = append(fields, lineField{fmt.Sprintf("%s %s %d/%d", st.Faint.Render("votes"), marks.String(),
			len(s.GetVotesGranted()), c.quorum), keepRole})
	default:
		fields = append(fields, lineField{timerBar(c, n, tableBarWidth+1+len("0.00s")), doing})
	}
	fields = append(fields,
		lineField{label(st, "commit", fmt.Sprint(s.GetCommitIndex())), keepRole},
		lineField{label(st, "applied", fmt.Sprint(s.GetAppliedIndex())), keepApplied},
		lineField{label(st, "last", fmt.Sprintf("%d (term %d)", s.GetLastIndex(), s.GetLastTerm())), keepLast})
	// A snapshot under way is rare and telling: kept before the indexes.
	for _, t := range s.GetSnapshotTransfers() {
		fields = append(fields, lineField{transferMark(st, t), keepRole})
	}
	if role != pb.Role_ROLE_LEADER || !n.acting() {
		fields = append(fields, lineField{label(st, "leader", orDash(s.GetLeaderId())), keepLeader})
	}
	return fields
}
