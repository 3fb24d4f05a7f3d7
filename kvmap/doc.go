// Package kvmap is easykv's state machine: it applies committed put and
// delete commands in log order, keeps per-client sessions so that a retried
// write is applied once, and writes and reads snapshots of itself.
//
// # Determinism
//
// Every node of a cluster applies the same log, so every node must reach the
// same state and answer the same Result for every entry. Nothing in Apply
// reads a clock, draws a random number or depends on Go's map iteration
// order: sessions expire by log index, and a snapshot sorts its keys and
// sessions, so the same applied log gives byte-identical snapshots on every
// node. Options are part of that definition: all nodes of a cluster must use
// the same SessionTTL.
//
// # Digest
//
// Map.Digest summarises the keys and values, and nothing else, in 16 hex
// digits, so that nodes can check they hold the same state: two nodes that
// applied the same index must report the same digest. It is the sum, mod
// 2^64, of a hash of every pair (XXH64 of the pair's length-prefixed
// encoding: the same in every process and on every platform, unlike
// hash/maphash). A sum does not
// depend on the order pairs were written in, and Apply keeps it up to date
// in O(1) per entry: a put hashes its new pair once, straight from the
// entry's bytes, and each slot keeps its pair's hash so that a delete or
// overwrite subtracts the old one without hashing it again. Reading it
// costs nothing but formatting. Clone copies it; ReadSnapshot recomputes
// it while reading the pairs; sessions, the applied index, no-ops and the
// configuration do not enter it. An empty map's digest is 16 zeros.
//
// # Configuration
//
// The map also holds the cluster configuration as of its applied index, an
// opaque blob (the Raft core's encoding of the members) set by ApplyConfig
// for a configuration entry, or by SetConfig for the initial one. Snapshots
// carry it, so a node restored from a snapshot knows its members (Raft
// thesis: the configuration is part of the snapshot).
//
// # Sessions
//
// A client that sets Command.ClientID issues one write at a time, numbered
// by Command.Seq from 1. The map remembers, per client, only the last Seq it
// applied and that write's result. A retry of that Seq is not applied again
// and answers the original result (Result.Duplicate); an older Seq is a late
// retry and is ignored (Result.Stale). A session unused for SessionTTL log
// indexes is forgotten, which bounds memory; the price is that a retry
// arriving after its session expired is applied a second time. Clients must
// therefore give up retrying well within SessionTTL entries.
//
// # Concurrency
//
// A Map is not safe for concurrent use. The Raft runtime owns it from one
// goroutine and serializes Apply, Get and snapshots with its own lock. To
// write a snapshot without holding up Apply, take a Clone (a few
// milliseconds for 100,000 keys: keys and values are shared, not copied)
// and write the clone from another goroutine.
package kvmap
