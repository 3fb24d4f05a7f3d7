// Package scenario reads guided scenarios: the classic situations of the
// Raft paper, produced on a real cluster by the dashboard's own commands,
// narrated step by step and checked as they happen. A scenario is data,
// one YAML file each, so that a teacher can write one without Go; the
// built-in ones are embedded from builtin/, and easykv-tui
// --scenarios DIR adds (or replaces, by name) those in DIR.
//
// # Format
//
// The file's name, without .yaml, is the scenario's name. Its fields:
//
//	title: Split vote                  # a line for the list
//	summary: Two timers fire together… # a sentence or two for the list
//	nodes: 3                           # the fewest voters it needs (default 3)
//	slow: 10                           # slow-motion factor while it runs (default 10)
//	steps:                             # in order; n (or space) goes to the next
//	  - say: What is about to happen.
//	    why: The rule that makes it happen.
//	    paper: §5.2                    # where the paper says so
//	    look: What to watch on the screen.
//	    bind:                          # names for what the cluster is now
//	      old: leader                  # the node that leads now
//	      a: follower                  # the next voter that follows, in the cluster's order
//	      t: term                      # the leader's term, a number
//	      n: last {old}                # {old}'s last log index
//	      e: next {old}                # the index {old}'s next entry will have
//	    do:                            # prompt commands, {name} replaced
//	      - pause {old}
//	    expect:                        # checks, each shown ✓ or ✗ as it resolves
//	      - leader-not {old}
//	      - always term-unchanged {t}
//
// Write bind, do and expect as block collections, one item a line, as
// above: inside [ ] or { } a {name} would read as a YAML mapping.
//
// A bind value is leader, follower, term, term {x} (node x's term),
// last or last {x} (the leader's, or x's, last log index), next or next
// {x} (one past it), addr {x} (x's address, for add). Names are bound
// once, in the step that names them, and any later step may use them;
// each step's bindings are taken before its commands run.
//
// A check passes the moment it holds and fails if it has not held within
// the step's time (wait: a duration, "30s", or a number of the cluster's
// slowed election timeouts, "2 timeouts"; by default six timeouts). A
// step's commands are sent together: one that must follow another goes
// in the next step. Prefixed with "always", it must instead
// hold from the moment the step's commands are sent until that time
// passes, and fails the moment it does not. The checks are listed in
// Checks. When a step's checks have all resolved, piped mode goes on to
// the next step; the dashboard waits for n.
package scenario
