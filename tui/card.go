package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/cellbuf"

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

// cardPlan is the node cards measured for the terminal's width: how many
// to a row, and each one's style and body before its log tail. Measuring
// once lets the layout try several heights without drawing the cards again.
type cardPlan struct {
	// perRow is how many cards sit side by side.
	perRow int
	// inner is the width of a card's text.
	inner int
	// frames are the styles of each card's frame: its role's colour.
	frames []lipgloss.Style
	// bodies are each card's text before its log tail, wrapped to inner,
	// one line each.
	bodies [][]string
	// rows are the lines each body takes, as wrapped.
	rows []int
	// tails are how many log entries each node sent.
	tails []int
}

// planCards measures the cards of nodes for the terminal's width.
func planCards(c *programContext, nodes []*nodeState) *cardPlan {
	perRow := max(1, min(len(nodes), c.width/minCardWidth))
	width := max(c.width/perRow, cardChrome+1)
	p := &cardPlan{
		perRow: perRow,
		inner:  width - cardChrome,
		frames: make([]lipgloss.Style, len(nodes)),
		bodies: make([][]string, len(nodes)),
		rows:   make([]int, len(nodes)),
		tails:  make([]int, len(nodes)),
	}
	for i, n := range nodes {
		frame := n.badge().style(&c.styles)
		if n.member == memberRemoved {
			frame = c.styles.Removed // dimmed: no longer part of the cluster
		}
		p.frames[i] = c.styles.Card.UnsetBorderStyle().UnsetPadding().Foreground(frame.GetForeground())
		// Wrapped as lipgloss wraps a block's text (cellbuf.Wrap at its
		// width less the padding), so the cards look as if lipgloss drew
		// them.
		p.bodies[i] = strings.Split(cellbuf.Wrap(cardBody(c, n, p.inner), p.inner, ""), "\n")
		p.rows[i] = len(p.bodies[i])
		p.tails[i] = len(n.status.GetLogTail())
	}
	return p
}

// height is how many lines the cards take when each lists at most limit
// log entries.
func (p *cardPlan) height(limit int) int {
	total := 0
	for start := 0; start < len(p.rows); start += p.perRow {
		end := min(start+p.perRow, len(p.rows))
		total += rowHeight(p.rows[start:end], p.tails[start:end], limit) + 2 // the borders
	}
	return total
}

// tailLimit is how many log entries each card may list so that the cards
// fit in height lines: at most maxTailLines, zero when even that does not
// fit.
func (p *cardPlan) tailLimit(height int) int {
	for limit := maxTailLines; limit > 0; limit-- {
		if p.height(limit) <= height {
			return limit
		}
	}
	return 0
}

// viewCards lays the node cards out in rows as wide as the terminal, each
// card in a row as tall as the tallest, each ending with the newest limit
// entries of its node's log, the same number on every card. The frames are
// drawn by hand rather than by lipgloss: a frame a message, for seven
// cards, is where most of View's time went.
func viewCards(c *programContext, nodes []*nodeState, p *cardPlan, limit int) string {
	border := c.styles.Card.GetBorderStyle()
	var b strings.Builder
	for start := 0; start < len(nodes); start += p.perRow {
		end := min(start+p.perRow, len(nodes))
		cardHeight := rowHeight(p.rows[start:end], p.tails[start:end], limit)
		cards := make([][]string, 0, end-start)
		for i := start; i < end; i++ {
			lines := p.bodies[i]
			if tail := tailLines(c, nodes[i].status, p.inner, limit); len(tail) > 0 {
				lines = append(lines[:len(lines):len(lines)], tail...)
			}
			cards = append(cards, frameCard(lines, p.inner, cardHeight, border, p.frames[i]))
		}
		for j := range cardHeight + 2 {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			for _, card := range cards {
				b.WriteString(card[j])
			}
		}
	}
	return b.String()
}

// frameCard draws lines (none wider than inner) in border, styled by
// style, with a space either side, height lines tall inside the border.
func frameCard(lines []string, inner, height int, border lipgloss.Border, style lipgloss.Style) []string {
	out := make([]string, 0, height+2)
	out = append(out, style.Render(border.TopLeft+strings.Repeat(border.Top, inner+2)+border.TopRight))
	left, right := style.Render(border.Left)+" ", " "+style.Render(border.Right)
	for j := range height {
		line := ""
		if j < len(lines) {
			line = lines[j]
		}
		out = append(out, left+line+strings.Repeat(" ", max(0, inner-ansi.StringWidth(line)))+right)
	}
	return append(out, style.Render(border.BottomLeft+strings.Repeat(border.Bottom, inner+2)+border.BottomRight))
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

// diskStallText is followed by how long each of a node's disk syncs
// stalls (SLOW_DISK): the stopwatch of a held message, on the disk.
const diskStallText = "⏱ disk +"

// diskStallMark marks a node whose disk syncs are stalled, "⏱ disk +1.5s",
// or is "" for none.
func diskStallMark(st *pb.NodeStatus) string {
	ms := st.GetDiskStallMs()
	if ms <= 0 {
		return ""
	}
	return diskStallText + (time.Duration(ms) * time.Millisecond).String()
}

// cardBody is the text inside one node's card, inner cells wide.
func cardBody(c *programContext, n *nodeState, inner int) string {
	st := &c.styles
	b := n.badge()
	first := st.ID.Render(n.node.ID) + " " + b.style(st).Render(badgeText(n, b))
	if b == badgeLeader {
		first += " " + pulse(c, n)
	}
	head := append([]string{first}, memberMarks(st, n)...)
	if b == badgeSilent || b == badgePaused {
		// The role it last reported is history, not what it does now.
		head = append(head, st.Faint.Render(n.wasRole()))
	}
	for _, mark := range n.faultMarks() {
		head = append(head, st.Fault.Render(mark))
	}
	if mark := diskStallMark(n.status); mark != "" {
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

// statusLines shows a connected node's latest status: its term, vote and
// leader, its timer or heartbeat, a candidate's tally, its indexes and
// newest snapshot, a line per snapshot it sends or receives, and a
// leader's peers.
func statusLines(c *programContext, n *nodeState, inner int) []string {
	st := &c.styles
	s := n.status
	lines := flow(inner,
		label(st, "term", fmt.Sprint(s.GetTerm())),
		label(st, "vote", orDash(s.GetVotedFor())),
		label(st, "leader", orDash(s.GetLeaderId())))
	role, acting := s.GetRole(), n.acting()
	switch {
	case !acting:
	case role == pb.Role_ROLE_LEADER:
		lines = append(lines, fmt.Sprintf("heartbeat every %dms", s.GetHeartbeatMs()))
	default:
		lines = append(lines, timerBar(c, n, inner))
	}
	if acting && (role == pb.Role_ROLE_CANDIDATE || role == pb.Role_ROLE_PRE_CANDIDATE) {
		lines = append(lines, tallyLines(c, s, inner)...)
	}
	indexes := []string{
		label(st, "commit", fmt.Sprint(s.GetCommitIndex())),
		label(st, "applied", fmt.Sprint(s.GetAppliedIndex())),
		label(st, "last", fmt.Sprintf("%d (term %d)", s.GetLastIndex(), s.GetLastTerm())),
	}
	if snap := snapText(s); snap != "" {
		indexes = append(indexes, label(st, "snap", snap))
	}
	lines = append(lines, flow(inner, indexes...)...)
	for _, t := range s.GetSnapshotTransfers() {
		lines = append(lines, transferLines(st, t, inner)...)
	}
	if acting && role == pb.Role_ROLE_LEADER {
		lines = append(lines, peerLines(c, s, inner)...)
	}
	return lines
}

// badgeText is the badge as a card or the node table heads a node with:
// a silent node's says for how long ("✖ silent 3.2s").
func badgeText(n *nodeState, b badge) string {
	if b == badgeSilent {
		return b.text() + " " + sinceText(n.silentFor)
	}
	return b.text()
}

// timerBar draws the election timer: a bar as long as this round's timeout
// that drains to nothing, and the seconds left.
func timerBar(c *programContext, n *nodeState, inner int) string {
	st := &c.styles
	if n.status.GetTimerHeld() {
		return st.Faint.Render("election timer held")
	}
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

// The marks of a vote tally, one per node, readable without colour.
const (
	// voteGranted, voteDenied and voteWaiting mark a node that granted its
	// (pre-)vote, refused it, or has not answered.
	voteGranted = "●"
	voteDenied  = "✗"
	voteWaiting = "○"
)

// tallyLines shows a (pre-)candidate's votes so far against the quorum, and
// each node's answer: granted, denied, or waiting.
func tallyLines(c *programContext, s *pb.NodeStatus, inner int) []string {
	fields := []string{fmt.Sprintf("votes %d of %d needed", len(s.GetVotesGranted()), c.quorum)}
	for _, id := range c.ids {
		fields = append(fields, voteMark(&c.styles, s, id)+" "+id)
	}
	return flow(inner, fields...)
}

// voteMark is node id's answer to the (pre-)candidate whose status is s.
func voteMark(st *Styles, s *pb.NodeStatus, id string) string {
	switch {
	case slices.Contains(s.GetVotesGranted(), id):
		return st.Good.Render(voteGranted)
	case slices.Contains(s.GetVotesRejected(), id):
		return st.Bad.Render(voteDenied)
	default:
		return st.Faint.Render(voteWaiting)
	}
}

// pulse is the leader's heartbeat mark: lit (♥) for a moment after the
// node reported sending heartbeats or entries, dark (♡) otherwise, so the
// card beats while heartbeats go out and stops when the leader goes quiet.
func pulse(c *programContext, n *nodeState) string {
	if n.pulsing(c.now) {
		return c.styles.Pulse.Render("♥")
	}
	return c.styles.Faint.Render("♡")
}

// peerLines shows how far the leader has replicated to each peer, one peer
// per line (continued, indented, when narrow), a learner's id after ◇; ✗
// marks a peer it has not heard from within an election timeout, "⇡
// snapshot" one it is sending a snapshot to (its progress state
// "snapshot").
func peerLines(c *programContext, s *pb.NodeStatus, inner int) []string {
	st := &c.styles
	var lines []string
	for _, p := range s.GetPeers() {
		mark := st.Good.Render("✓")
		if !p.GetRecentActive() {
			mark = st.Bad.Render("✗")
		}
		id := clean(p.GetId())
		if p.GetLearner() {
			id = st.Learner.Render(learnerGlyph) + id // as the event pane lists members
		}
		fields := []string{
			mark + " " + id + " " + label(st, "match", fmt.Sprint(p.GetMatchIndex())),
			label(st, "next", fmt.Sprint(p.GetNextIndex())),
		}
		if p.GetState() == peerSnapshotState {
			fields = append(fields, st.Snapshot.Render(sendGlyph+" snapshot"))
		}
		peer := flow(inner-2, fields...)
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

// label is a faint name followed by its value.
func label(st *Styles, name, value string) string {
	if l, ok := st.Labels[name]; ok {
		return l + " " + value
	}
	return st.Faint.Render(name) + " " + value
}

// orDash stands in for an empty id, and cleans one sent by a node.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return clean(s)
}

// flow packs fields into lines at most width cells wide, two spaces apart,
// never splitting a field; a field wider than width gets a line of its own.
func flow(width int, fields ...string) []string {
	return wrapItems(fields, "  ", width)
}
