package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// entry is a log entry; an empty command is a leader's no-op.
func entry(index, term int64, command string) *pb.LogEntry {
	if command == "" {
		return &pb.LogEntry{Index: index, Term: term, Type: pb.EntryType_ENTRY_NOOP}
	}
	return &pb.LogEntry{Index: index, Term: term, Command: command}
}

// replicating is a cluster in term 3 where leader n1 has committed up to 10
// and appended 11 and 12, n2 has 11 but not 12, and n3 lags at 6 and has not
// heard that 6 is committed.
func replicating(t *testing.T, width, height int) *harness {
	t.Helper()
	h := newHarness(t, 3)
	h.send(tea.WindowSizeMsg{Width: width, Height: height})
	connectAll(h)
	log := []*pb.LogEntry{
		entry(1, 1, ""),
		entry(2, 1, "PUT a 1"),
		entry(3, 2, ""),
		entry(4, 2, "PUT config:mode fast"),
		entry(5, 2, "PUT user:1 alice"),
		entry(6, 2, "PUT user:2 bob"),
		entry(7, 3, ""),
		entry(8, 3, "PUT user:3 carol"),
		entry(9, 3, "DELETE user:2"),
		entry(10, 3, "PUT greeting hello, world of replicated logs"),
		entry(11, 3, "PUT user:4 dave"),
		entry(12, 3, "PUT user:5 eve"),
	}
	h.deliver("n1", statusEv(&pb.NodeStatus{
		Id: "n1", Role: pb.Role_ROLE_LEADER, Term: 3, VotedFor: "n1", LeaderId: "n1",
		CommitIndex: 10, AppliedIndex: 10, LastIndex: 12, LastTerm: 3, HeartbeatMs: 100,
		Peers: []*pb.PeerProgress{
			{Id: "n2", MatchIndex: 11, NextIndex: 12, RecentActive: true},
			{Id: "n3", MatchIndex: 6, NextIndex: 7, RecentActive: true},
		},
		LogTail: log[4:12],
	}))
	n2 := follower("n2", 3, "n1", 1200, 1100)
	n2.CommitIndex, n2.AppliedIndex, n2.LastIndex = 10, 10, 11
	n2.LogTail = log[3:11]
	h.deliver("n2", statusEv(n2))
	n3 := follower("n3", 3, "n1", 1800, 1700)
	n3.CommitIndex, n3.AppliedIndex, n3.LastIndex, n3.LastTerm = 5, 5, 6, 2
	n3.LogTail = log[0:6]
	h.deliver("n3", statusEv(n3))
	h.answer("n1", 1100*time.Microsecond, &pb.KvResponse{Code: pb.ErrorCode_OK, Value: "alice", Found: true, Index: 10}, nil)
	h.run(h.typeLine("get user:1"))
	return h
}

func TestLogTailWide(t *testing.T) {
	h := replicating(t, 120, 40)
	frame := h.view()
	golden(t, "log_tail", frame)
	checkFits(t, frame, 120, 40)
	n1, n2, n3 := cardOf(t, frame, "n1"), cardOf(t, frame, "n2"), cardOf(t, frame, "n3")
	mustContain(t, n1,
		"commit 10  applied 10", "last 12 (term 3)",
		"✓ n2 match 11  next 12", "✓ n3 match 6  next 7",
		"── log ──",
		"✓  5 t2 PUT user:1 alice", "✓  7 t3 (no-op)", "✓ 10 t3 PUT greeting hello, world",
		"· 11 t3 PUT user:4 dave", "· 12 t3 PUT user:5 eve")
	mustContain(t, n2, "✓ 10 t3 PUT greeting", "· 11 t3 PUT user:4 dave")
	mustContain(t, n3, "✓ 1 t1 (no-op)", "✓ 5 t2 PUT user:1 alice", "· 6 t2 PUT user:2 bob")
	if strings.Contains(n1, "4 t2") || strings.Contains(n2, "12 t3") {
		t.Errorf("cards list entries their nodes did not send:\n%s\n%s", n1, n2)
	}
	mustContain(t, frame, `get user:1 → "alice" via n1 (1.1ms)`, `21:40:01.124 > get user:1 → "alice" via n1 (1.1ms)`)
}

func TestLogTailNarrow(t *testing.T) {
	h := replicating(t, 80, 24)
	frame := h.view()
	golden(t, "log_tail_narrow", frame)
	checkFits(t, frame, 80, 24)
	if got := len(strings.Split(frame, "\n")); got != 24 {
		t.Errorf("frame is %d lines, want 24", got)
	}
	// At 80×24 the cards are one line per node, and the log view, with
	// the leader's match and next markers, and the events keep their room.
	mustContain(t, frame, "n1 ★ LEADER    term 3  ♡ every 100ms  commit 10  applied 10  last 12 (term 3)",
		"n3 ● follower  term 3", "log (index 1–12", "^11 >12", "^6 >7",
		"events (4)", `> get user:1 → "alice" via n1 (1.1ms)`)
	if strings.Contains(frame, "╭") {
		t.Errorf("80×24 still draws cards:\n%s", frame)
	}

	// A terminal short of room for every entry, not for the cards: the
	// leader's peers stay; the log shows its newest entries, fewer of
	// them, with room left for the events.
	h.send(tea.WindowSizeMsg{Width: 120, Height: 34})
	frame = h.view()
	checkFits(t, frame, 120, 34)
	n1 := cardOf(t, frame, "n1")
	mustContain(t, n1, "✓ n2 match 11", "✓ n3 match 6", "· 12 t3 PUT user:5 eve")
	mustContain(t, frame, "events (4)", `> get user:1 → "alice" via n1 (1.1ms)`)
	if strings.Contains(n1, "5 t2") {
		t.Errorf("a short terminal still lists all eight entries:\n%s", n1)
	}
}

// TestLogTailShrinksToFit draws the replicating cluster at every height from
// roomy to cramped: the frame always fits, and a shorter terminal never lists
// more entries than a taller one that shows the log view alike (the log view
// takes the cards' room while it fits, and gives it back when it does not).
func TestLogTailShrinksToFit(t *testing.T) {
	for _, width := range []int{80, 120} {
		h := replicating(t, width, 60)
		prev, prevLog := -1, ""
		for height := 60; height >= 8; height-- {
			h.send(tea.WindowSizeMsg{Width: width, Height: height})
			frame := h.view()
			logView := logViewKind(frame)
			if logView != prevLog {
				prev, prevLog = -1, logView
			}
			checkFits(t, frame, width, height)
			if got := len(strings.Split(frame, "\n")); got != height {
				t.Errorf("%dx%d: frame is %d lines", width, height, got)
			}
			listed := strings.Count(frame, "t3 PUT user:5 eve") // only n1 has 12
			entries := strings.Count(frame, " t1 ") + strings.Count(frame, " t2 ") + strings.Count(frame, " t3 ")
			if prev >= 0 && entries > prev {
				t.Errorf("%dx%d lists %d entries, more than %d one line taller", width, height, entries, prev)
			}
			prev = entries
			if height >= 40 && listed != 1 {
				t.Errorf("%dx%d: the leader's newest entry is missing:\n%s", width, height, frame)
			}
		}
		if prev != 0 {
			t.Errorf("%d columns, 8 lines: still lists %d entries", width, prev)
		}
	}
}

func TestTailLines(t *testing.T) {
	c := &programContext{styles: DefaultStyles(asciiRenderer())}
	s := &pb.NodeStatus{CommitIndex: 99, LogTail: []*pb.LogEntry{
		entry(98, 4, "PUT k\x1b[2Jv"),
		entry(99, 4, ""),
		{Index: 100, Term: 5},
		entry(101, 5, "PUT a-very-long-key a-very-long-value"),
	}}
	tests := []struct {
		name         string
		inner, limit int
		want         []string
	}{
		{"all", 30, 8, []string{
			"── log " + strings.Repeat("─", 23),
			"✓  98 t4 PUT k [2Jv",
			"✓  99 t4 (no-op)",
			"· 100 t5 -",
			"· 101 t5 PUT a-very-long-key …",
		}},
		{"newest two", 30, 2, []string{"── log " + strings.Repeat("─", 23), "· 100 t5 -", "· 101 t5 PUT a-very-long-key …"}},
		{"none", 30, 0, nil},
		{"too narrow for a rule", 5, 1, []string{"log", "· 10…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tailLines(c, s, tt.inner, tt.limit)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, l := range got {
				if w := len([]rune(l)); w > tt.inner {
					t.Errorf("line %q is %d cells, wider than %d", l, w, tt.inner)
				}
			}
		})
	}
	if got := tailLines(c, &pb.NodeStatus{}, 30, 8); got != nil {
		t.Errorf("no entries gave %q", got)
	}
}

// logViewKind says how frame shows the log view: not at all, without or
// with the leader's markers.
func logViewKind(frame string) string {
	switch {
	case !strings.Contains(frame, "log ("):
		return "none"
	case strings.Contains(frame, "^"):
		return "markers"
	default:
		return "compact"
	}
}
