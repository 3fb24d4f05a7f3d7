// Package tui is easykv's live dashboard: a Bubble Tea program that keeps one
// connection to every node of a cluster and draws, for each, a card with its
// role, term, vote, leader, a draining election timer and its log indexes, an
// event pane fed by the nodes' watch streams, and a prompt for commands such
// as "pause n2".
//
// The model never touches a socket itself. Every dial, stream read and admin
// call runs inside a tea.Cmd, through the injected [DialFunc] and the
// [NodeConn] it returns, and time comes from an injected clock, so tests drive
// the model with fakes and get the same frame every run.
//
// The screen is redrawn at a steady rate however busy the cluster is: stream
// events are coalesced into one message per read of a node's channel, and a
// 15 Hz tick moves the election timers between status updates.
package tui
