package netlink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/easykv/easykv/netlink/pb"
)

// backupChunkSize is how many snapshot bytes one BACKUP_CHUNK carries at
// most: well under DefaultMaxFrameSize.
const backupChunkSize = 1 << 20

// Backup is a snapshot of a leader's state machine, taken and ready to
// stream (Handler.Backup).
type Backup struct {
	Index uint64 // its last applied index
	Term  uint64 // the term of the entry at Index
	// Write writes the snapshot in kvmap's snapshot format.
	Write func(w io.Writer) error
}

// NotLeaderError is what Handler.Backup returns on a node that does not
// lead: the client asks the leader it names instead.
type NotLeaderError struct {
	LeaderID, LeaderAddr string // "" when unknown
}

func (e *NotLeaderError) Error() string {
	if e.LeaderID == "" {
		return "not the leader, and no leader known"
	}
	return fmt.Sprintf("not the leader; the leader is %s at %s", e.LeaderID, e.LeaderAddr)
}

// streamBackup answers a BACKUP_REQUEST: the snapshot in chunks, then a
// chunk with done set; or one chunk with the error.
func (cc *clientConn) streamBackup(id uint64) {
	send := func(c *pb.BackupChunk) bool {
		return cc.send(cc.ctx, &pb.RaftKvMessage{Type: pb.RaftKvMessage_BACKUP_CHUNK, RequestId: id, BackupChunk: c})
	}
	b, err := cc.s.h.Backup(cc.ctx)
	if err != nil {
		refusal := &pb.BackupChunk{Error: err.Error()}
		if nl, ok := errors.AsType[*NotLeaderError](err); ok {
			refusal.NotLeader, refusal.LeaderId, refusal.LeaderAddr = true, nl.LeaderID, nl.LeaderAddr
		}
		send(refusal)
		return
	}
	w := bufio.NewWriterSize(chunkWriter(func(p []byte) bool {
		return send(&pb.BackupChunk{Data: append([]byte(nil), p...)})
	}), backupChunkSize)
	if err := b.Write(w); err != nil {
		send(&pb.BackupChunk{Error: fmt.Sprintf("write the snapshot: %v", err)})
		return
	}
	if err := w.Flush(); err != nil {
		return // the connection ended
	}
	send(&pb.BackupChunk{Done: true, Index: b.Index, Term: b.Term})
}

// chunkWriter sends each Write as one chunk; send reports false once the
// connection has ended.
type chunkWriter func(p []byte) bool

func (f chunkWriter) Write(p []byte) (int, error) {
	if !f(p) {
		return 0, errors.New("connection closed")
	}
	return len(p), nil
}

// clientBackup is a running Client.Backup.
type clientBackup struct {
	id   uint64
	ch   chan *pb.BackupChunk
	gone chan struct{} // closed when Backup stops reading
}

// deliver hands c to Backup, waiting while it writes the previous chunk
// (the reader goroutine waits with it: TCP holds the node back), unless
// Backup has stopped reading.
func (b *clientBackup) deliver(c *pb.BackupChunk) {
	select {
	case b.ch <- c:
	case <-b.gone:
	}
}

// Backup asks the node, which must lead, for a snapshot of its state
// machine and writes it to w as it arrives; it returns the snapshot's index
// and term once the node says it is complete. A node that does not lead
// answers with a *NotLeaderError naming the leader it knows. Backup needs
// a connection of its own (not one from a pool), one Backup at a time.
func (c *Client) Backup(ctx context.Context, w io.Writer) (index, term uint64, err error) {
	if c.pooled != nil {
		return 0, 0, ErrShared
	}
	c.mu.Lock()
	if c.err != nil || c.backup != nil {
		err := c.err
		c.mu.Unlock()
		if err == nil {
			err = errors.New("a backup is already running on this client")
		}
		return 0, 0, err
	}
	c.nextID++
	b := &clientBackup{id: c.nextID, ch: make(chan *pb.BackupChunk), gone: make(chan struct{})}
	c.backup = b
	c.mu.Unlock()
	defer func() {
		close(b.gone)
		c.mu.Lock()
		c.backup = nil
		c.mu.Unlock()
	}()
	if err := c.write(&pb.RaftKvMessage{Type: pb.RaftKvMessage_BACKUP_REQUEST, RequestId: b.id}); err != nil {
		return 0, 0, err
	}
	for {
		var chunk *pb.BackupChunk
		select {
		case chunk = <-b.ch:
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-c.done:
			return 0, 0, c.Err()
		}
		switch {
		case chunk.GetNotLeader():
			return 0, 0, &NotLeaderError{LeaderID: chunk.GetLeaderId(), LeaderAddr: chunk.GetLeaderAddr()}
		case chunk.GetError() != "":
			return 0, 0, fmt.Errorf("backup from %s: %s", c.addr, chunk.GetError())
		case chunk.GetDone():
			return chunk.GetIndex(), chunk.GetTerm(), nil
		}
		if _, err := w.Write(chunk.GetData()); err != nil {
			return 0, 0, fmt.Errorf("write backup: %w", err)
		}
	}
}
