package netlink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink/pb"
)

// kvSeen is one KV request a fake node received.
type kvSeen struct {
	node string        // the node that received it
	req  *pb.KvRequest // as decoded from the wire
}

// kvLog records the KV requests of every fake node of a test, in arrival
// order.
type kvLog struct {
	mu   sync.Mutex
	seen []kvSeen
}

// add records req at node and returns how many requests node had before it.
func (l *kvLog) add(node string, req *pb.KvRequest) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.seen {
		if s.node == node {
			n++
		}
	}
	l.seen = append(l.seen, kvSeen{node: node, req: req})
	return n
}

func (l *kvLog) all() []kvSeen {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]kvSeen(nil), l.seen...)
}

// count is how many requests node received.
func (l *kvLog) count(node string) int {
	n := 0
	for _, s := range l.all() {
		if s.node == node {
			n++
		}
	}
	return n
}

// answerFunc is a fake node's KV behaviour; n counts the node's earlier
// requests and ctx ends when the client's connection does.
type answerFunc func(ctx context.Context, n int, req *pb.KvRequest) *pb.KvResponse

// startKVNode serves a fake node id whose KV requests are recorded in log
// and answered by answer.
func startKVNode(t *testing.T, id string, log *kvLog, answer answerFunc) NodeAddr {
	t.Helper()
	cfg := testServerConfig()
	cfg.NodeID = id
	return NodeAddr{ID: id, Addr: serveKV(t, cfg, log, answer)}
}

func serveKV(t *testing.T, cfg ServerConfig, log *kvLog, answer answerFunc) string {
	t.Helper()
	_, addr, _ := startServer(t, cfg, kvHandler(cfg.NodeID, log, answer))
	return addr
}

func kvHandler(id string, log *kvLog, answer answerFunc) *fakeHandler {
	return &fakeHandler{kv: func(ctx context.Context, req *pb.KvRequest) *pb.KvResponse {
		resp := answer(ctx, log.add(id, req), req)
		if resp.NodeId == "" {
			resp.NodeId = id
		}
		return resp
	}}
}

// downNode is a member whose address refuses connections.
func downNode(t *testing.T, id string) NodeAddr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return NodeAddr{ID: id, Addr: addr}
}

// newTestClusterClient opens a ClusterClient of cluster demo on nodes; the
// cleanup closes it.
func newTestClusterClient(t *testing.T, cfg ClusterConfig, nodes ...NodeAddr) *ClusterClient {
	t.Helper()
	cfg.Identity = Identity{Cluster: "demo", NodeID: "cluster-test"}
	cfg.Nodes = nodes
	c, err := NewClusterClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

// testCtx is a context that ends after d (waitFor when 0).
func testCtx(t *testing.T, d time.Duration) context.Context {
	if d == 0 {
		d = waitFor
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func answerCode(code pb.ErrorCode) answerFunc {
	return func(context.Context, int, *pb.KvRequest) *pb.KvResponse {
		return &pb.KvResponse{Code: code, Message: "fake " + code.String()}
	}
}

func redirectTo(leaderID, leaderAddr string) answerFunc {
	return func(context.Context, int, *pb.KvRequest) *pb.KvResponse {
		return &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: leaderID, LeaderAddr: leaderAddr}
	}
}

// memStore answers like a healthy leader over a map, as raftnode does:
// found says whether the key existed (before a write), a GET of a missing
// key is NOT_FOUND, and index counts requests.
type memStore struct {
	mu    sync.Mutex
	data  map[string]string
	index int64
}

func (s *memStore) answer(_ context.Context, _ int, req *pb.KvRequest) *pb.KvResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data == nil {
		s.data = make(map[string]string)
	}
	s.index++
	v, ok := s.data[req.GetKey()]
	resp := &pb.KvResponse{Success: true, Index: s.index, Value: v, Found: ok}
	switch req.GetOpType() {
	case pb.KvRequest_PUT:
		s.data[req.GetKey()] = req.GetValue()
		resp.Value = ""
	case pb.KvRequest_DELETE:
		delete(s.data, req.GetKey())
		resp.Value = ""
	case pb.KvRequest_GET:
		if !ok {
			resp.Success, resp.Code = false, pb.ErrorCode_NOT_FOUND
		}
	}
	return resp
}

func TestNewClusterClientConfig(t *testing.T) {
	n1 := NodeAddr{ID: "n1", Addr: "127.0.0.1:1"}
	tests := []struct {
		name  string
		nodes []NodeAddr
		want  string // part of the error
	}{
		{"no nodes", nil, "no nodes"},
		{"no address", []NodeAddr{{ID: "n1"}}, "id and address are required"},
		{"no id", []NodeAddr{{Addr: "127.0.0.1:1"}}, "id and address are required"},
		{"duplicate id", []NodeAddr{n1, {ID: "n1", Addr: "127.0.0.1:2"}}, `duplicate node id "n1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClusterClient(ClusterConfig{Nodes: tt.nodes})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
			if c != nil {
				t.Errorf("got a client with an error")
			}
		})
	}

	a := newTestClusterClient(t, ClusterConfig{}, n1)
	b := newTestClusterClient(t, ClusterConfig{}, n1)
	if a.ClientID() == 0 || a.ClientID() == b.ClientID() {
		t.Errorf("random client ids %x and %x: want two different non-zero ids", a.ClientID(), b.ClientID())
	}
	if c := newTestClusterClient(t, ClusterConfig{ClientID: 42}, n1); c.ClientID() != 42 {
		t.Errorf("ClientID() = %d, want the configured 42", c.ClientID())
	}
}

func TestClusterFollowsRedirect(t *testing.T) {
	tests := []struct {
		name string
		hint func(leader NodeAddr) answerFunc // n1's answer, naming the leader
	}{
		{"hint by id", func(l NodeAddr) answerFunc { return redirectTo(l.ID, "") }},
		{"hint by address", func(l NodeAddr) answerFunc { return redirectTo("", l.Addr) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &kvLog{}
			store := &memStore{}
			n3 := startKVNode(t, "n3", log, store.answer)
			n1 := startKVNode(t, "n1", log, tt.hint(n3))
			// Next in turn after n1: asking it instead of following the
			// hint fails the call.
			n2 := startKVNode(t, "n2", log, answerCode(pb.ErrorCode_BAD_REQUEST))
			c := newTestClusterClient(t, ClusterConfig{}, n1, n2, n3)
			ctx := testCtx(t, 0)

			res, err := c.Put(ctx, "k", "v")
			if err != nil {
				t.Fatal(err)
			}
			if want := (Result{NodeID: "n3", Index: 1, Attempts: 2, Asked: []string{"n1", "n3"}}); !reflect.DeepEqual(res, want) {
				t.Errorf("Put = %+v, want %+v", res, want)
			}
			if c.Leader() != "n3" {
				t.Errorf("Leader() = %q, want n3", c.Leader())
			}
			// The leader is remembered: the next call goes straight there.
			res, err = c.Get(ctx, "k", false)
			if err != nil {
				t.Fatal(err)
			}
			if want := (Result{Value: "v", Found: true, NodeID: "n3", Index: 2, Attempts: 1, Asked: []string{"n3"}}); !reflect.DeepEqual(res, want) {
				t.Errorf("Get = %+v, want %+v", res, want)
			}
			if log.count("n1") != 1 || log.count("n2") != 0 || log.count("n3") != 2 {
				t.Errorf("requests n1/n2/n3 = %d/%d/%d, want 1/0/2", log.count("n1"), log.count("n2"), log.count("n3"))
			}
		})
	}
}

func TestClusterSkipsDownNode(t *testing.T) {
	log := &kvLog{}
	store := &memStore{}
	n1 := downNode(t, "n1")
	n2 := startKVNode(t, "n2", log, store.answer)
	c := newTestClusterClient(t, ClusterConfig{}, n1, n2)
	ctx := testCtx(t, 0)

	res, err := c.Put(ctx, "k", "v")
	if err != nil {
		t.Fatal(err)
	}
	if res.NodeID != "n2" || res.Attempts != 2 || res.Found {
		t.Errorf("Put = %+v, want answered by n2 on the 2nd attempt, key new", res)
	}
	res, err = c.Put(ctx, "k", "v2")
	if err != nil || !res.Found || res.Attempts != 1 {
		t.Errorf("second Put = %+v, %v; want the key found existing, at once", res, err)
	}
	res, err = c.Delete(ctx, "k")
	if err != nil || !res.Found || res.Attempts != 1 {
		t.Errorf("Delete = %+v, %v; want found at once", res, err)
	}
	res, err = c.Delete(ctx, "k")
	if err != nil || res.Found {
		t.Errorf("second Delete = %+v, %v; want not found, no error", res, err)
	}
	res, err = c.Get(ctx, "k", false)
	if err != nil || res.Found || res.Value != "" || res.NodeID != "n2" {
		t.Errorf("Get of a deleted key = %+v, %v; want not found, no error", res, err)
	}
}

// TestClusterRetriesWithSameSession checks that every retry of a write
// carries the write's client id, sequence and request id unchanged.
func TestClusterRetriesWithSameSession(t *testing.T) {
	hang := func(ctx context.Context, _ int, _ *pb.KvRequest) *pb.KvResponse {
		<-ctx.Done() // until the client's connection closes
		return &pb.KvResponse{Code: pb.ErrorCode_UNAVAILABLE}
	}
	tests := []struct {
		name  string
		first answerFunc // n1's answer to its first request; later ones succeed
	}{
		{"TIMEOUT", answerCode(pb.ErrorCode_TIMEOUT)},
		{"UNAVAILABLE", answerCode(pb.ErrorCode_UNAVAILABLE)},
		{"PAUSED", answerCode(pb.ErrorCode_PAUSED)},
		{"no answer within the attempt timeout", hang},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &kvLog{}
			store := &memStore{}
			n1 := startKVNode(t, "n1", log, func(ctx context.Context, n int, req *pb.KvRequest) *pb.KvResponse {
				if n == 0 {
					return tt.first(ctx, n, req)
				}
				return store.answer(ctx, n, req)
			})
			n2 := startKVNode(t, "n2", log, redirectTo("n1", ""))
			c := newTestClusterClient(t, ClusterConfig{ClientID: 42, AttemptTimeout: 250 * time.Millisecond}, n1, n2)
			ctx := testCtx(t, 0)

			for wantSeq := uint64(1); wantSeq <= 2; wantSeq++ {
				before := len(log.all())
				res, err := c.Put(ctx, "k", fmt.Sprint(wantSeq))
				if err != nil {
					t.Fatalf("Put %d: %v", wantSeq, err)
				}
				seen := log.all()[before:]
				if res.Attempts != len(seen) || res.NodeID != "n1" {
					t.Errorf("Put %d = %+v, want answered by n1 after %d attempts", wantSeq, res, len(seen))
				}
				for _, s := range seen {
					r := s.req
					if r.GetClientId() != 42 || r.GetSequence() != wantSeq || r.GetRequestId() != seen[0].req.GetRequestId() {
						t.Errorf("Put %d: %s got client %d seq %d request %q; want 42, %d, %q",
							wantSeq, s.node, r.GetClientId(), r.GetSequence(), r.GetRequestId(), wantSeq, seen[0].req.GetRequestId())
					}
				}
			}
			if n := log.count("n1"); n != 3 {
				t.Errorf("n1 received %d requests, want 3 (one retried)", n)
			}
		})
	}
}

func TestClusterGivesUp(t *testing.T) {
	allNotLeader := func(t *testing.T, log *kvLog) []NodeAddr {
		return []NodeAddr{
			startKVNode(t, "n1", log, redirectTo("", "")),
			startKVNode(t, "n2", log, redirectTo("", "")),
			startKVNode(t, "n3", log, redirectTo("", "")),
		}
	}
	timeoutThenNotLeader := func(t *testing.T, log *kvLog) []NodeAddr {
		return []NodeAddr{
			startKVNode(t, "n1", log, func(ctx context.Context, n int, req *pb.KvRequest) *pb.KvResponse {
				if n == 0 {
					return answerCode(pb.ErrorCode_TIMEOUT)(ctx, n, req)
				}
				return redirectTo("", "")(ctx, n, req)
			}),
			startKVNode(t, "n2", log, redirectTo("", "")),
		}
	}
	allDown := func(t *testing.T, _ *kvLog) []NodeAddr {
		return []NodeAddr{downNode(t, "n1"), downNode(t, "n2")}
	}
	tests := []struct {
		name  string
		nodes func(t *testing.T, log *kvLog) []NodeAddr
		up    bool  // the nodes accept connections, so each must be asked
		write bool  // Put, else Get
		want  error // the sentinel the error matches; the other must not match
	}{
		{"write, all NOT_LEADER without hint", allNotLeader, true, true, ErrNoLeader},
		{"read, all NOT_LEADER without hint", allNotLeader, true, false, ErrNoLeader},
		{"write, all down", allDown, false, true, ErrNoLeader},
		// The first TIMEOUT may still be applied, whatever follows.
		{"write, TIMEOUT then NOT_LEADER", timeoutThenNotLeader, true, true, ErrUncertain},
		{"read, TIMEOUT then NOT_LEADER", timeoutThenNotLeader, true, false, ErrNoLeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &kvLog{}
			nodes := tt.nodes(t, log)
			// No deadline on ctx: Timeout applies.
			c := newTestClusterClient(t, ClusterConfig{Timeout: 300 * time.Millisecond}, nodes...)
			var err error
			if tt.write {
				_, err = c.Put(context.Background(), "k", "v")
			} else {
				_, err = c.Get(context.Background(), "k", false)
			}
			other := ErrUncertain
			if tt.want == ErrUncertain {
				other = ErrNoLeader
			}
			if !errors.Is(err, tt.want) || errors.Is(err, other) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want %v with the deadline, not %v", err, tt.want, other)
			}
			if !strings.Contains(err.Error(), "attempts; last: n") {
				t.Errorf("err = %q, want the attempt count and last error", err)
			}
			seen := log.all()
			for _, n := range nodes {
				if tt.up && log.count(n.ID) == 0 {
					t.Errorf("%s was never asked", n.ID)
				}
			}
			for _, s := range seen {
				if s.req.GetSequence() != seen[0].req.GetSequence() {
					t.Errorf("sequence changed between retries: %d then %d", seen[0].req.GetSequence(), s.req.GetSequence())
				}
			}
			if c.Leader() != "" {
				t.Errorf("Leader() = %q, want none", c.Leader())
			}
		})
	}
}

func TestClusterRejects(t *testing.T) {
	tests := []struct {
		name    string
		answer  answerFunc
		value   string
		want    string // part of the error
		wantErr error  // also matched, besides ErrRejected
		sent    int    // requests n1 receives
		unsure  bool   // the error also matches ErrUncertain
	}{
		{name: "BAD_REQUEST", answer: answerCode(pb.ErrorCode_BAD_REQUEST), want: "request rejected by n1: BAD_REQUEST: fake BAD_REQUEST", sent: 1},
		{name: "UNAUTHENTICATED", answer: answerCode(pb.ErrorCode_UNAUTHENTICATED), want: "UNAUTHENTICATED", sent: 1},
		{name: "unknown code", answer: answerCode(99), want: "unknown code 99", sent: 1, unsure: true},
		{name: "frame too large", value: strings.Repeat("x", DefaultMaxFrameSize+1), answer: answerCode(pb.ErrorCode_OK), want: "frame too large", wantErr: ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &kvLog{}
			store := &memStore{}
			n1 := startKVNode(t, "n1", log, tt.answer)
			n2 := startKVNode(t, "n2", log, store.answer) // would have succeeded
			c := newTestClusterClient(t, ClusterConfig{}, n1, n2)
			_, err := c.Put(testCtx(t, 0), "k", tt.value)
			if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrRejected with %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want it to match %v", err, tt.wantErr)
			}
			if errors.Is(err, ErrUncertain) != tt.unsure || errors.Is(err, ErrNoLeader) {
				t.Errorf("err = %v: ErrUncertain %v, want %v; never ErrNoLeader", err, errors.Is(err, ErrUncertain), tt.unsure)
			}
			if log.count("n1") != tt.sent || log.count("n2") != 0 {
				t.Errorf("n1 got %d requests, n2 %d; want %d and 0 (no retry)", log.count("n1"), log.count("n2"), tt.sent)
			}
		})
	}

	t.Run("handshake refused", func(t *testing.T) {
		log := &kvLog{}
		cfg := testServerConfig()
		cfg.AuthToken = "s3cret"
		n1 := NodeAddr{ID: "n1", Addr: serveKV(t, cfg, log, answerCode(pb.ErrorCode_OK))}
		c := newTestClusterClient(t, ClusterConfig{}, n1)
		_, err := c.Get(testCtx(t, 0), "k", false)
		if !errors.Is(err, ErrRejected) || !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "bad auth token") {
			t.Errorf("err = %v, want ErrRejected wrapping the refusal", err)
		}
	})

	t.Run("one node refuses, the others serve", func(t *testing.T) {
		log := &kvLog{}
		cfg := testServerConfig()
		cfg.NodeID, cfg.AuthToken = "n1", "another-token"
		n1 := NodeAddr{ID: "n1", Addr: serveKV(t, cfg, log, answerCode(pb.ErrorCode_OK))}
		n2 := startKVNode(t, "n2", log, answerCode(pb.ErrorCode_OK))
		c := newTestClusterClient(t, ClusterConfig{}, n1, n2)
		res, err := c.Put(testCtx(t, 0), "k", "v")
		if err != nil || res.NodeID != "n2" {
			t.Fatalf("Put = %+v, %v; want it served by n2 despite n1 refusing the handshake", res, err)
		}
	})
}

// TestClusterSerializesWrites runs Puts from many goroutines on one client:
// the nodes must see one write at a time, with sequences 1, 2, 3, ...
func TestClusterSerializesWrites(t *testing.T) {
	const workers, each = 8, 10
	log := &kvLog{}
	store := &memStore{}
	var inflight, overlaps atomic.Int32
	n1 := startKVNode(t, "n1", log, func(ctx context.Context, n int, req *pb.KvRequest) *pb.KvResponse {
		if inflight.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer inflight.Add(-1)
		return store.answer(ctx, n, req)
	})
	c := newTestClusterClient(t, ClusterConfig{}, n1)
	ctx := testCtx(t, 0)
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if _, err := c.Put(ctx, fmt.Sprintf("w%d", w), fmt.Sprint(i)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if overlaps.Load() != 0 {
		t.Errorf("%d writes overlapped another write of the same client", overlaps.Load())
	}
	seen := log.all()
	if len(seen) != workers*each {
		t.Fatalf("node received %d writes, want %d", len(seen), workers*each)
	}
	for i, s := range seen {
		if s.req.GetSequence() != uint64(i+1) || s.req.GetClientId() != c.ClientID() {
			t.Errorf("write %d: client %d seq %d, want %d and %d", i, s.req.GetClientId(), s.req.GetSequence(), c.ClientID(), i+1)
		}
	}
}

// TestClusterReadsDoNotWaitForWrites holds a write at the node and checks
// that a read on the same client still goes through.
func TestClusterReadsDoNotWaitForWrites(t *testing.T) {
	log := &kvLog{}
	store := &memStore{data: map[string]string{"k": "old"}}
	release := make(chan struct{})
	n1 := startKVNode(t, "n1", log, func(ctx context.Context, n int, req *pb.KvRequest) *pb.KvResponse {
		if req.GetOpType() == pb.KvRequest_PUT {
			<-release
		}
		return store.answer(ctx, n, req)
	})
	c := newTestClusterClient(t, ClusterConfig{AttemptTimeout: waitFor}, n1)
	ctx := testCtx(t, 0)
	put := make(chan error, 1)
	go func() {
		_, err := c.Put(ctx, "k", "new")
		put <- err
	}()
	testkit.Poll(t, waitFor, "the put to reach n1", func() (bool, string) {
		n := log.count("n1")
		return n == 1, fmt.Sprintf("n1 was asked %d times", n)
	})
	res, err := c.Get(ctx, "k", true)
	if err != nil || res.Value != "old" {
		t.Errorf("Get during a write = %+v, %v; want the old value", res, err)
	}
	if r := log.all()[1].req; r.GetOpType() != pb.KvRequest_GET || !r.GetStale() || r.GetSequence() != 0 {
		t.Errorf("read request = %v, want a stale GET without a sequence", r)
	}
	close(release)
	if err := recv(t, put, "the put"); err != nil {
		t.Errorf("Put: %v", err)
	}
}

// TestClusterStaleReadKeepsLeader checks that a stale answer, which any
// node may give, is not taken for a sign of leadership.
func TestClusterStaleReadKeepsLeader(t *testing.T) {
	log := &kvLog{}
	follower := &memStore{data: map[string]string{"k": "v"}}
	n1 := startKVNode(t, "n1", log, follower.answer)
	c := newTestClusterClient(t, ClusterConfig{}, n1)
	res, err := c.Get(testCtx(t, 0), "k", true)
	if err != nil || res.Value != "v" || !res.Found {
		t.Fatalf("stale Get = %+v, %v", res, err)
	}
	if c.Leader() != "" {
		t.Errorf("Leader() = %q after a stale read, want none", c.Leader())
	}
}

func TestClusterRedialsAfterConnectionLoss(t *testing.T) {
	log := &kvLog{}
	store := &memStore{}
	cfg := testServerConfig()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv, _ := serveOn(t, ln, cfg, kvHandler("n1", log, store.answer))
	c := newTestClusterClient(t, ClusterConfig{}, NodeAddr{ID: "n1", Addr: addr})
	ctx := testCtx(t, 0)
	if _, err := c.Put(ctx, "k", "1"); err != nil {
		t.Fatal(err)
	}

	// Restart the node on the same address: the old connection is gone.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	serveOn(t, ln2, cfg, kvHandler("n1", log, store.answer))
	res, err := c.Get(ctx, "k", false)
	if err != nil || res.Value != "1" {
		t.Errorf("Get after the restart = %+v, %v; want the value through a new connection", res, err)
	}
}

func TestClusterClose(t *testing.T) {
	log := &kvLog{}
	store := &memStore{}
	n1 := startKVNode(t, "n1", log, store.answer)
	c, err := NewClusterClient(ClusterConfig{Identity: Identity{Cluster: "demo"}, Nodes: []NodeAddr{n1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t, 0)
	if _, err := c.Put(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Put(ctx, "k", "v"); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if _, err := c.Get(ctx, "k", false); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if n := log.count("n1"); n != 1 {
		t.Errorf("n1 received %d requests, want 1", n)
	}
}

// TestClusterClientsSharePool: cluster clients given one pool share its
// connection to a node, each with its own session.
func TestClusterClientsSharePool(t *testing.T) {
	log := &kvLog{}
	store := &memStore{}
	n1 := startKVNode(t, "n1", log, store.answer)
	pool := NewClientPool(1)
	a := newTestClusterClient(t, ClusterConfig{Pool: pool}, n1)
	b := newTestClusterClient(t, ClusterConfig{Pool: pool}, n1)
	ctx := testCtx(t, 0)
	if _, err := a.Put(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(ctx, "b", "2"); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"a": "1", "b": "2"} {
		if res, err := b.Get(ctx, key, false); err != nil || res.Value != want {
			t.Fatalf("Get(%s) = %+v, %v; want %q", key, res, err, want)
		}
	}
	if a.ClientID() == b.ClientID() {
		t.Error("clients sharing a pool share a session id")
	}
	pool.mu.Lock()
	conns := len(pool.conns[poolKey{addr: n1.Addr, id: a.identity}])
	pool.mu.Unlock()
	if conns != 1 {
		t.Errorf("%d pooled connections to n1, want 1", conns)
	}
}

// fakeClock is a ClusterClient clock that moves only when told to.
type fakeClock struct{ ns atomic.Int64 }

func (f *fakeClock) now() time.Time          { return time.Unix(0, f.ns.Load()) }
func (f *fakeClock) advance(d time.Duration) { f.ns.Add(int64(d)) }

// startWindowNode serves a fake node n1 that answers KV requests with
// answer and status requests with status; each status request is counted
// in probes.
func startWindowNode(t *testing.T, log *kvLog, probes *atomic.Int64, answer answerFunc, status func(k int64) *pb.NodeStatus) NodeAddr {
	t.Helper()
	cfg := testServerConfig()
	h := kvHandler("n1", log, answer)
	h.status = func() *pb.NodeStatus { return status(probes.Add(1) - 1) }
	_, addr, _ := startServer(t, cfg, h)
	return NodeAddr{ID: "n1", Addr: addr}
}

// checkWindowStop checks err, the error of a write stopped by its retry
// window: it matches want and ErrRetryWindow, not the other kind, and ctx
// is still live.
func checkWindowStop(t *testing.T, ctx context.Context, err, want error) {
	t.Helper()
	other := ErrUncertain
	if want == ErrUncertain {
		other = ErrNoLeader
	}
	if !errors.Is(err, want) || errors.Is(err, other) || !errors.Is(err, ErrRetryWindow) {
		t.Fatalf("err = %v, want %v caused by ErrRetryWindow, not %v", err, want, other)
	}
	if ctx.Err() != nil {
		t.Fatalf("err = %v, ctx.Err() = %v: want the window to stop the write while ctx still allows more", err, ctx.Err())
	}
}

// TestClusterWriteStopsAtRetryWindow: a write whose attempts keep failing
// stops retrying once WriteRetryWindow has passed since its first attempt,
// although its ctx would allow more. Each request takes a third of the
// window on the client's fake clock, so the third attempt is the last.
// Every retry of a write that may have been applied is preceded by a status
// request (the WriteRetryEntries check); a write that cannot have been
// applied is retried without one, and fails ErrNoLeader.
func TestClusterWriteStopsAtRetryWindow(t *testing.T) {
	hang := func(ctx context.Context, _ int, _ *pb.KvRequest) *pb.KvResponse {
		<-ctx.Done() // the answer is lost: never sent before the connection closes
		return &pb.KvResponse{Code: pb.ErrorCode_UNAVAILABLE}
	}
	tests := []struct {
		name   string
		answer answerFunc
		want   error
		// exact: the node moves the clock before the client sees the
		// answer, so the count of attempts is exact. Without an answer,
		// the client may time an attempt out before the node moved the
		// clock for it, and make one more.
		exact bool
	}{
		{"answers TIMEOUT", answerCode(pb.ErrorCode_TIMEOUT), ErrUncertain, true},
		{"answers UNAVAILABLE", answerCode(pb.ErrorCode_UNAVAILABLE), ErrUncertain, true},
		{"answers lost", hang, ErrUncertain, false},
		{"NOT_LEADER without hint", redirectTo("", ""), ErrNoLeader, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &kvLog{}
			clock := &fakeClock{}
			var probes atomic.Int64
			n1 := startWindowNode(t, log, &probes, func(ctx context.Context, n int, req *pb.KvRequest) *pb.KvResponse {
				clock.advance(WriteRetryWindow / 3)
				return tt.answer(ctx, n, req)
			}, func(int64) *pb.NodeStatus {
				return &pb.NodeStatus{Id: "n1", CommitIndex: 7, LastIndex: 7} // the log does not move
			})
			c := newTestClusterClient(t, ClusterConfig{AttemptTimeout: 100 * time.Millisecond}, n1)
			c.now = clock.now
			ctx := testCtx(t, 0)

			_, err := c.Put(ctx, "k", "v")
			checkWindowStop(t, ctx, err, tt.want)
			seen := log.all()
			if n := len(seen); n < 3 || tt.exact && n != 3 {
				t.Errorf("n1 received %d requests, want 3 (at 0, 1/3 and 2/3 of the window)", n)
			}
			for _, s := range seen {
				if s.req.GetSequence() != 1 || s.req.GetRequestId() != seen[0].req.GetRequestId() {
					t.Errorf("retry with seq %d request %q, want 1 and %q", s.req.GetSequence(), s.req.GetRequestId(), seen[0].req.GetRequestId())
				}
			}
			wantProbes := int64(len(seen) - 1)
			if tt.want == ErrNoLeader {
				wantProbes = 0
			}
			if probes.Load() != wantProbes {
				t.Errorf("%d status requests for %d write requests, want %d", probes.Load(), len(seen), wantProbes)
			}
		})
	}
}

// TestClusterWriteStopsAtRetryEntries: a write whose answers keep getting
// lost stops retrying once the node it would retry at reports a log more
// than the entry window past the commit index of the first status answer,
// although its ctx and WriteRetryWindow would allow more.
func TestClusterWriteStopsAtRetryEntries(t *testing.T) {
	const window, step = 100, 50
	log := &kvLog{}
	var probes atomic.Int64
	n1 := startWindowNode(t, log, &probes, answerCode(pb.ErrorCode_TIMEOUT), func(k int64) *pb.NodeStatus {
		// The first answer's commit index, 1000, is the base; the log's
		// end is what is compared with it: 2, 50, 100 (at the window:
		// still retried), then 150 entries past it.
		commit := 1000 + k*step
		return &pb.NodeStatus{Id: "n1", CommitIndex: commit, LastIndex: commit + 2*(1-min(k, 1))}
	})
	c := newTestClusterClient(t, ClusterConfig{}, n1)
	c.retryEntries = window
	ctx := testCtx(t, 0)

	_, err := c.Put(ctx, "k", "v")
	checkWindowStop(t, ctx, err, ErrUncertain)
	if !strings.Contains(err.Error(), "150 entries past index 1000") || !strings.Contains(err.Error(), "after 4 attempts; last: n1: TIMEOUT") {
		t.Errorf("err = %q, want the log's distance from the base, the attempts and the last error", err)
	}
	if n, p := log.count("n1"), probes.Load(); n != 4 || p != 4 {
		t.Errorf("n1 received %d write requests and %d status requests, want 4 and 4 (no status before the first attempt; the 4th status stops the write)", n, p)
	}
}

// TestClusterReadsIgnoreRetryWindow: reads have no session, so the write
// retry window does not bound them: a read keeps retrying past it, until
// it succeeds or ctx ends, and asks for no status.
func TestClusterReadsIgnoreRetryWindow(t *testing.T) {
	log := &kvLog{}
	clock := &fakeClock{}
	store := &memStore{data: map[string]string{"k": "v"}}
	var probes atomic.Int64
	n1 := startWindowNode(t, log, &probes, func(ctx context.Context, n int, req *pb.KvRequest) *pb.KvResponse {
		clock.advance(WriteRetryWindow / 3)
		if n < 5 {
			return answerCode(pb.ErrorCode_TIMEOUT)(ctx, n, req)
		}
		return store.answer(ctx, n, req)
	}, func(int64) *pb.NodeStatus { return &pb.NodeStatus{Id: "n1"} })
	c := newTestClusterClient(t, ClusterConfig{}, n1)
	c.now = clock.now
	c.retryEntries = 0
	res, err := c.Get(testCtx(t, 0), "k", false)
	if err != nil || res.Value != "v" || res.Attempts != 6 {
		t.Fatalf("Get = %+v, %v; want v on the 6th attempt, twice the write retry window after the first", res, err)
	}
	if probes.Load() != 0 {
		t.Errorf("%d status requests for a read, want none", probes.Load())
	}
}

// TestSessionLifetimeIsKvmaps checks SessionLifetime against the state
// machine the nodes run: a retry SessionLifetime entries after its write is
// recognised, one entry later it is applied again.
func TestSessionLifetimeIsKvmaps(t *testing.T) {
	put := kvmap.Command{Op: kvmap.OpPut, Key: "k", Value: "v", ClientID: 42, Seq: 1}.Encode()
	for _, tt := range []struct {
		gap uint64 // log entries from the write to its retry
		dup bool   // the retry is recognised as one
	}{
		{SessionLifetime, true},
		{SessionLifetime + 1, false},
	} {
		m := kvmap.New(kvmap.Options{})
		if r := m.Apply(1, put); r.Err != nil || r.Duplicate {
			t.Fatalf("write = %+v, want applied", r)
		}
		if r := m.Apply(1+tt.gap, put); r.Err != nil || r.Duplicate != tt.dup {
			t.Errorf("retry %d entries later = %+v, want Duplicate %v", tt.gap, r, tt.dup)
		}
	}
	if WriteRetryEntries*10 > SessionLifetime {
		t.Errorf("WriteRetryEntries %d is over a tenth of SessionLifetime %d", WriteRetryEntries, SessionLifetime)
	}
}

// TestClusterLearnsNewLeader: the leader is a member added after the
// client's node list was written; n1 names it with its address, and the
// client adds it, follows it and keeps it.
func TestClusterLearnsNewLeader(t *testing.T) {
	log := &kvLog{}
	store := &memStore{}
	n4 := startKVNode(t, "n4", log, store.answer)
	n1 := startKVNode(t, "n1", log, redirectTo(n4.ID, n4.Addr))
	c := newTestClusterClient(t, ClusterConfig{}, n1)
	ctx := testCtx(t, 0)
	res, err := c.Put(ctx, "k", "v")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Asked, []string{"n1", "n4"}) || c.Leader() != "n4" {
		t.Errorf("asked %v, leader %q; want [n1 n4], n4", res.Asked, c.Leader())
	}
	if res, err := c.Get(ctx, "k", false); err != nil || res.Value != "v" || !reflect.DeepEqual(res.Asked, []string{"n4"}) {
		t.Errorf("Get = %+v, %v; want v from n4 at once", res, err)
	}
	// A hint by id alone names no node it can dial: not learned.
	c2 := newTestClusterClient(t, ClusterConfig{}, startKVNode(t, "n1", log, redirectTo("n7", "")))
	if _, err := c2.Get(testCtx(t, 200*time.Millisecond), "k", false); !errors.Is(err, ErrNoLeader) {
		t.Errorf("Get with a hint to an unknown id without address = %v, want ErrNoLeader", err)
	}
	if n := len(c2.known()); n != 1 {
		t.Errorf("the client knows %d nodes, want 1", n)
	}
}
