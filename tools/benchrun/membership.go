package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

const (
	// transferWait bounds one leadership transfer, from the command to the
	// new leader's first acknowledged write.
	transferWait = 30 * time.Second
	// writeTimeout bounds one put of the rolling restart's writer; a put
	// that fails is not an acknowledged write, and the writer goes on.
	writeTimeout = 10 * time.Second
	// catchUpWait bounds a restarted node's catch-up to the leader.
	catchUpWait = 60 * time.Second
)

// membership is the membership figures of a 3-node easykv run: leadership
// transfer, and a rolling restart's longest write pause with SIGTERM (the
// leader hands over first) and with SIGKILL (an election timeout).
type membership struct {
	transfers   []time.Duration // each transfer trial, command to first commit
	termPause   time.Duration   // longest write pause over the SIGTERM pass
	killPause   time.Duration   // longest write pause over the kill -9 pass
	termWrites  int             // writes acknowledged during the SIGTERM pass
	killWrites  int             // writes acknowledged during the kill -9 pass
	writeErrors int             // puts that failed over both passes
}

// leaderMover is what a transfer trial needs from a running cluster.
type leaderMover interface {
	// healthyLeader waits until every member is up and all agree on one
	// leader, and returns it.
	healthyLeader(ctx context.Context) (member, error)
	// followers are the members other than leader, in a fixed order.
	followers(leader member) []member
	// transfer asks leader to hand leadership to the member to, and
	// returns once the leader answers that to leads.
	transfer(ctx context.Context, leader member, to string) error
	// put writes one key and returns the id of the node that answered.
	put(ctx context.Context, key string) (string, error)
}

// measureTransfers runs trials leadership transfers on m and returns how
// long each took: from sending TRANSFER_LEADER to the first write the new
// leader acknowledged. Trial i names the (i mod 2)th follower, so that
// leadership moves round the cluster rather than back and forth.
func measureTransfers(ctx context.Context, m leaderMover, trials int, now func() time.Time, logf func(string, ...any)) ([]time.Duration, error) {
	took := make([]time.Duration, 0, trials)
	for i := range trials {
		d, to, err := transferTrial(ctx, m, i, now)
		if err != nil {
			return nil, fmt.Errorf("transfer trial %d: %w", i+1, err)
		}
		logf("  trial %d: to %s, %.3f s", i+1, to, d.Seconds())
		took = append(took, d)
	}
	return took, nil
}

// transferTrial is trial i: a healthy leader hands over to a follower, and
// puts go on until one is answered by that follower. A put answered by
// another node (leadership moved again) does not count.
func transferTrial(ctx context.Context, m leaderMover, i int, now func() time.Time) (time.Duration, string, error) {
	hctx, cancel := context.WithTimeout(ctx, healthyTimeout)
	old, err := m.healthyLeader(hctx)
	cancel()
	if err != nil {
		return 0, "", err
	}
	fs := m.followers(old)
	if len(fs) == 0 {
		return 0, "", fmt.Errorf("leader %s has no follower to hand over to", old.id)
	}
	to := fs[i%len(fs)].id
	ctx, cancel = context.WithTimeout(ctx, transferWait)
	defer cancel()
	start := now()
	if err := m.transfer(ctx, old, to); err != nil {
		return 0, to, fmt.Errorf("transfer %s → %s: %w", old.id, to, err)
	}
	for n := 0; ; n++ {
		by, err := m.put(ctx, "transfer-"+strconv.Itoa(i)+"-"+strconv.Itoa(n))
		if err != nil {
			return 0, to, fmt.Errorf("put after transfer to %s: %w", to, err)
		}
		if by == to {
			return now().Sub(start), to, nil
		}
	}
}

// restarter restarts the members of a running cluster one at a time.
type restarter interface {
	// size is the number of members, restarted as 0, 1, ... size-1.
	size() int
	// restart signals member i with sig, waits for its process to exit,
	// starts it again on the same data dir and returns once it has applied
	// the leader's commit index.
	restart(ctx context.Context, i int, sig syscall.Signal) error
}

// rollingPause restarts every member of r with sig in turn while put
// writes distinct keys one after another, and returns the longest time
// without an acknowledged write over the whole pass, with how many writes
// were acknowledged and how many failed. Before the next member goes down
// the writer must get a write through, as an operator would check that
// the cluster serves: otherwise two leader restarts in a row would merge
// into one pause, and the figure would be the pass's, not a restart's.
func rollingPause(ctx context.Context, r restarter, sig syscall.Signal, put func(ctx context.Context, key string) error, now func() time.Time) (pause time.Duration, acked, failed int, err error) {
	wctx, stop := context.WithCancel(ctx)
	var (
		wg   sync.WaitGroup
		acks = newAckLog()
	)
	start := now()
	wg.Go(func() { failed = writeLoop(wctx, put, now, acks) })
	err = restartAll(ctx, r, sig, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, writeTimeout)
		defer cancel()
		if err := acks.waitBeyond(ctx, acks.count()); err != nil {
			return fmt.Errorf("no write acknowledged after the restart: %w", err)
		}
		return nil
	})
	end := now()
	stop()
	wg.Wait()
	return longestPause(start, acks.times, end), len(acks.times), failed, err
}

// restartAll restarts members 0 to size-1 of r with sig, in turn, and
// calls settled after each before going on.
func restartAll(ctx context.Context, r restarter, sig syscall.Signal, settled func(context.Context) error) error {
	for i := range r.size() {
		if err := r.restart(ctx, i, sig); err != nil {
			return fmt.Errorf("restart %d of %d (%s): %w", i+1, r.size(), sigName(sig), err)
		}
		if err := settled(ctx); err != nil {
			return fmt.Errorf("restart %d of %d (%s): %w", i+1, r.size(), sigName(sig), err)
		}
	}
	return nil
}

// ackLog is when each write of the writer was acknowledged; safe for the
// writer and a waiter.
type ackLog struct {
	mu    sync.Mutex
	times []time.Time   // in order
	next  chan struct{} // closed at the next ack
}

func newAckLog() *ackLog { return &ackLog{next: make(chan struct{})} }

// add records an ack at t.
func (l *ackLog) add(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.times = append(l.times, t)
	close(l.next)
	l.next = make(chan struct{})
}

// count is how many writes were acknowledged so far.
func (l *ackLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.times)
}

// waitBeyond waits until more than n writes were acknowledged.
func (l *ackLog) waitBeyond(ctx context.Context, n int) error {
	for {
		l.mu.Lock()
		done, next := len(l.times) > n, l.next
		l.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// writeLoop puts keys w-0, w-1, ... one at a time until ctx ends, records
// when each acknowledged write was acknowledged in acks, and returns how
// many failed (the one cut short by the end of ctx not included).
func writeLoop(ctx context.Context, put func(ctx context.Context, key string) error, now func() time.Time, acks *ackLog) (failed int) {
	for n := 0; ctx.Err() == nil; n++ {
		pctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := put(pctx, "w-"+strconv.Itoa(n))
		cancel()
		switch {
		case err == nil:
			acks.add(now())
		case ctx.Err() == nil:
			failed++
		}
	}
	return failed
}

// longestPause is the longest interval between consecutive instants of
// start, acks..., end: the longest time the writer went without an
// acknowledged write, the whole span when none was. acks outside the span
// are ignored.
func longestPause(start time.Time, acks []time.Time, end time.Time) time.Duration {
	ts := []time.Time{start}
	for _, a := range acks {
		if a.After(start) && a.Before(end) {
			ts = append(ts, a)
		}
	}
	ts = append(ts, end)
	slices.SortFunc(ts, time.Time.Compare)
	var longest time.Duration
	for i := 1; i < len(ts); i++ {
		longest = max(longest, ts[i].Sub(ts[i-1]))
	}
	return longest
}

// sigName is "SIGTERM" or "SIGKILL" (syscall's names read "terminated",
// "killed"), else the signal's own description.
func sigName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGKILL:
		return "SIGKILL"
	}
	return sig.String()
}

// spread is the smallest and largest of ds; zeros when ds is empty.
func spread(ds []time.Duration) (lo, hi time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	return slices.Min(ds), slices.Max(ds)
}

// easykvMembership drives transfers and restarts on an easykv cluster
// through its per-node clients and one ClusterClient for the writes.
type easykvMembership struct {
	c      *easykvCluster
	bin    string                 // the directory of easykv-node, for restarts
	writer *netlink.ClusterClient // the one client writing
	logf   func(string, ...any)   // progress
}

var (
	_ leaderMover = (*easykvMembership)(nil)
	_ restarter   = (*easykvMembership)(nil)
)

// newEasykvMembership opens the writing client on c.
func newEasykvMembership(c *easykvCluster, bin string, logf func(string, ...any)) (*easykvMembership, error) {
	w, err := netlink.NewClusterClient(netlink.ClusterConfig{
		Identity: netlink.Identity{Cluster: clusterName, NodeID: "easykv-benchrun-writer"},
		Nodes:    c.nodeAddrs(),
		Timeout:  writeTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("writer: %w", err)
	}
	return &easykvMembership{c: c, bin: bin, writer: w, logf: logf}, nil
}

func (m *easykvMembership) close() { m.writer.Close() }

func (m *easykvMembership) healthyLeader(ctx context.Context) (member, error) {
	return m.c.healthyLeader(ctx)
}

func (m *easykvMembership) followers(leader member) []member {
	var fs []member
	for _, nd := range m.c.nodes {
		if nd.id != leader.id {
			fs = append(fs, member{id: nd.id, addr: nd.addr, pid: nd.cmd.Process.Pid})
		}
	}
	return fs
}

// transfer sends TRANSFER_LEADER on benchrun's open connection to the
// leader, so that no dial is timed; the leader answers once to leads.
func (m *easykvMembership) transfer(ctx context.Context, leader member, to string) error {
	i := slices.IndexFunc(m.c.nodes, func(nd *easykvNode) bool { return nd.id == leader.id })
	if i < 0 {
		return fmt.Errorf("unknown leader %s", leader.id)
	}
	resp, err := m.c.clients[i].AdminRequest(ctx, &pb.AdminRequest{Command: pb.AdminCommand_TRANSFER_LEADER, MemberId: to})
	if err != nil {
		return err
	}
	if !resp.GetOk() {
		return fmt.Errorf("%w by %s: %s", netlink.ErrChangeRefused, leader.id, resp.GetError())
	}
	return nil
}

// put writes key through the writing client, which follows the new
// leader's NOT_LEADER hint as any client would.
func (m *easykvMembership) put(ctx context.Context, key string) (string, error) {
	res, err := m.writer.Put(ctx, key, "v")
	return res.NodeID, err
}

// writePut is put for the rolling restart's writer.
func (m *easykvMembership) writePut(ctx context.Context, key string) error {
	_, err := m.put(ctx, key)
	return err
}

func (m *easykvMembership) size() int { return len(m.c.nodes) }

// restart signals node i, waits for it to exit (SIGKILL after stopTimeout
// if a SIGTERM is not enough), starts it with the same command line and
// data dir, and waits until it has applied the leader's commit index.
func (m *easykvMembership) restart(ctx context.Context, i int, sig syscall.Signal) error {
	nd := m.c.nodes[i]
	role := "follower"
	if st, err := statusOf(ctx, m.c, i); err == nil && st.GetRole() == pb.Role_ROLE_LEADER {
		role = "leader"
	}
	start := time.Now()
	m.c.clients[i].Close()
	if err := nd.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s: %w", nd.id, err)
	}
	select {
	case <-nd.exited:
	case <-time.After(stopTimeout):
		nd.cmd.Process.Kill()
		<-nd.exited
		return fmt.Errorf("%s did not exit within %s of %s", nd.id, stopTimeout, sigName(sig))
	}
	if err := m.c.restartNode(ctx, m.bin, i); err != nil {
		return err
	}
	// The leader may be i itself: after a kill -9 of the leader, the
	// restarted node can win the election.
	st, err := m.c.leaderStatus(ctx, -1)
	if err != nil {
		return err
	}
	if _, err := m.c.waitApplied(ctx, i, st.GetCommitIndex(), catchUpWait); err != nil {
		return err
	}
	m.logf("  %s (%s): %s, restarted and caught up to %s's commit index %d in %.3f s", nd.id, role, sigName(sig), st.GetId(), st.GetCommitIndex(), time.Since(start).Seconds())
	return nil
}

// measureMembership runs the transfer trials and both rolling-restart
// passes on the 3-node cluster kv.
func measureMembership(ctx context.Context, kv *easykvCluster, bin string, trials int, logf func(string, ...any)) (*membership, error) {
	m, err := newEasykvMembership(kv, bin, logf)
	if err != nil {
		return nil, err
	}
	defer m.close()
	res := &membership{}
	logf("easykv, %d nodes: leadership transfer, %d trials", len(kv.nodes), trials)
	if res.transfers, err = measureTransfers(ctx, m, trials, time.Now, logf); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		sig    syscall.Signal
		pause  *time.Duration
		writes *int
	}{{syscall.SIGTERM, &res.termPause, &res.termWrites}, {syscall.SIGKILL, &res.killPause, &res.killWrites}} {
		if _, err := kv.healthyLeader(ctx); err != nil {
			return nil, fmt.Errorf("before the %s rolling restart: %w", sigName(p.sig), err)
		}
		logf("easykv, %d nodes: rolling restart with %s under one writing client", len(kv.nodes), sigName(p.sig))
		pause, acked, failed, err := rollingPause(ctx, m, p.sig, m.writePut, time.Now)
		if err != nil {
			return nil, fmt.Errorf("rolling restart (%s): %w", sigName(p.sig), err)
		}
		logf("  longest write pause %.3f s; %d writes acknowledged, %d failed", pause.Seconds(), acked, failed)
		*p.pause, *p.writes = pause, acked
		res.writeErrors += failed
	}
	if _, err := kv.healthyLeader(ctx); err != nil {
		return nil, fmt.Errorf("after the rolling restarts: %w", err)
	}
	return res, nil
}
