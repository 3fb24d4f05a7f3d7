package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/easykv/easykv/netlink/pb"
)

// statusCollector reads the node's status at each scrape, so that what a
// scrape reports is what `easykv-ctl status` would say at that moment.
type statusCollector struct {
	src    StatusSource
	gauges []statusGauge
}

// statusGauge is one gauge computed from a status.
type statusGauge struct {
	desc  *prometheus.Desc
	value func(*pb.NodeStatus) float64
}

var _ prometheus.Collector = (*statusCollector)(nil)

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func newStatusCollector(src StatusSource) *statusCollector {
	g := func(name, help string, value func(*pb.NodeStatus) float64) statusGauge {
		return statusGauge{desc: prometheus.NewDesc(name, help, nil, nil), value: value}
	}
	return &statusCollector{src: src, gauges: []statusGauge{
		g("easykv_server_has_leader", "Whether or not a leader exists: 1 is existence, 0 is not.",
			func(s *pb.NodeStatus) float64 { return boolValue(s.GetLeaderId() != "") }),
		g("easykv_server_is_leader", "Whether or not this node is the leader: 1 if it is, 0 otherwise.",
			func(s *pb.NodeStatus) float64 { return boolValue(s.GetRole() == pb.Role_ROLE_LEADER) }),
		g("easykv_server_is_learner", "Whether or not this node is a learner: 1 if it is, 0 otherwise.",
			func(s *pb.NodeStatus) float64 { return boolValue(s.GetLearner()) }),
		g("easykv_server_term", "The node's current Raft term.",
			func(s *pb.NodeStatus) float64 { return float64(s.GetTerm()) }),
		g("easykv_server_proposals_committed_total", "The total number of consensus proposals committed (the commit index).",
			func(s *pb.NodeStatus) float64 { return float64(s.GetCommitIndex()) }),
		g("easykv_server_proposals_applied_total", "The total number of consensus proposals applied (the applied index).",
			func(s *pb.NodeStatus) float64 { return float64(s.GetAppliedIndex()) }),
		g("easykv_raft_commit_index", "The highest log index known to be committed.",
			func(s *pb.NodeStatus) float64 { return float64(s.GetCommitIndex()) }),
		g("easykv_raft_applied_index", "The highest log index applied to the state machine.",
			func(s *pb.NodeStatus) float64 { return float64(s.GetAppliedIndex()) }),
		g("easykv_raft_last_index", "The index of the last entry in the log.",
			func(s *pb.NodeStatus) float64 { return float64(s.GetLastIndex()) }),
		g("easykv_raft_first_index", "The first index still in the log; entries before it are compacted into the snapshot.",
			func(s *pb.NodeStatus) float64 { return float64(s.GetFirstIndex()) }),
		g("easykv_raft_snapshot_index", "The last index the newest snapshot covers; 0 without one.",
			func(s *pb.NodeStatus) float64 { return float64(s.GetSnapshotIndex()) }),
		g("easykv_server_paused", "Whether an admin pause is in effect: 1 paused, 0 not.",
			func(s *pb.NodeStatus) float64 { return boolValue(s.GetPaused()) }),
		g("easykv_fault_partitioned", "Whether the PARTITION fault cuts this node off from every peer.",
			func(s *pb.NodeStatus) float64 { return boolValue(s.GetPartitioned()) }),
		g("easykv_fault_isolated_peers", "The number of peers the ISOLATE fault cuts this node off from.",
			func(s *pb.NodeStatus) float64 { return float64(len(s.GetIsolatedFrom())) }),
		g("easykv_fault_delay_seconds", "The outbound message delay set by the DELAY fault.",
			func(s *pb.NodeStatus) float64 { return float64(s.GetDelayMs()) / 1000 }),
		g("easykv_fault_disk_stall_seconds", "How long each disk sync waits under the SLOW_DISK fault.",
			func(s *pb.NodeStatus) float64 { return float64(s.GetDiskStallMs()) / 1000 }),
	}}
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, g := range c.gauges {
		ch <- g.desc
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Status()
	for _, g := range c.gauges {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, g.value(st))
	}
}

// PeerByteCounts is the transport's count of Raft bytes per peer
// (*netlink.PeerBytes).
type PeerByteCounts interface {
	Totals() (sent, received map[string]uint64)
}

// peerBytesCollector reports PeerByteCounts at each scrape, with etcd's
// names and labels.
type peerBytesCollector struct {
	src            PeerByteCounts
	sent, received *prometheus.Desc
}

var _ prometheus.Collector = (*peerBytesCollector)(nil)

func newPeerBytesCollector(src PeerByteCounts) *peerBytesCollector {
	return &peerBytesCollector{
		src:      src,
		sent:     prometheus.NewDesc("easykv_network_peer_sent_bytes_total", "The total number of bytes of Raft messages sent to peers.", []string{"To"}, nil),
		received: prometheus.NewDesc("easykv_network_peer_received_bytes_total", "The total number of bytes of Raft messages received from peers.", []string{"From"}, nil),
	}
}

func (c *peerBytesCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.sent
	ch <- c.received
}

func (c *peerBytesCollector) Collect(ch chan<- prometheus.Metric) {
	sent, received := c.src.Totals()
	for peer, n := range sent {
		ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(n), peer)
	}
	for peer, n := range received {
		ch <- prometheus.MustNewConstMetric(c.received, prometheus.CounterValue, float64(n), peer)
	}
}
