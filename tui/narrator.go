package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// narrationMsg is a recorded narrator pane, replayed (nil lines: none).
type narrationMsg struct{ lines []string }

// lines is the narrator pane's text, one logical line each, unstyled: the
// head (which step of how many, the keys), the step's words (what is
// about to happen, why, what to look at), its checks ("✓ …", "✗ …", or
// "… waiting" with, when countdown, the time left) and, once they have
// all resolved, the key that goes on. A recording keeps these lines
// without the countdown, which changes every tick.
func (run *sceneRun) lines(now time.Time, countdown bool) []string {
	head := fmt.Sprintf("scenario %s · step %d of %d · n next · esc leave", run.sc.Name, min(run.step+1, len(run.sc.Steps)), len(run.sc.Steps))
	if run.restoring {
		return []string{fmt.Sprintf("scenario %s · restoring the cluster…", run.sc.Name)}
	}
	out := []string{head}
	if run.step < len(run.sc.Steps) {
		out = append(out, narration(&run.sc.Steps[run.step], run.names)...)
	}
	left := ""
	if countdown {
		left = fmt.Sprintf(" (%s left)", sinceText(max(run.deadline.Sub(now), 0)))
	}
	for _, ch := range run.checks {
		switch {
		case ch.passed:
			out = append(out, "✓ "+ch.result)
		case ch.failed:
			out = append(out, fmt.Sprintf("✗ expected %s; instead: %s", ch.text, ch.result))
		case ch.check.Always:
			out = append(out, fmt.Sprintf("… holding: %s, so far%s", ch.text, left))
		default:
			out = append(out, fmt.Sprintf("… waiting: %s%s", ch.text, left))
		}
	}
	if run.stepResolved() {
		if run.step == len(run.sc.Steps)-1 {
			out = append(out, "n: finish and restore the cluster")
		} else {
			out = append(out, "n: next step")
		}
	}
	return out
}

// viewNarrator draws the narrator pane's lines in at most height lines of
// width, wrapping the words and styling the rest by what each line is.
// Short of room it leaves out, in turn, what to look at, the why, and the
// end of what is about to happen: the head, the first line of the words
// and the checks stay.
func viewNarrator(c *programContext, lines []string, width, height int) string {
	st := &c.styles
	var head, checks []string
	var words [][]string // each narration line, wrapped
	for i, line := range lines {
		switch {
		case i == 0:
			head = []string{ansi.Truncate(st.Section.Render(line), width, "…")}
		case strings.HasPrefix(line, "✓ "):
			checks = append(checks, ansi.Truncate(st.Good.Render(line), width, "…"))
		case strings.HasPrefix(line, "✗ "):
			checks = append(checks, ansi.Truncate(st.Bad.Render(line), width, "…"))
		case strings.HasPrefix(line, "… "), strings.HasPrefix(line, "n: "):
			checks = append(checks, ansi.Truncate(st.Faint.Render(line), width, "…"))
		default:
			words = append(words, strings.Split(ansi.Wrap(line, width, ""), "\n"))
		}
	}
	count := func() int {
		n := len(head) + len(checks)
		for _, w := range words {
			n += len(w)
		}
		return n
	}
	for len(words) > 1 && count() > height {
		words = words[:len(words)-1] // look, then why
	}
	if len(words) == 1 && count() > height {
		words[0] = words[0][:max(1, len(words[0])-(count()-height))]
	}
	out := head
	for _, w := range words {
		out = append(out, w...)
	}
	out = append(out, checks...)
	if height > 0 && len(out) > height {
		out = out[:height]
	}
	return strings.Join(out, "\n")
}

// narratorLines is the narrator pane's lines now, live or replayed; nil
// when there is no scenario.
func (m *Model) narratorLines() []string {
	if m.scene != nil {
		return m.scene.lines(m.ctx.now, true)
	}
	return m.narration
}

// narrate hands Options.Narrate the narrator pane's lines, without the
// countdown, when they changed since it last did.
func (m *Model) narrate() tea.Cmd {
	if m.opts.Narrate == nil {
		return nil
	}
	var lines []string
	if m.scene != nil {
		lines = m.scene.lines(m.ctx.now, false)
	}
	if slices.Equal(lines, m.narrated) {
		return nil
	}
	m.narrated = lines
	narrate := m.opts.Narrate
	return func() tea.Msg {
		narrate(lines)
		return nil
	}
}
