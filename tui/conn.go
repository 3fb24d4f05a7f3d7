package tui

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// NodeConn is one open connection to a node: its event stream feeds the
// node's card and the same connection carries admin commands and key-value
// requests to it. *netlink.Client satisfies it.
type NodeConn interface {
	// Watch starts the node's event stream, with a STATUS event every
	// statusInterval. The channel is closed when ctx is done or the
	// connection is lost.
	Watch(ctx context.Context, statusInterval time.Duration) (<-chan *pb.WatchEvent, error)
	// AdminRequest runs an admin command (pause, resume, or a network
	// fault: partition, isolate, delay, heal) on the node.
	AdminRequest(ctx context.Context, req *pb.AdminRequest) (*pb.AdminResponse, error)
	// KV runs a put, get or delete on the node; req is not modified, so a
	// redirected write can be sent again as it is.
	KV(ctx context.Context, req *pb.KvRequest) (*pb.KvResponse, error)
	// Status asks the node for its status once. The dashboard's
	// ClusterClient asks it before it retries a write that may have been
	// applied (netlink's WriteRetryEntries bound).
	Status(ctx context.Context) (*pb.NodeStatus, error)
	// Err says why the connection ended, once its stream is closed.
	Err() error
	// Close releases the connection.
	Close() error
}

// Node is one member of the cluster as the cluster file names it.
type Node struct {
	// ID is the node's id, e.g. "n1".
	ID string
	// Addr is the host:port the dashboard dials.
	Addr string
}

// DialFunc opens a connection to node. It is only ever called inside a
// tea.Cmd; ctx bounds the dial and handshake, not the connection's life.
type DialFunc func(ctx context.Context, node Node) (NodeConn, error)

const (
	// dialTimeout bounds one connection attempt, so a black-holed address
	// turns into a DOWN card and a retry rather than a card stuck dialing.
	dialTimeout = 3 * time.Second
	// adminTimeout bounds one admin command (pause, partition, …).
	adminTimeout = 5 * time.Second
	// defaultKVTimeout bounds one put, get or delete, its retries included
	// (Options.KVTimeout); each try at one node has netlink's attempt
	// timeout (1s) within it.
	defaultKVTimeout = 5 * time.Second
	// minBackoff and maxBackoff bound the wait between reconnects: quick
	// enough to catch a restarted node, slow enough not to spin on a dead one.
	minBackoff = 500 * time.Millisecond
	maxBackoff = 5 * time.Second
	// maxBatch caps how many events one read of a stream hands to Update, so
	// a flooding node cannot starve the others or the frame tick.
	maxBatch = 1024
	// frameInterval is the tick that moves the election timers between status
	// updates; it matches the program's frame rate.
	frameInterval = time.Second / 15
)

// errConnLost is shown when a stream ends without the connection saying why.
var errConnLost = errors.New("connection lost")

// connectedMsg says a dial and its Watch succeeded.
type connectedMsg struct {
	// node is the index of the node in Model.nodes.
	node int
	// conn is the new connection.
	conn NodeConn
	// events is conn's watch stream.
	events <-chan *pb.WatchEvent
	// cancel ends the watch; called when the connection is dropped.
	cancel context.CancelFunc
}

// dialFailedMsg says a dial or its Watch failed.
type dialFailedMsg struct {
	// node is the index of the node in Model.nodes.
	node int
	// err is why, shown on the DOWN card.
	err error
}

// eventsMsg carries every event that was waiting on one node's stream.
type eventsMsg struct {
	// node is the index of the node in Model.nodes.
	node int
	// events are in stream order; may be empty when only closed is news.
	events []*pb.WatchEvent
	// closed says the stream ended after these events.
	closed bool
	// err is why the stream ended, when closed.
	err error
}

// retryMsg says a node's backoff is over and it should be dialled again.
type retryMsg struct {
	// node is the index of the node in Model.nodes.
	node int
}

// adminDoneMsg carries the answer to an admin command.
type adminDoneMsg struct {
	// node is the index of the node in Model.nodes.
	node int
	// req is the request that was sent.
	req *pb.AdminRequest
	// resp is the node's answer when err is nil.
	resp *pb.AdminResponse
	// err is a transport failure.
	err error
}

// kvDoneMsg carries how a put, get or delete ended.
type kvDoneMsg struct {
	// op is the operation.
	op kvOp
	// res is the result when err is nil.
	res netlink.Result
	// err is the failure, as ClusterClient reports it: it wraps
	// netlink.ErrRejected, ErrNoLeader or ErrUncertain (or none, for a
	// stale get), and the last attempt's netlink.AttemptError.
	err error
	// at is when the answer came, by the injected clock: op.start to at is
	// the latency shown.
	at time.Time
}

// tickMsg is the frame tick; it only makes the model read the clock again.
type tickMsg struct{}

// connectCmd dials node and starts its watch stream.
func connectCmd(dial DialFunc, idx int, node Node, interval time.Duration) tea.Cmd {
	return func() tea.Msg {
		dctx, cancelDial := context.WithTimeout(context.Background(), dialTimeout)
		conn, err := dial(dctx, node)
		cancelDial()
		if err != nil {
			return dialFailedMsg{node: idx, err: err}
		}
		wctx, cancel := context.WithCancel(context.Background())
		events, err := conn.Watch(wctx, interval)
		if err != nil {
			cancel()
			_ = conn.Close() // the watch error is the one worth showing
			return dialFailedMsg{node: idx, err: fmt.Errorf("watch: %w", err)}
		}
		return connectedMsg{node: idx, conn: conn, events: events, cancel: cancel}
	}
}

// waitEvents blocks for the next event on ch, then takes every event already
// queued behind it (up to maxBatch) so that a burst costs one Update, not one
// per event. The model re-arms it after each message, as long as the stream
// is open.
func waitEvents(idx int, conn NodeConn, ch <-chan *pb.WatchEvent) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsMsg{node: idx, closed: true, err: conn.Err()}
		}
		batch := []*pb.WatchEvent{ev}
		for len(batch) < maxBatch {
			select {
			case ev, ok := <-ch:
				if !ok {
					return eventsMsg{node: idx, events: batch, closed: true, err: conn.Err()}
				}
				batch = append(batch, ev)
			default:
				return eventsMsg{node: idx, events: batch}
			}
		}
		return eventsMsg{node: idx, events: batch}
	}
}

// retryCmd fires a retryMsg for node after d.
func retryCmd(idx int, d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return retryMsg{node: idx} })
}

// adminCmd sends req to a node over its connection.
func adminCmd(idx int, conn NodeConn, req *pb.AdminRequest) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		resp, err := conn.AdminRequest(ctx, req)
		return adminDoneMsg{node: idx, req: req, resp: resp, err: err}
	}
}

// kvCmd runs op through the dashboard's ClusterClient, starting at the node
// op.first, and reports how it ended.
func kvCmd(kv *netlink.ClusterClient, op kvOp, now func() time.Time) tea.Cmd {
	return func() tea.Msg {
		kv.HintLeader(op.first)
		ctx := context.Background() // the client's Timeout bounds the call
		var res netlink.Result
		var err error
		switch op.req.GetOpType() {
		case pb.KvRequest_PUT:
			res, err = kv.Put(ctx, op.req.GetKey(), op.req.GetValue())
		case pb.KvRequest_DELETE:
			res, err = kv.Delete(ctx, op.req.GetKey())
		default:
			res, err = kv.Get(ctx, op.req.GetKey(), false)
		}
		return kvDoneMsg{op: op, res: res, err: err, at: now()}
	}
}

// staleGetCmd asks op.first, over its connection conn, for its own copy of
// a key: one request, never retried on another node. Its answer is sorted
// by netlink.CodeOutcome, as ClusterClient sorts answers.
func staleGetCmd(conn NodeConn, op kvOp, timeout time.Duration, now func() time.Time) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		resp, err := conn.KV(ctx, op.req)
		msg := kvDoneMsg{op: op, at: now()}
		switch {
		case err != nil:
			msg.err = fmt.Errorf("%s: %w", op.first, &netlink.AttemptError{Node: op.first, Err: err})
		case netlink.CodeOutcome(resp.GetCode()) != netlink.Served:
			msg.err = fmt.Errorf("%s: %w", op.first, &netlink.AttemptError{Node: op.first, Resp: resp})
		default:
			msg.res = netlink.Result{
				Value: resp.GetValue(), Found: resp.GetCode() == pb.ErrorCode_OK && resp.GetFound(),
				NodeID: op.first, Index: resp.GetIndex(), Attempts: 1, Asked: []string{op.first},
			}
		}
		return msg
	}
}

// connTable holds the dashboard's open connections by node id, for its
// ClusterClient: the client "dials" by taking a node's watch connection
// from it, so KV calls open no sockets of their own and a recording sees
// the same connections as before.
type connTable struct {
	mu    sync.Mutex
	conns map[string]NodeConn // the open connection of each connected node
}

// set records conn as node id's connection; nil removes it.
func (t *connTable) set(id string, conn NodeConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if conn == nil {
		delete(t.conns, id)
		return
	}
	if t.conns == nil {
		t.conns = map[string]NodeConn{}
	}
	t.conns[id] = conn
}

// get is node id's connection, nil when it has none.
func (t *connTable) get(id string) NodeConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conns[id]
}

// dial is the ClusterClient's Config.Dial: the node's current connection,
// or errNotConnected.
func (t *connTable) dial(_ context.Context, node netlink.NodeAddr) (netlink.KVConn, error) {
	c := t.get(node.ID)
	if c == nil {
		return nil, errNotConnected
	}
	return &sharedConn{table: t, id: node.ID, NodeConn: c}, nil
}

// sharedConn lends a node's watch connection to the ClusterClient. Its
// Close does nothing (the model owns the connection), and it reports itself
// broken once the model dropped or replaced the connection, so the client
// takes the new one.
type sharedConn struct {
	NodeConn
	table *connTable // where the model keeps its connections
	id    string     // the node's id
}

var _ netlink.KVConn = (*sharedConn)(nil)

// Err is errNotConnected once the model no longer holds this connection,
// else the connection's own Err.
func (c *sharedConn) Err() error {
	if c.table.get(c.id) != c.NodeConn {
		return errNotConnected
	}
	return c.NodeConn.Err()
}

// Close does nothing: the connection is the model's.
func (c *sharedConn) Close() error { return nil }

// closeCmd ends a watch and closes its connection after the stream died.
func closeCmd(conn NodeConn, cancel context.CancelFunc) tea.Cmd {
	return func() tea.Msg {
		cancel()
		_ = conn.Close() // the connection is already gone; its close error says nothing new
		return nil
	}
}

// tickCmd schedules the next frame tick.
func tickCmd() tea.Cmd {
	return tea.Tick(frameInterval, func(time.Time) tea.Msg { return tickMsg{} })
}

// backoff is the wait before reconnect attempt number failures+1: it doubles
// from minBackoff up to maxBackoff.
func backoff(failures int) time.Duration {
	d := minBackoff
	for i := 1; i < failures && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}
