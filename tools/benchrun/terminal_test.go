package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/charmbracelet/x/term"
	"github.com/creack/pty"
)

// helperEnv, set, makes the test binary a program to run in a terminal
// (terminalHelper) instead of the tests.
const helperEnv = "BENCHRUN_TERMINAL_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		terminalHelper()
		return
	}
	os.Exit(m.Run())
}

// terminalHelper switches to the alternate screen, asks the terminal where
// its cursor is, as termenv does, and shows the answer, its terminal's size
// and environment; then it waits to be killed.
func terminalHelper() {
	rows, cols, err := pty.Getsize(os.Stdout)
	if err != nil {
		fmt.Println("size:", err)
	}
	if _, err := term.MakeRaw(os.Stdin.Fd()); err != nil {
		fmt.Println("raw:", err)
	}
	fmt.Print("\x1b[?1049h\x1b[2J\x1b[H\x1b[6n")
	var answer []byte
	for b := make([]byte, 1); !strings.HasSuffix(string(answer), "R"); {
		if _, err := os.Stdin.Read(b); err != nil {
			break
		}
		answer = append(answer, b[0])
	}
	fmt.Printf("\x1b[1;38;5;220mLEADER\x1b[m %dx%d TERM=%s CI=%s NO_COLOR=%s answer=%q",
		cols, rows, os.Getenv("TERM"), os.Getenv("CI"), os.Getenv("NO_COLOR"), answer)
	select {}
}

func TestTerminal(t *testing.T) {
	env := dashboardEnv(append(os.Environ(), "CI=true", "NO_COLOR=1", helperEnv+"=1"))
	tm, err := startTerminal(context.Background(), dashboardCols, dashboardRows, env, os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer tm.Close()
	if err := tm.waitScreen(context.Background(), "LEADER"); err != nil {
		t.Fatal(err)
	}
	want := `LEADER 160x50 TERM=xterm-256color CI= NO_COLOR= answer="\x1b[1;1R"`
	if got := strings.TrimSpace(tm.Screen()); got != want {
		t.Errorf("screen %q, want %q", got, want)
	}
	if _, err := cpuTicks(tm.Pid()); err != nil {
		t.Error(err)
	}
	tm.Close()
	if _, err := cpuTicks(tm.Pid()); err == nil {
		t.Errorf("process %d still there after close", tm.Pid())
	}
}
