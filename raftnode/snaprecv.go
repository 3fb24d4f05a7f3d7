package raftnode

import (
	"fmt"
	"hash/crc32"
	"log/slog"
	"sync"
	"time"

	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
)

// maxSnapshotSize bounds the size a snapshot transfer may claim: a chunk
// claiming more is refused before anything is written.
const maxSnapshotSize = 1 << 40

// snapshotReceiver takes the chunks of a snapshot a leader streams to this
// node (snapsend.go), checks each one, writes them to a partial file in
// the snapshot store and, at the last, verifies the whole and makes it a
// durable snapshot, then hands it to the loop, which steps the MsgSnap
// into the core. It runs on the goroutine of the leader's connection, so
// the loop never waits for a disk write of a chunk.
type snapshotReceiver struct {
	id        string
	store     SnapshotStore
	storeMu   *sync.Mutex // serializes writes to store with the snapshotter
	transport Transport
	logger    *slog.Logger
	traffic   *sharedTraffic
	// installs carries each verified snapshot to the loop.
	installs chan receivedSnapshot

	mu  sync.Mutex
	cur *incomingSnapshot // the transfer under way; nil when none
	// verifying counts the goroutines verifying a received snapshot.
	verifying sync.WaitGroup
}

// incomingSnapshot is one transfer being received.
type incomingSnapshot struct {
	from    string
	id      uint64
	snap    raft.SnapshotMeta
	total   int64
	part    *kvmap.PartialSnapshot
	started time.Time
	// verifying: every chunk is in, and a goroutine is verifying the
	// whole; the partial file is its own now.
	verifying bool
}

// receivedSnapshot is a snapshot received whole and durable, for the loop.
type receivedSnapshot struct {
	from string
	term uint64 // the leader's term
	snap raft.SnapshotMeta
	kv   *kvmap.Map
	size int64
	// started is when its first chunk arrived.
	started time.Time
}

func newSnapshotReceiver(id string, store SnapshotStore, storeMu *sync.Mutex, transport Transport, logger *slog.Logger, traffic *sharedTraffic) *snapshotReceiver {
	return &snapshotReceiver{id: id, store: store, storeMu: storeMu, transport: transport, logger: logger, traffic: traffic, installs: make(chan receivedSnapshot, 1)}
}

// chunk takes one chunk from the leader from and answers it. A chunk that
// fails its check or claims an absurd size is refused: the partial file
// is dropped and the leader starts again. A chunk after a gap (one was
// lost) is refused alone, and the answer says where to go on from.
func (r *snapshotReceiver) chunk(from string, trace uint64, c *pb.InstallSnapshotChunk) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.store == nil {
		r.refuse(from, c, "this node keeps no snapshots")
		return
	}
	if reason := checkChunk(c); reason != "" {
		r.refuse(from, c, reason)
		return
	}
	snap := raft.SnapshotMeta{Index: uint64(c.GetSnapshotIndex()), Term: uint64(c.GetSnapshotTerm())}
	in := r.cur
	if in != nil && in.verifying {
		if in.from == from && in.id == c.GetTransferId() {
			// The leader sends the last chunk again while it waits: say
			// everything is in, which keeps the transfer alive.
			r.answer(from, c, &pb.InstallSnapshotResponse{NextOffset: in.total})
		} else {
			r.answer(from, c, &pb.InstallSnapshotResponse{Rejected: true, Reason: "another snapshot is being verified"})
		}
		return
	}
	if in == nil || in.from != from || in.id != c.GetTransferId() {
		if c.GetOffset() != 0 {
			r.refuse(from, c, fmt.Sprintf("chunk at %d of a transfer that did not start here", c.GetOffset()))
			return
		}
		r.drop()
		part, err := r.store.Create(snap.Index, snap.Term)
		if err != nil {
			r.logger.Error("cannot receive a snapshot", "from", from, "err", err)
			r.refuse(from, c, "cannot create the snapshot file")
			return
		}
		in = &incomingSnapshot{from: from, id: c.GetTransferId(), snap: snap, total: c.GetTotalSize(), part: part, started: time.Now()}
		r.cur = in
	}
	if in.snap.Index != snap.Index || in.snap.Term != snap.Term || in.total != c.GetTotalSize() {
		r.refuse(from, c, fmt.Sprintf("chunk of snapshot %d/%d (%d bytes) in the transfer of %d/%d (%d bytes)",
			snap.Index, snap.Term, c.GetTotalSize(), in.snap.Index, in.snap.Term, in.total))
		return
	}
	size := in.part.Size()
	switch {
	case c.GetOffset() < size: // sent again: already here
	case c.GetOffset() > size:
		r.logger.Warn("refused snapshot chunk", "from", from, "reason", fmt.Sprintf("chunk at %d after %d bytes: one was lost", c.GetOffset(), size))
	default:
		if err := in.part.Write(c.GetData()); err != nil {
			r.logger.Error("cannot write a snapshot chunk", "from", from, "err", err)
			r.refuse(from, c, "cannot write the snapshot file")
			return
		}
		size += int64(len(c.GetData()))
		r.traffic.countSnapshot(from, r.id, false, trace, c.GetTerm(), int64(len(c.GetData())), in.total, size)
	}
	if !c.GetDone() || c.GetOffset()+int64(len(c.GetData())) != size {
		r.answer(from, c, &pb.InstallSnapshotResponse{NextOffset: size})
		return
	}
	if size != in.total {
		r.refuse(from, c, fmt.Sprintf("last chunk ends at %d of %d bytes", size, in.total))
		return
	}
	// Verifying reads the whole file back and builds the state machine,
	// which takes seconds for a large snapshot: not on this goroutine,
	// which also carries the leader's heartbeats.
	in.verifying = true
	r.verifying.Add(1)
	go func() {
		defer r.verifying.Done()
		r.verify(in, c)
	}()
}

// verify makes the received snapshot durable and checks it whole, then
// hands it to the loop and tells the leader.
func (r *snapshotReceiver) verify(in *incomingSnapshot, c *pb.InstallSnapshotChunk) {
	r.storeMu.Lock()
	kv, info, err := in.part.Commit(c.GetSnapshotCrc32C())
	r.storeMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == in {
		r.cur = nil
	}
	if err != nil {
		r.logger.Warn("refused snapshot", "from", in.from, "index", in.snap.Index, "err", err)
		r.answer(in.from, c, &pb.InstallSnapshotResponse{Rejected: true, Reason: err.Error()})
		return
	}
	select {
	case r.installs <- receivedSnapshot{from: in.from, term: uint64(c.GetTerm()), snap: in.snap, kv: kv, size: info.Size, started: in.started}:
	default:
		// The loop has one still to take: the leader sends again if it
		// needs to. The snapshot is saved either way.
		r.logger.Warn("snapshot received while another waits to be installed", "from", in.from, "index", in.snap.Index)
	}
	r.answer(in.from, c, &pb.InstallSnapshotResponse{NextOffset: in.total, Done: true})
}

// checkChunk says what is wrong with c on its own, "" when nothing.
func checkChunk(c *pb.InstallSnapshotChunk) string {
	n := int64(len(c.GetData()))
	switch {
	case c.GetSnapshotIndex() <= 0 || c.GetSnapshotTerm() <= 0 || c.GetTerm() < c.GetSnapshotTerm():
		return fmt.Sprintf("snapshot %d/%d in term %d", c.GetSnapshotIndex(), c.GetSnapshotTerm(), c.GetTerm())
	case c.GetTotalSize() <= 0 || c.GetTotalSize() > maxSnapshotSize:
		return fmt.Sprintf("absurd snapshot size %d", c.GetTotalSize())
	case n > maxSnapshotChunk || (n == 0 && !c.GetDone()):
		return fmt.Sprintf("chunk of %d bytes", n)
	case c.GetOffset() < 0 || c.GetOffset() > c.GetTotalSize()-n:
		return fmt.Sprintf("chunk of %d bytes at %d in a snapshot of %d", n, c.GetOffset(), c.GetTotalSize())
	case crc32.Checksum(c.GetData(), castagnoli) != c.GetChunkCrc32C():
		return "chunk checksum mismatch"
	}
	return ""
}

// refuse drops the transfer under way and tells the leader to start again.
func (r *snapshotReceiver) refuse(from string, c *pb.InstallSnapshotChunk, reason string) {
	r.logger.Warn("refused snapshot chunk", "from", from, "offset", c.GetOffset(), "reason", reason)
	if r.cur != nil && r.cur.from == from {
		r.drop()
	}
	r.answer(from, c, &pb.InstallSnapshotResponse{Rejected: true, Reason: reason})
}

// drop removes the partial file of the transfer under way, unless it is
// being verified (the verifying goroutine owns it then).
func (r *snapshotReceiver) drop() {
	if r.cur != nil && !r.cur.verifying {
		r.cur.part.Abort()
		r.cur = nil
	}
}

// answer sends resp, about chunk c, to the leader.
func (r *snapshotReceiver) answer(to string, c *pb.InstallSnapshotChunk, resp *pb.InstallSnapshotResponse) {
	resp.Term, resp.TransferId, resp.SnapshotIndex = c.GetTerm(), c.GetTransferId(), c.GetSnapshotIndex()
	r.transport.Send(to, &pb.RaftKvMessage{Type: pb.RaftKvMessage_INSTALL_SNAPSHOT_RESPONSE, NodeId: r.id, To: to, InstallSnapshotResponse: resp})
}

// transfers describes the transfer under way, for Status.
func (r *snapshotReceiver) transfers() []*pb.SnapshotTransfer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return nil
	}
	if r.cur.verifying {
		return []*pb.SnapshotTransfer{transferView(r.cur.from, false, r.cur.snap.Index, r.cur.total, r.cur.total, r.cur.started)}
	}
	return []*pb.SnapshotTransfer{transferView(r.cur.from, false, r.cur.snap.Index, r.cur.part.Size(), r.cur.total, r.cur.started)}
}

// close drops a transfer under way (its partial file goes) and waits for
// a snapshot being verified.
func (r *snapshotReceiver) close() {
	r.mu.Lock()
	r.drop()
	r.mu.Unlock()
	r.verifying.Wait()
}
