package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"
)

const (
	// healthyTimeout bounds the wait for a healthy cluster before a trial.
	healthyTimeout = 30 * time.Second
	// electionWait bounds the wait for a new leader within a trial.
	electionWait = 30 * time.Second
)

// electionWatcher is what a failover trial needs from a running cluster.
type electionWatcher interface {
	// healthyLeader waits until every member is up and all agree on one
	// leader, and returns it.
	healthyLeader(ctx context.Context) (member, error)
	// newLeader waits until a member other than old reports itself leader,
	// and returns when that was first seen, at or after since.
	newLeader(ctx context.Context, old member, since time.Time) (time.Time, error)
}

// signalFunc sends sig to process pid: syscall.Kill, or a fake in tests.
type signalFunc func(pid int, sig syscall.Signal) error

// measureFailover runs trials failover trials on w and returns how long
// each took: from the SIGSTOP of the leader to the first report of another
// member as leader.
func measureFailover(ctx context.Context, w electionWatcher, trials int, kill signalFunc, logf func(string, ...any)) ([]time.Duration, error) {
	took := make([]time.Duration, 0, trials)
	for i := range trials {
		d, err := failoverTrial(ctx, w, kill)
		if err != nil {
			return nil, fmt.Errorf("failover trial %d: %w", i+1, err)
		}
		logf("  trial %d: %.3f s", i+1, d.Seconds())
		took = append(took, d)
	}
	return took, nil
}

// failoverTrial waits for a healthy leader, stops it, waits for another,
// and resumes the stopped one whatever happens.
func failoverTrial(ctx context.Context, w electionWatcher, kill signalFunc) (took time.Duration, err error) {
	hctx, cancel := context.WithTimeout(ctx, healthyTimeout)
	old, err := w.healthyLeader(hctx)
	cancel()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := kill(old.pid, syscall.SIGSTOP); err != nil {
		return 0, fmt.Errorf("stop leader %s: %w", old.id, err)
	}
	defer func() {
		if cerr := kill(old.pid, syscall.SIGCONT); cerr != nil {
			err = errors.Join(err, fmt.Errorf("resume %s: %w", old.id, cerr))
		}
	}()
	nctx, cancel := context.WithTimeout(ctx, electionWait)
	defer cancel()
	at, err := w.newLeader(nctx, old, start)
	if err != nil {
		return 0, err
	}
	return at.Sub(start), nil
}

// median is the middle of ds, or the mean of the two middle ones; 0 when
// ds is empty.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}
