package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// fakeNode is what one address answers in a test.
type fakeNode struct {
	dialErr   error             // returned by dial when set
	status    *pb.NodeStatus    // returned by Status
	statusErr error             // returned by Status when set
	admin     *pb.AdminResponse // returned by Admin
	adminErr  error             // returned by Admin when set
}

// fakeNet stands in for the network: nodes by address, and a record of what
// the commands did to them.
type fakeNet struct {
	nodes map[string]*fakeNode // by address

	mu     sync.Mutex                   // guards the fields below; status dials nodes concurrently
	dialed []netlink.Identity           // identities presented, in dial order
	admins map[string][]pb.AdminCommand // admin commands received, by address
	open   int                          // clients dialed and not yet closed
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
	return &fakeClient{net: f, addr: addr, node: n}, nil
}

// fakeClient is a connection to a fakeNode.
type fakeClient struct {
	net    *fakeNet  // where calls are recorded
	addr   string    // the address dialed
	node   *fakeNode // what answers
	closed bool      // Close was called; a second Close is an error
}

var _ nodeClient = (*fakeClient)(nil)

func (c *fakeClient) Status(context.Context) (*pb.NodeStatus, error) {
	if c.node.statusErr != nil {
		return nil, c.node.statusErr
	}
	return c.node.status, nil
}

func (c *fakeClient) Admin(_ context.Context, cmd pb.AdminCommand) (*pb.AdminResponse, error) {
	c.net.mu.Lock()
	if c.net.admins == nil {
		c.net.admins = make(map[string][]pb.AdminCommand)
	}
	c.net.admins[c.addr] = append(c.net.admins[c.addr], cmd)
	c.net.mu.Unlock()
	if c.node.adminErr != nil {
		return nil, c.node.adminErr
	}
	return c.node.admin, nil
}

func (c *fakeClient) Close() error {
	if c.closed {
		return errors.New("closed twice")
	}
	c.closed = true
	c.net.mu.Lock()
	c.net.open--
	c.net.mu.Unlock()
	return nil
}
