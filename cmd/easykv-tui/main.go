// Command easykv-tui is the live dashboard of an easykv cluster: a card per
// node with its role, term, vote, leader, election timer, log indexes and log
// tail, an event pane, and a prompt that puts, gets and deletes keys,
// pauses and resumes nodes and cuts or slows their links (see package tui).
//
//	easykv-tui --cluster cluster.yaml
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

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/tui"
)

// The dashboard talks to nodes through netlink's client.
var _ tui.NodeConn = (*netlink.Client)(nil)

// fps is the dashboard's steady frame rate.
const fps = 15

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole command; it returns the exit status: 0 after quit, 2 for a
// bad flag or config, 1 if the terminal fails, 130 on SIGINT.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("easykv-tui", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported on one line below
	clusterFile := fs.String("cluster", "", "the cluster's config `FILE` (required)")
	name := fs.String("name", "easykv-tui", "client `NAME` sent in the handshake")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "usage: easykv-tui --cluster FILE [--name NAME]")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		return usageError(stderr, err)
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	case *clusterFile == "":
		return usageError(stderr, errors.New("--cluster FILE is required"))
	}
	cfg, err := cluster.Load(*clusterFile)
	if err != nil {
		return usageError(stderr, err)
	}

	id := netlink.Identity{Cluster: cfg.Name, NodeID: *name, AuthToken: cfg.AuthToken}
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
	m, err := tui.New(tui.Options{
		Cluster:  cfg.Name,
		Nodes:    nodes,
		Dial:     dial,
		Renderer: lipgloss.NewRenderer(stdout),
		ClientID: newClientID(),
	})
	if err != nil {
		return usageError(stderr, err)
	}

	opts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithFPS(fps), tea.WithContext(ctx), tea.WithOutput(stdout)}
	if stdin != os.Stdin {
		// Only a substitute input is passed on: for the real stdin Bubble
		// Tea itself falls back to /dev/tty when stdin is redirected.
		opts = append(opts, tea.WithInput(stdin))
	}
	_, err = tea.NewProgram(m, opts...).Run()
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
