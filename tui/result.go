package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// resultView is the overlay that shows the newest result in full: a get's
// whole value, however long, which the status line and the event pane
// show cut. ctrl+o opens and closes it, pgup and pgdn scroll it, esc
// closes it.
type resultView struct {
	// text is the newest result in full; empty before the first.
	text string
	// open says the overlay replaces the cards and events.
	open bool
	// top is the first wrapped line shown.
	top int
}

// keepResult records text as the newest result, for the overlay.
func (m *Model) keepResult(text string) {
	m.result.text, m.result.top = text, 0
}

// resultKey handles the overlay's keys; it reports whether it took msg.
func (m *Model) resultKey(msg tea.KeyMsg) bool {
	switch {
	case key.Matches(msg, m.keys.ShowResult):
		if m.result.text == "" && !m.result.open {
			m.setStatus("no result yet: run a command first")
			return true
		}
		m.result.open = !m.result.open
		m.showHelp = false
	case !m.result.open:
		return false
	case key.Matches(msg, m.keys.Cancel):
		m.result.open = false
	case key.Matches(msg, m.keys.LogBack):
		m.result.top = max(0, m.result.top-m.resultPage())
	case key.Matches(msg, m.keys.LogForward):
		m.result.top += m.resultPage()
	default:
		return false
	}
	return true
}

// resultPage is how far pgup and pgdn move: half the body.
func (m *Model) resultPage() int {
	return max(1, (m.ctx.height-6)/2)
}

// viewResult draws the overlay in height lines: a heading, then the
// result wrapped to the width from line top on.
func viewResult(c *programContext, r *resultView, height int) string {
	st := &c.styles
	width := max(c.width, 1)
	lines := strings.Split(ansi.Wrap(r.text, width, ""), "\n")
	room := max(height-1, 0)
	r.top = min(r.top, max(len(lines)-room, 0))
	end := min(r.top+room, len(lines))
	heading := fmt.Sprintf("newest result in full: lines %d–%d of %d (pgup/pgdn scroll, ctrl+o or esc closes)", r.top+1, end, len(lines))
	out := append([]string{st.Faint.Render(ansi.Truncate(heading, width, "…"))}, lines[r.top:end]...)
	return strings.Join(out, "\n")
}
