package raftnode

import (
	"github.com/easykv/easykv/internal/stagetrace"
	"github.com/easykv/easykv/raftnode/raft"
)

// The Raft loop's marks for stagetrace, called only while a trace runs.

// traceStep marks a follower taking in an AppendEntries, and a leader an
// ack, before the core steps them.
func traceStep(id string, m *raft.Message) {
	switch {
	case m.Type == raft.MsgApp && len(m.Entries) > 0:
		stagetrace.Watermark(stagetrace.FollowerGot, id, lastIndex(m.Entries))
	case m.Type == raft.MsgAppResp && !m.Reject:
		// Keyed by the follower, so that the trace can follow the first
		// ack's path back through that follower.
		stagetrace.Watermark(stagetrace.AckGot, m.From, m.Index)
	}
}

// traceReady marks a leader's Ready: its new entries leave the core, and
// its committed ones are known committed.
func traceReady(id string, rd *raft.Ready) {
	if len(rd.Entries) > 0 {
		stagetrace.Watermark(stagetrace.LeaderReady, id, lastIndex(rd.Entries))
	}
	if len(rd.CommittedEntries) > 0 {
		stagetrace.Watermark(stagetrace.Committed, id, lastIndex(rd.CommittedEntries))
	}
}

// lastIndex is the index of the last of entries, which is not empty.
func lastIndex(entries []raft.Entry) uint64 { return entries[len(entries)-1].Index }
