package e2e

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"

	"github.com/easykv/easykv/internal/ptyterm"
	"github.com/easykv/easykv/internal/testkit"
)

// terminal runs a program in a pseudo-terminal and reads its screen through
// a terminal emulator (internal/ptyterm), cell by cell: what tmux used to do
// for these tests, in-process. Its methods fail the test instead of
// returning errors, and run on the test's goroutine.
type terminal struct {
	t  *testing.T
	pt *ptyterm.Terminal
}

// startTerminal starts cmd in a cols×rows pseudo-terminal and ends it when
// the test ends. cmd.Env is the program's whole environment; the caller
// sets TERM. A cmd.Stdin set by the caller is kept (a pipe, say), and the
// pty is then only the program's stdout, stderr and controlling terminal.
func startTerminal(t *testing.T, cols, rows int, cmd *exec.Cmd) *terminal {
	t.Helper()
	pt, err := ptyterm.Start(cmd, cols, rows)
	if err != nil {
		t.Fatalf("start %s in a pseudo-terminal: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		if err := pt.Close(); err != nil {
			t.Error(err)
		}
	})
	return &terminal{t: t, pt: pt}
}

// send types s: keys as the terminal sends them ("\r" is enter, " " space,
// "\x03" ctrl+c).
func (tm *terminal) send(s string) {
	tm.t.Helper()
	if err := tm.pt.Send(s); err != nil {
		tm.t.Fatalf("type %q: %v; screen:\n%s", s, err, tm.screen())
	}
}

// typeLine types line and presses enter.
func (tm *terminal) typeLine(line string) {
	tm.t.Helper()
	tm.send(line + "\r")
}

// resize makes the terminal cols×rows, as a user dragging its window does.
func (tm *terminal) resize(cols, rows int) {
	tm.t.Helper()
	if err := tm.pt.Resize(cols, rows); err != nil {
		tm.t.Fatalf("resize the pty to %d×%d: %v", cols, rows, err)
	}
}

// screen is the text on the screen, one line per row with trailing blanks
// trimmed, like a screen dump.
func (tm *terminal) screen() string {
	return tm.pt.Screen()
}

// line is row y of the screen (0 at the top), trailing blanks trimmed.
func (tm *terminal) line(y int) string {
	return tm.pt.Line(y)
}

// find returns the cell where text first starts on the screen, reading rows
// top to bottom.
func (tm *terminal) find(text string) (x, y int, ok bool) {
	tm.pt.View(func(emu *vt.Emulator) {
		x, y, ok = findIn(emu, text)
	})
	return x, y, ok
}

// findIn is terminal.find on emu.
func findIn(emu *vt.Emulator, text string) (x, y int, ok bool) {
	for y := range emu.Height() {
		// Cell contents of the row and the column each starts at.
		var cells []string
		var cols []int
		for x := range emu.Width() {
			if c := emu.CellAt(x, y); c != nil && c.Width > 0 {
				cells, cols = append(cells, c.Content), append(cols, x)
			}
		}
		row := strings.Join(cells, "")
		if i := strings.Index(row, text); i >= 0 {
			// The cell whose content starts at byte i.
			for k, off := 0, 0; k < len(cells); off, k = off+len(cells[k]), k+1 {
				if off == i {
					return cols[k], y, true
				}
			}
		}
	}
	return 0, 0, false
}

// fg is the foreground colour of the cell at x, y; nil for the terminal's
// default.
func (tm *terminal) fg(x, y int) (fg color.Color) {
	tm.pt.View(func(emu *vt.Emulator) {
		if c := emu.CellAt(x, y); c != nil {
			fg = c.Style.Fg
		}
	})
	return fg
}

// coloured reports whether any cell on the screen has a foreground or
// background colour of its own.
func (tm *terminal) coloured() (coloured bool) {
	tm.pt.View(func(emu *vt.Emulator) {
		for y := range emu.Height() {
			for x := range emu.Width() {
				if c := emu.CellAt(x, y); c != nil && (c.Style.Fg != nil || c.Style.Bg != nil) {
					coloured = true
					return
				}
			}
		}
	})
	return coloured
}

// waitScreen waits until cond holds for the screen's text and returns that
// text. It wakes each time output arrives, and fails the test, showing the
// screen, after waitTimeout or once the program has exited with cond still
// false.
func (tm *terminal) waitScreen(what string, cond func(screen string) bool) string {
	tm.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	screen, err := tm.pt.Wait(ctx, cond)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		tm.t.Fatalf("timed out after %s waiting for the screen to show %s; screen:\n%s", waitTimeout, what, screen)
	case err != nil: // the program exited or closed its terminal
		tm.t.Fatalf("%v before the screen showed %s; screen:\n%s", err, what, screen)
	}
	return screen
}

// sendUntil types keys, and types them again every resendEvery, until
// cond holds on the screen (at most waitTimeout): a key typed in a
// program's first moments is sometimes lost on this machine, so a test
// whose keys are safe to repeat (a replay's restart) does not hang on one.
func (tm *terminal) sendUntil(keys, what string, cond func(screen string) bool) {
	tm.t.Helper()
	tm.send(keys)
	last := time.Now()
	testkit.PollEvery(tm.t, 50*time.Millisecond, waitTimeout, "the screen to show "+what, func() (bool, string) {
		screen := tm.screen()
		if cond(screen) {
			return true, ""
		}
		if time.Since(last) >= resendEvery {
			tm.send(keys)
			last = time.Now()
		}
		return false, "screen:\n" + screen
	})
}

// resendEvery is how long sendUntil waits for its keys to take effect
// before typing them again.
const resendEvery = time.Second

// waitText waits until text appears on the screen and returns the screen.
func (tm *terminal) waitText(text string) string {
	tm.t.Helper()
	return tm.waitScreen(fmt.Sprintf("%q", text), func(screen string) bool {
		return strings.Contains(screen, text)
	})
}

// waitExit waits for the program to end and for its last output to reach
// the screen, and returns its exit status.
func (tm *terminal) waitExit() int {
	tm.t.Helper()
	select {
	case <-tm.pt.Exited():
	case <-time.After(waitTimeout):
		tm.t.Fatalf("%s still running after %s; screen:\n%s", tm.pt.Name(), waitTimeout, tm.screen())
	}
	select {
	case <-tm.pt.Drained():
	case <-time.After(stopGrace):
		tm.t.Fatalf("%s exited but its output is still open after %s", tm.pt.Name(), stopGrace)
	}
	var exit *exec.ExitError
	if err := tm.pt.WaitErr(); err != nil && !errors.As(err, &exit) {
		tm.t.Fatalf("wait for %s: %v", tm.pt.Name(), err)
	}
	return tm.pt.ExitCode()
}
