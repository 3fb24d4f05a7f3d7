package main

import (
	"os"
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

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/tmp/bin/easykv-tui": `'/tmp/bin/easykv-tui'`,
		"it's here":           `'it'\''s here'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
