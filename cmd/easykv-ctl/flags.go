package main

import (
	"flag"
	"fmt"
	"io"
	"time"
)

// defaultTimeout is --timeout's default.
const defaultTimeout = 3 * time.Second

// defaultGlobals are the global flags' defaults.
func defaultGlobals() globals { return globals{timeout: defaultTimeout, output: "table"} }

// globals are the flags every command accepts, before or after its name.
type globals struct {
	cluster string        // path of cluster.yaml
	timeout time.Duration // deadline for the whole command
	output  outputFormat  // how results are printed
}

// newFlagSet returns a FlagSet that defines the global flags on g, with g's
// current values as defaults so that a second FlagSet (the command's) keeps
// what the first one parsed. It prints nothing: errors are reported by run.
func newFlagSet(name string, g *globals) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&g.cluster, "cluster", g.cluster, "`path` of cluster.yaml (required)")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "deadline for the whole command (bench: for each operation)")
	fs.Var(&g.output, "o", "output `format`: table or json")
	return fs
}

// validate checks what flag parsing alone cannot.
func (g *globals) validate() error {
	if g.cluster == "" {
		return usagef("--cluster is required")
	}
	if g.timeout <= 0 {
		return usagef("--timeout must be positive, got %s", g.timeout)
	}
	return nil
}

// outputFormat is the value of -o; Set rejects anything but table and json,
// so a typo is a usage error rather than silently a table.
type outputFormat string

var _ flag.Value = (*outputFormat)(nil)

func (o *outputFormat) String() string { return string(*o) }

func (o *outputFormat) Set(s string) error {
	switch s {
	case "table", "json":
		*o = outputFormat(s)
		return nil
	default:
		return fmt.Errorf("want table or json")
	}
}

// parseInterspersed parses args with fs, letting flags follow positional
// arguments ("pause n1 -o json"), and returns the positional arguments.
// Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// cmdFlags are the flags only some commands define (command.flags).
type cmdFlags struct {
	stale     bool   // get, bench get: any node may answer from its local state
	node      string // get --stale: the one node to read from, "" for any
	clients   int    // bench: concurrent workers, each with its own client session
	total     int    // bench: operations across all workers
	valueSize int    // bench put: bytes per value
	keySpace  int    // bench: keys are drawn from [0, keySpace)
	keySize   int    // bench: bytes per key, a zero-padded decimal number
	conns     int    // bench: connections per node shared by the workers
	learner   bool   // member add: add as a learner
}

// defaultCmdFlags are the command flags' defaults.
func defaultCmdFlags() cmdFlags {
	return cmdFlags{clients: 8, total: 10000, valueSize: 64, keySpace: 10000, keySize: 8, conns: 16}
}

// staleFlag defines --stale.
func staleFlag(fs *flag.FlagSet, f *cmdFlags) {
	fs.BoolVar(&f.stale, "stale", f.stale, "read from any node's local state: no leader needed, may be out of date")
}

// getFlags defines get's flags: --stale, and --node to read one node's
// local state.
func getFlags(fs *flag.FlagSet, f *cmdFlags) {
	staleFlag(fs, f)
	fs.StringVar(&f.node, "node", f.node, "with --stale: read node `ID`'s local state only (no redirect, no retry elsewhere)")
}

// checkGet validates get's flags: --node names a node to read from
// locally, which only a stale read does (a linearizable one goes to the
// leader).
func checkGet(_ []string, f *cmdFlags) error {
	if f.node != "" && !f.stale {
		return usagef("get: --node needs --stale (a linearizable read is served by the leader; --stale --node ID reads ID's own copy)")
	}
	return nil
}

// learnerFlag defines member add's --learner.
func learnerFlag(fs *flag.FlagSet, f *cmdFlags) {
	fs.BoolVar(&f.learner, "learner", f.learner, "add as a learner: it receives the log but does not vote until member promote")
}
