package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bins are the binaries TestMain built; empty under -short.
var bins struct {
	node string // easykv-node
	ctl  string // easykv-ctl
	tui  string // easykv-tui
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// Tests skip themselves; building would be wasted time.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "easykv-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	code := 1
	if err := buildBinaries(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinaries builds easykv-node and easykv-ctl into dir from the module
// this package belongs to.
func buildBinaries(dir string) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/easykv-node", "./cmd/easykv-ctl", "./cmd/easykv-tui")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	bins.node = filepath.Join(dir, "easykv-node")
	bins.ctl = filepath.Join(dir, "easykv-ctl")
	bins.tui = filepath.Join(dir, "easykv-tui")
	return nil
}

// skipIfShort skips t under -short, when no binaries were built.
func skipIfShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test; skipped with -short")
	}
}

// cmdResult is the outcome of one run of a binary.
type cmdResult struct {
	code   int    // exit status
	stdout string // everything written to stdout
	stderr string // everything written to stderr
}

// runTimeout bounds one run of a short-lived binary (easykv-ctl, or a node
// expected to reject its configuration).
const runTimeout = 20 * time.Second

// runBinary runs bin with args to completion and reports how it ended; it
// fails the test if the binary cannot be run or does not exit in time.
func runBinary(t *testing.T, bin string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = childEnv()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after %s; stderr:\n%s", filepath.Base(bin), strings.Join(args, " "), runTimeout, stderr.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %s: %v", filepath.Base(bin), err)
	}
	res := cmdResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	t.Logf("%s %s: exit %d", filepath.Base(bin), strings.Join(args, " "), res.code)
	return res
}

// childEnv is the environment of the binaries under test. A -race build
// lingers a second at exit by default (atexit_sleep_ms=1000) in case another
// goroutine is about to report; a tenth of that keeps signals and ctl runs
// quick. A GORACE set by whoever runs the tests wins.
func childEnv() []string {
	env := os.Environ()
	if raceEnabled && os.Getenv("GORACE") == "" {
		env = append(env, "GORACE=atexit_sleep_ms=100")
	}
	return env
}
