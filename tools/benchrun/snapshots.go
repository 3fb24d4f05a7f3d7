package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// The snapshot section of the report measures log compaction and
// InstallSnapshot on real 3-node clusters: disk use under a steady
// overwrite load, the restart time of a follower, the catch-up of a
// follower that was down while a large state was written, the leader's put
// throughput while it streams a snapshot, and the peak RSS of sender and
// receiver.

const (
	// snapClients and snapConns are the load of every put run here.
	snapClients, snapConns = 64, 16
	// noSnapshotEntries is snapshot_entries for "no snapshots": the
	// largest value cluster.yaml accepts.
	noSnapshotEntries = 1_000_000_000
	// catchUpTimeout bounds a restarted follower's catch-up.
	catchUpTimeout = 5 * time.Minute
	// compactTimeout bounds the wait for the leader to compact past a
	// stopped follower.
	compactTimeout = 2 * time.Minute
	// mib is a mebibyte.
	mib = 1 << 20
)

// snapScale is the size of the snapshot section's runs.
type snapScale struct {
	entries    int // N: snapshot_entries of the disk and restart runs
	diskKeys   int // key space of the disk run
	diskSteps  int // batches of N puts in the disk run
	restartAt  int // part 2 restarts a follower after restartAt×N puts (and N/2)
	segment    int // segment_size of the disk and restart runs
	bigKeys    int // key space of the catch-up run
	bigOps     int // puts written while the follower is down
	bigEntries int // snapshot_entries of the catch-up run
	bigSegment int // segment_size of the catch-up run
	loadOps    int // puts of each throughput run (with and without a transfer)
}

// snapshotScale is the full run, or --quick's small one.
func snapshotScale(quick bool) snapScale {
	if quick {
		return snapScale{entries: 1_000, diskKeys: 2_000, diskSteps: 20, restartAt: 10, segment: 1 * mib,
			bigKeys: 50_000, bigOps: 100_000, bigEntries: 10_000, bigSegment: 1 * mib, loadOps: 3_000}
	}
	return snapScale{entries: 10_000, diskKeys: 2_000, diskSteps: 20, restartAt: 10, segment: 1 * mib,
		bigKeys: 1_000_000, bigOps: 2_000_000, bigEntries: 100_000, bigSegment: 4 * mib, loadOps: 20_000}
}

// snapConfig is the cluster.yaml lines of a run: snapshots every entries
// applied entries, half of them kept below each (the defaults' ratio).
func snapConfig(entries, segment int) string {
	return fmt.Sprintf("snapshot_entries: %d\nsnapshot_margin: %d\nsegment_size: %d\n", entries, entries/2, segment)
}

// snapReport is every figure of the snapshot section.
type snapReport struct {
	scale snapScale

	// 1. disk use
	diskPuts  []int       // puts written at each measurement
	diskMiB   [][]float64 // [measurement][node] data-dir size
	diskNodes []string    // node ids, the columns

	// 2. restart
	withSnap, noSnap restartResult

	// 3. catch-up, 5. RSS
	writeOps    float64 // ops/s of the big write, follower down
	catchUp     catchUpResult
	senderRSS   rss // leader, before and after the transfer
	receiverRSS rss // the restarted follower, after catching up

	// 4. throughput
	idle, streaming result  // puts without a transfer and during one
	overlap         float64 // fraction of the streaming run during which the transfer ran
	loadNote        string  // why the streaming run saw no transfer, if so
}

// restartResult is one timed follower restart.
type restartResult struct {
	node     string        // the follower
	target   int64         // its commit index before the stop
	took     time.Duration // from the new process's start to applied ≥ target
	snapshot int64         // its snapshot index when it stopped
	first    int64         // its log's first index when it stopped
	dataMiB  float64       // its data dir when it stopped
}

// replayed is how many entries the restart had to apply from the log.
func (r restartResult) replayed() int64 { return r.target - r.snapshot }

// catchUpResult is a follower catching up by snapshot.
type catchUpResult struct {
	node, leader string        // receiver and sender
	keys         float64       // expected distinct keys written
	target       int64         // the leader's commit index at the restart
	took         time.Duration // restart to applied ≥ target
	snapIndex    int64         // index of the snapshot sent
	snapBytes    int64         // its size, from the leader's "snapshot sent" line
	transfer     time.Duration // first sight of the transfer in a status to the "snapshot sent" line
	leaderBps    int64         // the leader's own bytes_per_second, last seen
	installed    bool          // the follower's log says "snapshot installed"
	note         string        // what the logs say went wrong, if anything
}

// rss is a process's resident set in KiB, as /proc/<pid>/status says.
type rss struct {
	hwmBefore, hwmAfter int64 // VmHWM
	rssBefore, rssAfter int64 // VmRSS
}

// runSnapshots runs the snapshot section into r.
func runSnapshots(ctx context.Context, opts options, r *snapReport, logf func(string, ...any)) error {
	r.scale = snapshotScale(opts.quick)
	if err := runDisk(ctx, opts, r, logf); err != nil {
		return fmt.Errorf("disk use: %w", err)
	}
	if err := runRestarts(ctx, opts, r, logf); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	if err := runCatchUp(ctx, opts, r, logf); err != nil {
		return fmt.Errorf("catch-up: %w", err)
	}
	return nil
}

// withCluster starts a 3-node cluster with extra cluster.yaml lines, runs
// f on it, and stops it, keeping its directory when f failed or with
// --keep-logs.
func withCluster(ctx context.Context, opts options, extra string, logf func(string, ...any), f func(*easykvCluster) error) (err error) {
	kv, err := startEasykvWith(ctx, opts.bin, 3, extra)
	if err != nil {
		return err
	}
	defer func() {
		if dir := kv.stop(!opts.keepLogs && err == nil); dir != "" {
			logf("snapshots: node logs kept in %s", dir)
		}
	}()
	return f(kv)
}

// runDisk is part 1: diskSteps batches of N puts over a small key space,
// every node's data dir measured after each.
func runDisk(ctx context.Context, opts options, r *snapReport, logf func(string, ...any)) error {
	sc := r.scale
	logf("snapshots: disk use, %d×%d puts over %d keys, snapshot_entries %d, segment_size %d", sc.diskSteps, sc.entries, sc.diskKeys, sc.entries, sc.segment)
	return withCluster(ctx, opts, snapConfig(sc.entries, sc.segment), logf, func(kv *easykvCluster) error {
		for _, nd := range kv.nodes {
			r.diskNodes = append(r.diskNodes, nd.id)
		}
		w := workload{name: "put, 64 clients", op: "put", clients: snapClients, conns: snapConns, total: sc.entries}
		for step := 1; step <= sc.diskSteps; step++ {
			if _, _, err := kv.benchSpace(ctx, w, sc.diskKeys); err != nil {
				return err
			}
			sizes, err := kv.dataSizes()
			if err != nil {
				return err
			}
			r.diskPuts = append(r.diskPuts, step*sc.entries)
			r.diskMiB = append(r.diskMiB, sizes)
			logf("  %d puts: %s MiB", step*sc.entries, joinFloats(sizes))
		}
		return nil
	})
}

// restartPuts is how many puts part 2 writes before the restart: 10×N and
// half of N more, so that the newest snapshot is some way behind and the
// restart replays part of the log after it, as it would on average.
func (sc snapScale) restartPuts() int {
	return sc.restartAt*sc.entries + sc.entries/2
}

// runRestarts is part 2: restartPuts puts over the small key space, then a
// follower restart, with snapshots every N entries and without snapshots.
func runRestarts(ctx context.Context, opts options, r *snapReport, logf func(string, ...any)) error {
	sc := r.scale
	for _, entries := range []int{sc.entries, noSnapshotEntries} {
		logf("snapshots: restart after %d puts, snapshot_entries %d", sc.restartPuts(), entries)
		err := withCluster(ctx, opts, snapConfig(entries, sc.segment), logf, func(kv *easykvCluster) error {
			w := workload{name: "put, 64 clients", op: "put", clients: snapClients, conns: snapConns, total: sc.restartPuts()}
			if _, _, err := kv.benchSpace(ctx, w, sc.diskKeys); err != nil {
				return err
			}
			res, err := timedRestart(ctx, kv, opts.bin, logf)
			if entries == noSnapshotEntries {
				r.noSnap = res
			} else {
				r.withSnap = res
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// dataSizes is every node's data-dir size in MiB.
func (c *easykvCluster) dataSizes() ([]float64, error) {
	sizes := make([]float64, len(c.nodes))
	for i := range c.nodes {
		b, err := dirSize(c.nodeDir(i))
		if err != nil {
			return nil, err
		}
		sizes[i] = float64(b) / mib
	}
	return sizes, nil
}

// timedRestart stops a follower with SIGTERM, starts it again and times
// it from the new process's start until it has applied the commit index
// it had before the stop.
func timedRestart(ctx context.Context, kv *easykvCluster, bin string, logf func(string, ...any)) (restartResult, error) {
	leader, err := kv.healthyLeader(ctx)
	if err != nil {
		return restartResult{}, err
	}
	i := kv.followerOf(leader.id)
	st, err := statusOf(ctx, kv, i)
	if err != nil {
		return restartResult{}, err
	}
	b, err := dirSize(kv.nodeDir(i))
	if err != nil {
		return restartResult{}, err
	}
	res := restartResult{node: kv.nodes[i].id, target: st.GetCommitIndex(), snapshot: st.GetSnapshotIndex(), first: st.GetFirstIndex(), dataMiB: float64(b) / mib}
	kv.stopNode(i)
	start := time.Now()
	if err := kv.restartNode(ctx, bin, i); err != nil {
		return res, err
	}
	if _, err := kv.waitApplied(ctx, i, res.target, catchUpTimeout); err != nil {
		return res, err
	}
	res.took = time.Since(start)
	logf("  restart of %s: %.3f s to apply %d (snapshot %d, %d entries from the log)", res.node, res.took.Seconds(), res.target, res.snapshot, res.replayed())
	_, err = kv.healthyLeader(ctx)
	return res, err
}

// runCatchUp is parts 3, 4 and 5 on one cluster: a follower down while
// bigOps puts fill a bigKeys space, restarted alone (catch-up time,
// snapshot size and rate, RSS); then down again while the leader compacts
// past it, and restarted at the start of a put run (throughput with a
// transfer under way, against a run just before without one).
func runCatchUp(ctx context.Context, opts options, r *snapReport, logf func(string, ...any)) error {
	sc := r.scale
	return withCluster(ctx, opts, snapConfig(sc.bigEntries, sc.bigSegment), logf, func(kv *easykvCluster) error {
		leader, err := kv.healthyLeader(ctx)
		if err != nil {
			return err
		}
		f := kv.followerOf(leader.id)
		fid := kv.nodes[f].id
		r.catchUp = catchUpResult{node: fid, keys: expectedKeys(sc.bigKeys, sc.bigOps)}
		if err := kv.stopBehind(ctx, f); err != nil {
			return err
		}
		logf("snapshots: %s down; %d puts over %d keys (snapshot_entries %d, segment_size %d)", fid, sc.bigOps, sc.bigKeys, sc.bigEntries, sc.bigSegment)
		w := workload{name: "put, 64 clients", op: "put", clients: snapClients, conns: snapConns, total: sc.bigOps}
		res, _, err := kv.benchSpace(ctx, w, sc.bigKeys)
		if err != nil {
			return err
		}
		r.writeOps = res.OpsPerSec
		logf("  %.1f ops/s", res.OpsPerSec)
		// No snapshot save under way on the live nodes, so that the
		// transfer does not share the machine with one.
		if err := kv.quietWindow(ctx, f, sc.bigEntries, 0, sc.bigKeys); err != nil {
			return err
		}
		l, lst, err := kv.waitCompacted(ctx, f)
		if err != nil {
			return err
		}

		// 3 and 5: the restart alone.
		r.catchUp.leader, r.catchUp.target = kv.nodes[l].id, lst.GetCommitIndex()
		lpid := kv.nodes[l].cmd.Process.Pid
		if r.senderRSS.hwmBefore, r.senderRSS.rssBefore, err = procMem(lpid); err != nil {
			return err
		}
		logf("snapshots: restart %s, behind %s's first index %d", fid, r.catchUp.leader, lst.GetFirstIndex())
		start := time.Now()
		if err := kv.restartNode(ctx, opts.bin, f); err != nil {
			return err
		}
		tw := kv.watchTransfer(ctx, l, f)
		_, err = kv.waitApplied(ctx, f, r.catchUp.target, catchUpTimeout)
		seen := tw.stop()
		if err != nil {
			return err
		}
		r.catchUp.took = time.Since(start)
		if r.senderRSS.hwmAfter, r.senderRSS.rssAfter, err = procMem(lpid); err != nil {
			return err
		}
		if r.receiverRSS.hwmAfter, r.receiverRSS.rssAfter, err = procMem(kv.nodes[f].cmd.Process.Pid); err != nil {
			return err
		}
		sent, note, err := transferEnd(kv.logPath(l), kv.logPath(f), kv.nodes[l].id, fid, start)
		if err != nil {
			return err
		}
		r.catchUp.note = strings.TrimPrefix(note, "; ")
		r.catchUp.snapIndex, r.catchUp.snapBytes, r.catchUp.leaderBps = sent.index, sent.bytes, seen.bps
		if !seen.first.IsZero() && sent.at.After(seen.first) {
			r.catchUp.transfer = sent.at.Sub(seen.first)
		}
		r.catchUp.installed = logHas(kv.logPath(f), `msg="snapshot installed"`)
		logf("  caught up in %.3f s; snapshot %d bytes at %d, transfer %.3f s", r.catchUp.took.Seconds(), sent.bytes, sent.index, r.catchUp.transfer.Seconds())
		if _, err := kv.healthyLeader(ctx); err != nil {
			return err
		}

		// 4: throughput without, then with a transfer.
		leader, err = kv.healthyLeader(ctx)
		if err != nil {
			return err
		}
		f = kv.followerOf(leader.id)
		if err := kv.stopBehind(ctx, f); err != nil {
			return err
		}
		fill := workload{name: "put, 64 clients", op: "put", clients: snapClients, conns: snapConns, total: sc.bigEntries}
		logf("snapshots: %s down; puts until the leader compacts past it", kv.nodes[f].id)
		for round := 1; ; round++ {
			if round > 20 {
				return fmt.Errorf("the leader did not compact past %s's last index %d after %d puts", kv.nodes[f].id, kv.nodes[f].lastIndex, (round-1)*fill.total)
			}
			if _, _, err := kv.benchSpace(ctx, fill, sc.bigKeys); err != nil {
				return err
			}
			lst, err := kv.leaderStatus(ctx, f)
			if err != nil {
				return err
			}
			if lst.GetFirstIndex() > kv.nodes[f].lastIndex+1 {
				break
			}
		}
		load := workload{name: "put, 64 clients", op: "put", clients: snapClients, conns: snapConns, total: sc.loadOps}
		// Neither run may start a snapshot save or share the machine with
		// one: both then measure the same thing but for the transfer.
		if err := kv.quietWindow(ctx, f, sc.bigEntries, 2*sc.loadOps+sc.loadOps/2, sc.bigKeys); err != nil {
			return err
		}
		if r.idle, _, err = kv.benchSpace(ctx, load, sc.bigKeys); err != nil {
			return err
		}
		logf("  no transfer: %.1f ops/s", r.idle.OpsPerSec)
		l, _, err = kv.waitCompacted(ctx, f)
		if err != nil {
			return err
		}
		restarted := time.Now()
		if err := kv.restartNode(ctx, opts.bin, f); err != nil {
			return err
		}
		tw = kv.watchTransfer(ctx, l, f)
		runStart := time.Now()
		r.streaming, _, err = kv.benchSpace(ctx, load, sc.bigKeys)
		runEnd := time.Now()
		if err != nil {
			tw.stop()
			return err
		}
		lst, err = kv.leaderStatus(ctx, f)
		if err != nil {
			tw.stop()
			return err
		}
		_, err = kv.waitApplied(ctx, f, lst.GetCommitIndex(), catchUpTimeout)
		seen = tw.stop()
		if err != nil {
			return err
		}
		end := seen.last
		last, note, err := transferEnd(kv.logPath(l), kv.logPath(f), kv.nodes[l].id, kv.nodes[f].id, restarted)
		if err == nil && last.at.After(seen.first) {
			end = last.at
		}
		r.loadNote = strings.TrimPrefix(note, "; ")
		r.overlap = overlapFraction(runStart, runEnd, seen.first, end)
		if seen.first.IsZero() {
			r.loadNote = strings.TrimPrefix(r.loadNote+"; no transfer was seen in the leader's or the follower's status", "; ")
		}
		logf("  during a transfer: %.1f ops/s; the transfer covered %.0f%% of the run", r.streaming.OpsPerSec, r.overlap*100)
		return nil
	})
}

// quietWindow waits until no live node (all but down) is saving a
// snapshot and none will start one within the next ops entries, writing
// puts over space to get past the next snapshot when it is too close. A
// node starts a snapshot once it has applied `every` entries past its
// last one, so applied − snapshot_index < every means none is under way.
func (c *easykvCluster) quietWindow(ctx context.Context, down, every, ops, space int) error {
	deadline := time.Now().Add(compactTimeout)
	for {
		worst := int64(0) // the largest applied − snapshot_index
		for i := range c.nodes {
			if i == down {
				continue
			}
			st, err := statusOf(ctx, c, i)
			if err != nil {
				return err
			}
			worst = max(worst, st.GetAppliedIndex()-st.GetSnapshotIndex())
		}
		switch {
		case worst+int64(ops) < int64(every):
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("no quiet window of %d entries between snapshots every %d (applied − snapshot index: %d)", ops, every, worst)
		case worst < int64(every):
			// Too close to the next snapshot: start it, then wait for it.
			w := workload{name: "put, 64 clients", op: "put", clients: snapClients, conns: snapConns, total: max(snapClients, every-int(worst)+snapClients)}
			if _, _, err := c.benchSpace(ctx, w, space); err != nil {
				return err
			}
		default:
			select { // a save under way
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// nodeDir is node i's data directory.
func (c *easykvCluster) nodeDir(i int) string {
	return filepath.Join(c.dir, "data", c.nodes[i].id)
}

// logPath is node i's log file.
func (c *easykvCluster) logPath(i int) string {
	return filepath.Join(c.dir, c.nodes[i].id+".log")
}

// followerOf is the index of the first node that is not the leader id.
func (c *easykvCluster) followerOf(leader string) int {
	for i, nd := range c.nodes {
		if nd.id != leader {
			return i
		}
	}
	return 0
}

// statusOf asks node i for its status.
func statusOf(ctx context.Context, c *easykvCluster, i int) (*pb.NodeStatus, error) {
	sctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	st, err := c.clients[i].Status(sctx)
	if err != nil {
		return nil, fmt.Errorf("status of %s: %w", c.nodes[i].id, err)
	}
	return st, nil
}

// stopBehind records node i's last index and stops it with SIGTERM.
func (c *easykvCluster) stopBehind(ctx context.Context, i int) error {
	st, err := statusOf(ctx, c, i)
	if err != nil {
		return err
	}
	c.nodes[i].lastIndex = st.GetLastIndex()
	c.stopNode(i)
	return nil
}

// stopNode stops node i with SIGTERM, SIGKILL after stopTimeout, and
// closes its client.
func (c *easykvCluster) stopNode(i int) {
	nd := c.nodes[i]
	c.clients[i].Close()
	nd.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-nd.exited:
	case <-time.After(stopTimeout):
		nd.cmd.Process.Kill()
		<-nd.exited
	}
}

// restartNode starts node i again, its log appended to, and connects to
// it.
func (c *easykvCluster) restartNode(ctx context.Context, bin string, i int) error {
	nd := c.nodes[i]
	log, err := os.OpenFile(c.logPath(i), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("node log: %w", err)
	}
	defer log.Close()
	nd.exited = make(chan struct{})
	nd.cmd = exec.Command(filepath.Join(bin, "easykv-node"), "--cluster", c.cfg, "--id", nd.id)
	nd.cmd.Stdout, nd.cmd.Stderr = log, log
	nd.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := nd.cmd.Start(); err != nil {
		return fmt.Errorf("restart %s: %w", nd.id, err)
	}
	cmd, exited := nd.cmd, nd.exited
	go func() {
		cmd.Wait()
		close(exited)
	}()
	dctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	cl, err := dialNode(dctx, nd)
	if err != nil {
		return err
	}
	c.clients[i] = cl
	return nil
}

// waitApplied polls node i until it has applied target.
func (c *easykvCluster) waitApplied(ctx context.Context, i int, target int64, timeout time.Duration) (*pb.NodeStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		st, err := statusOf(ctx, c, i)
		if err == nil && st.GetAppliedIndex() >= target {
			return st, nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("applied %d, snapshot %d", st.GetAppliedIndex(), st.GetSnapshotIndex())
		}
		select {
		case <-c.nodes[i].exited:
			return nil, fmt.Errorf("%s exited while catching up: %s", c.nodes[i].id, c.nodes[i].cmd.ProcessState)
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %s to apply %d: %w (last: %s)", c.nodes[i].id, target, ctx.Err(), last)
		case <-time.After(pollInterval):
		}
	}
}

// leaderStatus is the status of the leader among the nodes other than
// down, polled until one says it leads.
func (c *easykvCluster) leaderStatus(ctx context.Context, down int) (*pb.NodeStatus, error) {
	_, st, err := c.liveLeader(ctx, down)
	return st, err
}

// liveLeader finds the leader among the nodes other than down.
func (c *easykvCluster) liveLeader(ctx context.Context, down int) (int, *pb.NodeStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, healthyTimeout)
	defer cancel()
	for {
		for i := range c.nodes {
			if i == down {
				continue
			}
			if st, err := statusOf(ctx, c, i); err == nil && st.GetRole() == pb.Role_ROLE_LEADER {
				return i, st, nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, nil, fmt.Errorf("find a leader: %w", ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// waitCompacted waits until the leader's log starts after node down's last
// index, so that down can only catch up by snapshot.
func (c *easykvCluster) waitCompacted(ctx context.Context, down int) (int, *pb.NodeStatus, error) {
	deadline := time.Now().Add(compactTimeout)
	for {
		l, st, err := c.liveLeader(ctx, down)
		if err != nil {
			return 0, nil, err
		}
		if st.GetFirstIndex() > c.nodes[down].lastIndex+1 {
			return l, st, nil
		}
		if time.Now().After(deadline) {
			return 0, nil, fmt.Errorf("leader %s's log still starts at %d, not after %s's last index %d", c.nodes[l].id, st.GetFirstIndex(), c.nodes[down].id, c.nodes[down].lastIndex)
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// transferWatch polls the leader's and the receiver's status for a
// snapshot transfer between them.
type transferWatch struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	seen   transferSeen
}

// transferSeen is what the polls saw of a transfer.
type transferSeen struct {
	first, last time.Time // first and last poll that showed it
	bps         int64     // the leader's bytes_per_second, last seen
}

// watchTransfer starts polling leader l and receiver f every pollInterval.
func (c *easykvCluster) watchTransfer(ctx context.Context, l, f int) *transferWatch {
	ctx, cancel := context.WithCancel(ctx)
	tw := &transferWatch{cancel: cancel}
	leaderCl, followerCl := c.clients[l], c.clients[f]
	peer := c.nodes[f].id
	tw.wg.Go(func() {
		for ctx.Err() == nil {
			now := time.Now()
			active := false
			for _, cl := range []interface {
				Status(context.Context) (*pb.NodeStatus, error)
			}{leaderCl, followerCl} {
				sctx, cancel := context.WithTimeout(ctx, statusTimeout)
				st, err := cl.Status(sctx)
				cancel()
				if err != nil {
					continue
				}
				for _, t := range st.GetSnapshotTransfers() {
					if t.GetSending() && t.GetPeer() == peer {
						active = true
						if t.GetBytesPerSecond() > 0 {
							tw.seen.bps = t.GetBytesPerSecond()
						}
					}
					if !t.GetSending() {
						active = true
					}
				}
			}
			if active {
				if tw.seen.first.IsZero() {
					tw.seen.first = now
				}
				tw.seen.last = time.Now()
			}
			select {
			case <-ctx.Done():
			case <-time.After(pollInterval):
			}
		}
	})
	return tw
}

// stop ends the polls and returns what they saw.
func (tw *transferWatch) stop() transferSeen {
	tw.cancel()
	tw.wg.Wait()
	return tw.seen
}

// dirSize is the sum of the sizes of the regular files under dir
// (preallocated segments count at their full size).
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed by compaction while walking
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", dir, err)
	}
	return total, nil
}

// procMem reads VmHWM and VmRSS, in KiB, from /proc/<pid>/status.
func procMem(pid int) (hwm, rssKiB int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("memory of %d: %w", pid, err)
	}
	return parseProcMem(string(b))
}

// parseProcMem reads VmHWM and VmRSS from a /proc/<pid>/status text.
func parseProcMem(status string) (hwm, rssKiB int64, err error) {
	found := 0
	for line := range strings.Lines(status) {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc status: unexpected %q", strings.TrimSpace(line))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc status: %q: %w", strings.TrimSpace(line), err)
		}
		if k == "VmHWM" {
			hwm = n
		} else {
			rssKiB = n
		}
		found++
	}
	if found != 2 {
		return 0, 0, errors.New("/proc status: no VmHWM or VmRSS")
	}
	return hwm, rssKiB, nil
}

// logLine is a node's log line about a snapshot.
type logLine struct {
	at    time.Time // its time=
	index int64     // its index=
	bytes int64     // its bytes=; 0 when it has none
	text  string    // the whole line
}

// logLines returns the lines of the log at path with message msg and
// key=val (peer=n2 on the sender, from=n1 on the receiver), stamped after
// since.
func logLines(path, msg, key, val string, since time.Time) ([]logLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []logLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l, ok := parseLogLine(sc.Text(), msg, key, val); ok && l.at.After(since) {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return lines, nil
}

// parseLogLine reads a slog text line such as
//
//	time=2026-12-05T07:50:00.123Z level=INFO msg="snapshot sent" node=n1 peer=n2 index=123 bytes=456
//
// when its message is msg and it has key=val.
func parseLogLine(line, msg, key, val string) (logLine, bool) {
	if !strings.Contains(line, `msg="`+msg+`"`) {
		return logLine{}, false
	}
	l := logLine{text: line}
	var gotKey, gotTime bool
	for f := range strings.FieldsSeq(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		switch k {
		case "time":
			t, err := time.Parse(time.RFC3339Nano, v)
			l.at, gotTime = t, err == nil
		case "index":
			l.index, _ = strconv.ParseInt(v, 10, 64)
		case "bytes":
			l.bytes, _ = strconv.ParseInt(v, 10, 64)
		}
		if k == key && v == val {
			gotKey = true
		}
	}
	return l, gotKey && gotTime
}

// transferEnd is how a transfer from leader to follower that started after
// since ended, from both logs: the leader's "snapshot sent", or, when the
// leader logged none, the follower's "snapshot installed"; note tells of
// a "snapshot transfer failed" the leader logged meanwhile.
func transferEnd(leaderLog, followerLog, leader, follower string, since time.Time) (end logLine, note string, err error) {
	fails, err := logLines(leaderLog, "snapshot transfer failed", "peer", follower, since)
	if err != nil {
		return logLine{}, "", err
	}
	if len(fails) > 0 {
		note = fmt.Sprintf("%s logged %d failed transfer(s) to %s meanwhile, the first: %s", leader, len(fails), follower, fails[0].text)
	}
	sent, err := logLines(leaderLog, "snapshot sent", "peer", follower, since)
	if err != nil {
		return logLine{}, note, err
	}
	if len(sent) > 0 {
		return sent[0], note, nil
	}
	installed, err := logLines(followerLog, "snapshot installed", "from", leader, since)
	if err != nil {
		return logLine{}, note, err
	}
	if len(installed) > 0 {
		return installed[0], note + "; no \"snapshot sent\": the end is the follower's \"snapshot installed\"", nil
	}
	return logLine{}, note, fmt.Errorf("neither \"snapshot sent\" to %s in %s nor \"snapshot installed\" from %s in %s", follower, leaderLog, leader, followerLog)
}

// logHas says whether the file at path contains text.
func logHas(path, text string) bool {
	b, err := os.ReadFile(path)
	return err == nil && strings.Contains(string(b), text)
}

// expectedKeys is the expected number of distinct keys after ops puts of
// keys drawn uniformly from a space of n.
func expectedKeys(n, ops int) float64 {
	return float64(n) * (1 - math.Exp(-float64(ops)/float64(n)))
}

// overlapFraction is the fraction of [runStart, runEnd] that [from, to]
// covers; 0 when from is zero.
func overlapFraction(runStart, runEnd, from, to time.Time) float64 {
	if from.IsZero() || !runEnd.After(runStart) {
		return 0
	}
	lo, hi := runStart, runEnd
	if from.After(lo) {
		lo = from
	}
	if to.Before(hi) {
		hi = to
	}
	if !hi.After(lo) {
		return 0
	}
	return hi.Sub(lo).Seconds() / runEnd.Sub(runStart).Seconds()
}

// growthVerdict compares each node's mean size over the last third of
// the measurements with its mean over the third before: it stopped growing
// when the last third is larger by less than slack MiB (a segment: one
// more preallocated segment comes and goes between two measurements).
// Means, not peaks, so that one spare segment at one measurement does not
// decide.
func growthVerdict(nodes []string, sizes [][]float64, slack float64) (string, bool) {
	k := len(sizes) / 3
	if k < 1 {
		return "too few measurements", false
	}
	mean := func(rows [][]float64, j int) float64 {
		sum := 0.0
		for _, row := range rows {
			sum += row[j]
		}
		return sum / float64(len(rows))
	}
	middle, last := sizes[len(sizes)-2*k:len(sizes)-k], sizes[len(sizes)-k:]
	var parts []string
	bounded := true
	for j, id := range nodes {
		before, after := mean(middle, j), mean(last, j)
		parts = append(parts, fmt.Sprintf("%s %.1f → %.1f", id, before, after))
		if after > before+slack {
			bounded = false
		}
	}
	verdict := "stopped growing"
	if !bounded {
		verdict = "still growing"
	}
	return fmt.Sprintf("%s: mean of the middle third → of the last third, MiB: %s (slack %.1f MiB)", verdict, strings.Join(parts, ", "), slack), bounded
}

// joinFloats formats sizes with one decimal, space-separated.
func joinFloats(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(parts, " ")
}
