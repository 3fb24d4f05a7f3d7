package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/easykv/easykv/netlink/pb"
)

// minEventLines is how much of the event pane (its heading and two lines)
// the cards leave free by listing fewer log entries, when the terminal is
// short.
const minEventLines = 3

// View draws the frame: title, cards, events (or the help overlay), the
// status line, the prompt and a line of key help. It is never taller than
// the terminal: what does not fit is cut from the bottom of the body.
func (m *Model) View() string {
	c := &m.ctx
	footer := []string{m.viewStatus(), m.input.View(), m.help.View(m.keys)}
	bodyHeight := c.height - 1 - len(footer)
	var body string
	if m.showHelp {
		body = padLines(viewHelp(c, m.keys, m.help, bodyHeight), bodyHeight)
	} else {
		body = viewCards(c, m.nodes, bodyHeight-minEventLines)
		if rest := bodyHeight - lipgloss.Height(body); rest > 0 {
			body += "\n" + viewEvents(c, &m.events, rest)
		} else {
			body = padLines(body, bodyHeight)
		}
	}
	lines := []string{m.viewTitle()}
	if bodyHeight > 0 {
		lines = append(lines, body)
	}
	return strings.Join(append(lines, footer...), "\n")
}

// viewTitle is the top line: cluster, size, current leader and the time.
func (m *Model) viewTitle() string {
	c := &m.ctx
	st := &c.styles
	left := "easykv"
	if m.opts.Cluster != "" {
		left += " · " + clean(m.opts.Cluster)
	}
	left += fmt.Sprintf(" · %d nodes · %s", len(m.nodes), m.leaderSummary())
	clock := c.now.Format("15:04:05")
	gap := c.width - lipgloss.Width(left) - len(clock)
	if gap < 1 {
		return ansi.Truncate(st.Title.Render(left), c.width, "…")
	}
	return st.Title.Render(left) + strings.Repeat(" ", gap) + st.Clock.Render(clock)
}

// leaderSummary names the leader of the highest term any node reports.
func (m *Model) leaderSummary() string {
	var leader *nodeState
	for _, n := range m.nodes {
		if n.status.GetRole() == pb.Role_ROLE_LEADER &&
			(leader == nil || n.status.GetTerm() > leader.status.GetTerm()) {
			leader = n
		}
	}
	if leader == nil {
		return "no leader"
	}
	return fmt.Sprintf("leader %s (term %d)", leader.node.ID, leader.status.GetTerm())
}

// viewStatus is the answer to the last command, cut to the width.
func (m *Model) viewStatus() string {
	st := &m.ctx.styles
	style := st.StatusOK
	if m.status.isErr {
		style = st.StatusErr
	}
	return ansi.Truncate(style.Render(m.status.text), m.ctx.width, "…")
}

// padLines makes s exactly height lines: blank lines are added at the end,
// surplus lines cut from the end.
func padLines(s string, height int) string {
	if height < 1 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > height {
		lines = lines[:height]
	}
	for len(lines) < height {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}
