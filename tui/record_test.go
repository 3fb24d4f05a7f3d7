package tui

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

// stepClock reads t0, then one millisecond later at each reading; safe for
// the recorder's goroutines.
type stepClock struct {
	// mu guards n.
	mu sync.Mutex
	// n counts the readings so far.
	n int
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	at := t0.Add(time.Duration(c.n) * time.Millisecond)
	c.n++
	return at
}

// recv reads one event from ch, failing the test if it is closed or late.
func recv(t *testing.T, ch <-chan *pb.WatchEvent) *pb.WatchEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("stream closed, want an event")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return nil
}

// waitClosed fails the test unless ch closes without more events.
func waitClosed(t *testing.T, ch <-chan *pb.WatchEvent) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("got %v, want the stream closed", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream not closed within 5s")
	}
}

func TestRecorderRoundTrip(t *testing.T) {
	nodes := []Node{{ID: "n1", Addr: "127.0.0.1:7001"}, {ID: "n2", Addr: "127.0.0.1:7002"}}
	var buf bytes.Buffer
	clock := &stepClock{} // t0 is the start, each record 1ms later
	rec, err := NewRecorder(&buf, "demo", nodes, 250*time.Millisecond, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	d := newFakeDialer()
	dial := rec.Dial(d.dial)
	ctx := context.Background()

	// n1 connects and sends two events, then its connection drops.
	c, err := dial(ctx, nodes[0]) // dial @1ms
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := c.Watch(wctx, 250*time.Millisecond) // connected @2ms
	if err != nil {
		t.Fatal(err)
	}
	if got := d.conn(t, "n1").interval; got != 250*time.Millisecond {
		t.Errorf("wrapped Watch got interval %v", got)
	}
	status := statusEv(&pb.NodeStatus{Id: "n1", Role: pb.Role_ROLE_FOLLOWER, Term: 3, LogTail: []*pb.LogEntry{{Index: 1, Term: 2}}})
	role := &pb.WatchEvent{Kind: pb.WatchEvent_ROLE_CHANGED, NodeId: "n1", Role: pb.Role_ROLE_CANDIDATE, Term: 4, UnixMs: 1234}
	fc := d.conn(t, "n1")
	for _, ev := range []*pb.WatchEvent{status, role} { // @3ms, @4ms
		fc.events <- ev
		if got := recv(t, ch); got != ev {
			t.Errorf("forwarded %v, want %v", got, ev)
		}
	}
	fc.mu.Lock()
	fc.err = errors.New("connection reset")
	fc.mu.Unlock()
	close(fc.events) // closed @5ms
	waitClosed(t, ch)
	if err := c.Err(); err == nil || err.Error() != "connection reset" {
		t.Errorf("Err() = %v, want the wrapped connection's", err)
	}

	// n2 cannot be dialled.
	d.setFail("n2", errors.New("connection refused"))
	if _, err := dial(ctx, nodes[1]); err == nil || err.Error() != "connection refused" { // dial @6ms, down @7ms
		t.Errorf("dial n2: %v, want the dial error as it is", err)
	}

	// n1 again: its watch fails.
	c, err = dial(ctx, nodes[0]) // dial @8ms
	if err != nil {
		t.Fatal(err)
	}
	fc = d.conn(t, "n1")
	fc.watchErr = errors.New("too many watches")
	if _, err := c.Watch(ctx, time.Second); err == nil { // down @9ms
		t.Fatal("Watch succeeded, want the wrapped error")
	}

	// n1 once more: the dashboard drops it, which is not recorded.
	c, err = dial(ctx, nodes[0]) // dial @10ms
	if err != nil {
		t.Fatal(err)
	}
	wctx2, cancel2 := context.WithCancel(ctx)
	ch, err = c.Watch(wctx2, time.Second) // connected @11ms
	if err != nil {
		t.Fatal(err)
	}
	cancel2()
	waitClosed(t, ch)

	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	// After Close nothing more is written.
	if _, err := dial(ctx, nodes[0]); err != nil {
		t.Fatal(err)
	}

	if lines := strings.Count(buf.String(), "\n"); lines != 12 {
		t.Errorf("%d lines, want a header and 11 records:\n%s", lines, buf.String())
	}
	got, err := ReadRecording(&buf)
	if err != nil {
		t.Fatal(err)
	}
	h := got.Header
	if h.Format != RecordFormat || h.Version != RecordVersion || h.Cluster != "demo" || !h.Start.Equal(t0) ||
		h.StatusIntervalMs != 250 || len(h.Nodes) != 2 || h.Nodes[1] != (RecordNode{ID: "n2", Addr: "127.0.0.1:7002"}) {
		t.Errorf("header %+v", h)
	}
	want := []Record{
		{Node: 0, Kind: RecordDial},
		{Node: 0, Kind: RecordConnected},
		{Node: 0, Kind: RecordEvent, Event: status},
		{Node: 0, Kind: RecordEvent, Event: role},
		{Node: 0, Kind: RecordClosed, Err: "connection reset"},
		{Node: 1, Kind: RecordDial},
		{Node: 1, Kind: RecordDown, Err: "connection refused"},
		{Node: 0, Kind: RecordDial},
		{Node: 0, Kind: RecordDown, Err: "watch: too many watches"},
		{Node: 0, Kind: RecordDial},
		{Node: 0, Kind: RecordConnected},
	}
	if len(got.Records) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(got.Records), len(want), got.Records)
	}
	for i, w := range want {
		g := got.Records[i]
		w.At = t0.Add(time.Duration(i+1) * time.Millisecond)
		if !g.At.Equal(w.At) || g.Node != w.Node || g.Kind != w.Kind || g.Err != w.Err || !proto.Equal(g.Event, w.Event) {
			t.Errorf("record %d = %+v, want %+v", i, g, w)
		}
	}
	if d := got.Duration(); d != 11*time.Millisecond {
		t.Errorf("Duration() = %v, want 11ms", d)
	}
}

// failWriter takes ok writes, then fails every one.
type failWriter struct {
	// ok is how many writes still succeed.
	ok int
}

func (w *failWriter) Write(p []byte) (int, error) {
	if w.ok == 0 {
		return 0, errors.New("disk full")
	}
	w.ok--
	return len(p), nil
}

func TestRecorderWriteFailure(t *testing.T) {
	nodes := []Node{{ID: "n1"}}
	if _, err := NewRecorder(&failWriter{}, "demo", nodes, 0, nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("NewRecorder on a failing writer: %v, want the write error", err)
	}
	w := &failWriter{ok: 2}
	rec, err := NewRecorder(w, "demo", nodes, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	dial := rec.Dial(newFakeDialer().dial)
	for range 3 {
		if _, err := dial(context.Background(), nodes[0]); err != nil {
			t.Fatal(err) // recording fails, the dashboard goes on
		}
	}
	if err := rec.Err(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Err() = %v, want the write error", err)
	}
	if err := rec.Close(); err == nil {
		t.Error("Close() = nil, want the write error")
	}
}

func TestReadRecordingRejectsAndSkips(t *testing.T) {
	const header = `{"format":"easykv-tui-record","version":1,"cluster":"demo","start":"2025-11-25T21:40:01.123Z","status_interval_ms":100,"nodes":[{"id":"n1","addr":"a1"},{"id":"n2","addr":"a2"}]}` + "\n"
	const dial = `{"t":"2025-11-25T21:40:02Z","node":0,"id":"n1","type":"dial"}` + "\n"
	const status = `{"t":"2025-11-25T21:40:03Z","node":1,"id":"n2","type":"event","event":{"kind":"STATUS","status":{"id":"n2","role":"ROLE_LEADER","term":"7"}}}` + "\n"
	tests := []struct {
		name    string
		file    string
		wantErr string // "" for no error
		want    int    // records read
	}{
		{"empty", "", "empty", 0},
		{"no header", dial, "no header", 0},
		{"newer version", strings.Replace(header, `"version":1`, `"version":2`, 1), "version 2", 0},
		{"no nodes", `{"format":"easykv-tui-record","version":1}` + "\n", "no nodes", 0},
		{"repeated node", strings.Replace(header, `"n2"`, `"n1"`, 1), "repeated", 0},
		{"good", header + dial + status, "", 2},
		{"no final newline", header + dial + strings.TrimSuffix(status, "\n"), "", 2},
		{"torn last line", header + dial + status[:40], "", 1},
		{"bad line inside", header + dial + "{oops\n" + status, "line 3", 0},
		{"bad event", header + strings.Replace(status, `"7"`, `"seven"`, 1) + dial, "line 2", 0},
		{"time backwards", header + status + dial, "backwards", 0},
		{"unknown node skipped", header + strings.Replace(dial, `"node":0`, `"node":5`, 1) + status, "", 1},
		{"mismatched id skipped", header + strings.Replace(dial, `"n1"`, `"n2"`, 1) + status, "", 1},
		{"learned member kept", header + strings.Replace(strings.Replace(dial, `"node":0`, `"node":-1`, 1), `"n1"`, `"n4"`, 1) + status, "", 2},
		{"nameless learned member skipped", header + strings.Replace(strings.Replace(dial, `"node":0`, `"node":-1`, 1), `"n1"`, `""`, 1) + status, "", 1},
		{"unknown type skipped", header + strings.Replace(dial, `"dial"`, `"future"`, 1) + status, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := ReadRecording(strings.NewReader(tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrBadRecording) {
					t.Fatalf("err = %v, want ErrBadRecording mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Records) != tt.want {
				t.Fatalf("%d records, want %d: %+v", len(rec.Records), tt.want, rec.Records)
			}
			if last := rec.Records[len(rec.Records)-1]; last.Kind == RecordEvent &&
				(last.Node != 1 || last.Event.GetStatus().GetRole() != pb.Role_ROLE_LEADER || last.Event.GetStatus().GetTerm() != 7) {
				t.Errorf("status record decoded as %+v", last)
			}
		})
	}
}
