package netlink

import (
	"context"
	"errors"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

func TestHandshake(t *testing.T) {
	tests := []struct {
		name    string
		token   string        // the server's auth token
		hs      *pb.Handshake // what the dialer sends
		wantErr string        // "" for accepted, else part of the refusal
	}{
		{"client", "", &pb.Handshake{Cluster: "demo", NodeId: "ctl", Kind: pb.Handshake_CLIENT}, ""},
		{"peer", "", &pb.Handshake{Cluster: "demo", NodeId: "n2", Kind: pb.Handshake_PEER}, ""},
		{"client sends a token nobody asked for", "", &pb.Handshake{Cluster: "demo", NodeId: "ctl", Kind: pb.Handshake_CLIENT, AuthToken: "x"}, ""},
		{"wrong cluster", "", &pb.Handshake{Cluster: "other", NodeId: "n2", Kind: pb.Handshake_PEER}, "wrong cluster"},
		// A member added later has an id no file lists.
		{"peer not in the initial configuration", "", &pb.Handshake{Cluster: "demo", NodeId: "n9", Kind: pb.Handshake_PEER}, ""},
		{"peer without an id", "", &pb.Handshake{Cluster: "demo", Kind: pb.Handshake_PEER}, "peer without an id"},
		{"peer with our own id", "", &pb.Handshake{Cluster: "demo", NodeId: "n1", Kind: pb.Handshake_PEER}, "own id"},
		{"unknown kind", "", &pb.Handshake{Cluster: "demo", NodeId: "ctl", Kind: 7}, "unknown connection kind"},
		{"token set, right token", "s3cret", &pb.Handshake{Cluster: "demo", NodeId: "n2", Kind: pb.Handshake_PEER, AuthToken: "s3cret"}, ""},
		{"token set, missing", "s3cret", &pb.Handshake{Cluster: "demo", NodeId: "n2", Kind: pb.Handshake_PEER}, "bad auth token"},
		{"token set, wrong", "s3cret", &pb.Handshake{Cluster: "demo", NodeId: "ctl", Kind: pb.Handshake_CLIENT, AuthToken: "s3cres"}, "bad auth token"},
		{"token set, prefix of it", "s3cret", &pb.Handshake{Cluster: "demo", NodeId: "n2", Kind: pb.Handshake_PEER, AuthToken: "s3c"}, "bad auth token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testServerConfig()
			cfg.AuthToken = tt.token
			_, addr, logs := startServer(t, cfg, &fakeHandler{})
			c := dialRaw(t, addr)
			resp := c.handshake(t, tt.hs)
			if resp.GetNodeId() != "n1" {
				t.Errorf("response node_id = %q, want n1", resp.GetNodeId())
			}
			if tt.wantErr == "" {
				if !resp.GetOk() || resp.GetError() != "" {
					t.Fatalf("refused: %q", resp.GetError())
				}
				return
			}
			if resp.GetOk() || !strings.Contains(resp.GetError(), tt.wantErr) {
				t.Fatalf("response = ok %v error %q, want refused with %q", resp.GetOk(), resp.GetError(), tt.wantErr)
			}
			c.waitClosed(t)
			logs.waitLog(t, "handshake refused", "remote="+c.LocalAddr().String(), tt.wantErr)
		})
	}
}

func TestHandshakeMustComeFirst(t *testing.T) {
	_, addr, logs := startServer(t, testServerConfig(), &fakeHandler{})
	c := dialRaw(t, addr)
	c.send(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_STATUS_REQUEST, RequestId: 1})
	m := c.recv(t)
	if m.GetHandshakeResponse().GetOk() || !strings.Contains(m.GetHandshakeResponse().GetError(), "expected HANDSHAKE") {
		t.Errorf("answer = %v, want a refusal", m)
	}
	c.waitClosed(t)
	logs.waitLog(t, "handshake refused", "expected HANDSHAKE")
}

func TestHandshakeTimeout(t *testing.T) {
	cfg := testServerConfig()
	cfg.HandshakeTimeout = 50 * time.Millisecond
	_, addr, logs := startServer(t, cfg, &fakeHandler{})

	silent := dialRaw(t, addr)
	partial := dialRaw(t, addr)
	if _, err := partial.Write([]byte{0x20, 0x08}); err != nil { // a frame that never completes
		t.Fatal(err)
	}
	silent.waitClosed(t)
	partial.waitClosed(t)
	logs.waitLog(t, "handshake failed", "remote="+silent.LocalAddr().String())

	// The server still serves.
	if _, err := dial(t, addr).Status(context.Background()); err != nil {
		t.Errorf("Status after timeouts: %v", err)
	}
}

func TestDialRefused(t *testing.T) {
	cfg := testServerConfig()
	cfg.AuthToken = "s3cret"
	_, addr, _ := startServer(t, cfg, &fakeHandler{})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := Dial(ctx, addr, Identity{Cluster: "demo", NodeID: "ctl", AuthToken: "wrong"})
	if err == nil {
		c.Close()
		t.Fatal("Dial with a wrong token succeeded")
	}
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "bad auth token") {
		t.Errorf("Dial = %v, want ErrRefused with the reason", err)
	}
}

func TestPeerFramesReachStepPeer(t *testing.T) {
	got := make(chan *pb.RaftKvMessage, 10)
	_, addr, logs := startServer(t, testServerConfig(), &fakeHandler{stepPeer: func(m *pb.RaftKvMessage) { got <- m }})
	c := dialRaw(t, addr)
	if resp := c.handshake(t, &pb.Handshake{Cluster: "demo", NodeId: "n2", Kind: pb.Handshake_PEER}); !resp.GetOk() {
		t.Fatalf("peer refused: %s", resp.GetError())
	}
	sent := []struct {
		m    *pb.RaftKvMessage
		pass bool // reaches StepPeer
	}{
		{&pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_REQUEST, VoteRequest: &pb.VoteRequest{Term: 2, CandidateId: "n2"}}, true},
		{&pb.RaftKvMessage{Type: pb.RaftKvMessage_APPEND_ENTRIES_REQUEST, NodeId: "n3", To: "n1"}, false}, // spoofed sender
		{&pb.RaftKvMessage{Type: pb.RaftKvMessage_PRE_VOTE_REQUEST, NodeId: "n2", To: "n1", VoteRequest: &pb.VoteRequest{Term: 3}}, true},
		{&pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_RESPONSE, NodeId: "n2", To: "n3"}, false}, // not for us
		{&pb.RaftKvMessage{Type: pb.RaftKvMessage_PRE_VOTE_RESPONSE, VoteResponse: &pb.VoteResponse{Term: 3, VoteGranted: true}}, true},
		{&pb.RaftKvMessage{Type: pb.RaftKvMessage_APPEND_ENTRIES_REQUEST, AppendEntriesRequest: &pb.AppendEntriesRequest{Term: 3}}, true},
		{&pb.RaftKvMessage{Type: pb.RaftKvMessage_APPEND_ENTRIES_RESPONSE, AppendEntriesResponse: &pb.AppendEntriesResponse{Success: true}}, true},
		{&pb.RaftKvMessage{Type: pb.RaftKvMessage_TIMEOUT_NOW, VoteRequest: &pb.VoteRequest{Term: 3}}, true},
	}
	for _, s := range sent {
		c.send(t, s.m)
	}
	// Frames of one connection are stepped in order, so once the last one
	// arrives the dropped ones are known to be dropped.
	for _, s := range sent {
		if !s.pass {
			continue
		}
		m := recv(t, got, "StepPeer")
		want := proto.Clone(s.m).(*pb.RaftKvMessage)
		want.NodeId = "n2"
		if !proto.Equal(m, want) {
			t.Errorf("StepPeer got %v, want %v", m, want)
		}
	}
	logs.waitLog(t, "dropped peer message", `\"n3\"`)

	// A client request on a peer connection closes it.
	c.send(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_STATUS_REQUEST})
	c.waitClosed(t)
	logs.waitLog(t, "closing connection", "STATUS_REQUEST")
	if len(got) != 0 {
		t.Errorf("StepPeer got %v after a bad frame", <-got)
	}
}

func TestClientRoundTrips(t *testing.T) {
	status := &pb.NodeStatus{Id: "n1", Role: pb.Role_ROLE_LEADER, Term: 4, Cluster: "demo",
		Peers: []*pb.PeerProgress{{Id: "n2", MatchIndex: 3, NextIndex: 4}}}
	var gotAdmin *pb.AdminRequest
	var gotKV *pb.KvRequest
	h := &fakeHandler{
		status: func() *pb.NodeStatus { return status },
		admin: func(_ context.Context, req *pb.AdminRequest) *pb.AdminResponse {
			gotAdmin = req
			return &pb.AdminResponse{Ok: true, Status: &pb.NodeStatus{Id: "n1", Paused: true}}
		},
		kv: func(_ context.Context, req *pb.KvRequest) *pb.KvResponse {
			gotKV = req
			return &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: "n2", LeaderAddr: "127.0.0.1:7002", NodeId: "n1"}
		},
	}
	_, addr, _ := startServer(t, testServerConfig(), h)
	c := dial(t, addr)
	ctx := context.Background()
	if c.NodeID() != "n1" {
		t.Errorf("NodeID = %q, want n1", c.NodeID())
	}

	st, err := c.Status(ctx)
	if err != nil || !proto.Equal(st, status) {
		t.Errorf("Status = %v, %v; want %v", st, err, status)
	}

	ar, err := c.Admin(ctx, pb.AdminCommand_PAUSE)
	if err != nil || !ar.GetOk() || !ar.GetStatus().GetPaused() {
		t.Errorf("Admin = %v, %v", ar, err)
	}
	if gotAdmin.GetCommand() != pb.AdminCommand_PAUSE {
		t.Errorf("handler got admin %v, want PAUSE", gotAdmin)
	}

	req := &pb.KvRequest{OpType: pb.KvRequest_PUT, Key: "k", Value: "v", RequestId: "r1", ClientId: 9, Sequence: 3}
	kr, err := c.KV(ctx, req)
	if err != nil || kr.GetCode() != pb.ErrorCode_NOT_LEADER || kr.GetLeaderAddr() != "127.0.0.1:7002" {
		t.Errorf("KV = %v, %v", kr, err)
	}
	if !proto.Equal(gotKV, req) {
		t.Errorf("handler got %v, want %v", gotKV, req)
	}

	// A request without its body is answered by netlink itself.
	kr, err = c.KV(ctx, nil)
	if err != nil || kr.GetCode() != pb.ErrorCode_BAD_REQUEST {
		t.Errorf("KV(nil) = %v, %v; want BAD_REQUEST", kr, err)
	}
	if c.Err() != nil {
		t.Errorf("Err = %v on a live connection", c.Err())
	}
}

// TestClientRequestsRunConcurrently holds every KV call in the handler until
// all of them have arrived: a server that served one connection's requests
// one at a time would never answer.
func TestClientRequestsRunConcurrently(t *testing.T) {
	const n = 8
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	h := &fakeHandler{kv: func(ctx context.Context, req *pb.KvRequest) *pb.KvResponse {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return &pb.KvResponse{Success: true, Value: "value of " + req.GetKey()}
	}}
	_, addr, _ := startServer(t, testServerConfig(), h)
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()

	errs := make(chan error, n)
	for i := range n {
		key := string(rune('a' + i))
		go func() {
			resp, err := c.KV(ctx, &pb.KvRequest{OpType: pb.KvRequest_GET, Key: key})
			if err == nil && resp.GetValue() != "value of "+key {
				err = errors.New("key " + key + " answered with " + resp.GetValue())
			}
			errs <- err
		}()
	}
	for range n {
		select {
		case <-arrived:
		case <-ctx.Done():
			t.Fatal("requests were not handled concurrently")
		}
	}
	close(release)
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestWatch(t *testing.T) {
	type sub struct {
		events chan *pb.WatchEvent
		gone   chan struct{} // closed by cancel
	}
	subs := make(chan sub, 2)
	var term int64
	var termMu sync.Mutex
	h := &fakeHandler{
		status: func() *pb.NodeStatus {
			termMu.Lock()
			defer termMu.Unlock()
			term++
			return &pb.NodeStatus{Id: "n1", Term: term}
		},
		subscribe: func() (<-chan *pb.WatchEvent, func()) {
			s := sub{events: make(chan *pb.WatchEvent, 1), gone: make(chan struct{})}
			subs <- s
			return s.events, func() { close(s.gone) }
		},
		admin: func(context.Context, *pb.AdminRequest) *pb.AdminResponse { return &pb.AdminResponse{Ok: true} },
	}
	_, addr, _ := startServer(t, testServerConfig(), h)
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()

	watchCtx, stopWatch := context.WithCancel(ctx)
	events, err := c.Watch(watchCtx, minStatusInterval)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if _, err := c.Watch(ctx, 0); !errors.Is(err, ErrWatching) {
		t.Errorf("second Watch = %v, want ErrWatching", err)
	}
	first := recv(t, subs, "Subscribe")

	next := func() *pb.WatchEvent {
		t.Helper()
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("watch channel closed")
			}
			return ev
		case <-ctx.Done():
			t.Fatal("no watch event")
		}
		return nil
	}
	// Status events keep coming, with fresh snapshots.
	var lastTerm int64
	for range 3 {
		ev := next()
		if ev.GetKind() != pb.WatchEvent_STATUS || ev.GetStatus().GetTerm() <= lastTerm || ev.GetNodeId() != "n1" {
			t.Fatalf("event %v, want a fresher STATUS than term %d", ev, lastTerm)
		}
		lastTerm = ev.GetStatus().GetTerm()
	}
	// Node events are forwarded as they are.
	role := &pb.WatchEvent{Kind: pb.WatchEvent_ROLE_CHANGED, NodeId: "n1", Role: pb.Role_ROLE_CANDIDATE, Term: 9}
	first.events <- role
	for ev := next(); !proto.Equal(ev, role); ev = next() {
		if ev.GetKind() != pb.WatchEvent_STATUS {
			t.Fatalf("event %v, want %v", ev, role)
		}
	}
	// Requests work on the watching connection.
	if resp, err := c.Admin(ctx, pb.AdminCommand_RESUME); err != nil || !resp.GetOk() {
		t.Fatalf("Admin while watching = %v, %v", resp, err)
	}

	stopWatch()
	drain(t, events, "the ended watch's channel")
	// A new watch replaces the old one on the node.
	events, err = c.Watch(ctx, 0)
	if err != nil {
		t.Fatalf("Watch after the first ended: %v", err)
	}
	recv(t, subs, "the new watch's Subscribe")
	recv(t, first.gone, "the replaced watch to unsubscribe")
	if ev := next(); ev.GetKind() != pb.WatchEvent_STATUS {
		t.Errorf("first event of the new watch = %v, want STATUS", ev)
	}
}

func TestCallsFailWhenConnectionDrops(t *testing.T) {
	entered := make(chan struct{})
	handlerDone := make(chan error, 1)
	h := &fakeHandler{kv: func(ctx context.Context, _ *pb.KvRequest) *pb.KvResponse {
		close(entered)
		<-ctx.Done()
		handlerDone <- ctx.Err()
		return nil
	}}
	srv, addr, _ := startServer(t, testServerConfig(), h)
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	events, err := c.Watch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	kvErr := make(chan error, 1)
	go func() {
		_, err := c.KV(ctx, &pb.KvRequest{Key: "k"})
		kvErr <- err
	}()
	recv(t, entered, "the KV call")
	srv.Close()

	if err := recv(t, handlerDone, "the handler to return"); err == nil {
		t.Error("the handler's ctx was not cancelled")
	}
	if err := recv(t, kvErr, "KV to fail"); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("KV = %v, want a connection error at once", err)
	}
	drain(t, events, "the watch channel")
	if c.Err() == nil {
		t.Error("Err = nil after the connection dropped")
	}
	if _, err := c.Status(ctx); err == nil {
		t.Error("Status on a dead connection succeeded")
	}
}

// TestHostileClients checks a misbehaving connection is closed, with a log
// line, and neither a connection opened before it nor one opened after it
// is affected.
func TestHostileClients(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		log     string
	}{
		{"huge length prefix", protowire.AppendVarint(nil, 3<<30), "frame too large"},
		{"just over the max frame size", protowire.AppendVarint(nil, DefaultMaxFrameSize+1), "frame too large"},
		{"garbage", []byte{0x05, 0xff, 0xff, 0xff, 0xff, 0xff}, "read frame"},
		{"over-long varint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "read frame"},
		{"peer message", frameBytes(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_REQUEST}), "unexpected VOTE_REQUEST"},
		{"second handshake", frameBytes(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_HANDSHAKE, Handshake: clientHandshake()}), "unexpected HANDSHAKE"},
		{"a response", frameBytes(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_KV_RESPONSE}), "unexpected KV_RESPONSE"},
		{"unknown type", frameBytes(t, &pb.RaftKvMessage{Type: 99}), "unexpected 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr, logs := startServer(t, testServerConfig(), &fakeHandler{})
			before := dial(t, addr)
			bad := dialRaw(t, addr)
			if resp := bad.handshake(t, clientHandshake()); !resp.GetOk() {
				t.Fatalf("refused: %s", resp.GetError())
			}
			if _, err := bad.Write(tt.payload); err != nil {
				t.Fatal(err)
			}
			bad.waitClosed(t)
			remote := "remote=" + bad.LocalAddr().String()
			logs.waitLog(t, "closing connection", remote, tt.log)
			if n := strings.Count(logs.String(), "level=WARN msg=\"closing connection\" "+remote); n != 1 {
				t.Errorf("%d warnings about the connection, want 1; log:\n%s", n, logs)
			}

			ctx := context.Background()
			if _, err := before.Status(ctx); err != nil {
				t.Errorf("Status on the earlier connection: %v", err)
			}
			if _, err := dial(t, addr).Status(ctx); err != nil {
				t.Errorf("Status on a new connection: %v", err)
			}
		})
	}
}

func TestServeAfterClose(t *testing.T) {
	srv := NewServer(testServerConfig(), &fakeHandler{})
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); err != nil {
		t.Errorf("Serve after Close = %v, want nil", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Error("Serve after Close left the listener open")
	}
}

func TestStatusInterval(t *testing.T) {
	tests := []struct {
		ms   int64
		want time.Duration
	}{
		{0, defaultStatusInterval},
		{-5, minStatusInterval},
		{1, minStatusInterval},
		{250, 250 * time.Millisecond},
		{1 << 40, maxStatusInterval},
		{math.MaxInt64, maxStatusInterval},
	}
	for _, tt := range tests {
		if got := statusInterval(tt.ms); got != tt.want {
			t.Errorf("statusInterval(%d) = %v, want %v", tt.ms, got, tt.want)
		}
	}
}

// TestDialHonoursContext dials a listener that accepts but never answers
// the handshake: Dial must end with the context, by deadline or by cancel.
func TestDialHonoursContext(t *testing.T) {
	addr, accepted := silentListener(t)
	dialErr := func(ctx context.Context) <-chan error {
		errs := make(chan error, 1)
		go func() {
			c, err := Dial(ctx, addr, Identity{Cluster: "demo", NodeID: "ctl"})
			if err == nil {
				c.Close()
				err = errors.New("Dial succeeded without a handshake response")
			}
			errs <- err
		}()
		return errs
	}

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		errs := dialErr(ctx)
		defer recv(t, accepted, "the dial").Close()
		if err := recv(t, errs, "Dial to return"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Dial = %v, want %v", err, context.DeadlineExceeded)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errs := dialErr(ctx)
		defer recv(t, accepted, "the dial").Close()
		cancel()
		if err := recv(t, errs, "Dial to return"); !errors.Is(err, context.Canceled) {
			t.Errorf("Dial = %v, want %v", err, context.Canceled)
		}
	})
}

func TestClientClose(t *testing.T) {
	_, addr, _ := startServer(t, testServerConfig(), &fakeHandler{})
	c := dial(t, addr)
	ctx := context.Background()
	events, err := c.Watch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	drain(t, events, "the watch channel")
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Err after Close = %v, want ErrClosed", c.Err())
	}
	if _, err := c.Status(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Status after Close = %v, want ErrClosed", err)
	}
	if _, err := c.Watch(ctx, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Watch after Close = %v, want ErrClosed", err)
	}
}
