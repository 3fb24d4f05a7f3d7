package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// wipedStartBound is how long a node with an empty data dir may take to
// refuse: it asks its peers for 1.5 s at most, plus a process start.
const wipedStartBound = 10 * time.Second

// TestWipedFollowerRefusesToRejoin: a follower whose data directory is
// deleted while it is down does not come back as a new member of a
// cluster that has state (it could vote twice, or help elect a leader
// that lacks committed entries). It exits 1 with one line saying so, and
// the rest of the cluster keeps serving.
func TestWipedFollowerRefusesToRejoin(t *testing.T) {
	h := StartCluster(t, 3)
	leader, _ := h.waitLeader()
	keys := map[string]string{}
	for i := range 3 {
		k, v := fmt.Sprintf("wiped-%d", i), fmt.Sprintf("v%d", i)
		if r := h.Ctl("put", k, v); r.code != 0 {
			t.Fatalf("put %s: exit %d: %s", k, r.code, r.stderr)
		}
		keys[k] = v
	}
	follower := h.others(leader)[0]
	h.KillNode(follower)
	dataDir := filepath.Join(h.dir, "data", follower)
	if err := os.RemoveAll(dataDir); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	res := runBinary(t, bins.node, "--cluster", h.cfgPath, "--id", follower)
	elapsed := time.Since(start)
	if res.code != 1 {
		t.Fatalf("%s with an empty data dir: exit %d, want 1; stderr:\n%s", follower, res.code, res.stderr)
	}
	line := strings.TrimSuffix(res.stderr, "\n")
	if strings.Contains(line, "\n") || line == "" {
		t.Fatalf("stderr is not one line:\n%s", res.stderr)
	}
	for _, want := range []string{
		"easykv-node: " + follower + "'s data is gone but the cluster has state (",
		" is at term ",
		"could vote twice or help elect a leader that lacks committed entries",
		"remove " + follower + " and add it back through a membership change",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("stderr %q does not contain %q", line, want)
		}
	}
	t.Logf("%s refused after %v: %s", follower, elapsed.Round(time.Millisecond), line)
	if elapsed > wipedStartBound {
		t.Errorf("refusal took %v", elapsed)
	}
	// Nothing of a node's state was created by the refused start.
	for _, name := range []string{"hardstate", "wal", "snap"} {
		if _, err := os.Lstat(filepath.Join(dataDir, name)); err == nil {
			t.Errorf("the refused start created %s in %s", name, dataDir)
		}
	}

	// The two others still form a majority and serve.
	h.waitLeader(follower)
	if r := h.Ctl("put", "after-wipe", "yes"); r.code != 0 {
		t.Fatalf("put after the refused start: exit %d: %s", r.code, r.stderr)
	}
	keys["after-wipe"] = "yes"
	for k, v := range keys {
		if r := h.Ctl("get", k); r.code != 0 || strings.TrimSpace(r.stdout) != v {
			t.Errorf("get %s: exit %d, stdout %q, stderr %q; want %q", k, r.code, r.stdout, r.stderr, v)
		}
	}
}

// TestWipedNodeStartsWhenNoPeerAnswers: with every peer down, a node with
// an empty data dir cannot tell a lost member from the first start of a
// new cluster, and starts empty. This is the hole the check leaves (the
// README says so); the test pins it so that changing it is deliberate.
func TestWipedNodeStartsWhenNoPeerAnswers(t *testing.T) {
	h := StartCluster(t, 3)
	h.waitLeader()
	if r := h.Ctl("put", "k", "v"); r.code != 0 {
		t.Fatalf("put: exit %d: %s", r.code, r.stderr)
	}
	for _, id := range h.ids {
		h.KillNode(id)
	}
	if err := os.RemoveAll(filepath.Join(h.dir, "data", "n3")); err != nil {
		t.Fatal(err)
	}
	st := h.RestartNode("n3")
	if st.GetTerm() != 0 || st.GetLastIndex() != 0 {
		t.Fatalf("n3 restarted empty at term %d, last index %d; want 0 and 0", st.GetTerm(), st.GetLastIndex())
	}
}

// TestLeaderSaysAFollowerLostItsData: when a wiped follower does start
// (its peers were stopped, so none answered its check), the leader that
// comes back finds its log ending below what it had acknowledged, and
// says so once, in its log and as an event, instead of retrying in
// silence; then it sends the follower the entries again.
func TestLeaderSaysAFollowerLostItsData(t *testing.T) {
	h := StartCluster(t, 3)
	leader, _ := h.waitLeader()
	h.putValues("acked", 20, "v")
	follower := h.others(leader)[0]
	h.waitCaughtUp(follower, leader)
	h.KillNode(follower)
	if err := os.RemoveAll(filepath.Join(h.dir, "data", follower)); err != nil {
		t.Fatal(err)
	}
	// Stopped peers accept the connection but never answer: the wiped
	// node's check runs out of time and it starts empty.
	others := h.others(follower)
	for _, id := range others {
		h.procs[id].cmd.Process.Signal(syscall.SIGSTOP)
	}
	h.startNode(follower, "wiped, with every peer stopped")
	h.waitFor(follower+" to start empty", func() (bool, string) {
		st, err := h.Status(follower)
		if err != nil {
			return false, err.Error()
		}
		return st.GetLastIndex() == 0, fmt.Sprintf("last index %d", st.GetLastIndex())
	})
	for _, id := range others {
		h.procs[id].cmd.Process.Signal(syscall.SIGCONT)
	}
	const said = "lost entries it acknowledged: its data is gone"
	h.waitFor(leader+" to say that "+follower+" lost its data", func() (bool, string) {
		return h.logHas(leader, follower+" "+said), h.logTail(leader, 5)
	})
	h.waitCaughtUp(follower, leader)
	b, err := os.ReadFile(h.logPath(leader))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), said); n != 1 {
		t.Errorf("%s said %d times that %s lost its data, want once", leader, n, follower)
	}
}
