package raftnode

import (
	"errors"
	"github.com/easykv/easykv/internal/testkit"
	"slices"
	"testing"
	"time"

	"github.com/easykv/easykv/raftnode/raft"
	"github.com/easykv/easykv/segmentlog"
)

// gatedStore is a HardStateStore whose Save waits for a token on gate, so
// a test can hold a write in progress; it records its saves in log.
type gatedStore struct {
	log     *opLog
	gate    chan struct{}
	saveErr error
}

func (s *gatedStore) Load() (segmentlog.HardState, error) { return segmentlog.HardState{}, nil }
func (s *gatedStore) Save(hs segmentlog.HardState) error {
	<-s.gate
	if s.saveErr != nil {
		return s.saveErr
	}
	s.log.add("save term=%d vote=%s", hs.Term, hs.Vote)
	return nil
}

var _ HardStateStore = (*gatedStore)(nil)

// newTestPersister runs a persister over a real segment log, a gated hard
// state store and a transport that records into the store's log.
func newTestPersister(t *testing.T) (*persister, *gatedStore, *coreLog) {
	t.Helper()
	wal, err := segmentlog.Open(t.TempDir(), segmentlog.Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wal.Close() })
	log := &opLog{}
	store := &gatedStore{log: log, gate: make(chan struct{}, 16)}
	clog := newCoreLog(wal, raft.SnapshotMeta{}, nopObserver{})
	p := newPersister("n1", clog, store, &recordingTransport{log: log}, &sharedTraffic{t: newTrafficTable([]string{"n2", "n3"})}, &diskStall{}, func(raft.Message) {})
	go p.run()
	t.Cleanup(p.close) // before the log closes
	return p, store, clog
}

// waitWriting waits until p has taken a write and is carrying it out.
func waitWriting(t *testing.T, p *persister) {
	t.Helper()
	testkit.PollEvery(t, time.Millisecond, 5*time.Second, "the persister to take a write", func() (bool, string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.writing, "the persister took no write"
	})
}

// nextWritten waits for p's next completed write.
func nextWritten(t *testing.T, p *persister) completedWrite {
	t.Helper()
	select {
	case w := <-p.done:
		return w
	case <-time.After(5 * time.Second):
		t.Fatal("no write completed")
		return completedWrite{}
	}
}

// TestPersisterOrder: a Ready's messages leave only once its writes are
// durable, and a later Ready's only after the earlier writes; with
// nothing being written, messages leave at once. Writes queued while one
// runs are merged into the next.
func TestPersisterOrder(t *testing.T) {
	p, store, clog := newTestPersister(t)
	vote := raft.Message{Type: raft.MsgVoteResp, From: "n1", To: "n2", Term: 2}
	p.add(raft.WriteJob{HardState: raft.HardState{Term: 2, Vote: "n2"}, SaveHard: true, Msgs: []raft.Message{vote}})
	// The save is held; later Readys' messages and entries queue behind
	// it.
	waitWriting(t, p)
	p.add(raft.WriteJob{Entries: []raft.Entry{{Index: 1, Term: 2}}, Msgs: []raft.Message{{Type: raft.MsgAppResp, From: "n1", To: "n2", Term: 2, Index: 1}}})
	p.add(raft.WriteJob{Entries: []raft.Entry{{Index: 2, Term: 2}}, Msgs: []raft.Message{{Type: raft.MsgAppResp, From: "n1", To: "n2", Term: 2, Index: 2}}})
	store.gate <- struct{}{}
	w := nextWritten(t, p)
	if w.err != nil || !w.SaveHard || w.HardState.Vote != "n2" || len(w.Entries) != 0 {
		t.Fatalf("first write %+v", w)
	}
	// The two later Readys were merged into one write of both entries.
	w = nextWritten(t, p)
	if w.err != nil || len(w.Entries) != 2 || w.SaveHard {
		t.Fatalf("second write %+v", w)
	}
	want := []string{
		"save term=2 vote=n2",
		"send VOTE_RESPONSE to n2 granted=true",
		"send APPEND_ENTRIES_RESPONSE to n2 granted=false",
		"send APPEND_ENTRIES_RESPONSE to n2 granted=false",
	}
	if ops := store.log.recorded(); !slices.Equal(ops, want) {
		t.Fatalf("operations %q, want %q", ops, want)
	}
	if clog.LastIndex() != 0 {
		t.Fatalf("the core sees last index %d before the write is taken in", clog.LastIndex())
	}
	clog.stable(w.Entries)
	if clog.LastIndex() != 2 {
		t.Fatalf("last index %d after the write is taken in", clog.LastIndex())
	}
	// Idle: a Ready with only messages sends them at once.
	p.add(raft.WriteJob{Msgs: []raft.Message{vote}})
	if ops := store.log.recorded(); len(ops) != 5 {
		t.Fatalf("an idle persister held a message: %q", ops)
	}
}

// TestPersisterFails: a write that fails is reported and ends the
// persister; nothing queued after it is written or sent, and nothing
// leaves directly.
func TestPersisterFails(t *testing.T) {
	p, store, _ := newTestPersister(t)
	store.saveErr = errors.New("disk on fire")
	p.add(raft.WriteJob{HardState: raft.HardState{Term: 2}, SaveHard: true, Msgs: []raft.Message{{Type: raft.MsgVoteResp, From: "n1", To: "n2", Term: 2}}})
	waitWriting(t, p)
	p.add(raft.WriteJob{Entries: []raft.Entry{{Index: 1, Term: 2}}, Msgs: []raft.Message{{Type: raft.MsgAppResp, From: "n1", To: "n2", Term: 2, Index: 1}}})
	store.gate <- struct{}{}
	if w := nextWritten(t, p); !errors.Is(w.err, store.saveErr) {
		t.Fatalf("failed write reported %v", w.err)
	}
	select {
	case <-p.exit:
	case <-time.After(5 * time.Second):
		t.Fatal("persister goes on after a failed write")
	}
	// Nothing leaves directly either: the failed write may have been
	// what a message depends on.
	p.add(raft.WriteJob{Msgs: []raft.Message{{Type: raft.MsgAppResp, From: "n1", To: "n2", Term: 2}}})
	if ops := store.log.recorded(); len(ops) != 0 {
		t.Fatalf("after a failed write: %q", ops)
	}
}

// TestPersisterCloseDropsQueued: close waits for the write in progress and
// drops what is queued behind it, unsent.
func TestPersisterCloseDropsQueued(t *testing.T) {
	p, store, _ := newTestPersister(t)
	p.add(raft.WriteJob{HardState: raft.HardState{Term: 2}, SaveHard: true, Msgs: nil})
	waitWriting(t, p)
	p.add(raft.WriteJob{HardState: raft.HardState{Term: 3}, SaveHard: true, Msgs: []raft.Message{{Type: raft.MsgVoteResp, From: "n1", To: "n2", Term: 3}}})
	closed := make(chan struct{})
	go func() {
		p.close()
		close(closed)
	}()
	select {
	case <-p.stop:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not stop the persister")
	}
	store.gate <- struct{}{} // the write in progress completes
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not return")
	}
	if ops := store.log.recorded(); !slices.Equal(ops, []string{"save term=2 vote="}) {
		t.Fatalf("operations %q: the queued write went on after close", ops)
	}
}

// TestPersisterDiskStall: under the SLOW_DISK fault a write waits before
// it syncs, its messages with it; clearing the fault lets it finish, and
// closing the persister ends the wait without writing.
func TestPersisterDiskStall(t *testing.T) {
	p, store, clog := newTestPersister(t)
	if err := p.stall.set(MaxDiskStall); err != nil {
		t.Fatal(err)
	}
	p.add(raft.WriteJob{Entries: []raft.Entry{{Index: 1, Term: 2}}, Msgs: []raft.Message{{Type: raft.MsgAppResp, From: "n1", To: "n2", Term: 2, Index: 1}}})
	waitWriting(t, p)
	select {
	case w := <-p.done:
		t.Fatalf("a write finished during a %v stall: %+v", MaxDiskStall, w)
	default:
	}
	if got := store.log.recorded(); len(got) != 0 || clog.log.LastIndex() != 0 {
		t.Fatalf("written or sent during the stall: %v, log ends at %d", got, clog.log.LastIndex())
	}
	if err := p.stall.set(0); err != nil {
		t.Fatal(err)
	}
	if w := nextWritten(t, p); w.err != nil || clog.log.LastIndex() != 1 {
		t.Fatalf("after clearing the stall: %+v, log ends at %d", w, clog.log.LastIndex())
	}
	for _, bad := range []time.Duration{-time.Millisecond, MaxDiskStall + time.Millisecond} {
		if err := p.stall.set(bad); err == nil {
			t.Errorf("stall %v accepted", bad)
		}
	}

	// A node that stops during a stall stops at once, writing nothing.
	if err := p.stall.set(MaxDiskStall); err != nil {
		t.Fatal(err)
	}
	p.add(raft.WriteJob{Entries: []raft.Entry{{Index: 2, Term: 2}}})
	waitWriting(t, p)
	p.close()
	if clog.log.LastIndex() != 1 {
		t.Fatalf("written while stopping: log ends at %d", clog.log.LastIndex())
	}
}
