package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// fakeNode is what one address answers in a test.
type fakeNode struct {
	dialErr   error             // returned by dial when set
	status    *pb.NodeStatus    // returned by Status
	statusErr error             // returned by Status when set
	admin     *pb.AdminResponse // returned by AdminRequest
	adminErr  error             // returned by AdminRequest when set
	kv        *pb.KvResponse    // returned by KV
	kvErr     error             // returned by KV when set
	backup    *backupAnswer     // what Backup streams; nil: it refuses, naming no leader
}

// backupAnswer is a fake node's backup stream.
type backupAnswer struct {
	data        []byte // the snapshot's bytes
	index, term uint64
	err         error // returned after data when set
}

// fakeNet stands in for the network: nodes by address, and a record of what
// the commands did to them. Its cluster clients (newKV) share one map of
// keys, as a healthy cluster would, answering from node n1.
type fakeNet struct {
	nodes  map[string]*fakeNode // by address
	kvFail func(op int) error   // when set, the error of KV operation number op (from 0), or nil
	data   map[string]string    // the cluster's keys; guarded by mu once a command runs

	mu     sync.Mutex                    // guards the fields below; status dials nodes concurrently
	dialed []netlink.Identity            // identities presented, in dial order
	admins map[string][]*pb.AdminRequest // admin requests received, by address
	kvReqs map[string][]*pb.KvRequest    // KV requests sent to one node (get --stale --node), by address
	open   int                           // clients dialed or cluster clients opened, and not yet closed
	kvCfgs []netlink.ClusterConfig       // configurations of the cluster clients opened
	kvOps  []string                      // KV operations run, like "put k v" or "get k stale"
	index  int64                         // last log index handed out
}

func (f *fakeNet) dial(_ context.Context, addr string, id netlink.Identity) (nodeClient, error) {
	n, ok := f.nodes[addr]
	if !ok {
		return nil, fmt.Errorf("dial tcp %s: connection refused", addr)
	}
	if n.dialErr != nil {
		return nil, n.dialErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dialed = append(f.dialed, id)
	f.open++
	return &fakeClient{openConn: openConn{net: f}, addr: addr, node: n}, nil
}

// fakeClient is a connection to a fakeNode.
type fakeClient struct {
	openConn           // net: where calls are recorded
	addr     string    // the address dialed
	node     *fakeNode // what answers
}

var _ nodeClient = (*fakeClient)(nil)

func (c *fakeClient) Status(context.Context) (*pb.NodeStatus, error) {
	if c.node.statusErr != nil {
		return nil, c.node.statusErr
	}
	return c.node.status, nil
}

func (c *fakeClient) AdminRequest(_ context.Context, req *pb.AdminRequest) (*pb.AdminResponse, error) {
	c.net.mu.Lock()
	if c.net.admins == nil {
		c.net.admins = make(map[string][]*pb.AdminRequest)
	}
	c.net.admins[c.addr] = append(c.net.admins[c.addr], proto.Clone(req).(*pb.AdminRequest))
	c.net.mu.Unlock()
	if c.node.adminErr != nil {
		return nil, c.node.adminErr
	}
	return c.node.admin, nil
}

func (c *fakeClient) KV(_ context.Context, req *pb.KvRequest) (*pb.KvResponse, error) {
	c.net.mu.Lock()
	if c.net.kvReqs == nil {
		c.net.kvReqs = make(map[string][]*pb.KvRequest)
	}
	c.net.kvReqs[c.addr] = append(c.net.kvReqs[c.addr], proto.Clone(req).(*pb.KvRequest))
	c.net.mu.Unlock()
	if c.node.kvErr != nil {
		return nil, c.node.kvErr
	}
	return c.node.kv, nil
}

func (c *fakeClient) Backup(_ context.Context, w io.Writer) (index, term uint64, err error) {
	b := c.node.backup
	if b == nil {
		return 0, 0, &netlink.NotLeaderError{}
	}
	if _, err := w.Write(b.data); err != nil {
		return 0, 0, err
	}
	return b.index, b.term, b.err
}

// openConn is a connection of fakeNet's, counted in its open until closed.
type openConn struct {
	net    *fakeNet
	closed bool // Close was called; a second Close is an error
}

func (c *openConn) Close() error {
	if c.closed {
		return errors.New("closed twice")
	}
	c.closed = true
	c.net.mu.Lock()
	c.net.open--
	c.net.mu.Unlock()
	return nil
}

func (f *fakeNet) newKV(cfg netlink.ClusterConfig) (kvClient, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kvCfgs = append(f.kvCfgs, cfg)
	f.open++
	return &fakeKV{openConn{net: f}}, nil
}

// kvOp records desc, then fails it through kvFail or runs op on the data.
func (f *fakeNet) kvOp(desc string, op func(data map[string]string) netlink.Result) (netlink.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.kvOps)
	f.kvOps = append(f.kvOps, desc)
	if f.kvFail != nil {
		if err := f.kvFail(n); err != nil {
			return netlink.Result{}, err
		}
	}
	if f.data == nil {
		f.data = make(map[string]string)
	}
	res := op(f.data)
	f.index++
	res.NodeID, res.Index, res.Attempts = "n1", f.index, 1
	return res, nil
}

// fakeKV is a cluster client of a fakeNet.
type fakeKV struct {
	openConn // net: where the data lives and calls are recorded
}

var _ kvClient = (*fakeKV)(nil)

func (c *fakeKV) Put(_ context.Context, key, value string) (netlink.Result, error) {
	return c.net.kvOp("put "+key+" "+value, func(data map[string]string) netlink.Result {
		_, found := data[key]
		data[key] = value
		return netlink.Result{Found: found}
	})
}

func (c *fakeKV) Get(_ context.Context, key string, stale bool) (netlink.Result, error) {
	desc := "get " + key
	if stale {
		desc += " stale"
	}
	return c.net.kvOp(desc, func(data map[string]string) netlink.Result {
		v, found := data[key]
		return netlink.Result{Value: v, Found: found}
	})
}

func (c *fakeKV) Delete(_ context.Context, key string) (netlink.Result, error) {
	return c.net.kvOp("delete "+key, func(data map[string]string) netlink.Result {
		_, found := data[key]
		delete(data, key)
		return netlink.Result{Found: found}
	})
}
