// Package raftnode is easykv's Raft runtime: Node, the server that runs
// the pure core of package raftnode/raft over a real disk, a real network
// and a real clock. The algorithm, the Ready contract ("The Ready
// contract"), epochs ("Stale reports") and restart repair ("Restarting")
// are documented in that package; this one carries the contract out.
//
// # The loop
//
// Node.Run is the only goroutine that touches the core (raft.Raft), the
// state machine (kvmap.Map) and the pending client requests. It turns a
// ticker into Tick (ten core ticks per heartbeat), peer messages into
// Step, client writes into Propose and linearizable reads into ReadIndex,
// and, whenever the core has a Ready, takes it and:
//
//  1. sends at once the messages raft.MayLeaveEarly lets go (a leader's
//     MsgApps, so that its followers write while it does);
//  2. hands the writes and the other messages to the persister as one
//     raft.WriteJob;
//  3. applies the committed entries to the state machine and answers the
//     writes that wait for them;
//  4. answers reads once applied up to their index, and the reads the
//     core dropped with NOT_LEADER;
//  5. logs the events and publishes them to watchers;
//  6. calls Advance.
//
// A paused node still persists and applies, but sends nothing.
//
// When a write completes, the loop reports it with StableTo. If the core
// takes the report, the loop shows the write's entries through the core's
// raft.LogStorage (coreLog); if not, it hides them (raft's "Stale
// reports").
//
// # The persister
//
// The persister (persister.go) writes in the background, in order, from a
// raft.WriteQueue: everything queued while one write runs shares the next
// fsync (group commit), never across a truncation. A write cuts off and
// appends to the segment log and syncs it (coreLog, corelog.go),
// then saves the hard state when the term or vote changed (the commit
// index rides along as a restart hint), then sends the messages that
// waited for it. A failed write stops the node for good (ErrStorage): it
// never retries a failed fsync.
//
// # Around the loop
//
// Node itself is the loop and the Ready contract (node.go); each other
// responsibility has a part of its own, reached from the loop:
//
//   - kvService (kvservice.go) serves clients: it proposes writes and asks
//     for read indexes, applies committed entries to the state machine and
//     answers each pending request once its outcome is known;
//   - publisher (publisher.go) keeps the latest statusView, which Status
//     reads from any goroutine (node_status.go), hands watch events to
//     subscribers and counts Raft traffic for MESSAGES events (traffic.go);
//   - snapshotter (node_snapshot.go) saves copies of the state machine in
//     the background;
//   - faultSet (faults.go) holds the injected faults, network (netlink.Faults,
//     shared with the transport and server) and disk (diskStall, which the
//     persister waits on); admin fault commands go there without passing
//     through the loop, which only takes pause and resume.
//
// NewNode restores the hard state and the newest state-machine snapshot,
// clamps the saved commit index to the log and builds the core, with
// pre-vote and check-quorum on, from the snapshot's applied index; the
// core then hands out the committed entries after it. wire.go converts
// core messages to and from the netlink envelope. The runtime reaches the
// network only through Transport, the log only through LogStore and the
// hard state only through HardStateStore, so that its tests can run on an
// in-memory log.
package raftnode
