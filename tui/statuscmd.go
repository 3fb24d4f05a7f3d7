package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// statusAskTimeout bounds how long "status" waits for each node's fresh
// answer: long enough for a busy node, short enough that a stopped one
// does not hold the prompt.
const statusAskTimeout = time.Second

// statusAsk is one node's answer to "status": its status now, or why
// there is none.
type statusAsk struct {
	// node is the index of the node in Model.nodes.
	node int
	// status is the node's answer; nil when err is set.
	status *pb.NodeStatus
	// err says why it did not answer.
	err error
}

// statusAnsweredMsg carries the answers to one "status" command.
type statusAnsweredMsg struct {
	// nodes are the indexes of the nodes the command is about, in order.
	nodes []int
	// asks are the answers of those that were connected.
	asks []statusAsk
}

// askStatusCmd asks each of conns (by node index) for its status at once,
// each within statusAskTimeout, and reports all the answers together.
func askStatusCmd(nodes []int, conns map[int]NodeConn) tea.Cmd {
	return func() tea.Msg {
		answers := make(chan statusAsk, len(conns))
		for idx, conn := range conns {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), statusAskTimeout)
				defer cancel()
				st, err := conn.Status(ctx)
				answers <- statusAsk{node: idx, status: st, err: err}
			}()
		}
		msg := statusAnsweredMsg{nodes: nodes}
		for range conns {
			msg.asks = append(msg.asks, <-answers)
		}
		return msg
	}
}

// statusCmd runs "status [ID]": it asks every connected node (or node ID)
// for its status afresh, and, once they have answered or statusAskTimeout
// has passed, writes a line per node in the event pane and a summary on
// the status line (statusAnswered).
func (m *Model) statusCmd(args []string) tea.Cmd {
	var nodes []int
	switch {
	case len(args) > 1:
		m.setError("usage: status [ID]")
		return nil
	case len(args) == 1:
		idx := m.nodeIndex(args[0])
		if idx < 0 {
			m.unknownNode("status", args[0])
			return nil
		}
		nodes = []int{idx}
	default:
		for i, n := range m.nodes {
			if !n.retired {
				nodes = append(nodes, i)
			}
		}
	}
	conns := map[int]NodeConn{}
	for _, i := range nodes {
		if c := m.nodes[i].conn; c != nil {
			conns[i] = c
		}
	}
	if len(conns) == 0 {
		m.statusAnswered(statusAnsweredMsg{nodes: nodes})
		return nil
	}
	m.setStatus("status: asking %d node%s…", len(conns), plural(len(conns)))
	return askStatusCmd(nodes, conns)
}

// statusAnswered shows the answers to "status": a fresh answer replaces
// the node's status and is shown as it is; a node that did not answer is
// shown as last heard, saying so. The status line sums up the cluster and
// which answers are fresh.
func (m *Model) statusAnswered(msg statusAnsweredMsg) {
	asked := map[int]statusAsk{}
	for _, a := range msg.asks {
		asked[a.node] = a
	}
	var fresh, silent []string
	for _, i := range msg.nodes {
		n := m.nodes[i]
		a, ok := asked[i]
		line := ""
		switch {
		case !ok || n.conn == nil:
			// Not connected (or no longer): what the dashboard knows.
			line = nodeSummary(n)
		case a.err == nil:
			n.status, n.statusAt = a.status, m.ctx.now
			m.heard(n)
			fresh = append(fresh, n.node.ID)
			line = nodeSummary(n)
		default:
			silent = append(silent, n.node.ID)
			line = noAnswer(a.err)
			if n.status != nil {
				line += fmt.Sprintf("; last heard %s ago: ", sinceText(m.ctx.now.Sub(n.heardAt)))
			} else {
				line += "; "
			}
			line += nodeSummary(n)
		}
		m.events.add(eventLine{at: m.ctx.now, node: n.node.ID, text: line})
		m.emit(n.node.ID + " " + line)
	}
	m.markSilence()
	summary := "status: " + m.clusterSummary()
	switch {
	case len(fresh) > 0 && len(silent) == 0:
		summary += "; fresh from " + strings.Join(fresh, ", ")
	case len(fresh) > 0:
		summary += "; fresh from " + strings.Join(fresh, ", ") + "; no answer from " + strings.Join(silent, ", ")
	case len(silent) > 0:
		summary += "; no answer from " + strings.Join(silent, ", ")
	}
	m.setStatus("%s", summary)
}

// noAnswer says why a node did not answer a status request.
func noAnswer(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %s", statusAskTimeout)
	}
	return "no answer: " + clean(err.Error())
}

// plural is "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
