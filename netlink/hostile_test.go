package netlink

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink/pb"
)

// Hostile input on the port, beyond TestHostileClients (server_test.go),
// which closes a client connection on a huge prefix, garbage, an over-long
// varint or a frame of the wrong type. Here the attacker has passed the
// handshake (it knows the token), and the tests measure what the server
// spends on it, keep a well-behaved client and peer talking throughout, and
// look for the log line every refusal leaves.

const hostileToken = "s3cret"

// hostileConfig is n1 of cluster demo with an auth token, so that the
// connections below are authenticated ones.
func hostileConfig() ServerConfig {
	cfg := testServerConfig()
	cfg.AuthToken = hostileToken
	return cfg
}

func peerHandshake(id string) *pb.Handshake {
	return &pb.Handshake{Cluster: "demo", NodeId: id, Kind: pb.Handshake_PEER, AuthToken: hostileToken}
}

func authClientHandshake() *pb.Handshake {
	hs := clientHandshake()
	hs.AuthToken = hostileToken
	return hs
}

// dialAuthed opens a raw connection that has passed the handshake hs.
func dialAuthed(t *testing.T, addr string, hs *pb.Handshake) *rawConn {
	t.Helper()
	c := dialRaw(t, addr)
	if resp := c.handshake(t, hs); !resp.GetOk() {
		t.Fatalf("handshake as %s refused: %s", hs.GetNodeId(), resp.GetError())
	}
	return c
}

// dialClient opens a Client with the token; the cleanup closes it.
func dialClient(t *testing.T, addr string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := Dial(ctx, addr, Identity{Cluster: "demo", NodeID: "well-behaved", AuthToken: hostileToken})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// stepRecorder is a fakeHandler whose StepPeer hands every message over.
func stepRecorder() (*fakeHandler, chan *pb.RaftKvMessage) {
	got := make(chan *pb.RaftKvMessage, 1024)
	return &fakeHandler{stepPeer: func(m *pb.RaftKvMessage) { got <- m }}, got
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// TestHostileHugePrefixAuthenticated sends length prefixes from just over
// the limit to 2^64-1 on authenticated client and peer connections: each is
// refused with a log line, before any of it is allocated, and the
// well-behaved client and peer carry on.
func TestHostileHugePrefixAuthenticated(t *testing.T) {
	h, stepped := stepRecorder()
	_, addr, logs := startServer(t, hostileConfig(), h)
	good := dialClient(t, addr)
	goodPeer := dialAuthed(t, addr, peerHandshake("n3"))
	prefixes := []uint64{DefaultMaxFrameSize + 1, 1 << 30, 3 << 30, 1 << 40, math.MaxInt64, math.MaxUint64}
	kinds := []*pb.Handshake{authClientHandshake(), peerHandshake("n2")}

	before := totalAlloc()
	for _, hs := range kinds {
		for _, size := range prefixes {
			bad := dialAuthed(t, addr, hs)
			if _, err := bad.Write(protowire.AppendVarint(nil, size)); err != nil {
				t.Fatal(err)
			}
			bad.waitClosed(t)
			logs.waitLog(t, "closing connection", "remote="+bad.LocalAddr().String(), "frame too large")
		}
	}
	// Everything the server did for twelve hostile connections, handshakes
	// included; a single claimed frame would be over 4 MiB.
	if spent := totalAlloc() - before; spent > 3<<20 {
		t.Errorf("the server allocated %d bytes for %d refused prefixes", spent, len(prefixes)*len(kinds))
	}

	if _, err := good.Status(context.Background()); err != nil {
		t.Errorf("Status of the well-behaved client: %v", err)
	}
	goodPeer.send(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_REQUEST, VoteRequest: &pb.VoteRequest{Term: 2, CandidateId: "n3"}})
	if m := recv(t, stepped, "the well-behaved peer's frame"); m.GetNodeId() != "n3" {
		t.Errorf("StepPeer got %v, want the frame of n3", m)
	}
}

// TestHostileFrameCutShortCostsWhatArrived: a frame whose prefix claims the
// maximum size and whose body never comes must cost memory in proportion to
// the bytes that arrived, not to the claim. Otherwise every authenticated
// connection (every connection, without auth_token) that sends a 5-byte
// prefix and goes quiet pins 4 MiB in the server until it closes, and a
// thousand of them pin 4 GiB.
func TestHostileFrameCutShortCostsWhatArrived(t *testing.T) {
	stream := append(protowire.AppendVarint(nil, DefaultMaxFrameSize), make([]byte, 100)...)
	const runs = 8
	before := totalAlloc()
	for range runs {
		var m pb.RaftKvMessage
		err := ReadFrame(bufio.NewReader(bytes.NewReader(stream)), 0, &m)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("ReadFrame of a frame cut short = %v, want io.ErrUnexpectedEOF", err)
		}
	}
	if per := (totalAlloc() - before) / runs; per > 256<<10 {
		t.Errorf("a frame cut short after %d bytes cost %d bytes; its prefix claimed %d", len(stream), per, DefaultMaxFrameSize)
	}
}

// TestHostileHalfFrame: half a frame, then silence, from an authenticated
// client or peer. The server keeps no idle timeout on authenticated
// connections (a dashboard may watch for hours), so the connection just
// waits; what matters is that it holds up nobody else. When it finally
// closes, the cut frame is logged.
func TestHostileHalfFrame(t *testing.T) {
	h, stepped := stepRecorder()
	_, addr, logs := startServer(t, hostileConfig(), h)
	whole := frameBytes(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_STATUS_REQUEST, RequestId: 7, StatusRequest: &pb.StatusRequest{}})
	peerFrame := frameBytes(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_REQUEST, VoteRequest: &pb.VoteRequest{Term: 5, CandidateId: "n2"}})

	client := dialAuthed(t, addr, authClientHandshake())
	peer := dialAuthed(t, addr, peerHandshake("n2"))
	if _, err := client.Write(whole[:len(whole)/2]); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.Write(peerFrame[:len(peerFrame)/2]); err != nil {
		t.Fatal(err)
	}

	// Others are served while both wait for the rest of their frames.
	if _, err := dialClient(t, addr).Status(context.Background()); err != nil {
		t.Errorf("Status beside the stalled connections: %v", err)
	}
	other := dialAuthed(t, addr, peerHandshake("n3"))
	other.send(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_REQUEST, VoteRequest: &pb.VoteRequest{Term: 5, CandidateId: "n3"}})
	if m := recv(t, stepped, "n3's frame"); m.GetNodeId() != "n3" {
		t.Errorf("StepPeer got %v, want n3's frame", m)
	}

	for _, c := range []*rawConn{client, peer} {
		remote := "remote=" + c.LocalAddr().String()
		c.Close()
		logs.waitLog(t, "closing connection", remote, "unexpected EOF")
	}
	if len(stepped) != 0 {
		t.Errorf("StepPeer got %v from half a frame", <-stepped)
	}
}

// TestHostileConnectionStorm opens 2000 short connections that never
// finish a handshake, or fail it, while a well-behaved client and peer keep
// talking: the server answers them throughout, logs every refused
// connection once, and its goroutines return to where they were.
func TestHostileConnectionStorm(t *testing.T) {
	const (
		conns   = 2000
		workers = 8
	)
	cfg := hostileConfig()
	cfg.HandshakeTimeout = 200 * time.Millisecond
	var stepped atomic.Int64
	_, addr, logs := startServer(t, cfg, &fakeHandler{stepPeer: func(*pb.RaftKvMessage) { stepped.Add(1) }})
	good := dialClient(t, addr)
	goodPeer := dialAuthed(t, addr, peerHandshake("n2"))
	hsFrame := frameBytes(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_HANDSHAKE, Handshake: authClientHandshake()})
	wrongToken := frameBytes(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_HANDSHAKE,
		Handshake: &pb.Handshake{Cluster: "demo", NodeId: "n2", Kind: pb.Handshake_PEER, AuthToken: "guess"}})
	// A round trip on each settles the server's goroutines for them (the
	// client's writer starts after the handshake answer) before counting.
	if _, err := good.Status(context.Background()); err != nil {
		t.Fatal(err)
	}
	goodPeer.send(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_RESPONSE, VoteResponse: &pb.VoteResponse{Term: 1}})
	testkit.Poll(t, waitFor, "the peer's first frame", func() (bool, string) {
		n := stepped.Load()
		return n == 1, fmt.Sprintf("%d frames stepped", n)
	})
	baseline := runtime.NumGoroutine()

	// What each storm connection does, by its number modulo len(storm).
	storm := []struct {
		name string
		send []byte // written after connecting; nil: close at once
		keep bool   // leave it open for the handshake timeout to close
	}{
		{"connect and close", nil, false},
		{"half a handshake, then close", hsFrame[:len(hsFrame)/2], false},
		{"garbage", []byte{0x05, 0xff, 0xff, 0xff, 0xff, 0xff}, false},
		{"over-long varint", bytes.Repeat([]byte{0xff}, 11), false},
		{"wrong token", wrongToken, false},
		{"half a handshake, then silence", hsFrame[:len(hsFrame)/2], true},
	}

	// The well-behaved pair talk until the storm is over.
	stop := make(chan struct{})
	var calls int64
	sent := int64(1) // the frame above
	var talkErr error
	talked := make(chan struct{})
	go func() {
		defer close(talked)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			_, err := good.Status(ctx)
			cancel()
			if err == nil {
				err = WriteFrame(goodPeer, &pb.RaftKvMessage{Type: pb.RaftKvMessage_APPEND_ENTRIES_RESPONSE,
					AppendEntriesResponse: &pb.AppendEntriesResponse{Term: 1, Success: true}})
			}
			if err != nil {
				talkErr = err
				return
			}
			calls++
			sent++
		}
	}()

	var (
		mu       sync.Mutex
		kept     []net.Conn
		stormErr error
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < conns; i = next.Add(1) - 1 {
				s := storm[i%int64(len(storm))]
				c, err := net.Dial("tcp", addr)
				if err == nil && s.send != nil {
					_, err = c.Write(s.send)
				}
				mu.Lock()
				if err != nil && stormErr == nil {
					stormErr = fmt.Errorf("%s: %w", s.name, err)
				}
				if err == nil && s.keep {
					kept = append(kept, c)
				} else if c != nil {
					c.Close()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range kept {
			c.Close()
		}
	}()
	// The server closes the silent ones itself.
	if stormErr == nil {
		for _, c := range kept {
			(&rawConn{Conn: c, br: bufio.NewReader(c)}).waitClosed(t)
		}
	}
	close(stop)
	<-talked
	if stormErr != nil {
		t.Fatal(stormErr)
	}
	if talkErr != nil {
		t.Fatalf("the well-behaved client failed during the storm: %v", talkErr)
	}
	if calls == 0 {
		t.Fatal("the well-behaved client made no call during the storm")
	}
	testkit.Poll(t, waitFor, fmt.Sprintf("%d peer frames to be stepped", sent), func() (bool, string) {
		n := stepped.Load()
		return n == sent, fmt.Sprintf("%d stepped", n)
	})

	// One log line per refused connection, no more, no less.
	refusals := func() int {
		s := logs.String()
		return strings.Count(s, `msg="handshake failed"`) + strings.Count(s, `msg="handshake refused"`)
	}
	testkit.Poll(t, waitFor, fmt.Sprintf("%d refusals to be logged", conns), func() (bool, string) {
		n := refusals()
		return n >= conns, fmt.Sprintf("%d logged", n)
	})
	if n := refusals(); n != conns {
		t.Errorf("%d refusals logged for %d connections", n, conns)
	}
	logs.waitLog(t, "handshake refused", "bad auth token")
	logs.waitLog(t, "handshake failed", "i/o timeout")
	testkit.Poll(t, waitFor, "the storm's goroutines to end", func() (bool, string) {
		n := runtime.NumGoroutine()
		if n <= baseline {
			return true, ""
		}
		return false, fmt.Sprintf("%d goroutines after the storm, %d before:\n%s", n, baseline, goroutineDump())
	})
	t.Logf("%d storm connections; the well-behaved client made %d calls and its peer sent %d frames meanwhile", conns, calls, sent)
}

// TestHostilePeerFrames sends frames that decode but make no sense from an
// authenticated peer: each is dropped with a log line, or handed on tagged
// with the handshaken id for the node to judge, and nobody else notices.
func TestHostilePeerFrames(t *testing.T) {
	h, stepped := stepRecorder()
	_, addr, logs := startServer(t, hostileConfig(), h)
	good := dialClient(t, addr)
	goodPeer := dialAuthed(t, addr, peerHandshake("n3"))
	bad := dialAuthed(t, addr, peerHandshake("n2"))
	remote := "remote=" + bad.LocalAddr().String()

	// A term from the future, claiming to come from n3: dropped, and the
	// connection goes on.
	bad.send(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_REQUEST, NodeId: "n3",
		VoteRequest: &pb.VoteRequest{Term: 1 << 62, CandidateId: "n3", LastLogIndex: 1 << 62, LastLogTerm: 1 << 62}})
	// Addressed to another node: dropped.
	bad.send(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_APPEND_ENTRIES_REQUEST, To: "n9",
		AppendEntriesRequest: &pb.AppendEntriesRequest{Term: 1 << 62, LeaderId: "n2"}})
	// A negative index and a body naming another candidate: netlink cannot
	// know Raft's rules, so it hands them on as n2's, and raftnode's
	// fromWire refuses them (TestFromWireRefusesNonsense).
	negative := &pb.RaftKvMessage{Type: pb.RaftKvMessage_APPEND_ENTRIES_REQUEST,
		AppendEntriesRequest: &pb.AppendEntriesRequest{Term: 1, LeaderId: "n2", PrevLogIndex: -5}}
	spoofedBody := &pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_REQUEST,
		VoteRequest: &pb.VoteRequest{Term: 1 << 62, CandidateId: "n3"}}
	bad.send(t, negative)
	bad.send(t, spoofedBody)
	for _, want := range []*pb.RaftKvMessage{negative, spoofedBody} {
		m := recv(t, stepped, "the frame handed on")
		if m.GetNodeId() != "n2" || m.GetType() != want.GetType() {
			t.Errorf("StepPeer got %v, want a %v tagged n2", m, want.GetType())
		}
	}
	logs.waitLog(t, "dropped peer message", remote, "VOTE_REQUEST", `from \"n3\"`, `connection of \"n2\"`)
	logs.waitLog(t, "dropped peer message", remote, "APPEND_ENTRIES_REQUEST", `to \"n9\"`)

	// An unknown type ends the connection, with a log line.
	bad.send(t, &pb.RaftKvMessage{Type: 99, NodeId: "n2"})
	bad.waitClosed(t)
	logs.waitLog(t, "closing connection", remote, "unexpected 99 frame from a peer")

	// Nobody else noticed.
	goodPeer.send(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_REQUEST, VoteRequest: &pb.VoteRequest{Term: 2, CandidateId: "n3"}})
	if m := recv(t, stepped, "n3's frame"); m.GetNodeId() != "n3" || m.GetVoteRequest().GetTerm() != 2 {
		t.Errorf("StepPeer got %v, want n3's vote request", m)
	}
	if _, err := good.Status(context.Background()); err != nil {
		t.Errorf("Status after the hostile peer: %v", err)
	}
	if strings.Count(logs.String(), "level=WARN") != 3 {
		t.Errorf("want exactly 3 warnings, one per refused frame; log:\n%s", logs)
	}
}

// goroutineDump is every goroutine's stack, for a failure message.
func goroutineDump() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}
