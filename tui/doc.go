// Package tui is easykv's live dashboard: a Bubble Tea program that keeps one
// connection to every node of a cluster and shows Raft at work on it.
//
// The screen, top to bottom: a header telling the story (cluster, nodes up,
// down and paused, leader and term, commit index, time since the election,
// a sparkline of commits per second); a card per node with its role (a word
// and a glyph, so it reads without colour), term, vote, leader, a draining
// election timer, its indexes, a candidate's vote tally (● granted, ○
// waiting, ✗ denied per node), the leader's view of each follower and a
// heartbeat pulse, its newest snapshot ("snap 1200@3") and any snapshot
// it sends or receives ("⇡ snapshot → n3 3.1/12 MiB 40 MiB/s", "⇣
// snapshot 3.1/12 MiB 40 MiB/s from n1"; a leader's peer being sent one
// says "⇡ snapshot"), and the tail of its log (committed entries ✓, the
// rest ·); a RaftScope-like log view, one row per node, entries aligned by
// index and showing their terms, the entries a node compacted away (those
// before its first_index) drawn as one cell, "≤1200 snap", with the
// leader's match (^) and next (>) markers under each follower; the traffic
// pane, the Raft messages the nodes report (MESSAGES events) summed over
// the last two seconds ("n1 → n3 AppendEntries ×12 entries", "n3 → n1 ok
// match=57", "n1 → n3 InstallSnapshot 3/12 MiB"); in slow motion, the
// messages in flight, each a glyph travelling on a lane from its sender's
// card to its receiver's (inflight.go, lanes.go), or a list where lanes do
// not fit; the event pane, where a
// follower that lost entries it had acknowledged (LOST_ENTRIES) is drawn in
// the warning style; and a prompt. Seven nodes fit an 80×24 terminal as
// one line each (a snapshot under way is a short mark there, "⇡snap→n3
// 26%", "⇣snap 26%"); a large terminal gets every pane. Layout is in
// layout.go and view.go; the snapshot marks and sizes in snapshot.go.
//
// The cards follow the cluster's configuration as the nodes report it
// (membership.go), not only cluster.yaml's initial list: a member the
// dashboard does not know gets a connection and a card, a learner's card
// says "◇ learner", a node the leader's configuration leaves out says
// "⊘ removed" in a dimmed frame until it is unreachable, when its card
// closes, and a leader handing over leadership says "→ n2". The event pane
// narrates each change: proposed, in a node's log, committed, rolled back,
// a transfer started or given up, TimeoutNow received.
//
// A guided scenario (scene.go, scenechecks.go, narrator.go; the format in
// package scenario) runs in slow motion with a narrator pane in the
// traffic pane's place: each step's words, its commands sent through the
// prompt's own execute, and its checks, ✓ or ✗, judged live from the
// nodes' statuses and events.
//
// The prompt takes put, get, delete, fill, pause, resume, partition,
// isolate, delay, slow-disk, heal, slow, timeout, hold, release, scenario,
// add, promote, remove and transfer (these four sent to the leader,
// membercmd.go), status, clear, help and quit, keeps
// its history across runs (history.go), and completes commands, node
// ids, members and keys with tab (complete.go). Puts, deletes and reads go to the node the dashboard
// believes leads (a read can name a node instead: "get user:1 @n2" reads
// its own copy, which may be stale). From there a netlink.ClusterClient
// over the dashboard's own connections runs them: it follows NOT_LEADER
// hints and retries by netlink's one policy, and a write carries the
// dashboard's session id ([Options.ClientID]) and a sequence number that
// its retries keep, so the cluster applies it once. With stdin not a terminal, [RunScript] runs the same commands line
// by line and prints each result plainly.
//
// A [Recorder] wraps the [DialFunc] and writes everything the nodes send,
// with its time, as JSON lines; a [Replay] feeds such a recording to the
// same Model against a replay clock, with pause, step, speed and seek.
//
// The model never touches a socket itself. Every dial, stream read, admin
// call and key-value request runs inside a tea.Cmd, through the injected
// [DialFunc] and the [NodeConn] it returns, and time comes from an injected
// clock, so tests drive the model with fakes and get the same frame every
// run.
//
// Drawing stays cheap however busy the cluster is: styles are built once
// (styles.go), stream events are coalesced into one message per read of a
// node's channel, a 15 Hz tick moves the timers between status updates,
// and with [Options.SteadyFrames] a frame is drawn only for that tick, a
// key or an answer, not for every message a node streams.
package tui
