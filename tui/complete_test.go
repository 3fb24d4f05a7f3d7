package tui

import (
	"fmt"
	"slices"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

func TestTabCompletesByContext(t *testing.T) {
	tests := []struct {
		name  string
		typed string
		want  string // what the prompt holds after one tab
	}{
		{"ambiguous command", "pa", "pause"}, // or partition: nothing in common to add, the first
		{"unique command with arguments", "hea", "heal "},
		{"unique command without", "cl", "clear"},
		{"commands sharing a prefix", "p", "put"},
		{"command, any case", "ISO", "isolate "},
		{"node after pause", "pause n", "pause n1"},
		{"node after resume", "resume a", "resume all"},
		{"all after heal", "heal a", "heal all"},
		{"node after status", "status n2", "status n2"},
		{"unique node", "partition n3", "partition n3"},
		{"delay needs a duration", "delay n2", "delay n2 "},
		{"isolate skips named nodes", "isolate n1 n2 n", "isolate n1 n2 n3"},
		{"isolate needs a peer", "isolate n", "isolate n1"},
		{"key after get, newest first", "get user:", "get user:1"},
		{"unique key after get", "get o", "get order:7"},
		{"put needs a value", "put o", "put order:7 "},
		{"node after a key", "get order:7 @", "get order:7 @n"},
		{"nothing after the value", "put order:7 x", "put order:7 x"},
		{"no key known", "delete zzz", "delete zzz"},
		{"unknown command", "frob n", "frob n"},
		{"empty prompt", "", "put"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 3)
			for _, k := range []string{"order:7", "user:2", "user:1"} {
				h.m.rememberKey(k, true)
			}
			h.typeText(tt.typed)
			if got := h.press(tea.KeyTab); got != tt.want {
				t.Errorf("tab after %q gave %q, want %q", tt.typed, got, tt.want)
			}
		})
	}
}

func TestRepeatedTabCycles(t *testing.T) {
	h := newHarness(t, 3)
	h.typeText("pause ")
	for i, want := range []string{"pause n", "pause n1", "pause n2", "pause n3", "pause n1"} {
		if got := h.press(tea.KeyTab); got != want {
			t.Fatalf("tab %d gave %q, want %q", i+1, got, want)
		}
	}
	if want := "3 completions: [n1]  n2  n3"; h.m.status.text != want || h.m.status.isErr {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
	// Typing ends the cycle: the next tab completes the new word.
	h.send(tea.KeyMsg{Type: tea.KeyBackspace})
	h.typeText("3")
	if got := h.press(tea.KeyTab); got != "pause n3" {
		t.Errorf("tab after editing gave %q, want pause n3", got)
	}
}

func TestTabCompletesCommonPrefixThenCycles(t *testing.T) {
	h := newHarness(t, 3)
	for _, k := range []string{"user:10", "user:11", "order:1"} {
		h.m.rememberKey(k, true)
	}
	h.typeText("get u")
	if got := h.press(tea.KeyTab); got != "get user:1" {
		t.Fatalf("first tab gave %q, want the common prefix get user:1", got)
	}
	if want := "2 completions: user:11  user:10"; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
	for i, want := range []string{"get user:11", "get user:10", "get user:11"} {
		if got := h.press(tea.KeyTab); got != want {
			t.Fatalf("tab %d gave %q, want %q", i+2, got, want)
		}
	}
}

func TestTabOnlyCompletesTheEndOfTheLine(t *testing.T) {
	h := newHarness(t, 3)
	h.typeText("pause n")
	h.send(tea.KeyMsg{Type: tea.KeyLeft})
	if got := h.press(tea.KeyTab); got != "pause n" {
		t.Errorf("tab with the cursor inside the line gave %q", got)
	}
}

func TestKeysSeenInResultsComplete(t *testing.T) {
	h := kvHarness(t)
	h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode_OK, Value: "v", Found: true}, nil)
	h.run(h.typeLine("get cart:9"))
	h.typeText("delete c")
	if got := h.press(tea.KeyTab); got != "delete cart:9" {
		t.Errorf("tab gave %q, want the key just read", got)
	}
	// A key read as missing is forgotten.
	h.send(tea.KeyMsg{Type: tea.KeyEsc})
	h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode_NOT_FOUND}, nil)
	h.run(h.typeLine("get cart:9"))
	h.typeText("get c")
	if got := h.press(tea.KeyTab); got != "get c" {
		t.Errorf("tab gave %q after the key was found missing", got)
	}
}

func TestCommonPrefix(t *testing.T) {
	tests := []struct {
		words []string
		want  string
	}{
		{nil, ""},
		{[]string{"abc"}, "abc"},
		{[]string{"abc", "abd", "ab"}, "ab"},
		{[]string{"x", "y"}, ""},
		{[]string{"né", "nè"}, "n"}, // é and è share their first byte
	}
	for _, tt := range tests {
		if got := commonPrefix(tt.words); got != tt.want {
			t.Errorf("commonPrefix(%q) = %q, want %q", tt.words, got, tt.want)
		}
	}
}

// TestKeysInLogTailsComplete: a dashboard started on a cluster that holds
// k1–k60 completes them at once, from the keys the nodes' log tails showed
// (each tail holds eight entries; the keys of earlier tails are kept), not
// only from those its own commands named. A key deleted since is not
// offered, nor one written by an entry not yet committed; one the session
// named comes first.
func TestKeysInLogTailsComplete(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	var log []*pb.LogEntry
	for i := int64(1); i <= 64; i++ {
		cmd := fmt.Sprintf("PUT k%d v%d", i, i)
		switch i {
		case 61:
			cmd = "DEL k7"
		case 62:
			cmd = `PUT "my key" v`
		case 63:
			cmd = "PUT a-key-longer-than-twenty-four… v"
		case 64:
			cmd = "PUT k99 uncommitted"
		}
		log = append(log, entry(i, 2, cmd))
	}
	// The leader's statuses as the log grew, eight entries a tail.
	for last := int64(8); last <= 64; last += 8 {
		st := leaderStatus("n1", 2)
		st.CommitIndex, st.AppliedIndex, st.LastIndex = min(last, 63), min(last, 63), last
		st.LogTail = log[last-8 : last]
		h.deliver("n1", statusEv(st))
	}
	// A follower behind: its older tail must not bring k7 back.
	n2 := follower("n2", 2, "n1", 1000, 900)
	n2.CommitIndex, n2.AppliedIndex, n2.LastIndex, n2.LogTail = 8, 8, 8, log[0:8]
	h.deliver("n2", statusEv(n2))

	pool := h.m.keyPool()
	for _, want := range []string{"k1", "k6", "k8", "k60", `"my key"`} {
		if !slices.Contains(pool, want) {
			t.Errorf("keys %v lack %s", pool, want)
		}
	}
	for _, lost := range []string{"k7", "k99", "a-key-longer-than-twenty-four…", "my key"} {
		if slices.Contains(pool, lost) {
			t.Errorf("keys %v offer %q", pool, lost)
		}
	}
	if pool[0] != `"my key"` || pool[1] != "k60" {
		t.Errorf("keys %v, want the newest first", pool)
	}

	h.typeText("get k6")
	if got := h.press(tea.KeyTab); got != "get k60" {
		t.Errorf("tab gave %q, want the newest of k60, k6", got)
	}
	if want := "2 completions: [k60]  k6"; h.m.status.text != want {
		t.Errorf("status %q, want %q", h.m.status.text, want)
	}
	h.send(tea.KeyMsg{Type: tea.KeyEsc})
	h.typeText("delete k5")
	h.press(tea.KeyTab)
	if want := "11 completions: [k59]  k58  k57  k56  k55  k54  k53  k52  k51  k50  k5"; h.m.status.text != want {
		t.Errorf("status %q, want %q", h.m.status.text, want)
	}

	// A key this session read comes first.
	h.send(tea.KeyMsg{Type: tea.KeyEsc})
	h.m.rememberKey("k2", true)
	if pool := h.m.keyPool(); pool[0] != "k2" || slices.Contains(pool[1:], "k2") {
		t.Errorf("keys %v, want k2 first, once", pool)
	}
}
