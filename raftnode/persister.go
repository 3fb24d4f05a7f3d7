package raftnode

import (
	"fmt"
	"sync"

	"github.com/easykv/easykv/internal/stagetrace"
	"github.com/easykv/easykv/raftnode/raft"
	"github.com/easykv/easykv/segmentlog"
)

// persister writes the entries and hard state of Readys in the background,
// in order, so that the Raft loop goes on stepping messages, taking
// proposals, sending the leader's MsgApps and applying while the disk
// syncs. Everything queued while one write runs goes into the next, with
// one sync (group commit). After each write it sends the messages that
// waited for it, then reports the write to the loop.
type persister struct {
	id        string         // this node's id, for stagetrace
	log       *coreLog       // writes the entries
	hard      HardStateStore // saves the hard state
	transport Transport      // sends the messages that waited for a write
	sent      *sharedTraffic // counts what send hands to the transport
	stall     *diskStall     // the SLOW_DISK fault: each sync waits this long first
	// sendSnapshot starts the transfer a MsgSnap asks for: its data goes
	// by a stream of its own, not as one message.
	sendSnapshot func(raft.Message)

	mu      sync.Mutex
	queue   raft.WriteQueue // writes not started; guarded by mu
	writing bool            // a write is running; guarded by mu

	wake chan struct{} // holds a token when the queue may have work
	// done carries completed writes, in order, to the loop.
	done     chan completedWrite
	stop     chan struct{} // closed to stop after the running write
	stopOnce sync.Once     // closes stop
	exit     chan struct{} // closed when run returns
}

// completedWrite is a finished write: its job, now durable (entries, and the
// hard state when SaveHard), or the error that ended the persister.
type completedWrite struct {
	raft.WriteJob
	err error // the write failed: nothing more is written
}

// newPersister returns a persister over log and hard whose queue
// starts after the log's last index; run starts it.
func newPersister(id string, log *coreLog, hard HardStateStore, transport Transport, sent *sharedTraffic, stall *diskStall, sendSnapshot func(raft.Message)) *persister {
	return &persister{
		id:           id,
		log:          log,
		hard:         hard,
		transport:    transport,
		sent:         sent,
		stall:        stall,
		sendSnapshot: sendSnapshot,
		queue:        raft.NewWriteQueue(log.LastIndex()),
		wake:         make(chan struct{}, 1),
		done:         make(chan completedWrite, 64),
		stop:         make(chan struct{}),
		exit:         make(chan struct{}),
	}
}

// add queues the writes of one Ready and the messages that must wait for
// them. With nothing to write and nothing being written, the messages
// leave at once: everything handed out before is durable.
func (p *persister) add(rd raft.WriteJob) {
	p.mu.Lock()
	if len(rd.Entries) == 0 && !rd.SaveHard && rd.Snapshot.IsEmpty() && !p.writing && p.queue.Empty() {
		p.mu.Unlock()
		p.send(rd.Msgs)
		return
	}
	p.queue.Add(rd)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run writes queued jobs until close, or until a write fails.
func (p *persister) run() {
	defer close(p.exit)
	for {
		select {
		case <-p.stop:
			return
		case <-p.wake:
		}
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			p.mu.Lock()
			j, ok := p.queue.Take()
			p.writing = ok
			p.mu.Unlock()
			if !ok {
				break
			}
			w := p.write(j)
			if w.err == nil {
				if len(j.Entries) > 0 {
					stagetrace.Watermark(stagetrace.Durable, p.id, lastIndex(j.Entries))
				}
				p.send(j.Msgs)
				p.mu.Lock()
				p.writing = false
				p.mu.Unlock()
			}
			// After a failed write, writing stays set: add sends nothing
			// directly any more either.
			select {
			case p.done <- w:
			case <-p.stop:
				return
			}
			if w.err != nil {
				return // fail-stop: after a failed sync nothing later may count
			}
		}
	}
}

// write carries out one job: entries, then hard state, each durable
// before it returns. Under the SLOW_DISK fault each of the two waits
// first.
func (p *persister) write(j raft.WriteJob) completedWrite {
	w := completedWrite{WriteJob: j}
	if !j.Snapshot.IsEmpty() {
		// The snapshot itself is durable already (the receiver made it
		// so); the log restarts after it.
		if err := p.log.install(j.Snapshot); err != nil {
			w.err = fmt.Errorf("reset the log for the snapshot at %d: %w", j.Snapshot.Index, err)
			return w
		}
	}
	if len(j.Entries) > 0 {
		if err := p.stall.wait(p.stop); err != nil {
			w.err = err
			return w
		}
		if err := p.log.write(j.Entries); err != nil {
			w.err = fmt.Errorf("persist log entries: %w", err)
			return w
		}
	}
	if j.SaveHard {
		if err := p.stall.wait(p.stop); err != nil {
			w.err = err
			return w
		}
		hs := segmentlog.HardState{Term: j.HardState.Term, Vote: j.HardState.Vote, Commit: j.HardState.Commit}
		if err := p.hard.Save(hs); err != nil {
			w.err = fmt.Errorf("persist hard state: %w", err)
		}
	}
	return w
}

// send hands msgs to the transport, counting them.
func (p *persister) send(msgs []raft.Message) {
	p.sent.countSent(msgs)
	for _, m := range msgs {
		if m.Type == raft.MsgSnap {
			p.sendSnapshot(m)
			continue
		}
		p.transport.Send(m.To, toWire(m, nil))
	}
}

// close stops the persister after the write in progress, if any, and waits
// for it; queued writes are dropped, and their messages never sent.
func (p *persister) close() {
	p.stopOnce.Do(func() { close(p.stop) })
	<-p.exit
}
