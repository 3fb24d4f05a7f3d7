package main

import (
	"reflect"
	"testing"
)

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantPos    []string
		wantOutput string
	}{
		{"nothing", nil, nil, "table"},
		{"flag first", []string{"-o", "json", "n1"}, []string{"n1"}, "json"},
		{"flag last", []string{"n1", "-o", "json"}, []string{"n1"}, "json"},
		{"flag between", []string{"n1", "-o=json", "n2"}, []string{"n1", "n2"}, "json"},
		{"double dash", []string{"n1", "--", "-o", "json"}, []string{"n1", "-o", "json"}, "table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := globals{output: "table"}
			pos, err := parseInterspersed(newFlagSet("test", &g), tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pos, tt.wantPos) {
				t.Errorf("positional = %q, want %q", pos, tt.wantPos)
			}
			if g.output.String() != tt.wantOutput {
				t.Errorf("output = %q, want %q", g.output, tt.wantOutput)
			}
		})
	}
}

// TestCommandFlagsKeepGlobals checks that the command's FlagSet, which
// redefines the global flags, does not reset what the global one parsed.
func TestCommandFlagsKeepGlobals(t *testing.T) {
	g := globals{output: "table"}
	if err := newFlagSet("global", &g).Parse([]string{"--cluster", "c.yaml", "--timeout", "7s", "-o", "json"}); err != nil {
		t.Fatal(err)
	}
	if _, err := parseInterspersed(newFlagSet("status", &g), nil); err != nil {
		t.Fatal(err)
	}
	if g.cluster != "c.yaml" || g.timeout.String() != "7s" || g.output != "json" {
		t.Errorf("globals after the command's flags = %+v", g)
	}
}
