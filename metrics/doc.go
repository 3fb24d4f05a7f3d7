// Package metrics serves what an operator scrapes and probes on one node,
// over HTTP on the node's metrics_addr: Prometheus metrics at /metrics
// (etcd's names, with an easykv_ prefix, where etcd has one), /livez (the
// process serves) and /readyz (it has a leader and has applied what was
// committed when it started).
//
// Metrics implements raftnode.Observer for what only the node's
// goroutines see (disk write and sync durations, snapshots, request
// outcomes, Raft traffic) and reads everything else from the node's
// status at each scrape, so a scrape and `easykv-ctl status` agree.
package metrics
