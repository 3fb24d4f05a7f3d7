package tui

import (
	"strings"
	"testing"
)

// TestOneLeaderOneCount: a leader that is paused, beside a newer one, is
// not "the leader" anywhere — header, status command, log view, pause
// leader, KV routing — and the header and the status command count the
// nodes the same way.
func TestOneLeaderOneCount(t *testing.T) {
	h := kvHarness(t)
	old := leaderStatus("n1", 2)
	old.Paused = true
	h.deliver("n1", statusEv(old))

	if got := h.m.leaderIndex(); got != h.idx("n2") {
		t.Errorf("leaderIndex = %d, want n2's %d", got, h.idx("n2"))
	}
	if got := h.m.kvTarget(); got != h.idx("n2") {
		t.Errorf("kvTarget = %d, want n2's %d", got, h.idx("n2"))
	}
	if l := currentLeader(h.m.nodes); l == nil || l.node.ID != "n2" {
		t.Errorf("log view's leader = %v, want n2", l)
	}
	h.run(h.typeLine("status"))
	want := "status: leader n2 (term 3); 3 nodes: 2 up, 1 paused; fresh from n1, n2, n3"
	if h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
	header := strings.Join(h.m.viewHeader(), "\n")
	mustContain(t, header, "3 nodes: 2 up, 1 paused", "leader n2 (term 3)")

	// A paused node that leads the highest term is no leader either.
	top := leaderStatus("n1", 9)
	top.Paused = true
	h.deliver("n1", statusEv(top))
	if got := h.m.leaderIndex(); got != h.idx("n2") {
		t.Errorf("with n1 paused in term 9: leaderIndex = %d, want n2's %d", got, h.idx("n2"))
	}
}
