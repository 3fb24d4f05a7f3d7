package tui

import (
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// The dashboard follows the cluster's configuration as the nodes report it
// (NodeStatus.members), not cluster.yaml, which names only the initial
// one: a member it does not know gets a connection and a card, a node the
// leader's configuration leaves out is marked removed, and a removed node
// that is unreachable has its card closed at once and is not dialled
// again (unless a configuration lists it again). Nodes are only ever
// appended to Model.nodes, so the index a message carries keeps naming
// the same node.

// memberRole is a node's place in the configuration.
type memberRole int

const (
	// memberUnknown: no status has listed members yet (a node that
	// predates membership changes), so nothing is marked.
	memberUnknown memberRole = iota
	memberVoter
	memberLearner
	memberRemoved
)

// The marks of a node's place in the configuration, beside its role badge.
const (
	// learnerText marks a learner: it gets the log but has no vote.
	learnerText = learnerGlyph + " learner"
	// learnerGlyph stands for a learner in a list of members ("◇n4").
	learnerGlyph = "◇"
	// removedText marks a node the configuration no longer lists.
	removedText = "⊘ removed"
	// transferText is followed by the node a leader hands leadership to.
	transferText = "→ "
)

// configuration is the membership the dashboard follows: the leader's, or,
// with no leader known, the newest (by config_index) that a node with a
// status reports. fromLeader says it is the leader's, the only one trusted
// to say a node was removed. Empty when no status lists members.
func (m *Model) configuration() (members []*pb.Member, fromLeader bool) {
	if i := m.leaderIndex(); i >= 0 && len(m.nodes[i].status.GetMembers()) > 0 {
		return m.nodes[i].status.GetMembers(), true
	}
	var newest *pb.NodeStatus
	for _, n := range m.nodes {
		if st := n.status; len(st.GetMembers()) > 0 && (newest == nil || st.GetConfigIndex() > newest.GetConfigIndex()) {
			newest = st
		}
	}
	return newest.GetMembers(), false
}

// learnMembers opens (returns the dials of) a connection to every member of the configuration the
// dashboard has no card for, as Init does for cluster.yaml's nodes, and
// again to a node whose card was closed once a configuration lists it
// again. Only stream messages call it: a dial it starts is the stream's
// business, not a command's (piped mode waits for a command's own).
func (m *Model) learnMembers() []tea.Cmd {
	members, _ := m.configuration()
	var dials []tea.Cmd
	for _, mb := range members {
		id, addr := mb.GetId(), mb.GetAddr()
		if id == "" || addr == "" {
			continue
		}
		idx := m.nodeIndex(id)
		switch {
		case idx < 0:
			m.nodes = append(m.nodes, &nodeState{node: Node{ID: id, Addr: addr}})
			idx = len(m.nodes) - 1
			m.note(m.nodes[idx], "is a member now ("+clean(addr)+"): connecting")
		case m.nodes[idx].retired:
			n := m.nodes[idx]
			n.retired, n.node.Addr, n.failures = false, addr, 0
			m.note(n, "is a member again ("+clean(addr)+"): connecting")
			if !n.retryAt.IsZero() {
				continue // its pending retry dials it
			}
		default:
			continue
		}
		dials = append(dials, m.connect(idx))
	}
	return dials
}

// markMembers sets each node's place in the configuration, the voters of
// the vote tallies and the quorum, and closes the card of a removed node
// that is unreachable. It does no I/O, so it runs after every message.
func (m *Model) markMembers() {
	members, fromLeader := m.configuration()
	for _, n := range m.nodes {
		switch {
		case fromLeader:
			n.member = memberRemoved
			if i := slices.IndexFunc(members, func(mb *pb.Member) bool { return mb.GetId() == n.node.ID }); i >= 0 {
				n.member = roleOf(members[i].GetLearner())
			}
		case n.status.GetRemoved():
			n.member = memberRemoved
		case len(n.status.GetMembers()) > 0:
			n.member = roleOf(n.status.GetLearner())
		}
		if n.member == memberRemoved && n.conn == nil && n.err != nil && !n.retired {
			n.retired = true
			m.note(n, "removed from the configuration and unreachable: card closed")
		}
	}
	if len(members) == 0 {
		return
	}
	m.ctx.ids = m.ctx.ids[:0]
	for _, mb := range members {
		if !mb.GetLearner() {
			m.ctx.ids = append(m.ctx.ids, clean(mb.GetId()))
		}
	}
	m.ctx.quorum = len(m.ctx.ids)/2 + 1
}

// String is the role as the status command words it; "" when unknown.
func (r memberRole) String() string {
	switch r {
	case memberVoter:
		return "voter"
	case memberLearner:
		return "learner"
	case memberRemoved:
		return "removed"
	}
	return ""
}

// roleOf is a member's role by its learner flag.
func roleOf(learner bool) memberRole {
	if learner {
		return memberLearner
	}
	return memberVoter
}

// shownNodes are the nodes that have a card (or a line): all but those
// closed once removed and unreachable.
func (m *Model) shownNodes() []*nodeState {
	return slices.DeleteFunc(slices.Clone(m.nodes), func(n *nodeState) bool { return n.retired })
}

// memberIDs are the ids of the configuration's members that want pick
// (by their learner flag), in its order; with no configuration reported,
// cluster.yaml's nodes, all voters.
func (m *Model) memberIDs(want func(learner bool) bool) []string {
	members, _ := m.configuration()
	if len(members) == 0 {
		if want(false) {
			return m.nodeIDs()
		}
		return nil
	}
	var ids []string
	for _, mb := range members {
		if want(mb.GetLearner()) {
			ids = append(ids, mb.GetId())
		}
	}
	return ids
}

// memberMarks are node n's configuration marks, styled, for its card head
// and its line in the node table: learner or removed, and a leader's
// transfer under way ("→ n2").
func memberMarks(st *Styles, n *nodeState) []string {
	var marks []string
	switch n.member {
	case memberLearner:
		marks = append(marks, st.Learner.Render(learnerText))
	case memberRemoved:
		marks = append(marks, st.Removed.Render(removedText))
	}
	if to := n.status.GetTransferTo(); to != "" && n.status.GetRole() == pb.Role_ROLE_LEADER {
		marks = append(marks, st.Transfer.Render(transferText+clean(to)))
	}
	return marks
}

// membersText lists a configuration as the event pane says it: "n1 n2 n3
// ◇n4", a learner's id after its glyph.
func membersText(members []*pb.Member) string {
	ids := make([]string, len(members))
	for i, mb := range members {
		ids[i] = mb.GetId()
		if mb.GetLearner() {
			ids[i] = learnerGlyph + ids[i]
		}
	}
	return strings.Join(ids, " ")
}

// confChange words what turns configuration before into after: "adding n4
// as learner", "promoting n4", "removing n3", joined by ", " when several;
// "" when before is unknown or nothing differs.
func confChange(before, after []*pb.Member) string {
	if len(before) == 0 {
		return ""
	}
	find := func(members []*pb.Member, id string) *pb.Member {
		if i := slices.IndexFunc(members, func(mb *pb.Member) bool { return mb.GetId() == id }); i >= 0 {
			return members[i]
		}
		return nil
	}
	var changes []string
	for _, mb := range after {
		was := find(before, mb.GetId())
		switch {
		case was == nil && mb.GetLearner():
			changes = append(changes, "adding "+mb.GetId()+" as learner")
		case was == nil:
			changes = append(changes, "adding "+mb.GetId()+" as voter")
		case was.GetLearner() && !mb.GetLearner():
			changes = append(changes, "promoting "+mb.GetId()+" to voter")
		case !was.GetLearner() && mb.GetLearner():
			changes = append(changes, "demoting "+mb.GetId()+" to learner")
		}
	}
	for _, mb := range before {
		if find(after, mb.GetId()) == nil {
			changes = append(changes, "removing "+mb.GetId())
		}
	}
	return strings.Join(changes, ", ")
}
