package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

func TestStreamLossReconnects(t *testing.T) {
	h := newHarness(t, 1)
	h.connect("n1")
	h.deliver("n1", statusEv(follower("n1", 1, "", 1000, 900)))
	c := h.dialer.conn(t, "n1")
	c.err = errors.New("read 127.0.0.1:7001: connection reset by peer")
	close(c.events)
	cmd := h.pending["n1"]
	next := h.send(cmd())
	frame := h.view()
	mustContain(t, frame, "✖ DOWN", "connection reset by peer", "n1 down: read")
	if strings.Contains(frame, "term 1") {
		t.Errorf("DOWN card shows the stale status:\n%s", frame)
	}
	// The follow-up closes the dead connection and schedules the retry.
	batch, ok := next().(tea.BatchMsg)
	if !ok {
		t.Fatalf("after a lost stream got %T, want a batch of close and retry", next())
	}
	var retried bool
	for _, cmd := range batch {
		switch msg := cmd().(type) {
		case nil:
		case retryMsg:
			retried = true
			h.send(msg)
		default:
			t.Errorf("unexpected %T", msg)
		}
	}
	if !retried {
		t.Error("no retry after the stream was lost")
	}
	if !c.closed || c.watchCtx.Err() == nil {
		t.Errorf("old connection closed=%v, watch ctx err=%v; want both ended", c.closed, c.watchCtx.Err())
	}
}

func TestWatchFailureIsDown(t *testing.T) {
	h := newHarness(t, 1)
	c := newFakeConn()
	c.watchErr = errors.New("not allowed")
	h.m.opts.Dial = func(_ context.Context, _ Node) (NodeConn, error) { return c, nil }
	h.connect("n1")
	mustContain(t, h.view(), "✖ DOWN", "watch: not allowed")
	if !c.closed {
		t.Error("connection left open after its Watch failed")
	}
}

func TestEventBatchCappedAndClose(t *testing.T) {
	c := newFakeConn()
	c.err = errors.New("gone")
	for range maxBatch + 10 {
		c.events <- &pb.WatchEvent{Kind: pb.WatchEvent_PAUSED}
	}
	close(c.events)
	read := waitEvents(0, c, c.events)
	first := read().(eventsMsg)
	if len(first.events) != maxBatch || first.closed {
		t.Errorf("first read: %d events closed=%v, want %d and open", len(first.events), first.closed, maxBatch)
	}
	second := read().(eventsMsg)
	if len(second.events) != 10 || !second.closed || second.err == nil {
		t.Errorf("second read: %d events closed=%v err=%v, want 10, closed, gone", len(second.events), second.closed, second.err)
	}
}

func TestCloseEndsConnections(t *testing.T) {
	h := newHarness(t, 2)
	connectAll(h)
	if err := h.m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"n1", "n2"} {
		c := h.dialer.conn(t, id)
		if !c.closed || c.watchCtx.Err() == nil {
			t.Errorf("%s: closed=%v watch ctx err=%v after Close", id, c.closed, c.watchCtx.Err())
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, 500 * time.Millisecond},
		{2, time.Second},
		{3, 2 * time.Second},
		{4, 4 * time.Second},
		{5, 5 * time.Second},
		{50, 5 * time.Second},
	}
	for _, tt := range tests {
		if got := backoff(tt.failures); got != tt.want {
			t.Errorf("backoff(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}

// TestConnTableLendsTheModelsConnections: the ClusterClient's dial takes a
// node's current connection, never closes it, and sees it broken once the
// model dropped or replaced it.
func TestConnTableLendsTheModelsConnections(t *testing.T) {
	var table connTable
	n1 := netlink.NodeAddr{ID: "n1", Addr: "127.0.0.1:7001"}
	if _, err := table.dial(t.Context(), n1); !errors.Is(err, errNotConnected) {
		t.Fatalf("dial of a node not connected = %v, want errNotConnected", err)
	}
	first := newFakeConn()
	table.set("n1", first)
	lent, err := table.dial(t.Context(), n1)
	if err != nil {
		t.Fatal(err)
	}
	if err := lent.Err(); err != nil {
		t.Errorf("Err = %v while the model holds the connection", err)
	}
	if err := lent.Close(); err != nil || first.closed {
		t.Errorf("Close = %v, closed %v: want the model's connection left open", err, first.closed)
	}
	table.set("n1", newFakeConn())
	if err := lent.Err(); !errors.Is(err, errNotConnected) {
		t.Errorf("Err after a reconnect = %v, want errNotConnected", err)
	}
	table.set("n1", nil)
	if _, err := table.dial(t.Context(), n1); !errors.Is(err, errNotConnected) {
		t.Errorf("dial after the connection dropped = %v, want errNotConnected", err)
	}
}
