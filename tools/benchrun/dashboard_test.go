package main

import (
	"os"
	"slices"
	"testing"
)

func TestCPUTicksOfThisProcess(t *testing.T) {
	before, err := cpuTicks(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel has counted some of it.
	for x := 0; ; x++ {
		after, err := cpuTicks(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if after > before {
			return
		}
		if x > 1e9 {
			t.Fatalf("cpu ticks stayed at %d", before)
		}
	}
}

func TestCPUTicksOfMissingProcess(t *testing.T) {
	if _, err := cpuTicks(1 << 30); err == nil {
		t.Fatal("ticks of a process that does not exist")
	}
}

func TestDashboardEnv(t *testing.T) {
	in := []string{"HOME=/root", "CI=true", "NO_COLOR=1", "TERM=dumb", "COLORTERM=truecolor", "PATH=/bin", "CIRCLE=1"}
	want := []string{"HOME=/root", "PATH=/bin", "CIRCLE=1", "TERM=xterm-256color"}
	got := dashboardEnv(in)
	if !slices.Equal(got, want) {
		t.Errorf("dashboardEnv(%q) = %q, want %q", in, got, want)
	}
	if in[1] != "CI=true" {
		t.Errorf("dashboardEnv changed its argument: %q", in)
	}
}
