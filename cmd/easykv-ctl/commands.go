package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/easykv/easykv/netlink/pb"
)

// command is one row of the subcommand table.
type command struct {
	name    string // what the user types
	args    string // positional arguments as shown in usage, e.g. "ID"
	nargs   int    // exact number of positional arguments, or the least with atLeast
	atLeast bool   // the last argument repeats: nargs is a minimum
	summary string // one line for the usage text
	// flags defines the command's own flags on fs, stored in f; nil for none.
	flags func(fs *flag.FlagSet, f *cmdFlags)
	// check validates the arguments and flags before cluster.yaml is read,
	// returning a usage error; nil when flag parsing says it all.
	check func(args []string, f *cmdFlags) error
	// perOp makes --timeout the deadline of each operation rather than of
	// the whole command, for commands that run many (bench).
	perOp bool
	run   func(ctx context.Context, a *app, inv invocation) error
}

// synopsis is the command with its arguments, for usage messages.
func (c command) synopsis() string {
	if c.args == "" {
		return c.name
	}
	return c.name + " " + c.args
}

// commands is the subcommand table, in the order usage lists them.
func commands() []command {
	return []command{
		{name: "status", summary: "show every node's role, term, leader and log progress", run: runStatus},
		{name: "health", summary: "one line per node: healthy (answers, follows a leader, not paused); exit 3 when no node has a leader, 1 when one is unhealthy", run: runHealth},
		{name: "pause", args: "ID", nargs: 1, summary: "stop a node's timers and drop its Raft traffic", run: adminCommand(pb.AdminCommand_PAUSE)},
		{name: "resume", args: "ID", nargs: 1, summary: "undo pause", run: adminCommand(pb.AdminCommand_RESUME)},
		{name: "partition", args: "ID", nargs: 1, summary: "drop a node's Raft traffic to and from every peer",
			run: adminCommand(pb.AdminCommand_PARTITION)},
		{name: "isolate", args: "ID PEER...", nargs: 2, atLeast: true, summary: "drop a node's Raft traffic to and from the PEERs",
			run: adminCommandWith(pb.AdminCommand_ISOLATE, isolateRequest)},
		{name: "delay", args: "ID DURATION", nargs: 2, summary: "delay a node's outgoing Raft traffic, e.g. 200ms (0 clears)",
			run: adminCommandWith(pb.AdminCommand_DELAY, delayRequest)},
		{name: "slow-disk", args: "ID DURATION", nargs: 2, summary: "stall each of a node's disk syncs, e.g. 1500ms (0 clears)",
			run: adminCommandWith(pb.AdminCommand_SLOW_DISK, slowDiskRequest)},
		{name: "heal", args: "ID", nargs: 1, summary: "undo partition, isolate, delay and slow-disk", run: adminCommand(pb.AdminCommand_HEAL)},
		{name: "slow", args: "FACTOR", nargs: 1, summary: "run every node's time FACTOR times slower (timers and message delivery), to watch Raft; slow 1 restores",
			check: checkSlow, run: runSlow},
		{name: "timeout", args: "ID", nargs: 1, summary: "fire a node's election timer now: it campaigns", run: adminCommand(pb.AdminCommand_FIRE_TIMER)},
		{name: "hold", args: "ID", nargs: 1, summary: "hold a node's election timer: it never campaigns on its own until release", run: adminCommand(pb.AdminCommand_HOLD_TIMER)},
		{name: "release", args: "ID", nargs: 1, summary: "undo hold", run: adminCommand(pb.AdminCommand_RELEASE_TIMER)},
		{name: "member list", summary: "list the members as the leader sees them: voter or learner, reachable now", run: runMemberList},
		{name: "member add", args: "ID ADDR [--learner]", nargs: 2, summary: "add a member (recommended: --learner, then member promote once it caught up)",
			flags: learnerFlag, check: checkMemberAdd, run: memberChange(memberAddRequest)},
		{name: "member promote", args: "ID", nargs: 1, summary: "make learner ID a voter; refused until it has caught up", run: memberChange(memberPromoteRequest)},
		{name: "member remove", args: "ID", nargs: 1, summary: "remove member ID from the cluster", run: memberChange(memberRemoveRequest)},
		{name: "transfer", args: "ID", nargs: 1, summary: "hand leadership over to voter ID", run: memberChange(transferRequest)},
		{name: "snapshot save", args: "FILE", nargs: 1, summary: "stream a snapshot from the leader into FILE (written whole or not at all)", run: runSnapshotSave},
		{name: "snapshot status", args: "FILE", nargs: 1, summary: "check a snapshot file and print its index, term, keys, bytes and checksum; exit 1 if damaged", run: runSnapshotStatus},
		{name: "put", args: "KEY VALUE", nargs: 2, summary: "set KEY to VALUE once the write is committed; prints OK", run: runPut},
		{name: "get", args: "KEY [--stale [--node ID]]", nargs: 1,
			summary: "print KEY's value (linearizable; --stale: any node's local copy, --node ID: that node's); exit 1 if missing",
			flags:   getFlags, check: checkGet, run: runGet},
		{name: "delete", args: "KEY", nargs: 1, summary: "remove KEY; prints OK whether or not it existed", run: runDelete},
		{name: "bench", args: "put|get [--clients N] [--total N] ...", nargs: 1, summary: "measure throughput and latency (see bench -h)",
			flags: benchFlags, check: checkBench, perOp: true, run: runBench},
	}
}

// lookupCommand finds the command that args begin with: a name of one
// word, or of two for a subcommand ("member add"). words is how many of
// args the name takes.
func lookupCommand(args []string) (c command, words int, ok bool) {
	for _, c := range commands() {
		name := strings.Fields(c.name)
		if len(args) >= len(name) && slices.Equal(args[:len(name)], name) {
			return c, len(name), true
		}
	}
	return command{}, 0, false
}

// subcommands lists the subcommands of group ("member"), none when group
// is a command of its own or no command at all.
func subcommands(group string) []string {
	var subs []string
	for _, c := range commands() {
		if sub, ok := strings.CutPrefix(c.name, group+" "); ok {
			subs = append(subs, sub)
		}
	}
	return subs
}

// unknownCommand is the usage error for args, which name no command.
func unknownCommand(args []string) error {
	if subs := subcommands(args[0]); len(subs) > 0 {
		if len(args) == 1 {
			return usagef("%s: missing subcommand (want one of: %s)", args[0], strings.Join(subs, ", "))
		}
		return usagef("%s: unknown subcommand %q (want one of: %s)", args[0], args[1], strings.Join(subs, ", "))
	}
	return usagef("unknown command %q (easykv-ctl help lists the commands)", args[0])
}

// commandNames lists the command names, for error messages; a group of
// subcommands ("member") is listed once.
func commandNames() []string {
	var names []string
	for _, c := range commands() {
		names = append(names, strings.Fields(c.name)[0])
	}
	return slices.Compact(names)
}

// writeUsage prints the help text for -h; fs supplies the flag list, which
// for "COMMAND -h" includes that command's own flags.
func writeUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "Usage: easykv-ctl --cluster FILE [--timeout 3s] [-o table|json] COMMAND [ARGS]")
	fmt.Fprintln(w, "\nCommands:")
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.synopsis()))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.synopsis(), c.summary)
	}
	fmt.Fprintln(w, "  help [COMMAND]  this text, or COMMAND's with its own flags")
	fmt.Fprintln(w, "\nFlags (before or after the command; 'easykv-ctl COMMAND -h' adds its own):")
	// The flags' own defaults, not the values given on this command line,
	// which a command's flag set takes as its defaults (--cluster has none).
	def := defaultGlobals()
	own := newFlagSet("", &def)
	fs.VisitAll(func(f *flag.Flag) {
		if d := own.Lookup(f.Name); d != nil {
			f.DefValue = d.DefValue
		}
	})
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintln(w, "\nExit status: 0 ok, 1 a node refused or the key is missing, 2 usage or config error,")
	fmt.Fprintln(w, "3 unreachable (no leader before --timeout; a write may or may not have been applied).")
	fmt.Fprintln(w, `With -o json an error is one JSON line on stderr: {"error","code","exit"}, code one of`)
	fmt.Fprintln(w, "failed, not_found, usage, unreachable.")
}
