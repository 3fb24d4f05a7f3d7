package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// kvClient is the part of *netlink.ClusterClient that put, get, delete and
// bench use; tests substitute a fake.
type kvClient interface {
	Put(ctx context.Context, key, value string) (netlink.Result, error)
	Get(ctx context.Context, key string, stale bool) (netlink.Result, error)
	Delete(ctx context.Context, key string) (netlink.Result, error)
	Close() error
}

var _ kvClient = (*netlink.ClusterClient)(nil)

// newKVFunc opens a client of the whole cluster.
type newKVFunc func(cfg netlink.ClusterConfig) (kvClient, error)

// newClusterClient is the production newKVFunc.
func newClusterClient(cfg netlink.ClusterConfig) (kvClient, error) {
	c, err := netlink.NewClusterClient(cfg)
	if err != nil {
		// Return a nil interface, not a nil *ClusterClient wrapped in one.
		return nil, err
	}
	return c, nil
}

// clusterConfig is the cluster client configuration for inv: every node of
// cluster.yaml, easykv-ctl's identity, --timeout per call, a fresh session.
func (inv invocation) clusterConfig() netlink.ClusterConfig {
	nodes := make([]netlink.NodeAddr, len(inv.cfg.Nodes))
	for i, n := range inv.cfg.Nodes {
		nodes[i] = netlink.NodeAddr{ID: n.ID, Addr: n.Addr}
	}
	return netlink.ClusterConfig{Identity: inv.identity(), Nodes: nodes, Timeout: inv.timeout}
}

// openKV opens a cluster client; its configuration comes from a validated
// cluster.yaml, so a failure is a configuration error.
func (a *app) openKV(cfg netlink.ClusterConfig) (kvClient, error) {
	c, err := a.newKV(cfg)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return c, nil
}

// errNotFound is get's error for a missing key.
var errNotFound = errors.New("not found")

// callError gives a failed operation on the cluster (a KV call, a
// membership change) its exit status: a refusal exits 1; no leader before
// the deadline exits 3, whether or not a write may have been applied (the
// message says which).
func callError(what string, err error) error {
	err = fmt.Errorf("%s: %w", what, err)
	switch {
	case errors.Is(err, netlink.ErrRejected):
		return err
	case errors.Is(err, netlink.ErrNoLeader), errors.Is(err, netlink.ErrUncertain):
		return unreachable(err)
	default:
		return err
	}
}

// putResult is the JSON answer of put.
type putResult struct {
	Key   string `json:"key"`   // the key written
	Value string `json:"value"` // the value written
	Node  string `json:"node"`  // the node that answered (the leader)
	Index int64  `json:"index"` // log index the write was applied at
}

// getResult is the JSON answer of get.
type getResult struct {
	Key   string `json:"key"`   // the key read
	Value string `json:"value"` // its value, "" when not found
	Found bool   `json:"found"` // whether the key exists
	Node  string `json:"node"`  // the node that answered
	Index int64  `json:"index"` // the index the read waited for
}

// deleteResult is the JSON answer of delete.
type deleteResult struct {
	Key     string `json:"key"`     // the key removed
	Deleted bool   `json:"deleted"` // whether it existed
	Node    string `json:"node"`    // the node that answered (the leader)
	Index   int64  `json:"index"`   // log index the delete was applied at
}

// runPut writes KEY VALUE and prints OK.
func runPut(ctx context.Context, a *app, inv invocation) error {
	key, value := inv.args[0], inv.args[1]
	c, err := a.openKV(inv.clusterConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Put(ctx, key, value)
	if err != nil {
		return callError(fmt.Sprintf("put %q", key), err)
	}
	return a.writeResult(inv.output, putResult{Key: key, Value: value, Node: res.NodeID, Index: res.Index}, "OK")
}

// runGet prints KEY's value alone on a line; a missing key prints nothing
// (or found=false in JSON) and exits 1. With --node it reads that node
// alone (nodeGet); otherwise through the cluster client.
func runGet(ctx context.Context, a *app, inv invocation) error {
	key := inv.args[0]
	if inv.flags.node != "" {
		res, err := a.nodeGet(ctx, inv, key, inv.flags.node)
		if err != nil {
			return err
		}
		return a.writeGet(inv.output, key, res)
	}
	c, err := a.openKV(inv.clusterConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Get(ctx, key, inv.flags.stale)
	if err != nil && inv.flags.stale && errors.Is(err, netlink.ErrNoLeader) {
		return unreachable(staleGetError(key, inv.timeout, err))
	}
	if err != nil {
		return callError(fmt.Sprintf("get %q", key), err)
	}
	return a.writeGet(inv.output, key, res)
}

// writeGet prints a read's outcome: the value alone on a line, or the
// getResult as JSON; a missing key is errNotFound.
func (a *app) writeGet(format, key string, res netlink.Result) error {
	if format == "json" {
		if err := writeJSON(a.stdout, getResult{Key: key, Value: res.Value, Found: res.Found, Node: res.NodeID, Index: res.Index}); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	} else if res.Found {
		if _, err := fmt.Fprintln(a.stdout, res.Value); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	if !res.Found {
		return fmt.Errorf("key %q %w", key, errNotFound)
	}
	return nil
}

// nodeGet is "get --stale --node ID KEY": one stale read sent to node id
// alone, over its own connection, never redirected nor retried elsewhere,
// so the answer is that node's local state however far behind it is. An
// unknown id is a usage error; a node that cannot be reached or will not
// serve the read (paused, say) exits 3 as a stale get that no node served
// does; a node that rejects the request exits 1.
func (a *app) nodeGet(ctx context.Context, inv invocation, key, id string) (netlink.Result, error) {
	node, ok := findNode(inv.cfg, id)
	if !ok {
		return netlink.Result{}, usagef("get: unknown node %q for --node (nodes: %s)", id, strings.Join(nodeIDs(inv.cfg), ", "))
	}
	what := fmt.Sprintf("get %q --stale --node %s", key, id)
	c, err := a.dial(ctx, node.Addr, inv.identity())
	if errors.Is(err, netlink.ErrRefused) {
		return netlink.Result{}, fmt.Errorf("%s: %w", what, err)
	}
	if err != nil {
		return netlink.Result{}, unreachable(fmt.Errorf("%s: %w", what, err))
	}
	defer c.Close()
	resp, err := c.KV(ctx, &pb.KvRequest{OpType: pb.KvRequest_GET, Key: key, Stale: true})
	if err != nil {
		return netlink.Result{}, unreachable(fmt.Errorf("%s: %w", what, err))
	}
	switch netlink.CodeOutcome(resp.GetCode()) {
	case netlink.Served:
		return netlink.Result{
			Value: resp.GetValue(), Found: resp.GetCode() == pb.ErrorCode_OK && resp.GetFound(),
			NodeID: id, Index: resp.GetIndex(), Attempts: 1, Asked: []string{id},
		}, nil
	case netlink.Rejected:
		return netlink.Result{}, fmt.Errorf("%s: %w", what, &netlink.AttemptError{Node: id, Resp: resp})
	}
	if resp.GetCode() == pb.ErrorCode_PAUSED {
		return netlink.Result{}, unreachable(fmt.Errorf("%s: %s is paused (a paused node serves no reads, stale ones included)", what, id))
	}
	return netlink.Result{}, unreachable(fmt.Errorf("%s: %s answered %w", what, id, &netlink.AttemptError{Node: id, Resp: resp}))
}

// runDelete removes KEY and prints OK, whether or not it existed.
func runDelete(ctx context.Context, a *app, inv invocation) error {
	key := inv.args[0]
	c, err := a.openKV(inv.clusterConfig())
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.Delete(ctx, key)
	if err != nil {
		return callError(fmt.Sprintf("delete %q", key), err)
	}
	return a.writeResult(inv.output, deleteResult{Key: key, Deleted: res.Found, Node: res.NodeID, Index: res.Index}, "OK")
}

// writeResult prints a change's outcome: line ("OK" for a write), or v as
// JSON.
func (a *app) writeResult(format string, v any, line string) error {
	var err error
	if format == "json" {
		err = writeJSON(a.stdout, v)
	} else {
		_, err = fmt.Fprintln(a.stdout, line)
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// staleGetError words a stale get that no node served before timeout: it
// needs no leader, so not "no leader reachable", but what the last node
// asked answered. A paused node serves no reads, stale ones included.
func staleGetError(key string, timeout time.Duration, err error) error {
	what := fmt.Sprintf("get %q --stale: no node served the read within %v", key, timeout)
	var ae *netlink.AttemptError
	switch {
	case !errors.As(err, &ae):
	case ae.Resp.GetCode() == pb.ErrorCode_PAUSED:
		what += fmt.Sprintf("; the last asked, %s, is paused (a paused node serves no reads, stale ones included)", ae.Node)
	case ae.Resp != nil:
		what += fmt.Sprintf("; the last asked, %s, answered %v", ae.Node, ae)
	default:
		what += fmt.Sprintf("; the last asked, %s: %v", ae.Node, ae)
	}
	return &wordedError{msg: what, err: err}
}

// wordedError is err, which errors.Is and As still find, worded anew.
type wordedError struct {
	msg string // what Error says
	err error  // what it wraps
}

func (e *wordedError) Error() string { return e.msg }
func (e *wordedError) Unwrap() error { return e.err }
