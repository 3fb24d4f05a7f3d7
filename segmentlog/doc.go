// Package segmentlog is easykv's durable storage: the Raft hard state (current
// term, vote, commit index) and, with log replication, the write-ahead log of
// entries in mmap'd segment files.
//
// Everything here is durable when a call returns: the Raft runtime relies on
// it to never answer an RPC before the state that answer depends on is on disk.
package segmentlog
