package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuiltinScenariosParse: every embedded file is a valid scenario.
func TestBuiltinScenariosParse(t *testing.T) {
	all := Builtin()
	if len(all) < 8 {
		t.Fatalf("%d built-in scenarios, want at least 8", len(all))
	}
	for _, s := range all {
		if s.Title == "" || s.Summary == "" || len(s.Steps) == 0 {
			t.Errorf("%s: title %q, summary %q, %d steps", s.Name, s.Title, s.Summary, len(s.Steps))
		}
		for i, st := range s.Steps {
			if len(st.Expect) == 0 {
				t.Errorf("%s step %d checks nothing", s.Name, i+1)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"empty", "", "empty file"},
		{"no title", "steps: [{say: hi, expect: [no-leader]}]", "missing key: title"},
		{"no steps", "title: x", "no steps"},
		{"unknown key", "title: x\ncolour: red\nsteps: [{say: hi}]", "colour"},
		{"no say", "title: x\nsteps: [{do: [pause n1]}]", "step 1: missing key: say"},
		{"unknown check", "title: x\nsteps: [{say: hi, expect: [lead n1]}]", `unknown check "lead"`},
		{"check arguments", "title: x\nsteps: [{say: hi, expect: [leader]}]", "leader takes 1 arguments, got 0"},
		{"unbound name", "title: x\nsteps: [{say: hi, do: ['pause {old}']}]", "{old} is not bound"},
		{"bound twice", "title: x\nsteps: [{say: a, bind: {old: leader}}, {say: b, bind: {old: leader}}]", `bind "old": bound in an earlier step`},
		{"bad binding", "title: x\nsteps: [{say: a, bind: {old: boss}}]", `bind old: "boss"`},
		{"binding of unbound", "title: x\nsteps: [{say: a, bind: {t: 'term {old}'}}]", "{old} is not bound before it"},
		{"bad wait", "title: x\nsteps: [{say: a, wait: soon}]", `wait "soon"`},
		{"slow", "title: x\nslow: 500\nsteps: [{say: a}]", "slow 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x", []byte(tt.doc))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse: %v, want an ErrInvalid naming %q", err, tt.want)
			}
		})
	}
	if _, err := Parse("Bad Name", []byte("title: x\nsteps: [{say: a}]")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a bad name: %v", err)
	}
}

// TestParse: bindings keep their order, names are bound within the step
// that binds them, waits read both ways, checks keep "always".
func TestParse(t *testing.T) {
	s, err := Parse("demo", []byte(`
title: Demo
summary: A demo.
steps:
  - say: "{old} leads."
    bind:
      old: leader
      a: follower
      t: term
      e: next {old}
    do:
      - pause {old}
    expect:
      - always term-unchanged {t}
      - leader-not {old}
    wait: 2 timeouts
  - say: again
    expect: [converged]
    wait: 30s
`))
	if err != nil {
		t.Fatal(err)
	}
	st := s.Steps[0]
	if s.Nodes != 3 || s.Slow != 10 || len(st.Bind) != 4 || st.Bind[3] != (Binding{Name: "e", What: "next", Of: "old"}) || st.WaitTimeouts != 2 || s.Steps[1].Wait.String() != "30s" {
		t.Fatalf("parsed %+v", s)
	}
	if c := st.Expect[0]; !c.Always || c.Name != "term-unchanged" || c.Args[0] != "{t}" {
		t.Fatalf("check %+v", c)
	}
	if got := Expand("pause {old} after {t} {unknown}", map[string]string{"old": "n2", "t": "4"}); got != "pause n2 after 4 {unknown}" {
		t.Fatalf("Expand: %q", got)
	}
}

// TestLoadAndMerge: a teacher's directory adds scenarios and replaces a
// built-in one of the same name; a bad file is named.
func TestLoadAndMerge(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("transfer.yaml", "title: My transfer\nsteps: [{say: hi, expect: [converged]}]")
	write("mine.yaml", "title: Mine\nsteps: [{say: hi, expect: [converged]}]")
	extra, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := Merge(Builtin(), extra)
	titles := map[string]string{}
	for _, s := range all {
		titles[s.Name] = s.Title
	}
	if titles["transfer"] != "My transfer" || titles["mine"] != "Mine" || titles["split-vote"] == "" || len(all) != len(Builtin())+1 {
		t.Fatalf("merged %v", titles)
	}
	write("broken.yaml", "title: [")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "broken.yaml") {
		t.Fatalf("Load with a broken file: %v", err)
	}
}
