package main

import (
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	now := time.Date(2026, 11, 25, 23, 4, 5, 0, time.UTC)
	defaults, err := parseFlags(nil, io.Discard, now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(defaults.nodes, []int{3, 5}) || defaults.trials != 9 || defaults.quick || defaults.noEtcd {
		t.Errorf("defaults = %+v", defaults)
	}
	if want := filepath.Join("bench-results", "bench-2026-11-25-230405.txt"); defaults.out != want {
		t.Errorf("default out = %q, want %q", defaults.out, want)
	}

	tests := []struct {
		name       string
		args       []string
		wantNodes  []int
		wantTrials int
	}{
		{"3 only", []string{"--nodes", "3"}, []int{3}, 9},
		{"5 then 3, repeated", []string{"--nodes", "5, 3,5"}, []int{5, 3}, 9},
		{"quick: fewer trials", []string{"--quick"}, []int{3, 5}, 3},
		{"quick with trials", []string{"--quick", "--trials", "7"}, []int{3, 5}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, io.Discard, now)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.nodes, tt.wantNodes) || got.trials != tt.wantTrials {
				t.Errorf("nodes, trials = %v, %d; want %v, %d", got.nodes, got.trials, tt.wantNodes, tt.wantTrials)
			}
		})
	}

	for _, args := range [][]string{
		{"--nodes", "three"},
		{"--nodes", "0"},
		{"--nodes", "3,"},
		{"--trials", "0"},
		{"--bogus"},
		{"extra"},
	} {
		if got, err := parseFlags(args, io.Discard, now); err == nil {
			t.Errorf("parseFlags(%q) = %+v, want an error", args, got)
		}
	}
}

func TestWorkloads(t *testing.T) {
	for _, quick := range []bool{false, true} {
		ws := workloads(quick)
		if len(ws) != 3 {
			t.Fatalf("workloads(%v): %d, want 3", quick, len(ws))
		}
		ws = append(ws, append(scaleClients(quick), scaleValues(quick)...)...)
		for _, w := range ws {
			if w.clients > w.total || w.conns > w.clients || (w.op != "put" && w.op != "get") {
				t.Errorf("workloads(%v): bad %+v", quick, w)
			}
		}
	}
}
