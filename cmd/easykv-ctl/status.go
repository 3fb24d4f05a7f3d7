package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/netlink"
)

// runStatus asks every node for its status at once and prints one row per
// node: cluster.yaml's in file order, then the members added since (survey).
// A node of the file that the leader's configuration leaves out is shown
// as removed. It fails with exitUnreachable only when no node answered: a
// partly down cluster is exactly what status is for.
func runStatus(ctx context.Context, a *app, inv invocation) error {
	rows := a.survey(ctx, inv)

	if err := writeStatus(a.stdout, inv.output, rows); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	reached, refused := 0, 0
	for _, r := range rows {
		if r.refused {
			refused++
		}
		if r.Reachable {
			reached++
		} else if inv.output == "table" {
			// The table has no room for reasons; JSON carries them in "error".
			fmt.Fprintf(a.stderr, "easykv-ctl: %s (%s): %s\n", r.ID, r.Addr, oneLine(r.Error))
		}
	}
	if reached == 0 {
		if refused == len(rows) {
			// Every node answered, and said no: a refusal, not an outage.
			return fmt.Errorf("every node refused the connection: %s", oneLine(rows[0].Error))
		}
		return unreachable(fmt.Errorf("no node reachable (%d tried)", len(rows)))
	}
	return nil
}

// queryStatus dials one node and fetches its status; any failure becomes an
// unreachable row rather than an error.
func (a *app) queryStatus(ctx context.Context, n cluster.Node, id netlink.Identity) statusRow {
	c, err := a.dial(ctx, n.Addr, id)
	if err != nil {
		// netlink's dial errors already name the address.
		row := unreachableRow(n, err)
		row.refused = errors.Is(err, netlink.ErrRefused)
		return row
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		return unreachableRow(n, fmt.Errorf("status: %w", err))
	}
	return statusRowOf(n, st)
}
