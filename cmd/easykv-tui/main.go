// Command easykv-tui is the live dashboard of an easykv cluster: a card per
// node with its role, term, vote, leader, election timer, log indexes and log
// tail, an event pane, and a prompt that puts, gets and deletes keys,
// pauses and resumes nodes and cuts or slows their links (see package tui).
//
//	easykv-tui --cluster cluster.yaml
//	easykv-tui --cluster cluster.yaml --record election.jsonl
//	easykv-tui --replay election.jsonl
//	echo "put user:1 alice" | easykv-tui --cluster cluster.yaml
//
// --no-color, or a non-empty NO_COLOR, draws without colour. With stdin not
// a terminal it runs the commands read from it, one a line, prints each
// result on stdout and each failure on stderr, and exits at the end of the
// input: 0 if every command succeeded, 1 if any failed (--stop-on-error
// stops at the first). --record writes every event and
// status received, with its time, as JSON lines; --replay plays
// such a file back in the dashboard (space pauses, . steps, + and - change
// the speed, ← and → seek, 0 restarts).
package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
	"github.com/muesli/termenv"

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/scenario"
	"github.com/easykv/easykv/tlsconf"
	"github.com/easykv/easykv/tui"
)

// The dashboard talks to nodes through netlink's client.
var _ tui.NodeConn = (*netlink.Client)(nil)

// fps is the dashboard's steady frame rate.
const fps = 15

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run is the whole command; it returns the exit status: 0 after quit, or at
// the end of piped input when every command succeeded; 1 if a piped command
// failed (with --stop-on-error, at the first), or the terminal, reading the
// piped commands or the recording failed; 2 for a bad flag, config or
// file; 130 on SIGINT.
// getenv reads the environment (NO_COLOR).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) (code int) {
	fs := flag.NewFlagSet("easykv-tui", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported on one line below
	clusterFile := fs.String("cluster", "", "the cluster's config `FILE` (required, except with --replay)")
	name := fs.String("name", "easykv-tui", "client `NAME` sent in the handshake")
	noColor := fs.Bool("no-color", false, "draw without colour (so does a non-empty NO_COLOR)")
	recordFile := fs.String("record", "", "record every event and status received to `FILE`")
	replayFile := fs.String("replay", "", "play back a recording made with --record from `FILE`")
	stopOnError := fs.Bool("stop-on-error", false, "piped mode: stop at the first command that fails (exit status 1)")
	scenarioDir := fs.String("scenarios", "", "add the guided scenarios in `DIR` (one NAME.yaml each) to the built-in ones")
	travel := fs.Duration("scenario-travel", 0, "how long a message takes to arrive while a scenario runs (`DURATION`; sets its slow motion; default 800ms)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "usage: easykv-tui --cluster FILE [--name NAME] [--no-color] [--record FILE] [--stop-on-error]")
			fmt.Fprintln(stdout, "       easykv-tui --replay FILE [--no-color]")
			fmt.Fprintln(stdout, "With stdin not a terminal, runs the commands read from it, one a line:")
			fmt.Fprintln(stdout, "results on stdout, failures on stderr.")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			fmt.Fprintln(stdout, "\nExit status: 0 ok (piped: every command succeeded), 1 a piped command failed,")
			fmt.Fprintln(stdout, "or the terminal, input or recording failed, 2 usage or config error, 130 interrupted.")
			return 0
		}
		return usageError(stderr, err)
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case *replayFile != "" && *clusterFile != "":
		return usageError(stderr, errors.New("--replay plays a recording: it takes no --cluster"))
	case *replayFile != "" && *stopOnError:
		return usageError(stderr, errors.New("--stop-on-error is for piped commands: a replay runs none"))
	case *replayFile != "" && *recordFile != "":
		return usageError(stderr, errors.New("--record and --replay cannot be combined"))
	case *replayFile == "" && *clusterFile == "":
		return usageError(stderr, errors.New("--cluster FILE is required"))
	case *travel < 0:
		return usageError(stderr, fmt.Errorf("--scenario-travel %v: want a positive duration", *travel))
	}
	renderer := lipgloss.NewRenderer(stdout)
	if colourless(*noColor, getenv) {
		renderer.SetColorProfile(termenv.Ascii) // roles still read by their words and glyphs
	}
	if *replayFile != "" {
		return replay(ctx, *replayFile, renderer, stdin, stdout, stderr)
	}

	cfg, err := cluster.Load(*clusterFile)
	if err != nil {
		return usageError(stderr, err)
	}
	id := netlink.Identity{Cluster: cfg.Name, NodeID: *name, AuthToken: cfg.AuthToken}
	if ca, cert, key, ok := cfg.TLSFiles(*name); ok {
		certs, err := tlsconf.Load(tlsconf.Files{CA: ca, Cert: cert, Key: key})
		if err != nil {
			return usageError(stderr, err)
		}
		id.TLS = certs
	}
	dial := func(ctx context.Context, n tui.Node) (tui.NodeConn, error) {
		c, err := netlink.Dial(ctx, n.Addr, id)
		if err != nil {
			return nil, err // not a nil *Client inside a non-nil interface
		}
		return c, nil
	}
	nodes := make([]tui.Node, len(cfg.Nodes))
	for i, n := range cfg.Nodes {
		nodes[i] = tui.Node{ID: n.ID, Addr: n.Addr}
	}
	opts := tui.Options{
		Cluster:        cfg.Name,
		Nodes:          nodes,
		Dial:           dial,
		Renderer:       renderer,
		ClientID:       newClientID(),
		ScenarioTravel: *travel,
	}
	if *scenarioDir != "" {
		if opts.Scenarios, err = scenario.Load(*scenarioDir); err != nil {
			return usageError(stderr, fmt.Errorf("--scenarios: %w", err))
		}
	}
	if *recordFile != "" {
		rec, closeRec, err := startRecording(*recordFile, opts)
		if err != nil {
			return usageError(stderr, err)
		}
		opts.Dial = rec.Dial(opts.Dial)
		opts.Narrate = rec.Narrate
		defer func() {
			if err := closeRec(); err != nil {
				fmt.Fprintf(stderr, "easykv-tui: %v\n", err)
				code = max(code, 1)
			}
		}()
	}

	if !isTerminal(stdin) {
		script := tui.Script{In: stdin, Out: stdout, Err: stderr, StopOnError: *stopOnError}
		if err := tui.RunScript(ctx, opts, script); err != nil {
			// A failed command's own line is on stderr already; this
			// one sums up (or says why reading or writing failed).
			fmt.Fprintf(stderr, "easykv-tui: %v\n", err)
			return 1
		}
		return 0
	}
	if hf, err := tui.DefaultHistoryFile(); err == nil {
		opts.HistoryFile = hf // no home directory: history kept in memory only
	}
	opts.SteadyFrames = true
	m, err := tui.New(opts)
	if err != nil {
		return usageError(stderr, err)
	}
	return runProgram(ctx, m, stdin, stdout, stderr)
}

// colourless says whether to draw without colour: --no-color, or NO_COLOR
// set to anything but "" (https://no-color.org).
func colourless(noColorFlag bool, getenv func(string) string) bool {
	return noColorFlag || getenv("NO_COLOR") != ""
}

// dashboard is what runProgram runs: a live Model or a Replay.
type dashboard interface {
	tea.Model
	// Close ends the connections once the program has returned.
	Close() error
}

// runProgram runs the dashboard in the terminal until it quits.
func runProgram(ctx context.Context, m dashboard, stdin io.Reader, stdout, stderr io.Writer) int {
	opts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithFPS(fps), tea.WithContext(ctx), tea.WithOutput(stdout)}
	if stdin != os.Stdin {
		// Only a substitute input is passed on: for the real stdin Bubble
		// Tea itself falls back to /dev/tty when stdin is redirected.
		opts = append(opts, tea.WithInput(stdin))
	}
	_, err := tea.NewProgram(m, opts...).Run()
	_ = m.Close() // leaving the cluster: a failed close changes nothing
	switch {
	case errors.Is(err, tea.ErrInterrupted):
		return 130
	case err != nil:
		fmt.Fprintf(stderr, "easykv-tui: %v\n", err)
		return 1
	}
	return 0
}

// isTerminal reports whether in is a terminal: if not, the dashboard runs
// the commands read from it instead (piped mode).
func isTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// startRecording creates path (an unwritable one is an error at once) and
// writes a recording's header to it. The returned close stops recording
// and closes the file; it reports a failed write.
func startRecording(path string, opts tui.Options) (*tui.Recorder, func() error, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("record: %w", err)
	}
	rec, err := tui.NewRecorder(f, opts.Cluster, opts.Nodes, opts.StatusInterval, nil)
	if err != nil {
		_ = f.Close() // the write error is the one to report
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	closeRec := func() error {
		err := rec.Close() // no record is written after this
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("record: %w", cerr)
		}
		return err
	}
	return rec, closeRec, nil
}

// replay plays the recording in path back in the dashboard.
func replay(ctx context.Context, path string, renderer *lipgloss.Renderer, stdin io.Reader, stdout, stderr io.Writer) int {
	f, err := os.Open(path)
	if err != nil {
		return usageError(stderr, fmt.Errorf("replay: %w", err))
	}
	rec, err := tui.ReadRecording(f)
	_ = f.Close() // read-only: everything needed has been read
	if err != nil {
		return usageError(stderr, fmt.Errorf("replay %s: %w", path, err))
	}
	opts := tui.Options{Renderer: renderer}
	if hf, err := tui.DefaultHistoryFile(); err == nil {
		opts.HistoryFile = hf // no home directory: history kept in memory only
	}
	r, err := tui.NewReplay(rec, opts)
	if err != nil {
		return usageError(stderr, err)
	}
	return runProgram(ctx, r, stdin, stdout, stderr)
}

// newClientID draws the dashboard's write session id: random, so that two
// dashboards, or one started again, never share a session (the cluster
// would take their writes for retries of each other's); never zero.
func newClientID() uint64 {
	var b [8]byte
	for {
		_, _ = rand.Read(b[:]) // never fails: since Go 1.24 it crashes the program instead
		if id := binary.BigEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}

// usageError reports a bad flag or config on one line; exit status 2.
func usageError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "easykv-tui: %v\n", err)
	return 2
}
