package netlink

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink/pb"
)

// fakeHandler is a Handler whose methods are function fields; a nil field
// gets a harmless default.
type fakeHandler struct {
	stepPeer  func(m *pb.RaftKvMessage)
	status    func() *pb.NodeStatus
	subscribe func() (<-chan *pb.WatchEvent, func())
	admin     func(ctx context.Context, req *pb.AdminRequest) *pb.AdminResponse
	kv        func(ctx context.Context, req *pb.KvRequest) *pb.KvResponse
	backup    func(ctx context.Context) (Backup, error)
}

var _ Handler = (*fakeHandler)(nil)

func (h *fakeHandler) StepPeer(m *pb.RaftKvMessage) {
	if h.stepPeer != nil {
		h.stepPeer(m)
	}
}

func (h *fakeHandler) Status() *pb.NodeStatus {
	if h.status != nil {
		return h.status()
	}
	return &pb.NodeStatus{Id: "n1", Cluster: "demo"}
}

func (h *fakeHandler) Subscribe() (<-chan *pb.WatchEvent, func()) {
	if h.subscribe != nil {
		return h.subscribe()
	}
	return nil, func() {}
}

func (h *fakeHandler) Admin(ctx context.Context, req *pb.AdminRequest) *pb.AdminResponse {
	if h.admin != nil {
		return h.admin(ctx, req)
	}
	return &pb.AdminResponse{Ok: true}
}

// Backup runs backup; by default it refuses, naming no leader.
func (h *fakeHandler) Backup(ctx context.Context) (Backup, error) {
	if h.backup != nil {
		return h.backup(ctx)
	}
	return Backup{}, &NotLeaderError{}
}

// StartKV answers with kv, on a goroutine of its own, as a node answers
// once the operation is done.
func (h *fakeHandler) StartKV(ctx context.Context, req *pb.KvRequest, reply func(*pb.KvResponse)) {
	go func() {
		if h.kv != nil {
			reply(h.kv(ctx, req))
			return
		}
		reply(&pb.KvResponse{Success: true, RequestId: req.GetRequestId()})
	}()
}

// waitFor is how long a test waits for something that should happen at
// once; reaching it means the test failed.
const waitFor = 5 * time.Second

// logBuffer collects log output for assertions; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitLog waits until the log has a line containing every one of parts.
func (b *logBuffer) waitLog(t *testing.T, parts ...string) {
	t.Helper()
	testkit.Poll(t, waitFor, fmt.Sprintf("a log line with %q", parts), func() (bool, string) {
		log := b.String()
		for _, line := range strings.Split(log, "\n") {
			if containsAll(line, parts) {
				return true, ""
			}
		}
		return false, "log:\n" + log
	})
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func newTestLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// testServerConfig is node n1 of cluster demo, no token.
func testServerConfig() ServerConfig {
	return ServerConfig{Identity: Identity{Cluster: "demo", NodeID: "n1"}}
}

// listenLoopback opens a loopback listener; the server that serves it, or
// the caller, closes it.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// silentListener accepts connections on a loopback port and never answers
// them, like a node stuck before its handshake; each accepted connection
// arrives on the channel. The cleanup closes the listener.
func silentListener(t *testing.T) (addr string, accepted <-chan net.Conn) {
	t.Helper()
	ln := listenLoopback(t)
	t.Cleanup(func() { ln.Close() })
	conns := make(chan net.Conn, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	return ln.Addr().String(), conns
}

// startServer serves h on a fresh loopback port; the cleanup closes it and
// checks Serve returned nil.
func startServer(t *testing.T, cfg ServerConfig, h Handler) (*Server, string, *logBuffer) {
	t.Helper()
	ln := listenLoopback(t)
	srv, logs := serveOn(t, ln, cfg, h)
	return srv, ln.Addr().String(), logs
}

func serveOn(t *testing.T, ln net.Listener, cfg ServerConfig, h Handler) (*Server, *logBuffer) {
	t.Helper()
	var logs *logBuffer
	cfg.Logger, logs = newTestLogger()
	srv := NewServer(cfg, h)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v after Close, want nil", err)
		}
	})
	return srv, logs
}

// dial opens a Client to addr as easykv-test of cluster demo; the cleanup closes it.
func dial(t *testing.T, addr string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := Dial(ctx, addr, Identity{Cluster: "demo", NodeID: "easykv-test"})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawConn is a bare connection for speaking the protocol by hand.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

func (c *rawConn) send(t *testing.T, m *pb.RaftKvMessage) {
	t.Helper()
	if err := WriteFrame(c, m); err != nil {
		t.Fatalf("send %v: %v", m.GetType(), err)
	}
}

func (c *rawConn) recv(t *testing.T) *pb.RaftKvMessage {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitFor))
	m := new(pb.RaftKvMessage)
	if err := ReadFrame(c.br, 0, m); err != nil {
		t.Fatalf("recv: %v", err)
	}
	return m
}

// handshake sends hs and returns the node's answer.
func (c *rawConn) handshake(t *testing.T, hs *pb.Handshake) *pb.HandshakeResponse {
	t.Helper()
	c.send(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_HANDSHAKE, Handshake: hs})
	m := c.recv(t)
	if m.GetType() != pb.RaftKvMessage_HANDSHAKE_RESPONSE {
		t.Fatalf("answer to HANDSHAKE is %v", m.GetType())
	}
	return m.GetHandshakeResponse()
}

// waitClosed reads until the node closes the connection; it fails if the
// node sends a frame instead or keeps the connection open for waitFor.
func (c *rawConn) waitClosed(t *testing.T) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitFor))
	var m pb.RaftKvMessage
	err := ReadFrame(c.br, 0, &m)
	if err == nil {
		t.Fatalf("got a %v frame, want the connection closed", m.GetType())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", waitFor)
	}
	// EOF, or a reset when the node closed with our bytes unread.
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("read = %v, want the connection closed", err)
	}
}

func clientHandshake() *pb.Handshake {
	return &pb.Handshake{Cluster: "demo", NodeId: "raw-client", Kind: pb.Handshake_CLIENT}
}

// frameBytes is m as a frame.
func frameBytes(t *testing.T, m *pb.RaftKvMessage) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteFrame(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// recv takes a value from ch, failing the test after waitFor.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// drain reads ch until it is closed, failing the test after waitFor.
func drain[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("%s still open after %v", what, waitFor)
		}
	}
}

// TestMain fails the run if goroutines started by the tests outlive them:
// every Close must wait for what it started. Fuzzing is left alone: its
// workers keep goroutines of their own and must exit promptly.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 && !fuzzing() {
		deadline := time.Now().Add(waitFor)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			fmt.Fprintf(os.Stderr, "%d goroutines leaked (%d before the tests):\n%s\n", n-before, before, buf[:runtime.Stack(buf, true)])
			code = 1
		}
	}
	os.Exit(code)
}

// fuzzing reports whether this run is a fuzzing coordinator or worker.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}
