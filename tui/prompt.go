package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// promptText is drawn before what the user types.
const promptText = "> "

const (
	// maxKnownKeys caps how many keys tab completion remembers.
	maxKnownKeys = 256
	// maxStatusLines is how many lines the status line wraps to: the
	// newest result is read in full, warnings and all, up to that.
	maxStatusLines = 3
)

// newPrompt builds the command line. Its own suggestions are off: tab,
// ↑ and ↓ are the model's (see replKey).
func newPrompt(st *Styles) textinput.Model {
	in := textinput.New()
	in.Prompt = promptText
	in.Placeholder = "put KEY VALUE, get KEY, delete KEY, pause ID, resume ID, help"
	in.PromptStyle = st.Prompt
	in.TextStyle = st.PromptText
	in.PlaceholderStyle = st.Placeholder
	in.CompletionStyle = st.Placeholder
	in.Cursor.Style = st.PromptText
	in.Cursor.TextStyle = st.PromptText
	in.Focus()
	return in
}

// rememberKey teaches tab completion that key exists (or, when exists is
// false, that it does not any more).
func (m *Model) rememberKey(key string, exists bool) {
	keys := slices.DeleteFunc(m.knownKeys, func(k string) bool { return k == key })
	if exists {
		keys = slices.Insert(keys, 0, key)
		keys = keys[:min(len(keys), maxKnownKeys)]
	}
	m.knownKeys = keys
}

// repl is the prompt's memory beyond the line being typed.
type repl struct {
	// history holds the commands run, for ↑ and ↓, and keeps them in a file.
	history *history
	// completion is where repeated tabs are in a list of candidates.
	completion completion
	// adminSent is when the last admin command went to each node, by index,
	// for the latency piped mode prints.
	adminSent map[int]time.Time
	// group is the command to several nodes each node's answer belongs
	// to, by index; absent for a command to one node.
	group map[int]*adminGroup
	// unanswered are the admin commands each node did not answer in time,
	// by index, oldest first, until an event says they took effect.
	unanswered map[int][]unansweredAdmin
	// sink, when set, gets the plain-text result of every command: piped
	// mode prints them. Nil in the dashboard.
	sink func(line string)
}

// initREPL loads the history file; a file that cannot be read costs the
// history, not the dashboard, and is reported once on the status line.
func (m *Model) initREPL() {
	h, err := loadHistory(m.opts.HistoryFile)
	m.repl = repl{history: h, adminSent: map[int]time.Time{}, group: map[int]*adminGroup{}, unanswered: map[int][]unansweredAdmin{}}
	if err != nil {
		m.setError("history not kept: %v", err)
	}
}

// statusLine is the answer to the last command.
type statusLine struct {
	// text is the message; empty shows nothing.
	text string
	// isErr draws it as an error.
	isErr bool
}

// setStatus reports a command's progress or success.
func (m *Model) setStatus(format string, args ...any) {
	m.status = statusLine{text: clean(fmt.Sprintf(format, args...))}
}

// setError reports a command's failure; piped mode prints it.
func (m *Model) setError(format string, args ...any) {
	text := clean(fmt.Sprintf(format, args...))
	m.status = statusLine{text: text, isErr: true}
	m.emitFailure(text)
}

// emitFailure hands a command's failure to piped mode. While a scenario
// runs a command that fails is part of the story (a write to a leader
// cut off from the rest times out), not a failure of the script: only
// the scenario's checks are.
func (m *Model) emitFailure(text string) {
	if m.scene != nil {
		m.emit("(failed) " + text)
		return
	}
	m.emit(errorPrefix + text)
}

// emit hands a command's plain result to piped mode, if it is listening.
func (m *Model) emit(line string) {
	if m.repl.sink != nil {
		m.repl.sink(line)
	}
}

// submit runs the prompt's line and adds it to the history. A history file
// that cannot be written is reported once; the command runs all the same.
func (m *Model) submit() tea.Cmd {
	line := m.input.Value()
	m.input.Reset()
	m.repl.completion = completion{}
	err := m.repl.history.add(line)
	cmd := m.execute(line)
	if err != nil && m.repl.history.noteOnce() {
		// Said once, in the event pane for good, and on the status line
		// unless the command has just put its own error there.
		text := clean(fmt.Sprintf("history not kept: %v", err))
		m.events.add(eventLine{at: m.ctx.now, node: promptNode, text: text})
		if !m.status.isErr {
			m.status = statusLine{text: text, isErr: true}
		}
	}
	return cmd
}

// replKey handles the prompt's own keys: ↑ and ↓ browse the history, tab
// completes, and the action keys. It reports whether it took the key.
func (m *Model) replKey(msg tea.KeyMsg) (tea.Cmd, bool) {
	switch {
	case key.Matches(msg, m.keys.HistoryPrev):
		if line, ok := m.repl.history.prev(m.input.Value()); ok {
			m.setPrompt(line)
		}
		return nil, true
	case key.Matches(msg, m.keys.HistoryNext):
		if line, ok := m.repl.history.next(m.input.Value()); ok {
			m.setPrompt(line)
		}
		return nil, true
	case key.Matches(msg, m.keys.Complete):
		m.complete()
		return nil, true
	case key.Matches(msg, m.keys.PauseLeader):
		return m.pauseLeader(), true
	case key.Matches(msg, m.keys.ResumeAll):
		return m.resumeAll(), true
	case key.Matches(msg, m.keys.Clear):
		m.clear()
		return nil, true
	}
	return nil, false
}

// setPrompt replaces what the prompt holds, the cursor at its end.
func (m *Model) setPrompt(line string) {
	m.input.SetValue(line)
	m.input.CursorEnd()
}

// simpleAdmin runs a command that names one node and nothing else: pause,
// resume, partition or heal.
func (m *Model) simpleAdmin(verb string, cmd pb.AdminCommand, args []string) tea.Cmd {
	if len(args) != 1 {
		m.setError("usage: %s ID", verb)
		return nil
	}
	return m.admin(verb, args[0], &pb.AdminRequest{Command: cmd})
}

// isolate runs "isolate ID PEER...": node ID drops its Raft traffic with
// the PEERs, on top of any it is isolated from already.
func (m *Model) isolate(args []string) tea.Cmd {
	if len(args) < 2 {
		m.setError("usage: isolate ID PEER…")
		return nil
	}
	for _, peer := range args[1:] {
		if m.nodeIndex(peer) < 0 {
			m.unknownNode("isolate", peer)
			return nil
		}
		if peer == args[0] {
			m.setError("isolate: %s cannot be isolated from itself", peer)
			return nil
		}
	}
	return m.admin("isolate", args[0], &pb.AdminRequest{Command: pb.AdminCommand_ISOLATE, Peers: args[1:]})
}

// delay runs "delay ID DURATION": node ID holds each outgoing Raft message
// for DURATION, a Go duration in whole milliseconds up to
// netlink.MaxFaultDelay; 0 clears it.
func (m *Model) delay(args []string) tea.Cmd {
	if len(args) != 2 {
		m.setError("usage: delay ID DURATION (e.g. 200ms, 1.5s, or 0 to clear)")
		return nil
	}
	ms, err := netlink.FaultMillis("delay", "delay", args[1], "200ms, 1.5s", netlink.MaxFaultDelay)
	if err != nil {
		m.setError("%v", err)
		return nil
	}
	return m.admin("delay", args[0], &pb.AdminRequest{Command: pb.AdminCommand_DELAY, DelayMs: ms})
}

// slowDisk runs "slow-disk ID DURATION": each of node ID's disk syncs
// stalls for DURATION, a Go duration in whole milliseconds up to
// netlink.MaxDiskStall; 0 clears it.
func (m *Model) slowDisk(args []string) tea.Cmd {
	if len(args) != 2 {
		m.setError("usage: slow-disk ID DURATION (e.g. 1500ms, 2s, or 0 to clear)")
		return nil
	}
	ms, err := netlink.FaultMillis("slow-disk", "stall", args[1], "1500ms, 2s", netlink.MaxDiskStall)
	if err != nil {
		m.setError("%v", err)
		return nil
	}
	return m.admin("slow-disk", args[0], &pb.AdminRequest{Command: pb.AdminCommand_SLOW_DISK, StallMs: ms})
}

// slowAll runs "slow N": every connected node's time runs N times slower
// (netlink.MaxSlowFactor at most); slow 1 restores normal speed.
func (m *Model) slowAll(args []string) tea.Cmd {
	if len(args) != 1 {
		m.setError("usage: slow N (1 for normal speed, up to %d)", netlink.MaxSlowFactor)
		return nil
	}
	f, err := netlink.SlowFactor(args[0])
	if err != nil {
		m.setError("%v", err)
		return nil
	}
	return m.adminAll("slow", &pb.AdminRequest{Command: pb.AdminCommand_SLOW_MOTION, SlowFactor: f})
}

// admin sends req, typed as verb, to node id over its connection.
func (m *Model) admin(verb, id string, req *pb.AdminRequest) tea.Cmd {
	idx := m.nodeIndex(id)
	if idx < 0 {
		m.unknownNode(verb, id)
		return nil
	}
	n := m.nodes[idx]
	if n.conn == nil {
		m.setError("%s %s: not connected", verb, n.node.ID)
		return nil
	}
	m.setStatus("%s %s: sent…", verb, n.node.ID)
	m.repl.adminSent[idx] = m.ctx.now
	delete(m.repl.group, idx)
	return adminCmd(idx, n.conn, req)
}

// adminDone shows the answer to an admin command, and takes the status the
// node sent with it so the card changes without waiting for the stream.
func (m *Model) adminDone(msg adminDoneMsg) {
	n := m.nodes[msg.node]
	verb := netlink.AdminVerb(msg.req.GetCommand())
	g := m.repl.group[msg.node]
	var failure string
	switch {
	case msg.err != nil:
		failure = adminFailure(verb, n.node.ID, msg.err)
		if errors.Is(msg.err, context.DeadlineExceeded) {
			m.noteUnanswered(msg.node, verb)
		}
	case !msg.resp.GetOk():
		reason := msg.resp.GetError()
		if reason == "" {
			reason = "refused"
		}
		failure = fmt.Sprintf("%s %s: %s", verb, n.node.ID, reason)
	default:
		m.emit(fmt.Sprintf("OK (%s, %s)", n.node.ID, latency(m.ctx.now.Sub(m.repl.adminSent[msg.node]))))
		m.adoptStatus(msg.node, msg.resp.GetStatus())
	}
	switch {
	case g != nil:
		m.groupAnswer(g, msg.node, msg.resp.GetStatus(), strings.TrimPrefix(failure, verb+" "+n.node.ID+": "))
	case failure != "":
		m.setError("%s", failure)
	default:
		m.setStatus("%s %s: done", verb, n.node.ID)
	}
}

// adoptStatus takes the status node idx sent with its answer to an admin
// command, so that its card changes without waiting for the stream.
func (m *Model) adoptStatus(idx int, st *pb.NodeStatus) {
	if n := m.nodes[idx]; st != nil && n.conn != nil {
		n.status, n.statusAt = st, m.ctx.now
		m.heard(n)
	}
}

// unknownNode reports a command naming a node that is not in the cluster.
func (m *Model) unknownNode(verb, id string) {
	m.setError("%s: unknown node %q (nodes: %s)", verb, id, strings.Join(m.nodeIDs(), ", "))
}

// nodeIndex finds a node by id; -1 when there is none.
func (m *Model) nodeIndex(id string) int {
	for i, n := range m.nodes {
		if n.node.ID == id {
			return i
		}
	}
	return -1
}

// pauseLeader pauses the node that leads the highest term, the quickest way
// to watch an election.
func (m *Model) pauseLeader() tea.Cmd {
	idx := m.leaderIndex()
	if idx < 0 {
		m.setError("pause leader: no connected node is leading")
		return nil
	}
	return m.admin("pause", m.nodes[idx].node.ID, &pb.AdminRequest{Command: pb.AdminCommand_PAUSE})
}

// resumeAll resumes every connected node, answering once for all.
func (m *Model) resumeAll() tea.Cmd {
	return m.adminAll("resume", &pb.AdminRequest{Command: pb.AdminCommand_RESUME})
}

// clear empties the event pane and the status line.
func (m *Model) clear() {
	m.events = eventLog{}
	m.status = statusLine{}
}

// clusterSummary is the cluster in a few words, as the header says it:
// its leader and how many nodes are up, down and paused.
func (m *Model) clusterSummary() string {
	shown := m.shownNodes()
	return fmt.Sprintf("%s; %d nodes: %s", m.leaderSummary(), len(shown), countNodes(shown))
}

// nodeSummary is one node as the status command words it, plain enough to
// read without colour and to parse: "leader term=3 commit=7 applied=7
// last=7", "follower term=3 leader=n1 … paused", "down: connection refused";
// a node with a snapshot or a compacted log adds "snap=1200@3 first=701";
// once the nodes report their configuration, its place in it follows the
// role ("follower learner term=3", "follower removed …", "leader voter
// term=3 transfer-to=n2 …").
func nodeSummary(n *nodeState) string {
	st := n.status
	switch {
	case n.conn == nil && n.err != nil:
		return "down: " + clean(n.err.Error())
	case n.conn == nil:
		return "connecting"
	case st == nil:
		return "connected, no status yet"
	}
	parts := []string{netlink.RoleName(st.GetRole())}
	if member := n.member.String(); member != "" {
		parts = append(parts, member)
	}
	parts = append(parts, fmt.Sprintf("term=%d", st.GetTerm()))
	if to := st.GetTransferTo(); to != "" && st.GetRole() == pb.Role_ROLE_LEADER {
		parts = append(parts, "transfer-to="+clean(to))
	}
	if l := st.GetLeaderId(); l != "" && st.GetRole() != pb.Role_ROLE_LEADER {
		parts = append(parts, "leader="+clean(l))
	}
	parts = append(parts, fmt.Sprintf("commit=%d applied=%d last=%d", st.GetCommitIndex(), st.GetAppliedIndex(), st.GetLastIndex()))
	if snap := snapText(st); snap != "" {
		parts = append(parts, "snap="+snap)
	}
	if first := st.GetFirstIndex(); first > 1 {
		parts = append(parts, fmt.Sprintf("first=%d", first))
	}
	if st.GetPaused() {
		parts = append(parts, "paused")
	}
	if st.GetPartitioned() {
		parts = append(parts, "partitioned")
	}
	if peers := st.GetIsolatedFrom(); len(peers) > 0 {
		parts = append(parts, "isolated="+clean(strings.Join(peers, ",")))
	}
	if ms := st.GetDelayMs(); ms > 0 {
		parts = append(parts, "delay="+(time.Duration(ms)*time.Millisecond).String())
	}
	return strings.Join(parts, " ")
}
