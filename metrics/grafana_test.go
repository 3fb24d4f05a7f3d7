package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// metricName finds the metric names in a PromQL expression: the names of
// ours and of Go's collectors.
var metricName = regexp.MustCompile(`\b(?:easykv|go|process)_[A-Za-z0-9_]+`)

// TestGrafanaDashboardNamesExist: every metric examples/grafana-dashboard.json
// queries is one a node serves.
func TestGrafanaDashboardNamesExist(t *testing.T) {
	raw, err := os.ReadFile("../examples/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	// A node that has done a little of everything, so that every family
	// with labels has a sample.
	m := New()
	node := &fakeNode{st: &pb.NodeStatus{Id: "n1", Role: pb.Role_ROLE_LEADER, LeaderId: "n1"}}
	m.AddStatus(node)
	m.AddPeerBytes(fakeBytes{sent: map[string]uint64{"n2": 1}, received: map[string]uint64{"n2": 1}})
	m.ClientRequest(pb.KvRequest_PUT, pb.ErrorCode_OK)
	m.LogSynced(time.Millisecond)
	m.Traffic([]*pb.Traffic{
		{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Sent: true, Count: 1},
		{Kind: pb.Traffic_INSTALL_SNAPSHOT, From: "n1", To: "n3", Sent: true, Count: 1, Bytes: 10},
	})
	served := scrape(t, m.Handler(node, 0))
	queried := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, name := range metricName.FindAllString(target.Expr, -1) {
				queried++
				family := name
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					if f, ok := strings.CutSuffix(name, suffix); ok && served[f] != nil {
						family = f
					}
				}
				if served[family] == nil {
					t.Errorf("panel %q queries %s, which no node serves", p.Title, name)
				}
			}
		}
	}
	if queried < 20 {
		t.Fatalf("found only %d metric names in the dashboard: is the test reading it right?", queried)
	}
}
