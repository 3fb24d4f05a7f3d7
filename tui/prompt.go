package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// promptText is drawn before what the user types.
const promptText = "> "

// commandHelp lists the prompt's commands for the help overlay, in order.
// Each description fits the overlay's width beside the widest command, on
// one line, so that the overlay still fits an 80x24 terminal.
var commandHelp = [][2]string{
	{"put KEY VALUE", "set KEY to VALUE (rest of line) via the leader"},
	{"get KEY [@ID]", "read KEY via leader; @ID: node ID's stale copy"},
	{"delete KEY", "remove KEY via the leader (also: del KEY)"},
	{"pause ID / resume ID", "stop / restart node ID's timers and Raft traffic"},
	{"partition ID", "cut node ID off from every peer (timers run)"},
	{"isolate ID PEER…", "cut node ID off from the PEERs only"},
	{"delay ID DURATION", "hold node ID's outgoing Raft traffic (0 clears)"},
	{"heal ID", "undo partition, isolate and delay on node ID"},
	{"help", "show this help"},
	{"quit", "leave the dashboard"},
}

// maxKnownKeys caps how many keys tab completion remembers.
const maxKnownKeys = 32

// newPrompt builds the command line; tab completes commands and node ids
// (see suggestions).
func newPrompt(st *Styles, nodes []*nodeState) textinput.Model {
	in := textinput.New()
	in.Prompt = promptText
	in.Placeholder = "put KEY VALUE, get KEY, delete KEY, pause ID, resume ID, help"
	in.PromptStyle = st.Prompt
	in.TextStyle = st.PromptText
	in.PlaceholderStyle = st.Placeholder
	in.CompletionStyle = st.Placeholder
	in.Cursor.Style = st.PromptText
	in.Cursor.TextStyle = st.PromptText
	in.ShowSuggestions = true
	in.SetSuggestions(suggestions(nodes, nil))
	in.Focus()
	return in
}

// suggestions are what tab completes: the commands, "pause n1" and the like
// for every node, "isolate n1 n2" for every pair, "delay n1 " to be
// followed by a duration, and get, put and delete of the keys, newest
// first, that the dashboard has seen exist.
func suggestions(nodes []*nodeState, keys []string) []string {
	out := []string{"put ", "get ", "delete ", "help", "quit"}
	for _, verb := range []string{"pause", "resume", "partition", "heal"} {
		for _, n := range nodes {
			out = append(out, verb+" "+n.node.ID)
		}
	}
	for _, n := range nodes {
		for _, peer := range nodes {
			if peer != n {
				out = append(out, "isolate "+n.node.ID+" "+peer.node.ID)
			}
		}
	}
	for _, n := range nodes {
		out = append(out, "delay "+n.node.ID+" ")
	}
	for _, k := range keys {
		out = append(out, "get "+k, "put "+k+" ", "delete "+k)
	}
	return out
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
	m.input.SetSuggestions(suggestions(m.nodes, keys))
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

// setError reports a command's failure.
func (m *Model) setError(format string, args ...any) {
	m.status = statusLine{text: clean(fmt.Sprintf(format, args...)), isErr: true}
}

// execute runs one line typed at the prompt.
func (m *Model) execute(line string) tea.Cmd {
	word, rest := splitWord(line)
	if word == "" {
		return nil
	}
	args := strings.Fields(rest)
	switch verb := strings.ToLower(word); verb {
	case "put":
		return m.put(rest)
	case "get":
		return m.get(args)
	case "delete", "del":
		return m.del(verb, args)
	case "pause":
		return m.simpleAdmin(verb, pb.AdminCommand_PAUSE, args)
	case "resume":
		return m.simpleAdmin(verb, pb.AdminCommand_RESUME, args)
	case "partition":
		return m.simpleAdmin(verb, pb.AdminCommand_PARTITION, args)
	case "heal":
		return m.simpleAdmin(verb, pb.AdminCommand_HEAL, args)
	case "isolate":
		return m.isolate(args)
	case "delay":
		return m.delay(args)
	case "help":
		m.showHelp = true
		m.setStatus("help: esc or ? closes it")
		return nil
	case "quit", "exit":
		return tea.Quit
	default:
		m.setError("unknown command %q: try put, get, delete, pause, resume, partition, isolate, delay, heal, help or quit", word)
		return nil
	}
}

// splitWord cuts s into its first word and the rest, without the spaces
// around either; the rest keeps the spaces inside it.
func splitWord(s string) (word, rest string) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
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
	d, err := time.ParseDuration(args[1])
	switch {
	case err != nil:
		m.setError("delay: bad duration %q (want e.g. 200ms, 1.5s, or 0 to clear)", args[1])
		return nil
	case d < 0 || d > netlink.MaxFaultDelay:
		m.setError("delay: %v is outside [0, %v]", d, netlink.MaxFaultDelay)
		return nil
	}
	ms := d.Round(time.Millisecond).Milliseconds()
	if d > 0 && ms == 0 {
		// Rounding to nothing would clear the delay, the opposite of asking for one.
		m.setError("delay: %v is under a millisecond (0 clears the delay)", d)
		return nil
	}
	return m.admin("delay", args[0], &pb.AdminRequest{Command: pb.AdminCommand_DELAY, DelayMs: ms})
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
	return adminCmd(idx, n.conn, req)
}

// adminDone shows the answer to an admin command, and takes the status the
// node sent with it so the card changes without waiting for the stream.
func (m *Model) adminDone(msg adminDoneMsg) {
	n := m.nodes[msg.node]
	verb := strings.ToLower(msg.req.GetCommand().String())
	switch {
	case msg.err != nil:
		m.setError("%s %s: %v", verb, n.node.ID, msg.err)
	case !msg.resp.GetOk():
		reason := msg.resp.GetError()
		if reason == "" {
			reason = "refused"
		}
		m.setError("%s %s: %s", verb, n.node.ID, reason)
	default:
		m.setStatus("%s %s: done", verb, n.node.ID)
		if st := msg.resp.GetStatus(); st != nil && n.conn != nil {
			n.status, n.statusAt = st, m.ctx.now
		}
	}
}

// unknownNode reports a command naming a node that is not in the cluster.
func (m *Model) unknownNode(verb, id string) {
	ids := make([]string, len(m.nodes))
	for i, n := range m.nodes {
		ids[i] = n.node.ID
	}
	m.setError("%s: unknown node %q (nodes: %s)", verb, id, strings.Join(ids, ", "))
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
