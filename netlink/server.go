package netlink

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/easykv/easykv/internal/stagetrace"
	"github.com/easykv/easykv/netlink/pb"
)

// Handler is what a Server serves: the node behind the listener. Its methods
// are called from many connection goroutines at once.
type Handler interface {
	// StepPeer takes a Raft message (VOTE_*, PRE_VOTE_*, APPEND_ENTRIES_*)
	// from an authenticated peer, with NodeId set to that peer. It must not
	// block for long: it holds up every later message from the same peer.
	StepPeer(m *pb.RaftKvMessage)
	// Status is the node's current state, for STATUS_RESPONSE and STATUS events.
	Status() *pb.NodeStatus
	// Subscribe streams role/term/vote/leader events, and MESSAGES events
	// counting Raft traffic, until cancel is called. The node drops events
	// for a subscriber that falls behind rather than blocking. Events may
	// be shared between subscribers: netlink never modifies them.
	Subscribe() (events <-chan *pb.WatchEvent, cancel func())
	// Admin runs an admin command: pause and resume, or a network or disk
	// fault (partition, isolate, delay, slow-disk, heal).
	Admin(ctx context.Context, req *pb.AdminRequest) *pb.AdminResponse
	// StartKV starts a client operation and returns without waiting for
	// it: it hands the answer to reply, once, from any goroutine, later or
	// before it returns. reply never blocks. StartKV may block while the
	// node is too busy to take the request, giving up when ctx, which is
	// cancelled when the client's connection closes, is done. Answering
	// through reply rather than by returning lets one connection carry
	// many operations without a goroutine each, and lets the answers the
	// node gives together leave in one write.
	StartKV(ctx context.Context, req *pb.KvRequest, reply func(*pb.KvResponse))
	// Backup takes a snapshot of the state machine for a client to save
	// (easykv-ctl snapshot save), on the leader only: another node returns
	// a *NotLeaderError. Backup.Write runs on the connection's goroutine.
	Backup(ctx context.Context) (Backup, error)
}

// ServerConfig configures a Server.
type ServerConfig struct {
	// Identity is this node's cluster, id and token. A PEER handshake is
	// accepted from any id but this node's own: members join with ids
	// that no file lists, and a joining node must accept whichever leader
	// adds it. Raft traffic from a node that is not a member is the
	// core's to ignore.
	Identity
	MaxFrameSize     int           // 0 → DefaultMaxFrameSize
	HandshakeTimeout time.Duration // 0 → 5s; a connection that sends no valid handshake in time is closed
	// PeerBytes, when set, counts the bytes read from each peer.
	PeerBytes *PeerBytes
	// TLS, when set, makes every connection TLS (tlsconf.Source.Server):
	// one that does not complete a TLS handshake is closed with a log line.
	TLS    *tls.Config
	Faults *Faults // injected network faults: Raft frames from a blocked peer are dropped; nil → none
	// PeerAddr, when set, is told the listen address a peer gave in its
	// handshake, before its messages are served: a node that joined
	// learns where to answer a leader that cluster.yaml does not list.
	PeerAddr func(id, addr string)
	Logger   *slog.Logger // nil → discard
}

const (
	defaultHandshakeTimeout = 5 * time.Second
	// handshakeMaxFrame bounds the first frame of a connection, which is
	// tiny, so that unauthenticated connections cannot make the server
	// allocate a full-size frame each.
	handshakeMaxFrame = 64 << 10
	// writeTimeout bounds one write or flush to a connection: a reader that
	// stopped reading is disconnected rather than holding goroutines forever.
	writeTimeout = 10 * time.Second
	// maxAcceptBackoff caps the wait after a failing Accept (e.g. EMFILE).
	maxAcceptBackoff = time.Second
	// peerReadBuffer is the read buffer of an authenticated peer
	// connection; see servePeer.
	peerReadBuffer = peerWriteBuffer
)

// Server accepts peer and client connections for one node.
type Server struct {
	cfg  ServerConfig  // with defaults filled in
	h    Handler       // the node
	log  *slog.Logger  // never nil
	done chan struct{} // closed by Close; ends Accept backoff waits

	mu        sync.Mutex                // guards the fields below
	closed    bool                      // Close was called
	listeners map[net.Listener]struct{} // listeners inside Serve
	conns     map[net.Conn]struct{}     // open connections
	wg        sync.WaitGroup            // one per connection goroutine; Add under mu
}

// NewServer returns a Server for h; call Serve to start accepting.
func NewServer(cfg ServerConfig, h Handler) *Server {
	if cfg.MaxFrameSize <= 0 {
		cfg.MaxFrameSize = DefaultMaxFrameSize
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = defaultHandshakeTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		cfg:       cfg,
		h:         h,
		log:       log,
		done:      make(chan struct{}),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[net.Conn]struct{}),
	}
}

// Serve accepts connections on ln until Close, then returns nil. It may be
// called for several listeners at once.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accept: %w", err)
			}
			// Out of file descriptors and the like: wait, then keep serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), maxAcceptBackoff)
			s.log.Warn("accept failed", "err", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return nil
			}
			continue
		}
		backoff = 0
		if !s.track(c) {
			c.Close()
			return nil
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.serveConn(c)
		}()
	}
}

// Close stops every Serve, closes all connections and waits for their
// goroutines (including Handler calls in flight, whose ctx is cancelled).
func (s *Server) Close() error {
	s.mu.Lock()
	var err error
	if !s.closed {
		s.closed = true
		close(s.done)
		for ln := range s.listeners {
			if e := ln.Close(); e != nil && !errors.Is(e, net.ErrClosed) && err == nil {
				err = e
			}
		}
		for c := range s.conns {
			c.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track registers c, unless the server is closing; wg.Add happens under the
// lock so that Close's Wait cannot miss it.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	c.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// serveConn runs one connection from handshake to close.
func (s *Server) serveConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	log := s.log.With("remote", c.RemoteAddr().String())
	if s.cfg.TLS != nil {
		tc := tls.Server(c, s.cfg.TLS)
		c.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
		if err := tc.Handshake(); err != nil {
			log.Warn("tls handshake failed", "reason", err)
			return
		}
		c.SetDeadline(time.Time{})
		c = tc
	}
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	hs, ok := s.handshake(c, br, bw, log)
	if !ok {
		return
	}
	log = log.With("kind", hs.GetKind().String(), "node_id", hs.GetNodeId())
	log.Debug("connection accepted")
	if hs.GetKind() == pb.Handshake_PEER {
		if s.cfg.PeerAddr != nil && hs.GetAddr() != "" {
			s.cfg.PeerAddr(hs.GetNodeId(), hs.GetAddr())
		}
		s.servePeer(br, hs.GetNodeId(), log)
		return
	}
	s.serveClient(c, br, bw, log)
}

// handshake reads and checks the first frame and answers it. It reports
// whether the connection may go on.
func (s *Server) handshake(c net.Conn, br *bufio.Reader, bw *bufio.Writer, log *slog.Logger) (*pb.Handshake, bool) {
	c.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	var m pb.RaftKvMessage
	if err := ReadFrame(br, handshakeMaxFrame, &m); err != nil {
		log.Warn("handshake failed", "reason", err)
		return nil, false
	}
	reason := s.checkHandshake(&m)
	resp := &pb.RaftKvMessage{
		Type:   pb.RaftKvMessage_HANDSHAKE_RESPONSE,
		NodeId: s.cfg.NodeID,
		HandshakeResponse: &pb.HandshakeResponse{
			Ok:     reason == "",
			Error:  reason,
			NodeId: s.cfg.NodeID,
		},
	}
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	err := WriteFrame(bw, resp)
	if err == nil {
		err = bw.Flush()
	}
	if reason != "" {
		log.Warn("handshake refused", "reason", reason,
			"kind", m.GetHandshake().GetKind().String(), "node_id", m.GetHandshake().GetNodeId())
		return nil, false
	}
	if err != nil {
		log.Warn("handshake failed", "reason", err)
		return nil, false
	}
	c.SetDeadline(time.Time{})
	return m.GetHandshake(), true
}

// checkHandshake returns why m is refused, or "" to accept it. The token is
// checked before the peer id so that a stranger learns nothing about this
// node. Any other id may connect as a peer: the configuration changes, and
// who is a member is the Raft core's business, not the listener's.
func (s *Server) checkHandshake(m *pb.RaftKvMessage) string {
	hs := m.GetHandshake()
	if m.GetType() != pb.RaftKvMessage_HANDSHAKE || hs == nil {
		return fmt.Sprintf("expected HANDSHAKE, got %v", m.GetType())
	}
	if hs.GetCluster() != s.cfg.Cluster {
		return fmt.Sprintf("wrong cluster %q, this node is in %q", hs.GetCluster(), s.cfg.Cluster)
	}
	if s.cfg.AuthToken != "" && !tokenMatches(s.cfg.AuthToken, hs.GetAuthToken()) {
		return "bad auth token"
	}
	switch hs.GetKind() {
	case pb.Handshake_PEER:
		switch id := hs.GetNodeId(); id {
		case "":
			return "peer without an id"
		case s.cfg.NodeID:
			return fmt.Sprintf("peer id %q is this node's own id", id)
		}
	case pb.Handshake_CLIENT:
	default:
		return fmt.Sprintf("unknown connection kind %d", hs.GetKind())
	}
	return ""
}

// servePeer feeds the Raft messages of an authenticated peer to the
// handler. Nothing is written back: answers travel on our own outbound
// connection to that peer. While an injected fault cuts the peer off, its
// messages are read and dropped quietly, and the connection stays open so
// that healing takes effect at once.
func (s *Server) servePeer(br *bufio.Reader, peer string, log *slog.Logger) {
	// A peer streams MsgApps of many entries: a buffer as large as its
	// link's write buffer takes them in few reads, and decodes most in
	// place. It wraps the handshake's reader, which may hold the first
	// bytes already.
	br = bufio.NewReaderSize(s.cfg.PeerBytes.receivedFrom(peer, br), peerReadBuffer)
	for {
		m := new(pb.RaftKvMessage)
		if err := ReadFrame(br, s.cfg.MaxFrameSize, m); err != nil {
			logConnEnd(log, err)
			return
		}
		if !isRaftType(m.GetType()) {
			log.Warn("closing connection", "reason", fmt.Sprintf("unexpected %v frame from a peer", m.GetType()))
			return
		}
		if m.NodeId == "" {
			m.NodeId = peer
		}
		if m.NodeId != peer || (m.To != "" && m.To != s.cfg.NodeID) {
			log.Warn("dropped peer message", "type", m.GetType().String(),
				"reason", fmt.Sprintf("from %q to %q on the connection of %q", m.NodeId, m.To, peer))
			continue
		}
		if s.cfg.Faults.Blocked(peer) {
			log.Debug("dropped peer message", "type", m.GetType().String(), "reason", "network fault")
			continue
		}
		stagetrace.Watermark(stagetrace.PeerRead, s.cfg.NodeID, lastEntryIndex(m))
		s.h.StepPeer(m)
	}
}

// isRaftType reports whether t is a message between Raft peers.
func isRaftType(t pb.RaftKvMessage_MessageType) bool {
	switch t {
	case pb.RaftKvMessage_VOTE_REQUEST, pb.RaftKvMessage_VOTE_RESPONSE,
		pb.RaftKvMessage_PRE_VOTE_REQUEST, pb.RaftKvMessage_PRE_VOTE_RESPONSE,
		pb.RaftKvMessage_APPEND_ENTRIES_REQUEST, pb.RaftKvMessage_APPEND_ENTRIES_RESPONSE,
		pb.RaftKvMessage_INSTALL_SNAPSHOT, pb.RaftKvMessage_INSTALL_SNAPSHOT_RESPONSE,
		pb.RaftKvMessage_TIMEOUT_NOW:
		return true
	}
	return false
}

// logConnEnd logs why a connection's reader stopped: quietly for a normal
// close, as a warning for a bad frame or a network error.
func logConnEnd(log *slog.Logger, err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		log.Debug("connection closed", "reason", err)
		return
	}
	log.Warn("closing connection", "reason", err)
}
