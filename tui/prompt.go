package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// promptText is drawn before what the user types.
const promptText = "> "

// commandHelp lists the prompt's commands for the help overlay, in order.
var commandHelp = [][2]string{
	{"pause ID", "stop node ID's timers and drop its Raft traffic"},
	{"resume ID", "undo pause"},
	{"help", "show this help"},
	{"quit", "leave the dashboard"},
}

// newPrompt builds the command line, completing "pause n1" and the like on tab.
func newPrompt(st *Styles, nodes []*nodeState) textinput.Model {
	in := textinput.New()
	in.Prompt = promptText
	in.Placeholder = "pause ID, resume ID, help, quit"
	in.PromptStyle = st.Prompt
	in.TextStyle = st.PromptText
	in.PlaceholderStyle = st.Placeholder
	in.CompletionStyle = st.Placeholder
	in.Cursor.Style = st.PromptText
	in.Cursor.TextStyle = st.PromptText
	in.ShowSuggestions = true
	suggestions := []string{"help", "quit"}
	for _, verb := range []string{"pause", "resume"} {
		for _, n := range nodes {
			suggestions = append(suggestions, verb+" "+n.node.ID)
		}
	}
	in.SetSuggestions(suggestions)
	in.Focus()
	return in
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
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil
	}
	verb, args := strings.ToLower(fields[0]), fields[1:]
	switch verb {
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
		m.setError("unknown command %q: try pause ID, resume ID, help or quit", fields[0])
		return nil
	}
}

// admin starts a pause or resume of the node named in args.
func (m *Model) admin(verb string, cmd pb.AdminCommand, args []string) tea.Cmd {
	if len(args) != 1 {
		m.setError("usage: %s ID", verb)
		return nil
	}
	idx := m.nodeIndex(args[0])
	if idx < 0 {
		ids := make([]string, len(m.nodes))
		for i, n := range m.nodes {
			ids[i] = n.node.ID
		}
		m.setError("%s: unknown node %q (nodes: %s)", verb, args[0], strings.Join(ids, ", "))
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

// nodeIndex finds a node by id; -1 when there is none.
func (m *Model) nodeIndex(id string) int {
	for i, n := range m.nodes {
		if n.node.ID == id {
			return i
		}
	}
	return -1
}
