package tui

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// promptText is drawn before what the user types.
const promptText = "> "

// commandHelp lists the prompt's commands for the help overlay, in order.
var commandHelp = [][2]string{
	{"put KEY VALUE", "set KEY to VALUE (the rest of the line) via the leader"},
	{"get KEY [@ID]", "read KEY via the leader; @ID: stale read from node ID"},
	{"delete KEY", "remove KEY via the leader (also: del KEY)"},
	{"pause ID", "stop node ID's timers and drop its Raft traffic"},
	{"resume ID", "undo pause"},
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
// for every node, and get, put and delete of the keys, newest first, that
// the dashboard has seen exist.
func suggestions(nodes []*nodeState, keys []string) []string {
	out := []string{"put ", "get ", "delete ", "help", "quit"}
	for _, verb := range []string{"pause", "resume"} {
		for _, n := range nodes {
			out = append(out, verb+" "+n.node.ID)
		}
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
		return m.admin(verb, pb.AdminCommand_PAUSE, args)
	case "resume":
		return m.admin(verb, pb.AdminCommand_RESUME, args)
	case "help":
		m.showHelp = true
		m.setStatus("help: esc or ? closes it")
		return nil
	case "quit", "exit":
		return tea.Quit
	default:
		m.setError("unknown command %q: try put, get, delete, pause, resume, help or quit", word)
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

// admin starts a pause or resume of the node named in args.
func (m *Model) admin(verb string, cmd pb.AdminCommand, args []string) tea.Cmd {
	if len(args) != 1 {
		m.setError("usage: %s ID", verb)
		return nil
	}
	idx := m.nodeIndex(args[0])
	if idx < 0 {
		m.unknownNode(verb, args[0])
		return nil
	}
	n := m.nodes[idx]
	if n.conn == nil {
		m.setError("%s %s: not connected", verb, n.node.ID)
		return nil
	}
	m.setStatus("%s %s: sent…", verb, n.node.ID)
	return adminCmd(idx, n.conn, cmd)
}

// adminDone shows the answer to a pause or resume, and takes the status the
// node sent with it so the card changes without waiting for the stream.
func (m *Model) adminDone(msg adminDoneMsg) {
	n := m.nodes[msg.node]
	verb := strings.ToLower(msg.cmd.String())
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
