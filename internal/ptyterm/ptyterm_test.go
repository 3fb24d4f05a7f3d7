package ptyterm

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/testkit"
)

// waitTimeout bounds every wait of these tests.
const waitTimeout = 10 * time.Second

func start(t *testing.T, cols, rows int, script string) *Terminal {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = []string{"TERM=xterm-256color", "PATH=/usr/bin:/bin"}
	tm, err := Start(cmd, cols, rows)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tm.Close(); err != nil {
			t.Error(err)
		}
	})
	return tm
}

func wait(t *testing.T, tm *Terminal, text string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	screen, err := tm.Wait(ctx, func(s string) bool { return strings.Contains(s, text) })
	if err != nil {
		t.Fatalf("waiting for %q: %v; screen:\n%s", text, err, screen)
	}
	return screen
}

// TestTerminal types a line to a shell in the terminal, reads what it
// printed where it printed it, and sees it exit.
func TestTerminal(t *testing.T) {
	tm := start(t, 40, 5, `stty size; printf 'ready> '; read line; printf '\033[3;5Hgot %s' "$line"`)
	wait(t, tm, "ready>")
	if got := tm.Line(0); got != "5 40" {
		t.Errorf("line 0 %q, want the pty's size, 5 40", got)
	}
	if err := tm.Send("abc\r"); err != nil {
		t.Fatal(err)
	}
	screen := wait(t, tm, "got abc")
	if got := tm.Line(2); got != "    got abc" {
		t.Errorf("line 2 %q, want got abc from column 5; screen:\n%s", got, screen)
	}
	select {
	case <-tm.Drained():
	case <-time.After(waitTimeout):
		t.Fatal("output still open after the shell's last write")
	}
	if err := tm.WaitErr(); err != nil {
		t.Errorf("shell: %v", err)
	}
	// Its output has ended: a wait for what it never wrote says so.
	if _, err := tm.Wait(context.Background(), func(string) bool { return false }); err == nil || !strings.Contains(err.Error(), "sh exited") {
		t.Errorf("Wait after the end: %v, want sh exited", err)
	}
}

// TestTerminalResize checks that Resize reaches the emulator and the
// program.
func TestTerminalResize(t *testing.T) {
	tm := start(t, 40, 5, `trap 'stty size' WINCH; printf 'ready\n'; while :; do sleep 0.01; done`)
	wait(t, tm, "ready")
	if err := tm.Resize(60, 8); err != nil {
		t.Fatal(err)
	}
	wait(t, tm, "8 60")
	if n := len(strings.Split(tm.Screen(), "\n")); n != 8 {
		t.Errorf("screen of %d rows after resizing to 8", n)
	}
}

// TestTerminalClose checks that Close ends a program that runs on, and
// its process group with it.
func TestTerminalClose(t *testing.T) {
	tm := start(t, 40, 5, `sleep 60 & echo "child $!"; wait`)
	wait(t, tm, "child ")
	if err := tm.Close(); err != nil {
		t.Fatal(err)
	}
	var child int
	for _, f := range strings.Fields(tm.Screen()) {
		if n, err := strconv.Atoi(f); err == nil {
			child = n
		}
	}
	if child == 0 {
		t.Fatalf("no child pid on the screen:\n%s", tm.Screen())
	}
	// Killed with the group, the child is gone or a zombie waiting for
	// init to reap it.
	testkit.Poll(t, waitTimeout, fmt.Sprintf("child %d to be killed", child), func() (bool, string) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child))
		if err != nil {
			return true, ""
		}
		// pid (comm) state ...: the state follows the last ')'.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		return len(fields) > 0 && fields[0] == "Z", "its /proc stat: " + string(stat)
	})
}
