package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// dashboardCols and dashboardRows are the size of the tmux window the
	// dashboard runs in while it is measured: a large terminal, so every
	// pane is drawn.
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

// errNoTmux means the dashboard cannot be given a terminal to run in.
var errNoTmux = errors.New("tmux not found")

// measureDashboard runs easykv-tui from bin in a tmux window watching kv,
// and measures its CPU use for a while with the cluster idle, then while w
// runs against it.
func measureDashboard(ctx context.Context, kv *easykvCluster, bin string, w workload) (dashboardCPU, error) {
	if _, err := exec.LookPath("tmux"); err != nil {
		return dashboardCPU{note: "not measured: " + errNoTmux.Error()}, nil
	}
	session := fmt.Sprintf("easykv-bench-%d", os.Getpid())
	tui := filepath.Join(bin, "easykv-tui")
	start := command(ctx, "tmux", "new-session", "-d", "-s", session,
		"-x", strconv.Itoa(dashboardCols), "-y", strconv.Itoa(dashboardRows),
		"exec "+shellQuote(tui)+" --cluster "+shellQuote(kv.cfg))
	if out, err := start.CombinedOutput(); err != nil {
		return dashboardCPU{}, fmt.Errorf("start dashboard: %w: %s", err, strings.TrimSpace(string(out)))
	}
	defer command(context.Background(), "tmux", "kill-session", "-t", session).Run()
	out, err := command(ctx, "tmux", "display-message", "-p", "-t", session, "#{pane_pid}").Output()
	if err != nil {
		return dashboardCPU{}, fmt.Errorf("dashboard pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return dashboardCPU{}, fmt.Errorf("dashboard pid %q: %w", out, err)
	}
	if err := waitScreen(ctx, session, "LEADER"); err != nil {
		return dashboardCPU{}, err
	}
	cpu := dashboardCPU{load64: w.name}
	if cpu.idle, err = cpuDuring(pid, func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(dashboardIdle):
			return nil
		}
	}); err != nil {
		return dashboardCPU{}, err
	}
	cpu.load, err = cpuDuring(pid, func() error {
		res, _, err := kv.bench(ctx, w)
		cpu.loadOps = res.OpsPerSec
		return err
	})
	return cpu, err
}

// waitScreen polls the tmux session's screen until it shows text.
func waitScreen(ctx context.Context, session, text string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		out, err := command(ctx, "tmux", "capture-pane", "-p", "-t", session).Output()
		if err == nil && strings.Contains(string(out), text) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dashboard never showed %q: %w; last screen:\n%s", text, ctx.Err(), out)
		case <-time.After(pollInterval):
		}
	}
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

// shellQuote quotes s for the shell tmux runs its command with.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
