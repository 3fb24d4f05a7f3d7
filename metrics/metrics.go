package metrics

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode"
)

// StatusSource is the node as the metrics read it at each scrape.
type StatusSource interface {
	Status() *pb.NodeStatus
}

// durationBuckets spans 100 µs (a sync on a fast SSD) to about 3 s (a
// stalled disk), doubling.
var durationBuckets = prometheus.ExponentialBuckets(0.0001, 2, 16)

// Metrics holds one node's collectors in a registry of its own.
type Metrics struct {
	reg *prometheus.Registry

	leaderChanges    prometheus.Counter
	walWrite         prometheus.Histogram
	walFsync         prometheus.Histogram
	snapshotSave     prometheus.Histogram
	snapshotInstall  prometheus.Histogram
	proposalsFailed  prometheus.Counter
	proposalsPending prometheus.Gauge
	clientRequests   *prometheus.CounterVec // op, result
	peerMessages     *prometheus.CounterVec // peer, kind, direction
	snapshotBytes    *prometheus.CounterVec // peer, direction
	// requests caches clientRequests' counters by op and code: the node
	// counts every request, and a label lookup hashes strings.
	requests [numOps][numCodes]prometheus.Counter
}

const (
	numOps   = 3 // PUT, GET, DELETE
	numCodes = 8 // OK … UNAVAILABLE
)

var _ raftnode.Observer = (*Metrics)(nil)

// New returns a node's metrics, with the Go runtime and process
// collectors; those read from its status come with AddStatus, once the
// node exists (it takes the Metrics as its raftnode.Observer first).
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "easykv_server_leader_changes_seen_total",
			Help: "The number of leader changes seen.",
		}),
		walWrite: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "easykv_disk_wal_write_duration_seconds",
			Help:    "The latency of copying a batch of entries into the log, before its sync.",
			Buckets: durationBuckets,
		}),
		walFsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "easykv_disk_wal_fsync_duration_seconds",
			Help:    "The latency of the log's syncs (msync of the segment written).",
			Buckets: durationBuckets,
		}),
		snapshotSave: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "easykv_snapshot_save_duration_seconds",
			Help:    "How long saving a snapshot of the state machine took; its count is the snapshots taken.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		snapshotInstall: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "easykv_snapshot_install_duration_seconds",
			Help:    "How long receiving and installing a leader's snapshot took, from its first chunk; its count is the snapshots installed.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		proposalsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "easykv_server_proposals_failed_total",
			Help: "The number of writes proposed here that failed (leadership lost, or overwritten by a new leader).",
		}),
		proposalsPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "easykv_server_proposals_pending",
			Help: "The number of writes proposed here and not yet applied.",
		}),
		clientRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easykv_client_requests_total",
			Help: "Client requests answered by this node, by operation and result.",
		}, []string{"op", "result"}),
		peerMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easykv_network_peer_messages_total",
			Help: "Raft messages to (direction sent) and from (received) each peer, by kind.",
		}, []string{"peer", "kind", "direction"}),
		snapshotBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easykv_network_snapshot_bytes_total",
			Help: "Bytes of snapshot chunks sent to and received from each peer.",
		}, []string{"peer", "direction"}),
	}
	for op := range numOps {
		for code := range numCodes {
			m.requests[op][code] = m.clientRequests.WithLabelValues(opLabel(pb.KvRequest_OpType(op)), resultLabel(pb.ErrorCode(code)))
		}
	}
	m.reg.MustRegister(
		m.leaderChanges, m.walWrite, m.walFsync, m.snapshotSave, m.snapshotInstall,
		m.proposalsFailed, m.proposalsPending, m.clientRequests, m.peerMessages, m.snapshotBytes,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// AddStatus adds the gauges read from src's status at each scrape.
func (m *Metrics) AddStatus(src StatusSource) {
	m.reg.MustRegister(newStatusCollector(src))
}

// AddPeerBytes adds the bytes sent to and received from each peer, read
// from src at each scrape.
func (m *Metrics) AddPeerBytes(src PeerByteCounts) {
	m.reg.MustRegister(newPeerBytesCollector(src))
}

func opLabel(op pb.KvRequest_OpType) string   { return strings.ToLower(op.String()) }
func resultLabel(code pb.ErrorCode) string    { return strings.ToLower(code.String()) }
func seconds(d time.Duration) float64         { return d.Seconds() }
func (m *Metrics) LogWritten(d time.Duration) { m.walWrite.Observe(seconds(d)) }
func (m *Metrics) LogSynced(d time.Duration)  { m.walFsync.Observe(seconds(d)) }
func (m *Metrics) SnapshotSaved(d time.Duration) {
	m.snapshotSave.Observe(seconds(d))
}
func (m *Metrics) SnapshotInstalled(d time.Duration) {
	m.snapshotInstall.Observe(seconds(d))
}
func (m *Metrics) LeaderChanged()         { m.leaderChanges.Inc() }
func (m *Metrics) ProposalsFailed(n int)  { m.proposalsFailed.Add(float64(n)) }
func (m *Metrics) ProposalsPending(n int) { m.proposalsPending.Set(float64(n)) }

// ClientRequest counts one answered request.
func (m *Metrics) ClientRequest(op pb.KvRequest_OpType, code pb.ErrorCode) {
	if op >= 0 && op < numOps && code >= 0 && code < numCodes {
		m.requests[op][code].Inc()
		return
	}
	m.clientRequests.WithLabelValues(opLabel(op), resultLabel(code)).Inc()
}

// Traffic adds one window of Raft messages to the per-peer counters.
func (m *Metrics) Traffic(lines []*pb.Traffic) {
	for _, l := range lines {
		peer, direction := l.GetTo(), "sent"
		if !l.GetSent() {
			peer, direction = l.GetFrom(), "received"
		}
		kind := strings.ToLower(l.GetKind().String())
		if l.GetPreVote() {
			kind = "pre_" + kind
		}
		m.peerMessages.WithLabelValues(peer, kind, direction).Add(float64(l.GetCount()))
		if l.GetKind() == pb.Traffic_INSTALL_SNAPSHOT {
			m.snapshotBytes.WithLabelValues(peer, direction).Add(float64(l.GetBytes()))
		}
	}
}
