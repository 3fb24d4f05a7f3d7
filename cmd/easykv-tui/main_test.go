package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/tui"
)

// goodCluster is a valid cluster file; nothing listens on its addresses.
var goodCluster = testkit.Cluster{
	Name:      "demo",
	Nodes:     testkit.Nodes("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"),
	Heartbeat: 100 * time.Millisecond, ElectionTimeout: time.Second,
}

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunRejectsBadInvocations(t *testing.T) {
	dir := t.TempDir()
	garbage := writeFile(t, dir, "garbage.yaml", "nodes: [\n\t{id: n1")
	empty := writeFile(t, dir, "empty.yaml", "name: demo\n")
	good := testkit.WriteCluster(t, filepath.Join(dir, "cluster.yaml"), goodCluster)
	goodText, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	unknownKey := writeFile(t, dir, "unknown.yaml", string(goodText)+"data2_dir: ./x\n")
	notRecording := writeFile(t, dir, "not.jsonl", "hello\n")
	scenarioDir := t.TempDir()
	writeFile(t, scenarioDir, "broken.yaml", "title: Broken\nsteps:\n  - say: hi\n    expect:\n      - lead n1\n")
	oldVersion := writeFile(t, dir, "v0.jsonl", `{"format":"easykv-tui-record","version":0,"nodes":[{"id":"n1"}]}`+"\n")
	missing := filepath.Join(dir, "nope.yaml")
	unwritable := filepath.Join(dir, "no-such-dir", "rec.jsonl")
	tests := []struct {
		name string
		args []string
		want string // in the one line on stderr
	}{
		{"no --cluster", nil, "--cluster FILE is required"},
		{"unknown flag", []string{"--bogus"}, "bogus"},
		{"bad bool", []string{"--no-color=maybe", "--cluster", good}, "no-color"},
		{"stray argument", []string{"--cluster", garbage, "extra"}, `unexpected argument "extra"`},
		{"missing file", []string{"--cluster", missing}, "nope.yaml"},
		{"not yaml", []string{"--cluster", garbage}, ""},
		{"no nodes", []string{"--cluster", empty}, ""},
		{"unknown key", []string{"--cluster", unknownKey}, `unknown key "data2_dir"`},
		{"record unwritable", []string{"--cluster", good, "--record", unwritable}, "no-such-dir"},
		{"record with replay", []string{"--replay", notRecording, "--record", filepath.Join(dir, "r")}, "--record and --replay"},
		{"replay with cluster", []string{"--replay", notRecording, "--cluster", good}, "takes no --cluster"},
		{"replay missing", []string{"--replay", missing}, "nope.yaml"},
		{"replay stop-on-error", []string{"--replay", notRecording, "--stop-on-error"}, "--stop-on-error is for piped commands"},
		{"replay not a recording", []string{"--replay", notRecording}, "not an easykv-tui recording"},
		{"replay old version", []string{"--replay", oldVersion}, "version 0"},
		{"replay empty", []string{"--replay", empty}, "not an easykv-tui recording"},
		{"bad scenario", []string{"--cluster", good, "--scenarios", scenarioDir}, "--scenarios: broken.yaml: invalid scenario: step 1: expect \"lead n1\": unknown check \"lead\""},
		{"missing scenario dir", []string{"--cluster", good, "--scenarios", missing}, "--scenarios"},
		{"negative travel", []string{"--cluster", good, "--scenario-travel", "-1s"}, "--scenario-travel -1s: want a positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr, noEnv)
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
	if _, err := os.Stat(filepath.Join(dir, "r")); !os.IsNotExist(err) {
		t.Errorf("a rejected invocation created its --record file (stat: %v)", err)
	}
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, strings.NewReader(""), &stdout, &stderr, noEnv); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	for _, want := range []string{"--cluster FILE", "--replay FILE", "-no-color", "-record", "-stop-on-error", "Exit status: 0"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("usage lacks %q: %s", want, stdout.String())
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr %q, want usage on stdout only", stderr.String())
	}
}

func TestColourless(t *testing.T) {
	tests := []struct {
		flag    bool
		noColor string // NO_COLOR's value
		want    bool
	}{
		{false, "", false},
		{false, "1", true},
		{false, "0", true}, // any non-empty value, says no-color.org
		{true, "", true},
		{true, "1", true},
	}
	for _, tt := range tests {
		getenv := func(k string) string {
			if k == "NO_COLOR" {
				return tt.noColor
			}
			return ""
		}
		if got := colourless(tt.flag, getenv); got != tt.want {
			t.Errorf("colourless(--no-color=%t, NO_COLOR=%q) = %t, want %t", tt.flag, tt.noColor, got, tt.want)
		}
	}
}

// TestPipedModeRecords: with stdin not a terminal the command runs the
// piped commands (none here) and exits 0 instead of opening a terminal;
// --record has written its header by then.
func TestPipedModeRecords(t *testing.T) {
	dir := t.TempDir()
	good := testkit.WriteCluster(t, filepath.Join(dir, "cluster.yaml"), goodCluster)
	recFile := filepath.Join(dir, "rec.jsonl")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--cluster", good, "--record", recFile}, strings.NewReader(""), &stdout, &stderr, noEnv)
	if code != 0 {
		t.Errorf("exit status %d, want 0; stderr %q", code, stderr.String())
	}
	f, err := os.Open(recFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := tui.ReadRecording(f)
	if err != nil {
		t.Fatalf("read the recording: %v", err)
	}
	if h := rec.Header; h.Cluster != "demo" || len(h.Nodes) != 3 || h.Nodes[1] != (tui.RecordNode{ID: "n2", Addr: "127.0.0.1:2"}) {
		t.Errorf("header %+v, want cluster demo and its three nodes", h)
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

// TestPipedModeFails: against a cluster that is not running, each command
// fails on stderr, stdout stays empty, and the exit status is 1; with
// --stop-on-error the first failure ends the run.
func TestPipedModeFails(t *testing.T) {
	dir := t.TempDir()
	good := testkit.WriteCluster(t, filepath.Join(dir, "cluster.yaml"), goodCluster)
	tests := []struct {
		name      string
		args      []string
		wantLines []string // stderr's lines, in order
	}{
		{"goes on", []string{"--cluster", good}, []string{
			"(error) line 1: no node is connected",
			"(error) line 3: no node is connected",
			"easykv-tui: 2 of 2 commands failed",
		}},
		{"stops", []string{"--cluster", good, "--stop-on-error"}, []string{
			"(error) line 1: no node is connected",
			"easykv-tui: line 1 failed; the lines after it were not run",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader("put a 1\n# skipped\nget a\n"), &stdout, &stderr, noEnv)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing: failures go to stderr", stdout.String())
			}
			if got := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(tt.wantLines, "\n") {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), strings.Join(tt.wantLines, "\n"))
			}
		})
	}
}
