package raftnode

import (
	"sort"
	"time"

	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
)

// Status reports the node's state, with the election timer interpolated to
// this instant.
func (n *Node) Status() *pb.NodeStatus {
	slow := max(n.slowNow.Load(), 1) // timers, as they run now
	s := n.pub.latest.Load()
	st := s.status
	now := time.Now()
	out := &pb.NodeStatus{
		Id:                    n.cfg.ID,
		Addr:                  n.cfg.Addr,
		Cluster:               n.cfg.Cluster,
		Role:                  roleToWire(st.Role),
		Term:                  int64(st.Term),
		VotedFor:              st.Vote,
		LeaderId:              st.Leader,
		LeaderAddr:            n.addrs.get(st.Leader),
		CommitIndex:           int64(st.Commit),
		AppliedIndex:          int64(st.Applied),
		LastIndex:             int64(st.LastIndex),
		LastTerm:              int64(st.LastTerm),
		ElectionTimeoutMs:     (time.Duration(st.RandomizedElectionTimeout) * n.tickEvery()).Milliseconds(),
		BaseElectionTimeoutMs: (n.cfg.ElectionTimeout * time.Duration(slow)).Milliseconds(),
		HeartbeatMs:           (n.cfg.Heartbeat * time.Duration(slow)).Milliseconds(),
		SlowFactor:            slow,
		TimerHeld:             n.heldNow.Load(),
		Paused:                s.paused,
		UnixMs:                now.UnixMilli(),
		VotesGranted:          st.VotesGranted,
		VotesRejected:         st.VotesRejected,
		LogTail:               s.tail(),
		StateDigest:           s.digest,
		SnapshotIndex:         int64(s.snap.Index),
		SnapshotTerm:          int64(s.snap.Term),
		FirstIndex:            int64(s.first),
		SnapshotTransfers:     append(n.sender.transfers(), n.receiver.transfers()...),
		Members:               n.membersToWire(st.Membership),
		ConfigIndex:           int64(st.ConfigIndex),
		ConfigCommitted:       st.ConfigIndex <= st.Commit,
		Removed:               !st.Membership.Has(n.cfg.ID),
		TransferTo:            st.Transferee,
	}
	if x, ok := st.Membership.Get(n.cfg.ID); ok {
		out.Learner = x.Learner
	}
	for _, run := range s.terms {
		out.LogTerms = append(out.LogTerms, &pb.TermRun{FirstIndex: int64(run.First), Term: int64(run.Term)})
	}
	n.faults.report(out)
	if st.Role != raft.RoleLeader {
		left := time.Duration(st.RandomizedElectionTimeout-st.ElectionElapsed) * n.tickEvery()
		if !s.paused {
			left -= now.Sub(s.lastTick)
		}
		out.ElectionRemainingMs = max(left, 0).Milliseconds()
	}
	ids := make([]string, 0, len(st.Progress))
	for id := range st.Progress {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := st.Progress[id]
		out.Peers = append(out.Peers, &pb.PeerProgress{Id: id, MatchIndex: int64(p.Match), NextIndex: int64(p.Next), RecentActive: p.RecentActive, State: p.State,
			Learner: !st.Membership.IsVoter(id)})
	}
	return out
}

// tailToWire describes log entries for people watching: a no-op, or the
// command in short form.
func tailToWire(entries []raft.Entry) []*pb.LogEntry {
	out := make([]*pb.LogEntry, len(entries))
	for i, e := range entries {
		w := &pb.LogEntry{Term: int64(e.Term), Index: int64(e.Index), Type: pb.EntryType(e.Type)}
		switch cmd, err := kvmap.DecodeCommand(e.Data); {
		case e.Type == raft.EntryNoop:
			w.Command = "(no-op)"
		case e.Type == raft.EntryConfChange:
			w.Command = "(undecodable configuration)"
			if m, err := raft.DecodeMembership(e.Data); err == nil {
				w.Command = "config " + m.String()
			}
		case err != nil:
			w.Command = "(undecodable)"
		default:
			w.Command = cmd.String()
		}
		out[i] = w
	}
	return out
}

func (n *Node) eventToWire(ev raft.Event) *pb.WatchEvent {
	w := &pb.WatchEvent{
		NodeId:   n.cfg.ID,
		UnixMs:   time.Now().UnixMilli(),
		Term:     int64(ev.Term),
		Role:     roleToWire(ev.Role),
		LeaderId: ev.Leader,
		Peer:     ev.Peer,
		Reason:   ev.Reason,
		PreVote:  ev.PreVote,
		Index:    int64(ev.Index),
		Members:  n.membersToWire(ev.Members),
	}
	switch ev.Kind {
	case raft.EventRoleChanged:
		w.Kind = pb.WatchEvent_ROLE_CHANGED
	case raft.EventTermChanged:
		w.Kind = pb.WatchEvent_TERM_CHANGED
	case raft.EventVoteRequested:
		w.Kind = pb.WatchEvent_VOTE_REQUESTED
	case raft.EventVoteGranted:
		w.Kind = pb.WatchEvent_VOTE_GRANTED
	case raft.EventVoteDenied:
		w.Kind = pb.WatchEvent_VOTE_DENIED
	case raft.EventLeaderChanged:
		w.Kind = pb.WatchEvent_LEADER_CHANGED
	case raft.EventLostEntries:
		w.Kind = pb.WatchEvent_LOST_ENTRIES
	case raft.EventConfProposed:
		w.Kind = pb.WatchEvent_CONF_PROPOSED
	case raft.EventConfApplied:
		w.Kind = pb.WatchEvent_CONF_APPLIED
	case raft.EventConfCommitted:
		w.Kind = pb.WatchEvent_CONF_COMMITTED
	case raft.EventConfRolledBack:
		w.Kind = pb.WatchEvent_CONF_ROLLED_BACK
	case raft.EventTransferStarted:
		w.Kind = pb.WatchEvent_TRANSFER_STARTED
	case raft.EventTransferAborted:
		w.Kind = pb.WatchEvent_TRANSFER_ABORTED
	case raft.EventTimeoutNow:
		w.Kind = pb.WatchEvent_TIMEOUT_NOW
	}
	return w
}

func roleToWire(r raft.Role) pb.Role {
	switch r {
	case raft.RolePreCandidate:
		return pb.Role_ROLE_PRE_CANDIDATE
	case raft.RoleCandidate:
		return pb.Role_ROLE_CANDIDATE
	case raft.RoleLeader:
		return pb.Role_ROLE_LEADER
	default:
		return pb.Role_ROLE_FOLLOWER
	}
}
