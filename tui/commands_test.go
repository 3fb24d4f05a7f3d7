package tui

import (
	"slices"
	"strings"
	"testing"
)

// TestCommandTable checks the rows against each other: every command is
// named in the help, every name finds its row in any case, and the
// commands a replay refuses are the ones that talk to nodes.
func TestCommandTable(t *testing.T) {
	var syntax []string
	for _, h := range commandHelp {
		syntax = append(syntax, strings.Fields(h[0])...)
	}
	for _, c := range commandTable {
		if !slices.Contains(syntax, c.names[0]) {
			t.Errorf("%s: not in the help", c.names[0])
		}
		for _, name := range c.names {
			if lookupCommand(strings.ToUpper(name)) != lookupCommand(c.names[0]) {
				t.Errorf("%s: does not find its row", name)
			}
		}
	}
	var talks []string
	for name, c := range commandsByName {
		if c.talksToNodes {
			talks = append(talks, name)
		}
	}
	slices.Sort(talks)
	want := []string{"del", "delay", "delete", "get", "heal", "isolate", "partition", "pause", "put", "resume", "slow-disk"}
	if !slices.Equal(talks, want) {
		t.Errorf("commands a replay refuses: %v, want %v", talks, want)
	}
	if lookupCommand("frob") != nil {
		t.Error("an unknown command has a row")
	}
}
