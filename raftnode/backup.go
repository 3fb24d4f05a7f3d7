package raftnode

import (
	"context"
	"fmt"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/raftnode/raft"
)

// Backup takes a snapshot of the state machine as of its last applied
// entry, for easykv-ctl snapshot save: on the leader only, so that a backup
// holds every write acknowledged before it was asked for (the leader
// applies a write before acknowledging it). The copy is taken in the loop;
// writing it out happens on the caller's goroutine.
func (n *Node) Backup(ctx context.Context) (netlink.Backup, error) {
	reply := make(chan backupAnswer, 1)
	select {
	case n.backupc <- reply:
	case <-ctx.Done():
		return netlink.Backup{}, ctx.Err()
	}
	select {
	case a := <-reply:
		return a.backup, a.err
	case <-ctx.Done():
		return netlink.Backup{}, ctx.Err()
	}
}

type backupAnswer struct {
	backup netlink.Backup
	err    error
}

// takeBackup copies the state machine for Backup; called by the loop.
func (n *Node) takeBackup() backupAnswer {
	if n.role != raft.RoleLeader {
		leader := n.pub.latest.Load().status.Leader
		return backupAnswer{err: &netlink.NotLeaderError{LeaderID: leader, LeaderAddr: n.addrs.get(leader)}}
	}
	sm := n.kv.sm.Clone()
	index := sm.AppliedIndex()
	var term uint64
	if index > 0 {
		t, err := n.log.Term(index)
		if err != nil {
			return backupAnswer{err: fmt.Errorf("term of applied entry %d: %w", index, err)}
		}
		term = t
	}
	return backupAnswer{backup: netlink.Backup{Index: index, Term: term, Write: sm.WriteSnapshot}}
}
