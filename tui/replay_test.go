package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// replayStart is when the test recordings start.
var replayStart = t0

// at is a record of node idx at offset ms from replayStart.
func at(ms int, idx int, kind RecordKind, errText string, ev *pb.WatchEvent) Record {
	return Record{At: replayStart.Add(time.Duration(ms) * time.Millisecond), Node: idx, Kind: kind, Err: errText, Event: ev}
}

// roleEv is a ROLE_CHANGED event of node id.
func roleEv(id string, role pb.Role, term int64, ms int) *pb.WatchEvent {
	return &pb.WatchEvent{Kind: pb.WatchEvent_ROLE_CHANGED, NodeId: id, Role: role, Term: term,
		UnixMs: replayStart.Add(time.Duration(ms) * time.Millisecond).UnixMilli()}
}

// electionRecording: three nodes connect and follow; at 1.0s n2 stands, at
// 1.2s it leads; at 5.0s n3's stream ends and at 6.0s its redial fails.
// It lasts 6.1s.
func electionRecording() *Recording {
	st := func(id string, role pb.Role, term int64, leader string, remainingMs int64) *pb.WatchEvent {
		return statusEv(&pb.NodeStatus{Id: id, Role: role, Term: term, LeaderId: leader,
			ElectionRemainingMs: remainingMs, ElectionTimeoutMs: 1500})
	}
	recs := []Record{at(0, 0, RecordDial, "", nil), at(0, 1, RecordDial, "", nil), at(0, 2, RecordDial, "", nil)}
	for i, id := range []string{"n1", "n2", "n3"} {
		recs = append(recs, at(10, i, RecordConnected, "", nil))
		recs = append(recs, at(100, i, RecordEvent, "", st(id, pb.Role_ROLE_FOLLOWER, 1, "", 1000)))
	}
	recs = append(recs,
		at(1000, 1, RecordEvent, "", roleEv("n2", pb.Role_ROLE_CANDIDATE, 2, 1000)),
		at(1000, 1, RecordEvent, "", st("n2", pb.Role_ROLE_CANDIDATE, 2, "", 1200)),
		at(1100, 0, RecordEvent, "", &pb.WatchEvent{Kind: pb.WatchEvent_MESSAGES, NodeId: "n1"}),
		at(1200, 1, RecordEvent, "", roleEv("n2", pb.Role_ROLE_LEADER, 2, 1200)),
		at(1200, 1, RecordEvent, "", &pb.WatchEvent{Kind: pb.WatchEvent_LEADER_CHANGED, NodeId: "n2", LeaderId: "n2", Term: 2}),
		at(1200, 1, RecordEvent, "", st("n2", pb.Role_ROLE_LEADER, 2, "n2", 0)),
		at(3000, 0, RecordEvent, "", st("n1", pb.Role_ROLE_FOLLOWER, 2, "n2", 900)),
		at(5000, 2, RecordClosed, "connection lost", nil),
		at(6000, 2, RecordDial, "", nil),
		at(6100, 2, RecordDown, "connection refused", nil),
	)
	return &Recording{
		Header: RecordHeader{Format: RecordFormat, Version: RecordVersion, Cluster: "demo", Start: replayStart,
			StatusIntervalMs: 100, Nodes: []RecordNode{{ID: "n1", Addr: "a1"}, {ID: "n2", Addr: "a2"}, {ID: "n3", Addr: "a3"}}},
		Records: recs,
	}
}

// replayHarness drives a Replay as the runtime would, with a fake wall
// clock.
type replayHarness struct {
	t     *testing.T
	r     *Replay
	clock *fakeClock
}

func newReplayHarness(t *testing.T, rec *Recording) *replayHarness {
	t.Helper()
	h := &replayHarness{t: t, clock: &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}}
	r, err := NewReplay(rec, Options{Now: h.clock.Now, Renderer: asciiRenderer()})
	if err != nil {
		t.Fatal(err)
	}
	h.r = r
	if r.Init() == nil {
		t.Fatal("Init gave no command: the frame tick would not run")
	}
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	return h
}

func (h *replayHarness) send(msg tea.Msg) tea.Cmd {
	h.t.Helper()
	model, cmd := h.r.Update(msg)
	if model != h.r {
		h.t.Fatal("Update returned another model")
	}
	return cmd
}

// wait lets d of wall time pass and sends a frame tick.
func (h *replayHarness) wait(d time.Duration) {
	h.t.Helper()
	h.clock.advance(d)
	if h.send(tickMsg{}) == nil {
		h.t.Fatal("tick not re-armed")
	}
}

// press sends a key: a rune, or one of tea's key names.
func (h *replayHarness) press(k string) {
	h.t.Helper()
	switch k {
	case " ":
		h.send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
	case "left":
		h.send(tea.KeyMsg{Type: tea.KeyLeft})
	case "right":
		h.send(tea.KeyMsg{Type: tea.KeyRight})
	case "home":
		h.send(tea.KeyMsg{Type: tea.KeyHome})
	case "enter":
		h.send(tea.KeyMsg{Type: tea.KeyEnter})
	default:
		h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
	}
}

// roles are the nodes' badges, in order.
func (h *replayHarness) roles() []badge {
	var bs []badge
	for _, n := range h.r.model.nodes {
		bs = append(bs, n.badge())
	}
	return bs
}

func (h *replayHarness) wantRoles(what string, want ...badge) {
	h.t.Helper()
	got := h.roles()
	for i := range want {
		if got[i] != want[i] {
			h.t.Fatalf("%s: roles %v, want %v", what, badgeTexts(got), badgeTexts(want))
		}
	}
}

func badgeTexts(bs []badge) []string {
	var s []string
	for _, b := range bs {
		s = append(s, b.text())
	}
	return s
}

// pos is the position the model's clock reads.
func (h *replayHarness) pos() time.Duration {
	return h.r.model.ctx.now.Sub(replayStart)
}

// title is the frame's first line.
func (h *replayHarness) title() string {
	first, _, _ := strings.Cut(h.r.View(), "\n")
	return first
}

// eventTexts are the event pane's lines, oldest first.
func (h *replayHarness) eventTexts() []string {
	var out []string
	for _, e := range h.r.model.events.last(eventLogSize) {
		out = append(out, e.at.Format("15:04:05.000")+" "+e.node+" "+e.text)
	}
	return out
}

func TestReplayPlaysAtRecordedOffsets(t *testing.T) {
	h := newReplayHarness(t, electionRecording())
	const (
		F = badgeFollower
		C = badgeCandidate
		L = badgeLeader
		D = badgeDown
		X = badgeConnecting
	)
	h.wait(50 * time.Millisecond)
	h.wantRoles("at 0.05s: connected, no status yet", X, X, X)
	if n := h.r.model.nodes[0]; n.conn == nil || n.err != nil {
		t.Fatalf("n1 not connected at 0.05s: conn %v err %v", n.conn, n.err)
	}
	if got := h.pos(); got != 50*time.Millisecond {
		t.Fatalf("model clock at %v, want 50ms", got)
	}

	h.wait(500 * time.Millisecond)
	h.wantRoles("at 0.55s", F, F, F)
	// The status came at 0.1s: the election timer has run 0.45s since.
	n1 := h.r.model.nodes[0]
	if !n1.statusAt.Equal(replayStart.Add(100*time.Millisecond)) || n1.electionRemaining(h.r.model.ctx.now) != 550*time.Millisecond {
		t.Fatalf("n1 status at %v, timer %v; want at 0.1s, 550ms left", n1.statusAt.Sub(replayStart), n1.electionRemaining(h.r.model.ctx.now))
	}

	h.press("+") // 2×: 0.25s of wall time is 0.5s of the recording
	h.wait(250 * time.Millisecond)
	h.wantRoles("at 1.05s", F, C, F)
	if got := h.pos(); got != 1050*time.Millisecond {
		t.Fatalf("model clock at %v, want 1.05s", got)
	}

	h.press(" ")
	h.wait(10 * time.Second)
	if got := h.pos(); got != 1050*time.Millisecond {
		t.Fatalf("paused, yet the clock moved to %v", got)
	}
	if title := h.title(); !strings.Contains(title, "REPLAY 2.0× 00:01.0") || !strings.HasSuffix(title, "⏸") || !strings.Contains(title, "easykv · demo") {
		t.Fatalf("title %q, want the cluster and the paused replay's state", title)
	}

	h.press(".") // steps over the MESSAGES at 1.1s to n2's win at 1.2s
	h.wantRoles("after a step", F, L, F)
	if got := h.pos(); got != 1200*time.Millisecond {
		t.Fatalf("step went to %v, want 1.2s", got)
	}
	h.press(".") // to n3's stream ending at 5.0s
	h.wantRoles("after another step", F, L, D)
	if got := h.pos(); got != 5*time.Second {
		t.Fatalf("step went to %v, want 5s", got)
	}
	played := h.eventTexts()

	h.press("left") // back to 0: a fresh dashboard
	h.wantRoles("back at 0", X, X, X)
	if got := h.pos(); got != 0 || len(h.eventTexts()) != 0 || h.r.model.nodes[0].conn != nil {
		t.Fatalf("after seeking back to 0: clock %v, events %q, n1 conn %v", got, h.eventTexts(), h.r.model.nodes[0].conn)
	}
	h.press("right")
	h.wantRoles("forward to 5s", F, L, D)
	if got := strings.Join(h.eventTexts(), "\n"); got != strings.Join(played, "\n") {
		t.Fatalf("events after seeking differ from those played:\n%s\nwant\n%s", got, strings.Join(played, "\n"))
	}
	// The events are those recorded, in the recorded order.
	wantOrder := []string{"n2 " + describe(roleEv("n2", pb.Role_ROLE_CANDIDATE, 2, 1000), "n2", nil, replayStart).text,
		"n2 " + describe(roleEv("n2", pb.Role_ROLE_LEADER, 2, 1200), "n2", nil, replayStart).text}
	i := 0
	for _, line := range played {
		if i < len(wantOrder) && strings.HasSuffix(line, wantOrder[i]) {
			i++
		}
	}
	if i != len(wantOrder) {
		t.Fatalf("event pane lacks, in order, %q:\n%s", wantOrder, strings.Join(played, "\n"))
	}

	h.press(" ") // play on at 2× to the end
	h.wait(time.Second)
	h.wantRoles("at the end", F, L, D)
	if n3 := h.r.model.nodes[2]; n3.err == nil || n3.err.Error() != "connection refused" {
		t.Fatalf("n3 err %v, want the recorded dial failure", n3.err)
	}
	if title := h.title(); !strings.Contains(title, "REPLAY 2.0× 00:06.1") || !strings.HasSuffix(title, "⏹ end") {
		t.Fatalf("title %q, want the replay at its end", title)
	}
	h.press(" ") // at the end, space starts again
	h.wantRoles("started again", X, X, X)
	h.wait(300 * time.Millisecond)
	h.wantRoles("0.6s into the second run", F, F, F)

	h.press("0")
	if got := h.pos(); got != 0 || !h.r.playing {
		t.Fatalf("after 0: clock %v playing %t, want 0 and playing", got, h.r.playing)
	}
	h.wait(600 * time.Millisecond)
	h.press("home")
	h.wantRoles("after home", X, X, X)
}

func TestReplaySpeedLimits(t *testing.T) {
	h := newReplayHarness(t, electionRecording())
	for range 10 {
		h.press("-")
	}
	if !strings.Contains(h.title(), "REPLAY 0.25× ") {
		t.Fatalf("title %q, want the slowest speed 0.25×", h.title())
	}
	h.wait(time.Second)
	if got := h.pos(); got != 250*time.Millisecond {
		t.Fatalf("at 0.25× one second played %v", got)
	}
	for range 10 {
		h.press("+")
	}
	if !strings.Contains(h.title(), "REPLAY 16.0× ") {
		t.Fatalf("title %q, want the fastest speed 16×", h.title())
	}
	h.wait(100 * time.Millisecond)
	if got := h.pos(); got != 1850*time.Millisecond {
		t.Fatalf("at 16× 0.1s played to %v, want 1.85s", got)
	}
}

func TestReplayIsReadOnlyAndLeavesThePromptItsKeys(t *testing.T) {
	h := newReplayHarness(t, electionRecording())
	h.wait(1300 * time.Millisecond) // n2 leads
	for _, line := range []string{"put user:1 alice", "get user:1", "pause n2", "heal n1", "slow-disk n1 1s"} {
		for _, r := range line {
			h.press(string(r))
		}
		if got := h.r.model.input.Value(); got != line {
			t.Fatalf("prompt %q, want %q: a replay key took a typed character", got, line)
		}
		h.press("enter")
		verb, _, _ := strings.Cut(line, " ")
		if st := h.r.model.status; !st.isErr || st.text != verb+": replay: read-only" {
			t.Errorf("after %q: status %+v, want %q", line, st, verb+": replay: read-only")
		}
		if h.r.model.input.Value() != "" {
			t.Errorf("prompt %q after enter, want it cleared", h.r.model.input.Value())
		}
	}
	if !h.r.playing {
		t.Error("typing a space into a command paused the replay")
	}
	// Nor can the model's own keys reach a recorded node: ctrl+p and
	// ctrl+r answer as the commands do, and send nothing.
	for _, k := range []struct {
		key  tea.KeyType
		want string
	}{{tea.KeyCtrlP, "pause leader: replay: read-only"}, {tea.KeyCtrlR, "resume all: replay: read-only"}} {
		if cmd := h.send(tea.KeyMsg{Type: k.key}); cmd != nil {
			t.Errorf("%v sent a command in a replay", k.key)
		}
		if st := h.r.model.status; !st.isErr || st.text != k.want {
			t.Errorf("after %v: status %+v, want %q", k.key, st, k.want)
		}
	}
	if _, err := (replayConn{}).KV(t.Context(), &pb.KvRequest{}); err != ErrReadOnly {
		t.Errorf("replayConn.KV: %v, want ErrReadOnly", err)
	}
	// The failed dials of the model's Init are not news.
	h.send(dialFailedMsg{node: 0, err: errReplayDial})
	if n := h.r.model.nodes[0]; n.err != nil || n.conn == nil {
		t.Errorf("a replay dial failure reached n1: err %v", n.err)
	}
}

func TestReplayTitleAt80Columns(t *testing.T) {
	h := newReplayHarness(t, electionRecording())
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.wait(1300 * time.Millisecond)
	frame := h.r.View()
	title, _, _ := strings.Cut(frame, "\n")
	if w := len([]rune(title)); w > 80 {
		t.Errorf("title is %d wide, want at most 80: %q", w, title)
	}
	if !strings.Contains(title, "REPLAY 1.0× 00:01.3/00:06.1 ▶") || !strings.Contains(title, "leader n2") {
		t.Errorf("title %q, want the leader and the replay state with its total", title)
	}
	if !strings.Contains(frame, "> replay: space pause") {
		t.Errorf("the empty prompt does not show the replay's keys:\n%s", frame)
	}
	if got := strings.Count(frame, "\n") + 1; got > 24 {
		t.Errorf("frame is %d lines, want at most 24", got)
	}
}

func TestReplayOfEmptyRecording(t *testing.T) {
	rec := electionRecording()
	rec.Records = nil
	h := newReplayHarness(t, rec)
	h.wait(time.Second)
	h.press(".")
	h.press("left")
	h.press("right")
	if !strings.Contains(h.title(), "REPLAY 1.0× 00:00.0") || !strings.Contains(h.title(), "⏹ end") {
		t.Errorf("title %q, want an empty replay at its end", h.title())
	}
	if _, err := NewReplay(nil, Options{}); err == nil {
		t.Error("NewReplay(nil) succeeded")
	}
}

// TestReplayTitle puts the replay's state on header lines of each shape.
func TestReplayTitle(t *testing.T) {
	h := newReplayHarness(t, electionRecording())
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.wait(1300 * time.Millisecond)
	const clock = "21:40:02"
	pad := func(left string) string { return left + strings.Repeat(" ", 80-len([]rune(left))-len(clock)) + clock }
	tests := []struct {
		name, line, want string
	}{
		{"room for all", pad("easykv · demo · leader n2 (term 2)"),
			"easykv · demo · leader n2 (term 2)       REPLAY 1.0× 00:01.3/00:06.1 ▶  21:40:02"},
		{"no room for the clock", pad("easykv · demo · 3 nodes: 3 up · leader n2 (term 2)"),
			"easykv · demo · 3 nodes: 3 up · leader n2 (term 2) REPLAY 1.0× 00:01.3/00:06.1 ▶"},
		{"the text cut, not the total", "easykv · demo · 3 nodes: 3 up · leader n2 (term 2) · t7",
			"easykv · demo · 3 nodes: 3 up · leader n2 (term 2… REPLAY 1.0× 00:01.3/00:06.1 ▶"},
		{"text cut", "easykv · demo · 3 nodes: 3 up · leader n2 (term 2) · commit 7 · elected 1.1s ago",
			"easykv · demo · 3 nodes: 3 up · leader n2 (term 2… REPLAY 1.0× 00:01.3/00:06.1 ▶"},
		{"empty", "", strings.Repeat(" ", 51) + "REPLAY 1.0× 00:01.3/00:06.1 ▶"},
	}
	for _, tt := range tests {
		if got := h.r.title(tt.line); got != tt.want {
			t.Errorf("%s: title\n%q, want\n%q", tt.name, got, tt.want)
		}
	}
}

// TestReplayOfALearnedMember: a member the recorded dashboard learned from
// the configuration (recorded as node -1 with its id) gets its card in the
// replay once a replayed status names it, and its records land on it.
func TestReplayOfALearnedMember(t *testing.T) {
	rec := electionRecording()
	members := []*pb.Member{{Id: "n1", Addr: "a1"}, {Id: "n2", Addr: "a2"}, {Id: "n3", Addr: "a3"}, {Id: "n4", Addr: "a4", Learner: true}}
	lead := &pb.NodeStatus{Id: "n2", Role: pb.Role_ROLE_LEADER, Term: 2, LeaderId: "n2", Members: members}
	learner := &pb.NodeStatus{Id: "n4", Role: pb.Role_ROLE_FOLLOWER, Term: 2, LeaderId: "n2", Members: members, Learner: true}
	learned := func(ms int, kind RecordKind, ev *pb.WatchEvent) Record {
		r := at(ms, -1, kind, "", ev)
		r.ID = "n4"
		return r
	}
	rec.Records = append(rec.Records[:len(rec.Records):len(rec.Records)],
		at(6200, 1, RecordEvent, "", statusEv(lead)),
		learned(6210, RecordDial, nil),
		learned(6220, RecordConnected, nil),
		learned(6300, RecordEvent, statusEv(learner)),
	)
	h := newReplayHarness(t, rec)
	h.wait(7 * time.Second)
	if got := h.r.model.nodeIDs(); strings.Join(got, " ") != "n1 n2 n3 n4" {
		t.Fatalf("replayed nodes %v, want n1…n4", got)
	}
	n4 := h.r.model.nodes[3]
	if n4.status.GetId() != "n4" || n4.member != memberLearner {
		t.Errorf("n4's records did not reach its card: status %v, member %v", n4.status, n4.member)
	}
	mustContain(t, h.r.View(), "n4 ● follower  ◇ learner")
}
