package e2e

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runTUIPiped runs easykv-tui on h's cluster with script as its stdin, a
// pipe and not a terminal, and reports how it ended.
func runTUIPiped(t *testing.T, h *Harness, script string, flags ...string) cmdResult {
	t.Helper()
	return runTUIPipedFor(t, h, runTimeout, script, flags...)
}

// runTUIPipedFor is runTUIPiped with a time limit of its own.
func runTUIPipedFor(t *testing.T, h *Harness, limit time.Duration, script string, flags ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bins.tui, append([]string{"--cluster", h.cfgPath}, flags...)...)
	cmd.Stdin = strings.NewReader(script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A state directory of the test's own, so no run touches the user's.
	cmd.Env = append(childEnv(), "XDG_STATE_HOME="+filepath.Join(t.TempDir(), "state"))
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("easykv-tui with piped stdin: still running after %s; stdout:\n%s\nstderr:\n%s", limit, stdout.String(), stderr.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run easykv-tui: %v", err)
	}
	res := cmdResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	t.Logf("easykv-tui --cluster %s %s < script: exit %d\nstdout:\n%sstderr:\n%s", h.cfgPath, strings.Join(flags, " "), res.code, res.stdout, res.stderr)
	return res
}

// TestTUIPipe feeds commands to the dashboard through a pipe, as a script
// or redis-cli user would, and reads the plain answers of real nodes.
func TestTUIPipe(t *testing.T) {
	h := StartCluster(t, 3)
	h.waitLeader()

	res := runTUIPiped(t, h, "put a 1\nget a\ndelete a\nget a\nstatus\n")
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("exit %d, want 0 at the end of input, and nothing on stderr; stderr:\n%s", res.code, res.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	// A write names the node that answered it, the leader, and its latency.
	ok := `^OK \(n\d, [0-9.]+(ms|s)\)$`
	want := []string{
		ok,
		`^"1"$`,
		`^\(integer\) 1$`, // as redis-cli's DEL: the key existed
		`^\(nil\)$`,
		`^n1 (leader|follower|candidate|precandidate) (?:(?:voter|learner|removed) )?term=\d+ .*commit=\d+ applied=\d+ last=\d+`,
		`^n2 (leader|follower|candidate|precandidate) (?:(?:voter|learner|removed) )?term=\d+ .*commit=\d+ applied=\d+ last=\d+`,
		`^n3 (leader|follower|candidate|precandidate) (?:(?:voter|learner|removed) )?term=\d+ .*commit=\d+ applied=\d+ last=\d+`,
	}
	if len(lines) != len(want) {
		t.Fatalf("printed %d lines, want %d:\n%s", len(lines), len(want), res.stdout)
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d is %q, want it to match %s", i+1, lines[i], re)
		}
	}
	// The leader that took the writes is the one status shows.
	writer := regexp.MustCompile(`^OK \((n\d),`).FindStringSubmatch(lines[0])
	if writer != nil && !strings.Contains(res.stdout, "\n"+writer[1]+" leader voter term=") {
		t.Errorf("status does not show %s, which answered the put, leading:\n%s", writer[1], res.stdout)
	}
	if strings.Contains(res.stdout, "\x1b") {
		t.Errorf("output holds escape sequences: %q", res.stdout)
	}
}

// TestTUIPipeKeepsGoingAfterErrors checks a failed command is printed, on
// stderr, and the script goes on, exiting 1 at the end because a command
// failed, and that a paused leader's successor takes the next write.
func TestTUIPipeKeepsGoingAfterErrors(t *testing.T) {
	h := StartCluster(t, 3)
	leader, _ := h.waitLeader()

	script := "# comments and blank lines are skipped\n\nfrobnicate\npause nine\npause " + leader +
		"\nput b 2\nget b\nresume " + leader + "\n"
	res := runTUIPiped(t, h, script)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1: two commands failed; stderr:\n%s", res.code, res.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	want := []string{
		`^OK \(` + leader + `, `,
		`^OK \(n\d, `, // the new leader's answer, after the election
		`^"2"$`,
		`^OK \(` + leader + `, `,
	}
	if len(lines) != len(want) {
		t.Fatalf("printed %d lines, want %d:\n%s", len(lines), len(want), res.stdout)
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d is %q, want it to match %s", i+1, lines[i], re)
		}
	}
	if strings.HasPrefix(lines[1], "OK ("+leader+",") {
		t.Errorf("the paused leader %s answered the put: %q", leader, lines[1])
	}
	errLines := strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n")
	wantErr := []string{
		`^\(error\) line 3: unknown command "frobnicate"`,
		`^\(error\) line 4: pause: unknown node "nine"`,
		`^easykv-tui: 2 of 6 commands failed$`,
	}
	if len(errLines) != len(wantErr) {
		t.Fatalf("stderr has %d lines, want %d:\n%s", len(errLines), len(wantErr), res.stderr)
	}
	for i, re := range wantErr {
		if !regexp.MustCompile(re).MatchString(errLines[i]) {
			t.Errorf("stderr line %d is %q, want it to match %s", i+1, errLines[i], re)
		}
	}
}

// TestTUIPipeToTerminal pipes a script in with a terminal on stdout, as in
// `easykv-tui --cluster c.yaml < script` typed at a shell: the answers are
// the same plain lines, without colour, left on the terminal's main screen
// (a full-screen dashboard would have drawn on the alternate one and
// restored the main one, empty, at exit).
func TestTUIPipeToTerminal(t *testing.T) {
	h := StartCluster(t, 3)
	h.waitLeader()

	cmd := exec.Command(bins.tui, "--cluster", h.cfgPath)
	cmd.Stdin = strings.NewReader("put a 1\nget a\n")
	cmd.Env = tuiEnv(t)
	// Wide enough that no answer wraps.
	term := startTerminal(t, 200, 10, cmd)
	if code := term.waitExit(); code != 0 {
		t.Fatalf("exit %d, want 0 at the end of input; screen:\n%s", code, term.screen())
	}
	screen := term.screen()
	t.Logf("screen:\n%s", screen)
	want := []string{`^OK \(n\d, [0-9.]+(ms|s)\)$`, `^"1"$`}
	for i, re := range want {
		if line := term.line(i); !regexp.MustCompile(re).MatchString(line) {
			t.Errorf("line %d is %q, want it to match %s", i+1, line, re)
		}
	}
	if line := term.line(len(want)); line != "" {
		t.Errorf("line %d is %q, want nothing after the answers", len(want)+1, line)
	}
	if term.coloured() {
		t.Errorf("piped mode draws in colour on a terminal:\n%s", screen)
	}
}
