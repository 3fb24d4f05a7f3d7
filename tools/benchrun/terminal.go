package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
)

// errNoPty means no pseudo-terminal could be opened for the dashboard.
var errNoPty = errors.New("no pseudo-terminal")

// terminal is a program running in a pseudo-terminal whose output a
// terminal emulator (github.com/charmbracelet/x/vt) parses and keeps as a
// screen, as a terminal window would; it answers the program's queries
// (cursor position, background colour) through the pty.
type terminal struct {
	cmd  *exec.Cmd // the program, its own session and process group
	ptmx *os.File  // the pty's master side

	mu  sync.Mutex   // guards emu
	emu *vt.Emulator // the screen

	exited  chan struct{} // closed once the program has been reaped
	drained chan struct{} // closed once its output has all been parsed
	replied chan struct{} // closed once the emulator's answers stopped
	closing sync.Once     // close's work, done once
}

// startTerminal starts name with args and env (the whole environment) in a
// cols×rows pseudo-terminal. The end of ctx kills the program; close ends
// it and releases the pty. An error wrapping errNoPty says the machine
// offers no pseudo-terminal.
func startTerminal(ctx context.Context, cols, rows int, env []string, name string, args ...string) (*terminal, error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", errNoPty, err)
	}
	defer tty.Close() // the program has its own copy once started
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		ptmx.Close()
		return nil, fmt.Errorf("size the pty: %w", err)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// A session of its own, the pty its controlling terminal: a ctrl-C at
	// benchrun's terminal reaches benchrun alone, which stops it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		ptmx.Close()
		return nil, err
	}
	tm := &terminal{
		cmd:     cmd,
		ptmx:    ptmx,
		emu:     vt.NewEmulator(cols, rows),
		exited:  make(chan struct{}),
		drained: make(chan struct{}),
		replied: make(chan struct{}),
	}
	go func() {
		cmd.Wait() // how it ended does not matter: close killed it
		close(tm.exited)
	}()
	go tm.drain()
	go tm.reply()
	return tm, nil
}

// drain parses the program's output until it has gone (reading the master
// then fails with EIO) or the pty is closed.
func (tm *terminal) drain() {
	defer close(tm.drained)
	buf := make([]byte, 64<<10)
	for {
		n, err := tm.ptmx.Read(buf)
		if n > 0 {
			tm.mu.Lock()
			tm.emu.Write(buf[:n]) // never fails: the emulator is never closed
			tm.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// reply copies the emulator's answers to the program's queries back to it,
// until close ends the emulator's input pipe.
func (tm *terminal) reply() {
	defer close(tm.replied)
	buf := make([]byte, 1024)
	for {
		n, err := tm.emu.Read(buf)
		if n > 0 {
			tm.ptmx.Write(buf[:n]) // fails only once the program has gone
		}
		if err != nil {
			return
		}
	}
}

// pid is the program's process id.
func (tm *terminal) pid() int {
	return tm.cmd.Process.Pid
}

// screen is the text on the screen.
func (tm *terminal) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.emu.String()
}

// waitScreen polls the screen until it shows text, for up to startTimeout.
func (tm *terminal) waitScreen(ctx context.Context, text string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		screen := tm.screen()
		if strings.Contains(screen, text) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dashboard never showed %q: %w; last screen:\n%s", text, ctx.Err(), screen)
		case <-tm.exited:
			select {
			case <-tm.drained:
			case <-time.After(stopTimeout):
			}
			return fmt.Errorf("dashboard exited before it showed %q; last screen:\n%s", text, tm.screen())
		case <-time.After(pollInterval):
		}
	}
}

// close kills the program's process group, reaps the program and releases
// the pty. Calls after the first do nothing.
func (tm *terminal) close() {
	tm.closing.Do(func() {
		select {
		case <-tm.exited: // its process group may be gone, its id reused
		default:
			syscall.Kill(-tm.cmd.Process.Pid, syscall.SIGKILL)
		}
		<-tm.exited
		select {
		case <-tm.drained:
		case <-time.After(stopTimeout): // a straggler holds the tty; closing the master ends the read
		}
		// Ends reply's read; Emulator.Close would also write a field
		// that reply's Read reads, unsynchronised.
		tm.emu.InputPipe().(io.Closer).Close()
		<-tm.replied
		tm.ptmx.Close()
	})
}
