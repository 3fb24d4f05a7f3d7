package e2e

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// terminal runs a program in a pseudo-terminal and reads its screen through
// a terminal emulator (github.com/charmbracelet/x/vt), cell by cell: what
// tmux used to do for these tests, in-process. A goroutine feeds everything
// the program writes to the emulator; the emulator's answers to the
// program's queries (cursor position, background colour) go back through
// the pty, as a real terminal's would.
//
// Its methods, except the goroutines it starts itself, run on the test's
// goroutine.
type terminal struct {
	t    *testing.T
	cmd  *exec.Cmd // the program
	ptmx *os.File  // the pty's master side: the program's keyboard and screen

	mu  sync.Mutex   // guards emu
	emu *vt.Emulator // the screen, as the program has drawn it so far

	changed chan struct{} // gets a value after output reached emu (capacity 1)
	exited  chan struct{} // closed once the program has exited and been reaped
	drained chan struct{} // closed once all the program's output reached emu
	replied chan struct{} // closed once the emulator's answers stopped
	waitErr error         // what Wait returned; read after exited is closed
}

// startTerminal starts cmd in a cols×rows pseudo-terminal and ends it when
// the test ends. cmd.Env is the program's whole environment; the caller
// sets TERM. A cmd.Stdin set by the caller is kept (a pipe, say), and the
// pty is then only the program's stdout, stderr and controlling terminal.
func startTerminal(t *testing.T, cols, rows int, cmd *exec.Cmd) *terminal {
	t.Helper()
	attrs := &syscall.SysProcAttr{Setsid: true, Setctty: true} // Ctty 0: stdin
	if cmd.Stdin != nil {
		attrs.Ctty = 1 // stdout, the pty
	}
	ptmx, err := pty.StartWithAttrs(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}, attrs)
	if err != nil {
		t.Fatalf("start %s in a pseudo-terminal: %v", cmd.Path, err)
	}
	tm := &terminal{
		t:       t,
		cmd:     cmd,
		ptmx:    ptmx,
		emu:     vt.NewEmulator(cols, rows),
		changed: make(chan struct{}, 1),
		exited:  make(chan struct{}),
		drained: make(chan struct{}),
		replied: make(chan struct{}),
	}
	go func() {
		tm.waitErr = cmd.Wait()
		close(tm.exited)
	}()
	go tm.drain()
	go tm.reply()
	t.Cleanup(tm.close)
	return tm
}

// drain feeds the program's output to the emulator until the program has
// gone (reading the master then fails with EIO) or the pty is closed. It
// holds tm.mu while more output is already waiting in the pty, so that
// readers see the screen between the program's writes rather than halfway
// through a frame that came in several reads.
func (tm *terminal) drain() {
	defer close(tm.drained)
	buf := make([]byte, 64<<10)
	for {
		n, err := tm.ptmx.Read(buf)
		if n > 0 {
			tm.mu.Lock()
			tm.emu.Write(buf[:n]) // never fails before the emulator is closed
			for i := 0; err == nil && i < maxSettleReads && tm.pending(); i++ {
				n, err = tm.ptmx.Read(buf) // does not block: output is waiting
				tm.emu.Write(buf[:n])
			}
			tm.mu.Unlock()
			select {
			case tm.changed <- struct{}{}:
			default: // a wake-up is already pending
			}
		}
		if err != nil {
			return
		}
	}
}

// maxSettleReads bounds the reads drain makes in one go, so that a program
// that never stops writing cannot keep the screen from its readers.
const maxSettleReads = 64

// pending reports whether output waits in the pty, unread: a poll that
// does not wait.
func (tm *terminal) pending() bool {
	rc, err := tm.ptmx.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	rc.Control(func(fd uintptr) {
		n, _ = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
	})
	return n > 0
}

// reply copies the emulator's answers to the program's queries back to the
// program, until close ends the emulator's input pipe.
func (tm *terminal) reply() {
	defer close(tm.replied)
	buf := make([]byte, 1024)
	for {
		n, err := tm.emu.Read(buf) // the pipe is safe to read alongside Write
		if n > 0 {
			tm.ptmx.Write(buf[:n]) // fails only once the program has gone
		}
		if err != nil {
			return
		}
	}
}

// close kills the program if it still runs, reaps it and releases the pty.
func (tm *terminal) close() {
	if !tm.done() {
		tm.cmd.Process.Kill()
	}
	<-tm.exited
	select {
	case <-tm.drained:
	case <-time.After(stopGrace):
		// Someone else (a child of the program) still holds the tty
		// open; closing the master below ends the read.
		tm.t.Errorf("%s: output still open %s after it exited", tm.cmd.Path, stopGrace)
	}
	// Ends reply's read. Emulator.Close would do it too, but it sets a
	// field reply's Read reads, unsynchronised.
	tm.emu.InputPipe().(io.Closer).Close()
	<-tm.replied
	tm.ptmx.Close()
}

// done reports whether the program has exited, without blocking.
func (tm *terminal) done() bool {
	select {
	case <-tm.exited:
		return true
	default:
		return false
	}
}

// send types s: keys as the terminal sends them ("\r" is enter, " " space,
// "\x03" ctrl+c).
func (tm *terminal) send(s string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.ptmx, s); err != nil {
		tm.t.Fatalf("type %q: %v; screen:\n%s", s, err, tm.screen())
	}
}

// typeLine types line and presses enter.
func (tm *terminal) typeLine(line string) {
	tm.t.Helper()
	tm.send(line + "\r")
}

// resize makes the terminal cols×rows, as a user dragging its window does:
// the emulator's grid changes, then the pty's size, and the kernel sends
// the program SIGWINCH.
func (tm *terminal) resize(cols, rows int) {
	tm.t.Helper()
	tm.mu.Lock()
	tm.emu.Resize(cols, rows)
	tm.mu.Unlock()
	if err := pty.Setsize(tm.ptmx, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		tm.t.Fatalf("resize the pty to %d×%d: %v", cols, rows, err)
	}
}

// screen is the text on the screen, one line per row with trailing blanks
// trimmed, like a screen dump.
func (tm *terminal) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	lines := make([]string, tm.emu.Height())
	for y := range lines {
		lines[y] = tm.lineLocked(y)
	}
	return strings.Join(lines, "\n")
}

// line is row y of the screen (0 at the top), trailing blanks trimmed.
func (tm *terminal) line(y int) string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.lineLocked(y)
}

// lineLocked is line with tm.mu held.
func (tm *terminal) lineLocked(y int) string {
	var b strings.Builder
	for x := range tm.emu.Width() {
		c := tm.emu.CellAt(x, y)
		switch {
		case c == nil || c.Width == 0: // the right half of a wide glyph
		case c.Content == "":
			b.WriteByte(' ')
		default:
			b.WriteString(c.Content)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// find returns the cell where text first starts on the screen, reading rows
// top to bottom.
func (tm *terminal) find(text string) (x, y int, ok bool) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for y := range tm.emu.Height() {
		// Cell contents of the row and the column each starts at.
		var cells []string
		var cols []int
		for x := range tm.emu.Width() {
			if c := tm.emu.CellAt(x, y); c != nil && c.Width > 0 {
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
func (tm *terminal) fg(x, y int) color.Color {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if c := tm.emu.CellAt(x, y); c != nil {
		return c.Style.Fg
	}
	return nil
}

// coloured reports whether any cell on the screen has a foreground or
// background colour of its own.
func (tm *terminal) coloured() bool {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for y := range tm.emu.Height() {
		for x := range tm.emu.Width() {
			if c := tm.emu.CellAt(x, y); c != nil && (c.Style.Fg != nil || c.Style.Bg != nil) {
				return true
			}
		}
	}
	return false
}

// waitScreen waits until cond holds for the screen's text and returns that
// text. It wakes each time output arrives, and fails the test, showing the
// screen, after waitTimeout or once the program has exited with cond still
// false.
func (tm *terminal) waitScreen(what string, cond func(screen string) bool) string {
	tm.t.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		screen := tm.screen()
		if cond(screen) {
			return screen
		}
		select {
		case <-tm.changed:
		case <-tm.drained:
			// No more output: one last look, at everything it wrote.
			if screen := tm.screen(); cond(screen) {
				return screen
			}
			select {
			case <-tm.exited:
				tm.t.Fatalf("%s exited (%v) before the screen showed %s; screen:\n%s", tm.name(), tm.waitErr, what, screen)
			case <-time.After(stopGrace):
				tm.t.Fatalf("%s closed its terminal before the screen showed %s; screen:\n%s", tm.name(), what, screen)
			}
		case <-timeout.C:
			tm.t.Fatalf("timed out after %s waiting for the screen to show %s; screen:\n%s", waitTimeout, what, tm.screen())
		}
	}
}

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
	case <-tm.exited:
	case <-time.After(waitTimeout):
		tm.t.Fatalf("%s still running after %s; screen:\n%s", tm.name(), waitTimeout, tm.screen())
	}
	select {
	case <-tm.drained:
	case <-time.After(stopGrace):
		tm.t.Fatalf("%s exited but its output is still open after %s", tm.name(), stopGrace)
	}
	var exit *exec.ExitError
	if tm.waitErr != nil && !errors.As(tm.waitErr, &exit) {
		tm.t.Fatalf("wait for %s: %v", tm.name(), tm.waitErr)
	}
	return tm.cmd.ProcessState.ExitCode()
}

// name is the program's file name, for messages.
func (tm *terminal) name() string {
	return filepath.Base(tm.cmd.Path)
}
