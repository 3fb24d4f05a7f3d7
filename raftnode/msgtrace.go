package raftnode

import (
	"sync/atomic"
	"time"

	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
)

// msgTracer reports single Raft messages on the watch stream while the
// node is in slow motion, so that a watcher can draw each one travelling:
// a message sent gets a trace number, carried on the wire, and both ends
// publish a MESSAGE event with it (sent when handed to the network,
// received when stepped). At normal speed it does nothing, and watchers
// get only the counts of MESSAGES events. Safe for concurrent use: the
// loop, the persister and the snapshot goroutines all send. A nil tracer
// traces nothing.
type msgTracer struct {
	pub *publisher
	on  atomic.Bool   // slow motion: trace what this node sends
	seq atomic.Uint64 // the last trace number given
}

// next returns a trace number for a message about to be sent, or 0 when
// the node is not in slow motion.
func (t *msgTracer) next() uint64 {
	if t == nil || !t.on.Load() {
		return 0
	}
	return t.seq.Add(1)
}

// sent numbers m, about to be sent, and reports it.
func (t *msgTracer) sent(m *raft.Message) {
	if m.Trace = t.next(); m.Trace != 0 {
		t.report(describeMessage(m, true), m.Reason)
	}
}

// received reports m, stepped, when its sender traced it.
func (t *msgTracer) received(m *raft.Message) {
	if m.Trace != 0 {
		t.report(describeMessage(m, false), m.Reason)
	}
}

// chunk reports a snapshot chunk of n bytes sent or received in a
// transfer of total bytes that has got to done, when it was traced.
func (t *msgTracer) chunk(from, to string, sent bool, trace uint64, term, n, total, done int64) {
	if trace == 0 {
		return
	}
	t.report(&pb.Traffic{
		Kind: pb.Traffic_INSTALL_SNAPSHOT, From: from, To: to, Sent: sent, Count: 1, Id: trace,
		Term: term, Bytes: n, TotalBytes: total, DoneBytes: done,
	}, "")
}

// report publishes one MESSAGE event, if anyone watches.
func (t *msgTracer) report(tr *pb.Traffic, reason string) {
	if t == nil || !t.pub.watched() {
		return
	}
	node := tr.GetTo()
	if tr.GetSent() {
		node = tr.GetFrom()
	}
	t.pub.publish(&pb.WatchEvent{
		Kind: pb.WatchEvent_MESSAGE, NodeId: node, UnixMs: time.Now().UnixMilli(),
		Term: tr.GetTerm(), Reason: reason, Traffic: []*pb.Traffic{tr},
	})
}

// describeMessage is m as one traffic line with its trace number.
func describeMessage(m *raft.Message, sent bool) *pb.Traffic {
	tr := &pb.Traffic{From: m.From, To: m.To, Sent: sent, Count: 1, Id: m.Trace, Term: int64(m.Term), Entries: int64(len(m.Entries))}
	switch s := slotOf(m); {
	case s < numTrafficSlots:
		tr.Kind, tr.PreVote = slotWire[s].kind, slotWire[s].preVote
	case m.Type == raft.MsgTimeoutNow:
		tr.Kind = pb.Traffic_TIMEOUT_NOW
	}
	if tr.Kind == pb.Traffic_APPEND_OK {
		tr.Match = int64(m.Index)
	}
	return tr
}
