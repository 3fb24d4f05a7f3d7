package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink/pb"
)

// memberListKeys are the keys of each object of "member list -o json".
var memberListKeys = []string{"id", "addr", "voter", "reachable"}

// memberList runs "easykv-ctl member list -o json" and returns its rows;
// it fails the test on a non-zero exit or bad JSON.
func (h *Harness) memberList() []map[string]any {
	h.t.Helper()
	res := h.Ctl("member", "list", "-o", "json")
	if res.code != 0 {
		h.t.Fatalf("member list -o json: exit %d, stderr %q", res.code, res.stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &rows); err != nil {
		h.t.Fatalf("member list -o json: %v\n%s", err, res.stdout)
	}
	return rows
}

// memberRow returns id's row of rows, nil when absent.
func memberRow(rows []map[string]any, id string) map[string]any {
	for _, r := range rows {
		if r["id"] == id {
			return r
		}
	}
	return nil
}

// mustCtl runs easykv-ctl with args and fails the test unless it exits 0.
func (h *Harness) mustCtl(args ...string) cmdResult {
	h.t.Helper()
	res := h.Ctl(args...)
	if res.code != 0 {
		h.t.Fatalf("easykv-ctl %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res
}

// ctlRefused runs easykv-ctl with args and checks it exits 1 with a
// non-empty reason on stderr, which it returns.
func (h *Harness) ctlRefused(args ...string) string {
	h.t.Helper()
	res := h.Ctl(args...)
	if res.code != 1 || strings.TrimSpace(res.stderr) == "" {
		h.t.Errorf("easykv-ctl %s: exit %d, stderr %q; want exit 1 with a reason", strings.Join(args, " "), res.code, res.stderr)
	}
	return strings.TrimSpace(res.stderr)
}

// writeLoad writes keys through a ClusterClient until stopped, remembering
// each acknowledged key and when it was acknowledged.
type writeLoad struct {
	prefix string
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	acked []string    // acknowledged keys; value is the key itself
	times []time.Time // when each was acknowledged
	fails int         // writes that returned an error
}

// startWrites starts a writer of prefix-N keys; stop it with stop.
func (h *Harness) startWrites(prefix string) *writeLoad {
	h.t.Helper()
	c := h.clusterClient()
	ctx, cancel := context.WithCancel(context.Background())
	w := &writeLoad{prefix: prefix, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ctx.Err() == nil; i++ {
			k := fmt.Sprintf("%s-%d", prefix, i)
			pctx, pcancel := context.WithTimeout(ctx, waitTimeout)
			_, err := c.Put(pctx, k, k)
			pcancel()
			w.mu.Lock()
			if err == nil {
				w.acked = append(w.acked, k)
				w.times = append(w.times, time.Now())
			} else if ctx.Err() == nil {
				w.fails++
			}
			w.mu.Unlock()
		}
	}()
	h.t.Cleanup(w.stop)
	return w
}

// stop ends the writes and waits for the writer.
func (w *writeLoad) stop() {
	w.cancel()
	<-w.done
}

// count is how many writes have been acknowledged so far.
func (w *writeLoad) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// waitWrites waits until n more writes are acknowledged.
func (h *Harness) waitWrites(w *writeLoad, n int) {
	h.t.Helper()
	target := w.count() + n
	h.waitFor(fmt.Sprintf("%d acknowledged writes", target), func() (bool, string) {
		c := w.count()
		return c >= target, fmt.Sprintf("%d acknowledged", c)
	})
}

// maxGap is the longest time between two acknowledged writes.
func (w *writeLoad) maxGap() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var gap time.Duration
	for i := 1; i < len(w.times); i++ {
		gap = max(gap, w.times[i].Sub(w.times[i-1]))
	}
	return gap
}

// checkAcked reads every acknowledged key linearizably and checks it.
func (h *Harness) checkAckedKeys(w *writeLoad) {
	h.t.Helper()
	w.mu.Lock()
	keys := slices.Clone(w.acked)
	fails := w.fails
	w.mu.Unlock()
	if len(keys) == 0 {
		h.t.Fatalf("no write of %s was acknowledged", w.prefix)
	}
	c := h.clusterClient()
	for _, k := range keys {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		res, err := c.Get(ctx, k, false)
		cancel()
		if err != nil {
			h.t.Fatalf("get %s: %v", k, err)
		}
		if !res.Found || res.Value != k {
			h.t.Errorf("get %s: found %t, value %q; want the acknowledged %q", k, res.Found, res.Value, k)
		}
	}
	h.t.Logf("%d acknowledged writes of %s all read back (%d writes failed)", len(keys), w.prefix, fails)
}

// waitApplied waits until node id has applied what the leader had
// committed when the wait began.
func (h *Harness) waitApplied(id string) {
	h.t.Helper()
	leader, _ := h.waitLeader()
	h.waitCaughtUp(id, leader)
}

// promoteWhenCaughtUp runs member promote id until it succeeds; a refusal
// must say the learner is behind.
func (h *Harness) promoteWhenCaughtUp(id string) {
	h.t.Helper()
	h.waitFor("promote "+id, func() (bool, string) {
		res := h.Ctl("member", "promote", id)
		switch {
		case res.code == 0:
			return true, ""
		case res.code == 1 && strings.Contains(res.stderr, "behind"):
			return false, res.stderr
		default:
			h.t.Fatalf("member promote %s: exit %d, stdout %q, stderr %q", id, res.code, res.stdout, res.stderr)
			return false, ""
		}
	})
}

// waitMember waits until member list shows id with voter as given and
// reachable.
func (h *Harness) waitMember(id string, voter bool) {
	h.t.Helper()
	h.waitFor(fmt.Sprintf("member list to show %s (voter %t, reachable)", id, voter), func() (bool, string) {
		rows := h.memberList()
		r := memberRow(rows, id)
		return r != nil && r["voter"] == voter && r["reachable"] == true, fmt.Sprint(rows)
	})
}

// TestGrowThreeToFive adds n4 as a learner and promotes it, then n5
// directly as a voter, under a write load; every acknowledged write
// survives and every tool sees five voters.
func TestGrowThreeToFive(t *testing.T) {
	h := StartCluster(t, 3)
	h.waitLeader()
	w := h.startWrites("grow")
	h.waitWrites(w, 20)

	// n4: learner first, then promoted once it caught up.
	addr4 := h.startJoining("n4")
	h.mustCtl("member", "add", "n4", addr4, "--learner")
	h.waitMember("n4", false)
	if st := h.mustStatus("n4"); !st.GetLearner() {
		t.Errorf("n4 added as learner: status learner=%t", st.GetLearner())
	}
	h.waitApplied("n4")
	h.promoteWhenCaughtUp("n4")
	h.waitMember("n4", true)
	h.waitWrites(w, 20)

	// n5: directly a voter.
	addr5 := h.startJoining("n5")
	h.mustCtl("member", "add", "n5", addr5)
	h.waitMember("n5", true)
	h.waitApplied("n5")
	h.waitWrites(w, 20)
	w.stop()

	rows := h.memberList()
	if len(rows) != 5 {
		t.Fatalf("member list: %d members, want 5: %v", len(rows), rows)
	}
	for _, r := range rows {
		for _, k := range memberListKeys {
			if _, ok := r[k]; !ok {
				t.Errorf("member list row lacks %q: %v", k, r)
			}
		}
		id, _ := r["id"].(string)
		if r["addr"] != h.addrs[id] || r["voter"] != true || r["reachable"] != true {
			t.Errorf("member list row %v; want addr %s, voter and reachable", r, h.addrs[id])
		}
	}
	h.checkAckedKeys(w)

	res := h.mustCtl("status", "-o", "json")
	var st []map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, res.stdout)
	}
	var ids []string
	for _, r := range st {
		ids = append(ids, fmt.Sprint(r["id"]))
		if r["reachable"] != true || r["member"] != "voter" {
			t.Errorf("status row %v; want reachable voter", r)
		}
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"n1", "n2", "n3", "n4", "n5"}) {
		t.Errorf("status lists %v, want n1..n5", ids)
	}
}

// TestReplaceDeadMember replaces a crashed member: remove it, add a new
// node as a learner, promote it once it caught up.
func TestReplaceDeadMember(t *testing.T) {
	h := StartCluster(t, 3)
	leader, _ := h.waitLeader()
	w := h.startWrites("replace")
	h.waitWrites(w, 20)

	dead := h.others(leader)[0]
	h.KillNode(dead)
	h.waitWrites(w, 10)
	h.mustCtl("member", "remove", dead)
	h.waitFor("member list without "+dead, func() (bool, string) {
		rows := h.memberList()
		return memberRow(rows, dead) == nil && len(rows) == 2, fmt.Sprint(rows)
	})

	// A learner that has nothing (no process answers at its address)
	// is behind: promoting it is refused, and it can be removed again.
	ports, err := testkit.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	h.mustCtl("member", "add", "n5", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--learner")
	if why := h.ctlRefused("member", "promote", "n5"); !strings.Contains(why, "behind") {
		t.Errorf("member promote of an empty learner: reason %q does not say it is behind", why)
	}
	h.mustCtl("member", "remove", "n5")

	addr := h.startJoining("n4")
	h.mustCtl("member", "add", "n4", addr, "--learner")
	h.waitMember("n4", false)
	h.waitApplied("n4")
	h.promoteWhenCaughtUp("n4")
	h.waitMember("n4", true)
	h.waitWrites(w, 20)
	w.stop()

	rows := h.memberList()
	var ids []string
	for _, r := range rows {
		ids = append(ids, fmt.Sprint(r["id"]))
		if r["voter"] != true || r["reachable"] != true {
			t.Errorf("member list row %v; want voter and reachable", r)
		}
	}
	slices.Sort(ids)
	if want := slices.Sorted(slices.Values(append(h.others(dead, "n4"), "n4"))); !slices.Equal(ids, want) {
		t.Errorf("member list %v, want %v", ids, want)
	}
	h.checkAckedKeys(w)
}

// TestTransferToEachFollower transfers leadership to each follower in
// turn and times how long the cluster takes to commit under the new
// leader.
func TestTransferToEachFollower(t *testing.T) {
	h := StartCluster(t, 3)
	leader, term := h.waitLeader()
	c := h.clusterClient()
	var took []time.Duration
	for _, target := range h.others(leader) {
		start := time.Now()
		h.mustCtl("transfer", target)
		// The new leader's first commit: a write it acknowledges.
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		res, err := c.Put(ctx, "transfer-"+target, "x")
		cancel()
		if err != nil {
			t.Fatalf("put after transfer to %s: %v", target, err)
		}
		took = append(took, time.Since(start))
		st := h.mustStatus(target)
		if st.GetRole() != pb.Role_ROLE_LEADER || st.GetTerm() <= term {
			t.Fatalf("after transfer to %s: it is %s in term %d (was term %d)", target, st.GetRole(), st.GetTerm(), term)
		}
		if res.NodeID != target {
			t.Errorf("put after transfer to %s answered by %s", target, res.NodeID)
		}
		l, tm := h.waitLeader()
		if l != target {
			t.Fatalf("leader %s after transfer to %s", l, target)
		}
		leader, term = l, tm
	}
	slices.Sort(took)
	median := (took[(len(took)-1)/2] + took[len(took)/2]) / 2
	t.Logf("transfer command to the new leader's first acknowledged write (easykv-ctl start included): median %v of %v", median.Round(time.Millisecond), took)
}

// TestSIGTERMLeaderHandsOff stops the leader with SIGTERM under a write
// load: it hands leadership over (a TimeoutNow election, one term up)
// before it exits 0.
func TestSIGTERMLeaderHandsOff(t *testing.T) {
	h := StartCluster(t, 3)
	old, oldTerm := h.waitLeader()
	w := h.startWrites("sigterm")
	h.waitWrites(w, 30)

	if code := h.StopNode(old, syscall.SIGTERM); code != 0 {
		t.Errorf("%s exited %d after SIGTERM, want 0", old, code)
	}
	leader, term := h.waitLeader(old)
	h.waitWrites(w, 30)
	w.stop()
	t.Logf("longest gap between acknowledged writes: %v (new leader %s, term %d -> %d)", w.maxGap().Round(time.Millisecond), leader, oldTerm, term)
	if term != oldTerm+1 {
		t.Errorf("new leader %s in term %d, want %d: an election by timeout, not a handoff", leader, term, oldTerm+1)
	}
	b, err := os.ReadFile(h.logPath(old))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "stopping without handing off leadership") {
		t.Errorf("%s stopped without handing off:\n%s", old, h.logTail(old, 10))
	}
	h.checkAckedKeys(w)
}

// TestMemberRefusals: adding a member twice and removing an unknown one
// are refused with exit 1 and a reason; a node not in the file started
// without --join exits 2 with one line.
func TestMemberRefusals(t *testing.T) {
	h := StartCluster(t, 3)
	h.waitLeader()
	if why := h.ctlRefused("member", "add", "n1", "127.0.0.1:1"); !strings.Contains(why, "n1") {
		t.Errorf("member add n1: reason %q does not name n1", why)
	}
	if why := h.ctlRefused("member", "remove", "nX"); !strings.Contains(why, "nX") {
		t.Errorf("member remove nX: reason %q does not name nX", why)
	}
	if rows := h.memberList(); len(rows) != 3 {
		t.Errorf("member list after refusals: %v", rows)
	}

	res := runBinary(t, bins.node, "--cluster", h.cfgPath, "--id", "n9")
	line := strings.TrimSuffix(res.stderr, "\n")
	if res.code != 2 || line == "" || strings.Contains(line, "\n") {
		t.Errorf("easykv-node --id n9: exit %d, stderr %q; want exit 2 and one line", res.code, res.stderr)
	}
	if !strings.Contains(line, "n9") || !strings.Contains(line, "--join") {
		t.Errorf("easykv-node --id n9: %q names neither n9 nor --join", line)
	}
}

// TestRemoveLeader removes the leader: the others elect one of themselves,
// the removed node says it is removed and never leads again, and writes
// go on.
func TestRemoveLeader(t *testing.T) {
	h := StartCluster(t, 3)
	old, oldTerm := h.waitLeader()
	w := h.startWrites("rmleader")
	h.waitWrites(w, 20)

	start := time.Now()
	if res := h.Ctl("member", "remove", old); res.code != 0 {
		t.Errorf("member remove %s (the leader): exit %d after %v, stderr %q; want 0", old, res.code, time.Since(start).Round(time.Millisecond), res.stderr)
	}
	leader, term := h.waitLeader(old)
	t.Logf("new leader %s in term %d, %v after member remove %s", leader, term, time.Since(start).Round(time.Millisecond), old)
	if leader == old || term <= oldTerm {
		t.Fatalf("leader after removing %s: %s in term %d (was term %d)", old, leader, term, oldTerm)
	}
	h.waitFor(old+" to report itself removed", func() (bool, string) {
		st, err := h.Status(old)
		if err != nil {
			return false, err.Error()
		}
		return st.GetRemoved() && st.GetRole() != pb.Role_ROLE_LEADER, fmt.Sprintf("removed %t role %s", st.GetRemoved(), st.GetRole())
	})
	h.waitWrites(w, 30)
	// The removed node stays up; it must not lead again, nor disrupt.
	for range 10 {
		h.waitWrites(w, 3)
		st := h.mustStatus(old)
		if st.GetRole() == pb.Role_ROLE_LEADER || !st.GetRemoved() {
			t.Fatalf("removed %s: role %s removed %t", old, st.GetRole(), st.GetRemoved())
		}
	}
	w.stop()
	if l, tm := h.waitLeader(old); l != leader || tm != term {
		t.Errorf("leadership moved while the removed %s stayed up: %s term %d, was %s term %d", old, l, tm, leader, term)
	}
	rows := h.memberList()
	if len(rows) != 2 || memberRow(rows, old) != nil {
		t.Errorf("member list after removing %s: %v", old, rows)
	}
	h.checkAckedKeys(w)
}

// TestRejoinAfterDataLoss brings back a member of cluster.yaml that lost
// its data: removed, added again as a learner, started empty with --join
// (its address from cluster.yaml), it catches up by InstallSnapshot past
// the leader's compaction point, is promoted, and serves every key. The
// leader then is n4, a member cluster.yaml does not list: the empty node
// knows only the file's addresses, and must learn n4's from n4's own
// connection to answer it.
func TestRejoinAfterDataLoss(t *testing.T) {
	h := StartCluster(t, 3, withConfig(snapshotConfig))
	h.waitLeader()
	addr4 := h.startJoining("n4")
	h.mustCtl("member", "add", "n4", addr4, "--learner")
	h.waitApplied("n4")
	h.promoteWhenCaughtUp("n4")
	h.waitMember("n4", true)
	h.mustCtl("transfer", "n4")
	h.waitFor("n4 to lead", func() (bool, string) {
		st := h.mustStatus("n4")
		return st.GetRole() == pb.Role_ROLE_LEADER, "n4 is " + st.GetRole().String()
	})
	leader := "n4"
	lost := h.others(leader)[0]
	early := h.putValues("early", 10, "e")
	h.KillNode(lost)
	if err := os.RemoveAll(filepath.Join(h.dir, "data", lost)); err != nil {
		t.Fatal(err)
	}
	h.mustCtl("member", "remove", lost)
	value := strings.Repeat("v", 256)
	keys := h.putValues("k", 300, value)
	h.waitFor(leader+" to compact its log", func() (bool, string) {
		st := h.mustStatus(leader)
		return st.GetFirstIndex() > 100, fmt.Sprintf("snapshot %d, first %d", st.GetSnapshotIndex(), st.GetFirstIndex())
	})

	h.mustCtl("member", "add", lost, h.addrs[lost], "--learner")
	if h.flags == nil {
		h.flags = map[string][]string{}
	}
	h.flags[lost] = []string{"--join"}
	h.startNode(lost, "rejoin with an empty data dir")
	if err := h.waitReachable(lost); err != nil {
		t.Fatal(err)
	}
	h.waitMember(lost, false)
	h.waitCaughtUp(lost, leader)
	if !h.logHas(lost, "snapshot installed") {
		t.Fatalf("%s caught up without a snapshot install:\n%s", lost, h.logTail(lost, 20))
	}
	h.promoteWhenCaughtUp(lost)
	h.waitMember(lost, true)
	h.checkStaleReads(lost, keys, value)
	h.checkStaleReads(lost, early, "e")

	// A voter again: it restarts from its own data, without --join.
	h.flags[lost] = nil
	h.StopNode(lost, syscall.SIGTERM)
	h.RestartNode(lost)
	h.waitCaughtUp(lost, leader)
	if st := h.mustStatus(lost); st.GetLearner() || st.GetRemoved() {
		t.Errorf("%s after restart: learner %t removed %t; want a voter", lost, st.GetLearner(), st.GetRemoved())
	}
}
