package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// healthRow is one node's health, as `health -o json` prints it.
type healthRow struct {
	ID      string `json:"id"`
	Addr    string `json:"addr"`
	Healthy bool   `json:"healthy"`
	Leader  string `json:"leader"` // the leader it follows, "" if none
	Term    int64  `json:"term"`
	Applied int64  `json:"applied_index"`
	Commit  int64  `json:"commit_index"`
	Reason  string `json:"reason,omitempty"` // why it is not healthy
}

// errNoLeader is why health fails when no node reports a leader.
var errNoLeader = errors.New("no node reports a leader: the cluster cannot serve writes or linearizable reads")

// runHealth prints one line per node — healthy when it answers, follows a
// leader, is not paused and is a member — and exits 3 when no node
// reports a leader, 1 when some node is unhealthy, 0 when all are
// healthy.
func runHealth(ctx context.Context, a *app, inv invocation) error {
	statuses := a.survey(ctx, inv)
	rows := make([]healthRow, len(statuses))
	leaderKnown, unhealthy := false, 0
	for i, s := range statuses {
		rows[i] = healthOf(s)
		leaderKnown = leaderKnown || rows[i].Leader != ""
		if !rows[i].Healthy {
			unhealthy++
		}
	}
	if err := writeHealth(a.stdout, inv.output, rows); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	switch {
	case !leaderKnown:
		return unreachable(errNoLeader)
	case unhealthy > 0:
		return fmt.Errorf("%d of %d nodes unhealthy", unhealthy, len(rows))
	}
	return nil
}

// healthOf judges one node from its status row.
func healthOf(s statusRow) healthRow {
	h := healthRow{ID: s.ID, Addr: s.Addr, Leader: s.Leader, Term: s.Term, Applied: s.AppliedIndex, Commit: s.CommitIndex}
	switch {
	case !s.Reachable:
		h.Reason = "unreachable: " + oneLine(s.Error)
	case s.Member == "removed":
		h.Reason = "removed from the cluster"
	case s.Paused:
		h.Reason = "paused by an admin command"
	case s.Leader == "":
		h.Reason = "no leader"
	default:
		h.Healthy = true
	}
	return h
}

func writeHealth(w io.Writer, format string, rows []healthRow) error {
	if format == "json" {
		return writeJSON(w, rows)
	}
	var b strings.Builder
	for _, r := range rows {
		if r.Healthy {
			fmt.Fprintf(&b, "%s %s healthy: leader %s, term %d, applied %d of %d\n", r.ID, r.Addr, r.Leader, r.Term, r.Applied, r.Commit)
			continue
		}
		fmt.Fprintf(&b, "%s %s unhealthy: %s\n", r.ID, r.Addr, r.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
