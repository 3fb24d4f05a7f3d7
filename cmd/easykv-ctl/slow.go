package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// checkSlow validates slow's factor before cluster.yaml is read.
func checkSlow(args []string, _ *cmdFlags) error {
	_, err := slowFactor(args[0])
	return err
}

// slowFactor is netlink.SlowFactor with its error as a usage error.
func slowFactor(arg string) (int64, error) {
	f, err := netlink.SlowFactor(arg)
	if err != nil {
		return 0, usagef("%v", err)
	}
	return f, nil
}

// runSlow sends SLOW_MOTION to every node (cluster.yaml's and the members
// they report), since time must run at one speed across the cluster: one
// line per node. It fails with exitUnreachable when no node could be
// told, and exitFailed when any node refused or was not reached.
func runSlow(ctx context.Context, a *app, inv invocation) error {
	f, err := slowFactor(inv.args[0])
	if err != nil {
		return err
	}
	rows := a.survey(ctx, inv)
	results := make([]adminResult, len(rows))
	var wg sync.WaitGroup
	for i, r := range rows {
		wg.Go(func() {
			results[i] = adminResult{ID: r.ID}
			c, err := a.dial(ctx, r.Addr, inv.identity())
			if err != nil {
				results[i].Error = err.Error()
				return
			}
			defer c.Close()
			resp, err := c.AdminRequest(ctx, &pb.AdminRequest{Command: pb.AdminCommand_SLOW_MOTION, SlowFactor: f})
			if err != nil {
				results[i].Error = err.Error()
				return
			}
			results[i].OK, results[i].Error = resp.GetOk(), resp.GetError()
		})
	}
	wg.Wait()
	if inv.output == "json" {
		if err := writeJSON(a.stdout, results); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	told := 0
	for _, r := range results {
		if r.OK {
			told++
		}
		if inv.output == "json" {
			continue
		}
		if r.OK {
			fmt.Fprintf(a.stdout, "%s: slow ×%d\n", r.ID, f)
		} else {
			fmt.Fprintf(a.stdout, "%s: not told: %s\n", r.ID, oneLine(r.Error))
		}
	}
	switch {
	case told == 0:
		return unreachable(fmt.Errorf("slow %d: no node could be told", f))
	case told < len(results):
		return fmt.Errorf("slow %d: %d of %d nodes told; time runs at two speeds until the others are", f, told, len(results))
	}
	return nil
}
