package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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

// promptError is a line typed at the prompt that must fail with want,
// after setup (nil: none) on three nodes with n1 connected.
type promptError struct {
	name  string
	line  string
	setup func(*harness)
	want  string
}

// testPromptErrors types each case's line and checks that the status line
// and the screen show the error, and that a line refused before reaching
// a node sent it nothing.
func testPromptErrors(t *testing.T, tests []promptError) {
	t.Helper()
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
			if tt.setup == nil {
				if got := h.dialer.conn(t, "n1").adminRequests(); len(got) != 0 {
					t.Errorf("a bad command was sent: %v", got)
				}
			}
		})
	}
}

func TestPromptErrors(t *testing.T) {
	testPromptErrors(t, []promptError{
		{"unknown command", "frobnicate n1", nil, `unknown command "frobnicate": help lists the commands`},
		{"missing id", "pause", nil, "usage: pause ID"},
		{"extra args", "resume n1 n2", nil, "usage: resume ID, or resume all"},
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
	})
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

// TestStatusLineStaysAndWraps: the newest result stays until the next
// command, however long ago it came, and a long one wraps, up to
// maxStatusLines, so that a warning at its end is read.
func TestStatusLineStaysAndWraps(t *testing.T) {
	h := newHarness(t, 3)
	h.send(tea.WindowSizeMsg{Width: 60, Height: 30})
	h.typeLine("pause n9")
	want := `pause: unknown node "n9" (nodes: n1, n2, n3)`
	h.tick(time.Hour)
	if h.m.status.text != want {
		t.Fatalf("status = %q an hour later, want %q", h.m.status.text, want)
	}
	mustContain(t, h.view(), want)

	long := "put stuck 1 → timed out on n1: leadership lost before the write was applied; the write may or may not have been applied"
	h.m.setError("%s", long)
	frame := h.view()
	mustContain(t, frame, "put stuck 1 → timed out on n1: leadership lost before the", "write was applied; the write may or may not have been", "applied")
	if lines := h.m.viewStatus(); len(lines) != 3 {
		t.Errorf("a %d-cell answer takes %d lines at 60 columns, want 3", len(long), len(lines))
	}
	if got := strings.Count(frame, "\n") + 1; got != 30 {
		t.Errorf("the frame is %d lines, want the terminal's 30", got)
	}
	h.m.setError("%s", strings.Repeat("x", 1000))
	lines := h.m.viewStatus()
	if len(lines) != maxStatusLines || !strings.HasSuffix(lines[maxStatusLines-1], "…") {
		t.Errorf("a 1000-cell answer: %d lines ending %q, want %d ending with …", len(lines), lines[len(lines)-1], maxStatusLines)
	}
	// The next command replaces it.
	h.typeLine("pause n8")
	if !strings.Contains(h.m.status.text, "n8") {
		t.Errorf("status = %q, want the new error", h.m.status.text)
	}
}

func TestStatusCommand(t *testing.T) {
	h := kvHarness(t)
	paused := follower("n3", 3, "n2", 1000, 900)
	paused.Paused, paused.DelayMs, paused.IsolatedFrom = true, 200, []string{"n1"}
	paused.SnapshotIndex, paused.SnapshotTerm, paused.FirstIndex = 6, 3, 5
	h.deliver("n3", statusEv(paused))
	h.run(h.typeLine("status"))
	want := "status: leader n2 (term 3); 3 nodes: 2 up, 1 paused; fresh from n1, n2, n3" // counted as the header counts them
	if h.m.status.text != want || h.m.status.isErr {
		t.Errorf("status = %q (error %v), want %q", h.m.status.text, h.m.status.isErr, want)
	}
	var lines []string
	for _, e := range h.m.events.last(3) {
		lines = append(lines, e.node+" "+e.text)
	}
	wantLines := []string{
		"n1 follower term=3 leader=n2 commit=7 applied=7 last=7",
		"n2 leader term=3 commit=7 applied=7 last=7",
		"n3 follower term=3 leader=n2 commit=7 applied=7 last=7 snap=6@3 first=5 paused isolated=n1 delay=200ms",
	}
	if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("event pane ends with\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}

	h.run(h.typeLine("status n2"))
	if got := lastEvent(h); got != wantLines[1] {
		t.Errorf("status n2 added %q, want %q", got, wantLines[1])
	}
	h.typeLine("status n2 n3")
	if h.m.status.text != "usage: status [ID]" {
		t.Errorf("status = %q, want the usage", h.m.status.text)
	}

	// Each node is asked afresh: a newer status replaces what the stream
	// said, and a node that does not answer in time is shown as last
	// heard, saying so.
	newer := leaderStatus("n2", 4)
	h.dialer.conn(t, "n2").statusAnswer = func() (*pb.NodeStatus, error) { return newer, nil }
	h.dialer.conn(t, "n1").statusAnswer = func() (*pb.NodeStatus, error) { return nil, context.DeadlineExceeded }
	h.clock.advance(300 * time.Millisecond)
	h.run(h.typeLine("status"))
	lines = nil
	for _, e := range h.m.events.last(3) {
		lines = append(lines, e.node+" "+e.text)
	}
	wantLines = []string{
		"n1 no answer within 1s; last heard 0.3s ago: follower term=3 leader=n2 commit=7 applied=7 last=7",
		"n2 leader term=4 commit=7 applied=7 last=7",
		wantLines[2],
	}
	if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("event pane ends with\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	if want := "status: leader n2 (term 4); 3 nodes: 2 up, 1 paused; fresh from n2, n3; no answer from n1"; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
	if !strings.Contains(h.view(), "leader n2 (term 4)") {
		t.Error("the header does not show the fresh answer")
	}
}

func TestStatusOfDownAndConnectingNodes(t *testing.T) {
	h := newHarness(t, 3)
	h.connect("n1")
	h.dialer.setFail("n2", errors.New("connection refused"))
	h.connect("n2")
	h.run(h.typeLine("status"))
	var lines []string
	for _, e := range h.m.events.last(3) {
		lines = append(lines, e.node+" "+e.text)
	}
	want := "n1 no answer within 1s; connected, no status yet\nn2 down: connection refused\nn3 connecting"
	if got := strings.Join(lines, "\n"); got != want {
		t.Errorf("status lines\n%s\nwant\n%s", got, want)
	}
	if want := "status: no leader; 3 nodes: 0 up, 1 down, 2 connecting; no answer from n1"; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
}

func TestClear(t *testing.T) {
	for _, how := range []string{"command", "ctrl+l"} {
		t.Run(how, func(t *testing.T) {
			h := kvHarness(t)
			h.typeLine("pause n9")
			if how == "command" {
				h.typeLine("clear")
			} else {
				h.send(tea.KeyMsg{Type: tea.KeyCtrlL})
			}
			if got := h.m.events.last(10); len(got) != 0 {
				t.Errorf("event pane still holds %d lines", len(got))
			}
			if h.m.status.text != "" {
				t.Errorf("status = %q, want none", h.m.status.text)
			}
		})
	}
}

func TestPauseLeaderKey(t *testing.T) {
	h := kvHarness(t) // n2 leads
	cmd := h.send(tea.KeyMsg{Type: tea.KeyCtrlP})
	if cmd == nil {
		t.Fatal("ctrl+p gave no command")
	}
	h.send(cmd())
	if got := h.dialer.conn(t, "n2").adminCalls(); len(got) != 1 || got[0] != pb.AdminCommand_PAUSE {
		t.Errorf("n2 got %v, want [PAUSE]", got)
	}
	for _, id := range []string{"n1", "n3"} {
		if got := h.dialer.conn(t, id).adminCalls(); len(got) != 0 {
			t.Errorf("%s got %v, want nothing", id, got)
		}
	}
	if h.m.input.Value() != "" {
		t.Errorf("ctrl+p typed %q", h.m.input.Value())
	}

	// With no leader there is nothing to pause.
	h = newHarness(t, 3)
	connectAll(h)
	if cmd := h.send(tea.KeyMsg{Type: tea.KeyCtrlP}); cmd != nil {
		t.Error("ctrl+p with no leader gave a command")
	}
	if want := "pause leader: no connected node is leading"; h.m.status.text != want || !h.m.status.isErr {
		t.Errorf("status = %q, want error %q", h.m.status.text, want)
	}
}

func TestResumeAll(t *testing.T) {
	for _, how := range []string{"resume all", "ctrl+r"} {
		t.Run(how, func(t *testing.T) {
			h := newHarness(t, 3)
			h.connect("n1")
			h.connect("n2")
			var cmd tea.Cmd
			if how == "ctrl+r" {
				cmd = h.send(tea.KeyMsg{Type: tea.KeyCtrlR})
			} else {
				cmd = h.typeLine(how)
			}
			if cmd == nil {
				t.Fatal("no command")
			}
			mustContain(t, h.m.status.text, "resume all: sent to 2 nodes")
			batch, ok := cmd().(tea.BatchMsg)
			if !ok || len(batch) != 2 {
				t.Fatalf("command gave %T, want a batch of 2", cmd())
			}
			for _, c := range batch {
				h.send(c())
			}
			for _, id := range []string{"n1", "n2"} {
				if got := h.dialer.conn(t, id).adminCalls(); len(got) != 1 || got[0] != pb.AdminCommand_RESUME {
					t.Errorf("%s got %v, want [RESUME]", id, got)
				}
			}
		})
	}
	h := newHarness(t, 3)
	if cmd := h.send(tea.KeyMsg{Type: tea.KeyCtrlR}); cmd != nil {
		t.Error("ctrl+r with nothing connected gave a command")
	}
	if want := "resume all: no node is connected"; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
}

func TestHelpListsEveryCommandAndKey(t *testing.T) {
	h := newHarness(t, 3)
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'?'}})
	for _, size := range []tea.WindowSizeMsg{{Width: 120, Height: 40}, {Width: 80, Height: 24}} {
		h.send(size)
		frame := h.view()
		for _, verb := range commandNames {
			mustContain(t, frame, verb)
		}
		for _, group := range h.m.keys.FullHelp() {
			for _, b := range group {
				if b.Enabled() { // a live dashboard's; a replay's are disabled
					mustContain(t, frame, b.Help().Key+" "+b.Help().Desc)
				}
			}
		}
		mustContain(t, frame, "★ LEADER yellow", "● follower green", "◐ candidate orange", "◌ precandidate purple",
			"✖ DOWN red", "⏸ PAUSED blue", "log view: ")
		if size.Height >= 40 {
			// 80×24 keeps the roles and the log view's legend only.
			mustContain(t, frame, "✓ committed", "not yet dim", "error red")
		}
		checkFits(t, frame, size.Width, size.Height)
	}
}

func TestHelpUsesAWideShortTerminal(t *testing.T) {
	h := newHarness(t, 3)
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'?'}})
	h.send(tea.WindowSizeMsg{Width: 170, Height: 34})
	frame := h.view()
	checkFits(t, frame, 170, 34)
	// Side by side, everything is there at length.
	mustContain(t, frame, commandHelp[0][1], "log view: a cell per entry shows its term", legend[0])
	side := false
	for _, line := range strings.Split(frame, "\n") {
		side = side || strings.Contains(line, "put KEY VALUE") && strings.Contains(line, "★ LEADER")
	}
	if !side {
		t.Errorf("commands and legend are not side by side:\n%s", frame)
	}
}

// TestResumeAllSaysWhatItDid: resume all (and ctrl+r) answers once, for
// every node, with what it changed — not with whichever node's answer came
// last.
func TestResumeAllSaysWhatItDid(t *testing.T) {
	for _, how := range []string{"resume all", "ctrl+r"} {
		t.Run(how, func(t *testing.T) {
			h := kvHarness(t)
			for _, id := range []string{"n2", "n3"} {
				st := follower(id, 3, "n1", 1000, 900)
				st.Paused = true
				h.deliver(id, statusEv(st))
			}
			for _, id := range []string{"n1", "n2", "n3"} {
				st := follower(id, 3, "n1", 1000, 900)
				h.dialer.conn(t, id).adminResp = &pb.AdminResponse{Ok: true, Status: st}
			}
			if how == "ctrl+r" {
				runBatch(h, h.send(tea.KeyMsg{Type: tea.KeyCtrlR}))
			} else {
				runBatch(h, h.typeLine(how))
			}
			if want := "resumed n2, n3 (n1: not needed)"; h.m.status.text != want || h.m.status.isErr {
				t.Errorf("status = %q (error %v), want %q", h.m.status.text, h.m.status.isErr, want)
			}
		})
	}
	t.Run("nothing paused, one failure", func(t *testing.T) {
		h := kvHarness(t)
		h.dialer.conn(t, "n3").adminResp = &pb.AdminResponse{Error: "disk on fire"}
		runBatch(h, h.typeLine("resume all"))
		if want := "resume all: no node was paused; failed on n3: disk on fire"; h.m.status.text != want || !h.m.status.isErr {
			t.Errorf("status = %q (error %v), want error %q", h.m.status.text, h.m.status.isErr, want)
		}
	})
}

// TestTimedOutAdminTiedBack: an admin command to a node that does not
// answer in time (a stopped process) says it may still take effect, and
// when the node later reports the change, the event pane ties it back.
func TestTimedOutAdminTiedBack(t *testing.T) {
	h := kvHarness(t)
	h.dialer.conn(t, "n2").adminErr = context.DeadlineExceeded
	h.run(h.typeLine("pause n2"))
	want := "pause n2: no answer within 5s; it may still take effect if n2 is only slow or stopped"
	if h.m.status.text != want || !h.m.status.isErr {
		t.Errorf("status = %q (error %v), want error %q", h.m.status.text, h.m.status.isErr, want)
	}
	sent := h.clock.now.Format("15:04:05")
	h.clock.advance(300 * time.Millisecond)
	h.deliver("n2", &pb.WatchEvent{Kind: pb.WatchEvent_PAUSED, NodeId: "n2"})
	if got, want := lastEvent(h), "n2 took effect: the pause sent at "+sent+", which had no answer in time"; got != want {
		t.Errorf("event pane ends with %q, want %q", got, want)
	}
	// Only once: a later pause event is not tied to it again.
	h.deliver("n2", &pb.WatchEvent{Kind: pb.WatchEvent_PAUSED, NodeId: "n2"})
	if strings.Contains(lastEvent(h), "took effect") {
		t.Errorf("a second event was tied back too: %q", lastEvent(h))
	}
}

// runBatch runs each command of cmd's batch and gives the model their
// messages, in order.
func runBatch(h *harness, cmd tea.Cmd) {
	h.t.Helper()
	batch, ok := cmd().(tea.BatchMsg)
	if !ok {
		h.t.Fatalf("command gave %T, want a batch", cmd())
	}
	for _, c := range batch {
		h.run(c)
	}
}
