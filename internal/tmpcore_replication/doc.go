// Package raftnode is easykv's Raft: a pure, deterministic core (Raft) and
// the runtime around it (Node).
//
// # The core
//
// Raft implements the Raft consensus algorithm (Ongaro and Ousterhout, "In
// Search of an Understandable Consensus Algorithm", Figure 2) with pre-vote
// and check-quorum from Ongaro's thesis (§9.6, §6.2, §4.2.3), as a state
// machine that does no I/O: no sockets, files, clocks, goroutines or global
// randomness. Time enters only through Tick, messages only through Step,
// randomness only through Config.Rand; everything the caller must do comes
// out of Ready. Tests therefore drive several cores through a simulated
// network and get the same run for the same seed.
//
// A core starts as a follower. A follower or candidate whose election timer
// (drawn from [T, 2T) ticks each time it is reset) runs out first asks for
// pre-votes, without touching its term or vote; only when a quorum says it
// would vote does it raise its term, vote for itself and ask for real votes.
// A leader sends an empty MsgApp every HeartbeatTicks and, with
// CheckQuorum, steps down when a quorum has not answered within an election
// timeout. A follower that heard from its leader within an election timeout
// refuses (pre-)votes for later terms without raising its own (the lease),
// so a node that was cut off cannot unseat a healthy leader when it returns.
//
// This version elects leaders; the log is kept (Config.Entries restores it,
// and elections compare logs by last term, then last index, §5.4.1) but not
// yet replicated: MsgApp carries no entries.
//
// # The Ready contract
//
// The caller owns a core and calls Tick, Step, Ready and Advance from one
// goroutine. Whenever HasReady reports true, it takes rd := Ready() and, in
// this order:
//
//  1. If rd.MustSync, writes rd.HardState to stable storage and waits until
//     it is durable (fsync). Term and vote must be durable before any
//     message that depends on them leaves the node: a vote granted, then
//     forgotten in a crash, could elect two leaders in one term. A
//     non-empty HardState with MustSync false differs only in Commit, which
//     may be written lazily or not at all.
//  2. Sends rd.Messages, each to the node named in its To field. Sending is
//     best effort: a message may be dropped, delayed or reordered; Raft
//     tolerates all three.
//  3. Hands rd.Events, in order, to whoever watches the node. Events never
//     drive the algorithm; losing them is safe.
//  4. Calls Advance, which tells the core that steps 1 to 3 are done.
//
// Tick and Step may be called between Ready and Advance; what they produce
// waits for the next Ready. If the caller stops before Advance (a crash), it
// restarts with New from the hard state it last made durable.
//
// Step returns an error, wrapping ErrUnknownPeer, ErrWrongRecipient or
// ErrInvalidMessage, for a message no correct peer can send; the message is
// dropped and the core is unchanged. Stale messages (from older terms or
// earlier roles) are not errors: they are answered if the sender needs to
// learn the current term, and dropped otherwise.
package raftnode
