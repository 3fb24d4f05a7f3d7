// Command benchrun is `make bench`: it starts an easykv cluster from bin/
// in a fresh temporary directory (heartbeat 100ms, election timeout 1s, the
// defaults of etcd), runs easykv-ctl bench with 8-byte keys, 256-byte values
// and a 100,000-key space (put with 1 and 64 clients, linearizable get with
// 64), and times failover: SIGSTOP the leader, and measure until another
// node reports itself leader. When ../shared/bench/etcd-peer.sh is present
// it does the same to an etcd of as many members (ETCD_PEER_MEMBERS) in the
// same run, through etcd's own benchmark tool, and prints a table of both
// with the ratios. Each workload's first figure is its CPU per operation
// (cpu.go): the nodes' or members' utime+stime from /proc/<pid>/stat read
// right before and after it, plus the load generator's rusage, divided by
// the successful operations, and shown by kind of process (leader,
// followers, load generator) in a second table. Last, it runs
// easykv-tui in a 160×50 pseudo-terminal watching the easykv cluster, its
// output parsed by a terminal emulator as a terminal window would (no tmux
// needed), and reports the dashboard's CPU use from /proc, idle and under
// the 64-client put load. On 3 nodes it then times leadership transfer
// (TRANSFER_LEADER to a follower, until the new leader acknowledges a put;
// compared with the failover median) and the longest write pause of a
// rolling restart of every node under one writing client, once with
// SIGTERM (a leader hands over first) and once with kill -9 (membership.go).
// --only membership runs just those and the failover trials on a fresh
// 3-node cluster.
//
// The snapshot section (snapshots.go) then measures log compaction and
// InstallSnapshot on 3-node clusters: each node's data-dir size every N
// puts over 20×N puts of a 2,000-key space (snapshot_entries N = 10,000,
// 1 MiB segments), a follower's restart time after 10×N puts with
// snapshots and without, the catch-up of a follower that was down while
// 2,000,000 puts filled a 1,000,000-key space (time, snapshot size,
// transfer rate), the leader's put throughput without a transfer and while
// it streams a snapshot to a restarted follower, and the VmHWM of sender
// and receiver. --quick shrinks it (N = 1,000; 50,000 keys). It reports
// figures and asserts none.
//
// The scale section (scale.go, --only scale) runs on 3 nodes against 3
// etcd members: CPU per put with 1, 64 and 256 clients; puts of 1 KiB and
// 16 KiB values with 64 clients, in MB/s; and, on fresh clusters, the
// resident memory per key after writing 1,000,000 distinct keys (VmRSS of
// each node or member after less before, divided by the keys). --quick
// shrinks it to 20,000 keys and small totals.
//
//	go run ./tools/benchrun [--nodes 3,5] [--no-etcd] [--quick] [--trials 9] [--only clusters|membership|snapshots|scale] [--out FILE]
//
// The report goes to stdout and to --out (bench-results/bench-<time>.txt by
// default); progress goes to stderr. Every process it starts is stopped on
// exit, on error and on SIGINT or SIGTERM, and none is left SIGSTOPped.
package main
