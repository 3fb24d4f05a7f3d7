// Package cluster loads cluster.yaml, the one file every easykv binary reads:
// the cluster's name, its members and their addresses, where nodes keep their
// data, the Raft timing, the optional shared auth token and how often the
// state machine is snapshotted and the log compacted.
//
// Load checks everything a node needs before it starts, so that a bad file is
// one clear line and never a half-started node.
package cluster
