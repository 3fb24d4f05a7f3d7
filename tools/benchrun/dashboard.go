package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/easykv/easykv/internal/ptyterm"
)

const (
	// dashboardCols and dashboardRows are the size of the pseudo-terminal
	// the dashboard runs in while it is measured: a large terminal, so
	// every pane is drawn.
	dashboardCols, dashboardRows = 160, 50
	// dashboardIdle is how long the dashboard is measured watching an idle
	// cluster.
	dashboardIdle = 5 * time.Second
	// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
	// /proc/<pid>/stat: 100 on every Linux architecture Go supports.
	clockTicks = 100
)

// dashboardCPU is easykv-tui's CPU use while it watches the cluster, in
// percent of one core.
type dashboardCPU struct {
	idle    float64 // watching an idle cluster
	load    float64 // while the load below ran
	loadOps float64 // the load's ops/s
	load64  string  // the load's workload name
	note    string  // why it was not measured; empty when it was
}

// measureDashboard runs easykv-tui from bin in a 160×50 pseudo-terminal
// watching kv, and measures its CPU use for a while with the cluster idle,
// then while w runs against it. Its output goes through a terminal
// emulator, which answers its queries as a terminal would; the emulator's
// own work is benchrun's, not counted.
func measureDashboard(ctx context.Context, kv *easykvCluster, bin string, w workload) (dashboardCPU, error) {
	tm, err := startTerminal(ctx, dashboardCols, dashboardRows, dashboardEnv(os.Environ()),
		filepath.Join(bin, "easykv-tui"), "--cluster", kv.cfg)
	if errors.Is(err, ptyterm.ErrNoPty) {
		return dashboardCPU{note: "not measured: " + err.Error()}, nil
	}
	if err != nil {
		return dashboardCPU{}, fmt.Errorf("start dashboard: %w", err)
	}
	defer tm.Close()
	if err := tm.waitScreen(ctx, "LEADER"); err != nil {
		return dashboardCPU{}, err
	}
	cpu := dashboardCPU{load64: w.name}
	if cpu.idle, err = cpuDuring(tm.Pid(), func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(dashboardIdle):
			return nil
		}
	}); err != nil {
		return dashboardCPU{}, err
	}
	cpu.load, err = cpuDuring(tm.Pid(), func() error {
		res, _, err := kv.bench(ctx, w)
		cpu.loadOps = res.OpsPerSec
		return err
	})
	return cpu, err
}

// dashboardEnv is env for the measured dashboard: an xterm's TERM, and
// neither CI nor NO_COLOR nor COLORTERM, so that it draws in colour, as in
// a terminal, whatever the environment benchrun runs in (termenv draws
// without colour when CI is set).
func dashboardEnv(env []string) []string {
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains([]string{"CI", "NO_COLOR", "COLORTERM", "TERM"}, name)
	})
	return append(env, "TERM=xterm-256color")
}

// cpuDuring runs f and returns the CPU time process pid used meanwhile, in
// percent of one core over f's wall time.
func cpuDuring(pid int, f func() error) (float64, error) {
	before, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := f(); err != nil {
		return 0, err
	}
	wall := time.Since(start)
	after, err := cpuTicks(pid)
	if err != nil {
		return 0, err
	}
	return float64(after-before) / clockTicks / wall.Seconds() * 100, nil
}

// cpuTicks is the user plus system CPU time of process pid so far, in
// clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("dashboard cpu: %w", err)
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing parenthesis, where field 3 (state) starts.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("dashboard cpu: unexpected /proc/%d/stat: %q", pid, b)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("dashboard cpu: /proc/%d/stat: %w", pid, err)
	}
	return utime + stime, nil
}
