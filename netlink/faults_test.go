package netlink

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink/pb"
)

func reqPartition() *pb.AdminRequest { return &pb.AdminRequest{Command: pb.AdminCommand_PARTITION} }
func reqHeal() *pb.AdminRequest      { return &pb.AdminRequest{Command: pb.AdminCommand_HEAL} }
func reqIsolate(peers ...string) *pb.AdminRequest {
	return &pb.AdminRequest{Command: pb.AdminCommand_ISOLATE, Peers: peers}
}
func reqDelay(ms int64) *pb.AdminRequest {
	return &pb.AdminRequest{Command: pb.AdminCommand_DELAY, DelayMs: ms}
}

// mustApply applies req to f, failing the test on an error.
func mustApply(t *testing.T, f *Faults, req *pb.AdminRequest) {
	t.Helper()
	if _, err := f.Apply(req); err != nil {
		t.Fatalf("Apply(%v): %v", req, err)
	}
}

// TestFaultsApply runs one sequence of commands on the faults of n1 in
// cluster n1, n2, n3, checking each answer and the state after it. A
// refused command must leave the state as it was.
func TestFaultsApply(t *testing.T) {
	f := NewFaults("n1", []string{"n3", "n1", "n2"})
	steps := []struct {
		req         *pb.AdminRequest
		changed     string // "" when refused
		err         string // substring of the refusal
		partitioned bool
		isolated    []string
		delay       time.Duration
	}{
		{req: reqPartition(), changed: "partitioned from n2, n3", partitioned: true},
		{req: reqHeal(), changed: "healed"},
		{req: reqIsolate("n2"), changed: "isolated from n2", isolated: []string{"n2"}},
		{req: reqIsolate("n3", "n2"), changed: "isolated from n2, n3", isolated: []string{"n2", "n3"}},
		{req: reqIsolate(), err: "at least one peer", isolated: []string{"n2", "n3"}},
		{req: reqIsolate("n9"), err: `unknown peer "n9"`, isolated: []string{"n2", "n3"}},
		{req: reqIsolate("n1"), err: "n1 cannot be isolated from itself", isolated: []string{"n2", "n3"}},
		{req: reqDelay(200), changed: "outbound delay 200ms", isolated: []string{"n2", "n3"}, delay: 200 * time.Millisecond},
		{req: reqDelay(-1), err: "outside [0, 1m0s]", isolated: []string{"n2", "n3"}, delay: 200 * time.Millisecond},
		{req: reqDelay(60_001), err: "outside [0, 1m0s]", isolated: []string{"n2", "n3"}, delay: 200 * time.Millisecond},
		{req: reqDelay(60_000), changed: "outbound delay 1m0s", isolated: []string{"n2", "n3"}, delay: time.Minute},
		{req: reqPartition(), changed: "partitioned from n2, n3", partitioned: true, isolated: []string{"n2", "n3"}, delay: time.Minute},
		{req: &pb.AdminRequest{Command: pb.AdminCommand_PAUSE}, err: "PAUSE is not a network fault command",
			partitioned: true, isolated: []string{"n2", "n3"}, delay: time.Minute},
		{req: &pb.AdminRequest{}, err: "ADMIN_UNKNOWN", partitioned: true, isolated: []string{"n2", "n3"}, delay: time.Minute},
		{req: nil, err: "ADMIN_UNKNOWN", partitioned: true, isolated: []string{"n2", "n3"}, delay: time.Minute},
		{req: reqDelay(0), changed: "outbound delay cleared", partitioned: true, isolated: []string{"n2", "n3"}},
		{req: reqHeal(), changed: "healed"},
		{req: reqHeal(), changed: "healed"},
	}
	for i, s := range steps {
		changed, err := f.Apply(s.req)
		switch {
		case s.err == "" && (err != nil || changed != s.changed):
			t.Errorf("step %d: Apply(%v) = %q, %v; want %q", i, s.req, changed, err, s.changed)
		case s.err != "" && (err == nil || !strings.Contains(err.Error(), s.err) || !errors.Is(err, ErrBadFault) || changed != ""):
			t.Errorf("step %d: Apply(%v) = %q, %v; want ErrBadFault saying %q", i, s.req, changed, err, s.err)
		}
		partitioned, isolated, d := f.State()
		if partitioned != s.partitioned || !slices.Equal(isolated, s.isolated) || d != s.delay {
			t.Errorf("step %d: State = %v, %q, %v; want %v, %q, %v", i, partitioned, isolated, d, s.partitioned, s.isolated, s.delay)
		}
	}
}

func TestFaultsBlockedAndDelay(t *testing.T) {
	f := NewFaults("n1", []string{"n2", "n3"})
	check := func(when string, blocked map[string]bool, d time.Duration) {
		t.Helper()
		for _, p := range []string{"n2", "n3"} {
			if got := f.Blocked(p); got != blocked[p] {
				t.Errorf("%s: Blocked(%s) = %v, want %v", when, p, got, blocked[p])
			}
			if got := f.Delay(p); got != d {
				t.Errorf("%s: Delay(%s) = %v, want %v", when, p, got, d)
			}
		}
	}
	check("new", nil, 0)
	mustApply(t, f, reqIsolate("n3"))
	check("isolated from n3", map[string]bool{"n3": true}, 0)
	mustApply(t, f, reqPartition())
	check("partitioned", map[string]bool{"n2": true, "n3": true}, 0)
	mustApply(t, f, reqDelay(150))
	check("partitioned and delayed", map[string]bool{"n2": true, "n3": true}, 150*time.Millisecond)
	mustApply(t, f, reqHeal())
	check("healed", nil, 0)

	// The isolated list handed out is a copy.
	mustApply(t, f, reqIsolate("n2"))
	_, isolated, _ := f.State()
	isolated[0] = "n3"
	if f.Blocked("n3") || !f.Blocked("n2") {
		t.Error("changing State's slice changed the faults")
	}
}

// TestFaultsFollowPeers: the peers ISOLATE may name follow the
// configuration; a member added later can be isolated, one removed can
// no longer be named, and faults in force stay.
func TestFaultsFollowPeers(t *testing.T) {
	f := NewFaults("n1", []string{"n1", "n2", "n3"})
	if _, err := f.Apply(reqIsolate("n4")); !errors.Is(err, ErrBadFault) {
		t.Fatalf("isolate n4 before it is a member: %v, want ErrBadFault", err)
	}
	mustApply(t, f, reqIsolate("n2"))
	f.SetPeers([]string{"n1", "n3", "n4"})
	mustApply(t, f, reqIsolate("n4"))
	if !f.Blocked("n2") || !f.Blocked("n4") || f.Blocked("n3") {
		t.Errorf("after SetPeers and isolate n4: blocked n2 %t n3 %t n4 %t; want true false true", f.Blocked("n2"), f.Blocked("n3"), f.Blocked("n4"))
	}
	if _, err := f.Apply(reqIsolate("n2")); !errors.Is(err, ErrBadFault) {
		t.Errorf("isolate n2 after it left: %v, want ErrBadFault", err)
	}
	if _, err := f.Apply(reqIsolate("n1")); !errors.Is(err, ErrBadFault) {
		t.Errorf("isolate self: %v, want ErrBadFault", err)
	}
}

func TestNilFaultsHaveNone(t *testing.T) {
	var f *Faults
	if f.Blocked("n2") || f.Delay("n2") != 0 {
		t.Error("nil Faults blocks or delays")
	}
	if p, iso, d := f.State(); p || iso != nil || d != 0 {
		t.Errorf("nil Faults State = %v, %v, %v", p, iso, d)
	}
	if _, err := f.Apply(reqPartition()); !errors.Is(err, ErrBadFault) {
		t.Errorf("nil Faults Apply = %v, want ErrBadFault", err)
	}
}

// stepped is a message as the receiving node's StepPeer saw it.
type stepped struct {
	m  *pb.RaftKvMessage // the message
	at time.Time         // when StepPeer got it
}

// arrivals serves node id on ln and records what StepPeer gets.
func recordSteps(t *testing.T, ln net.Listener, id string) chan stepped {
	t.Helper()
	got := make(chan stepped, 4096)
	cfg := testServerConfig()
	cfg.NodeID = id
	serveOn(t, ln, cfg, &fakeHandler{stepPeer: func(m *pb.RaftKvMessage) { got <- stepped{m: m, at: time.Now()} }})
	return got
}

// faultyPeers starts Peers for n1 over addrs with f and fast backoff; the
// cleanup closes it.
func faultyPeers(t *testing.T, addrs map[string]string, f *Faults, queue int) *Peers {
	t.Helper()
	p, _ := startTestPeers(t, addrs, f, queue)
	return p
}

// msgTo is a heartbeat of term to peer.
func heartbeatTo(peer string, term int64) *pb.RaftKvMessage {
	return &pb.RaftKvMessage{Type: pb.RaftKvMessage_APPEND_ENTRIES_REQUEST, To: peer,
		AppendEntriesRequest: &pb.AppendEntriesRequest{Term: term, LeaderId: "n1"}}
}

func steppedTerm(a stepped) int64 { return a.m.GetAppendEntriesRequest().GetTerm() }

// waitUp sends heartbeats of term 0 to peer until one arrives, so that the
// link is known to be up, and empties got.
func waitLinkUp(t *testing.T, p *Peers, peer string, got chan stepped) {
	t.Helper()
	deadline := time.After(waitFor)
	retry := time.NewTicker(20 * time.Millisecond)
	defer retry.Stop()
	p.Send(peer, heartbeatTo(peer, 0))
	for {
		select {
		case <-got:
			for len(got) > 0 {
				<-got
			}
			return
		case <-retry.C:
			p.Send(peer, heartbeatTo(peer, 0))
		case <-deadline:
			t.Fatalf("the link to %s never came up", peer)
		}
	}
}

func TestPeersPartitionDropsAndHealRestores(t *testing.T) {
	ln := listenLoopback(t)
	got := recordSteps(t, ln, "n2")
	f := NewFaults("n1", []string{"n2"})
	p := faultyPeers(t, map[string]string{"n2": ln.Addr().String()}, f, 0)
	waitLinkUp(t, p, "n2", got)

	mustApply(t, f, reqPartition())
	before := p.Dropped()
	for i := range int64(10) {
		if p.Send("n2", heartbeatTo("n2", 1+i)) {
			t.Fatalf("Send #%d accepted while partitioned", i)
		}
	}
	if d := p.Dropped() - before; d != 10 {
		t.Errorf("Dropped grew by %d, want 10", d)
	}
	if !p.Connected("n2") {
		t.Error("the link went down: a partition drops messages, not connections")
	}

	mustApply(t, f, reqHeal())
	if !p.Send("n2", heartbeatTo("n2", 100)) {
		t.Fatal("Send refused after heal")
	}
	// Messages on one link arrive in order: had any partitioned message got
	// through, it would come first.
	if a := recv(t, got, "a message after heal"); steppedTerm(a) != 100 {
		t.Errorf("first message after heal has term %d, want 100", steppedTerm(a))
	}
}

// TestPeersPartitionDropsQueued queues messages while the peer is down,
// then partitions: once the link is up they are dropped, not written.
func TestPeersPartitionDropsQueued(t *testing.T) {
	ln := listenLoopback(t)
	addr := ln.Addr().String()
	ln.Close()
	f := NewFaults("n1", []string{"n2"})
	p := faultyPeers(t, map[string]string{"n2": addr}, f, 0)
	for i := range int64(5) {
		if !p.Send("n2", heartbeatTo("n2", 1+i)) {
			t.Fatalf("Send #%d refused", i)
		}
	}
	mustApply(t, f, reqPartition())

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	got := recordSteps(t, ln, "n2")
	testkit.Poll(t, waitFor, "the 5 queued messages to be dropped", func() (bool, string) {
		n := p.Dropped()
		return n == 5, fmt.Sprintf("dropped %d", n)
	})
	mustApply(t, f, reqHeal())
	p.Send("n2", heartbeatTo("n2", 100))
	if a := recv(t, got, "a message after heal"); steppedTerm(a) != 100 {
		t.Errorf("first message to arrive has term %d, want 100", steppedTerm(a))
	}
}

func TestPeersIsolateOnlyListedPeer(t *testing.T) {
	ln2, ln3 := listenLoopback(t), listenLoopback(t)
	got2, got3 := recordSteps(t, ln2, "n2"), recordSteps(t, ln3, "n3")
	f := NewFaults("n1", []string{"n2", "n3"})
	p := faultyPeers(t, map[string]string{"n2": ln2.Addr().String(), "n3": ln3.Addr().String()}, f, 0)
	waitLinkUp(t, p, "n2", got2)
	waitLinkUp(t, p, "n3", got3)

	mustApply(t, f, reqIsolate("n2"))
	if p.Send("n2", heartbeatTo("n2", 1)) {
		t.Error("Send to the isolated n2 accepted")
	}
	if !p.Send("n3", heartbeatTo("n3", 2)) {
		t.Fatal("Send to n3 refused: only n2 is isolated")
	}
	if a := recv(t, got3, "n3's message"); steppedTerm(a) != 2 {
		t.Errorf("n3 got term %d, want 2", steppedTerm(a))
	}

	mustApply(t, f, reqHeal())
	p.Send("n2", heartbeatTo("n2", 3))
	if a := recv(t, got2, "n2's message after heal"); steppedTerm(a) != 3 {
		t.Errorf("n2 got term %d first, want 3", steppedTerm(a))
	}
}

// TestPeersDelay checks that a delayed message is sent later, that Send does
// not wait for it, and that order holds even for a message sent after the
// delay was cleared: it waits behind the delayed ones.
func TestPeersDelay(t *testing.T) {
	const d = 150 * time.Millisecond
	ln := listenLoopback(t)
	got := recordSteps(t, ln, "n2")
	f := NewFaults("n1", []string{"n2"})
	p := faultyPeers(t, map[string]string{"n2": ln.Addr().String()}, f, 0)
	waitLinkUp(t, p, "n2", got)

	mustApply(t, f, reqDelay(d.Milliseconds()))
	const n = 20
	start := time.Now()
	for i := range int64(n) {
		if !p.Send("n2", heartbeatTo("n2", 1+i)) {
			t.Fatalf("Send #%d refused", i)
		}
	}
	// Were Send to wait out the delay, this would take n times d.
	if took := time.Since(start); took >= d {
		t.Errorf("%d Sends took %v, want well under the %v delay", n, took, d)
	}
	mustApply(t, f, reqDelay(0))
	p.Send("n2", heartbeatTo("n2", n+1))

	for i := range int64(n + 1) {
		a := recv(t, got, "a delayed message")
		if steppedTerm(a) != 1+i {
			t.Fatalf("message #%d has term %d, want %d: out of order", i, steppedTerm(a), 1+i)
		}
		if early := a.at.Sub(start); early < d {
			t.Errorf("term %d arrived %v after it was sent, want at least %v", steppedTerm(a), early, d)
		}
	}
}

// TestPeersDelayKeepsQueueBoundAndClose fills the queue behind a long
// delay: Send refuses once it is full, and Close does not wait the delay out.
func TestPeersDelayKeepsQueueBoundAndClose(t *testing.T) {
	const queue = 4
	ln := listenLoopback(t)
	got := recordSteps(t, ln, "n2")
	f := NewFaults("n1", []string{"n2"})
	p := faultyPeers(t, map[string]string{"n2": ln.Addr().String()}, f, queue)
	waitLinkUp(t, p, "n2", got)

	mustApply(t, f, reqDelay(MaxFaultDelay.Milliseconds()))
	accepted := 0
	for range 100 {
		if p.Send("n2", heartbeatTo("n2", 1)) {
			accepted++
		}
	}
	// The writer may have taken one message off the queue to wait on it.
	if accepted != queue && accepted != queue+1 {
		t.Errorf("accepted %d of 100 sends, want %d or %d", accepted, queue, queue+1)
	}
	closed := make(chan struct{})
	go func() {
		p.Close()
		close(closed)
	}()
	recv(t, closed, "Close while a message waits out its delay")
	if len(got) != 0 {
		t.Errorf("a delayed message was delivered before its time: %v", (<-got).m)
	}
}

// peerConn is a raw PEER connection to addr from node id.
func dialPeer(t *testing.T, addr, id string) *rawConn {
	t.Helper()
	c := dialRaw(t, addr)
	if resp := c.handshake(t, &pb.Handshake{Cluster: "demo", NodeId: id, Kind: pb.Handshake_PEER}); !resp.GetOk() {
		t.Fatalf("peer %s refused: %s", id, resp.GetError())
	}
	return c
}

// stepsByPeer sorts what StepPeer got by sender, so that a test can wait
// for one peer's next frame without losing another's.
type stepsByPeer struct {
	got   chan stepped       // StepPeer's calls
	terms map[string][]int64 // terms received and not yet taken, by sender
}

// next is the term of the next frame StepPeer got from peer.
func (s *stepsByPeer) next(t *testing.T, peer string) int64 {
	t.Helper()
	for len(s.terms[peer]) == 0 {
		a := recv(t, s.got, "a frame from "+peer)
		s.terms[a.m.GetNodeId()] = append(s.terms[a.m.GetNodeId()], steppedTerm(a))
	}
	term := s.terms[peer][0]
	s.terms[peer] = s.terms[peer][1:]
	return term
}

// waitDropped waits until the server has dropped n frames of peer for a
// fault in all: frames are read asynchronously, so a test must know they
// were read before it heals.
func waitDropped(t *testing.T, logs *logBuffer, peer string, n int) {
	t.Helper()
	count := func() int {
		c := 0
		for _, line := range strings.Split(logs.String(), "\n") {
			if containsAll(line, []string{"level=DEBUG", "dropped peer message", "network fault", "node_id=" + peer}) {
				c++
			}
		}
		return c
	}
	testkit.Poll(t, waitFor, fmt.Sprintf("%d dropped frames of %s to be logged", n, peer), func() (bool, string) {
		c := count()
		return c >= n, fmt.Sprintf("saw %d", c)
	})
	if c := count(); c != n {
		t.Fatalf("%d frames of %s dropped, want %d", c, peer, n)
	}
}

func TestServerDropsFramesOfBlockedPeers(t *testing.T) {
	got := &stepsByPeer{got: make(chan stepped, 100), terms: map[string][]int64{}}
	cfg := testServerConfig()
	f := NewFaults("n1", []string{"n2", "n3"})
	cfg.Faults = f
	status := &pb.NodeStatus{Id: "n1", Cluster: "demo", Term: 7}
	_, addr, logs := startServer(t, cfg, &fakeHandler{
		stepPeer: func(m *pb.RaftKvMessage) { got.got <- stepped{m: m, at: time.Now()} },
		status:   func() *pb.NodeStatus { return status },
	})
	n2, n3 := dialPeer(t, addr, "n2"), dialPeer(t, addr, "n3")
	client := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()

	// Partitioned: both peers' frames are dropped, the client is served.
	mustApply(t, f, reqPartition())
	n2.send(t, heartbeatTo("n1", 1))
	n3.send(t, heartbeatTo("n1", 2))
	if st, err := client.Status(ctx); err != nil || st.GetTerm() != 7 {
		t.Errorf("Status while partitioned = %v, %v; want the node's status", st, err)
	}
	waitDropped(t, logs, "n2", 1)
	waitDropped(t, logs, "n3", 1)

	// Healed: the same connections carry frames again.
	mustApply(t, f, reqHeal())
	n2.send(t, heartbeatTo("n1", 3))
	n3.send(t, heartbeatTo("n1", 4))
	if term := got.next(t, "n2"); term != 3 {
		t.Errorf("first frame from n2 has term %d, want 3", term)
	}
	if term := got.next(t, "n3"); term != 4 {
		t.Errorf("first frame from n3 has term %d, want 4", term)
	}

	// Isolated from n2 only: n3's frames pass.
	mustApply(t, f, reqIsolate("n2"))
	n2.send(t, heartbeatTo("n1", 5))
	n3.send(t, heartbeatTo("n1", 6))
	if term := got.next(t, "n3"); term != 6 {
		t.Errorf("n3's frame while n2 is isolated has term %d, want 6", term)
	}
	waitDropped(t, logs, "n2", 2)
	mustApply(t, f, reqHeal())
	n2.send(t, heartbeatTo("n1", 7))
	if term := got.next(t, "n2"); term != 7 {
		t.Errorf("next frame from n2 has term %d, want 7", term)
	}
	waitDropped(t, logs, "n3", 1)

	// Dropping is quiet: debug lines only.
	if strings.Contains(logs.String(), "level=WARN") || strings.Contains(logs.String(), "level=INFO") {
		t.Errorf("dropping frames of a cut-off peer logged above debug level:\n%s", logs)
	}
}

func TestClientAdminRequest(t *testing.T) {
	var gotReq *pb.AdminRequest
	h := &fakeHandler{admin: func(_ context.Context, req *pb.AdminRequest) *pb.AdminResponse {
		gotReq = req
		return &pb.AdminResponse{Ok: true, Status: &pb.NodeStatus{Id: "n1", IsolatedFrom: req.GetPeers()}}
	}}
	_, addr, _ := startServer(t, testServerConfig(), h)
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()

	req := reqIsolate("n2", "n3")
	resp, err := c.AdminRequest(ctx, req)
	if err != nil || !resp.GetOk() || !slices.Equal(resp.GetStatus().GetIsolatedFrom(), []string{"n2", "n3"}) {
		t.Errorf("AdminRequest = %v, %v", resp, err)
	}
	if gotReq.GetCommand() != pb.AdminCommand_ISOLATE || !slices.Equal(gotReq.GetPeers(), []string{"n2", "n3"}) {
		t.Errorf("handler got %v, want ISOLATE n2 n3", gotReq)
	}
	if req.GetCommand() != pb.AdminCommand_ISOLATE || len(req.GetPeers()) != 2 {
		t.Errorf("AdminRequest modified its request: %v", req)
	}

	if _, err := c.AdminRequest(ctx, reqDelay(250)); err != nil || gotReq.GetDelayMs() != 250 {
		t.Errorf("DELAY 250: err %v, handler got %v", err, gotReq)
	}
}

// TestFaultMillis: the one parser of fault durations that easykv-ctl and
// the dashboard share.
func TestFaultMillis(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		ms   int64
		want string // error; "" for none
	}{
		{"0", 0, ""},
		{"1500ms", 1500, ""},
		{"2s", 2000, ""},
		{"slow", 0, `slow-disk: bad duration "slow" (want e.g. 1500ms, 2s, or 0 to clear)`},
		{"-1s", 0, "slow-disk: -1s is outside [0, 1m0s]"},
		{"2m", 0, "slow-disk: 2m0s is outside [0, 1m0s]"},
		{"10us", 0, "slow-disk: 10µs is under a millisecond (0 clears the stall)"},
	} {
		ms, err := FaultMillis("slow-disk", "stall", tc.arg, "1500ms, 2s", MaxDiskStall)
		if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) || ms != tc.ms {
			t.Errorf("FaultMillis(%q) = %d, %v; want %d, %q", tc.arg, ms, err, tc.ms, tc.want)
		}
	}
}
