package tui

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/easykv/easykv/netlink/pb"
)

// trafficText is the traffic pane's lines at now, as text.
func trafficText(l *trafficLog, now time.Time) []string {
	st := DefaultStyles(asciiRenderer())
	rank := func(id string) int { return int(id[len(id)-1] - '0') }
	var out []string
	for _, line := range l.lines(now, rank) {
		out = append(out, line.text(&st))
	}
	return out
}

func TestTrafficLines(t *testing.T) {
	recv := func(kind pb.Traffic_Kind, from, to string, count int64) *pb.Traffic {
		return &pb.Traffic{Kind: kind, From: from, To: to, Count: count}
	}
	type batch struct {
		node  string
		after time.Duration // since t0
		recs  []*pb.Traffic
	}
	tests := []struct {
		name    string
		batches []batch
		at      time.Duration // when the pane is drawn, since t0
		want    []string
	}{
		{"every kind, in order", []batch{{"n1", 0, []*pb.Traffic{
			sent(pb.Traffic_HEARTBEAT, "n1", "n3", 1),
			{Kind: pb.Traffic_APPEND, From: "n1", To: "n3", Sent: true, Count: 3, Entries: 12},
			{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Sent: true, Count: 1, Entries: 1},
			{Kind: pb.Traffic_APPEND_OK, From: "n3", To: "n1", Sent: true, Count: 1, Match: 57},
			sent(pb.Traffic_APPEND_REJECT, "n2", "n1", 1),
			{Kind: pb.Traffic_VOTE, From: "n1", To: "n2", Sent: true, PreVote: true, Count: 1, Term: 4},
			{Kind: pb.Traffic_VOTE_GRANTED, From: "n2", To: "n1", Sent: true, Count: 1, Term: 4},
			{Kind: pb.Traffic_VOTE_DENIED, From: "n3", To: "n1", Sent: true, PreVote: true, Count: 2, Term: 4},
		}}}, 0, []string{
			"n1 → n2 RequestVote (pre-vote) term 4",
			"n2 → n1 vote granted",
			"n3 → n1 pre-vote denied ×2",
			"n2 → n1 reject",
			"n1 → n2 AppendEntries ×1 entries",
			"n1 → n3 AppendEntries ×12 entries (3 msgs)",
			"n3 → n1 ok match=57",
			"n1 → n3 heartbeat",
		}},
		{"summed over the window, highest match", []batch{
			{"n3", 0, []*pb.Traffic{{Kind: pb.Traffic_APPEND_OK, From: "n3", To: "n1", Sent: true, Count: 2, Match: 50}}},
			{"n3", time.Second, []*pb.Traffic{{Kind: pb.Traffic_APPEND_OK, From: "n3", To: "n1", Sent: true, Count: 3, Match: 57}}},
		}, time.Second, []string{"n3 → n1 ok match=57 ×5"}},
		{"older than the window forgotten", []batch{
			{"n1", 0, []*pb.Traffic{sent(pb.Traffic_HEARTBEAT, "n1", "n2", 9)}},
			{"n1", trafficWindow, []*pb.Traffic{sent(pb.Traffic_HEARTBEAT, "n1", "n2", 4)}},
		}, trafficWindow, []string{"n1 → n2 heartbeat ×4"}},
		{"nothing left once the window passed", []batch{
			{"n1", 0, []*pb.Traffic{sent(pb.Traffic_HEARTBEAT, "n1", "n2", 9)}},
		}, trafficWindow + time.Millisecond, nil},
		{"the sender's count wins over the receiver's", []batch{
			{"n1", 0, []*pb.Traffic{sent(pb.Traffic_HEARTBEAT, "n1", "n2", 5)}},
			{"n2", 0, []*pb.Traffic{recv(pb.Traffic_HEARTBEAT, "n1", "n2", 4)}},
		}, 0, []string{"n1 → n2 heartbeat ×5"}},
		{"a receiver's count alone is shown as such", []batch{
			{"n2", 0, []*pb.Traffic{recv(pb.Traffic_HEARTBEAT, "n1", "n2", 4)}},
		}, 0, []string{"n1 → n2 heartbeat ×4 (seen by n2)"}},
		{"sent, none received by a receiver that reports receipts", []batch{
			{"n1", 0, []*pb.Traffic{sent(pb.Traffic_HEARTBEAT, "n1", "n2", 5), sent(pb.Traffic_HEARTBEAT, "n1", "n3", 5)}},
			{"n2", 0, []*pb.Traffic{recv(pb.Traffic_VOTE, "n3", "n2", 1)}},
		}, 0, []string{"n3 → n2 RequestVote term 0 (seen by n2)", "n1 → n2 heartbeat ×5 ✗ none received", "n1 → n3 heartbeat ×5"}},
		{"none received by a partitioned or isolated node, which reports no receipts", []batch{
			{"n1", 0, []*pb.Traffic{sent(pb.Traffic_HEARTBEAT, "n1", "n5", 5), sent(pb.Traffic_HEARTBEAT, "n1", "n6", 5), sent(pb.Traffic_HEARTBEAT, "n1", "n7", 5)}},
			{"n5", 0, []*pb.Traffic{{Kind: pb.Traffic_VOTE, From: "n5", To: "n2", Sent: true, PreVote: true, Count: 2, Term: 4}}},
		}, 0, []string{"n5 → n2 RequestVote (pre-vote) term 4 ×2 ✗ none received", "n1 → n5,n6 heartbeat ×5 ✗ none received", "n1 → n7 heartbeat ×5"}},
		{"heartbeats to several followers share a line", []batch{
			{"n1", 0, []*pb.Traffic{
				sent(pb.Traffic_HEARTBEAT, "n1", "n3", 5), sent(pb.Traffic_HEARTBEAT, "n1", "n2", 5),
				sent(pb.Traffic_HEARTBEAT, "n1", "n4", 4),
			}},
		}, 0, []string{"n1 → n2,n3 heartbeat ×5", "n1 → n4 heartbeat ×4"}},
		{"empty and nameless records ignored", []batch{
			{"n1", 0, []*pb.Traffic{sent(pb.Traffic_HEARTBEAT, "n1", "n2", 0), sent(pb.Traffic_HEARTBEAT, "", "n2", 3)}},
		}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l trafficLog
			l.setFaults("n5", &pb.NodeStatus{Partitioned: true})
			l.setFaults("n6", &pb.NodeStatus{IsolatedFrom: []string{"n1"}})
			for _, b := range tt.batches {
				l.add(b.node, &pb.WatchEvent{Kind: pb.WatchEvent_MESSAGES, Traffic: b.recs}, t0.Add(b.after))
			}
			got := trafficText(&l, t0.Add(tt.at))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLogCache(t *testing.T) {
	status := func(last int64, entries ...*pb.LogEntry) *pb.NodeStatus {
		return &pb.NodeStatus{LastIndex: last, LogTail: entries}
	}
	var c logCache
	if c.last() != -1 || c.term(1) != 0 {
		t.Fatalf("empty cache: last %d, term(1) %d", c.last(), c.term(1))
	}
	c.observe(status(3, entry(1, 1, ""), entry(2, 1, "a"), entry(3, 2, "")))
	c.observe(status(6, entry(5, 2, "b"), entry(6, 2, "c")))
	want := map[int64]int64{1: 1, 2: 1, 3: 2, 4: 0, 5: 2, 6: 2, 7: 0}
	for i, term := range want {
		if got := c.term(i); got != term {
			t.Errorf("term(%d) = %d, want %d", i, got, term)
		}
	}
	// A new leader overwrote 5 and 6 with its own entry at 5.
	c.observe(status(5, entry(5, 3, "")))
	if c.last() != 5 || c.term(5) != 3 || c.term(6) != 0 {
		t.Errorf("after the overwrite: last %d, term(5) %d, term(6) %d", c.last(), c.term(5), c.term(6))
	}
	// The log was cut back to 2 (a status says so without entries).
	c.observe(status(2))
	if c.last() != 2 || c.term(3) != 0 || c.term(2) != 1 {
		t.Errorf("after the cut: last %d", c.last())
	}
	// It keeps the newest logCacheSize indexes, and a jump too far starts
	// over.
	for i := int64(3); i <= 3*logCacheSize; i++ {
		c.observe(status(i, entry(i, 4, "")))
	}
	if c.last() != 3*logCacheSize || len(c.terms) != logCacheSize || c.term(3*logCacheSize-logCacheSize) != 0 {
		t.Errorf("bounded: last %d, %d kept", c.last(), len(c.terms))
	}
	far := int64(10 * logCacheSize)
	c.observe(status(far, entry(far, 5, "")))
	if c.first != far || len(c.terms) != 1 {
		t.Errorf("after a jump: first %d, %d kept", c.first, len(c.terms))
	}
	// Bad entries are ignored rather than trusted.
	c.observe(status(far, &pb.LogEntry{Index: -1, Term: 5}, &pb.LogEntry{Index: far, Term: 0}))
	if c.term(far) != 5 {
		t.Errorf("bad entries changed the cache: term %d", c.term(far))
	}
}

// logStatus is a follower whose log holds entries up to last, all of term
// 2, committed up to commit, with the usual tail.
func logStatus(id string, last, commit int64) *pb.NodeStatus {
	st := follower(id, 2, "n1", 1000, 500)
	st.LastIndex, st.CommitIndex, st.AppliedIndex, st.LastTerm = last, commit, commit, 2
	for i := max(1, last-7); i <= last; i++ {
		st.LogTail = append(st.LogTail, entry(i, 2, "PUT k v"))
	}
	return st
}

// logRow is the log view's row of node id in frame.
func logRow(t *testing.T, frame, id string) string {
	t.Helper()
	for _, l := range strings.Split(frame, "\n") {
		if strings.HasPrefix(l, id+" ") && !strings.Contains(l, "│") {
			return l
		}
	}
	t.Fatalf("no log row for %s in:\n%s", id, frame)
	return ""
}

func TestLogViewFollowsAndHolds(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	// Statuses arrive as the log grows, so the caches fill up.
	for last := int64(8); last <= 200; last += 8 {
		for _, id := range []string{"n1", "n2", "n3"} {
			h.deliver(id, statusEv(logStatus(id, last, last-3)))
		}
	}
	frame := h.view()
	mustContain(t, frame, "following", "200")
	if row := logRow(t, frame, "n1"); !strings.HasSuffix(row, " 2 2 2 2 2|2 2 2") {
		t.Errorf("the row does not end at the tail with the commit point 3 from the end: %q", row)
	}

	// pgup holds the view back; new entries do not move it.
	h.send(tea.KeyMsg{Type: tea.KeyPgUp})
	held := h.view()
	mustContain(t, held, "held: end follows")
	if strings.Contains(logRow(t, held, "n1"), "|") {
		t.Errorf("half a page back the commit point is still in view:\n%s", held)
	}
	h.deliver("n1", statusEv(logStatus("n1", 208, 205)))
	if got := h.view(); logRow(t, got, "n1") != logRow(t, held, "n1") {
		t.Errorf("a held view moved:\n%s\n%s", logRow(t, held, "n1"), logRow(t, got, "n1"))
	}

	// [ goes further back, ] forward; typed into a command they are text.
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'['}})
	back := h.m.logScroll.right
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{']'}})
	if h.m.logScroll.right <= back {
		t.Errorf("] did not move forward from %d", back)
	}
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'g'}})
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'['}})
	if h.m.input.Value() != "g[" {
		t.Errorf("prompt = %q, want g[", h.m.input.Value())
	}
	h.send(tea.KeyMsg{Type: tea.KeyEsc})

	// End follows the tail again; End while following is the prompt's.
	h.send(tea.KeyMsg{Type: tea.KeyEnd})
	mustContain(t, h.view(), "following")
	if h.m.logScroll.held {
		t.Error("still held after end")
	}
	if h.m.logKey(tea.KeyMsg{Type: tea.KeyEnd}) {
		t.Error("end while following was taken from the prompt")
	}

	// Paging forward past the tail follows again too.
	h.send(tea.KeyMsg{Type: tea.KeyPgUp})
	for range 20 {
		h.send(tea.KeyMsg{Type: tea.KeyPgDown})
	}
	if h.m.logScroll.held {
		t.Error("paging forward to the tail did not follow again")
	}
}

func TestLogViewMarkersAndGaps(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	// n1 leads with 1..20; n2 matches 18 but only its tail 11..18 was seen;
	// n3 lags at 12, and was seen at 5..12.
	lead := logStatus("n1", 20, 18)
	lead.Role, lead.LeaderId = pb.Role_ROLE_LEADER, "n1"
	lead.Peers = []*pb.PeerProgress{
		{Id: "n2", MatchIndex: 18, NextIndex: 19, RecentActive: true},
		{Id: "n3", MatchIndex: 12, NextIndex: 13, RecentActive: true},
	}
	h.deliver("n1", statusEv(lead))
	h.deliver("n2", statusEv(logStatus("n2", 18, 18)))
	h.deliver("n3", statusEv(logStatus("n3", 12, 12)))
	frame := h.view()
	lines := strings.Split(frame, "\n")
	var n3Row, n3Marks string
	for i, l := range lines {
		if strings.HasPrefix(l, "n3 ") && !strings.Contains(l, "│") {
			n3Row, n3Marks = l, lines[i+1]
		}
	}
	// n3's cells 1..4 were never seen by anyone: unknown; 5..12 known.
	if !strings.HasPrefix(n3Row, "n3 ●  ? ? ? ? 2 2") {
		t.Errorf("n3 row = %q", n3Row)
	}
	// The markers sit under n3's cells 12 (^) and 13 (>).
	col := strings.Index(n3Marks, "^")
	if col < 0 || !strings.Contains(n3Marks, "^12 >13") || n3Marks[col+2] != '>' {
		t.Errorf("n3 markers = %q", n3Marks)
	}
	// n1 fills 1..4 from nobody either, but 5..10 from n3's committed
	// entries: committed entries are the same everywhere.
	if row := logRow(t, frame, "n1"); !strings.HasPrefix(row, "n1 ★  ? ? ? ? 2 2 2 2 2 2 2 2") {
		t.Errorf("n1 row = %q", row)
	}
}

func TestHeaderCountsElectionAndCommitRate(t *testing.T) {
	h := newHarness(t, 3)
	h.dialer.setFail("n3", fmt.Errorf("refused"))
	connectAll(h)
	h.deliver("n1", &pb.WatchEvent{Kind: pb.WatchEvent_ROLE_CHANGED, NodeId: "n1", Term: 2, Role: pb.Role_ROLE_LEADER})
	h.deliver("n2", &pb.WatchEvent{Kind: pb.WatchEvent_LEADER_CHANGED, NodeId: "n2", Term: 2, LeaderId: "n1"})
	paused := logStatus("n2", 10, 10)
	paused.Paused = true
	h.deliver("n2", statusEv(paused))
	// Commits: 10 at first (not counted), then +5, +20 and +0 a second
	// apart; the last second is not over, so not shown.
	for i, commit := range []int64{10, 15, 35, 35} {
		if i > 0 {
			h.tick(time.Second)
		}
		st := logStatus("n1", commit, commit)
		st.Role, st.LeaderId = pb.Role_ROLE_LEADER, "n1"
		h.deliver("n1", statusEv(st))
		h.deliver("n2", statusEv(paused)) // still there, still paused
	}
	h.tick(500 * time.Millisecond)
	header := strings.Join(h.m.viewHeader(), "\n")
	mustContain(t, header, "easykv · demo", "3 nodes: 1 up, 1 down, 1 paused", "leader n1 (term 2)",
		"commit 35", "elected 3.5s ago", "▁▁▃█ 20")
	rates := h.m.stats.perSecond(h.clock.now)
	if got := rates[sparkSeconds-4 : sparkSeconds]; fmt.Sprint(got) != "[0 0 5 20]" {
		t.Errorf("commits per second = %v, want [0 0 5 20]", got)
	}

	// A later election counts from its own time; an older term's report
	// does not move it.
	h.deliver("n2", &pb.WatchEvent{Kind: pb.WatchEvent_LEADER_CHANGED, NodeId: "n2", Term: 3, LeaderId: "n2",
		UnixMs: h.clock.now.Add(-time.Second).UnixMilli()})
	h.deliver("n1", &pb.WatchEvent{Kind: pb.WatchEvent_ROLE_CHANGED, NodeId: "n1", Term: 2, Role: pb.Role_ROLE_LEADER})
	mustContain(t, strings.Join(h.m.viewHeader(), "\n"), "elected 1.0s ago")

	// Long quiet spells empty the sparkline.
	h.tick(time.Hour)
	h.deliver("n1", statusEv(logStatus("n1", 35, 35)))
	if got := h.m.stats.perSecond(h.clock.now); got != [sparkSeconds]int64{} {
		t.Errorf("an hour later the rates are %v", got)
	}
	mustContain(t, strings.Join(h.m.viewHeader(), "\n"), "elected 1h00m ago")
}

func TestSinceTextAndSparkline(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0.0s", 4200 * time.Millisecond: "4.2s", 192 * time.Second: "3m12s", 125 * time.Minute: "2h05m",
	} {
		if got := sinceText(d); got != want {
			t.Errorf("sinceText(%v) = %q, want %q", d, got, want)
		}
	}
	if got := sparkline([]int64{0, 1, 7, 14, 0}); got != "▁▂▅█▁" {
		t.Errorf("sparkline = %q", got)
	}
	if got := sparkline([]int64{0, 0}); got != "▁▁" {
		t.Errorf("empty sparkline = %q", got)
	}
}

func TestHeartbeatPulse(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	lead := logStatus("n1", 8, 8)
	lead.Role, lead.LeaderId = pb.Role_ROLE_LEADER, "n1"
	h.deliver("n1", statusEv(lead))
	mustContain(t, h.view(), "★ LEADER ♡")
	// Heartbeats n1 only received, or another node sent, do not light it.
	h.deliver("n1", messages("n1", &pb.Traffic{Kind: pb.Traffic_HEARTBEAT, From: "n2", To: "n1", Count: 3}))
	mustContain(t, h.view(), "★ LEADER ♡")
	h.deliver("n1", messages("n1", sent(pb.Traffic_HEARTBEAT, "n1", "n2", 3)))
	mustContain(t, h.view(), "★ LEADER ♥")
	h.tick(pulseLit - time.Millisecond)
	mustContain(t, h.view(), "★ LEADER ♥")
	h.tick(time.Millisecond)
	mustContain(t, h.view(), "★ LEADER ♡")
	// Heartbeats every 100ms make it beat every pulsePeriod, not stay lit.
	h.tick(pulsePeriod - pulseLit)
	var lit []bool
	for range 10 {
		h.deliver("n1", messages("n1", sent(pb.Traffic_HEARTBEAT, "n1", "n2", 1)))
		lit = append(lit, h.m.nodes[0].pulsing(h.clock.now))
		h.tick(100 * time.Millisecond)
	}
	if fmt.Sprint(lit) != "[true true true false false true true true false false]" {
		t.Errorf("lit after each heartbeat: %v", lit)
	}
	// MESSAGES events feed the traffic pane, not the event pane.
	if n := h.m.events.total; n != 3 {
		t.Errorf("event pane has %d lines, want the 3 connects", n)
	}
}

// clusterHarness is a harness over size nodes showing leaderScene's
// cluster at width x height.
func clusterHarness(t *testing.T, size, width, height int) *harness {
	t.Helper()
	h := newHarness(t, size)
	h.send(tea.WindowSizeMsg{Width: width, Height: height})
	connectAll(h)
	scene := leaderScene(size)
	for i := 1; i <= size; i++ {
		id := fmt.Sprintf("n%d", i)
		h.deliver(id, scene[id]...)
	}
	return h
}

func TestLayoutFitsEverySize(t *testing.T) {
	for _, size := range []int{1, 3, 5, 7} {
		for _, term := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {160, 50}, {200, 60}, {60, 16}} {
			t.Run(fmt.Sprintf("%d_nodes_%dx%d", size, term[0], term[1]), func(t *testing.T) {
				h := clusterHarness(t, size, term[0], term[1])
				frame := h.view()
				checkFits(t, frame, term[0], term[1])
				if got := len(strings.Split(frame, "\n")); got != term[1] {
					t.Errorf("frame is %d lines, want %d", got, term[1])
				}
				for i := 1; i <= size; i++ {
					mustContain(t, frame, fmt.Sprintf("n%d ", i))
				}
				mustContain(t, frame, "LEADER", "events")
				if term[1] >= 40 {
					mustContain(t, frame, "log (")
				}
				if size > 1 && (term[1] >= 50 || (term[1] >= 40 && size <= 5)) {
					mustContain(t, frame, "traffic")
				}
			})
		}
	}
}

// TestCardsDrawnAsLipglossWould checks the hand-drawn cards: each is what
// lipgloss draws for the card style at the card's width, line for line.
func TestCardsDrawnAsLipglossWould(t *testing.T) {
	for _, width := range []int{30, 80, 120, 200} {
		h := clusterHarness(t, 5, width, 60)
		h.send(dialFailedMsg{node: 4, err: fmt.Errorf("%s", strings.Repeat("a-long-error-without-spaces", 9))})
		// Lines wider than a card, which lipgloss wraps itself.
		h.m.nodes[0].node.Addr = strings.Repeat("a-long-host-name.", 9) + "example:7001"
		h.m.nodes[1].node.Addr = strings.Repeat("host ", 30)
		c := &h.m.ctx
		plan := planCards(c, h.m.nodes)
		for i, n := range h.m.nodes {
			height := plan.rows[i] + 2
			want := c.styles.Card.Width(plan.inner + cardChrome - 2).Height(height).Render(cardBody(c, n, plan.inner))
			got := strings.Join(frameCard(plan.bodies[i], plan.inner, height, c.styles.Card.GetBorderStyle(), plan.frames[i]), "\n")
			if got != want {
				t.Errorf("%d columns, card %d:\n%s\nlipgloss draws:\n%s", width, i, got, want)
			}
		}
	}
}

// TestColourFrameFits draws a busy frame in colour: the log view's cells
// carry their term's colour, and the escape codes change no width.
func TestColourFrameFits(t *testing.T) {
	h := clusterHarness(t, 7, 200, 60)
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	h.m.ctx.styles = DefaultStyles(r)
	frame := h.view()
	checkFits(t, frame, 200, 60)
	row := logRow(t, frame, "\x1b[1mn1\x1b[0m")
	// A style's opening codes: what it puts before its text.
	opening := func(st lipgloss.Style) string {
		codes, _, _ := strings.Cut(st.Render("X"), "X")
		return codes
	}
	// Committed cells run up to the commit point, the rest after it.
	if want := opening(termStyle(h.m.ctx.styles.TermSolid, 3)) + " 3 3"; !strings.Contains(row, want) {
		t.Errorf("n1's committed term-3 cells are not solid %q: %q", want, row)
	}
	if want := "|" + opening(termStyle(h.m.ctx.styles.TermDim, 3)) + "3 3"; !strings.Contains(row, want) {
		t.Errorf("n1's uncommitted term-3 cells are not dim %q: %q", want, row)
	}
}

func TestRowTermsFillsGapsBetweenEqualTerms(t *testing.T) {
	node := func(last, lastTerm, commit int64, known map[int64]int64) *nodeState {
		n := &nodeState{status: &pb.NodeStatus{LastIndex: last, LastTerm: lastTerm, CommitIndex: commit}}
		for i := int64(1); i <= last; i++ {
			if term := known[i]; term > 0 {
				n.log.set(i, term)
			}
		}
		return n
	}
	tests := []struct {
		name        string
		n           *nodeState
		left, count int64
		want        string
	}{
		{"a gap between one term is that term", node(8, 3, 0, map[int64]int64{2: 3, 6: 3}), 1, 8, "[0 3 3 3 3 3 3 3]"},
		{"a gap between two terms stays unknown", node(8, 4, 0, map[int64]int64{2: 3, 6: 4}), 1, 8, "[0 3 0 0 0 4 4 4]"},
		{"ends outside the row count", node(40, 5, 0, map[int64]int64{1: 5}), 10, 5, "[5 5 5 5 5]"},
		{"nothing known, nothing filled", node(5, 0, 0, nil), 1, 5, "[0 0 0 0 0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rowTerms([]*nodeState{tt.n}, tt.n, tt.left, int(tt.count), tt.n.status.GetLastIndex())
			if fmt.Sprint(got) != tt.want {
				t.Errorf("got %v, want %s", got, tt.want)
			}
		})
	}
	// A committed index the node's cache missed is another node's, where
	// that node committed it too.
	a := node(10, 2, 10, map[int64]int64{10: 2})
	b := node(10, 2, 10, map[int64]int64{3: 1, 4: 2})
	if got := fmt.Sprint(rowTerms([]*nodeState{a, b}, a, 1, 10, 10)); got != "[0 0 1 2 2 2 2 2 2 2]" {
		t.Errorf("committed fill: got %s", got)
	}
}

// TestTrafficLinesCacheExpires checks the cached sums: a new MESSAGES event
// or a sample leaving the window makes them be summed again.
func TestTrafficLinesCacheExpires(t *testing.T) {
	var l trafficLog
	add := func(at time.Duration, recs ...*pb.Traffic) {
		l.add("n1", &pb.WatchEvent{Kind: pb.WatchEvent_MESSAGES, Traffic: recs}, t0.Add(at))
	}
	add(0, sent(pb.Traffic_HEARTBEAT, "n1", "n2", 3))
	add(time.Second, sent(pb.Traffic_HEARTBEAT, "n1", "n2", 2))
	steps := []struct {
		at   time.Duration
		add  bool
		want string
	}{
		{time.Second, false, "n1 → n2 heartbeat ×5"},
		{time.Second + time.Millisecond, false, "n1 → n2 heartbeat ×5"},
		{trafficWindow, false, "n1 → n2 heartbeat ×2"},
		{trafficWindow, true, "n1 → n2 heartbeat ×3"},
		{3 * trafficWindow, false, ""},
	}
	for _, s := range steps {
		if s.add {
			add(s.at, sent(pb.Traffic_HEARTBEAT, "n1", "n2", 1))
		}
		if got := strings.Join(trafficText(&l, t0.Add(s.at)), "\n"); got != s.want {
			t.Errorf("at %v: got %q, want %q", s.at, got, s.want)
		}
	}
}

// TestLogCacheTermRuns: a status's log_terms fill every index the tail
// leaves out, and a later run with another term overwrites the suffix.
func TestLogCacheTermRuns(t *testing.T) {
	var c logCache
	c.observe(&pb.NodeStatus{LastIndex: 300, LastTerm: 3,
		LogTerms: []*pb.TermRun{{FirstIndex: 45, Term: 1}, {FirstIndex: 100, Term: 2}, {FirstIndex: 250, Term: 3}},
		LogTail:  []*pb.LogEntry{entry(300, 3, "x")}})
	for i, want := range map[int64]int64{44: 0, 45: 1, 99: 1, 100: 2, 249: 2, 250: 3, 300: 3, 301: 0} {
		if got := c.term(i); got != want {
			t.Errorf("term(%d) = %d, want %d", i, got, want)
		}
	}
	// A new leader in term 4 replaced everything from 260 on.
	c.observe(&pb.NodeStatus{LastIndex: 262, LastTerm: 4,
		LogTerms: []*pb.TermRun{{FirstIndex: 7, Term: 2}, {FirstIndex: 250, Term: 3}, {FirstIndex: 260, Term: 4}}})
	for i, want := range map[int64]int64{259: 3, 260: 4, 262: 4, 263: 0, 300: 0} {
		if got := c.term(i); got != want {
			t.Errorf("after the overwrite: term(%d) = %d, want %d", i, got, want)
		}
	}
}

// TestHeaderKeepsItsLines: at any width, the header takes as many lines at
// one second after an election as an hour after, with the commit rate and
// index growing meanwhile: it does not jump between one line and two.
func TestHeaderKeepsItsLines(t *testing.T) {
	for width := 60; width <= 200; width++ {
		h := newHarness(t, 3)
		h.send(tea.WindowSizeMsg{Width: width, Height: 50})
		connectAll(h)
		h.deliver("n1", &pb.WatchEvent{Kind: pb.WatchEvent_ROLE_CHANGED, NodeId: "n1", Term: 2, Role: pb.Role_ROLE_LEADER})
		lines := -1
		commit := int64(1)
		for _, d := range []time.Duration{time.Second, 8900 * time.Millisecond, 100 * time.Millisecond, 50 * time.Second, 900 * time.Millisecond, 9 * time.Minute, 50 * time.Minute} {
			h.tick(d)
			commit = commit*7 + 3
			for _, id := range []string{"n1", "n2", "n3"} {
				st := logStatus(id, commit, commit)
				if id == "n1" {
					st.Role, st.LeaderId = pb.Role_ROLE_LEADER, "n1"
				}
				h.deliver(id, statusEv(st))
			}
			got := len(h.m.viewHeader())
			if lines >= 0 && got != lines {
				t.Fatalf("width %d: the header went from %d lines to %d at commit %d:\n%s", width, lines, got, commit, strings.Join(h.m.viewHeader(), "\n"))
			}
			lines = got
		}
	}
}
