package tui

import (
	"errors"
	"fmt"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/scenario"
)

// defaultStatusInterval is how often nodes are asked for a STATUS event.
const defaultStatusInterval = 100 * time.Millisecond

// Options configure a dashboard.
type Options struct {
	// Cluster is the cluster's name, shown in the title.
	Cluster string
	// Nodes get one card each, in this order.
	Nodes []Node
	// Dial opens a connection to a node; main passes one backed by
	// netlink.Dial, tests a fake.
	Dial DialFunc
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Renderer decides the colours; nil means lipgloss's default, which
	// follows the terminal. Tests pass one with the Ascii profile.
	Renderer *lipgloss.Renderer
	// StatusInterval is how often each node sends its status; zero means
	// 100ms.
	StatusInterval time.Duration
	// ClientID names the dashboard's write session: every put and delete
	// carries it and a sequence number, so that a write sent again after a
	// redirect is applied once. It must not be zero; main draws it at
	// random, tests fix it. It is the session id of the dashboard's
	// netlink.ClusterClient, which runs every put, delete and
	// linearizable get.
	ClientID uint64
	// KVTimeout bounds a put, get or delete, the ClusterClient's retries
	// included; zero means 5s. Tests shorten it.
	KVTimeout time.Duration
	// HistoryFile keeps the prompt's history across runs, one command a
	// line (see DefaultHistoryFile); empty keeps it in memory only.
	HistoryFile string
	// SteadyFrames draws a new frame only after the frame tick, a key, a
	// resize or an answer: what the nodes stream (tens of messages a
	// second from a busy cluster) shows with the next tick, so drawing
	// costs 15 frames a second however busy the cluster is. Bubble Tea
	// asks for a View after every message; without it each one is drawn
	// (tests see every message's effect at once).
	SteadyFrames bool
	// Scenarios are guided scenarios added to the built-in ones (one of
	// the same name replaces it).
	Scenarios []*scenario.Scenario
	// Narrate, when set, is given the narrator pane's lines each time they
	// change while a scenario runs (nil once it ends), from a tea.Cmd: a
	// recording keeps them so that a replay shows the narration.
	Narrate func(lines []string)
	// ScenarioTravel is how long a message should take to arrive while a
	// scenario runs, which sets its slow-motion factor; zero means
	// defaultTravel.
	ScenarioTravel time.Duration
}

// Model is the dashboard. Use it through a pointer: Update changes it in place.
type Model struct {
	// opts are the options New was given, with defaults filled in.
	opts Options
	// ctx is the size, styles and clock shared with the components.
	ctx programContext
	// keys are the key bindings.
	keys KeyMap
	// nodes are the cards, in the order of opts.Nodes, then the members
	// learned from the nodes' configurations (membership.go); never
	// shortened, as messages name a node by its index here.
	nodes []*nodeState
	// events is the event pane's history.
	events eventLog
	// input is the command prompt.
	input textinput.Model
	// help draws key help, short under the prompt and full in the overlay.
	help help.Model
	// showHelp says the help overlay replaces the cards and events.
	showHelp bool
	// result is the newest command result in full, and its overlay.
	result resultView
	// lineTokens are the arguments of the line execute is running, with
	// their quoting; nil between lines.
	lineTokens []token
	// status is the answer to the last command.
	status statusLine
	// kv runs puts, deletes and linearizable gets: netlink's retry policy
	// over the dashboard's own connections (conns).
	kv *netlink.ClusterClient
	// conns are the open connections by node id, as kv finds them; kept
	// in step with nodes[i].conn.
	conns *connTable
	// knownKeys are keys seen to exist, newest first, for tab completion.
	knownKeys []string
	// repl is the prompt's history, completion and piped-mode output.
	repl repl
	// scene is the guided scenario under way, nil when none.
	scene *sceneRun
	// narration is the narrator pane a replay shows, as recorded; narrated
	// is what the live model last handed Options.Narrate.
	narration, narrated []string
	// autoSteps makes a scenario go on to its next step by itself once
	// the checks of one have resolved: piped mode has no n key.
	autoSteps bool
	// flights are the messages traced in slow motion (MESSAGE events),
	// for the lanes.
	flights inFlight
	// traffic adds up the nodes' MESSAGES events for the traffic pane.
	traffic trafficLog
	// stats are the header's election time and commit rate.
	stats clusterStats
	// logScroll is the log view's position: following, or held back.
	logScroll logScroll
	// frame is the last frame drawn, for SteadyFrames.
	frame string
	// stale says something since the last frame must show in the next.
	stale bool
}

var _ tea.Model = (*Model)(nil)

// New builds a dashboard for the nodes in opts. Nothing is dialled until the
// program runs Init's commands.
func New(opts Options) (*Model, error) {
	if len(opts.Nodes) == 0 {
		return nil, errors.New("tui: no nodes")
	}
	if opts.Dial == nil {
		return nil, errors.New("tui: no dial function")
	}
	if opts.ClientID == 0 {
		return nil, errors.New("tui: no client id")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Renderer == nil {
		opts.Renderer = lipgloss.DefaultRenderer()
	}
	if opts.StatusInterval <= 0 {
		opts.StatusInterval = defaultStatusInterval
	}
	if opts.KVTimeout <= 0 {
		opts.KVTimeout = defaultKVTimeout
	}
	m := &Model{
		opts: opts,
		ctx: programContext{
			width:  defaultWidth,
			height: defaultHeight,
			styles: DefaultStyles(opts.Renderer),
			now:    opts.Now(),
			quorum: len(opts.Nodes)/2 + 1,
		},
		keys: DefaultKeyMap(),
	}
	seen := make(map[string]bool, len(opts.Nodes))
	for _, n := range opts.Nodes {
		if n.ID == "" || seen[n.ID] {
			return nil, fmt.Errorf("tui: node id %q is empty or repeated", n.ID)
		}
		seen[n.ID] = true
		m.nodes = append(m.nodes, &nodeState{node: n})
		m.ctx.ids = append(m.ctx.ids, clean(n.ID))
	}
	m.conns = &connTable{}
	addrs := make([]netlink.NodeAddr, 0, len(opts.Nodes))
	for _, n := range opts.Nodes {
		addr := n.Addr
		if addr == "" {
			addr = n.ID // ClusterClient wants one; hints by address then match nothing
		}
		addrs = append(addrs, netlink.NodeAddr{ID: n.ID, Addr: addr})
	}
	kv, err := netlink.NewClusterClient(netlink.ClusterConfig{
		Nodes: addrs, ClientID: opts.ClientID, Timeout: opts.KVTimeout, Dial: m.conns.dial,
	})
	if err != nil {
		return nil, fmt.Errorf("tui: %w", err)
	}
	m.kv = kv
	m.input = newPrompt(&m.ctx.styles)
	m.help = newHelp(&m.ctx.styles)
	m.initREPL()
	m.resize(defaultWidth, defaultHeight)
	return m, nil
}

// Init dials every node and starts the frame tick.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tickCmd(), textinput.Blink}
	for i := range m.nodes {
		cmds = append(cmds, m.connect(i))
	}
	return tea.Batch(cmds...)
}

// Update applies one message. Every message first reads the clock, so what
// is drawn next is measured against the same instant.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m.ctx.now = m.opts.Now()
	if _, stream := msg.(eventsMsg); !stream {
		m.stale = true
	}
	cmd := m.update(msg)
	// After the message, which may be a node's word: only then is a node
	// that has said nothing for too long silent, or a removed one gone.
	m.markSilence()
	m.markMembers()
	return m, tea.Batch(cmd, m.narrate())
}

// update applies one message at the model's clock.
func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
		return nil
	case tea.KeyMsg:
		return m.key(msg)
	case tickMsg:
		return tickCmd()
	case connectedMsg:
		return m.connected(msg)
	case dialFailedMsg:
		return m.down(msg.node, msg.err)
	case retryMsg:
		n := m.nodes[msg.node]
		n.retryAt = time.Time{}
		if n.retired {
			return nil // removed and unreachable: not dialled again
		}
		return m.connect(msg.node)
	case memberDoneMsg:
		return m.memberDone(msg)
	case eventsMsg:
		return m.receive(msg)
	case adminDoneMsg:
		m.adminDone(msg)
		return nil
	case kvDoneMsg:
		return m.kvDone(msg)
	case statusAnsweredMsg:
		m.statusAnswered(msg)
		return nil
	case sceneTickMsg:
		return m.sceneTicked(msg)
	case sceneAdminMsg:
		return m.sceneAdminDone(msg)
	case fillDoneMsg:
		m.fillDone(msg)
		return nil
	case narrationMsg:
		m.narration = msg.lines
		return nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return cmd
}

// Close ends every open connection. The program does not do it on quit:
// main calls it on the final model once the program has returned.
func (m *Model) Close() error {
	var errs []error
	_ = m.kv.Close() // only ends its calls: the connections are closed below
	for _, n := range m.nodes {
		if n.conn == nil {
			continue
		}
		n.cancel()
		if err := n.conn.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", n.node.ID, err))
		}
		m.conns.set(n.node.ID, nil)
		n.conn, n.stream, n.cancel = nil, nil, nil
	}
	return errors.Join(errs...)
}

// resize fits everything to a new terminal size.
func (m *Model) resize(width, height int) {
	m.ctx.width, m.ctx.height = width, height
	m.input.Width = max(1, width-len(promptText)-1)
	m.help.Width = width
}

// key handles a key press: the dashboard's own keys first, then the prompt.
func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
		return m.typeRunes(msg)
	}
	switch {
	case key.Matches(msg, m.keys.Quit):
		return tea.Quit
	case m.resultKey(msg):
		return nil
	case m.scene != nil && m.input.Value() == "" && !m.showHelp && key.Matches(msg, m.keys.ScenarioNext):
		return m.nextStep()
	case m.scene != nil && m.input.Value() == "" && !m.showHelp && key.Matches(msg, m.keys.ScenarioLeave):
		return m.leaveScene()
	case key.Matches(msg, m.keys.Help) && m.input.Value() == "":
		m.showHelp = !m.showHelp
		return nil
	case key.Matches(msg, m.keys.Cancel):
		if m.showHelp {
			m.showHelp = false
		} else {
			m.input.Reset()
		}
		return nil
	case m.logKey(msg):
		return nil
	case key.Matches(msg, m.keys.Submit):
		return m.submit()
	}
	if cmd, ok := m.replKey(msg); ok {
		return cmd
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return cmd
}

// typeRunes gives the prompt a burst of typed text one rune at a time.
// Bubble Tea hands text that arrives faster than it reads (typing over a
// slow link, a test writing to the pty) to Update as one message per word,
// and key bindings match a message by its text: a burst "delete" would
// otherwise be the delete key, "end" the end key and "enter" would run the
// command.
func (m *Model) typeRunes(msg tea.KeyMsg) tea.Cmd {
	cmds := make([]tea.Cmd, 0, len(msg.Runes))
	for _, r := range msg.Runes {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

// connect starts a dial of node idx.
func (m *Model) connect(idx int) tea.Cmd {
	return connectCmd(m.opts.Dial, idx, m.nodes[idx].node, m.opts.StatusInterval)
}

// connected takes a fresh connection and starts reading its stream.
func (m *Model) connected(msg connectedMsg) tea.Cmd {
	n := m.nodes[msg.node]
	what := "connected"
	if n.err != nil {
		what = "reconnected"
	}
	m.note(n, what)
	n.retired = false // a dial under way when its card closed: it is reachable
	n.conn, n.stream, n.cancel = msg.conn, msg.events, msg.cancel
	m.conns.set(n.node.ID, n.conn)
	n.status, n.err, n.failures, n.retryAt = nil, nil, 0, time.Time{}
	n.heard(m.ctx.now)
	return waitEvents(msg.node, n.conn, n.stream)
}

// down marks node idx unreachable and schedules the next dial. Only the
// change from up to down goes to the event pane, not every failed retry.
func (m *Model) down(idx int, err error) tea.Cmd {
	n := m.nodes[idx]
	if n.err == nil {
		m.note(n, fmt.Sprintf("down: %v", err))
	}
	n.status, n.err = nil, err
	n.failures++
	d := backoff(n.failures)
	n.retryAt = m.ctx.now.Add(d)
	return retryCmd(idx, d)
}

// receive applies a batch of stream events, then reads on, or drops the
// connection when the stream has ended.
func (m *Model) receive(msg eventsMsg) tea.Cmd {
	n := m.nodes[msg.node]
	if len(msg.events) > 0 {
		m.heard(n)
	}
	for _, ev := range msg.events {
		if m.observe(msg.node, ev) {
			continue
		}
		if ev.GetKind() == pb.WatchEvent_STATUS {
			if st := ev.GetStatus(); st != nil {
				n.status, n.statusAt = st, m.ctx.now
				m.traffic.setFaults(n.node.ID, st)
			}
			continue
		}
		m.events.add(describe(ev, n.node.ID, n.status.GetMembers(), m.ctx.now))
		m.answeredLate(msg.node, ev)
	}
	learn := m.learnMembers()
	if !msg.closed {
		return tea.Batch(append(learn, waitEvents(msg.node, n.conn, n.stream))...)
	}
	err := msg.err
	if err == nil {
		err = errConnLost
	}
	closing := closeCmd(n.conn, n.cancel)
	m.conns.set(n.node.ID, nil)
	n.conn, n.stream, n.cancel = nil, nil, nil
	return tea.Batch(append(learn, closing, m.down(msg.node, err))...)
}

// heard records that node n said something now; a node that was silent
// is noted as heard again.
func (m *Model) heard(n *nodeState) {
	if n.silentFor > 0 {
		m.note(n, "heard again after "+sinceText(m.ctx.now.Sub(n.heardAt))+" of silence")
	}
	n.heard(m.ctx.now)
}

// markSilence finds, at the model's clock, the connected nodes with a
// status that have said nothing for longer than silentAfter, and notes
// each that has just gone silent. A replay's nodes are never found silent:
// its connections are stand-ins (replayConn), and it shows the roles
// recorded.
func (m *Model) markSilence() {
	for _, n := range m.nodes {
		_, replaying := n.conn.(replayConn)
		if n.conn == nil || replaying || n.status == nil || n.heardAt.IsZero() {
			n.silentFor = 0
			continue
		}
		quiet := m.ctx.now.Sub(n.heardAt)
		if quiet <= n.silentAfter(m.opts.StatusInterval) {
			n.silentFor = 0
			continue
		}
		if n.silentFor == 0 {
			m.note(n, fmt.Sprintf("silent: nothing heard for %s (%s)", sinceText(quiet), n.wasRole()))
		}
		n.silentFor = quiet
	}
}

// note adds the dashboard's own line about a node to the event pane.
func (m *Model) note(n *nodeState, text string) {
	m.events.add(eventLine{at: m.ctx.now, node: n.node.ID, text: clean(text)})
}
