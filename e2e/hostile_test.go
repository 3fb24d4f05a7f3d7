package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// maxRSSGrowth is how much a node's resident memory may grow while it is
// attacked: far below what one honoured gigabyte prefix would take.
const maxRSSGrowth = 100 << 20

// rawPeer is a bare TCP connection to a node, for speaking the protocol by
// hand, wrongly.
type rawPeer struct {
	net.Conn
	br *bufio.Reader // reads the node's answers
}

func dialNode(t *testing.T, addr string) *rawPeer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, statusTimeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawPeer{Conn: c, br: bufio.NewReader(c)}
}

func (c *rawPeer) write(t *testing.T, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func (c *rawPeer) send(t *testing.T, m *pb.RaftKvMessage) {
	t.Helper()
	var b bytes.Buffer
	if err := netlink.WriteFrame(&b, m); err != nil {
		t.Fatal(err)
	}
	c.write(t, b.Bytes())
}

// recv reads one frame, failing the test after waitTimeout.
func (c *rawPeer) recv(t *testing.T) *pb.RaftKvMessage {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	m := new(pb.RaftKvMessage)
	if err := netlink.ReadFrame(c.br, 0, m); err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

// handshake sends a HANDSHAKE and returns the node's answer.
func (c *rawPeer) handshake(t *testing.T, hs *pb.Handshake) *pb.HandshakeResponse {
	t.Helper()
	c.send(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_HANDSHAKE, NodeId: hs.GetNodeId(), Handshake: hs})
	m := c.recv(t)
	if m.GetType() != pb.RaftKvMessage_HANDSHAKE_RESPONSE {
		t.Fatalf("answer to HANDSHAKE is %v", m.GetType())
	}
	return m.GetHandshakeResponse()
}

// waitClosed reads until the node closes the connection; a frame or
// waitTimeout of silence fails the test.
func (c *rawPeer) waitClosed(t *testing.T) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	var m pb.RaftKvMessage
	err := netlink.ReadFrame(c.br, 0, &m)
	if err == nil {
		t.Fatalf("got a %v frame, want the connection closed", m.GetType())
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v", waitTimeout)
	}
}

// procStatus reads one kB field (VmRSS, ...) of /proc/PID/status.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc to measure memory: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s of %d: %q", field, pid, line)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// openFDs counts the file descriptors of process pid.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("fds of %d: %v", pid, err)
	}
	return len(ents)
}

// waitNodeLog waits until node id's log has a line containing every part.
func (h *Harness) waitNodeLog(id string, parts ...string) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("a line with %q in %s's log", parts, id), func() (bool, string) {
		b, err := os.ReadFile(h.logPath(id))
		if err != nil {
			return false, err.Error()
		}
		for _, line := range strings.Split(string(b), "\n") {
			if containsAll(line, parts) {
				return true, ""
			}
		}
		return false, "not yet"
	})
}

// countNodeLog counts the lines of node id's log containing every part.
func (h *Harness) countNodeLog(id string, parts ...string) int {
	b, err := os.ReadFile(h.logPath(id))
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if containsAll(line, parts) {
			n++
		}
	}
	return n
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func clientHS() *pb.Handshake {
	return &pb.Handshake{Cluster: clusterName, NodeId: "hostile", Kind: pb.Handshake_CLIENT}
}

// forgedVote is a vote request from far in the future, as if from n2.
func forgedVote() *pb.RaftKvMessage {
	return &pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_REQUEST, NodeId: "n2",
		VoteRequest: &pb.VoteRequest{Term: 1 << 60, CandidateId: "n2", LastLogIndex: 1 << 60, LastLogTerm: 1 << 60}}
}

// TestHostileNode attacks one node of a live cluster on its port: garbage,
// a gigabyte length prefix before and after the handshake, a thousand
// short connections, a peer handshake with an unknown id, forged vote
// requests with a huge term from client connections and in place of a
// handshake, and a peer frame with a negative index. Each is refused with a
// log line; afterwards the node serves, the cluster keeps the same leader
// in the same term, and the node's memory and file descriptors are where
// they were.
func TestHostileNode(t *testing.T) {
	h := StartCluster(t, 3)
	leader, term := h.waitLeader()
	target := h.others(leader)[0]
	addr := h.addrs[target]
	pid := h.procs[target].cmd.Process.Pid
	rss, fds := procStatus(t, pid, "VmRSS"), openFDs(t, pid)

	t.Run("garbage before the handshake", func(t *testing.T) {
		c := dialNode(t, addr)
		// A whole frame that is not protobuf. (Bytes that only start a frame,
		// an HTTP request say, wait for the handshake timeout instead.)
		c.write(t, []byte{0x06, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		c.waitClosed(t)
		h.waitNodeLog(target, "handshake failed", "remote="+c.LocalAddr().String(), "read frame")
	})
	t.Run("gigabyte prefix instead of a handshake", func(t *testing.T) {
		c := dialNode(t, addr)
		c.write(t, protowire.AppendVarint(nil, 3<<30))
		c.waitClosed(t)
		h.waitNodeLog(target, "handshake failed", "remote="+c.LocalAddr().String(), "frame too large")
	})
	t.Run("gigabyte prefix after the handshake", func(t *testing.T) {
		c := dialNode(t, addr)
		if resp := c.handshake(t, clientHS()); !resp.GetOk() {
			t.Fatalf("client handshake refused: %s", resp.GetError())
		}
		c.write(t, protowire.AppendVarint(nil, 3<<30))
		c.waitClosed(t)
		h.waitNodeLog(target, "closing connection", "remote="+c.LocalAddr().String(), "frame too large")
	})
	t.Run("peer claiming the node's own id", func(t *testing.T) {
		// Peers of any other id are accepted (members join with ids
		// cluster.yaml does not list); the node's own id never is.
		c := dialNode(t, addr)
		resp := c.handshake(t, &pb.Handshake{Cluster: clusterName, NodeId: target, Kind: pb.Handshake_PEER})
		if resp.GetOk() || !strings.Contains(resp.GetError(), "own id") {
			t.Fatalf("handshake as %s = ok %v %q, want refused as the node's own id", target, resp.GetOk(), resp.GetError())
		}
		c.waitClosed(t)
		h.waitNodeLog(target, "handshake refused", "remote="+c.LocalAddr().String(), "own id")
	})
	t.Run("forged vote request on a client connection", func(t *testing.T) {
		c := dialNode(t, addr)
		if resp := c.handshake(t, clientHS()); !resp.GetOk() {
			t.Fatalf("client handshake refused: %s", resp.GetError())
		}
		c.send(t, forgedVote())
		c.waitClosed(t)
		h.waitNodeLog(target, "closing connection", "remote="+c.LocalAddr().String(), "unexpected VOTE_REQUEST frame from a client")
	})
	t.Run("forged vote request instead of a handshake", func(t *testing.T) {
		// To every node, the leader included.
		for _, id := range h.ids {
			c := dialNode(t, h.addrs[id])
			c.send(t, forgedVote())
			if resp := c.recv(t).GetHandshakeResponse(); resp.GetOk() || !strings.Contains(resp.GetError(), "expected HANDSHAKE") {
				t.Fatalf("%s answered a vote request in place of a handshake with %v", id, resp)
			}
			c.waitClosed(t)
			h.waitNodeLog(id, "handshake refused", "remote="+c.LocalAddr().String(), "expected HANDSHAKE")
		}
	})
	t.Run("negative index from a peer", func(t *testing.T) {
		// Without auth_token anyone may claim to be n3 (auth_test.go shows
		// the token closing that door); the node still refuses a frame no
		// correct peer sends.
		claimed := h.others(target)[0]
		c := dialNode(t, addr)
		if resp := c.handshake(t, &pb.Handshake{Cluster: clusterName, NodeId: claimed, Kind: pb.Handshake_PEER}); !resp.GetOk() {
			t.Fatalf("peer handshake as %s refused: %s", claimed, resp.GetError())
		}
		c.send(t, &pb.RaftKvMessage{Type: pb.RaftKvMessage_APPEND_ENTRIES_REQUEST,
			AppendEntriesRequest: &pb.AppendEntriesRequest{Term: 1, LeaderId: claimed, PrevLogIndex: -5}})
		h.waitNodeLog(target, "refused peer frame", "from="+claimed, "negative term or index -5")
	})
	t.Run("a thousand short connections", func(t *testing.T) {
		hs := &pb.RaftKvMessage{Type: pb.RaftKvMessage_HANDSHAKE, Handshake: clientHS()}
		var b bytes.Buffer
		if err := netlink.WriteFrame(&b, hs); err != nil {
			t.Fatal(err)
		}
		half := b.Bytes()[:b.Len()/2]
		const conns, workers = 1000, 8
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < conns; i += workers {
					c, err := net.DialTimeout("tcp", addr, statusTimeout)
					if err != nil {
						errs <- err
						return
					}
					if i%2 == 1 {
						_, err = c.Write(half)
					}
					c.Close()
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		// The node answers status throughout.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		polls := 0
		for storming := true; storming; {
			select {
			case <-done:
				storming = false
			default:
				if _, err := h.Status(target); err != nil {
					t.Errorf("status during the storm: %v", err)
				}
				polls++
			}
		}
		t.Logf("%d connections; %d status requests answered meanwhile", conns, polls)
		close(errs)
		for err := range errs {
			t.Errorf("storm connection: %v", err)
		}
	})

	// The node serves and the cluster is as it was: same leader, same term.
	if _, err := h.Status(target); err != nil {
		t.Fatalf("status after the attacks: %v", err)
	}
	gotLeader, gotTerm := h.waitLeader()
	if gotLeader != leader || gotTerm != term {
		t.Errorf("leader %s in term %d after the attacks, want %s in term %d", gotLeader, gotTerm, leader, term)
	}
	if res := h.Ctl("put", "after", "attack"); res.code != 0 {
		t.Errorf("put after the attacks: exit %d: %s", res.code, res.stderr)
	}
	if grown := procStatus(t, pid, "VmRSS") - rss; grown > maxRSSGrowth {
		t.Errorf("%s's RSS grew by %d MiB under attack", target, grown>>20)
	}
	h.waitFor("the attackers' file descriptors to be closed", func() (bool, string) {
		n := openFDs(t, pid)
		return n <= fds+2, fmt.Sprintf("%d open, %d before", n, fds)
	})
	t.Logf("%s: RSS %d → %d MiB, fds %d → %d", target, rss>>20, procStatus(t, pid, "VmRSS")>>20, fds, openFDs(t, pid))
}

// TestHostileStalledFrames opens connections that pass the handshake (no
// auth_token here, so anyone can), send a length prefix of the maximum
// frame size and 4 KiB of the body, and close, 200 at a time, three times:
// the node must spend memory on what arrived, not on what was claimed.
func TestHostileStalledFrames(t *testing.T) {
	const conns, rounds = 200, 3
	h := StartCluster(t, 3)
	leader, term := h.waitLeader()
	target := h.others(leader)[0]
	pid := h.procs[target].cmd.Process.Pid
	peak := procStatus(t, pid, "VmHWM")
	stalled := append(protowire.AppendVarint(nil, netlink.DefaultMaxFrameSize), make([]byte, 4096)...)
	for round := range rounds {
		var open []*rawPeer
		for range conns {
			c := dialNode(t, h.addrs[target])
			if resp := c.handshake(t, clientHS()); !resp.GetOk() {
				t.Fatalf("client handshake refused: %s", resp.GetError())
			}
			c.write(t, stalled)
			open = append(open, c)
		}
		for _, c := range open {
			c.Close()
		}
		// The node has read each prefix once it has logged the frame cut short.
		want := conns * (round + 1)
		h.waitFor("the node to log every frame cut short", func() (bool, string) {
			n := h.countNodeLog(target, "closing connection", "unexpected EOF")
			return n >= want, fmt.Sprintf("%d of %d", n, want)
		})
	}
	grown := procStatus(t, pid, "VmHWM") - peak
	if grown > maxRSSGrowth {
		t.Errorf("%s's peak RSS grew by %d MiB for %d frames of %d bytes each", target, grown>>20, conns*rounds, len(stalled))
	}
	t.Logf("%s's peak RSS grew by %d MiB", target, grown>>20)
	if l, tm := h.waitLeader(); l != leader || tm != term {
		t.Errorf("leader %s in term %d after the attack, want %s in term %d", l, tm, leader, term)
	}
}
