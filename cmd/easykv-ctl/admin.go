package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// adminResult is the JSON answer of pause and resume.
type adminResult struct {
	ID    string `json:"id"`              // the node the command went to
	OK    bool   `json:"ok"`              // whether the node carried it out
	Error string `json:"error,omitempty"` // the node's reason when it refused
}

// adminCommand returns the command that sends cmd to the node named by the
// single argument: "OK" on success, exitFailed when the node refuses (the
// command or the handshake), exitUnreachable when it cannot be asked.
func adminCommand(cmd pb.AdminCommand) func(ctx context.Context, a *app, inv invocation) error {
	verb := strings.ToLower(cmd.String())
	return func(ctx context.Context, a *app, inv invocation) error {
		id := inv.args[0]
		node, ok := findNode(inv.cfg, id)
		if !ok {
			return usagef("unknown node %q (nodes: %s)", id, strings.Join(nodeIDs(inv.cfg), ", "))
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
		resp, err := c.Admin(ctx, cmd)
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
