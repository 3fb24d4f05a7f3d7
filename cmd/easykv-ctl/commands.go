package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/easykv/easykv/netlink/pb"
)

// command is one row of the subcommand table.
type command struct {
	name    string // what the user types
	args    string // positional arguments as shown in usage, e.g. "ID"
	nargs   int    // exact number of positional arguments
	summary string // one line for the usage text
	run     func(ctx context.Context, a *app, inv invocation) error
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
		{name: "pause", args: "ID", nargs: 1, summary: "stop a node's timers and drop its Raft traffic", run: adminCommand(pb.AdminCommand_PAUSE)},
		{name: "resume", args: "ID", nargs: 1, summary: "undo pause", run: adminCommand(pb.AdminCommand_RESUME)},
	}
}

// lookupCommand finds a command by name.
func lookupCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// commandNames lists the command names, for error messages.
func commandNames() []string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return names
}

// writeUsage prints the help text for -h; fs supplies the flag list.
func writeUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "Usage: easykv-ctl --cluster FILE [--timeout 3s] [-o table|json] COMMAND [ARGS]")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.synopsis(), c.summary)
	}
	fmt.Fprintln(w, "\nFlags (before or after the command):")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintln(w, "\nExit status: 0 ok, 1 a node refused, 2 usage or config error, 3 unreachable.")
}
