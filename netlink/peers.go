package netlink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/easykv/easykv/internal/stagetrace"
	"github.com/easykv/easykv/netlink/pb"
)

// PeersConfig configures Peers.
type PeersConfig struct {
	Identity                                 // ours (Kind PEER handshake)
	Addrs                  map[string]string // peer id → addr (excluding self)
	QueueSize              int               // per-peer bounded queue, 0 → 1024
	MinBackoff, MaxBackoff time.Duration     // reconnect backoff, 0 → 50ms / 2s (with jitter)
	Faults                 *Faults           // injected network faults; nil → none
	Logger                 *slog.Logger      // nil → discard
	Bytes                  *PeerBytes        // counts the bytes written to each peer; nil → none
}

const (
	defaultQueueSize  = 1024
	defaultMinBackoff = 50 * time.Millisecond
	defaultMaxBackoff = 2 * time.Second
	// peerWriteBuffer lets a burst of appends go out in few syscalls.
	peerWriteBuffer = 64 << 10
)

// Peers keeps one outbound connection per peer and sends Raft messages on
// it. Messages queued while a peer is unreachable are kept, up to QueueSize,
// and sent oldest first once the link is up: Raft discards the stale ones by
// term and index, and Send reports a full queue so the caller can see a peer
// is not draining. The set of peers changes with the cluster's
// configuration (SetAddrs).
type Peers struct {
	log     *slog.Logger       // never nil
	faults  *Faults            // injected faults; nil means none
	cfg     PeersConfig        // with defaults filled in; Addrs is unused after NewPeers
	ctx     context.Context    // cancelled by Close; every link's context derives from it
	cancel  context.CancelFunc // cancels ctx
	wg      sync.WaitGroup     // one per link goroutine; Add under mu
	dropped atomic.Uint64      // messages refused by Send or too large to send

	mu     sync.RWMutex     // guards the fields below
	links  map[string]*link // by peer id
	closed bool             // Close was called: no link starts any more
}

// link is the connection to one peer.
type link struct {
	p         *Peers             // owner
	id        string             // peer id
	addr      string             // peer address
	self      Identity           // our handshake
	queue     chan queued        // messages waiting to be written
	connected atomic.Bool        // handshake done and no error since
	min, max  time.Duration      // reconnect backoff bounds
	stop      context.CancelFunc // ends run; its queue is then dropped with the link
	done      chan struct{}      // closed when run has returned
}

// queued is a message waiting in a link's queue.
type queued struct {
	m         *pb.RaftKvMessage // the message
	notBefore time.Time         // an injected delay holds it until then; zero when none
}

// NewPeers starts one goroutine per peer that dials it, handshakes and then
// writes its queued messages; Close stops them.
func NewPeers(cfg PeersConfig) *Peers {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = defaultQueueSize
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = defaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = defaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Peers{log: log, faults: cfg.Faults, cfg: cfg, links: make(map[string]*link), ctx: ctx, cancel: cancel}
	p.SetAddrs(cfg.Addrs)
	return p
}

// SetAddrs makes addrs (peer id → address; our own id is skipped) the
// peers: once it returns, Send reaches exactly these. A new id gets a link;
// a link whose id is gone, or whose address changed, is stopped, and the
// messages in its queue are dropped (a changed address gets a fresh link).
// Stopped links end without being waited for: their goroutines only need
// their context's end to return. The ids are also the ones the faults
// may isolate. After Close it does nothing.
func (p *Peers) SetAddrs(addrs map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	for id, l := range p.links {
		if addr, ok := addrs[id]; !ok || addr != l.addr {
			l.stop()
			delete(p.links, id)
			p.log.Info("peer link stopped", "peer", id, "addr", l.addr)
		}
	}
	for id, addr := range addrs {
		if id == p.cfg.NodeID || p.links[id] != nil {
			continue
		}
		p.links[id] = p.startLink(id, addr)
	}
	if p.faults != nil {
		p.faults.SetPeers(slices.Collect(maps.Keys(addrs)))
	}
}

// startLink starts the goroutine of a new link to peer id at addr; p.mu
// held, so that Close cannot miss it.
func (p *Peers) startLink(id, addr string) *link {
	ctx, stop := context.WithCancel(p.ctx)
	l := &link{
		p:     p,
		id:    id,
		addr:  addr,
		self:  p.cfg.Identity,
		queue: make(chan queued, p.cfg.QueueSize),
		min:   p.cfg.MinBackoff,
		max:   p.cfg.MaxBackoff,
		stop:  stop,
		done:  make(chan struct{}),
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(l.done)
		defer stop()
		l.run(ctx)
	}()
	return l
}

// link is the current link to peer id, nil when there is none.
func (p *Peers) link(id string) *link {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.links[id]
}

// Send queues m for peer to. It never blocks: it returns false when the
// queue is full, the peer is unknown, an injected fault cuts it off, or
// Peers is closed. Under an injected delay the message is queued at once and
// written once the delay has passed, after the messages queued before it.
// m must not be modified afterwards; Send does not modify it either, so the
// caller should set m.To (the receiver checks it) while NodeId may stay
// empty (the receiver fills in the handshaken id).
func (p *Peers) Send(to string, m *pb.RaftKvMessage) bool {
	l := p.link(to)
	if l == nil || p.ctx.Err() != nil {
		p.dropped.Add(1)
		p.log.Debug("dropped message", "peer", to, "type", m.GetType().String(), "reason", "unknown peer or closed")
		return false
	}
	if p.faults.Blocked(to) {
		p.dropped.Add(1)
		p.log.Debug("dropped message", "peer", to, "type", m.GetType().String(), "reason", "network fault")
		return false
	}
	q := queued{m: m}
	if d := p.faults.Delay(to); d > 0 {
		q.notBefore = time.Now().Add(d)
	}
	select {
	case l.queue <- q:
		return true
	default:
		p.dropped.Add(1)
		p.log.Debug("dropped message", "peer", to, "type", m.GetType().String(), "reason", "queue full")
		return false
	}
}

// Connected reports whether the link to id is up (handshake done).
func (p *Peers) Connected(id string) bool {
	l := p.link(id)
	return l != nil && l.connected.Load()
}

// Dropped is the number of messages dropped so far: refused by Send, or
// dropped by a link because they were too large to send or a fault cut the
// peer off while they waited.
func (p *Peers) Dropped() uint64 {
	return p.dropped.Load()
}

// Close stops all links, closes their connections and waits for them.
func (p *Peers) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
}

// run connects, streams and reconnects with jittered exponential backoff
// until ctx ends.
func (l *link) run(ctx context.Context) {
	log := l.p.log.With("peer", l.id, "addr", l.addr)
	backoff := l.min
	quiet := false // the last failure was logged already; log repeats at debug level
	for {
		conn, br, err := l.connect(ctx)
		if err == nil {
			l.connected.Store(true)
			log.Info("peer connected")
			err = l.stream(ctx, conn, br)
			l.connected.Store(false)
			backoff, quiet = l.min, false
		}
		if ctx.Err() != nil {
			return
		}
		if quiet {
			log.Debug("peer link down", "err", err, "retry_in", backoff)
		} else {
			log.Warn("peer link down", "err", err, "retry_in", backoff)
			quiet = true
		}
		if !sleepUnless(ctx, nil, jitter(backoff)) {
			return
		}
		backoff = min(2*backoff, l.max)
	}
}

// connect dials the peer and completes the handshake.
func (l *link) connect(ctx context.Context) (net.Conn, *bufio.Reader, error) {
	d := net.Dialer{Timeout: defaultHandshakeTimeout}
	conn, err := d.DialContext(ctx, "tcp", l.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("dial: %w", err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	// Closing the connection when ctx ends unblocks the handshake.
	raw := conn
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	conn.SetDeadline(time.Now().Add(defaultHandshakeTimeout))
	if conn, err = startTLS(ctx, conn, l.addr, l.self); err != nil {
		raw.Close()
		return nil, nil, err
	}
	br := bufio.NewReaderSize(conn, 512)
	peer, err := handshake(conn, br, l.self, pb.Handshake_PEER)
	if err == nil && peer != l.id {
		err = fmt.Errorf("%s answers as node %q, want %q", l.addr, peer, l.id)
	}
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("handshake: %w", err)
	}
	conn.SetDeadline(time.Time{})
	return conn, br, nil
}

// stream writes queued messages to conn until an error, the peer closing
// the connection, or ctx ending. It closes conn before returning.
func (l *link) stream(ctx context.Context, conn net.Conn, br *bufio.Reader) error {
	// The peer never writes after its handshake response: reading only
	// detects that it closed the connection.
	var rerr error
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		if _, rerr = io.Copy(io.Discard, br); rerr == nil {
			rerr = io.EOF
		}
	}()
	// Closing the connection when ctx ends unblocks a write in progress.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	err := l.writeLoop(ctx, conn, readerDone)
	stop()
	conn.Close()
	<-readerDone
	if err == nil {
		err = fmt.Errorf("peer closed the connection: %w", rerr)
	}
	return err
}

// writeLoop writes a message and whatever else is queued, then flushes:
// writes coalesce under load and go out at once when idle. A message held
// by an injected delay is waited for in queue order, after flushing what
// came before it. It returns nil when readerDone closes first.
func (l *link) writeLoop(ctx context.Context, conn net.Conn, readerDone <-chan struct{}) error {
	bw := bufio.NewWriterSize(l.p.cfg.Bytes.sentTo(l.id, conn), peerWriteBuffer)
	for {
		var q queued
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-readerDone:
			return nil
		case q = <-l.queue:
		}
		conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		var flushed uint64 // the last entry index in the batch, for stagetrace
		// Only this goroutine receives from the queue, so a non-empty queue
		// never blocks; the batch is bounded so a busy link still flushes.
		for n := cap(l.queue); ; n-- {
			if !q.notBefore.IsZero() {
				if wait := time.Until(q.notBefore); wait > 0 {
					if err := bw.Flush(); err != nil {
						return fmt.Errorf("write: %w", err)
					}
					if !sleepUnless(ctx, readerDone, wait) {
						return ctx.Err() // nil when the peer closed the connection
					}
					conn.SetWriteDeadline(time.Now().Add(writeTimeout))
				}
			}
			if err := l.write(bw, q.m); err != nil {
				return err
			}
			flushed = max(flushed, lastEntryIndex(q.m))
			if n > 0 && len(l.queue) == 0 {
				// The Raft loop hands out a Ready's messages in a burst:
				// let it finish before flushing.
				runtime.Gosched()
			}
			if n == 0 || len(l.queue) == 0 {
				break
			}
			q = <-l.queue
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		stagetrace.Watermark(stagetrace.PeerFlushed, l.self.NodeID, flushed)
	}
}

// lastEntryIndex is the index of the last entry m carries, 0 for none.
func lastEntryIndex(m *pb.RaftKvMessage) uint64 {
	es := m.GetAppendEntriesRequest().GetEntries()
	if len(es) == 0 {
		return 0
	}
	return uint64(es[len(es)-1].GetIndex())
}

// sleepUnless waits d; it reports false when ctx ends or stop (when not nil)
// closes first: the peer closed the connection while a delayed message
// waited.
func sleepUnless(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	}
}

// write buffers one message. A message too large for any reader is dropped
// (nothing was written, the connection stays usable) rather than sent to
// make the peer close the link. So is a message to a peer that a fault cut
// off while it waited in the queue.
func (l *link) write(bw *bufio.Writer, m *pb.RaftKvMessage) error {
	if l.p.faults.Blocked(l.id) {
		l.p.dropped.Add(1)
		l.p.log.Debug("dropped message", "peer", l.id, "type", m.GetType().String(), "reason", "network fault")
		return nil
	}
	err := WriteFrame(bw, m)
	if errors.Is(err, ErrFrameTooLarge) {
		l.p.dropped.Add(1)
		l.p.log.Warn("dropped message", "peer", l.id, "type", m.GetType().String(), "reason", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// jitter spreads d over [d/2, d] so that nodes restarted together do not
// redial in lockstep.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}
