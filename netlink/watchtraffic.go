package netlink

import "github.com/easykv/easykv/netlink/pb"

// trafficKey names one line of a MESSAGES event.
type trafficKey struct {
	kind     pb.Traffic_Kind
	from, to string
	sent     bool
	preVote  bool
}

// heldTraffic merges the MESSAGES events that arrive after a watch has
// sent one in the current status interval, so that a watch gets at most
// one per interval however often the node publishes them. It builds a new
// event: the node's events may be shared with other watches.
type heldTraffic struct {
	ev    *pb.WatchEvent             // the merged event; nil when nothing is held
	lines map[trafficKey]*pb.Traffic // ev's lines by key
}

// add merges e's lines into the held event; the event takes e's time,
// term, role and leader, the latest.
func (h *heldTraffic) add(e *pb.WatchEvent) {
	if h.ev == nil {
		h.ev = &pb.WatchEvent{Kind: pb.WatchEvent_MESSAGES, NodeId: e.GetNodeId()}
		h.lines = map[trafficKey]*pb.Traffic{}
	}
	h.ev.UnixMs, h.ev.Term, h.ev.Role, h.ev.LeaderId = e.GetUnixMs(), e.GetTerm(), e.GetRole(), e.GetLeaderId()
	for _, l := range e.GetTraffic() {
		k := trafficKey{kind: l.GetKind(), from: l.GetFrom(), to: l.GetTo(), sent: l.GetSent(), preVote: l.GetPreVote()}
		m := h.lines[k]
		if m == nil {
			m = &pb.Traffic{Kind: k.kind, From: k.from, To: k.to, Sent: k.sent, PreVote: k.preVote}
			h.lines[k] = m
			h.ev.Traffic = append(h.ev.Traffic, m)
		}
		m.Count += l.GetCount()
		m.Entries += l.GetEntries()
		m.Match = max(m.Match, l.GetMatch())
		m.Term = max(m.Term, l.GetTerm())
	}
}

// take returns the held event, nil when there is none, and forgets it.
func (h *heldTraffic) take() *pb.WatchEvent {
	ev := h.ev
	h.ev, h.lines = nil, nil
	return ev
}
