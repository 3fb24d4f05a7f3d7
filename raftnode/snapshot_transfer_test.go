package raftnode

import (
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
)

// transferPipe connects a snapshot sender on n1 with a receiver on n2, in
// memory: chunks go to the receiver and answers to the sender, each
// through tamper first (nil: untouched; false: dropped).
type transferPipe struct {
	sender   *snapshotSender
	receiver *snapshotReceiver
	mu       sync.Mutex
	tamper   func(m *pb.RaftKvMessage) bool
	chunks   int // chunks delivered
}

func (p *transferPipe) Send(to string, m *pb.RaftKvMessage) bool {
	p.mu.Lock()
	tamper := p.tamper
	p.mu.Unlock()
	if tamper != nil && !tamper(m) {
		return true // lost on the way
	}
	switch to {
	case "n2":
		p.mu.Lock()
		p.chunks++
		p.mu.Unlock()
		p.receiver.chunk("n1", 0, m.GetInstallSnapshot())
	case "n1":
		p.sender.ack("n2", m.GetInstallSnapshotResponse())
	}
	return true
}

var _ Transport = (*transferPipe)(nil)

// newTransfer builds a leader n1 whose newest snapshot holds keys keys,
// streamed in chunks of chunk bytes, and a follower n2 with an empty
// snapshot store, joined by a transferPipe. It returns the snapshot.
func newTransfer(t *testing.T, keys, chunk int, timeout time.Duration) (*transferPipe, *kvmap.Map, kvmap.SnapshotInfo, string) {
	t.Helper()
	kv := kvmap.New(kvmap.Options{})
	for i := 1; i <= keys; i++ {
		cmd := kvmap.Command{Op: kvmap.OpPut, Key: fmt.Sprintf("key-%05d", i), Value: strings.Repeat("v", 100)}
		kv.Apply(uint64(i), cmd.Encode())
	}
	leaderDir := kvmap.NewSnapshotDir(t.TempDir(), kvmap.Options{})
	info, err := leaderDir.Save(kv, 3)
	if err != nil {
		t.Fatal(err)
	}
	followerPath := t.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pipe := &transferPipe{}
	traffic := &sharedTraffic{t: newTrafficTable([]string{"n1", "n2"})}
	pipe.sender = newSnapshotSender("n1", leaderDir, pipe, logger, timeout, func() bool { return false }, traffic)
	pipe.sender.chunkSize = chunk
	pipe.receiver = newSnapshotReceiver("n2", kvmap.NewSnapshotDir(followerPath, kvmap.Options{}), &sync.Mutex{}, pipe, logger, traffic)
	t.Cleanup(pipe.sender.close)
	return pipe, kv, info, followerPath
}

// awaitReport waits for the sender's report of the transfer to n2.
func awaitReport(t *testing.T, s *snapshotSender) snapshotReport {
	t.Helper()
	select {
	case rep := <-s.reports:
		return rep
	case <-time.After(30 * time.Second):
		t.Fatal("no report of the transfer")
		return snapshotReport{}
	}
}

func TestSnapshotTransfer(t *testing.T) {
	pipe, kv, info, dir := newTransfer(t, 3000, 4<<10, 10*time.Second)
	pipe.sender.start(raft.Message{Type: raft.MsgSnap, From: "n1", To: "n2", Term: 4, Snapshot: raft.SnapshotMeta{Index: info.Index, Term: info.Term}})
	if rep := awaitReport(t, pipe.sender); rep.err != nil || rep.index != info.Index || rep.size != info.Size {
		t.Fatalf("report %+v, want success for index %d, %d bytes", rep, info.Index, info.Size)
	}
	in := <-pipe.receiver.installs
	if in.snap.Index != info.Index || in.snap.Term != 3 || in.term != 4 || in.from != "n1" {
		t.Errorf("received %+v from %s in term %d", in.snap, in.from, in.term)
	}
	if in.kv.Digest() != kv.Digest() || in.kv.AppliedIndex() != kv.AppliedIndex() {
		t.Errorf("received state %s at %d, want %s at %d", in.kv.Digest(), in.kv.AppliedIndex(), kv.Digest(), kv.AppliedIndex())
	}
	if pipe.chunks < int(info.Size/(4<<10)) {
		t.Errorf("%d chunks for %d bytes in chunks of 4 KiB", pipe.chunks, info.Size)
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "*.snap")); len(names) != 1 {
		t.Errorf("follower's snapshot files: %v, want the one received", names)
	}
}

// TestSnapshotTransferRestartsAfterABadChunk: a chunk damaged on the way is
// refused, the partial file dropped, and the transfer starts again and
// succeeds; a chunk lost on the way is sent again.
func TestSnapshotTransferRestartsAfterABadChunk(t *testing.T) {
	pipe, kv, info, _ := newTransfer(t, 2000, 4<<10, 10*time.Second)
	var once, lose sync.Once
	pipe.tamper = func(m *pb.RaftKvMessage) bool {
		c := m.GetInstallSnapshot()
		if c == nil || c.GetOffset() == 0 {
			return true
		}
		kept := true
		once.Do(func() { c.Data = append([]byte{c.Data[0] ^ 0xff}, c.Data[1:]...) })
		if c.GetOffset() >= 3*4<<10 {
			lose.Do(func() { kept = false })
		}
		return kept
	}
	pipe.sender.resend = 50 * time.Millisecond
	pipe.sender.start(raft.Message{Type: raft.MsgSnap, From: "n1", To: "n2", Term: 4, Snapshot: raft.SnapshotMeta{Index: info.Index, Term: info.Term}})
	if rep := awaitReport(t, pipe.sender); rep.err != nil {
		t.Fatalf("transfer after a bad chunk: %v", rep.err)
	}
	if in := <-pipe.receiver.installs; in.kv.Digest() != kv.Digest() {
		t.Errorf("received state %s, want %s", in.kv.Digest(), kv.Digest())
	}
}

// TestSnapshotTransferGivesUp: a follower that never answers fails the
// transfer after the timeout, and one that refuses every chunk after a few
// restarts; nothing is installed.
func TestSnapshotTransferGivesUp(t *testing.T) {
	for name, tamper := range map[string]func(m *pb.RaftKvMessage) bool{
		"silent": func(*pb.RaftKvMessage) bool { return false },
		"refusing": func(m *pb.RaftKvMessage) bool {
			if c := m.GetInstallSnapshot(); c != nil {
				c.ChunkCrc32C++
			}
			return true
		},
	} {
		t.Run(name, func(t *testing.T) {
			pipe, _, info, dir := newTransfer(t, 500, 4<<10, 300*time.Millisecond)
			pipe.tamper = tamper
			pipe.sender.start(raft.Message{Type: raft.MsgSnap, From: "n1", To: "n2", Term: 4, Snapshot: raft.SnapshotMeta{Index: info.Index, Term: info.Term}})
			if rep := awaitReport(t, pipe.sender); rep.err == nil {
				t.Fatal("transfer succeeded")
			}
			select {
			case in := <-pipe.receiver.installs:
				t.Errorf("installed %+v", in.snap)
			default:
			}
			if names, _ := filepath.Glob(filepath.Join(dir, "*")); len(names) != 0 {
				t.Errorf("follower's snapshot dir holds %v, want nothing", names)
			}
		})
	}
}

// TestSnapshotReceiverRefusesBadChunks: each bad chunk is refused with a
// reason and leaves no partial file; a chunk after a gap is refused alone,
// and the answer says where to go on from.
func TestSnapshotReceiverRefusesBadChunks(t *testing.T) {
	data := []byte(strings.Repeat("snapshot bytes ", 100))
	sum := crc32.Checksum(data, castagnoli)
	good := func() *pb.InstallSnapshotChunk {
		return &pb.InstallSnapshotChunk{Term: 2, LeaderId: "n1", TransferId: 7, SnapshotIndex: 10, SnapshotTerm: 2, TotalSize: 3000, Data: data, ChunkCrc32C: sum}
	}
	tests := []struct {
		name   string
		change func(c *pb.InstallSnapshotChunk)
		reason string
	}{
		{"checksum", func(c *pb.InstallSnapshotChunk) { c.ChunkCrc32C++ }, "chunk checksum mismatch"},
		{"absurd size", func(c *pb.InstallSnapshotChunk) { c.TotalSize = 1 << 50 }, "absurd snapshot size"},
		{"negative size", func(c *pb.InstallSnapshotChunk) { c.TotalSize = -1 }, "absurd snapshot size"},
		{"beyond the end", func(c *pb.InstallSnapshotChunk) { c.TotalSize = 100 }, "in a snapshot of 100"},
		{"too big", func(c *pb.InstallSnapshotChunk) {
			c.Data = make([]byte, maxSnapshotChunk+1)
			c.ChunkCrc32C, c.TotalSize = crc32.Checksum(c.Data, castagnoli), 2*maxSnapshotChunk
		}, "chunk of 1048577 bytes"},
		{"no index", func(c *pb.InstallSnapshotChunk) { c.SnapshotIndex = 0 }, "snapshot 0/2"},
		{"term after the leader's", func(c *pb.InstallSnapshotChunk) { c.SnapshotTerm = 5 }, "snapshot 10/5 in term 2"},
		{"unknown transfer", func(c *pb.InstallSnapshotChunk) { c.Offset = 1500 }, "did not start here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var sent []*pb.RaftKvMessage
			r := newSnapshotReceiver("n2", kvmap.NewSnapshotDir(dir, kvmap.Options{}), &sync.Mutex{}, sendFunc(func(m *pb.RaftKvMessage) { sent = append(sent, m) }), slog.New(slog.NewTextHandler(io.Discard, nil)), &sharedTraffic{t: newTrafficTable([]string{"n1"})})
			c := good()
			tt.change(c)
			r.chunk("n1", 0, c)
			if len(sent) != 1 || !sent[0].GetInstallSnapshotResponse().GetRejected() || !strings.Contains(sent[0].GetInstallSnapshotResponse().GetReason(), tt.reason) {
				t.Fatalf("answers %v, want one refusal saying %q", sent, tt.reason)
			}
			if names, _ := filepath.Glob(filepath.Join(dir, "*")); len(names) != 0 {
				t.Errorf("snapshot dir holds %v after a refused chunk", names)
			}
		})
	}

	t.Run("gap, then a bad whole", func(t *testing.T) {
		dir := t.TempDir()
		var sent []*pb.RaftKvMessage
		r := newSnapshotReceiver("n2", kvmap.NewSnapshotDir(dir, kvmap.Options{}), &sync.Mutex{}, sendFunc(func(m *pb.RaftKvMessage) { sent = append(sent, m) }), slog.New(slog.NewTextHandler(io.Discard, nil)), &sharedTraffic{t: newTrafficTable([]string{"n1"})})
		first := good()
		first.TotalSize = 4 * int64(len(data))
		r.chunk("n1", 0, first)
		gap := good()
		gap.Offset, gap.TotalSize = 2*int64(len(data)), first.TotalSize
		r.chunk("n1", 0, gap)
		if resp := sent[1].GetInstallSnapshotResponse(); resp.GetRejected() || resp.GetNextOffset() != int64(len(data)) {
			t.Fatalf("answer to a chunk after a gap: %v, want next_offset %d", resp, len(data))
		}
		last := good()
		last.Offset, last.TotalSize, last.Done, last.SnapshotCrc32C = int64(len(data)), 2*int64(len(data)), true, 12345
		first.TotalSize = last.TotalSize
		sent = nil
		r.drop() // a new transfer of the same id starts over
		r.chunk("n1", 0, first)
		r.chunk("n1", 0, last)
		r.verifying.Wait() // the whole is verified on a goroutine of its own
		if resp := sent[len(sent)-1].GetInstallSnapshotResponse(); !resp.GetRejected() {
			t.Fatalf("answer to a snapshot whose whole checksum is wrong: %v", resp)
		}
		select {
		case in := <-r.installs:
			t.Fatalf("installed %+v", in.snap)
		default:
		}
		if names, _ := filepath.Glob(filepath.Join(dir, "*")); len(names) != 0 {
			t.Errorf("snapshot dir holds %v after a refused snapshot", names)
		}
	})
}

// sendFunc is a Transport that hands every message to a function.
type sendFunc func(m *pb.RaftKvMessage)

func (f sendFunc) Send(_ string, m *pb.RaftKvMessage) bool { f(m); return true }

// TestSnapshotReceiverWhileVerifying: while the whole snapshot is being
// verified, the leader's resent last chunk is answered "everything is in"
// (the transfer stays alive), and a chunk of another transfer is refused
// without touching the file being verified.
func TestSnapshotReceiverWhileVerifying(t *testing.T) {
	dir := kvmap.NewSnapshotDir(t.TempDir(), kvmap.Options{})
	part, err := dir.Create(10, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer part.Abort()
	var sent []*pb.RaftKvMessage
	r := newSnapshotReceiver("n2", dir, &sync.Mutex{}, sendFunc(func(m *pb.RaftKvMessage) { sent = append(sent, m) }), slog.New(slog.NewTextHandler(io.Discard, nil)), &sharedTraffic{t: newTrafficTable([]string{"n1"})})
	r.cur = &incomingSnapshot{from: "n1", id: 7, snap: raft.SnapshotMeta{Index: 10, Term: 2}, total: 3000, part: part, verifying: true}
	data := []byte("last")
	r.chunk("n1", 0, &pb.InstallSnapshotChunk{Term: 2, TransferId: 7, SnapshotIndex: 10, SnapshotTerm: 2, Offset: 2996, TotalSize: 3000, Data: data, ChunkCrc32C: crc32.Checksum(data, castagnoli), Done: true})
	r.chunk("n1", 0, &pb.InstallSnapshotChunk{Term: 2, TransferId: 8, SnapshotIndex: 12, SnapshotTerm: 2, TotalSize: 3000, Data: data, ChunkCrc32C: crc32.Checksum(data, castagnoli)})
	if len(sent) != 2 {
		t.Fatalf("answers %v, want two", sent)
	}
	if a := sent[0].GetInstallSnapshotResponse(); a.GetRejected() || a.GetNextOffset() != 3000 {
		t.Errorf("answer to the resent last chunk: %v, want next_offset 3000", a)
	}
	if a := sent[1].GetInstallSnapshotResponse(); !a.GetRejected() {
		t.Errorf("answer to another transfer's chunk: %v, want a refusal", a)
	}
	if r.cur == nil || r.cur.part != part {
		t.Error("the snapshot being verified was dropped")
	}
}
