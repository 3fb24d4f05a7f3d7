package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/tlsconf"
)

// Exit statuses; scripts depend on them, so they never change meaning.
const (
	exitOK          = 0
	exitFailed      = 1 // a node answered but refused, or anything unclassified
	exitUsage       = 2 // bad flags, arguments or cluster.yaml
	exitUnreachable = 3 // the node(s) the command needed could not be reached
)

// clientName is how easykv-ctl introduces itself in the handshake, so node
// logs tell its connections apart from the dashboard's.
const clientName = "easykv-ctl"

// nodeClient is the part of *netlink.Client that the commands use; tests
// substitute a fake.
type nodeClient interface {
	Status(ctx context.Context) (*pb.NodeStatus, error)
	AdminRequest(ctx context.Context, req *pb.AdminRequest) (*pb.AdminResponse, error)
	KV(ctx context.Context, req *pb.KvRequest) (*pb.KvResponse, error)
	Backup(ctx context.Context, w io.Writer) (index, term uint64, err error)
	Close() error
}

var _ nodeClient = (*netlink.Client)(nil)

// dialFunc opens a client connection to the node at addr.
type dialFunc func(ctx context.Context, addr string, id netlink.Identity) (nodeClient, error)

// dialNetlink is the production dialFunc.
func dialNetlink(ctx context.Context, addr string, id netlink.Identity) (nodeClient, error) {
	c, err := netlink.Dial(ctx, addr, id)
	if err != nil {
		// Return a nil interface, not a nil *Client wrapped in one.
		return nil, err
	}
	return c, nil
}

// app is one run of easykv-ctl with its outputs and its way to reach nodes.
type app struct {
	json     bool      // -o json was given: errors are JSON too
	stdout   io.Writer // command results: tables, JSON, "OK"
	stderr   io.Writer // error lines, and bench's progress bar
	dial     dialFunc  // connects to a node; faked in tests
	newKV    newKVFunc // opens a cluster client for put/get/delete/bench; faked in tests
	progress bool      // stderr is a terminal, so bench may draw a progress bar on it
}

// invocation is what a command gets after flags and cluster.yaml are parsed.
type invocation struct {
	cfg     *cluster.Config   // the parsed cluster.yaml
	output  string            // "table" or "json"
	args    []string          // positional arguments after the command name
	flags   cmdFlags          // the command's own flags
	timeout time.Duration     // --timeout: the command's deadline, or each operation's for bench
	tls     netlink.TLSDialer // cluster.yaml's tls section loaded; nil without one
}

// identity is how easykv-ctl presents itself to the nodes of cfg.
func (inv invocation) identity() netlink.Identity {
	return netlink.Identity{Cluster: inv.cfg.Name, NodeID: clientName, AuthToken: inv.cfg.AuthToken, TLS: inv.tls}
}

// run executes easykv-ctl with args (without the program name) and returns
// the process exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, dial: dialNetlink, newKV: newClusterClient, progress: isTerminal(stderr)}
	return a.run(ctx, args)
}

// run executes args and turns the outcome into an exit status, printing an
// error as a single line on stderr.
func (a *app) run(ctx context.Context, args []string) int {
	err := a.exec(ctx, args)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		// -h: the usage text is already on stdout.
		return exitOK
	case a.json:
		a.writeJSONError(err)
		return exitCode(err)
	default:
		fmt.Fprintf(a.stderr, "easykv-ctl: %s\n", oneLine(err.Error()))
		return exitCode(err)
	}
}

// jsonError is an error on stderr with -o json.
type jsonError struct {
	Error string `json:"error"` // what went wrong, as the plain line says it
	Code  string `json:"code"`  // failed, not_found, usage or unreachable
	Exit  int    `json:"exit"`  // the exit status
}

// writeJSONError prints err as one line of JSON on stderr.
func (a *app) writeJSONError(err error) {
	code := exitCode(err)
	name := map[int]string{exitFailed: "failed", exitUsage: "usage", exitUnreachable: "unreachable"}[code]
	if errors.Is(err, errNotFound) {
		name = "not_found"
	}
	b, merr := json.Marshal(jsonError{Error: oneLine(err.Error()), Code: name, Exit: code})
	if merr != nil { // cannot happen: strings and an int
		fmt.Fprintf(a.stderr, "easykv-ctl: %s\n", oneLine(err.Error()))
		return
	}
	fmt.Fprintf(a.stderr, "%s\n", b)
}

// exec parses global flags, the command name, the command's own flags (which
// repeat the global ones, so "status -o json" works) and its arguments, loads
// cluster.yaml and runs the command: within --timeout, or for a perOp command
// (bench) without a deadline of its own.
func (a *app) exec(ctx context.Context, args []string) error {
	g := defaultGlobals()
	fs := newFlagSet("easykv-ctl", &g)
	err := fs.Parse(args)
	a.json = g.output == "json"
	if err != nil {
		return a.flagError(err, fs)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef("missing command (want one of: help, %s)", strings.Join(commandNames(), ", "))
	}
	if rest[0] == "help" {
		// help COMMAND is COMMAND -h; help alone, or of what is no
		// command, the usage.
		if _, words, ok := lookupCommand(rest[1:]); ok {
			return a.exec(ctx, append(slices.Clone(rest[1:1+words]), "-h"))
		}
		writeUsage(a.stdout, fs)
		return flag.ErrHelp
	}
	cmd, words, ok := lookupCommand(rest)
	if !ok {
		return unknownCommand(rest)
	}
	cfs := newFlagSet("easykv-ctl "+cmd.name, &g)
	cf := defaultCmdFlags()
	if cmd.flags != nil {
		cmd.flags(cfs, &cf)
	}
	pos, err := parseInterspersed(cfs, rest[words:])
	a.json = g.output == "json"
	if err != nil {
		return a.flagError(err, cfs)
	}
	switch {
	case cmd.atLeast && len(pos) < cmd.nargs:
		return usagef("%s: want at least %d argument(s), got %d (usage: easykv-ctl %s)", cmd.name, cmd.nargs, len(pos), cmd.synopsis())
	case !cmd.atLeast && len(pos) != cmd.nargs:
		return usagef("%s: want %d argument(s), got %d (usage: easykv-ctl %s)", cmd.name, cmd.nargs, len(pos), cmd.synopsis())
	}
	if err := g.validate(); err != nil {
		return err
	}
	if cmd.check != nil {
		if err := cmd.check(pos, &cf); err != nil {
			return err
		}
	}
	cfg, err := cluster.Load(g.cluster)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	var certs netlink.TLSDialer
	if ca, cert, key, ok := cfg.TLSFiles(clientName); ok {
		src, err := tlsconf.Load(tlsconf.Files{CA: ca, Cert: cert, Key: key})
		if err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		certs = src
	}
	if !cmd.perOp {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
		defer cancel()
	}
	return cmd.run(ctx, a, invocation{cfg: cfg, output: g.output.String(), args: pos, flags: cf, timeout: g.timeout, tls: certs})
}

// flagError turns a flag parsing error into a usage error; for -h it prints
// the usage text instead.
func (a *app) flagError(err error, fs *flag.FlagSet) error {
	if errors.Is(err, flag.ErrHelp) {
		writeUsage(a.stdout, fs)
		return err
	}
	return &exitError{code: exitUsage, err: err}
}

// exitError is an error that selects the exit status; errors without one
// exit with exitFailed.
type exitError struct {
	code int   // the process exit status
	err  error // what went wrong, printed on stderr
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usagef builds an error that exits with exitUsage.
func usagef(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// unreachable marks err as "could not talk to the node" (exitUnreachable).
func unreachable(err error) error {
	return &exitError{code: exitUnreachable, err: err}
}

// exitCode is the exit status err asks for.
func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return exitFailed
}

// oneLine keeps an error message on a single line of stderr, whatever an
// underlying library put in it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
