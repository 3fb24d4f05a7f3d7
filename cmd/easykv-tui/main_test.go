package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRejectsBadInvocations(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.yaml")
	if err := os.WriteFile(garbage, []byte("nodes: [\n\t{id: n1"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, []byte("name: demo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in the one line on stderr
	}{
		{"no --cluster", nil, "--cluster FILE is required"},
		{"unknown flag", []string{"--bogus"}, "bogus"},
		{"stray argument", []string{"--cluster", garbage, "extra"}, `unexpected argument "extra"`},
		{"missing file", []string{"--cluster", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"not yaml", []string{"--cluster", garbage}, ""},
		{"no nodes", []string{"--cluster", empty}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			msg := stderr.String()
			if !strings.HasPrefix(msg, "easykv-tui: ") || strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
				t.Errorf("stderr = %q, want one line starting with \"easykv-tui: \"", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("stderr = %q, want it to mention %q", msg, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if !strings.Contains(stdout.String(), "--cluster FILE") || stderr.Len() != 0 {
		t.Errorf("stdout %q stderr %q, want usage on stdout only", stdout.String(), stderr.String())
	}
}

func TestNewClientIDIsRandomAndNotZero(t *testing.T) {
	seen := make(map[uint64]bool)
	for range 100 {
		id := newClientID()
		if id == 0 || seen[id] {
			t.Fatalf("client id %d is zero or repeated", id)
		}
		seen[id] = true
	}
}
