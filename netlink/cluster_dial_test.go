package netlink

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// fakeKVConn answers KV requests with answer, in memory.
type fakeKVConn struct {
	id     string
	answer func(req *pb.KvRequest) *pb.KvResponse
	mu     sync.Mutex
	closed bool
}

func (f *fakeKVConn) KV(_ context.Context, req *pb.KvRequest) (*pb.KvResponse, error) {
	return f.answer(req), nil
}

func (f *fakeKVConn) Status(context.Context) (*pb.NodeStatus, error) {
	return &pb.NodeStatus{Id: f.id}, nil
}

func (f *fakeKVConn) Err() error { return nil }

func (f *fakeKVConn) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// TestClusterClientDialsThroughConfigDial: with Config.Dial, every
// connection is the caller's, a hint is followed, Result.Asked lists the
// nodes tried, and Close closes what was dialled.
func TestClusterClientDialsThroughConfigDial(t *testing.T) {
	conns := map[string]*fakeKVConn{
		"n1": {id: "n1", answer: func(*pb.KvRequest) *pb.KvResponse {
			return &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: "n3"}
		}},
		"n3": {id: "n3", answer: func(*pb.KvRequest) *pb.KvResponse {
			return &pb.KvResponse{Code: pb.ErrorCode_OK, Index: 4}
		}},
	}
	var dialled []string
	c, err := NewClusterClient(ClusterConfig{
		Nodes: []NodeAddr{{ID: "n1", Addr: "a1"}, {ID: "n2", Addr: "a2"}, {ID: "n3", Addr: "a3"}},
		Dial: func(_ context.Context, n NodeAddr) (KVConn, error) {
			dialled = append(dialled, n.ID)
			if fc := conns[n.ID]; fc != nil {
				return fc, nil
			}
			return nil, errors.New("no such node")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Put(t.Context(), "k", "v")
	if err != nil {
		t.Fatal(err)
	}
	if res.NodeID != "n3" || res.Index != 4 || !slices.Equal(res.Asked, []string{"n1", "n3"}) {
		t.Errorf("Put = %+v, want n3 at index 4 after asking n1, n3", res)
	}
	if !slices.Equal(dialled, []string{"n1", "n3"}) {
		t.Errorf("dialled %v, want n1, n3", dialled)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for id, fc := range conns {
		if !fc.closed {
			t.Errorf("%s not closed by Close", id)
		}
	}
}

// TestClusterClientHintLeaderAndAttemptError: HintLeader picks the node
// tried first, and a failed call's error wraps the last attempt's
// AttemptError, with the node and its answer, beside the kind of failure.
func TestClusterClientHintLeaderAndAttemptError(t *testing.T) {
	answer := func(code pb.ErrorCode) func(*pb.KvRequest) *pb.KvResponse {
		return func(*pb.KvRequest) *pb.KvResponse { return &pb.KvResponse{Code: code, Message: "why"} }
	}
	conns := map[string]*fakeKVConn{
		"n1": {id: "n1", answer: answer(pb.ErrorCode_OK)},
		"n2": {id: "n2", answer: answer(pb.ErrorCode_BAD_REQUEST)},
	}
	c, err := NewClusterClient(ClusterConfig{
		Nodes: []NodeAddr{{ID: "n1", Addr: "a1"}, {ID: "n2", Addr: "a2"}},
		Dial: func(_ context.Context, n NodeAddr) (KVConn, error) {
			return conns[n.ID], nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.HintLeader("n9") // not a member: ignored
	c.HintLeader("n2")
	_, err = c.Get(t.Context(), "k", false)
	var ae *AttemptError
	if !errors.Is(err, ErrRejected) || !errors.As(err, &ae) {
		t.Fatalf("Get = %v, want ErrRejected wrapping an AttemptError", err)
	}
	if ae.Node != "n2" || ae.Resp.GetCode() != pb.ErrorCode_BAD_REQUEST || ae.Error() != "BAD_REQUEST: why" {
		t.Errorf("AttemptError = %+v (%q), want n2's BAD_REQUEST", ae, ae.Error())
	}
	if want := "request rejected by n2: BAD_REQUEST: why"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}

	// A transport failure is kept as Err, and still matched through it.
	lost := errors.New("connection reset")
	conns["n2"].answer = nil
	c2, err := NewClusterClient(ClusterConfig{
		Nodes:   []NodeAddr{{ID: "n2", Addr: "a2"}},
		Timeout: 50 * time.Millisecond,
		Dial: func(context.Context, NodeAddr) (KVConn, error) {
			return nil, lost
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_, err = c2.Put(t.Context(), "k", "v")
	if !errors.Is(err, ErrNoLeader) || !errors.Is(err, lost) || !errors.As(err, &ae) || ae.Node != "n2" || ae.Resp != nil {
		t.Errorf("Put = %v, want ErrNoLeader wrapping n2's AttemptError with the dial error", err)
	}
}
