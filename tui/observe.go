package tui

import (
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// observe feeds one stream event of node idx to the traffic pane, the log
// view and the header, before the model's own handling. It says whether
// the event is used up: MESSAGES events come every status interval and
// would drown the event pane, so they go no further.
func (m *Model) observe(idx int, ev *pb.WatchEvent) bool {
	n := m.nodes[idx]
	m.stats.observe(ev, m.ctx.now)
	if m.scene != nil {
		m.scene.facts.observe(n.node.ID, ev)
	}
	switch ev.GetKind() {
	case pb.WatchEvent_STATUS:
		n.log.observe(ev.GetStatus())
	case pb.WatchEvent_MESSAGES:
		m.traffic.add(n.node.ID, ev, m.ctx.now)
		for _, t := range ev.GetTraffic() {
			beat := t.GetKind() == pb.Traffic_HEARTBEAT || t.GetKind() == pb.Traffic_APPEND
			if beat && t.GetSent() && t.GetFrom() == n.node.ID && t.GetCount() > 0 {
				n.beat(m.ctx.now)
			}
		}
		return true
	case pb.WatchEvent_MESSAGE:
		m.flights.observe(ev, m.ctx.now, m.travelFrom(ev))
		return true
	}
	return false
}

// travelFrom is how long the message of a MESSAGE event takes to arrive,
// by its sender's slowed heartbeat (or, before the sender's status is
// known, the reporting node's).
func (m *Model) travelFrom(ev *pb.WatchEvent) time.Duration {
	id := ev.GetNodeId()
	if t := ev.GetTraffic(); len(t) > 0 && m.nodeIndex(t[0].GetFrom()) >= 0 {
		id = t[0].GetFrom()
	}
	if i := m.nodeIndex(id); i >= 0 {
		return travelOf(m.nodes[i].status.GetHeartbeatMs())
	}
	return minTravel
}

// nodeRank orders node ids as the cluster file does; ids it does not name
// go last.
func (m *Model) nodeRank(id string) int {
	if i := m.nodeIndex(id); i >= 0 {
		return i
	}
	return len(m.nodes)
}
