// Package tui is easykv's live dashboard: a Bubble Tea program that keeps one
// connection to every node of a cluster and draws, for each, a card with its
// role, term, vote, leader, a draining election timer, its log indexes and
// the tail of its log (committed entries marked ✓, the rest ·), an event pane
// fed by the nodes' watch streams, and a prompt for commands such as
// "put user:1 alice", "get user:1" or "pause n2".
//
// Network faults are set from the prompt too: "partition n1" cuts a node
// off from every peer, "isolate n1 n2" from the peers named, "delay n1
// 200ms" holds its outgoing Raft messages, and "heal n1" undoes them all.
// The node keeps its timers and its clients, so the dashboard watches it
// time out and the others elect a leader without it. A card marks its
// node's faults in words ("✂ PARTITIONED", "✂ isolated from n2", "⏱ +200ms")
// and the event pane shows each change as the node words it.
//
// Puts, deletes and reads go to the node the dashboard believes leads (a
// read can name a node instead: "get user:1 @n2" reads its own copy, which
// may be stale), follow NOT_LEADER hints for a few hops, and are shown on the
// status line and in the event pane. Writes carry the dashboard's session id
// ([Options.ClientID]) and a sequence number that a redirected write keeps,
// so the cluster applies it once.
//
// The model never touches a socket itself. Every dial, stream read, admin
// call and key-value request runs inside a tea.Cmd, through the injected
// [DialFunc] and the [NodeConn] it returns, and time comes from an injected
// clock, so tests drive the model with fakes and get the same frame every
// run.
//
// The screen is redrawn at a steady rate however busy the cluster is: stream
// events are coalesced into one message per read of a node's channel, and a
// 15 Hz tick moves the election timers between status updates.
package tui
