package ptyterm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ErrNoPty means no pseudo-terminal could be opened: the machine offers
// none.
var ErrNoPty = errors.New("no pseudo-terminal")

// Grace is how long the program's output may stay open after it exited,
// or its terminal after its output ended, before Close and Wait give up on
// it: a child of the program may still hold the tty.
const Grace = 5 * time.Second

// Terminal is a program running in a pseudo-terminal, and its screen.
// Its methods are safe to call from any goroutine.
type Terminal struct {
	cmd  *exec.Cmd // the program, leader of its own session and process group
	ptmx *os.File  // the pty's master side: the program's keyboard and screen

	mu  sync.Mutex   // guards emu
	emu *vt.Emulator // the screen, as the program has drawn it so far

	changed chan struct{} // gets a value after output reached emu (capacity 1)
	exited  chan struct{} // closed once the program has exited and been reaped
	drained chan struct{} // closed once all the program's output reached emu
	replied chan struct{} // closed once the emulator's answers stopped
	waitErr error         // what cmd.Wait returned; read after exited is closed

	closing  sync.Once // Close's work, done once
	closeErr error     // what the first Close returned
}

// Start starts cmd in a cols×rows pseudo-terminal. cmd.Env is the
// program's whole environment; the caller sets TERM. Stdin, Stdout and
// Stderr left nil are the pty; a cmd.Stdin set by the caller is kept (a
// pipe, say), and the pty is then only the program's stdout, stderr and
// controlling terminal. Start sets cmd.SysProcAttr: the program leads a
// session and process group of its own, the pty its controlling terminal,
// so that a signal from the caller's terminal does not reach it.
//
// The caller must Close the Terminal. An error wrapping ErrNoPty says the
// machine offers no pseudo-terminal.
func Start(cmd *exec.Cmd, cols, rows int) (*Terminal, error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoPty, err)
	}
	defer tty.Close() // the program has its own copy once started
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		ptmx.Close()
		return nil, fmt.Errorf("size the pty: %w", err)
	}
	ctty := 0 // the child's fd for the pty: stdin, unless the caller's
	if cmd.Stdin == nil {
		cmd.Stdin = tty
	} else {
		ctty = 1
	}
	if cmd.Stdout == nil {
		cmd.Stdout = tty
	}
	if cmd.Stderr == nil {
		cmd.Stderr = tty
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: ctty}
	if err := cmd.Start(); err != nil {
		ptmx.Close()
		return nil, err
	}
	tm := &Terminal{
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
	return tm, nil
}

// drain feeds the program's output to the emulator until the program has
// gone (reading the master then fails with EIO) or the pty is closed. It
// holds tm.mu while more output is already waiting in the pty, so that
// readers see the screen between the program's writes rather than halfway
// through a frame that came in several reads.
func (tm *Terminal) drain() {
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
func (tm *Terminal) pending() bool {
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
// program, until Close ends the emulator's input pipe.
func (tm *Terminal) reply() {
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

// Close kills the program's process group if the program still runs,
// reaps the program and releases the pty. It returns an error if the
// program's output was still open Grace after it exited (closing the
// master ends it then). Calls after the first return what it returned.
func (tm *Terminal) Close() error {
	tm.closing.Do(func() {
		select {
		case <-tm.exited: // its process group may be gone, its id reused
		default:
			syscall.Kill(-tm.cmd.Process.Pid, syscall.SIGKILL)
		}
		<-tm.exited
		select {
		case <-tm.drained:
		case <-time.After(Grace):
			tm.closeErr = fmt.Errorf("%s: output still open %s after it exited", tm.Name(), Grace)
		}
		// Ends reply's read. Emulator.Close would do it too, but it sets
		// a field reply's Read reads, unsynchronised.
		tm.emu.InputPipe().(io.Closer).Close()
		<-tm.replied
		tm.ptmx.Close()
	})
	return tm.closeErr
}

// Name is the program's file name, for messages.
func (tm *Terminal) Name() string {
	return filepath.Base(tm.cmd.Path)
}

// Pid is the program's process id.
func (tm *Terminal) Pid() int {
	return tm.cmd.Process.Pid
}

// Exited is closed once the program has exited and been reaped.
func (tm *Terminal) Exited() <-chan struct{} {
	return tm.exited
}

// Drained is closed once all the program's output has reached the screen.
func (tm *Terminal) Drained() <-chan struct{} {
	return tm.drained
}

// WaitErr is what exec.Cmd.Wait returned for the program; only once
// Exited is closed.
func (tm *Terminal) WaitErr() error {
	<-tm.exited
	return tm.waitErr
}

// ExitCode is the program's exit status, -1 if a signal ended it; only
// once Exited is closed.
func (tm *Terminal) ExitCode() int {
	<-tm.exited
	return tm.cmd.ProcessState.ExitCode()
}

// Send types s: keys as the terminal sends them ("\r" is enter, " " space,
// "\x03" ctrl+c).
func (tm *Terminal) Send(s string) error {
	_, err := io.WriteString(tm.ptmx, s)
	return err
}

// Resize makes the terminal cols×rows, as a user dragging its window does:
// the emulator's grid changes, then the pty's size, and the kernel sends
// the program SIGWINCH.
func (tm *Terminal) Resize(cols, rows int) error {
	tm.mu.Lock()
	tm.emu.Resize(cols, rows)
	tm.mu.Unlock()
	return pty.Setsize(tm.ptmx, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
}

// View calls f with the emulator, which no output changes until f returns:
// for reading cells, their colours and the like. f must not keep emu.
func (tm *Terminal) View(f func(emu *vt.Emulator)) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	f(tm.emu)
}

// Screen is the text on the screen, one line per row with trailing blanks
// trimmed, like a screen dump.
func (tm *Terminal) Screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	lines := make([]string, tm.emu.Height())
	for y := range lines {
		lines[y] = tm.lineLocked(y)
	}
	return strings.Join(lines, "\n")
}

// Line is row y of the screen (0 at the top), trailing blanks trimmed.
func (tm *Terminal) Line(y int) string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.lineLocked(y)
}

// lineLocked is Line with tm.mu held.
func (tm *Terminal) lineLocked(y int) string {
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

// Wait waits until cond holds for the screen's text and returns that text.
// It looks again each time output arrives. It returns the last screen and
// an error if ctx ends first (ctx.Err()), or once the program's output has
// ended with cond still false: "NAME exited (HOW)", or "NAME closed its
// terminal" if it is still running Grace later.
func (tm *Terminal) Wait(ctx context.Context, cond func(screen string) bool) (string, error) {
	for {
		screen := tm.Screen()
		if cond(screen) {
			return screen, nil
		}
		select {
		case <-tm.changed:
		case <-tm.drained:
			// No more output: one last look, at everything it wrote.
			if screen := tm.Screen(); cond(screen) {
				return screen, nil
			}
			select {
			case <-tm.exited:
				return tm.Screen(), fmt.Errorf("%s exited (%v)", tm.Name(), tm.waitErr)
			case <-time.After(Grace):
				return tm.Screen(), fmt.Errorf("%s closed its terminal", tm.Name())
			}
		case <-ctx.Done():
			return tm.Screen(), ctx.Err()
		}
	}
}
