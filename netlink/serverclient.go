package netlink

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/easykv/easykv/internal/stagetrace"
	"github.com/easykv/easykv/netlink/pb"
)

const (
	// maxInflight bounds the requests a client connection runs at once;
	// beyond it the server stops reading that connection (TCP backpressure).
	maxInflight = 64
	// outQueue is the frames waiting for a client connection's writer.
	outQueue = 64

	defaultStatusInterval = 100 * time.Millisecond
	minStatusInterval     = 20 * time.Millisecond
	maxStatusInterval     = 10 * time.Second
)

// clientConn is one authenticated CLIENT connection: a reader that starts
// KV operations on the handler (and a goroutine per status or admin
// request, and per watch), and one writer that serializes the answers.
type clientConn struct {
	s   *Server
	c   net.Conn
	log *slog.Logger
	// ctx is cancelled when the connection ends; requests and watches derive from it.
	ctx context.Context
	// out carries frames to the writer from goroutines that may wait.
	out chan *pb.RaftKvMessage
	// sem holds a token per request in flight.
	sem chan struct{}
	// wg counts request and watch goroutines.
	wg sync.WaitGroup
	// stopWatch ends the current watch, nil when none; used by the reader only.
	stopWatch context.CancelFunc

	mu sync.Mutex // guards answers
	// answers are KV answers for the writer, which takes all of them at
	// once: the answers the node gives together go out in one write. Each
	// holds its request's token in sem until written.
	answers []*pb.RaftKvMessage
	// answered holds a token while answers may be non-empty.
	answered chan struct{}
}

func (s *Server) serveClient(c net.Conn, br *bufio.Reader, bw *bufio.Writer, log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	cc := &clientConn{
		s:        s,
		c:        c,
		log:      log,
		ctx:      ctx,
		out:      make(chan *pb.RaftKvMessage, outQueue),
		sem:      make(chan struct{}, maxInflight),
		answered: make(chan struct{}, 1),
	}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		cc.writeLoop(bw, cancel)
	}()
	cc.readLoop(br)
	cancel()
	c.Close()
	cc.wg.Wait()
	<-writerDone
}

func (cc *clientConn) readLoop(br *bufio.Reader) {
	for {
		m := new(pb.RaftKvMessage)
		if err := ReadFrame(br, cc.s.cfg.MaxFrameSize, m); err != nil {
			if cc.ctx.Err() == nil {
				logConnEnd(cc.log, err)
			}
			return
		}
		switch m.GetType() {
		case pb.RaftKvMessage_STATUS_REQUEST, pb.RaftKvMessage_ADMIN_REQUEST, pb.RaftKvMessage_KV_REQUEST, pb.RaftKvMessage_BACKUP_REQUEST:
			select {
			case cc.sem <- struct{}{}:
			case <-cc.ctx.Done():
				return
			}
			if m.GetType() == pb.RaftKvMessage_KV_REQUEST {
				cc.startKV(m)
				continue
			}
			cc.wg.Add(1)
			go func() {
				defer cc.wg.Done()
				defer func() { <-cc.sem }()
				if m.GetType() == pb.RaftKvMessage_BACKUP_REQUEST {
					cc.streamBackup(m.GetRequestId())
					return
				}
				cc.send(cc.ctx, cc.answer(m))
			}()
		case pb.RaftKvMessage_WATCH_REQUEST:
			cc.startWatch(m)
		default:
			cc.log.Warn("closing connection", "reason", fmt.Sprintf("unexpected %v frame from a client", m.GetType()))
			return
		}
	}
}

// startKV starts the KV operation m on the handler; the answer goes to the
// writer, which frees m's token once it has written it, so that a client
// that does not read holds at most maxInflight answers here.
func (cc *clientConn) startKV(m *pb.RaftKvMessage) {
	id := m.GetRequestId()
	reply := func(resp *pb.KvResponse) {
		cc.queueAnswer(&pb.RaftKvMessage{Type: pb.RaftKvMessage_KV_RESPONSE, RequestId: id, NodeId: cc.s.cfg.NodeID, KvResponse: resp})
	}
	req := m.GetKvRequest()
	if req == nil {
		reply(&pb.KvResponse{Code: pb.ErrorCode_BAD_REQUEST, Message: "missing kv_request", NodeId: cc.s.cfg.NodeID})
		return
	}
	stagetrace.Request(stagetrace.ServerDecoded, cc.s.cfg.NodeID, stagetrace.Key(req.GetClientId(), req.GetSequence()))
	cc.s.h.StartKV(cc.ctx, req, reply)
}

// queueAnswer queues a KV answer for the writer without waiting: the
// handler may call it from its own loop. Answers for a connection that
// ended are dropped with it.
func (cc *clientConn) queueAnswer(m *pb.RaftKvMessage) {
	cc.mu.Lock()
	cc.answers = append(cc.answers, m)
	cc.mu.Unlock()
	select {
	case cc.answered <- struct{}{}:
	default:
	}
}

// writeLoop writes queued frames and answers, flushing once nothing more
// is waiting: under load many answers share one write. On a write error
// it ends the connection.
func (cc *clientConn) writeLoop(bw *bufio.Writer, cancel context.CancelFunc) {
	var frames, answers []*pb.RaftKvMessage // scratch
	for {
		select {
		case <-cc.ctx.Done():
			return
		case m := <-cc.out:
			frames = append(frames[:0], m)
		case <-cc.answered:
			frames = frames[:0]
		}
		cc.c.SetWriteDeadline(time.Now().Add(writeTimeout))
		for yielded := false; ; {
			frames, answers = cc.more(frames), cc.takeAnswers(answers[:0])
			if len(frames) == 0 && len(answers) == 0 {
				if yielded {
					break
				}
				// The node answers many requests at once, and the
				// goroutines it woke may be about to queue more: let them
				// run before flushing.
				runtime.Gosched()
				yielded = true
				continue
			}
			yielded = false
			for _, batch := range [2][]*pb.RaftKvMessage{frames, answers} {
				for _, m := range batch {
					if err := WriteFrame(bw, m); err != nil {
						cc.writeFailed(m, err, cancel)
						return
					}
				}
			}
			for range answers {
				<-cc.sem
			}
			clear(frames)
			clear(answers)
			frames = frames[:0]
		}
		if err := bw.Flush(); err != nil {
			cc.writeFailed(nil, err, cancel)
			return
		}
	}
}

// more appends to frames the others that wait in out, without waiting.
func (cc *clientConn) more(frames []*pb.RaftKvMessage) []*pb.RaftKvMessage {
	for {
		select {
		case m := <-cc.out:
			frames = append(frames, m)
		default:
			return frames
		}
	}
}

// takeAnswers appends the queued KV answers to dst and empties the queue.
func (cc *clientConn) takeAnswers(dst []*pb.RaftKvMessage) []*pb.RaftKvMessage {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	dst = append(dst, cc.answers...)
	clear(cc.answers)
	cc.answers = cc.answers[:0]
	return dst
}

// writeFailed ends the connection after a failed write of m (nil: a
// flush).
func (cc *clientConn) writeFailed(m *pb.RaftKvMessage, err error, cancel context.CancelFunc) {
	if cc.ctx.Err() == nil {
		what := "flush"
		if m != nil {
			what = "write " + m.GetType().String()
		}
		cc.log.Warn("closing connection", "reason", fmt.Errorf("%s: %w", what, err))
	}
	cancel()
	cc.c.Close()
}

// send queues m for the writer; it gives up when ctx ends.
func (cc *clientConn) send(ctx context.Context, m *pb.RaftKvMessage) bool {
	m.NodeId = cc.s.cfg.NodeID
	select {
	case cc.out <- m:
		return true
	case <-ctx.Done():
		return false
	}
}

// answer runs a status or admin request against the handler and builds
// its response.
func (cc *clientConn) answer(m *pb.RaftKvMessage) *pb.RaftKvMessage {
	resp := &pb.RaftKvMessage{RequestId: m.GetRequestId()}
	h := cc.s.h
	switch m.GetType() {
	case pb.RaftKvMessage_STATUS_REQUEST:
		resp.Type = pb.RaftKvMessage_STATUS_RESPONSE
		resp.Status = h.Status()
	case pb.RaftKvMessage_ADMIN_REQUEST:
		resp.Type = pb.RaftKvMessage_ADMIN_RESPONSE
		if req := m.GetAdminRequest(); req != nil {
			resp.AdminResponse = h.Admin(cc.ctx, req)
		} else {
			resp.AdminResponse = &pb.AdminResponse{Error: "missing admin_request"}
		}
	}
	return resp
}

// startWatch begins streaming events for m's request_id. A new watch
// replaces the connection's previous one, so a client can restart its watch
// (say with another interval) without reconnecting.
func (cc *clientConn) startWatch(m *pb.RaftKvMessage) {
	if cc.stopWatch != nil {
		cc.stopWatch()
	}
	ctx, stop := context.WithCancel(cc.ctx)
	cc.stopWatch = stop
	interval := statusInterval(m.GetWatchRequest().GetStatusIntervalMs())
	cc.wg.Add(1)
	go func() {
		defer cc.wg.Done()
		defer stop()
		cc.watch(ctx, m.GetRequestId(), interval)
	}()
}

// statusInterval turns a requested interval into a sane one.
func statusInterval(ms int64) time.Duration {
	if ms == 0 {
		return defaultStatusInterval
	}
	if ms > maxStatusInterval.Milliseconds() {
		return maxStatusInterval // also keeps the multiplication below from overflowing
	}
	return max(time.Duration(ms)*time.Millisecond, minStatusInterval)
}

// watch sends a STATUS event now and every interval, and every event of the
// node in between, until ctx ends. Of the MESSAGES events, at most one goes
// out between two STATUS events: the others are merged and go out after
// the next STATUS.
func (cc *clientConn) watch(ctx context.Context, id uint64, interval time.Duration) {
	events, unsubscribe := cc.s.h.Subscribe()
	defer unsubscribe()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	out := []*pb.WatchEvent{cc.statusEvent()}
	var held heldTraffic
	trafficSent := false // a MESSAGES event went out since the last STATUS
	for {
		for _, ev := range out {
			m := &pb.RaftKvMessage{Type: pb.RaftKvMessage_WATCH_EVENT, RequestId: id, Event: ev}
			if !cc.send(ctx, m) {
				return
			}
		}
		out = out[:0]
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			switch {
			case !ok:
				// The node ended the subscription; status events go on.
				events = nil
			case e.GetKind() != pb.WatchEvent_MESSAGES:
				out = append(out, e)
			case trafficSent:
				held.add(e)
			default:
				out, trafficSent = append(out, e), true
			}
		case <-ticker.C:
			out = append(out, cc.statusEvent())
			trafficSent = false
			if e := held.take(); e != nil {
				out, trafficSent = append(out, e), true
			}
		}
	}
}

// statusEvent wraps a fresh status in a STATUS event.
func (cc *clientConn) statusEvent() *pb.WatchEvent {
	st := cc.s.h.Status()
	ms := st.GetUnixMs()
	if ms == 0 {
		ms = time.Now().UnixMilli()
	}
	return &pb.WatchEvent{
		Kind:     pb.WatchEvent_STATUS,
		UnixMs:   ms,
		NodeId:   cc.s.cfg.NodeID,
		Term:     st.GetTerm(),
		Role:     st.GetRole(),
		LeaderId: st.GetLeaderId(),
		Status:   st,
	}
}
