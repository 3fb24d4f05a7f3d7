package raftnode

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
)

// castagnoli is the CRC-32C table the snapshot chunks are checked with.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Limits of snapshot transfers.
const (
	// maxSnapshotChunk bounds the data of one chunk: small enough that a
	// heartbeat queued behind a chunk on the same link waits little.
	maxSnapshotChunk = 1 << 20
	// snapshotWindow is how many chunks of one transfer may be sent and
	// not yet acknowledged: the flow control that keeps a transfer from
	// filling the follower's link (and the sender's memory).
	snapshotWindow = 2
	// maxSnapshotSends bounds the transfers a leader runs at once; a
	// follower beyond it is refused and the core retries it at a later
	// heartbeat.
	maxSnapshotSends = 2
	// snapshotRetries bounds the restarts of one transfer after the
	// receiver refused a chunk.
	snapshotRetries = 3
)

// errSnapshotRefused: the receiver refused the transfer too often.
var errSnapshotRefused = errors.New("snapshot refused")

// snapshotSender streams the newest snapshot to followers the core sends a
// MsgSnap to (raft thesis §5.3), each transfer on a goroutine of its own,
// in checked chunks, at most snapshotWindow unacknowledged, and reports
// each transfer's end to the loop, which tells the core (ReportSnapshot).
type snapshotSender struct {
	id        string
	store     SnapshotStore
	transport Transport
	logger    *slog.Logger
	chunkSize int           // ≤ maxSnapshotChunk
	resend    time.Duration // no acknowledgement for this long: send the unacknowledged chunks again
	timeout   time.Duration // no progress for this long: the transfer fails
	paused    func() bool   // the node is paused: it sends nothing
	traffic   *sharedTraffic
	// reports carries each transfer's end to the loop.
	reports chan snapshotReport
	stop    chan struct{}
	wg      sync.WaitGroup

	mu    sync.Mutex
	sends map[string]*outgoingSnapshot // by peer
	// sum caches the checksum of the last snapshot file sent: a follower
	// that stays down is retried every few seconds, and reading a large
	// snapshot whole for each try would cost more than the try.
	sum fileSum
}

// fileSum is the CRC-32C and size of a snapshot file.
type fileSum struct {
	path string
	crc  uint32
	size int64
}

// outgoingSnapshot is one transfer under way.
type outgoingSnapshot struct {
	peer    string
	id      uint64 // transfer id: the receiver tells transfers apart by it; guarded by snapshotSender.mu
	term    uint64 // the leader's term
	info    kvmap.SnapshotInfo
	started time.Time
	acks    chan *pb.InstallSnapshotResponse
	acked   int64 // guarded by snapshotSender.mu
}

// snapshotReport is how a transfer ended.
type snapshotReport struct {
	peer  string
	index uint64
	size  int64
	err   error // nil: the follower has the whole snapshot, verified
}

func newSnapshotSender(id string, store SnapshotStore, transport Transport, logger *slog.Logger, timeout time.Duration, paused func() bool, traffic *sharedTraffic) *snapshotSender {
	return &snapshotSender{
		id: id, store: store, transport: transport, logger: logger,
		chunkSize: maxSnapshotChunk, resend: timeout / 5, timeout: timeout, paused: paused, traffic: traffic,
		reports: make(chan snapshotReport, maxSnapshotSends+1),
		stop:    make(chan struct{}),
		sends:   make(map[string]*outgoingSnapshot),
	}
}

// start begins sending the newest snapshot to m.To, unless a transfer to
// it is under way or too many are; a refusal is reported like a failed
// transfer. It may be called from any goroutine.
func (s *snapshotSender) start(m raft.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sends[m.To] != nil {
		return // the core waits for the one under way
	}
	fail := func(err error) {
		select {
		case s.reports <- snapshotReport{peer: m.To, index: m.Snapshot.Index, err: err}:
		default: // the loop hears of the next one; the core retries anyway
		}
	}
	if len(s.sends) >= maxSnapshotSends {
		fail(fmt.Errorf("%d snapshot transfers under way already", len(s.sends)))
		return
	}
	info, ok, err := s.store.Newest()
	if err == nil && (!ok || info.Index < m.Snapshot.Index) {
		err = fmt.Errorf("no snapshot at or after index %d", m.Snapshot.Index)
	}
	if err != nil {
		fail(err)
		return
	}
	o := &outgoingSnapshot{peer: m.To, id: rand.Uint64(), term: m.Term, info: info, started: time.Now(), acks: make(chan *pb.InstallSnapshotResponse, 4*snapshotWindow)}
	s.sends[m.To] = o
	s.wg.Add(1)
	go s.run(o)
}

// ack hands a receiver's answer to its transfer; answers to transfers
// that ended are dropped.
func (s *snapshotSender) ack(from string, r *pb.InstallSnapshotResponse) {
	s.mu.Lock()
	o := s.sends[from]
	current := o != nil && o.id == r.GetTransferId()
	s.mu.Unlock()
	if !current {
		return
	}
	select {
	case o.acks <- r:
	default: // a later answer says as much
	}
}

// run streams one transfer and reports its end.
func (s *snapshotSender) run(o *outgoingSnapshot) {
	defer s.wg.Done()
	err := s.stream(o)
	s.mu.Lock()
	delete(s.sends, o.peer)
	s.mu.Unlock()
	select {
	case s.reports <- snapshotReport{peer: o.peer, index: o.info.Index, size: o.info.Size, err: err}:
	case <-s.stop:
	}
}

// stream sends the snapshot file in chunks, keeping at most
// snapshotWindow unacknowledged: a lost chunk or answer is sent again
// after resend, a refusal restarts the transfer, and no progress for
// timeout ends it.
func (s *snapshotSender) stream(o *outgoingSnapshot) error {
	f, err := os.Open(o.info.Path) // stays readable if pruned meanwhile
	if err != nil {
		return fmt.Errorf("open snapshot: %w", err)
	}
	defer f.Close()
	sum, size, err := s.checksum(f, o.info.Path)
	if err != nil {
		return fmt.Errorf("read snapshot %s: %w", o.info.Path, err)
	}
	var sent, acked int64 // bytes sent, and acknowledged, from the start
	retries := 0
	progress := time.Now()
	resend := time.NewTimer(s.resend)
	defer resend.Stop()
	for {
		for sent < size && sent-acked < int64(snapshotWindow*s.chunkSize) && !s.paused() {
			n, err := s.sendChunk(f, o, sent, size, sum)
			if err != nil {
				return err
			}
			if n == 0 {
				break // the link is full or cut: wait for resend
			}
			sent += n
		}
		select {
		case r := <-o.acks:
			switch {
			case r.GetRejected():
				retries++
				s.logger.Warn("snapshot chunk refused", "peer", o.peer, "index", o.info.Index, "reason", r.GetReason(), "retry", retries)
				if retries > snapshotRetries {
					return fmt.Errorf("%w by %s: %s", errSnapshotRefused, o.peer, r.GetReason())
				}
				sent, acked = 0, 0 // the receiver dropped what it had
				s.setAcked(o, 0)
				s.mu.Lock()
				o.id = rand.Uint64()
				s.mu.Unlock()
			case r.GetDone():
				s.setAcked(o, size)
				return nil
			case r.GetNextOffset() > acked && r.GetNextOffset() <= size:
				acked = r.GetNextOffset()
				s.setAcked(o, acked)
				progress = time.Now()
				sent = max(sent, acked)
			case r.GetNextOffset() == size:
				// Everything is in; the receiver is verifying it, which
				// takes a while for a large snapshot: it is alive.
				progress = time.Now()
			case r.GetNextOffset() < sent:
				// A chunk was lost on the way: go on from what arrived.
				sent = max(r.GetNextOffset(), acked)
			}
		case <-resend.C:
			if time.Since(progress) > s.timeout {
				return fmt.Errorf("snapshot to %s: no progress for %s", o.peer, s.timeout)
			}
			sent = acked // send the unacknowledged chunks again
		case <-s.stop:
			return errors.New("node stopping")
		}
		if !resend.Stop() {
			select {
			case <-resend.C:
			default:
			}
		}
		resend.Reset(s.resend)
	}
}

// sendChunk sends the chunk at offset; it reports the bytes sent, 0 when
// the link refused it.
func (s *snapshotSender) sendChunk(f *os.File, o *outgoingSnapshot, offset, size int64, sum uint32) (int64, error) {
	data := make([]byte, min(int64(s.chunkSize), size-offset))
	if _, err := f.ReadAt(data, offset); err != nil {
		return 0, fmt.Errorf("read snapshot %s at %d: %w", o.info.Path, offset, err)
	}
	s.mu.Lock()
	id := o.id
	s.mu.Unlock()
	done := offset+int64(len(data)) == size
	c := &pb.InstallSnapshotChunk{
		Term:          int64(o.term),
		LeaderId:      s.id,
		TransferId:    id,
		SnapshotIndex: int64(o.info.Index),
		SnapshotTerm:  int64(o.info.Term),
		Offset:        offset,
		TotalSize:     size,
		Data:          data,
		ChunkCrc32C:   crc32.Checksum(data, castagnoli),
		Done:          done,
	}
	if done {
		c.SnapshotCrc32C = sum
	}
	w := &pb.RaftKvMessage{Type: pb.RaftKvMessage_INSTALL_SNAPSHOT, NodeId: s.id, To: o.peer, InstallSnapshot: c, TraceId: s.traffic.tracer.next()}
	if !s.transport.Send(o.peer, w) {
		return 0, nil
	}
	s.traffic.countSnapshot(s.id, o.peer, true, w.TraceId, c.Term, int64(len(data)), size, offset+int64(len(data)))
	return int64(len(data)), nil
}

func (s *snapshotSender) setAcked(o *outgoingSnapshot, acked int64) {
	s.mu.Lock()
	o.acked = acked
	s.mu.Unlock()
}

// transfers describes the transfers under way, for Status.
func (s *snapshotSender) transfers() []*pb.SnapshotTransfer {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*pb.SnapshotTransfer
	for _, o := range s.sends {
		out = append(out, transferView(o.peer, true, o.info.Index, o.acked, o.info.Size, o.started))
	}
	return out
}

// transferView is one transfer as Status shows it.
func transferView(peer string, sending bool, index uint64, done, total int64, started time.Time) *pb.SnapshotTransfer {
	t := &pb.SnapshotTransfer{Peer: peer, Sending: sending, SnapshotIndex: int64(index), BytesDone: done, TotalBytes: total}
	if secs := time.Since(started).Seconds(); secs > 0 {
		t.BytesPerSecond = int64(float64(done) / secs)
	}
	return t
}

// close stops every transfer and waits for them.
func (s *snapshotSender) close() {
	close(s.stop)
	s.wg.Wait()
}

// checksum is the CRC-32C and size of f, the snapshot file at path, read
// once per file: snapshot files are never rewritten under one name.
func (s *snapshotSender) checksum(f *os.File, path string) (uint32, int64, error) {
	s.mu.Lock()
	cached := s.sum
	s.mu.Unlock()
	if cached.path == path {
		return cached.crc, cached.size, nil
	}
	crc, size, err := fileCRC(f)
	if err == nil {
		s.mu.Lock()
		s.sum = fileSum{path: path, crc: crc, size: size}
		s.mu.Unlock()
	}
	return crc, size, err
}

// fileCRC is the CRC-32C and size of f's whole content.
func fileCRC(f *os.File) (uint32, int64, error) {
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<62))
	return h.Sum32(), n, err
}
