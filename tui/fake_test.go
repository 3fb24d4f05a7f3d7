package tui

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

// update is the -update flag: set, it rewrites testdata/*.golden from the
// current output. The golden package that teatest uses defines it, and a
// flag can only be defined once.
var update = flag.Lookup("update").Value.(flag.Getter)

// t0 is the fake clock's start: 21:40:01.123 UTC.
var t0 = time.Date(2025, 11, 25, 21, 40, 1, 123_000_000, time.UTC)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	// now is the time it reads.
	now time.Time
}

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) advance(d time.Duration) { c.now = c.now.Add(d) }

// fakeConn is a NodeConn whose stream the test fills and closes.
type fakeConn struct {
	// mu guards everything below; AdminRequest and Close run in tea.Cmds.
	mu sync.Mutex
	// events is the stream handed out by Watch; buffered so tests can queue
	// a burst before the model reads it.
	events chan *pb.WatchEvent
	// watchErr makes Watch fail.
	watchErr error
	// watchCtx is the context Watch was given, to check it gets cancelled.
	watchCtx context.Context
	// interval is the status interval Watch was asked for.
	interval time.Duration
	// adminResp and adminErr are what AdminRequest answers.
	adminResp *pb.AdminResponse
	adminErr  error
	// admins records a copy of every AdminRequest call's request.
	admins []*pb.AdminRequest
	// kv answers KV calls; nil answers OK with nothing more.
	kv func(req *pb.KvRequest) (*pb.KvResponse, error)
	// kvs records a copy of every KV request.
	kvs []*pb.KvRequest
	// kvDeadline is the deadline of the latest KV call's context.
	kvDeadline time.Time
	// statusAnswer answers Status calls; nil answers the last status
	// delivered on the stream (lastStatus), or, before any, as a node that
	// does not answer in time.
	statusAnswer func() (*pb.NodeStatus, error)
	// lastStatus is the last status the harness delivered on the stream.
	lastStatus *pb.NodeStatus
	// statusCalls counts Status calls.
	statusCalls int
	// err is what Err reports.
	err error
	// closed says Close was called.
	closed bool
}

var _ NodeConn = (*fakeConn)(nil)

func newFakeConn() *fakeConn {
	return &fakeConn{events: make(chan *pb.WatchEvent, 2048), adminResp: &pb.AdminResponse{Ok: true}}
}

func (c *fakeConn) Watch(ctx context.Context, interval time.Duration) (<-chan *pb.WatchEvent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watchErr != nil {
		return nil, c.watchErr
	}
	c.watchCtx, c.interval = ctx, interval
	return c.events, nil
}

func (c *fakeConn) AdminRequest(_ context.Context, req *pb.AdminRequest) (*pb.AdminResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.admins = append(c.admins, proto.Clone(req).(*pb.AdminRequest))
	return c.adminResp, c.adminErr
}

func (c *fakeConn) KV(ctx context.Context, req *pb.KvRequest) (*pb.KvResponse, error) {
	c.mu.Lock()
	c.kvs = append(c.kvs, proto.Clone(req).(*pb.KvRequest))
	c.kvDeadline, _ = ctx.Deadline()
	answer := c.kv
	c.mu.Unlock()
	if answer == nil {
		return &pb.KvResponse{}, nil
	}
	return answer(req)
}

func (c *fakeConn) Status(context.Context) (*pb.NodeStatus, error) {
	c.mu.Lock()
	c.statusCalls++
	answer, last := c.statusAnswer, c.lastStatus
	c.mu.Unlock()
	switch {
	case answer != nil:
		return answer()
	case last != nil:
		return last, nil
	default:
		return nil, context.DeadlineExceeded
	}
}

// statuses is how many Status calls were made.
func (c *fakeConn) statuses() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statusCalls
}

// kvCalls returns the recorded KV requests.
func (c *fakeConn) kvCalls() []*pb.KvRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*pb.KvRequest(nil), c.kvs...)
}

func (c *fakeConn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

// adminCalls returns the commands of the recorded AdminRequest calls.
func (c *fakeConn) adminCalls() []pb.AdminCommand {
	c.mu.Lock()
	defer c.mu.Unlock()
	var cmds []pb.AdminCommand
	for _, req := range c.admins {
		cmds = append(cmds, req.GetCommand())
	}
	return cmds
}

// adminRequests returns the recorded AdminRequest calls' requests.
func (c *fakeConn) adminRequests() []*pb.AdminRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*pb.AdminRequest(nil), c.admins...)
}

// fakeDialer hands out a fresh fakeConn per dial, or fails.
type fakeDialer struct {
	// mu guards everything below; dial runs in tea.Cmds.
	mu sync.Mutex
	// fail makes dials of a node id fail with that error.
	fail map[string]error
	// conns are the connections handed out, newest last, per node id.
	conns map[string][]*fakeConn
	// calls counts dials per node id.
	calls map[string]int
}

func newFakeDialer() *fakeDialer {
	return &fakeDialer{fail: map[string]error{}, conns: map[string][]*fakeConn{}, calls: map[string]int{}}
}

func (d *fakeDialer) dial(_ context.Context, n Node) (NodeConn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls[n.ID]++
	if err := d.fail[n.ID]; err != nil {
		return nil, err
	}
	c := newFakeConn()
	d.conns[n.ID] = append(d.conns[n.ID], c)
	return c, nil
}

// conn is the newest connection handed out for id.
func (d *fakeDialer) conn(t *testing.T, id string) *fakeConn {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	cs := d.conns[id]
	if len(cs) == 0 {
		t.Fatalf("%s was never dialled", id)
	}
	return cs[len(cs)-1]
}

func (d *fakeDialer) setFail(id string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail[id] = err
}

func (d *fakeDialer) dials(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[id]
}

// harness drives a Model the way the Bubble Tea runtime would, minus the
// terminal: it runs the commands the model returns for a node by hand.
type harness struct {
	t      *testing.T
	m      *Model
	clock  *fakeClock
	dialer *fakeDialer
	// pending is, per node id, the stream-reading command the model asked
	// for last; deliver runs it.
	pending map[string]tea.Cmd
}

// newHarness builds a dashboard over nodes n1..nN at 127.0.0.1:7001.., with
// colour off, the fake clock at t0 and a 120x40 terminal.
func newHarness(t *testing.T, n int) *harness {
	t.Helper()
	var nodes []Node
	for i := 1; i <= n; i++ {
		nodes = append(nodes, Node{ID: fmt.Sprintf("n%d", i), Addr: fmt.Sprintf("127.0.0.1:700%d", i)})
	}
	h := &harness{t: t, clock: &fakeClock{now: t0}, dialer: newFakeDialer(), pending: map[string]tea.Cmd{}}
	m, err := New(Options{
		Cluster: "demo", Nodes: nodes, Dial: h.dialer.dial, Now: h.clock.Now,
		Renderer: asciiRenderer(), ClientID: testClientID, KVTimeout: testKVTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	h.send(tea.WindowSizeMsg{Width: 120, Height: 40})
	return h
}

// testClientID is the dashboard's write session in tests.
const testClientID = 0xC0FFEE

// testKVTimeout is the dashboard's KV call limit in tests: what a call that
// retries until it gives up costs in real time.
const testKVTimeout = 300 * time.Millisecond

// run runs cmd and gives its message to the model, then does the same with
// the command the model answers with, until there is none: a put, get or
// delete with all its redirects.
func (h *harness) run(cmd tea.Cmd) {
	h.t.Helper()
	for range 10 {
		if cmd == nil {
			return
		}
		cmd = h.send(cmd())
	}
	h.t.Fatal("commands still coming after 10 rounds")
}

// asciiRenderer draws without any colour or attribute.
func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

// send gives the model one message and returns its command.
func (h *harness) send(msg tea.Msg) tea.Cmd {
	h.t.Helper()
	model, cmd := h.m.Update(msg)
	if model != h.m {
		h.t.Fatalf("Update returned another model")
	}
	return cmd
}

// connect runs the model's dial command for id and feeds the result back.
func (h *harness) connect(id string) tea.Cmd {
	h.t.Helper()
	cmd := h.send(h.m.connect(h.idx(id))())
	h.pending[id] = cmd
	return cmd
}

// deliver queues evs on id's stream and runs the model's pending read, as
// the runtime would once the events arrive.
func (h *harness) deliver(id string, evs ...*pb.WatchEvent) {
	h.t.Helper()
	c := h.dialer.conn(h.t, id)
	for _, ev := range evs {
		c.events <- ev
		if st := ev.GetStatus(); st != nil {
			c.mu.Lock()
			c.lastStatus = st
			c.mu.Unlock()
		}
	}
	cmd := h.pending[id]
	if cmd == nil {
		h.t.Fatalf("no stream read pending for %s", id)
	}
	h.pending[id] = h.send(cmd())
}

// tick advances the clock by d and sends a frame tick.
func (h *harness) tick(d time.Duration) {
	h.t.Helper()
	h.clock.advance(d)
	if cmd := h.send(tickMsg{}); cmd == nil {
		h.t.Fatal("tick was not re-armed")
	}
}

// typeLine types s at the prompt and presses enter, returning the command.
func (h *harness) typeLine(s string) tea.Cmd {
	h.t.Helper()
	for _, r := range s {
		h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return h.send(tea.KeyMsg{Type: tea.KeyEnter})
}

func (h *harness) idx(id string) int {
	h.t.Helper()
	i := h.m.nodeIndex(id)
	if i < 0 {
		h.t.Fatalf("no node %s", id)
	}
	return i
}

// view is the current frame.
func (h *harness) view() string { return h.m.View() }

// statusEv wraps s in a STATUS event.
func statusEv(s *pb.NodeStatus) *pb.WatchEvent {
	return &pb.WatchEvent{Kind: pb.WatchEvent_STATUS, NodeId: s.GetId(), Status: s}
}

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if update.Get().(bool) {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("frame differs from %s (go test -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// mustContain fails unless every want is in the frame.
func mustContain(t *testing.T, frame string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(frame, w) {
			t.Errorf("frame lacks %q:\n%s", w, frame)
		}
	}
}
