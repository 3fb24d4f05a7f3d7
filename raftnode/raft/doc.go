// Package raft is easykv's Raft core: a pure, deterministic state machine
// (Raft) that imports only the standard library. Package raftnode is the
// runtime around it (raftnode.Node: the loop, the disk, the network).
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
// A leader appends a no-op of its term as soon as it is elected (§8), takes
// proposals (Propose) and replicates its log (§5.3). It tracks each
// follower's progress: in probe state it sends one MsgApp at a time until
// it finds where the follower's log matches its own, skipping a whole term
// per refusal with the follower's conflict hints; in replicate state it
// streams MsgApps of up to MaxMsgBytes of entries, up to MaxInflight of
// them unacknowledged. A follower appends after a matching prefix and
// replaces a conflicting suffix from the first conflict only. The leader
// commits the highest index a quorum stores, counting its own log, but only
// if that entry is of its own term (§5.4.2, Figure 8); committed entries
// come out of Ready once each, in order. The leader's own log counts only
// as far as the caller has made it durable (StableTo), since its MsgApps may
// leave before that (see the Ready contract). ReadIndex serves linearizable
// reads (thesis §6.4): once the leader has committed in its term, the
// commit index becomes the read index as soon as a quorum answers a
// heartbeat round sent at or after the request; one round is out at a
// time, and the requests made while it is out share the next.
//
// The log is the caller's LogStorage (durable entries, read only by the core)
// followed by the entries the core holds until the caller reports them
// durable (StableTo). Elections compare these logs by last term, then last index
// (§5.4.1).
//
// # Compaction and InstallSnapshot
//
// The caller may compact its log (thesis chapter 5; InstallSnapshot is
// its Figure 5.3) at any time between calls: it snapshots its state
// machine at an applied index, names that snapshot in
// LogStorage.Snapshot, and removes entries before it (usually keeping a
// margin), so that LogStorage.FirstIndex rises; Term works at
// FirstIndex()-1. A leader whose follower needs entries before its first
// index hands out a MsgSnap naming its newest snapshot, and sends that
// follower no entries until the runtime reports how the send ended
// (ReportSnapshot; a failure is retried from the next heartbeat answer)
// or the follower acknowledges the snapshot's index. Heartbeats to a
// follower whose Match is compacted are sent at the empty prefix. The
// runtime streams the snapshot's data and, on the follower, steps the
// MsgSnap only once the data is durable there. The follower ignores a
// snapshot its commit index covers; if its log holds the snapshot's last
// entry it commits up to it and keeps the entries after it; otherwise
// the snapshot replaces its whole log and state machine (Ready.Snapshot,
// below). Either way it answers with a MsgAppResp for the snapshot's
// index, once the install is durable. A leader whose follower refuses its
// beats at Match for a whole check-quorum round, its log ending below the
// Match it acknowledged (its data was wiped), emits EventLostEntries once
// and sends the entries again; a single such refusal may be one sent
// before the acknowledgement and overtaken by it, so it waits.
//
// # The Ready contract
//
// The caller owns a core and calls Tick, Step, Propose, ReadIndex, Ready,
// Advance and StableTo from one goroutine. Whenever HasReady reports true,
// it takes rd := Ready() and:
//
//  1. If rd.Snapshot is not empty, installs it first, as part of this
//     Ready's write: replaces the state machine by the snapshot's data
//     (received and durable before the MsgSnap was stepped) and the log
//     by an empty one after rd.Snapshot.Index (its Term at that index),
//     then goes on with rd.Entries, which follow the snapshot. rd.Mark
//     covers the install (it names the snapshot when there are no
//     entries), so StableTo reports it; until then the core reads nothing
//     from LogStorage and hands out no CommittedEntries, and from Advance
//     on its applied index is the snapshot's. A crash before the install
//     is durable leaves the old log and state machine, which is safe: the
//     node simply has not taken the snapshot. An install whose report
//     StableTo does not take (a newer snapshot or truncation came after
//     it) is harmless: the core reads nothing from LogStorage until a
//     later write's report is taken. Then it
//     persists rd.Entries, first cutting off the log from
//     rd.Entries[0].Index if it reaches that far (the entries replace a
//     conflicting suffix), then rd.HardState when not empty, making both
//     durable (fsync) when rd.MustSync. It may do so in the background,
//     while it goes on with the steps below and with later Readys, as long
//     as the writes of successive Readys happen in order (writes queued
//     together may share one fsync). Once rd.Entries are durable, it calls
//     StableTo(rd.Mark). If StableTo takes the report, the caller shows
//     those entries through LogStorage before it calls the core again; if
//     not, it must not show them (see "Stale reports" below). Term, vote and
//     entries must be durable before any message that depends on them
//     leaves the node: a vote granted, then forgotten in a crash, could
//     elect two leaders in one term; an entry acknowledged, then lost,
//     could be counted towards a commit that no longer holds. A non-empty
//     HardState with MustSync false differs only in Commit, which may be
//     written lazily or not at all.
//  2. Sends rd.Messages, each to the node named in its To field, once
//     this Ready's writes (and so every earlier Ready's) are durable.
//     Sending is best effort: a message may be dropped, delayed or
//     reordered; Raft tolerates all three. One kind may leave at once,
//     before or while its Ready is written: a MsgApp (only a leader sends
//     one) whose Term is at most the term already durable, so that the
//     leader's disk write and its followers' overlap (thesis §10.2.1).
//     That is safe because a MsgApp depends on nothing else the Ready
//     writes: its term was durable before the election that made the node
//     leader, and the core counts the leader's own copy of an entry
//     towards a commit only once StableTo has reported it durable. A
//     leader that crashes before its write completes may leave followers
//     holding entries it lost, exactly as if it had crashed just after
//     sending them; no entry it lost was counted. Everything else waits:
//     a MsgAppResp acknowledges entries that must be on disk, and a vote
//     or its request depends on the durable term and vote.
//  3. Applies rd.CommittedEntries to the state machine, in order. They are
//     durable on this node already (a node may know entries committed on
//     a quorum before its own copies are durable; they come out once they
//     are), and bounded per Ready (MaxMsgBytes): a long backlog comes in
//     several.
//  4. Answers reads: each of rd.ReadStates once the state machine has
//     applied its Index, and each ctx in rd.DroppedReads with an error
//     (leadership was lost; the client may retry elsewhere).
//  5. Hands rd.Events, in order, to whoever watches the node. Events never
//     drive the algorithm; losing them is safe.
//  6. Calls Advance once steps 2 to 5 are done or, for messages and
//     writes, handed to whatever carries them out. The next Ready hands
//     out only what came since: entries not handed out yet, new messages,
//     new committed entries.
//
// StableTo may come at any time, also between Ready and Advance; on a
// leader the next Ready counts the entries it made durable towards a
// commit (its own copies now count). Tick, Step, Propose and ReadIndex may
// be called between Ready and Advance; what they produce waits for the
// next Ready. A caller that persists synchronously simply persists, calls
// StableTo, sends, applies and advances.
//
// # Stale reports
//
// Writes complete in order, but late: while one is being synced, a
// follower may hear from two new leaders, each replacing the entries the
// last one sent. A report about the first write can then name an entry
// that is back in the log — the same index and term — while a write
// still queued will overwrite it on disk with something else before the
// last one puts it back. Taking such a report would let the core read
// that index from LogStorage in between, and apply an entry that was never
// committed. So every truncation that replaces entries already handed out
// starts a new epoch of the log, each Ready.Mark names the epoch its
// entries were handed out in, and StableTo ignores a mark from an earlier
// epoch, however its index and term compare. Nothing is lost: the writes
// queued after the truncation cover every entry the stale write did, and
// their report, taken, makes all of them durable at once. A snapshot that
// replaces the log starts a new epoch too, so reports of writes handed
// out before it, and of a snapshot replaced by a newer one before it was
// durable, are stale. Until then the
// core reads those indexes from its unstable entries, never from LogStorage,
// which is why the caller must not show a write the core did not take.
//
// # Shared with the caller
//
// Two pieces of the contract are code, so that the runtime and the
// simulator in this package's tests carry it out the same way:
// MayLeaveEarly decides which messages of a Ready may leave before its
// writes are durable (step 2), and WriteQueue queues the writes of
// successive Readys in order, merging them into group commits but never
// across a truncation or into a Ready that installs a snapshot (steps 1
// and 2; see "Stale reports"); later Readys may merge into that one
// (WriteJob.Snapshot, then its entries).
//
// # Restarting
//
// If the caller stops (a crash), it restarts with New from its durable
// log (Config.Log), the hard state it last made durable, and the
// index its state machine had applied (Config.Applied, 0 if the state
// machine is rebuilt from the log; after a compaction, at least
// FirstIndex()-1: a state machine restored from its snapshot).
//
// The runtime (package raftnode) syncs a write's entries before its hard
// state, so a crash between the two leaves entries of a term the saved
// hard state has not reached (a follower that takes a new leader's first
// MsgApp writes the term change and that leader's entries in one job; a
// single node that elects itself writes its vote and its no-op). New
// repairs this: the term becomes the last entry's, with no vote. That is
// safe because the hard state is saved before any message that depends on
// it leaves, and saved terms only grow: no vote for that term was durable,
// so none was sent, and the node may vote in it as if it never had. Saving
// the hard state first instead would be wrong: its commit index could then
// name entries that the same write is about to replace, which a restart
// would apply. The repaired hard state goes out in the first Ready, and is
// saved before anything is sent in that term.
//
// Step returns an error, wrapping ErrWrongRecipient or
// ErrInvalidMessage, for a message no correct peer can send; the message is
// dropped and the core is unchanged. Stale messages (from older terms or
// earlier roles) are not errors: they are answered if the sender needs to
// learn the current term, and dropped otherwise. Propose and ReadIndex
// return an error wrapping ErrNotLeader on any node but the leader.
package raft
