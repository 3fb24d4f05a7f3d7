package tui

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

// snapLog is a log of entries 1..last, term 2 up to 30 and term 3 after.
func snapLog(last int64) []*pb.LogEntry {
	var out []*pb.LogEntry
	for i := int64(1); i <= last; i++ {
		out = append(out, entry(i, min(3, 2+i/31), "PUT k v"))
	}
	return out
}

// snapRuns are the log_terms of snapLog up to last that a node whose log
// starts at first sends: runs of its entries from first on.
func snapRuns(first, last int64) []*pb.TermRun {
	var runs []*pb.TermRun
	for _, e := range snapLog(last)[max(0, first-1):] {
		if n := len(runs); n == 0 || runs[n-1].GetTerm() != e.GetTerm() {
			runs = append(runs, &pb.TermRun{FirstIndex: e.GetIndex(), Term: e.GetTerm()})
		}
	}
	return runs
}

// transfer is 3.1 MiB of a 12 MiB snapshot at 40 under way at 40 MiB/s,
// seen from the sender or the receiver.
func transfer(peer string, sending bool) *pb.SnapshotTransfer {
	return &pb.SnapshotTransfer{Peer: peer, Sending: sending, SnapshotIndex: 40,
		BytesDone: 3251 << 10, TotalBytes: 12 << 20, BytesPerSecond: 40 << 20}
}

// snapshotScene is n1 leading term 3 with entries 1..60, a snapshot at 40
// and its log compacted below 41, sending that snapshot to n3; n2 with a
// snapshot at 30 whose log still holds 21.. (it keeps a margin the
// snapshot covers too); n3 far behind at 12, never compacted, receiving
// n1's snapshot.
func snapshotScene(t *testing.T, width, height int) *harness {
	t.Helper()
	h := newHarness(t, 3)
	h.send(tea.WindowSizeMsg{Width: width, Height: height})
	connectAll(h)
	log := snapLog(60)
	n1 := &pb.NodeStatus{
		Id: "n1", Role: pb.Role_ROLE_LEADER, Term: 3, VotedFor: "n1", LeaderId: "n1",
		CommitIndex: 58, AppliedIndex: 58, LastIndex: 60, LastTerm: 3, HeartbeatMs: 100, ElectionTimeoutMs: 1000,
		SnapshotIndex: 40, SnapshotTerm: 3, FirstIndex: 41,
		LogTail: tail(log, 60), LogTerms: snapRuns(41, 60),
		Peers: []*pb.PeerProgress{
			{Id: "n2", MatchIndex: 60, NextIndex: 61, RecentActive: true, State: "replicate"},
			{Id: "n3", MatchIndex: 12, NextIndex: 41, RecentActive: true, State: peerSnapshotState},
		},
		SnapshotTransfers: []*pb.SnapshotTransfer{transfer("n3", true)},
	}
	n2 := follower("n2", 3, "n1", 1000, 700)
	n2.CommitIndex, n2.AppliedIndex, n2.LastIndex = 58, 58, 60
	n2.SnapshotIndex, n2.SnapshotTerm, n2.FirstIndex = 30, 2, 21
	n2.LogTail, n2.LogTerms = tail(log, 60), snapRuns(21, 60)
	n3 := follower("n3", 3, "n1", 1500, 1200)
	n3.CommitIndex, n3.AppliedIndex, n3.LastIndex, n3.LastTerm = 12, 12, 12, 2
	n3.FirstIndex = 1
	n3.LogTail, n3.LogTerms = tail(log, 12), snapRuns(1, 12)
	n3.SnapshotTransfers = []*pb.SnapshotTransfer{transfer("n1", false)}
	h.deliver("n1",
		&pb.WatchEvent{Kind: pb.WatchEvent_SNAPSHOT_TAKEN, UnixMs: ms(-900 * time.Millisecond), NodeId: "n1", Index: 40, Bytes: 12 << 20},
		&pb.WatchEvent{Kind: pb.WatchEvent_LOG_COMPACTED, UnixMs: ms(-899 * time.Millisecond), NodeId: "n1", Index: 41},
		statusEv(n1),
		messages("n1",
			sent(pb.Traffic_HEARTBEAT, "n1", "n2", 5),
			&pb.Traffic{Kind: pb.Traffic_INSTALL_SNAPSHOT, From: "n1", To: "n3", Sent: true, Count: 3,
				Bytes: 3 << 20, DoneBytes: 3251 << 10, TotalBytes: 12 << 20}),
	)
	h.deliver("n2", statusEv(n2))
	h.deliver("n3", statusEv(n3))
	h.tick(0)
	return h
}

// TestSnapshotFrame: the log view draws each row's compacted entries as
// one cell, the cards show the transfer from both ends and the leader's
// peer being sent a snapshot, the traffic pane the chunks and the event
// pane the snapshot and the compaction.
func TestSnapshotFrame(t *testing.T) {
	h := snapshotScene(t, 120, 40)
	frame := h.view()
	golden(t, "snapshot", frame)
	checkFits(t, frame, 120, 40)
	mustContain(t, frame,
		"⇡ snapshot → n3 3.2/12 MiB 40 MiB/s", "⇣ snapshot from n1  ", "  3.2/12 MiB 40 MiB/s",
		"snap 40@3", "snap 30@2", "n3 match 12  next 41  ⇡ snapshot",
		"≤N snap = compacted up to N",
		"n1 → n3 InstallSnapshot 3.2/12 MiB (3 chunks)",
		"n1 compacted its log below 41")
	// n1's row: 8..40 compacted into one cell against its first entry.
	if row := logRow(t, frame, "n1"); !strings.Contains(row, "  ≤40 snap 3 3") || strings.Contains(row, " 2 ") {
		t.Errorf("n1 row = %q, want ≤40 snap then its entries from 41", row)
	}
	// n2 keeps 21..30 that its snapshot at 30 covers too: the cell ends at 20.
	if row := logRow(t, frame, "n2"); !strings.Contains(row, "  ≤20 snap 2 2") {
		t.Errorf("n2 row = %q, want ≤20 snap then its entries from 21", row)
	}
	// n3 was never compacted: its row is drawn as before.
	if row := logRow(t, frame, "n3"); strings.Contains(row, compactedText) {
		t.Errorf("n3 row = %q, shows a compacted cell without compaction", row)
	}
}

// TestSnapshotCompact: at 80×24 a transfer is a short mark on the node's
// line.
func TestSnapshotCompact(t *testing.T) {
	h := snapshotScene(t, 80, 24)
	frame := h.view()
	golden(t, "snapshot_80x24", frame)
	checkFits(t, frame, 80, 24)
	mustContain(t, lineOf(t, frame, "n1"), "⇡snap→n3 26%")
	mustContain(t, lineOf(t, frame, "n3"), "⇣snap 26%")
	mustContain(t, frame, "n1 took a snapshot at 40 (12 MiB)", "n1 → n3 InstallSnapshot 3.2/12 MiB (3 chunks)")
	if strings.Contains(lineOf(t, frame, "n2"), "snap") {
		t.Errorf("n2 sends or receives no snapshot:\n%s", frame)
	}
}

// TestLogRowWithoutCompaction: a first index of 0 (a node that does not
// report it) or 1 draws the row as before, snapshot or not.
func TestLogRowWithoutCompaction(t *testing.T) {
	rows := map[string]string{}
	for _, tc := range []struct {
		name        string
		first, snap int64
	}{{"unreported", 0, 0}, {"first 1", 1, 0}, {"snapshot, nothing compacted", 1, 5}} {
		h := newHarness(t, 3)
		connectAll(h)
		st := logStatus("n2", 20, 18)
		st.FirstIndex, st.SnapshotIndex, st.SnapshotTerm = tc.first, tc.snap, 2
		h.deliver("n2", statusEv(st))
		rows[tc.name] = logRow(t, h.view(), "n2")
	}
	for name, row := range rows {
		if row != rows["unreported"] || strings.Contains(row, compactedText) {
			t.Errorf("%s: row %q, want %q", name, row, rows["unreported"])
		}
	}
}

func TestCompactedCell(t *testing.T) {
	st := DefaultStyles(asciiRenderer())
	s := &pb.NodeStatus{FirstIndex: 1201, SnapshotIndex: 1200}
	for _, tt := range []struct {
		width int
		want  string
	}{
		{20, "          ≤1200 snap"},
		{11, " ≤1200 snap"},
		{10, "     ≤1200"},
		{6, " ≤1200"},
		{5, "    ≤"},
		{2, " ≤"},
	} {
		if got := compactedCell(&st, s, tt.width); got != tt.want {
			t.Errorf("width %d: %q, want %q", tt.width, got, tt.want)
		}
	}
	for _, tt := range []struct {
		first, left int64
		count, want int
	}{{0, 1, 10, 0}, {1, 1, 10, 0}, {5, 1, 10, 4}, {5, 5, 10, 0}, {50, 1, 10, 10}, {50, 45, 10, 5}} {
		if got := compacted(&pb.NodeStatus{FirstIndex: tt.first}, tt.left, tt.count); got != tt.want {
			t.Errorf("compacted(first %d, left %d, count %d) = %d, want %d", tt.first, tt.left, tt.count, got, tt.want)
		}
	}
}

// TestTransferLines: a transfer is one line on a card wide enough, else
// two.
func TestTransferLines(t *testing.T) {
	st := DefaultStyles(asciiRenderer())
	for _, tt := range []struct {
		t     *pb.SnapshotTransfer
		inner int
		want  []string
	}{
		{transfer("n1", false), 40, []string{"⇣ snapshot 3.2/12 MiB 40 MiB/s from n1"}},
		{transfer("n1", false), 36, []string{"⇣ snapshot from n1", "  3.2/12 MiB 40 MiB/s"}},
		{transfer("n3", true), 36, []string{"⇡ snapshot → n3 3.2/12 MiB 40 MiB/s"}},
		{transfer("n3", true), 30, []string{"⇡ snapshot → n3", "  3.2/12 MiB 40 MiB/s"}},
		{&pb.SnapshotTransfer{Peer: "n3", Sending: true, BytesDone: 3 << 20, TotalBytes: 12 << 20}, 36, []string{"⇡ snapshot → n3 3/12 MiB"}},
	} {
		if got := transferLines(&st, tt.t, tt.inner); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%v at %d: %q, want %q", tt.t, tt.inner, got, tt.want)
		}
	}
}

func TestSizeTexts(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{sizeText(0), "0 B"},
		{sizeText(512), "512 B"},
		{sizeText(1536), "1.5 KiB"},
		{sizeText(3 << 20), "3 MiB"},
		{sizeText(3251 << 10), "3.2 MiB"},
		{sizeText(12 << 20), "12 MiB"},
		{sizeText(5 << 30), "5 GiB"},
		{progressText(3<<20, 12<<20), "3/12 MiB"},
		{progressText(3251<<10, 12<<20), "3.2/12 MiB"},
		{progressText(512<<10, 12<<20), "0.5/12 MiB"},
		{progressText(3<<20, 0), "3 MiB"},
		{percent(3<<20, 12<<20), "25%"},
		{percent(1, 0), ""},
		{sizeSuffix(0), ""},
		{sizeSuffix(12 << 20), " (12 MiB)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestInstallSnapshotTraffic: the chunks of a transfer are one line with
// its newest progress, after refusals and before entries.
func TestInstallSnapshotTraffic(t *testing.T) {
	var l trafficLog
	chunk := func(done int64) *pb.WatchEvent {
		return messages("n1", &pb.Traffic{Kind: pb.Traffic_INSTALL_SNAPSHOT, From: "n1", To: "n3", Sent: true, Count: 1,
			Bytes: 1 << 20, DoneBytes: done, TotalBytes: 12 << 20})
	}
	l.add("n1", chunk(2<<20), t0)
	l.add("n1", chunk(3<<20), t0.Add(100*time.Millisecond))
	l.add("n3", messages("n3", sent(pb.Traffic_APPEND_REJECT, "n3", "n1", 1)), t0.Add(100*time.Millisecond))
	l.add("n1", messages("n1", &pb.Traffic{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Sent: true, Count: 1, Entries: 4}), t0.Add(100*time.Millisecond))
	got := trafficText(&l, t0.Add(100*time.Millisecond))
	want := []string{"n3 → n1 reject", "n1 → n3 InstallSnapshot 3/12 MiB (2 chunks)", "n1 → n2 AppendEntries ×4 entries"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// One chunk alone, its total unknown.
	var one trafficLog
	one.add("n1", messages("n1", &pb.Traffic{Kind: pb.Traffic_INSTALL_SNAPSHOT, From: "n1", To: "n2", Sent: true, Count: 1, DoneBytes: 1 << 20}), t0)
	if got := trafficText(&one, t0); len(got) != 1 || got[0] != "n1 → n2 InstallSnapshot 1 MiB" {
		t.Errorf("lines = %q", got)
	}
}

// TestLostEntriesStandsOut: the event pane draws LOST_ENTRIES in the
// warning style, and only that.
func TestLostEntriesStandsOut(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.ANSI256)
	c := &programContext{styles: DefaultStyles(r)}
	var l eventLog
	lost := describe(&pb.WatchEvent{Kind: pb.WatchEvent_LOST_ENTRIES, NodeId: "n1", Peer: "n3", Index: 11}, "n1", nil, t0)
	taken := describe(&pb.WatchEvent{Kind: pb.WatchEvent_SNAPSHOT_TAKEN, NodeId: "n1", Index: 40}, "n1", nil, t0)
	if !lost.warn || taken.warn {
		t.Fatalf("warn: lost entries %v, snapshot taken %v; want true, false", lost.warn, taken.warn)
	}
	l.add(lost)
	l.add(taken)
	pane := viewEvents(c, &l, 120, 3)
	if want := c.styles.Warning.Render(lost.text); !strings.Contains(pane, want) {
		t.Errorf("pane lacks the lost entries line in the warning style %q:\n%q", want, pane)
	}
	if strings.Contains(pane, c.styles.Warning.Render(taken.text)) {
		t.Errorf("a snapshot taken is drawn as a warning:\n%q", pane)
	}
}

// TestRecordingKeepsSnapshotFields: a recording carries the new status
// fields, event kinds and traffic as they came, for a replay to show.
func TestRecordingKeepsSnapshotFields(t *testing.T) {
	var buf bytes.Buffer
	rec, err := NewRecorder(&buf, "demo", []Node{{ID: "n1", Addr: "127.0.0.1:7001"}}, 100*time.Millisecond, (&stepClock{}).Now)
	if err != nil {
		t.Fatal(err)
	}
	status := statusEv(&pb.NodeStatus{Id: "n1", Role: pb.Role_ROLE_LEADER, SnapshotIndex: 40, SnapshotTerm: 3, FirstIndex: 41,
		SnapshotTransfers: []*pb.SnapshotTransfer{transfer("n3", true)},
		Peers:             []*pb.PeerProgress{{Id: "n3", State: peerSnapshotState}}})
	events := []*pb.WatchEvent{
		status,
		{Kind: pb.WatchEvent_SNAPSHOT_SENT, NodeId: "n1", Peer: "n3", Index: 40, Bytes: 12 << 20, Reason: "n3 rejected chunk"},
		{Kind: pb.WatchEvent_LOST_ENTRIES, NodeId: "n1", Peer: "n3", Index: 11},
		messages("n1", &pb.Traffic{Kind: pb.Traffic_INSTALL_SNAPSHOT, From: "n1", To: "n3", Sent: true, Count: 2,
			Bytes: 2 << 20, DoneBytes: 3 << 20, TotalBytes: 12 << 20}),
	}
	for _, ev := range events {
		rec.write("n1", RecordEvent, "", ev)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRecording(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != len(events) {
		t.Fatalf("%d records, want %d", len(got.Records), len(events))
	}
	for i, ev := range events {
		if !proto.Equal(got.Records[i].Event, ev) {
			t.Errorf("record %d = %v, want %v", i, got.Records[i].Event, ev)
		}
	}
}
