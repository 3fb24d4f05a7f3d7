package raftnode

import (
	"fmt"

	"github.com/easykv/easykv/kvmap"
)

// SnapshotStore keeps snapshots of the state machine, so that a restart
// loads the newest and replays only the log after it instead of the whole
// log.
type SnapshotStore interface {
	// Load returns the newest snapshot, nil when there is none.
	Load() (*kvmap.Map, error)
	// Save makes a snapshot durable.
	Save(*kvmap.Map) error
}

var _ SnapshotStore = (*kvmap.SnapshotDir)(nil)

// defaultSnapshotEvery is how many applied entries separate snapshots when
// NodeConfig.SnapshotEvery is zero: a restart replays at most about that
// many entries (100,000 take some 60 ms) after loading the snapshot.
const defaultSnapshotEvery = 100_000

// snapshotter takes snapshots of the state machine in the background: the
// loop hands it a copy (kvmap.Map.Clone, a few milliseconds for 100,000
// keys) and goes on applying while the copy is written and synced. The
// log is kept whole, so a failed snapshot costs restart time, never data.
type snapshotter struct {
	store SnapshotStore // nil: no snapshots
	every uint64        // applied entries between snapshots
	last  uint64        // applied index of the last snapshot saved or under way
	busy  bool          // a Save is under way
	// done carries the result of each Save to the loop.
	done chan error
}

// newSnapshotter returns a snapshotter over store that takes one every
// `every` applied entries (0: defaultSnapshotEvery) after the one at
// index last.
func newSnapshotter(store SnapshotStore, every, last uint64) snapshotter {
	if every == 0 {
		every = defaultSnapshotEvery
	}
	return snapshotter{store: store, every: every, last: last, done: make(chan error, 1)}
}

// maybeStart starts saving a copy of kv when enough entries were applied
// since the last snapshot and none is under way.
func (s *snapshotter) maybeStart(kv *kvmap.Map) {
	if s.store == nil || s.busy || kv.AppliedIndex() < s.last+s.every {
		return
	}
	s.busy, s.last = true, kv.AppliedIndex()
	snap := kv.Clone()
	go func() { s.done <- s.store.Save(snap) }()
}

// finished takes in the result of a Save; the error is for the log.
func (s *snapshotter) finished(err error) error {
	s.busy = false
	if err != nil {
		return fmt.Errorf("snapshot at %d: %w", s.last, err)
	}
	return nil
}

// restoreSnapshot loads the newest snapshot from store for a log whose
// last index is last: the state machine to start from (empty without a
// snapshot) and the index it has applied.
func restoreSnapshot(store SnapshotStore, last uint64) (*kvmap.Map, error) {
	if store == nil {
		return kvmap.New(kvmap.Options{}), nil
	}
	kv, err := store.Load()
	if err != nil {
		return nil, err
	}
	if kv == nil {
		return kvmap.New(kvmap.Options{}), nil
	}
	if kv.AppliedIndex() > last {
		// The log lost entries the state machine had applied: starting
		// would serve state the log cannot back.
		return nil, fmt.Errorf("snapshot at index %d is beyond the log's last index %d", kv.AppliedIndex(), last)
	}
	return kv, nil
}

// wait waits for a Save under way, so that none writes after Run returns.
func (s *snapshotter) wait() {
	if s.busy {
		s.finished(<-s.done)
	}
}
