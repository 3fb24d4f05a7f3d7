package netlink

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

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
