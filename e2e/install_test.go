package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// snapshotConfig makes snapshots every 100 applied entries and keeps 20
// entries below each, in segments of 64 KiB (compaction removes whole
// segments), so that a follower down for a few hundred writes needs a
// snapshot.
const snapshotConfig = "snapshot_entries: 100\nsnapshot_margin: 20\nsegment_size: 65536\n"

// putValues writes n keys prefix-0 .. prefix-(n-1), each with value, and
// returns the keys.
func (h *Harness) putValues(prefix string, n int, value string) []string {
	h.t.Helper()
	c := h.clusterClient()
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitTimeout)
	defer cancel()
	keys := make([]string, n)
	for i := range n {
		keys[i] = fmt.Sprintf("%s-%d", prefix, i)
		if _, err := c.Put(ctx, keys[i], value); err != nil {
			h.t.Fatalf("put %s: %v", keys[i], err)
		}
	}
	return keys
}

// waitCaughtUp waits until node id has applied everything the leader had
// committed when the wait began.
func (h *Harness) waitCaughtUp(id, leader string) *pb.NodeStatus {
	h.t.Helper()
	target := h.mustStatus(leader).GetCommitIndex()
	var st *pb.NodeStatus
	h.waitFor(fmt.Sprintf("%s to apply up to %d", id, target), func() (bool, string) {
		var err error
		if st, err = h.Status(id); err != nil {
			return false, err.Error()
		}
		return st.GetAppliedIndex() >= target, fmt.Sprintf("applied %d, snapshot %d, first %d", st.GetAppliedIndex(), st.GetSnapshotIndex(), st.GetFirstIndex())
	})
	return st
}

// checkStaleReads reads every key from node id's own state with
// easykv-ctl get --stale --node and checks each is value.
func (h *Harness) checkStaleReads(id string, keys []string, value string) {
	h.t.Helper()
	c, err := netlink.Dial(context.Background(), h.addrs[id], netlink.Identity{Cluster: clusterName, NodeID: clientID, AuthToken: h.token})
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	for _, k := range keys {
		resp, err := c.KV(context.Background(), &pb.KvRequest{OpType: pb.KvRequest_GET, Key: k, Stale: true})
		if err != nil || resp.GetValue() != value {
			h.t.Fatalf("stale get %s on %s = %v, %v; want %q", k, id, resp, err, value)
		}
	}
	// The command line gives the same answer, for one of them.
	if res := h.Ctl("get", "--stale", "--node", id, keys[len(keys)-1]); res.code != 0 || !strings.Contains(res.stdout, value) {
		h.t.Errorf("easykv-ctl get --stale --node %s %s: exit %d, %q %q", id, keys[len(keys)-1], res.code, res.stdout, res.stderr)
	}
}

// logHas reports whether node id's log holds text.
func (h *Harness) logHas(id, text string) bool {
	b, err := os.ReadFile(h.logPath(id))
	return err == nil && strings.Contains(string(b), text)
}

// TestFollowerCatchesUpBySnapshot: a follower killed while the others
// write five times snapshot_entries comes back behind the leader's
// compaction point; it catches up through InstallSnapshot, and every key
// is readable from its own state. The leader's log is compacted, and the
// follower's log starts after the snapshot.
func TestFollowerCatchesUpBySnapshot(t *testing.T) {
	h := StartCluster(t, 3, withConfig(snapshotConfig))
	leader, _ := h.waitLeader()
	follower := h.others(leader)[0]
	h.putValues("early", 10, "e")
	h.KillNode(follower)
	value := strings.Repeat("v", 256) // 500 of them fill a few 64 KiB segments
	keys := h.putValues("k", 500, value)
	h.waitFor(leader+" to compact its log", func() (bool, string) {
		st := h.mustStatus(leader)
		return st.GetFirstIndex() > 100 && st.GetSnapshotIndex() >= 400, fmt.Sprintf("snapshot %d, first %d", st.GetSnapshotIndex(), st.GetFirstIndex())
	})
	h.RestartNode(follower)
	st := h.waitCaughtUp(follower, leader)
	if !h.logHas(follower, "snapshot installed") || !h.logHas(leader, "snapshot sent") {
		t.Fatalf("%s caught up without a snapshot transfer:\n%s", follower, h.logTail(follower, 20))
	}
	if st.GetSnapshotIndex() < 400 || st.GetFirstIndex() <= 100 {
		t.Errorf("%s after the install: snapshot %d, first index %d; want a snapshot past 400 and no old entries", follower, st.GetSnapshotIndex(), st.GetFirstIndex())
	}
	h.checkStaleReads(follower, keys, value)
	h.checkStaleReads(follower, []string{"early-9"}, "e")

	// Restarted after the install, it keeps the entries it took after the
	// snapshot (it acknowledged them), and the leader finds nothing lost.
	h.putValues("after", 30, "a")
	before := h.waitCaughtUp(follower, leader)
	h.StopNode(follower, syscall.SIGTERM)
	if st := h.RestartNode(follower); st.GetLastIndex() < before.GetLastIndex() {
		t.Fatalf("%s restarted with last index %d, below the %d it had: it dropped entries after its snapshot", follower, st.GetLastIndex(), before.GetLastIndex())
	}
	h.waitCaughtUp(follower, leader)
	if h.logHas(leader, "lost entries") {
		t.Errorf("%s says %s lost entries after a clean restart:\n%s", leader, follower, h.logTail(leader, 10))
	}
}

// TestInstallKilledMidway: the receiver is killed with SIGKILL in the
// middle of an install (the leader's outbound frames delayed so that the
// transfer takes a while); restarted, it discards the partial file,
// receives the snapshot again, and ends with the leader's state.
func TestInstallKilledMidway(t *testing.T) {
	h := StartCluster(t, 3, withConfig(snapshotConfig))
	leader, _ := h.waitLeader()
	follower := h.others(leader)[0]
	h.KillNode(follower)
	big := strings.Repeat("x", 8<<10)
	keys := h.putValues("big", 600, big) // a snapshot of about 5 MiB: five chunks or more
	if res := h.Ctl("delay", leader, "150ms"); res.code != 0 {
		t.Fatalf("easykv-ctl delay: exit %d, %s", res.code, res.stderr)
	}
	h.RestartNode(follower)
	h.waitFor(follower+" to be in the middle of receiving a snapshot", func() (bool, string) {
		st, err := h.Status(follower)
		if err != nil {
			return false, err.Error()
		}
		for _, tr := range st.GetSnapshotTransfers() {
			if !tr.GetSending() && tr.GetBytesDone() > 0 && tr.GetBytesDone() < tr.GetTotalBytes() {
				return true, ""
			}
		}
		return false, fmt.Sprintf("transfers %v, applied %d", st.GetSnapshotTransfers(), st.GetAppliedIndex())
	})
	h.KillNode(follower)
	if res := h.Ctl("heal", leader); res.code != 0 {
		t.Fatalf("easykv-ctl heal: exit %d, %s", res.code, res.stderr)
	}
	h.RestartNode(follower)
	st := h.waitCaughtUp(follower, leader)
	h.checkStaleReads(follower, keys, big)
	h.waitFor(follower+" and "+leader+" to agree on the state", func() (bool, string) {
		a, b := h.mustStatus(follower), h.mustStatus(leader)
		return a.GetAppliedIndex() == b.GetAppliedIndex() && a.GetStateDigest() == b.GetStateDigest(),
			fmt.Sprintf("%s applied %d digest %s, %s applied %d digest %s", follower, a.GetAppliedIndex(), a.GetStateDigest(), leader, b.GetAppliedIndex(), b.GetStateDigest())
	})
	if st.GetSnapshotIndex() == 0 {
		t.Errorf("%s has no snapshot after catching up", follower)
	}
}

// TestSnapshotToTwoFollowersWhileWriting: a leader of five streams
// snapshots to two lagging followers at once while clients go on writing;
// every write succeeds and both followers catch up.
func TestSnapshotToTwoFollowersWhileWriting(t *testing.T) {
	h := StartCluster(t, 5, withConfig(snapshotConfig))
	leader, _ := h.waitLeader()
	lagging := h.others(leader)[:2]
	for _, id := range lagging {
		h.KillNode(id)
	}
	keys := h.putValues("k", 500, strings.Repeat("v", 2<<10))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var writes, failures atomic.Int64
	c := h.clusterClient()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			wctx, wcancel := context.WithTimeout(ctx, waitTimeout)
			_, err := c.Put(wctx, fmt.Sprintf("during-%d", i), "d")
			wcancel()
			if ctx.Err() != nil {
				return
			}
			writes.Add(1)
			if err != nil {
				failures.Add(1)
			}
		}
	}()
	for _, id := range lagging {
		h.startNode(id, "restart behind the compaction point")
	}
	h.waitFor("both lagging followers to receive a snapshot", func() (bool, string) {
		for _, id := range lagging {
			if !h.logHas(id, "snapshot installed") {
				return false, id + " has installed none yet"
			}
		}
		return true, ""
	})
	for _, id := range lagging {
		h.waitCaughtUp(id, leader)
	}
	cancel()
	wg.Wait()
	if failures.Load() > 0 || writes.Load() == 0 {
		t.Errorf("%d of %d writes failed during the transfers", failures.Load(), writes.Load())
	}
	for _, id := range lagging {
		h.checkStaleReads(id, keys[len(keys)-50:], strings.Repeat("v", 2<<10))
	}
	h.StopNode(leader, syscall.SIGTERM)
	h.waitLeader(leader)
}
