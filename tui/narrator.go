package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// viewNarrator draws the running scenario's narrator pane in at most
// height lines of width: which step of how many, the keys, the step's
// words (what is about to happen, why, what to look at) and its checks,
// each ✓, ✗ or waiting with the time it has left.
func viewNarrator(c *programContext, run *sceneRun, width, height int) string {
	st := &c.styles
	head := fmt.Sprintf("scenario %s · step %d of %d · n next · esc leave", run.sc.Name, min(run.step+1, len(run.sc.Steps)), len(run.sc.Steps))
	if run.restoring {
		head = fmt.Sprintf("scenario %s · restoring the cluster…", run.sc.Name)
	}
	out := []string{ansi.Truncate(st.Section.Render(head), width, "…")}
	if !run.restoring && run.step < len(run.sc.Steps) {
		for _, line := range narration(&run.sc.Steps[run.step], run.names) {
			for _, l := range strings.Split(ansi.Wrap(line, width, ""), "\n") {
				out = append(out, l)
			}
		}
	}
	for _, ch := range run.checks {
		var line string
		switch {
		case ch.passed:
			line = st.Good.Render("✓ " + ch.result)
		case ch.failed:
			line = st.Bad.Render(fmt.Sprintf("✗ expected %s; instead: %s", ch.text, ch.result))
		case ch.check.Always:
			line = st.Faint.Render(fmt.Sprintf("… %s, so far (%s to go)", ch.text, sinceText(max(run.deadline.Sub(c.now), 0))))
		default:
			line = st.Faint.Render(fmt.Sprintf("… waiting: %s (%s left)", ch.text, sinceText(max(run.deadline.Sub(c.now), 0))))
		}
		out = append(out, ansi.Truncate(line, width, "…"))
	}
	if !run.restoring && run.stepResolved() {
		next := "n: next step"
		if run.step == len(run.sc.Steps)-1 {
			next = "n: finish and restore the cluster"
		}
		out = append(out, st.Faint.Render(next))
	}
	if len(out) > height {
		// The checks and the keys matter most once read: keep the head and
		// the end.
		out = append(out[:1], out[len(out)-height+1:]...)
	}
	return strings.Join(out, "\n")
}

// narratorLines is how many lines the pane wants at width.
func narratorLines(c *programContext, run *sceneRun, width int) int {
	return strings.Count(viewNarrator(c, run, width, 1<<10), "\n") + 1
}
