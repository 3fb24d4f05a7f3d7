package netlink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/easykv/easykv/internal/stagetrace"
	"github.com/easykv/easykv/netlink/pb"
)

var (
	// ErrClosed is Client.Err after Client.Close.
	ErrClosed = errors.New("client closed")
	// ErrWatching is returned by Client.Watch while a watch is running.
	ErrWatching = errors.New("a watch is already running on this client")
	// ErrShared is returned by Watch on a Client from a ClientPool: a
	// node runs one watch per connection.
	ErrShared = errors.New("watch needs a connection of its own, not one from a pool")
)

// watchBuffer is how many events a watch holds for a slow consumer before
// dropping new ones; the reader never blocks on a watch, so calls on the same
// connection keep working.
const watchBuffer = 256

// Client is one CLIENT connection to one node, or, from a ClientPool, a
// share of one. Its methods may be called from several goroutines at once;
// requests are paired with answers by request_id, so they run concurrently
// on the one connection.
type Client struct {
	*connection // the connection, shared with other Clients of a ClientPool
	// pooled is the pool's entry for the connection; nil when this Client
	// owns it.
	pooled *pooledConn
	closed atomic.Bool // Close was called on this share of a pooled connection
}

// connection is one CLIENT connection and what its calls share.
type connection struct {
	conn   net.Conn // the connection
	addr   string   // the node's address, for errors
	nodeID string   // the node's id, from its handshake response

	wmu sync.Mutex    // serializes writes
	bw  *bufio.Writer // guarded by wmu
	// writers counts the calls waiting for wmu: while there are some, a
	// writer leaves its frame in bw for the last of them to flush, so
	// that concurrent calls share a write to the connection.
	writers atomic.Int32

	mu      sync.Mutex                        // guards the fields below
	nextID  uint64                            // last request_id used
	pending map[uint64]chan *pb.RaftKvMessage // calls waiting for an answer
	watch   *clientWatch                      // the running watch, nil when none
	backup  *clientBackup                     // the running Backup, nil when none
	err     error                             // why the connection ended, nil while alive

	done chan struct{} // closed when the reader goroutine ends
}

// clientWatch is a running Watch.
type clientWatch struct {
	id uint64              // request_id of its WATCH_REQUEST
	ch chan *pb.WatchEvent // to the caller; closed under Client.mu
}

// dialError words a failed dial of addr once: the net package's own error
// names the address already ("dial tcp 127.0.0.1:7701: connect: connection
// refused"), unless the name could not be resolved.
func dialError(addr string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Addr != nil {
		return err
	}
	return fmt.Errorf("dial %s: %w", addr, err)
}

// Dial connects to addr and completes a CLIENT handshake as id, within ctx.
// A refusal is ErrRefused wrapped with the node's reason.
func Dial(ctx context.Context, addr string, id Identity) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, dialError(addr, err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	deadline := time.Now().Add(defaultHandshakeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	// A cancelled ctx expires the deadline, which unblocks the handshake.
	// Registered after SetDeadline above, so that it cannot be undone by it.
	raw := conn
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	conn, err = startTLS(ctx, conn, addr, id)
	if err != nil {
		stop()
		raw.Close()
		return nil, err
	}
	br := bufio.NewReader(conn)
	nodeID, err := handshake(conn, br, id, pb.Handshake_CLIENT)
	if id.TLS == nil {
		err = closedInHandshake(err)
	}
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Report the context's end rather than the connection deadline it
		// caused; the deadline may fire just before ctx's own timer.
		if ctx.Err() != nil {
			err = ctx.Err()
		} else if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			err = context.DeadlineExceeded
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	conn.SetDeadline(time.Time{})
	c := &Client{connection: &connection{
		conn:    conn,
		addr:    addr,
		nodeID:  nodeID,
		bw:      bufio.NewWriter(conn),
		pending: make(map[uint64]chan *pb.RaftKvMessage),
		done:    make(chan struct{}),
	}}
	go c.readLoop(br)
	return c, nil
}

// NodeID is the id the node gave in its handshake response.
func (c *Client) NodeID() string { return c.nodeID }

// Status asks the node for its current status.
func (c *Client) Status(ctx context.Context) (*pb.NodeStatus, error) {
	resp, err := c.call(ctx, &pb.RaftKvMessage{
		Type:          pb.RaftKvMessage_STATUS_REQUEST,
		StatusRequest: &pb.StatusRequest{},
	}, pb.RaftKvMessage_STATUS_RESPONSE)
	if err != nil {
		return nil, err
	}
	if resp.GetStatus() == nil {
		return nil, fmt.Errorf("status from %s: empty response", c.addr)
	}
	return resp.GetStatus(), nil
}

// Admin runs an admin command that takes no arguments (pause, resume,
// partition, heal) on the node.
func (c *Client) Admin(ctx context.Context, cmd pb.AdminCommand) (*pb.AdminResponse, error) {
	return c.AdminRequest(ctx, &pb.AdminRequest{Command: cmd})
}

// KV runs a put, get or delete on the node. req is not modified.
func (c *Client) KV(ctx context.Context, req *pb.KvRequest) (*pb.KvResponse, error) {
	key := stagetrace.Key(req.GetClientId(), req.GetSequence())
	stagetrace.Request(stagetrace.ClientStart, "", key)
	resp, err := c.call(ctx, &pb.RaftKvMessage{
		Type:      pb.RaftKvMessage_KV_REQUEST,
		KvRequest: req,
	}, pb.RaftKvMessage_KV_RESPONSE)
	stagetrace.Request(stagetrace.ClientDone, "", key)
	if err != nil {
		return nil, err
	}
	if resp.GetKvResponse() == nil {
		return nil, fmt.Errorf("kv on %s: empty response", c.addr)
	}
	return resp.GetKvResponse(), nil
}

// Watch starts the node's event stream: its role/term/vote/leader events
// and a STATUS event every statusInterval (0 → the node's default of 100ms;
// the node clamps it to [20ms, 10s]). The channel is closed when ctx is done
// or the connection is lost; a consumer that falls 256 events behind loses
// the newest ones. Only one watch runs per Client at a time; once ctx is
// done another may start, and the node switches to it. A Client from a
// ClientPool cannot watch (ErrShared).
func (c *Client) Watch(ctx context.Context, statusInterval time.Duration) (<-chan *pb.WatchEvent, error) {
	if c.pooled != nil {
		return nil, ErrShared
	}
	ms := statusInterval.Milliseconds()
	if statusInterval > 0 && ms == 0 {
		ms = 1
	}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	if c.watch != nil {
		c.mu.Unlock()
		return nil, ErrWatching
	}
	c.nextID++
	w := &clientWatch{id: c.nextID, ch: make(chan *pb.WatchEvent, watchBuffer)}
	c.watch = w
	c.mu.Unlock()

	err := c.write(&pb.RaftKvMessage{
		Type:         pb.RaftKvMessage_WATCH_REQUEST,
		RequestId:    w.id,
		WatchRequest: &pb.WatchRequest{StatusIntervalMs: ms},
	})
	if err != nil {
		c.endWatch(w)
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
			c.endWatch(w)
		case <-c.done:
		}
	}()
	return w.ch, nil
}

// Err says why the connection ended, or ErrClosed once this Client is
// closed; nil while it is alive.
func (c *Client) Err() error {
	if c.closed.Load() {
		return ErrClosed
	}
	return c.failure()
}

// Close closes the connection: calls in flight fail, the watch channel
// closes. It waits for the reader goroutine. A Client from a ClientPool
// gives back its share instead; the connection closes with the last one.
func (c *Client) Close() error {
	if c.pooled != nil {
		if c.closed.CompareAndSwap(false, true) {
			return c.pooled.release()
		}
		return nil
	}
	return c.close()
}

// failure says why the connection ended; nil while it is alive.
func (c *connection) failure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// close ends the connection and waits for its reader.
func (c *connection) close() error {
	c.mu.Lock()
	if c.err == nil {
		c.err = ErrClosed
	}
	c.mu.Unlock()
	err := c.conn.Close()
	<-c.done
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// call sends m with a fresh request_id and waits for the answer of type want.
func (c *Client) call(ctx context.Context, m *pb.RaftKvMessage, want pb.RaftKvMessage_MessageType) (*pb.RaftKvMessage, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	ch := make(chan *pb.RaftKvMessage, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.nextID++
	m.RequestId = c.nextID
	c.pending[m.RequestId] = ch
	c.mu.Unlock()

	if err := c.write(m); err != nil {
		c.forget(m.RequestId)
		return nil, err
	}
	var resp *pb.RaftKvMessage
	select {
	case resp = <-ch:
	case <-ctx.Done():
		c.forget(m.RequestId)
		return nil, ctx.Err()
	case <-c.done:
		// The answer may have arrived just before the connection ended.
		select {
		case resp = <-ch:
		default:
			return nil, c.Err()
		}
	}
	if resp.GetType() != want {
		return nil, fmt.Errorf("%s answered %v with %v", c.addr, m.GetType(), resp.GetType())
	}
	return resp, nil
}

// write sends one frame, or leaves it for the next writer in line to
// send with its own. A failed write may have left half a frame on the
// wire, so it ends the connection; calls whose frames were left in the
// buffer then fail with it.
func (c *connection) write(m *pb.RaftKvMessage) error {
	c.writers.Add(1)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	last := c.writers.Add(-1) == 0
	c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	err := WriteFrame(c.bw, m)
	if req := m.GetKvRequest(); req != nil && err == nil {
		stagetrace.Request(stagetrace.ClientEncoded, "", stagetrace.Key(req.GetClientId(), req.GetSequence()))
	}
	if errors.Is(err, ErrFrameTooLarge) {
		if last {
			err = errors.Join(err, c.flushOrFail())
		}
		return err // this frame was not written; earlier ones may wait in bw
	}
	if err == nil && last {
		// Callers answered together call again together: let those that
		// are runnable queue behind us, and leave the flush to them.
		runtime.Gosched()
		if c.writers.Load() == 0 {
			err = c.bw.Flush()
		}
	}
	if err != nil {
		err = fmt.Errorf("write to %s: %w", c.addr, err)
		c.fail(err)
		return err
	}
	return nil
}

// flushOrFail flushes bw, ending the connection on failure; wmu held.
func (c *connection) flushOrFail() error {
	if err := c.bw.Flush(); err != nil {
		err = fmt.Errorf("write to %s: %w", c.addr, err)
		c.fail(err)
		return err
	}
	return nil
}

// forget drops a call that no longer waits for its answer.
func (c *connection) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// endWatch stops delivering to w and closes its channel, once.
func (c *connection) endWatch(w *clientWatch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch == w {
		c.watch = nil
		close(w.ch)
	}
}

// readLoop hands every frame to the call or watch it answers, until the
// connection ends.
func (c *connection) readLoop(br *bufio.Reader) {
	defer close(c.done)
	for {
		m := new(pb.RaftKvMessage)
		if err := ReadFrame(br, 0, m); err != nil {
			c.fail(fmt.Errorf("connection to %s lost: %w", c.addr, err))
			return
		}
		c.dispatch(m)
	}
}

// dispatch delivers m; answers to forgotten calls and events of an ended
// watch are dropped.
func (c *connection) dispatch(m *pb.RaftKvMessage) {
	c.mu.Lock()
	if b := c.backup; b != nil && b.id == m.GetRequestId() && m.GetBackupChunk() != nil {
		c.mu.Unlock()
		b.deliver(m.GetBackupChunk())
		return
	}
	defer c.mu.Unlock()
	if ch, ok := c.pending[m.GetRequestId()]; ok {
		delete(c.pending, m.GetRequestId())
		ch <- m // buffered, one answer per call
		return
	}
	w := c.watch
	if w == nil || w.id != m.GetRequestId() || m.GetType() != pb.RaftKvMessage_WATCH_EVENT || m.GetEvent() == nil {
		return
	}
	select {
	case w.ch <- m.GetEvent():
	default:
	}
}

// fail records why the connection ended (the first reason wins), closes it
// and the watch channel. Waiting calls see done close.
func (c *connection) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	if w := c.watch; w != nil {
		c.watch = nil
		close(w.ch)
	}
	clear(c.pending)
	c.mu.Unlock()
	c.conn.Close()
}
