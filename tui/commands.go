package tui

import (
	"fmt"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// command is one row of the prompt's command table: everything the prompt
// knows about a command — how to run it, its help, how to complete its
// arguments, and whether a replay refuses it. Adding a command is adding a
// row to commandTable.
type command struct {
	// names are what can be typed, lower case: the first is the one tab
	// completes to and help lists, the others are aliases ("del", "exit").
	names []string
	// help are its lines in the help overlay and piped mode's help, each a
	// syntax and a description that fits beside the widest syntax on an
	// 80-column overlay; none for a command another row's line covers.
	help [][2]string
	// run runs it; verb is the name as typed, lower case, rest the line
	// after it and args rest's words.
	run func(m *Model, verb, rest string, args []string) tea.Cmd
	// bare: it can be run without arguments, so completing its name adds
	// no space.
	bare bool
	// talksToNodes: it reads from or changes the cluster, so a replay
	// (read-only) refuses it.
	talksToNodes bool
	// complete lists what can stand as argument arg (0 is the first) after
	// the words fields (the command and the arguments before); nil for
	// nothing to complete.
	complete func(m *Model, arg int, fields []string) []string
	// more says the first argument must be followed by another word, so
	// completing it adds a space.
	more bool
}

// commandTable is the prompt's commands, in the order help lists them and
// tab offers them. It is filled in by init, as "help" reads it.
var commandTable []command

// Derived from commandTable by init.
var (
	// commandNames are the commands as tab completes them, in order.
	commandNames []string
	// commandHelp lists the commands for the help overlay and piped mode's
	// help, in order.
	commandHelp [][2]string
	// commandsByName finds a row by any of its names.
	commandsByName map[string]*command
)

// Completion pools shared by several rows.
var (
	completeKey = func(m *Model, arg int, _ []string) []string {
		if arg == 0 {
			return m.keyPool()
		}
		return nil
	}
	completeNode = func(m *Model, arg int, _ []string) []string {
		if arg == 0 {
			return m.nodeIDs()
		}
		return nil
	}
	completeNodeOrAll = func(m *Model, arg int, _ []string) []string {
		if arg == 0 {
			return append(m.nodeIDs(), "all")
		}
		return nil
	}
)

// adminOneOrAll runs a command that names one node, or "all" for every
// connected node (resume all, heal all), answered once for all.
func (m *Model) adminOneOrAll(verb string, cmd pb.AdminCommand, args []string) tea.Cmd {
	switch {
	case len(args) != 1:
		m.setError("usage: %s ID, or %s all", verb, verb)
		return nil
	case strings.EqualFold(args[0], "all"):
		return m.adminAll(verb, &pb.AdminRequest{Command: cmd})
	}
	return m.simpleAdmin(verb, cmd, args)
}

// adminRow is the row of a command that names one node and nothing else.
func adminRow(name, syntax, desc string, cmd pb.AdminCommand) command {
	c := command{
		names:        []string{name},
		run:          func(m *Model, verb, _ string, args []string) tea.Cmd { return m.simpleAdmin(verb, cmd, args) },
		talksToNodes: true,
		complete:     completeNode,
	}
	if syntax != "" {
		c.help = [][2]string{{syntax, desc}}
	}
	return c
}

// memberRow is the row of a membership or leadership command that names
// one member, sent to the leader.
func memberRow(name, desc string, cmd pb.AdminCommand) command {
	return command{
		names:        []string{name},
		help:         [][2]string{{name + " ID", desc}},
		run:          func(m *Model, verb, _ string, args []string) tea.Cmd { return m.memberChange(verb, cmd, args) },
		talksToNodes: true,
		complete:     completeMember(name),
	}
}

func init() {
	commandTable = []command{
		{
			names: []string{"put"}, help: [][2]string{{"put KEY VALUE", "set KEY to the words after it, via the leader"}},
			run:          func(m *Model, _, rest string, _ []string) tea.Cmd { return m.put(rest) },
			talksToNodes: true, complete: completeKey, more: true,
		},
		{
			names: []string{"get"}, help: [][2]string{{"get KEY [@ID]", "read KEY via leader; @ID: node ID's stale copy"}},
			run:          func(m *Model, _, _ string, args []string) tea.Cmd { return m.get(args) },
			talksToNodes: true,
			complete: func(m *Model, arg int, _ []string) []string {
				switch arg {
				case 0:
					return m.keyPool()
				case 1:
					var at []string
					for _, id := range m.nodeIDs() {
						at = append(at, "@"+id)
					}
					return at
				}
				return nil
			},
		},
		{
			names: []string{"delete", "del"}, help: [][2]string{{"delete KEY", "remove KEY via the leader (also: del KEY)"}},
			run:          func(m *Model, verb, _ string, args []string) tea.Cmd { return m.del(verb, args) },
			talksToNodes: true, complete: completeKey,
		},
		adminRow("pause", "pause ID / resume ID", "stop / restart ID's timers, traffic; resume all", pb.AdminCommand_PAUSE),
		{
			names: []string{"resume"},
			run: func(m *Model, verb, _ string, args []string) tea.Cmd {
				return m.adminOneOrAll(verb, pb.AdminCommand_RESUME, args)
			},
			talksToNodes: true, complete: completeNodeOrAll,
		},
		adminRow("partition", "partition ID", "cut node ID off from every peer (timers run)", pb.AdminCommand_PARTITION),
		{
			names: []string{"isolate"}, help: [][2]string{{"isolate ID PEER…", "cut node ID off from the PEERs only"}},
			run:          func(m *Model, _, _ string, args []string) tea.Cmd { return m.isolate(args) },
			talksToNodes: true, more: true,
			complete: func(m *Model, _ int, fields []string) []string {
				// Any node not named yet: the one to isolate, then its peers.
				return slices.DeleteFunc(m.nodeIDs(), func(id string) bool { return slices.Contains(fields[1:], id) })
			},
		},
		{
			names: []string{"delay"}, help: [][2]string{{"delay ID DURATION", "hold node ID's outgoing Raft traffic (0 clears)"}},
			run:          func(m *Model, _, _ string, args []string) tea.Cmd { return m.delay(args) },
			talksToNodes: true, complete: completeNode, more: true,
		},
		{
			names: []string{"slow-disk"}, help: [][2]string{{"slow-disk ID DURATION", "stall each of node ID's disk syncs (0 clears)"}},
			run:          func(m *Model, _, _ string, args []string) tea.Cmd { return m.slowDisk(args) },
			talksToNodes: true, complete: completeNode, more: true,
		},
		{
			names: []string{"heal"}, help: [][2]string{
				{"heal ID", "clear node ID's network faults and disk stall"},
				{"heal all", "heal every connected node"},
			},
			run: func(m *Model, verb, _ string, args []string) tea.Cmd {
				return m.adminOneOrAll(verb, pb.AdminCommand_HEAL, args)
			},
			talksToNodes: true, complete: completeNodeOrAll,
		},
		{
			names: []string{"slow"}, help: [][2]string{
				{"slow N", "every node's time N× slower (slow 1: normal)"},
				{"timeout ID", "fire node ID's election timer now"},
				{"hold ID / release ID", "node ID never / again campaigns by itself"},
			},
			run:          func(m *Model, _, _ string, args []string) tea.Cmd { return m.slowAll(args) },
			talksToNodes: true,
			complete: func(_ *Model, arg int, _ []string) []string {
				if arg == 0 {
					return []string{"1", "5", "10", "20"}
				}
				return nil
			},
		},
		adminRow("timeout", "", "", pb.AdminCommand_FIRE_TIMER),
		adminRow("hold", "", "", pb.AdminCommand_HOLD_TIMER),
		adminRow("release", "", "", pb.AdminCommand_RELEASE_TIMER),
		{
			names: []string{"add"}, help: [][2]string{{"add ID ADDR [learner]", "add ID at ADDR; best: learner, then promote"}},
			run:          func(m *Model, _, _ string, args []string) tea.Cmd { return m.addMember(args) },
			talksToNodes: true, complete: completeMember("add"), more: true,
		},
		memberRow("promote", "make learner ID a voter once it caught up", pb.AdminCommand_MEMBER_PROMOTE),
		memberRow("remove", "take node ID out of the configuration", pb.AdminCommand_MEMBER_REMOVE),
		memberRow("transfer", "hand leadership to voter ID", pb.AdminCommand_TRANSFER_LEADER),
		{
			// Its help shares scenario's line: the overlay has no room left.
			names:        []string{"fill"},
			run:          func(m *Model, _, _ string, args []string) tea.Cmd { return m.fill(args) },
			talksToNodes: true, more: true,
		},
		{
			names: []string{"scenario"}, help: [][2]string{{"scenario · fill N", "guided scenarios (NAME runs one) · write N keys"}},
			run:  func(m *Model, _, _ string, args []string) tea.Cmd { return m.scenarioCmd(args) },
			bare: true, talksToNodes: true,
			complete: func(m *Model, arg int, _ []string) []string {
				if arg != 0 {
					return nil
				}
				return m.scenarioNames()
			},
		},
		{
			names: []string{"status"}, help: [][2]string{{"status [ID]", "one line per node (or ID), asked afresh"}},
			run:  func(m *Model, _, _ string, args []string) tea.Cmd { return m.statusCmd(args) },
			bare: true, complete: completeNode,
		},
		{
			names: []string{"clear"}, help: [][2]string{{"clear · help · quit", "empty events · this help (?) · leave (exit)"}},
			run:  func(m *Model, _, _ string, _ []string) tea.Cmd { m.clear(); return nil },
			bare: true,
		},
		{
			names: []string{"help"},
			run:   func(m *Model, _, _ string, _ []string) tea.Cmd { m.helpCmd(); return nil },
			bare:  true,
		},
		{
			names: []string{"quit", "exit"},
			run:   func(*Model, string, string, []string) tea.Cmd { return tea.Quit },
			bare:  true,
		},
	}
	commandsByName = map[string]*command{}
	for i := range commandTable {
		c := &commandTable[i]
		commandNames = append(commandNames, c.names[0])
		commandHelp = append(commandHelp, c.help...)
		for _, name := range c.names {
			if commandsByName[name] != nil {
				panic(fmt.Sprintf("tui: command %q in the table twice", name))
			}
			commandsByName[name] = c
		}
	}
}

// lookupCommand finds the row of a command by any of its names, in any
// case; nil when there is none.
func lookupCommand(word string) *command {
	return commandsByName[strings.ToLower(word)]
}

// helpCmd runs "help": the overlay opens, and piped mode prints the
// commands.
func (m *Model) helpCmd() {
	m.showHelp = true
	m.setStatus("help: esc or ? closes it")
	for _, c := range commandHelp {
		m.emit(fmt.Sprintf("%-*s  %s", commandHelpWidth(), c[0], c[1]))
	}
}
