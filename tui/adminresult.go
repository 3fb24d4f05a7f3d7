package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// adminGroup is one admin command sent to several nodes ("resume all"),
// answered as one: what it changed, on which nodes, and where it failed.
type adminGroup struct {
	// verb is the command as typed, "resume".
	verb string
	// waiting are the nodes (by index) not answered yet.
	waiting []int
	// before are the nodes' states ("paused", fault marks) when it was
	// sent, to tell which it changed.
	before map[int]string
	// changed, unchanged and failed are node ids by outcome; failed ones
	// carry their reason.
	changed, unchanged, failed []string
}

// unansweredAdmin is an admin command whose answer did not come in time:
// the node may still carry it out (a stopped process does once it
// continues), and the event that says so is tied back to it.
type unansweredAdmin struct {
	verb string
	at   time.Time
}

// adminState is what a node's status says an admin command can change:
// "paused", "partitioned", "isolated=n1", "delay=200ms", "disk+1s".
func adminState(st *pb.NodeStatus) string {
	var parts []string
	if st.GetPaused() {
		parts = append(parts, "paused")
	}
	if st.GetPartitioned() {
		parts = append(parts, "partitioned")
	}
	if peers := st.GetIsolatedFrom(); len(peers) > 0 {
		parts = append(parts, "isolated="+strings.Join(peers, ","))
	}
	if ms := st.GetDelayMs(); ms > 0 {
		parts = append(parts, fmt.Sprintf("delay=%dms", ms))
	}
	if ms := st.GetDiskStallMs(); ms > 0 {
		parts = append(parts, fmt.Sprintf("disk+%dms", ms))
	}
	if f := st.GetSlowFactor(); f > 1 {
		parts = append(parts, fmt.Sprintf("slow=%d", f))
	}
	if st.GetTimerHeld() {
		parts = append(parts, "held")
	}
	return strings.Join(parts, " ")
}

// adminAll sends req, typed as verb ("resume"), to every connected node
// and answers once, when all have: "resumed n2, n3 (n1 was not paused)".
// It asks them all rather than those whose last status needed it: a
// status can be a moment old, and the command does nothing where there is
// nothing to undo.
func (m *Model) adminAll(verb string, req *pb.AdminRequest) tea.Cmd {
	g := &adminGroup{verb: verb, before: map[int]string{}}
	var cmds []tea.Cmd
	for i, n := range m.nodes {
		if n.conn == nil {
			continue
		}
		g.waiting = append(g.waiting, i)
		g.before[i] = adminState(n.status)
		m.repl.adminSent[i] = m.ctx.now
		m.repl.group[i] = g
		cmds = append(cmds, adminCmd(i, n.conn, req))
	}
	if len(cmds) == 0 {
		m.setError("%s all: no node is connected", verb)
		return nil
	}
	m.setStatus("%s all: sent to %d node%s…", verb, len(cmds), plural(len(cmds)))
	return tea.Batch(cmds...)
}

// groupAnswer takes node idx's answer to a group command: ok with its new
// status, or why not. Once every node has answered it reports the group.
func (m *Model) groupAnswer(g *adminGroup, idx int, after *pb.NodeStatus, failure string) {
	delete(m.repl.group, idx)
	g.waiting = slices.DeleteFunc(g.waiting, func(i int) bool { return i == idx })
	id := m.nodes[idx].node.ID
	switch {
	case failure != "":
		g.failed = append(g.failed, id+": "+failure)
	case after != nil && adminState(after) != g.before[idx]:
		g.changed = append(g.changed, id)
	default:
		g.unchanged = append(g.unchanged, id)
	}
	if len(g.waiting) > 0 {
		return
	}
	past := map[string]string{"resume": "resumed", "heal": "healed", "slow": "changed the speed of"}[g.verb]
	what := map[string]string{"resume": "was paused", "heal": "had faults", "slow": "changed speed"}[g.verb]
	var text string
	if len(g.changed) > 0 {
		text = past + " " + strings.Join(g.changed, ", ")
		if len(g.unchanged) > 0 {
			text += fmt.Sprintf(" (%s: not needed)", strings.Join(g.unchanged, ", "))
		}
	} else {
		text = fmt.Sprintf("%s all: no node %s", g.verb, what)
	}
	if len(g.failed) > 0 {
		text += "; failed on " + strings.Join(g.failed, "; ")
		m.setError("%s", text)
		return
	}
	m.setStatus("%s", text)
	m.emit(text)
}

// noteUnanswered remembers that node idx did not answer verb in time.
func (m *Model) noteUnanswered(idx int, verb string) {
	m.repl.unanswered[idx] = append(m.repl.unanswered[idx], unansweredAdmin{verb: verb, at: m.ctx.now})
}

// answeredLate ties an event from node idx that an admin command causes
// (paused, resumed, a fault changed) back to the oldest command to it that
// went unanswered, and notes it in the event pane.
func (m *Model) answeredLate(idx int, ev *pb.WatchEvent) {
	var verbs []string
	switch ev.GetKind() {
	case pb.WatchEvent_PAUSED:
		verbs = []string{"pause"}
	case pb.WatchEvent_RESUMED:
		verbs = []string{"resume"}
	case pb.WatchEvent_FAULT_CHANGED:
		verbs = []string{"partition", "isolate", "delay", "slow-disk", "heal"}
	case pb.WatchEvent_TIMER_CHANGED:
		verbs = []string{"slow", "timeout", "hold", "release"}
	default:
		return
	}
	pending := m.repl.unanswered[idx]
	i := slices.IndexFunc(pending, func(u unansweredAdmin) bool { return slices.Contains(verbs, u.verb) })
	if i < 0 {
		return
	}
	u := pending[i]
	m.repl.unanswered[idx] = slices.Delete(pending, i, i+1)
	m.note(m.nodes[idx], fmt.Sprintf("took effect: the %s sent at %s, which had no answer in time", u.verb, u.at.Format("15:04:05")))
}

// adminFailure words a transport failure of an admin command to a node: a
// command that timed out may still take effect.
func adminFailure(verb, id string, err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("%s %s: no answer within %s; it may still take effect if %s is only slow or stopped", verb, id, adminTimeout, id)
	}
	return fmt.Sprintf("%s %s: %v", verb, id, err)
}
