package raftnode

import (
	"context"
	"encoding/binary"
	"fmt"
	"github.com/easykv/easykv/internal/testkit"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
	"github.com/easykv/easykv/segmentlog"
)

// This file measures how fast a node gets back to work, on real segment
// logs on disk: BenchmarkRestart1M restarts a one-member cluster whose log
// holds 1,000,000 committed writes, and BenchmarkCatchUp has an empty
// follower catch up with a leader 200,000 entries ahead.

// Every fixture entry is a session put of a 256-byte value to one of
// 100,000 keys, by one of 64 clients, as easykv-ctl bench put writes them.
const (
	fixtureValueSize = 256
	fixtureKeySpace  = 100_000
	fixtureClients   = 64
)

// fixtureCommand is the write at index i (from 1) of a fixture log. Its
// value starts with i, so a read shows which write it sees.
func fixtureCommand(i uint64) kvmap.Command {
	value := []byte(strings.Repeat("v", fixtureValueSize))
	binary.BigEndian.PutUint64(value, i)
	return kvmap.Command{
		Op:       kvmap.OpPut,
		Key:      fmt.Sprintf("user:%06d", (i-1)%fixtureKeySpace),
		Value:    string(value),
		ClientID: 1 + (i-1)%fixtureClients,
		Seq:      1 + (i-1)/fixtureClients,
	}
}

// writeFixture leaves in dir what node id would after committing and
// applying n fixture writes in term 1: dir/wal holds them, dir/hardstate
// says they are committed.
func writeFixture(b *testing.B, dir, id string, n uint64) {
	b.Helper()
	wal, err := segmentlog.Open(filepath.Join(dir, "wal"), segmentlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]segmentlog.Entry, 0, 1000)
	for i := uint64(1); i <= n; i++ {
		batch = append(batch, segmentlog.Entry{Term: 1, Index: i, Type: uint8(raft.EntryNormal), Data: fixtureCommand(i).Encode()})
		if len(batch) == cap(batch) || i == n {
			if err := wal.Append(batch); err != nil {
				b.Fatal(err)
			}
			if err := wal.Sync(); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := wal.Close(); err != nil {
		b.Fatal(err)
	}
	store, err := segmentlog.OpenHardState(dir)
	if err != nil {
		b.Fatal(err)
	}
	if err := store.Save(segmentlog.HardState{Term: 1, Vote: id, Commit: n}); err != nil {
		b.Fatal(err)
	}
}

// fixtureSnapshot returns the state machine after the first upto fixture
// writes.
func fixtureSnapshot(upto uint64) *kvmap.Map {
	kv := kvmap.New(kvmap.Options{})
	for i := uint64(1); i <= upto; i++ {
		kv.Apply(i, fixtureCommand(i).Encode())
	}
	return kv
}

// resetSnapshots leaves kv as the only snapshot in dir/snap; every entry
// of the fixture log is of term 1.
func resetSnapshots(b *testing.B, dir string, kv *kvmap.Map) {
	b.Helper()
	snap := filepath.Join(dir, "snap")
	if err := os.RemoveAll(snap); err != nil {
		b.Fatal(err)
	}
	if _, err := kvmap.NewSnapshotDir(snap, kvmap.Options{}).Save(kv, 1); err != nil {
		b.Fatal(err)
	}
}

// fixtureNetwork is an in-memory Transport between the Nodes of one
// process: a message is handed straight to the receiver's queue, which
// drops it when full, as a lossy network would.
type fixtureNetwork struct {
	mu    sync.RWMutex     // guards nodes: a node may send before the last one joins
	nodes map[string]*Node // by id
}

var _ Transport = (*fixtureNetwork)(nil)

func (t *fixtureNetwork) join(id string, n *Node) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.nodes == nil {
		t.nodes = map[string]*Node{}
	}
	t.nodes[id] = n
}

func (t *fixtureNetwork) Send(to string, m *pb.RaftKvMessage) bool {
	t.mu.RLock()
	n, ok := t.nodes[to]
	t.mu.RUnlock()
	if !ok {
		return false
	}
	n.StepPeer(m)
	return true
}

// runningNode is one Node started on a data directory.
type runningNode struct {
	node *Node
	stop func() // stops Run and closes the log
}

// startFixtureNode opens dir as node id of members, as easykv-node does,
// and runs it. electionTimeout is its T; the heartbeat is a tenth of it.
func startFixtureNode(b *testing.B, dir, id string, members map[string]string, electionTimeout time.Duration, net *fixtureNetwork) runningNode {
	b.Helper()
	store, err := segmentlog.OpenHardState(dir)
	if err != nil {
		b.Fatal(err)
	}
	wal, err := segmentlog.Open(filepath.Join(dir, "wal"), segmentlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	n, err := NewNode(NodeConfig{
		ID: id, Members: members, Heartbeat: electionTimeout / 10, ElectionTimeout: electionTimeout,
		HardState: store, Log: wal, Transport: net, Seed: 1,
		Snapshots: kvmap.NewSnapshotDir(filepath.Join(dir, "snap"), kvmap.Options{}),
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	net.join(id, n)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = n.Run(ctx) })
	return runningNode{node: n, stop: func() {
		cancel()
		wg.Wait()
		if runErr != nil {
			b.Fatal(runErr)
		}
		if err := wal.Close(); err != nil {
			b.Fatal(err)
		}
	}}
}

// waitStaleRead reads key from n's local state until it shows the write at
// index at least: a restarted node answers from what it has replayed so
// far, which is nothing until its loop has handed it the log.
func waitStaleRead(b *testing.B, n *Node, key string, index uint64) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp := n.KV(context.Background(), &pb.KvRequest{OpType: pb.KvRequest_GET, Key: key, Stale: true})
		if uint64(resp.GetIndex()) >= index {
			if got := binary.BigEndian.Uint64([]byte(resp.GetValue())); got != index {
				b.Fatalf("stale read of %s at applied index %d: the write of index %d, want %d", key, resp.GetIndex(), got, index)
			}
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("node never served index %d: %v", index, resp)
		}
	}
}

// waitWrite puts key until n, once leader, acknowledges it committed and
// applied.
func waitWrite(b *testing.B, n *Node, key string, client, seq uint64) {
	b.Helper()
	// Not leader yet: the election takes T to 2T.
	testkit.PollEvery(b, time.Millisecond, time.Minute, "the write to be acknowledged", func() (bool, string) {
		resp := n.KV(context.Background(), &pb.KvRequest{OpType: pb.KvRequest_PUT, Key: key, Value: "after restart", ClientId: client, Sequence: seq})
		if !resp.GetSuccess() && resp.GetCode() != pb.ErrorCode_NOT_LEADER {
			b.Fatalf("write refused: %v", resp)
		}
		return resp.GetSuccess(), fmt.Sprintf("write never acknowledged: %v", resp)
	})
}

// BenchmarkRestart1M restarts a one-member cluster whose log holds
// 1,000,000 committed writes (256-byte values, 100,000 keys, about 300 MB
// in five segments), from opening its files to serving. Its newest
// snapshot is as old as a running node's can be: defaultSnapshotEvery-1
// entries behind the log, so the restart loads it and replays 99,999
// entries. It reports, per restart:
//
//   - open-ms: segmentlog.Open, which checks every record;
//   - ms/restart: until a stale read answers from the whole log applied
//     to the state machine (Open, NewNode with the snapshot, Run's
//     replay of the rest);
//   - first-write-ms: until a linearizable write is acknowledged, which
//     also waits for the node to elect itself (T = 50 ms, timers in
//     [T, 2T), counted once the replay is done) and commit the write.
//
// Each restart appends a no-op and the write to the fixture, which is
// built once per run.
func BenchmarkRestart1M(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	writeFixture(b, dir, "n1", n)
	lastKey := fixtureCommand(n).Key
	kv := fixtureSnapshot(n - (defaultSnapshotEvery - 1))
	b.Run("entries=1M", func(b *testing.B) {
		var open, serve, write time.Duration
		seq := uint64(0)
		for b.Loop() {
			// The last restart took a newer snapshot: put the old one back.
			resetSnapshots(b, dir, kv)
			start := time.Now()
			wal, err := segmentlog.Open(filepath.Join(dir, "wal"), segmentlog.Options{})
			if err != nil {
				b.Fatal(err)
			}
			open += time.Since(start)
			if err := wal.Close(); err != nil {
				b.Fatal(err)
			}

			start = time.Now()
			rn := startFixtureNode(b, dir, "n1", map[string]string{"n1": "n1"}, 50*time.Millisecond, &fixtureNetwork{})
			waitStaleRead(b, rn.node, lastKey, n)
			serve += time.Since(start)
			seq++
			waitWrite(b, rn.node, "restarted", fixtureClients+1, seq)
			write += time.Since(start)
			rn.stop()
		}
		perRestart := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
		b.ReportMetric(perRestart(open), "open-ms")
		b.ReportMetric(perRestart(serve), "ms/restart")
		b.ReportMetric(perRestart(write), "first-write-ms")
	})
}

// BenchmarkCatchUp: a follower with an empty log joins a leader whose log
// holds 200,000 committed writes; the leader's MsgApps (bounded to 1 MiB,
// pipelined) carry the whole log over an in-memory transport, and the
// follower persists and applies it. The clock runs from the leader's
// election to the follower having applied the leader's last entry, and the
// figure is entries per second (256-byte values, about 275 bytes of
// payload each).
func BenchmarkCatchUp(b *testing.B) {
	const n = 200_000
	leaderDir := b.TempDir()
	writeFixture(b, leaderDir, "n1", n)
	members := map[string]string{"n1": "n1", "n2": "n2"}
	b.Run("entries=200k", func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			net := &fixtureNetwork{}
			followerDir, err := os.MkdirTemp(b.TempDir(), "follower")
			if err != nil {
				b.Fatal(err)
			}
			// Only n1 can win an election: n2's log is behind. T is long
			// enough for a leader to keep its quorum while its follower
			// is busy writing the log (check-quorum).
			follower := startFixtureNode(b, followerDir, "n2", members, time.Second, net)
			leader := startFixtureNode(b, leaderDir, "n1", members, time.Second, net)
			deadline := time.Now().Add(time.Minute)
			testkit.PollEvery(b, time.Millisecond, time.Minute, "n1 to lead", func() (bool, string) {
				return leader.node.Status().GetRole() == pb.Role_ROLE_LEADER, "no leader"
			})
			start := time.Now()
			last := leader.node.Status().GetLastIndex()
			for follower.node.Status().GetAppliedIndex() < last {
				if time.Now().After(deadline) {
					ls, fs := leader.node.Status(), follower.node.Status()
					b.Fatalf("follower applied %d of %d: leader %s in term %d, follower %s in term %d", fs.GetAppliedIndex(), last, ls.GetRole(), ls.GetTerm(), fs.GetRole(), fs.GetTerm())
				}
				time.Sleep(time.Millisecond)
			}
			total += time.Since(start)
			leader.stop()
			follower.stop()
			if err := os.RemoveAll(followerDir); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/total.Seconds(), "entries/s")
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/catch-up")
	})
}
