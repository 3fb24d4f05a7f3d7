package tui

import (
	"fmt"

	"github.com/easykv/easykv/netlink/pb"
)

// leaderOf is the dashboard's one rule for "the leader", used by the
// header, the log view, the prompt (status, pause leader) and to route a
// put, get or delete: of the live nodes (connected, heard lately, not
// paused), the one that reports leader in the highest term. A paused or
// silent leader cannot serve or keep its term, so it is not it. -1 when
// there is none.
func leaderOf(nodes []*nodeState) int {
	leader := -1
	for i, n := range nodes {
		st := n.status
		if !n.live() || st.GetRole() != pb.Role_ROLE_LEADER {
			continue
		}
		if leader < 0 || st.GetTerm() > nodes[leader].status.GetTerm() {
			leader = i
		}
	}
	return leader
}

// leaderIndex is leaderOf the model's nodes.
func (m *Model) leaderIndex() int { return leaderOf(m.nodes) }

// nodeCounts is the dashboard's one way of counting nodes, for the header
// and the status command. Every node is in exactly one bucket.
type nodeCounts struct {
	// up are live: they have a status, are heard and not paused.
	up int
	// paused have a status that says paused.
	paused int
	// silent are connected but have said nothing for too long (stopped
	// or wedged processes).
	silent int
	// down failed to connect, or lost their connection.
	down int
	// connecting are dialling, or connected and waiting for a first status.
	connecting int
}

// countNodes sorts nodes into nodeCounts.
func countNodes(nodes []*nodeState) nodeCounts {
	var c nodeCounts
	for _, n := range nodes {
		switch {
		case n.status != nil && n.silentFor > 0:
			c.silent++
		case n.status.GetPaused():
			c.paused++
		case n.status != nil:
			c.up++
		case n.err != nil:
			c.down++
		default:
			c.connecting++
		}
	}
	return c
}

// String is the counts as the header and the status command word them:
// "3 up, 1 down, 1 silent, 1 paused"; down, silent, paused and connecting
// only when there are some.
func (c nodeCounts) String() string {
	s := fmt.Sprintf("%d up", c.up)
	if c.down > 0 {
		s += fmt.Sprintf(", %d down", c.down)
	}
	if c.silent > 0 {
		s += fmt.Sprintf(", %d silent", c.silent)
	}
	if c.paused > 0 {
		s += fmt.Sprintf(", %d paused", c.paused)
	}
	if c.connecting > 0 {
		s += fmt.Sprintf(", %d connecting", c.connecting)
	}
	return s
}
