package netlink

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink/pb"
)

// newTestPeers starts Peers for node n1 of cluster demo with fast backoff;
// the cleanup closes it.
func newTestPeers(t *testing.T, addrs map[string]string, queue int) (*Peers, *logBuffer) {
	t.Helper()
	return startTestPeers(t, addrs, nil, queue)
}

// startTestPeers is newTestPeers with faults f (nil: none).
func startTestPeers(t *testing.T, addrs map[string]string, f *Faults, queue int) (*Peers, *logBuffer) {
	t.Helper()
	log, logs := newTestLogger()
	p := NewPeers(PeersConfig{
		Identity:   Identity{Cluster: "demo", NodeID: "n1"},
		Addrs:      addrs,
		QueueSize:  queue,
		MinBackoff: time.Millisecond,
		MaxBackoff: 10 * time.Millisecond,
		Faults:     f,
		Logger:     log,
	})
	t.Cleanup(p.Close)
	return p, logs
}

// peerServer is node n2, recording what its peers send.
func peerServer(t *testing.T, ln net.Listener) (*Server, chan *pb.RaftKvMessage) {
	t.Helper()
	got := make(chan *pb.RaftKvMessage, 4096)
	cfg := testServerConfig()
	cfg.NodeID = "n2"
	srv, _ := serveOn(t, ln, cfg, &fakeHandler{stepPeer: func(m *pb.RaftKvMessage) { got <- m }})
	return srv, got
}

func heartbeat(term int64) *pb.RaftKvMessage {
	return &pb.RaftKvMessage{Type: pb.RaftKvMessage_APPEND_ENTRIES_REQUEST, To: "n2",
		AppendEntriesRequest: &pb.AppendEntriesRequest{Term: term, LeaderId: "n1"}}
}

// sendUntilReceived sends heartbeats of rising terms until one arrives: a
// message written just as a connection dies may be lost, and that is
// allowed. It returns the term that arrived.
func sendUntilReceived(t *testing.T, p *Peers, got <-chan *pb.RaftKvMessage, term int64) int64 {
	t.Helper()
	deadline := time.After(waitFor)
	retry := time.NewTicker(20 * time.Millisecond)
	defer retry.Stop()
	p.Send("n2", heartbeat(term))
	for {
		select {
		case m := <-got:
			if m.GetNodeId() != "n1" {
				t.Fatalf("message arrived from %q, want n1", m.GetNodeId())
			}
			return m.GetAppendEntriesRequest().GetTerm()
		case <-retry.C:
			term++
			p.Send("n2", heartbeat(term))
		case <-deadline:
			t.Fatal("no message arrived")
		}
	}
}

func TestPeersDeliverAndReconnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv, got := peerServer(t, ln)
	p, _ := newTestPeers(t, map[string]string{"n2": addr}, 0)

	// Sent before the link is up: kept in the queue and delivered in order.
	const burst = 500
	for i := range int64(burst) {
		if !p.Send("n2", heartbeat(i)) {
			t.Fatalf("Send #%d refused", i)
		}
	}
	for i := range int64(burst) {
		m := recv(t, got, "a queued message")
		if term := m.GetAppendEntriesRequest().GetTerm(); term != i || m.GetNodeId() != "n1" {
			t.Fatalf("message #%d: term %d from %q", i, term, m.GetNodeId())
		}
	}
	testkit.Poll(t, waitFor, "the link to come up", func() (bool, string) { return p.Connected("n2"), "n2 not connected" })

	// Kill n2: the link notices.
	srv.Close()
	testkit.Poll(t, waitFor, "the link to go down", func() (bool, string) { return !p.Connected("n2"), "n2 still connected" })

	// Start n2 again on the same address: the link comes back.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	_, got = peerServer(t, ln)
	sendUntilReceived(t, p, got, 1000)
	testkit.Poll(t, waitFor, "the link to come back", func() (bool, string) { return p.Connected("n2"), "n2 not connected" })
}

func TestPeersSendNeverBlocks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	const queue = 4
	p, logs := newTestPeers(t, map[string]string{"n2": down}, queue)

	for i := range queue {
		if !p.Send("n2", heartbeat(int64(i))) {
			t.Fatalf("Send #%d refused with room in the queue", i)
		}
	}
	for i := range 100 {
		if p.Send("n2", heartbeat(int64(queue+i))) {
			t.Fatalf("Send #%d accepted with the queue full", queue+i)
		}
	}
	if p.Send("n9", heartbeat(1)) {
		t.Error("Send to an unknown peer accepted")
	}
	if got := p.Dropped(); got != 101 {
		t.Errorf("Dropped = %d, want 101", got)
	}
	if p.Connected("n2") || p.Connected("n9") {
		t.Error("Connected to a peer that is down")
	}
	logs.waitLog(t, "peer link down", "peer=n2", "dial")
}

func TestPeersHandshakeProblems(t *testing.T) {
	tests := []struct {
		name    string
		cluster string // the dialer's cluster
		peer    string // whom the dialer expects at the address (the listener is n2)
		log     string
	}{
		{"refused", "other", "n2", "handshake refused: wrong cluster"},
		{"another node answers", "demo", "n3", `answers as node \"n2\", want \"n3\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			_, got := peerServer(t, ln)
			log, logs := newTestLogger()
			p := NewPeers(PeersConfig{
				Identity: Identity{Cluster: tt.cluster, NodeID: "n1"},
				Addrs:    map[string]string{tt.peer: ln.Addr().String()},
				Logger:   log,
			})
			defer p.Close()
			p.Send(tt.peer, heartbeat(1))
			logs.waitLog(t, "peer link down", tt.log)
			if p.Connected(tt.peer) {
				t.Error("Connected after a failed handshake")
			}
			p.Close()
			if len(got) != 0 {
				t.Errorf("a message got through: %v", <-got)
			}
		})
	}
}

// TestPeersCloseUnblocks closes Peers while a peer accepts TCP connections
// but never answers the handshake: Close must not wait for it.
func TestPeersCloseUnblocks(t *testing.T) {
	addr, accepted := silentListener(t)
	log, _ := newTestLogger()
	p := NewPeers(PeersConfig{Identity: Identity{Cluster: "demo", NodeID: "n1"}, Addrs: map[string]string{"n2": addr}, Logger: log})
	c := recv(t, accepted, "the link to dial")
	defer c.Close()
	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	// Well under the 5s handshake timeout, which would end the wait anyway.
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("Close hung on a peer stuck in the handshake")
	}
	if p.Send("n2", heartbeat(1)) {
		t.Error("Send after Close accepted")
	}
}

// TestPeersSetAddrs follows configuration changes: a removed peer's link
// stops and Send to it is refused, an added peer gets a link that
// delivers, and a moved peer is redialled at its new address.
func TestPeersSetAddrs(t *testing.T) {
	ln2, lnNew := listenLoopback(t), listenLoopback(t)
	_, got2 := peerServer(t, ln2)
	p, _ := newTestPeers(t, map[string]string{"n2": ln2.Addr().String()}, 0)
	sendUntilReceived(t, p, got2, 1)
	old := p.link("n2")

	// Remove n2, add n4 (our own id in the map is skipped).
	got4 := make(chan *pb.RaftKvMessage, 16)
	cfg := testServerConfig()
	cfg.NodeID = "n4"
	serveOn(t, lnNew, cfg, &fakeHandler{stepPeer: func(m *pb.RaftKvMessage) { got4 <- m }})
	p.SetAddrs(map[string]string{"n1": "127.0.0.1:1", "n4": lnNew.Addr().String()})
	recv(t, old.done, "the removed link's goroutine to end")
	if p.Send("n2", heartbeat(2)) {
		t.Error("Send to a removed peer accepted")
	}
	if p.link("n1") != nil {
		t.Error("a link to our own id")
	}
	m := &pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_REQUEST, To: "n4", VoteRequest: &pb.VoteRequest{Term: 5}}
	if !p.Send("n4", m) {
		t.Fatal("Send to an added peer refused")
	}
	if got := recv(t, got4, "a message to the added peer"); got.GetNodeId() != "n1" || got.GetVoteRequest().GetTerm() != 5 {
		t.Errorf("the added peer got %v", got)
	}

	// Move n4 to n2's listener, which answers as n2: the link restarts
	// there, and its handshake names the wrong node.
	moved := p.link("n4")
	p.SetAddrs(map[string]string{"n4": ln2.Addr().String()})
	recv(t, moved.done, "the moved link's old goroutine to end")
	if l := p.link("n4"); l == nil || l.addr != ln2.Addr().String() {
		t.Fatalf("n4's link after the move = %+v", l)
	}
	// An unchanged address keeps its link.
	same := p.link("n4")
	p.SetAddrs(map[string]string{"n4": ln2.Addr().String()})
	if p.link("n4") != same {
		t.Error("SetAddrs with the same address restarted the link")
	}
}

// TestPeersSetAddrsConcurrent changes the peers while messages are sent
// and links are queried: the race detector checks the locking, and Close
// waits for every link, started or stopped.
func TestPeersSetAddrsConcurrent(t *testing.T) {
	p, _ := newTestPeers(t, nil, 4)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				p.Send("n2", heartbeat(1))
				p.Connected("n3")
			}
		})
	}
	for i := range 200 {
		addrs := map[string]string{"n2": "127.0.0.1:1"}
		if i%2 == 0 {
			addrs["n3"] = fmt.Sprintf("127.0.0.1:%d", 2+i%3)
		}
		p.SetAddrs(addrs)
	}
	cancel()
	wg.Wait()
	p.Close()
	p.SetAddrs(map[string]string{"n5": "127.0.0.1:1"})
	if p.Send("n5", heartbeat(1)) {
		t.Error("a link started after Close")
	}
}

// TestPeerAddrFromHandshake: a peer's handshake carries its listen
// address, which the server hands to ServerConfig.PeerAddr before serving
// its messages — how a node that joined learns where a leader added after
// cluster.yaml listens.
func TestPeerAddrFromHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	learned := make(chan [2]string, 4)
	got := make(chan *pb.RaftKvMessage, 16)
	cfg := testServerConfig()
	cfg.NodeID = "n2"
	cfg.PeerAddr = func(id, addr string) { learned <- [2]string{id, addr} }
	serveOn(t, ln, cfg, &fakeHandler{stepPeer: func(m *pb.RaftKvMessage) { got <- m }})

	log, _ := newTestLogger()
	p := NewPeers(PeersConfig{
		Identity: Identity{Cluster: "demo", NodeID: "n1", Addr: "127.0.0.1:7001"},
		Addrs:    map[string]string{"n2": ln.Addr().String()},
		Logger:   log,
	})
	t.Cleanup(p.Close)
	sendUntilReceived(t, p, got, 1)
	select {
	case l := <-learned:
		if l != [2]string{"n1", "127.0.0.1:7001"} {
			t.Fatalf("PeerAddr(%q, %q), want (n1, 127.0.0.1:7001)", l[0], l[1])
		}
	default:
		t.Fatal("a message was served before PeerAddr heard of its sender")
	}
}
