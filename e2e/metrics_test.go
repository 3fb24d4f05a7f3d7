package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/easykv/easykv/internal/testkit"
)

// httpGet fetches url, returning the status code and body.
func httpGet(url string) (int, string, error) {
	c := http.Client{Timeout: statusTimeout}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// scrapeNode fetches and parses a node's /metrics.
func (h *Harness) scrapeNode(id string) (map[string]*dto.MetricFamily, error) {
	code, body, err := httpGet("http://" + h.metricsAddrs[id] + "/metrics")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("/metrics of %s: %d", id, code)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	return p.TextToMetricFamilies(strings.NewReader(body))
}

// sample is the value of family name's sample with labels, or false.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	for _, m := range fams[name].GetMetric() {
		matched := 0
		for _, l := range m.GetLabel() {
			if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
				matched++
			}
		}
		if matched != len(labels) {
			continue
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsScrape: every node of a real cluster serves Prometheus
// metrics that agree with what status reports, and probes that follow
// the node's state.
func TestMetricsScrape(t *testing.T) {
	h := StartCluster(t, 3, withMetrics())
	leader, _ := h.waitLeader()
	const puts = 20
	for i := range puts {
		if res := h.Ctl("put", fmt.Sprintf("k%d", i), "v"); res.code != 0 {
			t.Fatalf("put: %d %s", res.code, res.stderr)
		}
	}
	for _, id := range h.ids {
		h.waitFor(id+"'s metrics to agree with its status", func() (bool, string) {
			fams, err := h.scrapeNode(id)
			if err != nil {
				return false, err.Error()
			}
			st, err := h.Status(id)
			if err != nil {
				return false, err.Error()
			}
			// The status is read after the scrape: indexes only grow, and
			// once writes stop both settle on the same values.
			for _, c := range []struct {
				name string
				want float64
			}{
				{"easykv_server_term", float64(st.GetTerm())},
				{"easykv_raft_commit_index", float64(st.GetCommitIndex())},
				{"easykv_raft_applied_index", float64(st.GetAppliedIndex())},
				{"easykv_raft_last_index", float64(st.GetLastIndex())},
				{"easykv_raft_first_index", float64(st.GetFirstIndex())},
				{"easykv_server_has_leader", 1},
				{"easykv_server_is_leader", map[bool]float64{true: 1}[id == leader]},
				{"easykv_server_paused", 0},
			} {
				if got, ok := sample(fams, c.name, nil); !ok || got != c.want {
					return false, fmt.Sprintf("%s = %v (present %v), status says %v", c.name, got, ok, c.want)
				}
			}
			if st.GetAppliedIndex() < puts {
				return false, fmt.Sprintf("applied %d", st.GetAppliedIndex())
			}
			return true, ""
		})
	}

	fams, err := h.scrapeNode(leader)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := sample(fams, "easykv_client_requests_total", map[string]string{"op": "put", "result": "ok"}); got < puts {
		t.Errorf("leader counted %v successful puts, want at least %d", got, puts)
	}
	if got, _ := sample(fams, "easykv_disk_wal_fsync_duration_seconds", nil); got == 0 {
		t.Error("leader observed no log sync")
	}
	for _, f := range h.others(leader) {
		if got, _ := sample(fams, "easykv_network_peer_messages_total", map[string]string{"peer": f, "kind": "append", "direction": "sent"}); got == 0 {
			t.Errorf("leader counted no appends sent to %s", f)
		}
		if got, _ := sample(fams, "easykv_network_peer_sent_bytes_total", map[string]string{"To": f}); got < puts*10 {
			t.Errorf("leader counted %v bytes sent to %s", got, f)
		}
		ffams, err := h.scrapeNode(f)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := sample(ffams, "easykv_network_peer_received_bytes_total", map[string]string{"From": leader}); got < puts*10 {
			t.Errorf("%s counted %v bytes received from the leader", f, got)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "easykv_server_leader_changes_seen_total", "easykv_snapshot_save_duration_seconds"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("leader's scrape has no %s", name)
		}
	}

	// Probes: every node is ready; a paused one is not, until resumed.
	follower := h.others(leader)[0]
	for _, id := range h.ids {
		if code, body, err := httpGet("http://" + h.metricsAddrs[id] + "/readyz"); err != nil || code != http.StatusOK {
			t.Errorf("%s /readyz: %d %s %v", id, code, body, err)
		}
	}
	if res := h.Ctl("health"); res.code != 0 || strings.Count(res.stdout, " healthy: leader "+leader) != 3 {
		t.Errorf("health: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if res := h.Ctl("pause", follower); res.code != 0 {
		t.Fatalf("pause: %d %s", res.code, res.stderr)
	}
	if res := h.Ctl("health"); res.code != 1 || !strings.Contains(res.stdout, follower+" "+h.addrs[follower]+" unhealthy: paused") {
		t.Errorf("health with %s paused: exit %d\n%s%s", follower, res.code, res.stdout, res.stderr)
	}
	code, body, err := httpGet("http://" + h.metricsAddrs[follower] + "/readyz")
	var answer struct {
		OK     bool   `json:"ok"`
		Reason string `json:"reason"`
	}
	if err != nil || code != http.StatusServiceUnavailable || json.Unmarshal([]byte(body), &answer) != nil || answer.OK || !strings.Contains(answer.Reason, "paused") {
		t.Errorf("paused %s /readyz: %d %q %v, want 503 with reason paused", follower, code, body, err)
	}
	if code, _, err := httpGet("http://" + h.metricsAddrs[follower] + "/livez"); err != nil || code != http.StatusOK {
		t.Errorf("paused %s /livez: %d %v, want 200", follower, code, err)
	}
	if res := h.Ctl("resume", follower); res.code != 0 {
		t.Fatalf("resume: %d %s", res.code, res.stderr)
	}
	h.waitFor(follower+" ready again", func() (bool, string) {
		code, body, err := httpGet("http://" + h.metricsAddrs[follower] + "/readyz")
		return err == nil && code == http.StatusOK, fmt.Sprintf("%d %s %v", code, body, err)
	})
}

// TestMetricsPortInUse: a node whose metrics_addr is taken stops at start
// with exit status 1, saying so.
func TestMetricsPortInUse(t *testing.T) {
	skipIfShort(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ports, err := testkit.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	c := testkit.Cluster{Name: clusterName, Heartbeat: heartbeat, ElectionTimeout: electionTimeout,
		Nodes: testkit.Nodes(fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1]), fmt.Sprintf("127.0.0.1:%d", ports[2]))}
	c.Nodes[0].MetricsAddr = taken.Addr().String()
	dir := t.TempDir()
	path := testkit.WriteCluster(t, filepath.Join(dir, "cluster.yaml"), c)
	res := runBinary(t, bins.node, "--cluster", path, "--id", "n1")
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	last := lines[len(lines)-1]
	if res.code != 1 || !strings.Contains(last, "metrics") || !strings.Contains(last, taken.Addr().String()) {
		t.Fatalf("exit %d, last line %q; want 1 naming the metrics address", res.code, last)
	}
	if strings.Contains(res.stderr, "panic") {
		t.Fatalf("panic:\n%s", res.stderr)
	}
}
