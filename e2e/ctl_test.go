package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// statusKeys are the keys every object of "status -o json" must have.
var statusKeys = []string{"id", "addr", "reachable", "role", "term", "leader", "commit_index", "applied_index", "last_index", "paused", "voted_for"}

// ctlStatus runs "easykv-ctl status -o json", checks the exit status and
// returns the decoded rows.
func (h *Harness) ctlStatus(wantCode int) []map[string]any {
	h.t.Helper()
	res := h.Ctl("status", "-o", "json")
	if res.code != wantCode {
		h.t.Fatalf("easykv-ctl status -o json: exit %d, want %d; stderr %q", res.code, wantCode, res.stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &rows); err != nil {
		h.t.Fatalf("easykv-ctl status -o json: not a JSON array: %v\n%s", err, res.stdout)
	}
	if len(rows) != len(h.ids) {
		h.t.Fatalf("easykv-ctl status -o json: %d rows, want %d", len(rows), len(h.ids))
	}
	for i, r := range rows {
		for _, k := range statusKeys {
			if _, ok := r[k]; !ok {
				h.t.Errorf("row %d lacks key %q: %v", i, k, r)
			}
		}
		if id := h.ids[i]; r["id"] != id || r["addr"] != h.addrs[id] {
			h.t.Errorf("row %d is %v/%v, want %s/%s (cluster.yaml order)", i, r["id"], r["addr"], id, h.addrs[id])
		}
	}
	return rows
}

// TestCtlStatusJSON drives easykv-ctl status against a healthy cluster, one
// with a node killed, and one with every node gone.
func TestCtlStatusJSON(t *testing.T) {
	h := StartCluster(t, 3)
	leader, term := h.waitLeader()

	rows := h.ctlStatus(0)
	var leaders []any
	for _, r := range rows {
		if r["reachable"] != true || r["error"] != nil {
			t.Errorf("healthy cluster: %v", r)
		}
		if r["role"] == "leader" {
			leaders = append(leaders, r["id"])
		}
	}
	if len(leaders) != 1 || leaders[0] != leader {
		t.Errorf("ctl sees leaders %v, want [%s]", leaders, leader)
	}
	if row := rows[slices.Index(h.ids, leader)]; row["term"] != float64(term) {
		t.Errorf("ctl reports leader term %v, want %d", row["term"], term)
	}

	res := h.Ctl("status")
	if res.code != 0 || !strings.Contains(res.stdout, "ROLE") || !strings.Contains(res.stdout, "leader") {
		t.Errorf("easykv-ctl status: exit %d, want 0 and a table:\n%s%s", res.code, res.stdout, res.stderr)
	}

	victim := h.others(leader)[0]
	h.KillNode(victim)
	for _, r := range h.ctlStatus(0) {
		if down := r["id"] == victim; down {
			if r["reachable"] != false || r["role"] != "" || r["error"] == nil {
				t.Errorf("killed %s listed as %v; want reachable false, role \"\" and an error", victim, r)
			}
		} else if r["reachable"] != true {
			t.Errorf("live node listed as %v", r)
		}
	}

	for _, id := range h.others(victim) {
		h.StopNode(id, syscall.SIGTERM)
	}
	for _, r := range h.ctlStatus(3) {
		if r["reachable"] != false {
			t.Errorf("stopped node listed as %v", r)
		}
	}
}
