package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// minEventLines is how much of the event pane (its heading and two lines)
// the cards leave free by listing fewer log entries, or by giving way to
// the one-line-per-node table, when the terminal is short.
const minEventLines = 3

// View returns the frame: drawn anew, or with Options.SteadyFrames the
// last one while only node streams arrived since.
func (m *Model) View() string {
	if m.opts.SteadyFrames && !m.stale && m.frame != "" {
		return m.frame
	}
	m.frame, m.stale = m.draw(), false
	return m.frame
}

// draw lays out the frame: the header, the nodes, log view, traffic and
// events (or the help overlay), the status line, the prompt and a line of
// key help. It is never taller than the terminal: what does not fit is cut
// from the bottom of the body.
func (m *Model) draw() string {
	c := &m.ctx
	footer := append(m.viewStatus(), m.input.View(), m.help.View(m.keys))
	header := m.viewHeader()
	bodyHeight := c.height - len(header) - len(footer)
	var body string
	switch {
	case m.result.open:
		body = padLines(viewResult(c, &m.result, bodyHeight), bodyHeight)
	case m.showHelp:
		body = padLines(viewHelp(c, m.keys, m.help, bodyHeight), bodyHeight)
	default:
		body = m.viewBody(bodyHeight)
	}
	lines := header
	if bodyHeight > 0 {
		lines = append(lines, body)
	}
	return strings.Join(append(lines, footer...), "\n")
}

// leaderSummary names the leader (leaderOf) and its term.
func (m *Model) leaderSummary() string {
	idx := m.leaderIndex()
	if idx < 0 {
		return "no leader"
	}
	return fmt.Sprintf("leader %s (term %d)", m.nodes[idx].node.ID, m.nodes[idx].status.GetTerm())
}

// viewStatus is the answer to the last command, wrapped to the width on
// up to maxStatusLines lines, the last cut with "…" if it goes on: a
// warning at the end of a long answer is read, not cut off.
func (m *Model) viewStatus() []string {
	st := &m.ctx.styles
	style := st.StatusOK
	if m.status.isErr {
		style = st.StatusErr
	}
	width := max(m.ctx.width, 1)
	lines := strings.Split(ansi.Wrap(m.status.text, width, ""), "\n")
	if len(lines) > maxStatusLines {
		lines = lines[:maxStatusLines]
		lines[maxStatusLines-1] = ansi.Truncate(lines[maxStatusLines-1], width-1, "") + "…"
	}
	for i, l := range lines {
		lines[i] = style.Render(l)
	}
	return lines
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
