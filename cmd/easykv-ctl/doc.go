// Command easykv-ctl is the scriptable client of an easykv cluster: it reads
// cluster.yaml, talks to the nodes over netlink and prints a table for people
// or JSON (-o json) for scripts.
//
//	easykv-ctl --cluster cluster.yaml status
//	easykv-ctl --cluster cluster.yaml status -o json
//	easykv-ctl --cluster cluster.yaml health [-o json]      # exit 3: no leader; 1: a node unhealthy
//	easykv-ctl --cluster cluster.yaml snapshot save backup.db
//	easykv-ctl --cluster cluster.yaml snapshot status backup.db [-o json]
//	easykv-ctl --cluster cluster.yaml pause n1
//	easykv-ctl --cluster cluster.yaml resume n1
//	easykv-ctl --cluster cluster.yaml partition n1           # n1 drops Raft traffic to and from every peer
//	easykv-ctl --cluster cluster.yaml isolate n1 n2 n3       # ... to and from n2 and n3 only
//	easykv-ctl --cluster cluster.yaml delay n1 200ms         # n1's outgoing Raft traffic waits 200ms (0 clears)
//	easykv-ctl --cluster cluster.yaml slow-disk n1 1500ms    # each of n1's disk syncs waits 1.5s first (0 clears)
//	easykv-ctl --cluster cluster.yaml heal n1                # undo partition, isolate, delay and slow-disk
//	easykv-ctl --cluster cluster.yaml put user:1 alice     # prints OK
//	easykv-ctl --cluster cluster.yaml get user:1           # prints alice
//	easykv-ctl --cluster cluster.yaml get user:1 --stale   # from any node, maybe out of date
//	easykv-ctl --cluster cluster.yaml get --stale --node n3 user:1   # n3's own copy, however far behind
//	easykv-ctl --cluster cluster.yaml delete user:1        # prints OK
//	easykv-ctl --cluster cluster.yaml bench put --clients 16 --total 100000 --value-size 128 --key-space 10000
//	easykv-ctl --cluster cluster.yaml bench get --clients 16 --total 100000 -o json
//	easykv-ctl --cluster cluster.yaml member list [-o json]
//	easykv-ctl --cluster cluster.yaml member add n4 127.0.0.1:7004 --learner
//	easykv-ctl --cluster cluster.yaml member promote n4
//	easykv-ctl --cluster cluster.yaml member remove n3
//	easykv-ctl --cluster cluster.yaml transfer n2
//
// Members change: cluster.yaml's nodes are only the first configuration.
// member add, promote, remove and transfer go to the leader wherever it is
// (netlink.LeaderAdmin follows the nodes' leader hints, to a node the file
// does not list too) and print one line once the change is committed (a
// transfer: once the target leads); the recommended way to add a member is
// as a learner, then promote it once it has caught up. A refused change
// exits 1 with the leader's reason. member list prints the leader's
// configuration (ID, ADDR, ROLE voter or learner, REACHABLE, LEADER; -o json:
// id, addr, voter, reachable). status and bench ask cluster.yaml's nodes,
// then the members those report that the file does not list; status shows
// what each node is in the leader's configuration in MEMBER (voter,
// learner, or removed for a node of the file no longer a member; "member"
// in -o json).
//
// put, get and delete go through netlink.ClusterClient: it finds the
// leader, follows redirects and retries until --timeout, sending a write
// with the same session id and sequence every time so that it is applied
// once. get is linearizable unless --stale. get --stale --node ID sends one
// stale read to node ID alone, over its own connection, never redirected
// nor retried elsewhere: what that node has applied, however far behind
// (an unknown ID exits 2; a paused or unreachable node exits 3). get of a
// missing key prints nothing on stdout (found=false with -o json), a note
// on stderr, and exits 1; delete of a missing key is not an error (deleted=false with -o json).
//
// partition, isolate and delay inject network faults into one node, for
// watching the cluster cope: the node keeps serving clients and its timers
// keep running, only its Raft traffic suffers. slow-disk makes the node's
// disk slow instead: each sync of log entries or hard state waits the
// given time before it runs, so the node acknowledges writes late. isolate
// adds to the peers already isolated; heal clears every fault, the disk
// stall included. status shows them in a FAULTS column ("partitioned",
// "isolated n2,n3", "delay 200ms", "disk stall 1.5s", "-") and, with -o
// json, as partitioned, isolated_from, delay_ms and disk_stall_ms.
//
// status shows each node's log compaction too: SNAP is the newest snapshot
// as INDEX@TERM ("-" without one) and FIRST the first index still in the
// log, the entries before it compacted into the snapshot ("-" from a node
// too old to report it); -o json has snapshot_index, snapshot_term,
// first_index, and snapshot_transfers (peer, sending, snapshot_index,
// bytes_done, total_bytes, bytes_per_second) while an InstallSnapshot is
// under way on the node, the key left out otherwise.
//
// status also shows each node's state digest, a hex digest of its keys and
// values as of its applied index (kvmap.Map.Digest): nodes that applied the
// same index must show the same digest. The table's DIGEST column shows its
// first 8 characters; -o json has it whole in state_digest, "" from a node
// too old to report one.
//
// health asks every node, as status does, and prints one line per node:
// healthy when it answers, follows a leader, is not paused and is a member,
// else why not (-o json: id, addr, healthy, leader, term, applied_index,
// commit_index, reason). It exits 3 when no node reports a leader, 1 when
// some node is unhealthy.
//
// snapshot save FILE streams a copy of the leader's state machine into
// FILE.part, syncs it, reads it back and renames it to FILE; snapshot
// status FILE checks a saved file whole and prints index, term, keys, bytes
// and checksum (the same JSON keys), exiting 1 for a damaged file.
// easykv-node restore prepares a new node's data directory from one.
//
// With cluster.yaml's tls section every connection is mutual TLS 1.3,
// presenting the section's cert_file (tlsconf).
//
// bench runs --total operations from --clients workers, each with its own
// ClusterClient and so its own session, as separate processes would. Keys
// are --key-size digit zero-padded numbers drawn from [0, --key-space) by a
// generator seeded with the worker's number, so runs repeat; put values are
// --value-size random letters and digits. bench get does not fill the store
// first: reads of missing keys count as successes, so run bench put first to
// read real values. --timeout bounds each operation, not the run; a failed
// operation is counted in errors and the run goes on, a rejected one (bad
// token, say) stops it. Latency figures (avg, p50, p99, p99.9 in ms,
// nearest-rank) and ops/s cover successful operations. With -o json the
// last line of stdout is one JSON object:
//
//	{"op","clients","total","errors","ops_per_sec","avg_ms","p50_ms","p99_ms","p999_ms"}
//
// When stderr is a terminal a progress bar is drawn there, at most ten
// times a second, and erased at the end.
//
// Exit status: 0 success; 1 a node refused the command, or get found no such
// key, or bench was interrupted; 2 usage or configuration error (one line on
// stderr); 3 the node(s) could not be reached, or no leader answered before
// --timeout — for put and delete the write may or may not have been applied
// then, and the message says which when it is known; bench exits 3 only when
// every operation failed.
//
// With -o json an error is also JSON: one line on stderr,
// {"error": "…", "code": "failed"|"not_found"|"usage"|"unreachable", "exit": N}.
// "easykv-ctl help" prints the usage, "easykv-ctl help COMMAND" a
// command's, as -h does.
//
// Commands live in a table (commands.go); each one is a function of an
// invocation, so adding one is a new file and a new row.
package main
