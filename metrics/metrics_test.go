package metrics

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/easykv/easykv/netlink/pb"
)

// fakeNode is a StatusSource whose status the test sets.
type fakeNode struct {
	mu sync.Mutex
	st *pb.NodeStatus
}

var _ StatusSource = (*fakeNode)(nil)

func (f *fakeNode) Status() *pb.NodeStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

func (f *fakeNode) set(st *pb.NodeStatus) {
	f.mu.Lock()
	f.st = st
	f.mu.Unlock()
}

// fakeBytes is a PeerByteCounts with fixed totals.
type fakeBytes struct{ sent, received map[string]uint64 }

func (f fakeBytes) Totals() (sent, received map[string]uint64) { return f.sent, f.received }

// scrape fetches /metrics from h and parses it as Prometheus text.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value returns the value of the sample of family name whose labels
// include want, failing the test when there is none.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := families[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no sample of %s with labels %v", name, want)
	return 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			found++
		}
	}
	return found == len(want)
}

func TestScrapeReadsStatusAndObservations(t *testing.T) {
	node := &fakeNode{st: &pb.NodeStatus{Id: "n1", Role: pb.Role_ROLE_LEADER, LeaderId: "n1", Term: 7, CommitIndex: 42, AppliedIndex: 41, LastIndex: 43, FirstIndex: 5, SnapshotIndex: 4, DiskStallMs: 250, IsolatedFrom: []string{"n2"}}}
	m := New()
	m.AddStatus(node)
	m.AddPeerBytes(fakeBytes{sent: map[string]uint64{"n2": 1000}, received: map[string]uint64{"n3": 77}})
	m.LogWritten(20 * time.Microsecond)
	m.LogSynced(300 * time.Microsecond)
	m.LogSynced(400 * time.Microsecond)
	m.SnapshotSaved(time.Second)
	m.LeaderChanged()
	m.ProposalsFailed(3)
	m.ProposalsFailed(0)
	m.ProposalsPending(9)
	m.ClientRequest(pb.KvRequest_PUT, pb.ErrorCode_OK)
	m.ClientRequest(pb.KvRequest_PUT, pb.ErrorCode_OK)
	m.ClientRequest(pb.KvRequest_GET, pb.ErrorCode_NOT_LEADER)
	m.Traffic([]*pb.Traffic{
		{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Sent: true, Count: 5, Entries: 50},
		{Kind: pb.Traffic_APPEND_OK, From: "n2", To: "n1", Count: 4},
		{Kind: pb.Traffic_VOTE, From: "n3", To: "n1", PreVote: true, Count: 1},
		{Kind: pb.Traffic_INSTALL_SNAPSHOT, From: "n1", To: "n3", Sent: true, Count: 2, Bytes: 2048},
	})
	m.Traffic([]*pb.Traffic{{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Sent: true, Count: 1}})
	fams := scrape(t, m.Handler(node, 0))

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"easykv_server_has_leader", nil, 1},
		{"easykv_server_is_leader", nil, 1},
		{"easykv_server_term", nil, 7},
		{"easykv_server_proposals_committed_total", nil, 42},
		{"easykv_server_proposals_applied_total", nil, 41},
		{"easykv_raft_last_index", nil, 43},
		{"easykv_raft_first_index", nil, 5},
		{"easykv_raft_snapshot_index", nil, 4},
		{"easykv_fault_disk_stall_seconds", nil, 0.25},
		{"easykv_fault_isolated_peers", nil, 1},
		{"easykv_server_paused", nil, 0},
		{"easykv_disk_wal_write_duration_seconds", nil, 1},
		{"easykv_disk_wal_fsync_duration_seconds", nil, 2},
		{"easykv_snapshot_save_duration_seconds", nil, 1},
		{"easykv_snapshot_install_duration_seconds", nil, 0},
		{"easykv_server_leader_changes_seen_total", nil, 1},
		{"easykv_server_proposals_failed_total", nil, 3},
		{"easykv_server_proposals_pending", nil, 9},
		{"easykv_client_requests_total", map[string]string{"op": "put", "result": "ok"}, 2},
		{"easykv_client_requests_total", map[string]string{"op": "get", "result": "not_leader"}, 1},
		{"easykv_client_requests_total", map[string]string{"op": "delete", "result": "ok"}, 0},
		{"easykv_network_peer_messages_total", map[string]string{"peer": "n2", "kind": "append", "direction": "sent"}, 6},
		{"easykv_network_peer_messages_total", map[string]string{"peer": "n2", "kind": "append_ok", "direction": "received"}, 4},
		{"easykv_network_peer_messages_total", map[string]string{"peer": "n3", "kind": "pre_vote", "direction": "received"}, 1},
		{"easykv_network_snapshot_bytes_total", map[string]string{"peer": "n3", "direction": "sent"}, 2048},
		{"easykv_network_peer_sent_bytes_total", map[string]string{"To": "n2"}, 1000},
		{"easykv_network_peer_received_bytes_total", map[string]string{"From": "n3"}, 77},
	} {
		if got := value(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no %s: the runtime and process collectors are missing", name)
		}
	}

	// The gauges follow the status at each scrape.
	node.set(&pb.NodeStatus{Id: "n1", Term: 8, Paused: true})
	fams = scrape(t, m.Handler(node, 0))
	if value(t, fams, "easykv_server_has_leader", nil) != 0 || value(t, fams, "easykv_server_term", nil) != 8 || value(t, fams, "easykv_server_paused", nil) != 1 {
		t.Errorf("after the status changed: has_leader %v, term %v, paused %v", value(t, fams, "easykv_server_has_leader", nil), value(t, fams, "easykv_server_term", nil), value(t, fams, "easykv_server_paused", nil))
	}
}

func TestProbes(t *testing.T) {
	node := &fakeNode{}
	h := New().Handler(node, 10)
	probe := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var body struct {
			OK     bool   `json:"ok"`
			Reason string `json:"reason"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v in %q", path, err, rec.Body)
		}
		if body.OK != (rec.Code == http.StatusOK) {
			t.Fatalf("%s: code %d with ok %v", path, rec.Code, body.OK)
		}
		return rec.Code, body.Reason
	}
	for _, c := range []struct {
		name   string
		st     *pb.NodeStatus
		code   int
		reason string
	}{
		{"no leader", &pb.NodeStatus{AppliedIndex: 10}, 503, "no leader"},
		{"behind the commit index it started with", &pb.NodeStatus{LeaderId: "n2", AppliedIndex: 4}, 503, "applied 4 of the 10 entries committed when it started"},
		{"paused", &pb.NodeStatus{LeaderId: "n2", AppliedIndex: 10, Paused: true}, 503, "paused"},
		{"ready", &pb.NodeStatus{LeaderId: "n2", AppliedIndex: 10}, 200, ""},
	} {
		node.set(c.st)
		code, reason := probe("/readyz")
		if code != c.code || !strings.Contains(reason, c.reason) {
			t.Errorf("%s: /readyz %d %q, want %d %q", c.name, code, reason, c.code, c.reason)
		}
		if code, _ := probe("/livez"); code != http.StatusOK {
			t.Errorf("%s: /livez %d", c.name, code)
		}
	}
}
