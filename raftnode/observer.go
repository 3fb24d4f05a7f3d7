package raftnode

import (
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// Observer is told what a node does that its status cannot show: how long
// its disk writes and snapshots take, and how each request ended. The
// metrics package implements it for Prometheus; NodeConfig.Observer nil
// tells nobody. Its methods are called from the node's own goroutines
// (the loop, the persister, the snapshotter), so they must not block.
type Observer interface {
	LogWritten(d time.Duration)        // entries copied into the log, before their sync
	LogSynced(d time.Duration)         // the log's sync after a write
	SnapshotSaved(d time.Duration)     // a snapshot of the state machine made durable
	SnapshotInstalled(d time.Duration) // a leader's snapshot received and installed, from its first chunk
	LeaderChanged()                    // this node saw another leader, or none, take over
	ProposalsFailed(n int)             // accepted writes that will never be answered as applied
	ProposalsPending(n int)            // writes proposed here and not yet applied
	ClientRequest(op pb.KvRequest_OpType, code pb.ErrorCode)
	// Traffic is the Raft messages counted in one window (at most one
	// every trafficWindow), as the MESSAGES watch event carries them.
	Traffic(lines []*pb.Traffic)
}

// nopObserver tells nobody.
type nopObserver struct{}

var _ Observer = nopObserver{}

func (nopObserver) LogWritten(time.Duration)                        {}
func (nopObserver) LogSynced(time.Duration)                         {}
func (nopObserver) SnapshotSaved(time.Duration)                     {}
func (nopObserver) SnapshotInstalled(time.Duration)                 {}
func (nopObserver) LeaderChanged()                                  {}
func (nopObserver) ProposalsFailed(int)                             {}
func (nopObserver) ProposalsPending(int)                            {}
func (nopObserver) ClientRequest(pb.KvRequest_OpType, pb.ErrorCode) {}
func (nopObserver) Traffic([]*pb.Traffic)                           {}
