package tui

import "github.com/easykv/easykv/netlink/pb"

// observe feeds one stream event of node idx to the traffic pane, the log
// view and the header, before the model's own handling. It says whether
// the event is used up: MESSAGES events come every status interval and
// would drown the event pane, so they go no further.
func (m *Model) observe(idx int, ev *pb.WatchEvent) bool {
	n := m.nodes[idx]
	m.stats.observe(ev, m.ctx.now)
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
	}
	return false
}

// nodeRank orders node ids as the cluster file does; ids it does not name
// go last.
func (m *Model) nodeRank(id string) int {
	if i := m.nodeIndex(id); i >= 0 {
		return i
	}
	return len(m.nodes)
}
