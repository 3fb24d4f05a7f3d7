package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// memberVerbs are the prompt's words for the membership and leadership
// commands, which only the leader serves.
var memberVerbs = map[pb.AdminCommand]string{
	pb.AdminCommand_MEMBER_ADD:      "add",
	pb.AdminCommand_MEMBER_PROMOTE:  "promote",
	pb.AdminCommand_MEMBER_REMOVE:   "remove",
	pb.AdminCommand_TRANSFER_LEADER: "transfer",
}

// learnerWord is the third word of "add ID ADDR learner".
const learnerWord = "learner"

// memberDoneMsg is the answer to a membership or leadership command.
type memberDoneMsg struct {
	adminDoneMsg
	// redirected says the request already followed a not-leader answer's
	// leader_id; a second one is reported, not followed, so two nodes
	// that name each other cannot bounce it for ever.
	redirected bool
}

// memberCmd sends req to node idx over conn as adminCmd does, answered as
// a memberDoneMsg.
func memberCmd(idx int, conn NodeConn, req *pb.AdminRequest, redirected bool) tea.Cmd {
	send := adminCmd(idx, conn, req)
	return func() tea.Msg {
		return memberDoneMsg{adminDoneMsg: send().(adminDoneMsg), redirected: redirected}
	}
}

// addMember runs "add ID ADDR [learner]": node ID, at ADDR, joins the
// configuration as a voter, or as a learner that copies the log without
// a vote until it is promoted.
func (m *Model) addMember(args []string) tea.Cmd {
	learner := len(args) == 3 && strings.EqualFold(args[2], learnerWord)
	if len(args) != 2 && !learner {
		m.setError("usage: add ID ADDR, or add ID ADDR learner")
		return nil
	}
	return m.toLeader(&pb.AdminRequest{Command: pb.AdminCommand_MEMBER_ADD, MemberId: args[0], MemberAddr: args[1], Learner: learner})
}

// memberChange runs "promote ID", "remove ID" or "transfer ID", typed as
// verb.
func (m *Model) memberChange(verb string, cmd pb.AdminCommand, args []string) tea.Cmd {
	if len(args) != 1 {
		m.setError("usage: %s ID", verb)
		return nil
	}
	return m.toLeader(&pb.AdminRequest{Command: cmd, MemberId: args[0]})
}

// toLeader sends req to the node the dashboard takes for the leader
// (leaderOf). While no node says it leads (a transfer or an election just
// ended, and the new leader's status is on its way), it goes to a live
// node, whose not-leader answer names the leader it follows.
func (m *Model) toLeader(req *pb.AdminRequest) tea.Cmd {
	what := memberVerbs[req.GetCommand()] + " " + req.GetMemberId()
	idx := m.leaderIndex()
	if idx < 0 {
		idx = slices.IndexFunc(m.nodes, func(n *nodeState) bool { return n.live() && n.conn != nil })
	}
	if idx < 0 || m.nodes[idx].conn == nil {
		m.memberResult(what+": no leader known to send it to", true)
		return nil
	}
	n := m.nodes[idx]
	m.setStatus("%s: sent to the leader, %s…", what, n.node.ID)
	m.repl.adminSent[idx] = m.ctx.now
	return memberCmd(idx, n.conn, req, false)
}

// memberDone shows the answer to a membership or leadership command. A
// node that says it is not the leader and names one gets the request
// sent on to it, once.
func (m *Model) memberDone(msg memberDoneMsg) tea.Cmd {
	n, req, resp := m.nodes[msg.node], msg.req, msg.resp
	what := memberVerbs[req.GetCommand()] + " " + req.GetMemberId()
	if msg.err != nil {
		m.memberResult(adminFailure(what+" via", n.node.ID, msg.err), true)
		return nil
	}
	m.adoptStatus(msg.node, resp.GetStatus())
	if resp.GetOk() {
		took := latency(m.ctx.now.Sub(m.repl.adminSent[msg.node]))
		m.memberResult(fmt.Sprintf("%s (via %s, %s)", memberSuccess(req), n.node.ID, took), false)
		return nil
	}
	reason := clean(cmp.Or(resp.GetError(), "refused"))
	if leader := resp.GetLeaderId(); leader != "" {
		to := m.nodeIndex(leader)
		if !msg.redirected && to >= 0 && to != msg.node && m.nodes[to].conn != nil {
			m.setStatus("%s: %s is not the leader; asking %s…", what, n.node.ID, m.nodes[to].node.ID)
			m.repl.adminSent[to] = m.repl.adminSent[msg.node] // the latency shown counts from the first ask
			return memberCmd(to, m.nodes[to].conn, req, true)
		}
		reason += fmt.Sprintf(" (%s names %s as leader)", n.node.ID, clean(leader))
	}
	m.memberResult(fmt.Sprintf("%s refused by %s: %s", what, n.node.ID, reason), true)
	return nil
}

// memberSuccess words a command the cluster carried out: "n4 added as
// learner", "n4 promoted to voter", "n3 removed", "leadership transferred
// to n2".
func memberSuccess(req *pb.AdminRequest) string {
	id := clean(req.GetMemberId())
	switch req.GetCommand() {
	case pb.AdminCommand_MEMBER_ADD:
		if req.GetLearner() {
			return id + " added as learner"
		}
		return id + " added as voter"
	case pb.AdminCommand_MEMBER_PROMOTE:
		return id + " promoted to voter"
	case pb.AdminCommand_MEMBER_REMOVE:
		return id + " removed"
	default:
		return "leadership transferred to " + id
	}
}

// memberResult reports how a membership or leadership command ended, on
// the status line, in the event pane (a change of the cluster's shape is
// worth keeping in its story) and to piped mode.
func (m *Model) memberResult(text string, isErr bool) {
	if isErr {
		m.setError("%s", text)
	} else {
		m.setStatus("%s", text)
		m.emit(clean(text))
	}
	m.events.add(eventLine{at: m.ctx.now, node: promptNode, text: clean(text)})
}

// completeMember lists what can stand as argument arg of a membership
// command: for add, "learner" as its third word; for the others, the
// members the command applies to.
func completeMember(verb string) func(m *Model, arg int, _ []string) []string {
	return func(m *Model, arg int, _ []string) []string {
		switch {
		case verb == "add" && arg == 2:
			return []string{learnerWord}
		case verb == "add" || arg != 0:
			return nil
		case verb == "promote":
			return m.memberIDs(func(learner bool) bool { return learner })
		case verb == "remove":
			return m.memberIDs(func(bool) bool { return true })
		}
		// transfer: a voter that does not lead already.
		leader := ""
		if i := m.leaderIndex(); i >= 0 {
			leader = m.nodes[i].node.ID
		}
		voters := m.memberIDs(func(learner bool) bool { return !learner })
		return slices.DeleteFunc(voters, func(id string) bool { return id == leader })
	}
}
