package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// adminResult is the JSON answer of an admin command.
type adminResult struct {
	ID    string `json:"id"`              // the node the command went to
	OK    bool   `json:"ok"`              // whether the node carried it out
	Error string `json:"error,omitempty"` // the node's reason when it refused
}

// adminRequestFunc builds the request of an admin command from cluster.yaml,
// the target node's id and the arguments after it; its error is a usage
// error.
type adminRequestFunc func(cfg *cluster.Config, id string, args []string) (*pb.AdminRequest, error)

// adminCommand returns the command that sends cmd, which takes no arguments
// of its own, to the node named by the single argument.
func adminCommand(cmd pb.AdminCommand) func(ctx context.Context, a *app, inv invocation) error {
	return adminCommandWith(cmd, func(*cluster.Config, string, []string) (*pb.AdminRequest, error) {
		return &pb.AdminRequest{Command: cmd}, nil
	})
}

// adminCommandWith returns the command that sends the request build makes
// to the node named by the first argument: "OK" on success, exitFailed when
// the node refuses (the command or the handshake), exitUnreachable when it
// cannot be asked, exitUsage for a bad argument.
func adminCommandWith(cmd pb.AdminCommand, build adminRequestFunc) func(ctx context.Context, a *app, inv invocation) error {
	verb := netlink.AdminVerb(cmd)
	return func(ctx context.Context, a *app, inv invocation) error {
		id := inv.args[0]
		node, ok := findNode(inv.cfg, id)
		if !ok {
			return usagef("unknown node %q (nodes: %s)", id, strings.Join(nodeIDs(inv.cfg), ", "))
		}
		req, err := build(inv.cfg, id, inv.args[1:])
		if err != nil {
			return err
		}
		c, err := a.dial(ctx, node.Addr, inv.identity())
		if errors.Is(err, netlink.ErrRefused) {
			// The node answered and said no (wrong cluster or token):
			// a refusal, not an outage.
			return fmt.Errorf("%s %s: %w", verb, id, err)
		}
		if err != nil {
			return unreachable(fmt.Errorf("%s %s: %w", verb, id, err))
		}
		defer c.Close()
		resp, err := c.AdminRequest(ctx, req)
		if err != nil {
			return unreachable(fmt.Errorf("%s %s: %w", verb, id, err))
		}
		res := adminResult{ID: id, OK: resp.GetOk(), Error: resp.GetError()}
		if err := writeAdmin(a.stdout, inv.output, res); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		if !res.OK {
			return fmt.Errorf("%s %s: refused: %s", verb, id, res.Error)
		}
		return nil
	}
}

// isolateRequest cuts node id off from the peers named in args, which must
// be other nodes of the cluster.
func isolateRequest(cfg *cluster.Config, id string, peers []string) (*pb.AdminRequest, error) {
	for _, p := range peers {
		if p == id {
			return nil, usagef("isolate: %s cannot be isolated from itself", id)
		}
		if _, ok := findNode(cfg, p); !ok {
			return nil, usagef("isolate: unknown peer %q (nodes: %s)", p, strings.Join(nodeIDs(cfg), ", "))
		}
	}
	return &pb.AdminRequest{Command: pb.AdminCommand_ISOLATE, Peers: peers}, nil
}

// delayRequest sets node id's outbound delay to the Go duration in args,
// whole milliseconds from 0 (which clears it) to netlink.MaxFaultDelay.
func delayRequest(_ *cluster.Config, _ string, args []string) (*pb.AdminRequest, error) {
	ms, err := faultMillis("delay", "delay", args[0], "200ms, 1.5s", netlink.MaxFaultDelay)
	if err != nil {
		return nil, err
	}
	return &pb.AdminRequest{Command: pb.AdminCommand_DELAY, DelayMs: ms}, nil
}

// maxDiskStall is the longest stall slow-disk asks for: the node's own
// bound (raftnode.MaxDiskStall), which the node checks again.
const maxDiskStall = netlink.MaxDiskStall

// slowDiskRequest sets how long each of node id's disk syncs stalls to the
// Go duration in args, whole milliseconds from 0 (which clears it) to
// maxDiskStall.
func slowDiskRequest(_ *cluster.Config, _ string, args []string) (*pb.AdminRequest, error) {
	ms, err := faultMillis("slow-disk", "stall", args[0], "1500ms, 2s", maxDiskStall)
	if err != nil {
		return nil, err
	}
	return &pb.AdminRequest{Command: pb.AdminCommand_SLOW_DISK, StallMs: ms}, nil
}

// faultMillis is netlink.FaultMillis with its errors as usage errors.
func faultMillis(verb, what, arg, examples string, limit time.Duration) (int64, error) {
	ms, err := netlink.FaultMillis(verb, what, arg, examples, limit)
	if err != nil {
		return 0, usagef("%v", err)
	}
	return ms, nil
}

// findNode looks a node up by id in cfg.
func findNode(cfg *cluster.Config, id string) (cluster.Node, bool) {
	for _, n := range cfg.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return cluster.Node{}, false
}

// nodeIDs lists cfg's node ids in file order.
func nodeIDs(cfg *cluster.Config) []string {
	ids := make([]string, len(cfg.Nodes))
	for i, n := range cfg.Nodes {
		ids[i] = n.ID
	}
	return ids
}
