package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink"
)

// clusterClient is a cluster-aware client of h's nodes, closed with the test.
func (h *Harness) clusterClient() *netlink.ClusterClient {
	h.t.Helper()
	return h.newClusterClient(netlink.ClusterConfig{
		Identity: netlink.Identity{Cluster: clusterName, NodeID: clientID},
		Timeout:  waitTimeout,
	})
}

// newClusterClient opens a client with cfg on every node of h (cfg.Nodes is
// filled in), closed with the test.
func (h *Harness) newClusterClient(cfg netlink.ClusterConfig) *netlink.ClusterClient {
	h.t.Helper()
	for _, id := range h.ids {
		cfg.Nodes = append(cfg.Nodes, netlink.NodeAddr{ID: id, Addr: h.addrs[id]})
	}
	c, err := netlink.NewClusterClient(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	return c
}

// TestKVThroughCtl writes, reads and deletes keys with easykv-ctl and checks
// every node applies the writes.
func TestKVThroughCtl(t *testing.T) {
	skipIfShort(t)
	h := StartCluster(t, 3)
	h.waitLeader()

	if r := h.Ctl("put", "user:1", "alice smith"); r.code != 0 || r.stdout != "OK\n" {
		t.Fatalf("put: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := h.Ctl("get", "user:1"); r.code != 0 || r.stdout != "alice smith\n" {
		t.Fatalf("get: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r := h.Ctl("get", "user:1", "-o", "json")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got["value"] != "alice smith" || got["found"] != true {
		t.Fatalf("get -o json: %q (%v)", r.stdout, err)
	}
	// Every node applies the write: a stale read from each one sees it.
	h.waitFor("every node to apply user:1", func() (bool, string) {
		for _, id := range h.ids {
			st := h.mustStatus(id)
			if st.GetAppliedIndex() < st.GetCommitIndex() || st.GetCommitIndex() < 2 {
				return false, fmt.Sprintf("%s applied %d commit %d", id, st.GetAppliedIndex(), st.GetCommitIndex())
			}
		}
		return true, ""
	})
	if r := h.Ctl("get", "--stale", "user:1"); r.code != 0 || r.stdout != "alice smith\n" {
		t.Fatalf("stale get: exit %d, stdout %q", r.code, r.stdout)
	}
	if r := h.Ctl("delete", "user:1"); r.code != 0 || r.stdout != "OK\n" {
		t.Fatalf("delete: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = h.Ctl("get", "user:1")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "not found") {
		t.Fatalf("get after delete: exit %d, stdout %q, stderr %q; want exit 1, nothing, a note", r.code, r.stdout, r.stderr)
	}
	if r := h.Ctl("put", "only-a-key"); r.code != 2 {
		t.Fatalf("put without value: exit %d, want 2", r.code)
	}
}

// writer writes keys k0, k1, … one at a time through a cluster-aware
// client and remembers which writes were acknowledged.
type writer struct {
	mu    sync.Mutex
	acked map[string]string // key → value of every acknowledged put
	next  int               // number of the next key
	err   error             // first write that failed outright
}

func (w *writer) run(ctx context.Context, c *netlink.ClusterClient) {
	for ctx.Err() == nil {
		key := fmt.Sprintf("k%05d", w.next)
		value := fmt.Sprintf("v%05d-%d", w.next, time.Now().UnixNano())
		wctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		_, err := c.Put(wctx, key, value)
		cancel()
		w.mu.Lock()
		if err == nil {
			w.acked[key] = value
		} else if w.err == nil {
			w.err = err
		}
		w.next++
		w.mu.Unlock()
	}
}

func (w *writer) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// waitAcked waits until the writer has n more acknowledged writes.
func (h *Harness) waitAcked(w *writer, more int) {
	h.t.Helper()
	target := w.ackedCount() + more
	h.waitFor(fmt.Sprintf("%d acknowledged writes", target), func() (bool, string) {
		n := w.ackedCount()
		return n >= target, fmt.Sprintf("%d acknowledged", n)
	})
}

// checkAcked reads every acknowledged key through the leader and compares.
func (h *Harness) checkAcked(c *netlink.ClusterClient, acked map[string]string) {
	h.t.Helper()
	for key, want := range acked {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		res, err := c.Get(ctx, key, false)
		cancel()
		if err != nil || !res.Found || res.Value != want {
			h.t.Fatalf("acknowledged %s=%s, read back %+v, %v", key, want, res, err)
		}
	}
}

// TestKillLeaderWhileWriting kills the leader with SIGKILL in the middle of
// a stream of writes: writes go on through the new leader, the killed node
// restarts and catches up, and no acknowledged write is lost.
func TestKillLeaderWhileWriting(t *testing.T) {
	skipIfShort(t)
	h := StartCluster(t, 3)
	leader, _ := h.waitLeader()
	c := h.clusterClient()
	w := &writer{acked: map[string]string{}}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx, c) }()
	defer func() { stop(); <-done }()

	h.waitAcked(w, 50)
	h.KillNode(leader)
	before := w.ackedCount()
	newLeader, _ := h.waitLeader(leader)
	h.waitAcked(w, 50)
	t.Logf("killed leader %s after %d writes; %s leads; %d acknowledged since", leader, before, newLeader, w.ackedCount()-before)

	h.RestartNode(leader)
	h.waitAcked(w, 20)
	stop()
	<-done
	if w.err != nil {
		t.Logf("a write failed outright (allowed while the leader was down): %v", w.err)
	}
	// The restarted node catches up to the same applied index.
	h.waitFor(leader+" to catch up", func() (bool, string) {
		lst, err1 := h.Status(newLeader)
		st, err2 := h.Status(leader)
		if err := errors.Join(err1, err2); err != nil {
			return false, err.Error()
		}
		return st.GetAppliedIndex() == lst.GetAppliedIndex() && st.GetLastIndex() == lst.GetLastIndex(),
			fmt.Sprintf("%s applied %d, leader %s applied %d", leader, st.GetAppliedIndex(), newLeader, lst.GetAppliedIndex())
	})
	h.checkAcked(c, w.acked)
}

// TestKillAllAndRestart kills every node with SIGKILL and restarts them all:
// every acknowledged write is there with its value, and a delete sticks.
func TestKillAllAndRestart(t *testing.T) {
	skipIfShort(t)
	h := StartCluster(t, 3)
	h.waitLeader()
	c := h.clusterClient()
	w := &writer{acked: map[string]string{}}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx, c) }()
	h.waitAcked(w, 100)
	stop()
	<-done
	if w.err != nil {
		t.Fatalf("write failed on a healthy cluster: %v", w.err)
	}
	dctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	if _, err := c.Delete(dctx, "k00000"); err != nil {
		t.Fatal(err)
	}
	cancel()
	delete(w.acked, "k00000")

	for _, id := range h.ids {
		h.KillNode(id)
	}
	for _, id := range h.ids {
		h.startNode(id, "restart after kill -9 of all")
	}
	if err := h.waitReachable(h.ids...); err != nil {
		t.Fatal(err)
	}
	h.waitLeader()
	h.checkAcked(c, w.acked)
	gctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if res, err := c.Get(gctx, "k00000", false); err != nil || res.Found {
		t.Fatalf("deleted key came back: %+v, %v", res, err)
	}
	t.Logf("%d acknowledged writes survived kill -9 of every node", len(w.acked))
}
