package tui

import (
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

func TestPauseCallsAdminOnThatNode(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	for _, n := range h.m.nodes {
		h.deliver(n.node.ID, statusEv(follower(n.node.ID, 2, "n1", 1000, 600)))
	}
	n2 := h.dialer.conn(t, "n2")
	paused := follower("n2", 2, "n1", 1000, 600)
	paused.Paused = true
	n2.adminResp = &pb.AdminResponse{Ok: true, Status: paused}

	cmd := h.typeLine("pause n2")
	if cmd == nil {
		t.Fatal("pause n2 gave no command")
	}
	mustContain(t, h.view(), "pause n2: sent…")
	h.send(cmd())
	if got := n2.adminCalls(); len(got) != 1 || got[0] != pb.AdminCommand_PAUSE {
		t.Errorf("n2 got admin calls %v, want [PAUSE]", got)
	}
	for _, id := range []string{"n1", "n3"} {
		if got := h.dialer.conn(t, id).adminCalls(); len(got) != 0 {
			t.Errorf("%s got admin calls %v, want none", id, got)
		}
	}
	// The answer's status shows at once, before the stream catches up.
	mustContain(t, h.view(), "pause n2: done", "⏸ PAUSED")
	if h.m.input.Value() != "" {
		t.Errorf("prompt still holds %q after enter", h.m.input.Value())
	}

	n2.adminResp = &pb.AdminResponse{Ok: true}
	h.send(h.typeLine("resume n2")())
	if got := n2.adminCalls(); len(got) != 2 || got[1] != pb.AdminCommand_RESUME {
		t.Errorf("n2 got admin calls %v, want [PAUSE RESUME]", got)
	}
}

func TestPromptErrors(t *testing.T) {
	tests := []struct {
		name  string
		line  string
		setup func(*harness)
		want  string
	}{
		{"unknown command", "frobnicate n1", nil, `unknown command "frobnicate": try put, get, delete, pause, resume, partition, isolate, delay, heal, help or quit`},
		{"missing id", "pause", nil, "usage: pause ID"},
		{"extra args", "resume n1 n2", nil, "usage: resume ID"},
		{"unknown node", "pause n9", nil, `pause: unknown node "n9" (nodes: n1, n2, n3)`},
		{"down node", "pause n3", func(h *harness) {
			h.dialer.setFail("n3", errors.New("refused"))
			h.connect("n3")
		}, "pause n3: not connected"},
		{"transport error", "pause n1", func(h *harness) {
			h.dialer.conn(t, "n1").adminErr = errors.New("i/o timeout")
		}, "pause n1: i/o timeout"},
		{"refused", "resume n1", func(h *harness) {
			h.dialer.conn(t, "n1").adminResp = &pb.AdminResponse{Error: "bad token"}
		}, "resume n1: bad token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 3)
			h.connect("n1")
			if tt.setup != nil {
				tt.setup(h)
			}
			if cmd := h.typeLine(tt.line); cmd != nil {
				h.send(cmd())
			}
			if !h.m.status.isErr || h.m.status.text != tt.want {
				t.Errorf("status = %q (error %v), want error %q", h.m.status.text, h.m.status.isErr, tt.want)
			}
			mustContain(t, h.view(), tt.want)
		})
	}
}

func TestQuit(t *testing.T) {
	tests := []struct {
		name string
		keys []tea.KeyMsg
	}{
		{"quit command", typed("quit")},
		{"exit command", typed("exit")},
		{"ctrl+c", []tea.KeyMsg{{Type: tea.KeyCtrlC}}},
		{"ctrl+c with text typed", append(typed("pause")[:5], tea.KeyMsg{Type: tea.KeyCtrlC})},
		{"ctrl+c in help", []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune{'?'}}, {Type: tea.KeyCtrlC}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 1)
			var cmd tea.Cmd
			for _, k := range tt.keys {
				cmd = h.send(k)
			}
			if cmd == nil {
				t.Fatal("no command")
			}
			if _, ok := cmd().(tea.QuitMsg); !ok {
				t.Errorf("command gave %T, want tea.QuitMsg", cmd())
			}
		})
	}
}

// typed is s typed at the prompt followed by enter.
func typed(s string) []tea.KeyMsg {
	var keys []tea.KeyMsg
	for _, r := range s {
		keys = append(keys, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return append(keys, tea.KeyMsg{Type: tea.KeyEnter})
}

func TestHelpOverlay(t *testing.T) {
	h := newHarness(t, 3)
	question := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'?'}}

	h.send(question)
	frame := h.view()
	golden(t, "help", frame)
	mustContain(t, frame, "Commands", "pause ID", "resume ID", "partition ID", "isolate ID PEER…", "delay ID DURATION", "heal ID",
		"ctrl+c", "★ LEADER", "⏸ PAUSED", "✂ PARTITIONED", "✂ isolated from ID", "⏱ +DURATION")
	h.send(question)
	if h.m.showHelp {
		t.Error("? did not close the help")
	}

	h.typeLine("help")
	if !h.m.showHelp {
		t.Error("the help command did not open the help")
	}
	h.send(tea.KeyMsg{Type: tea.KeyEsc})
	if h.m.showHelp {
		t.Error("esc did not close the help")
	}

	// With text in the prompt, ? is just a character.
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'x'}})
	h.send(question)
	if h.m.showHelp || h.m.input.Value() != "x?" {
		t.Errorf("? with text typed: help %v, prompt %q; want no help and \"x?\"", h.m.showHelp, h.m.input.Value())
	}
	h.send(tea.KeyMsg{Type: tea.KeyEsc})
	if h.m.input.Value() != "" {
		t.Errorf("esc left %q in the prompt", h.m.input.Value())
	}
}

func TestTabCompletes(t *testing.T) {
	h := newHarness(t, 3)
	for _, r := range "resume n" {
		h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	h.send(tea.KeyMsg{Type: tea.KeyTab})
	if got := h.m.input.Value(); !strings.HasPrefix(got, "resume n") || len(got) != len("resume n1") {
		t.Errorf("tab completed to %q, want a resume of a node", got)
	}
}

// TestBurstOfTextIsText types words that are also key names the way a
// terminal delivers fast typing: one message per word.
func TestBurstOfTextIsText(t *testing.T) {
	h := newHarness(t, 3)
	var cmds []tea.Cmd
	for i, word := range []string{"delete", "end", "enter", "esc", "tab", "home", "ctrl+c", "?!"} {
		if i > 0 {
			cmds = append(cmds, h.send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}))
		}
		cmds = append(cmds, h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(word)}))
	}
	if got, want := h.m.input.Value(), "delete end enter esc tab home ctrl+c ?!"; got != want {
		t.Errorf("prompt holds %q, want %q", got, want)
	}
	if h.m.showHelp || h.m.status.text != "" {
		t.Errorf("typing ran something: help %v, status %q", h.m.showHelp, h.m.status.text)
	}
	for _, cmd := range cmds {
		if cmd == nil {
			continue
		}
		if _, quit := cmd().(tea.QuitMsg); quit {
			t.Error("typing \"ctrl+c\" quit")
		}
	}
}
