package tui

import (
	"slices"
	"strings"
	"testing"

	"github.com/easykv/easykv/netlink/pb"
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
	want := []string{"add", "del", "delay", "delete", "fill", "get", "heal", "hold", "isolate", "partition", "pause", "promote", "put", "release", "remove", "resume", "scenario", "slow", "slow-disk", "timeout", "transfer"}
	if !slices.Equal(talks, want) {
		t.Errorf("commands a replay refuses: %v, want %v", talks, want)
	}
	if lookupCommand("frob") != nil {
		t.Error("an unknown command has a row")
	}
}

// TestHealAllAndUsage: heal all heals every connected node and answers
// once with what it did, as resume all does; resume and heal without an
// argument say that all is one.
func TestHealAllAndUsage(t *testing.T) {
	h := kvHarness(t)
	st := follower("n3", 3, "n2", 1000, 900)
	st.Partitioned = true
	h.deliver("n3", statusEv(st))
	for _, id := range []string{"n1", "n2", "n3"} {
		h.dialer.conn(t, id).adminResp = &pb.AdminResponse{Ok: true, Status: follower(id, 3, "n2", 1000, 900)}
	}
	runBatch(h, h.typeLine("heal all"))
	for _, id := range []string{"n1", "n2", "n3"} {
		if got := h.dialer.conn(t, id).adminCalls(); !slices.Equal(got, []pb.AdminCommand{pb.AdminCommand_HEAL}) {
			t.Errorf("%s got %v, want one HEAL", id, got)
		}
	}
	if want := "healed n3 (n1, n2: not needed)"; h.m.status.text != want || h.m.status.isErr {
		t.Errorf("status = %q (error %v), want %q", h.m.status.text, h.m.status.isErr, want)
	}
	for _, line := range []string{"resume", "heal", "heal n1 n2"} {
		verb, _, _ := strings.Cut(line, " ")
		if cmd := h.typeLine(line); cmd != nil {
			t.Errorf("%q sent a command", line)
		}
		if want := "usage: " + verb + " ID, or " + verb + " all"; h.m.status.text != want || !h.m.status.isErr {
			t.Errorf("%q: status = %q, want error %q", line, h.m.status.text, want)
		}
	}
}
