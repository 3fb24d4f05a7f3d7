package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/easykv/easykv/netlink/pb"
)

// ErrReadOnly answers whatever would talk to a node during a replay.
var ErrReadOnly = errors.New("replay: read-only")

// errReplayDial is what the replay's DialFunc answers: a replay never
// connects; it hands the model the recorded connections itself.
var errReplayDial = errors.New("replay: nothing to dial")

// Replay speeds and steps.
const (
	minReplaySpeed = 0.25
	maxReplaySpeed = 16
	// replaySeek is how far one seek key moves.
	replaySeek = 5 * time.Second
)

// Replay plays a recording back in the dashboard: it is a tea.Model that
// wraps a Model and feeds it, at their recorded offsets on a replay clock,
// the same connection and stream messages the recorded dashboard got, so
// that everything on screen is drawn by the same code. The Model's clock is
// the replay clock: election timers and times since read as they did. Its
// keys (KeyMap.Replay*) work while the prompt is empty.
//
// A replay is driven by the messages it gets: each first moves the replay
// clock on by the real time since the last, times the speed, and applies
// the records up to there. The frame tick keeps it moving.
type Replay struct {
	// rec is the recording.
	rec *Recording
	// opts build the Model, again on a seek backwards.
	opts Options
	// real is the wall clock that drives the replay clock.
	real func() time.Time
	// model is the dashboard being fed.
	model *Model
	// next is the index of the first record not yet applied.
	next int
	// shown is the offset into the recording that the model's clock reads,
	// in nanoseconds; atomic because the model may read its clock in a
	// tea.Cmd.
	shown atomic.Int64
	// pos is the replay position at real time at.
	pos time.Duration
	// at is the real time pos was taken at.
	at time.Time
	// playing says the position moves with real time; false when paused or
	// at the end.
	playing bool
	// speed is replay time per real time, minReplaySpeed…maxReplaySpeed.
	speed float64
}

var _ tea.Model = (*Replay)(nil)

// NewReplay builds a replay of rec, playing from its start at 1×. opts are
// those of a dashboard (Renderer, HistoryFile and the like); the cluster,
// nodes, dial, status interval and client id come from the recording, and
// opts.Now is the real clock that drives the replay (nil: time.Now).
func NewReplay(rec *Recording, opts Options) (*Replay, error) {
	if rec == nil {
		return nil, errors.New("tui: no recording")
	}
	r := &Replay{rec: rec, real: opts.Now, playing: true, speed: 1}
	if r.real == nil {
		r.real = time.Now
	}
	opts.Cluster = rec.Header.Cluster
	opts.Nodes = make([]Node, len(rec.Header.Nodes))
	for i, n := range rec.Header.Nodes {
		opts.Nodes[i] = Node(n)
	}
	opts.Dial = func(context.Context, Node) (NodeConn, error) { return nil, errReplayDial }
	opts.Now = r.now
	opts.StatusInterval = time.Duration(rec.Header.StatusIntervalMs) * time.Millisecond
	if opts.ClientID == 0 {
		opts.ClientID = 1 // never used: nothing is written
	}
	r.opts = opts
	m, err := newReplayModel(opts)
	if err != nil {
		return nil, err
	}
	r.model = m
	r.at = r.real()
	return r, nil
}

// newReplayModel builds a fresh dashboard with the replay's keys switched
// on.
func newReplayModel(opts Options) (*Model, error) {
	m, err := New(opts)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	for _, b := range []*key.Binding{
		&m.keys.ReplayPause, &m.keys.ReplayStep, &m.keys.ReplayFaster, &m.keys.ReplaySlower,
		&m.keys.ReplayBack, &m.keys.ReplayForward, &m.keys.ReplayRestart,
	} {
		b.SetEnabled(true)
	}
	m.input.Placeholder = replayPlaceholder
	return m, nil
}

// replayPlaceholder stands in the empty prompt of a replay: its keys.
const replayPlaceholder = "replay: space pause · . step · + - speed · ← → seek 5s · 0 restart · ? help"

// now is the model's clock: the recording's start plus the position shown.
func (r *Replay) now() time.Time {
	return r.rec.Header.Start.Add(time.Duration(r.shown.Load()))
}

// Init starts the model (its frame tick and prompt; its dials fail at once
// and are ignored).
func (r *Replay) Init() tea.Cmd { return r.model.Init() }

// Update moves the replay clock on, applies the records due, then handles
// msg: a replay key, a command the replay refuses, or anything else the
// model handles as usual.
func (r *Replay) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if d, ok := msg.(dialFailedMsg); ok && errors.Is(d.err, errReplayDial) {
		return r, nil
	}
	r.sync()
	if k, ok := msg.(tea.KeyMsg); ok && r.key(k) {
		return r, nil
	}
	_, cmd := r.model.Update(msg)
	return r, cmd
}

// View is the model's frame with the replay's state on the title line.
func (r *Replay) View() string {
	frame := r.model.View()
	title, rest, found := strings.Cut(frame, "\n")
	title = r.title(title)
	if !found {
		return title
	}
	return title + "\n" + rest
}

// Close ends the model's connections (a replay has none).
func (r *Replay) Close() error { return r.model.Close() }

// sync moves the position on by the real time since the last sync, stops at
// the end, and applies the records up to the position.
func (r *Replay) sync() {
	now := r.real()
	if r.playing {
		r.pos += time.Duration(float64(now.Sub(r.at)) * r.speed)
		if end := r.rec.Duration(); r.pos >= end {
			r.pos, r.playing = end, false
		}
	}
	r.at = now
	r.advance(r.pos)
}

// advance applies every record up to offset target, each with the model's
// clock at its own offset, then sets the clock to target.
func (r *Replay) advance(target time.Duration) {
	for r.next < len(r.rec.Records) {
		rec := &r.rec.Records[r.next]
		off := r.offset(rec)
		if off > target {
			break
		}
		r.next++
		r.shown.Store(int64(off))
		if msg := replayMsg(rec, r.nodeOf(rec)); msg != nil {
			// The model's answer is I/O (read on, dial again) for a
			// connection that is not there: dropped.
			_, _ = r.model.Update(msg)
		}
	}
	r.shown.Store(int64(target))
}

// offset is when rec arrived, from the recording's start.
func (r *Replay) offset(rec *Record) time.Duration {
	return max(rec.At.Sub(r.rec.Header.Start), 0)
}

// nodeOf is the index in the model of rec's node: its index in the
// header, or, for a node learned from the configuration, the one the
// model gave it when a replayed status named it; -1 when it has none.
func (r *Replay) nodeOf(rec *Record) int {
	if rec.Node >= 0 {
		return rec.Node
	}
	return r.model.nodeIndex(rec.ID)
}

// replayMsg is the message the recorded dashboard's model got for rec, on
// the model's node idx; nil for none.
func replayMsg(rec *Record, idx int) tea.Msg {
	if rec.Kind == RecordNarration {
		return narrationMsg{lines: rec.Lines}
	}
	if idx < 0 {
		return nil
	}
	switch rec.Kind {
	case RecordDial:
		return retryMsg{node: idx}
	case RecordDown:
		return dialFailedMsg{node: idx, err: errors.New(rec.Err)}
	case RecordConnected:
		return connectedMsg{node: idx, conn: replayConn{}, cancel: func() {}}
	case RecordEvent:
		return eventsMsg{node: idx, events: []*pb.WatchEvent{rec.Event}}
	case RecordClosed:
		return eventsMsg{node: idx, closed: true, err: errors.New(rec.Err)}
	}
	return nil
}

// key handles the replay's keys while the prompt is empty, and refuses the
// commands and keys (ctrl+p, ctrl+r) that would talk to a node. It reports
// whether it took msg.
func (r *Replay) key(msg tea.KeyMsg) bool {
	k := &r.model.keys
	// The model's own keys that would change the cluster answer as a
	// typed command does, whether or not a node could be named.
	switch {
	case key.Matches(msg, k.PauseLeader):
		r.model.setError("pause leader: %v", ErrReadOnly)
		return true
	case key.Matches(msg, k.ResumeAll):
		r.model.setError("resume all: %v", ErrReadOnly)
		return true
	}
	if r.model.input.Value() == "" {
		switch {
		case key.Matches(msg, k.ReplayPause):
			r.togglePause()
		case key.Matches(msg, k.ReplayStep):
			r.step()
		case key.Matches(msg, k.ReplayFaster):
			r.speed = min(r.speed*2, maxReplaySpeed)
		case key.Matches(msg, k.ReplaySlower):
			r.speed = max(r.speed/2, minReplaySpeed)
		case key.Matches(msg, k.ReplayBack):
			r.seek(r.pos - replaySeek)
		case key.Matches(msg, k.ReplayForward):
			r.seek(r.pos + replaySeek)
		case key.Matches(msg, k.ReplayRestart):
			r.seek(0)
			r.playing = true
		default:
			return false
		}
		return true
	}
	if !key.Matches(msg, k.Submit) {
		return false
	}
	verb, _ := splitWord(r.model.input.Value())
	if c := lookupCommand(verb); c == nil || !c.talksToNodes {
		return false
	}
	r.model.input.Reset()
	r.model.setError("%s: %v", verb, ErrReadOnly)
	return true
}

// togglePause pauses or resumes; resuming at the end starts again.
func (r *Replay) togglePause() {
	if r.playing {
		r.playing = false
		return
	}
	if r.pos >= r.rec.Duration() {
		r.seek(0)
	}
	r.playing = true
}

// step pauses and moves to the next record worth a look: anything but the
// periodic STATUS and MESSAGES events and the dials of retries.
func (r *Replay) step() {
	r.playing = false
	for i := r.next; i < len(r.rec.Records); i++ {
		rec := &r.rec.Records[i]
		if rec.Kind == RecordDial {
			continue
		}
		if kind := rec.Event.GetKind(); rec.Kind == RecordEvent &&
			(kind == pb.WatchEvent_STATUS || kind == pb.WatchEvent_MESSAGES) {
			continue
		}
		r.pos = r.offset(rec)
		r.advance(r.pos)
		return
	}
	r.pos = r.rec.Duration()
	r.advance(r.pos)
}

// seek moves to target, within the recording. Going back rebuilds the
// dashboard and applies the records from the start, at once.
func (r *Replay) seek(target time.Duration) {
	target = min(max(target, 0), r.rec.Duration())
	if target < r.pos {
		r.rebuild()
	}
	r.pos = target
	r.advance(target)
}

// rebuild replaces the model with a fresh one at the recording's start,
// keeping the terminal size and what belongs to the user rather than the
// cluster: the prompt, its history and the help overlay.
func (r *Replay) rebuild() {
	old := r.model
	opts := r.opts
	opts.HistoryFile = "" // old's history, file and all, is kept: not read again
	m, err := newReplayModel(opts)
	if err != nil {
		return // cannot happen: the same options built old
	}
	m.input, m.help, m.showHelp, m.status = old.input, old.help, old.showHelp, old.status
	m.repl, m.knownKeys = old.repl, old.knownKeys
	r.shown.Store(0)
	_, _ = m.Update(tea.WindowSizeMsg{Width: old.ctx.width, Height: old.ctx.height})
	r.model, r.next = m, 0
}

// title puts the replay's state on the frame's first line, at its right:
// before the clock if there is room for both. The state keeps its total
// length ("00:04.0/00:12.6"), the header's text is cut first; only a
// terminal too narrow for the state alone gets it without the total.
func (r *Replay) title(line string) string {
	width := r.model.ctx.width
	// The line is text, a gap, then the clock: split at the last gap.
	plain := ansi.Strip(line)
	leftW, right := lipgloss.Width(plain), ""
	if i := strings.LastIndex(strings.TrimRight(plain, " "), "  "); i >= 0 {
		leftW = lipgloss.Width(strings.TrimRight(plain[:i], " "))
		right = strings.TrimLeft(ansi.Cut(line, lipgloss.Width(plain[:i])+2, lipgloss.Width(plain)), " ")
	}
	left := ansi.Truncate(line, leftW, "")
	style := r.model.ctx.styles.Paused
	state := style.Render(r.state(true))
	if lipgloss.Width(state)+1 > width {
		state = style.Render(r.state(false))
	}
	sw := lipgloss.Width(state)
	if sw+1 > width {
		return ansi.Truncate(state, width, "…")
	}
	if rw := lipgloss.Width(right); right != "" && leftW+1+sw+2+rw <= width {
		state += "  " + right
		sw += 2 + rw
	}
	if leftW+1+sw > width {
		left = ansi.Truncate(left, width-sw-1, "…")
	}
	gap := max(width-lipgloss.Width(left)-sw, 1)
	return left + strings.Repeat(" ", gap) + state
}

// state is the replay's state in words: "REPLAY 1.0× 00:12.4/01:03.0 ⏸",
// or without the total ("/01:03.0") when not full.
func (r *Replay) state(full bool) string {
	glyph := "▶"
	switch {
	case !r.playing && r.pos >= r.rec.Duration():
		glyph = "⏹ end"
	case !r.playing:
		glyph = "⏸"
	}
	where := clockText(r.pos)
	if full {
		where += "/" + clockText(r.rec.Duration())
	}
	return fmt.Sprintf("REPLAY %s %s %s", speedText(r.speed), where, glyph)
}

// speedText is "0.25×", "0.5×", "1.0×" … "16.0×".
func speedText(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%g×", s)
	}
	return fmt.Sprintf("%.1f×", s)
}

// clockText is d as minutes, seconds and tenths: "01:03.0".
func clockText(d time.Duration) string {
	tenths := d.Milliseconds() / 100
	return fmt.Sprintf("%02d:%02d.%d", tenths/600, tenths/10%60, tenths%10)
}

// replayConn stands in for a recorded connection: it refuses every request.
type replayConn struct{}

var _ NodeConn = replayConn{}

func (replayConn) Watch(context.Context, time.Duration) (<-chan *pb.WatchEvent, error) {
	return nil, ErrReadOnly
}

func (replayConn) AdminRequest(context.Context, *pb.AdminRequest) (*pb.AdminResponse, error) {
	return nil, ErrReadOnly
}

func (replayConn) KV(context.Context, *pb.KvRequest) (*pb.KvResponse, error) {
	return nil, ErrReadOnly
}

func (replayConn) Status(context.Context) (*pb.NodeStatus, error) {
	return nil, ErrReadOnly
}

func (replayConn) Err() error   { return nil }
func (replayConn) Close() error { return nil }
