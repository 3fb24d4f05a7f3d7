package raftnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/segmentlog"
)

// recordingSnapshots is a SnapshotStore over a SnapshotDir that remembers
// the index of every snapshot saved.
type recordingSnapshots struct {
	*kvmap.SnapshotDir
	saved chan uint64 // index of each snapshot saved
}

func (r *recordingSnapshots) Save(m *kvmap.Map, term uint64) (kvmap.SnapshotInfo, error) {
	info, err := r.SnapshotDir.Save(m, term)
	if err == nil {
		r.saved <- m.AppliedIndex()
	}
	return info, err
}

var _ SnapshotStore = (*recordingSnapshots)(nil)

// diskNode opens and runs a one-member node on a real log and hard state
// in dir, taking snapshots into snaps (nil: none) every 10 applied
// entries; stop stops it and closes its log.
func diskNode(t *testing.T, dir string, snaps SnapshotStore) (n *Node, stop func()) {
	t.Helper()
	wal, err := segmentlog.Open(filepath.Join(dir, "wal"), segmentlog.Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wal.Close() })
	store, err := segmentlog.OpenHardState(dir)
	if err != nil {
		t.Fatal(err)
	}
	n, stopNode := runOneMember(t, wal, store, snaps)
	return n, func() { stopNode(); wal.Close() }
}

// runOneMember runs a one-member node over log and hard, taking snapshots
// into snaps (nil: none) every 10 applied entries; stop stops it.
func runOneMember(t *testing.T, log LogStore, hard HardStateStore, snaps SnapshotStore) (n *Node, stop func()) {
	t.Helper()
	n, err := NewNode(NodeConfig{
		ID: "n1", Members: map[string]string{"n1": "a1"},
		Heartbeat: 5 * time.Millisecond, ElectionTimeout: 20 * time.Millisecond,
		HardState: hard, Log: log, Transport: &recordingTransport{}, Seed: 7,
		Snapshots: snaps, SnapshotEvery: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() { defer close(finished); n.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-finished })
	return n, func() { cancel(); <-finished }
}

// kvWhileElecting sends req to n, again while n answers NOT_LEADER (it
// has not elected itself yet), as a client would, for up to 5 s.
func kvWhileElecting(t *testing.T, n *Node, req *pb.KvRequest) *pb.KvResponse {
	t.Helper()
	var resp *pb.KvResponse
	testkit.PollEvery(t, 5*time.Millisecond, 5*time.Second, "an answer other than NOT_LEADER to "+req.String(), func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp = n.KV(ctx, req)
		return resp.GetCode() != pb.ErrorCode_NOT_LEADER, resp.String()
	})
	return resp
}

// putUntilOK writes key=value in client 3's session and fails the test
// unless it is acknowledged.
func putUntilOK(t *testing.T, n *Node, key, value string, seq uint64) {
	t.Helper()
	if resp := kvWhileElecting(t, n, &pb.KvRequest{OpType: pb.KvRequest_PUT, Key: key, Value: value, ClientId: 3, Sequence: seq}); resp.GetCode() != pb.ErrorCode_OK {
		t.Fatalf("put %s: %v", key, resp)
	}
}

func TestNodeRestartsFromSnapshot(t *testing.T) {
	dir := t.TempDir()
	snaps := &recordingSnapshots{SnapshotDir: kvmap.NewSnapshotDir(filepath.Join(dir, "snap"), kvmap.Options{}), saved: make(chan uint64, 100)}
	n, stop := diskNode(t, dir, snaps)
	for i := 1; i <= 30; i++ {
		putUntilOK(t, n, fmt.Sprintf("k%d", i%4), fmt.Sprintf("v%d", i), uint64(i))
	}
	stop()
	close(snaps.saved)
	var last uint64
	for index := range snaps.saved {
		last = index
	}
	if last < 10 {
		t.Fatalf("no snapshot taken over 30 writes with SnapshotEvery 10 (last %d)", last)
	}

	// Restart: the state is the snapshot plus the log after it, the
	// same as before.
	n, stop = diskNode(t, dir, kvmap.NewSnapshotDir(filepath.Join(dir, "snap"), kvmap.Options{}))
	defer stop()
	if got := n.Status().GetAppliedIndex(); got < int64(last) {
		t.Errorf("restarted node starts at applied %d, want at least the snapshot's %d", got, last)
	}
	// The status gives the log's terms as runs for the dashboard's log
	// view, over the last 256 entries or fewer.
	st := n.Status()
	runs := st.GetLogTerms()
	if len(runs) == 0 || runs[0].GetFirstIndex() != max(1, st.GetLastIndex()-255) || runs[len(runs)-1].GetTerm() != st.GetLastTerm() {
		t.Errorf("log_terms = %v with last index %d, term %d; want runs over the last 256 ending in the last term", runs, st.GetLastIndex(), st.GetLastTerm())
	}
	for i, want := range []string{"v28", "v29", "v30", "v27"} {
		testkit.PollEvery(t, time.Millisecond, 5*time.Second, fmt.Sprintf("k%d after restart to be %q", i, want), func() (bool, string) {
			resp := n.KV(context.Background(), &pb.KvRequest{OpType: pb.KvRequest_GET, Key: fmt.Sprintf("k%d", i), Stale: true})
			return resp.GetValue() == want, fmt.Sprintf("k%d = %v", i, resp)
		})
	}
	// The session survived the snapshot: the last write again is not
	// applied twice.
	kvWhileElecting(t, n, &pb.KvRequest{OpType: pb.KvRequest_PUT, Key: "k2", Value: "again", ClientId: 3, Sequence: 30})
	if got := n.KV(context.Background(), &pb.KvRequest{OpType: pb.KvRequest_GET, Key: "k2", Stale: true}); got.GetValue() != "v30" {
		t.Errorf("k2 after a retried write = %q, want v30 (applied once)", got.GetValue())
	}
}

func TestNodeRefusesDamagedSnapshot(t *testing.T) {
	dir := t.TempDir()
	snapDir := filepath.Join(dir, "snap")
	n, stop := diskNode(t, dir, kvmap.NewSnapshotDir(snapDir, kvmap.Options{}))
	for i := 1; i <= 12; i++ {
		putUntilOK(t, n, "k", fmt.Sprintf("v%d", i), uint64(i))
	}
	stop()
	names, err := filepath.Glob(filepath.Join(snapDir, "*.snap"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no snapshot written: %v", err)
	}
	newest := names[len(names)-1]
	if err := os.WriteFile(newest, []byte("not a snapshot at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	wal, err := segmentlog.Open(filepath.Join(dir, "wal"), segmentlog.Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer wal.Close()
	store, err := segmentlog.OpenHardState(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewNode(NodeConfig{
		ID: "n1", Members: map[string]string{"n1": "a1"},
		Heartbeat: 5 * time.Millisecond, ElectionTimeout: 20 * time.Millisecond,
		HardState: store, Log: wal, Transport: &recordingTransport{},
		Snapshots: kvmap.NewSnapshotDir(snapDir, kvmap.Options{}),
	})
	if !errors.Is(err, kvmap.ErrBadSnapshot) || !strings.Contains(err.Error(), newest) {
		t.Fatalf("NewNode over a damaged snapshot = %v, want ErrBadSnapshot naming %s", err, newest)
	}
}

// TestRestoreSnapshotKeepsTheLogThatFollows: at a restart, the log is kept
// when it holds the newest snapshot's entry or starts right after it (it
// was reset when that snapshot was installed, and holds entries this node
// may have acknowledged since); it is reset when it ends before the
// snapshot or disagrees with it (a crash in the middle of an install); a
// log starting later than right after the snapshot is refused.
func TestRestoreSnapshotKeepsTheLogThatFollows(t *testing.T) {
	entries := func(first, last, term uint64) []segmentlog.Entry {
		var es []segmentlog.Entry
		for i := first; i <= last; i++ {
			es = append(es, segmentlog.Entry{Index: i, Term: term})
		}
		return es
	}
	tests := []struct {
		name      string
		logFirst  uint64 // 0: an empty log
		log       []segmentlog.Entry
		wantFirst uint64
		wantLast  uint64
		wantErr   bool
	}{
		{"holds the snapshot's entry", 1, entries(1, 30, 2), 1, 30, false},
		{"starts right after it", 21, entries(21, 30, 3), 21, 30, false},
		{"ends before it", 1, entries(1, 12, 2), 21, 20, false},
		{"empty", 0, nil, 21, 20, false},
		{"disagrees at it", 1, entries(1, 30, 1), 21, 20, false},
		{"starts after a gap", 25, entries(25, 30, 3), 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := kvmap.NewSnapshotDir(t.TempDir(), kvmap.Options{})
			kv := kvmap.New(kvmap.Options{})
			for i := uint64(1); i <= 20; i++ {
				kv.Apply(i, kvmap.Command{Op: kvmap.OpPut, Key: fmt.Sprint("k", i), Value: "v"}.Encode())
			}
			if _, err := dir.Save(kv, 2); err != nil {
				t.Fatal(err)
			}
			log := &memLog{first: tt.logFirst}
			if err := log.Append(tt.log); err != nil {
				t.Fatal(err)
			}
			got, snap, err := restoreSnapshot(dir, log)
			if tt.wantErr {
				if err == nil {
					t.Fatal("restored over a log with entries missing after the snapshot")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if snap.Index != 20 || snap.Term != 2 || got.AppliedIndex() != 20 {
				t.Errorf("snapshot %+v, state at %d; want 20/2", snap, got.AppliedIndex())
			}
			if log.FirstIndex() != tt.wantFirst || log.LastIndex() != tt.wantLast {
				t.Errorf("log holds [%d, %d], want [%d, %d]", log.FirstIndex(), log.LastIndex(), tt.wantFirst, tt.wantLast)
			}
		})
	}
}
