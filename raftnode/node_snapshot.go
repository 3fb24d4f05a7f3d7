package raftnode

import (
	"fmt"
	"sync"
	"time"

	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
)

// SnapshotStore keeps snapshots of the state machine: the newest lets a
// restart replay only the log after it, lets the log be compacted, and is
// what a leader sends a follower that needs compacted entries.
type SnapshotStore interface {
	// Load returns the newest snapshot, nil when there is none.
	Load() (*kvmap.Map, kvmap.SnapshotInfo, error)
	// Save makes a snapshot durable; term is the term of its last entry.
	Save(m *kvmap.Map, term uint64) (kvmap.SnapshotInfo, error)
	// Newest names the newest snapshot without reading it.
	Newest() (kvmap.SnapshotInfo, bool, error)
	// Create starts receiving the snapshot at index, in term, from a
	// leader.
	Create(index, term uint64) (*kvmap.PartialSnapshot, error)
}

var _ SnapshotStore = (*kvmap.SnapshotDir)(nil)

// Defaults for a NodeConfig without SnapshotEvery. A restart replays at
// most about SnapshotEvery entries after loading the snapshot.
const defaultSnapshotEvery = 10_000

// snapshotter takes snapshots of the state machine in the background and
// then compacts the log: the loop hands it a copy (kvmap.Map.Clone, a few
// milliseconds for 100,000 keys) and goes on applying while the copy is
// written and synced and the segments below the snapshot, minus a margin,
// are deleted. A failed snapshot costs disk space and restart time, never
// data: the log is compacted only below a snapshot that is durable.
type snapshotter struct {
	store  SnapshotStore // nil: no snapshots
	log    LogStore      // compacted after each snapshot
	mu     *sync.Mutex   // serializes writes to store with installs
	every  uint64        // applied entries between snapshots
	margin uint64        // entries kept below a snapshot's index
	last   uint64        // applied index of the last snapshot saved, installed or under way
	busy   bool          // a Save is under way
	// done carries the result of each Save to the loop.
	done chan savedSnapshot
}

// savedSnapshot is what a background Save did.
type savedSnapshot struct {
	info    kvmap.SnapshotInfo // the snapshot saved; zero when Save failed
	members raft.Membership    // the configuration it holds
	first   uint64             // the log's first index after compaction
	took    time.Duration      // how long the Save took
	err     error
}

// newSnapshotter returns a snapshotter over store that takes one every
// `every` applied entries (0: defaultSnapshotEvery) after the one at index
// last, and then compacts log keeping margin entries below it.
func newSnapshotter(store SnapshotStore, log LogStore, mu *sync.Mutex, every, margin, last uint64) snapshotter {
	if every == 0 {
		every = defaultSnapshotEvery
	}
	return snapshotter{store: store, log: log, mu: mu, every: every, margin: margin, last: last, done: make(chan savedSnapshot, 1)}
}

// due reports whether a snapshot is due at applied index applied.
func (s *snapshotter) due(applied uint64) bool {
	return s.store != nil && !s.busy && applied >= s.last+s.every
}

// maybeStart starts saving a copy of kv, whose last applied entry has
// term, when enough entries were applied since the last snapshot and none
// is under way.
func (s *snapshotter) maybeStart(kv *kvmap.Map, term uint64) {
	if !s.due(kv.AppliedIndex()) {
		return
	}
	s.busy, s.last = true, kv.AppliedIndex()
	snap := kv.Clone()
	go func() { s.done <- s.save(snap, term) }()
}

// save makes snap durable, then deletes the log segments wholly below its
// index minus the margin.
func (s *snapshotter) save(snap *kvmap.Map, term uint64) savedSnapshot {
	s.mu.Lock()
	start := time.Now()
	info, err := s.store.Save(snap, term)
	took := time.Since(start)
	s.mu.Unlock()
	if err != nil {
		return savedSnapshot{err: fmt.Errorf("snapshot at %d: %w", snap.AppliedIndex(), err)}
	}
	below := info.Index - min(info.Index, s.margin)
	if err := s.log.TruncatePrefix(below); err != nil {
		return savedSnapshot{info: info, members: snapshotMembership(snap), first: s.log.FirstIndex(), took: took, err: fmt.Errorf("compact the log below %d: %w", below, err)}
	}
	return savedSnapshot{info: info, members: snapshotMembership(snap), first: s.log.FirstIndex(), took: took}
}

// installed notes that the state machine was replaced by a snapshot at
// index: the next snapshot comes `every` entries after it.
func (s *snapshotter) installed(index uint64) {
	s.last = max(s.last, index)
}

// restoreSnapshot loads the newest snapshot from store and makes log
// consistent with it: the state machine to start from (empty without a
// snapshot) and the snapshot. A log that holds the snapshot's last entry,
// or starts right after it (it was reset when the snapshot was installed),
// keeps the entries after it. Any other log is emptied to restart after
// the snapshot: the node crashed while installing a snapshot from its
// leader (the snapshot is made durable before the log is reset), and what
// that log holds beyond the snapshot is either covered by it or was never
// committed.
func restoreSnapshot(store SnapshotStore, log LogStore) (*kvmap.Map, raft.SnapshotMeta, error) {
	if store == nil {
		return kvmap.New(kvmap.Options{}), raft.SnapshotMeta{}, nil
	}
	kv, info, err := store.Load()
	if err != nil {
		return nil, raft.SnapshotMeta{}, err
	}
	if kv == nil {
		return kvmap.New(kvmap.Options{}), raft.SnapshotMeta{}, nil
	}
	snap := raft.SnapshotMeta{Index: info.Index, Term: info.Term}
	if t, err := log.Term(snap.Index); err == nil && t == snap.Term {
		return kv, snap, nil
	}
	if log.FirstIndex() == snap.Index+1 && log.LastIndex() > snap.Index {
		// The log was reset for this snapshot when it was installed, and
		// holds what the leader sent after it: entries this node may have
		// acknowledged, which it must keep.
		return kv, snap, nil
	}
	if first := log.FirstIndex(); first > snap.Index+1 && log.LastIndex() >= first {
		// Entries between the snapshot and the log are missing: no crash
		// leaves this, so something removed files by hand.
		return nil, raft.SnapshotMeta{}, fmt.Errorf("log starts at index %d, after the snapshot at %d (%s): entries are missing", first, snap.Index, info.Path)
	}
	if err := log.Reset(snap.Index + 1); err != nil {
		return nil, raft.SnapshotMeta{}, fmt.Errorf("reset the log after the snapshot at %d: %w", snap.Index, err)
	}
	return kv, snap, nil
}

// wait waits for a Save under way, so that none writes after Run returns.
func (s *snapshotter) wait() {
	if s.busy {
		<-s.done
		s.busy = false
	}
}

// snapshotSaved takes in a background Save: the core may send the new
// snapshot and no longer reads the compacted entries.
func (n *Node) snapshotSaved(saved savedSnapshot) {
	n.snaps.busy = false
	if saved.err != nil {
		n.logger.Warn("snapshot or compaction failed; the log keeps the entries", "err", saved.err)
	}
	if saved.info.Index == 0 {
		return
	}
	n.kv.obs.SnapshotSaved(saved.took)
	before := n.log.first
	n.log.compacted(raft.SnapshotMeta{Index: saved.info.Index, Term: saved.info.Term, Membership: saved.members}, saved.first)
	n.logger.Info("snapshot taken", "index", saved.info.Index, "term", saved.info.Term, "bytes", saved.info.Size, "first_index", n.log.first)
	n.pub.publish(n.snapshotEvent(pb.WatchEvent_SNAPSHOT_TAKEN, "", saved.info.Index, saved.info.Size, ""))
	if n.log.first > before {
		n.pub.publish(n.snapshotEvent(pb.WatchEvent_LOG_COMPACTED, "", n.log.first, 0, ""))
	}
}

// snapshotSent tells the core how a snapshot transfer ended.
func (n *Node) snapshotSent(rep snapshotReport) {
	n.core.ReportSnapshot(rep.peer, rep.err == nil)
	reason := ""
	if rep.err != nil {
		reason = rep.err.Error()
		n.logger.Warn("snapshot transfer failed", "peer", rep.peer, "index", rep.index, "err", rep.err)
	} else {
		n.logger.Info("snapshot sent", "peer", rep.peer, "index", rep.index, "bytes", rep.size)
	}
	n.pub.publish(n.snapshotEvent(pb.WatchEvent_SNAPSHOT_SENT, rep.peer, rep.index, rep.size, reason))
}

// install steps the MsgSnap of a snapshot received whole: the core decides
// whether it replaces the log and the state machine (takeSnapshot).
func (n *Node) install(in receivedSnapshot) {
	n.installing = &in
	in.snap.Membership = snapshotMembership(in.kv)
	n.step(raft.Message{Type: raft.MsgSnap, From: in.from, To: n.cfg.ID, Term: in.term, Snapshot: in.snap})
}

// takeSnapshot replaces the state machine by the snapshot a Ready
// installs, the one being stepped.
func (n *Node) takeSnapshot(snap raft.SnapshotMeta) {
	in := n.installing
	if in == nil || in.snap.Index != snap.Index || in.snap.Term != snap.Term {
		// The core installs only what install stepped, in the same round.
		panic(fmt.Sprintf("raftnode: Ready installs snapshot %d/%d, not the one received", snap.Index, snap.Term))
	}
	n.installing = nil
	n.kv.sm = in.kv
	n.snaps.installed(snap.Index)
	n.kv.obs.SnapshotInstalled(time.Since(in.started))
	n.logger.Info("snapshot installed", "from", in.from, "index", snap.Index, "term", snap.Term, "bytes", in.size)
	n.pub.publish(n.snapshotEvent(pb.WatchEvent_SNAPSHOT_INSTALLED, in.from, snap.Index, in.size, ""))
}

// stepSnapshotFrame hands a snapshot chunk to the receiver, or an answer
// to one to the sender; a paused node drops them like any Raft traffic.
func (n *Node) stepSnapshotFrame(w *pb.RaftKvMessage) {
	if n.pausedNow.Load() {
		return
	}
	if c := w.GetInstallSnapshot(); c != nil {
		n.receiver.chunk(w.GetNodeId(), w.GetTraceId(), c)
	} else if r := w.GetInstallSnapshotResponse(); r != nil {
		n.sender.ack(w.GetNodeId(), r)
	}
}

// snapshotEvent is a watch event about a snapshot.
func (n *Node) snapshotEvent(kind pb.WatchEvent_Kind, peer string, index uint64, size int64, reason string) *pb.WatchEvent {
	return &pb.WatchEvent{Kind: kind, NodeId: n.cfg.ID, UnixMs: time.Now().UnixMilli(), Peer: peer, Index: int64(index), Bytes: size, Reason: reason}
}
