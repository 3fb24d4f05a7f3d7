package tui

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/easykv/easykv/netlink/pb"
)

const (
	// scriptReadyTimeout bounds the wait, before the first command, for
	// every node to be reached or found down and for a leader.
	scriptReadyTimeout = 10 * time.Second
	// scriptCloseWait bounds how long RunScript waits, at the end, for the
	// commands still running (stream reads end with their connections; a
	// reconnect timer ends on its own, within maxBackoff, dropping its
	// message).
	scriptCloseWait = time.Second
	// scriptLeaderWait bounds the wait for a leader before a put, get or
	// delete, when none is known.
	scriptLeaderWait = 5 * time.Second
	// scriptStatusWaits is how many status intervals "status" waits, at
	// most, for every node's next status.
	scriptStatusWaits = 3
	// maxScriptLine is the longest command line read.
	maxScriptLine = 1 << 20
)

// Script is what piped mode reads, where it prints, and when it stops.
type Script struct {
	// In holds the commands, one a line.
	In io.Reader
	// Out gets the results: `OK (n2, 1.2ms)`, `"alice"`, `(nil)`, status
	// lines, help.
	Out io.Writer
	// Err gets the failures, `(error) line 3: …`, one a line.
	Err io.Writer
	// StopOnError stops at the first command that fails, without running
	// the lines after it.
	StopOnError bool
}

// ErrCommandFailed is wrapped by RunScript's error when a command failed
// (its "(error) …" line is on Script.Err): "2 of 5 commands failed"; the
// process exits 1.
var ErrCommandFailed = errors.New("failed")

// errorPrefix starts every failure the model emits.
const errorPrefix = "(error) "

// RunScript is the dashboard without a terminal, for a pipe: it reads
// commands from s.In, one a line, skipping blank lines and lines starting
// with "#", runs each against the cluster in opts with the prompt's own
// code, and prints its result as plain text, as redis-cli does: on s.Out
// `OK (n2, 1.2ms)` for a write (node that answered, latency), `"alice"` or
// `(nil)` for a read, `(integer) 1` for a delete, one line per node for
// status; on s.Err `(error) line N: …` for a failure. A command that fails
// does not stop the next, unless s.StopOnError. It waits, at most
// scriptReadyTimeout, for the nodes to be reached and a leader to be known
// before the first command, and a put, get or delete that meets an
// election is sent again, unchanged, for up to kvPatience. The commands are
// not added to the prompt's history.
//
// It returns nil at the end of the input or after "quit" when every
// command succeeded; an error wrapping ErrCommandFailed when one failed
// (at the first failure with s.StopOnError); or the error reading s.In or
// writing the output, or ctx's error if ctx ends first.
func RunScript(ctx context.Context, opts Options, s Script) error {
	if opts.Renderer == nil {
		r := lipgloss.NewRenderer(io.Discard)
		r.SetColorProfile(termenv.Ascii)
		opts.Renderer = r
	}
	if s.Err == nil {
		s.Err = io.Discard
	}
	m, err := New(opts)
	if err != nil {
		return err
	}
	m.autoSteps = true
	r := newScriptRunner(ctx, m)
	defer r.close()
	var outErr error
	lineNo, failedLines, lineFailed := 0, 0, false
	m.repl.sink = func(text string) {
		if outErr != nil {
			return
		}
		if msg, ok := strings.CutPrefix(text, errorPrefix); ok {
			if lineNo > 0 {
				msg = fmt.Sprintf("line %d: %s", lineNo, msg)
			}
			lineFailed = true
			_, outErr = fmt.Fprintln(s.Err, errorPrefix+msg)
			return
		}
		_, outErr = fmt.Fprintln(s.Out, text)
	}
	failure := func() error {
		if failedLines == 0 {
			return nil
		}
		return fmt.Errorf("%d of %d commands %w", failedLines, max(r.lines, failedLines), ErrCommandFailed)
	}
	r.start()
	if err := r.waitReady(scriptReadyTimeout); err != nil {
		return err
	}
	lines, readErr := r.read(s.In)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				if err := <-readErr; err != nil {
					return err
				}
				return failure()
			}
			r.lines++
			lineNo, lineFailed = line.no, false
			if err := r.prepare(line.text); err != nil {
				return err
			}
			quit, err := r.run(line.text)
			if lineFailed {
				failedLines++
			}
			switch {
			case err != nil:
				return err
			case outErr != nil:
				return fmt.Errorf("write: %w", outErr)
			case lineFailed && s.StopOnError:
				return fmt.Errorf("line %d %w; the lines after it were not run", line.no, ErrCommandFailed)
			case quit:
				return failure()
			}
			lineNo, lineFailed = 0, false // what comes between lines belongs to none
		case sm := <-r.msgs:
			// Between lines the model keeps up with the streams, so a
			// command finds the cluster as it is, even after a slow line.
			quit := r.handle(sm)
			if lineFailed { // a failure no line is waiting for still counts
				failedLines, lineFailed = min(failedLines+1, max(r.lines, 1)), false
			}
			switch {
			case outErr != nil:
				return fmt.Errorf("write: %w", outErr)
			case quit:
				return failure()
			}
		case <-r.ctx.Done():
			return r.ctx.Err()
		}
	}
}

// prepare waits, for a bounded time, until the cluster is fit for line:
// after a pause or a partition, a put, get or delete, or a membership or
// leadership command, waits for the election rather than failing for want
// of a leader; status waits for every node's
// next status, so that it shows the writes just made.
func (r *scriptRunner) prepare(line string) error {
	word, rest := splitWord(line)
	switch strings.ToLower(word) {
	case "get":
		if toks, err := splitArgs(rest); err == nil && len(toks) == 2 && !toks[1].quoted && strings.HasPrefix(toks[1].text, "@") {
			return nil // a node's own copy: no leader needed
		}
		return r.waitReady(scriptLeaderWait)
	case "put", "delete", "del", "add", "promote", "remove", "transfer": // all go to the leader
		return r.waitReady(scriptLeaderWait)
	case "status":
		return r.waitFreshStatus(scriptStatusWaits * r.m.opts.StatusInterval)
	}
	return nil
}

// waitFreshStatus feeds the model until every connected node has sent a
// status since the call, or for timeout.
func (r *scriptRunner) waitFreshStatus(timeout time.Duration) error {
	before := maps.Clone(r.statuses)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		fresh := true
		for i, n := range r.m.nodes {
			if n.conn != nil && r.statuses[i] == before[i] {
				fresh = false
			}
		}
		if fresh {
			return nil
		}
		if done, err := r.handleNext(timer); done {
			return err
		}
	}
}

// scriptLine is one command line of the input.
type scriptLine struct {
	// no is its number in the input, from 1, blank lines and comments
	// counted.
	no int
	// text is the line, trimmed.
	text string
}

// read sends in's command lines, trimmed, without blank lines and
// comments, on the channel it returns, which it closes at the end of in;
// then the second channel says why it ended (nil at EOF).
func (r *scriptRunner) read(in io.Reader) (<-chan scriptLine, <-chan error) {
	lines, errc := make(chan scriptLine), make(chan error, 1)
	// Not counted in wg: a read of a terminal or a pipe cannot be
	// interrupted, and a process that stops early just leaves it.
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 0, 64*1024), maxScriptLine)
		no := 0
		for sc.Scan() {
			no++
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			select {
			case lines <- scriptLine{no: no, text: line}:
			case <-r.ctx.Done():
				errc <- r.ctx.Err() // the reader waits on errc once lines closes
				return
			}
		}
		if err := sc.Err(); err != nil {
			errc <- fmt.Errorf("read commands: %w", err)
			return
		}
		errc <- nil
	}()
	return lines, errc
}

// scriptRunner drives a Model the way the Bubble Tea runtime does, minus the
// terminal: each tea.Cmd runs on a goroutine of its own and its message
// comes back to the one goroutine that calls Update. The commands that a
// line of the script started are told apart from the rest (stream reads,
// reconnects), so the runner knows when the line's work is done.
type scriptRunner struct {
	// m is the model; only the goroutine that called newScriptRunner
	// touches it.
	m *Model
	// ctx ends the runner; cancel ends it early, at close.
	ctx    context.Context
	cancel context.CancelFunc
	// msgs carries the commands' messages back to the model.
	msgs chan scriptMsg
	// pending counts the running commands that belong to the current line.
	pending int
	// statuses counts the STATUS events each node (by index) has sent; a
	// map, as members learned from the configuration add nodes.
	statuses map[int]int
	// lines counts the command lines run.
	lines int
	// wg counts every running command's goroutine.
	wg sync.WaitGroup
}

// scriptMsg is a command's message.
type scriptMsg struct {
	// msg is what the command returned.
	msg tea.Msg
	// line says the command belongs to the script line being run.
	line bool
}

func newScriptRunner(ctx context.Context, m *Model) *scriptRunner {
	ctx, cancel := context.WithCancel(ctx)
	return &scriptRunner{m: m, ctx: ctx, cancel: cancel, msgs: make(chan scriptMsg), statuses: map[int]int{}}
}

// start dials every node.
func (r *scriptRunner) start() {
	for i := range r.m.nodes {
		r.spawn(r.m.connect(i), false)
	}
}

// spawn runs cmd on a goroutine of its own.
func (r *scriptRunner) spawn(cmd tea.Cmd, line bool) {
	if cmd == nil {
		return
	}
	if line {
		r.pending++
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		msg := cmd()
		select {
		case r.msgs <- scriptMsg{msg: msg, line: line}:
		case <-r.ctx.Done():
		}
	}()
}

// handle gives one message to the model and starts the commands it answers
// with; it reports whether the message asks to quit.
func (r *scriptRunner) handle(sm scriptMsg) bool {
	if sm.line {
		r.pending--
	}
	switch msg := sm.msg.(type) {
	case nil:
		return false
	case tea.QuitMsg:
		return true
	case tea.BatchMsg:
		for _, cmd := range msg {
			r.spawn(cmd, sm.line)
		}
		return false
	}
	if cmds, ok := sequence(sm.msg); ok {
		r.spawn(runInOrder(cmds), sm.line)
		return false
	}
	if ev, ok := sm.msg.(eventsMsg); ok {
		ev = r.dropStale(ev)
		for _, e := range ev.events {
			if e.GetKind() == pb.WatchEvent_STATUS {
				r.statuses[ev.node]++
			}
		}
		sm.msg = ev
	}
	_, cmd := r.m.Update(sm.msg)
	r.spawn(cmd, sm.line)
	return false
}

// dropStale leaves out of msg the STATUS events taken before the node's
// status the model has. An admin command's answer carries a status, and
// the stream can still hold older ones, read after it: after "pause n1"
// one of them would say n1 leads, unpaused, and the next line's write would
// go to it. (The dashboard only shows them for a frame; a script acts on
// them.)
func (r *scriptRunner) dropStale(msg eventsMsg) eventsMsg {
	have := r.m.nodes[msg.node].status.GetUnixMs()
	fresh := make([]*pb.WatchEvent, 0, len(msg.events))
	for _, ev := range msg.events {
		if ev.GetKind() == pb.WatchEvent_STATUS && ev.GetStatus().GetUnixMs() < have {
			continue
		}
		fresh = append(fresh, ev)
	}
	msg.events = fresh
	return msg
}

// sequence unpacks the message of tea.Sequence, whose type the runtime
// keeps to itself: a slice of commands (other than a batch).
func sequence(msg tea.Msg) ([]tea.Cmd, bool) {
	if _, ok := msg.(tea.BatchMsg); ok {
		return nil, false
	}
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.Slice || v.Type().Elem() != reflect.TypeFor[tea.Cmd]() {
		return nil, false
	}
	cmds := make([]tea.Cmd, v.Len())
	for i := range cmds {
		cmds[i] = v.Index(i).Interface().(tea.Cmd)
	}
	return cmds, true
}

// runInOrder is one command that runs cmds one after another and gives
// their messages back as a batch of commands that return them.
func runInOrder(cmds []tea.Cmd) tea.Cmd {
	return func() tea.Msg {
		var batch tea.BatchMsg
		for _, cmd := range cmds {
			if cmd == nil {
				continue
			}
			msg := cmd()
			batch = append(batch, func() tea.Msg { return msg })
		}
		return batch
	}
}

// run executes one script line and waits until every command it started
// has come back; it reports whether the line (or anything meanwhile) asked
// to quit.
func (r *scriptRunner) run(line string) (bool, error) {
	quit := false
	r.m.ctx.now = r.m.opts.Now()
	r.spawn(r.m.execute(line), true)
	for r.pending > 0 {
		select {
		case sm := <-r.msgs:
			quit = r.handle(sm) || quit
		case <-r.ctx.Done():
			return false, r.ctx.Err()
		}
	}
	return quit, nil
}

// waitReady feeds the model until every node has been reached or has
// failed once, and, if any was reached, until some node reports being the
// leader; at most timeout. Commands after a timeout run all the same and
// say what is wrong themselves.
func (r *scriptRunner) waitReady(timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for !r.ready() {
		if done, err := r.handleNext(timer); done {
			return err
		}
	}
	return nil
}

// ready says every node has been heard of, and a leader is known unless
// no node is up.
func (r *scriptRunner) ready() bool {
	up := false
	for _, n := range r.m.nodes {
		switch {
		case n.conn != nil && n.status != nil:
			up = true
		case n.err == nil:
			return false // still dialling, or no status yet
		}
	}
	return !up || r.m.leaderIndex() >= 0
}

// close ends the connections and waits, a little, for the commands still
// running.
func (r *scriptRunner) close() {
	r.cancel()
	_ = r.m.Close() // leaving: a failed close changes nothing
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(scriptCloseWait):
	}
}

// handleNext feeds the model the next message; done when timer fired
// instead (nil: the caller gives up waiting, not the script) or the
// script's context ended (its error).
func (r *scriptRunner) handleNext(timer *time.Timer) (done bool, err error) {
	select {
	case sm := <-r.msgs:
		r.handle(sm)
		return false, nil
	case <-timer.C:
		return true, nil
	case <-r.ctx.Done():
		return true, r.ctx.Err()
	}
}
