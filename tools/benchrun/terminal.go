package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"github.com/easykv/easykv/internal/ptyterm"
)

// terminal is a program running in a pseudo-terminal whose output a
// terminal emulator parses and keeps as a screen, as a terminal window
// would; it answers the program's queries (cursor position, background
// colour) through the pty (internal/ptyterm).
type terminal struct{ *ptyterm.Terminal }

// startTerminal starts name with args and env (the whole environment) in a
// cols×rows pseudo-terminal, in a session and process group of its own
// with the pty its controlling terminal: a ctrl-C at benchrun's terminal
// reaches benchrun alone, which stops it in order. The end of ctx kills
// the program's process group; Close ends it and releases the pty. An
// error wrapping ptyterm.ErrNoPty says the machine offers no
// pseudo-terminal.
func startTerminal(ctx context.Context, cols, rows int, env []string, name string, args ...string) (terminal, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	pt, err := ptyterm.Start(cmd, cols, rows)
	return terminal{pt}, err
}

// waitScreen waits until the screen shows text, for up to startTimeout.
func (tm terminal) waitScreen(ctx context.Context, text string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	screen, err := tm.Wait(ctx, func(screen string) bool { return strings.Contains(screen, text) })
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ctx.Err()):
		return fmt.Errorf("dashboard never showed %q: %w; last screen:\n%s", text, err, screen)
	default: // it exited or closed its terminal
		return fmt.Errorf("dashboard: %v before it showed %q; last screen:\n%s", err, text, screen)
	}
}
