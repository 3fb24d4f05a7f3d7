package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
