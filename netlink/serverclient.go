package netlink

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

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

// clientConn is one authenticated CLIENT connection: a reader that starts a
// goroutine per request, and one writer that serializes the answers.
type clientConn struct {
	s   *Server
	c   net.Conn
	log *slog.Logger
	// ctx is cancelled when the connection ends; requests and watches derive from it.
	ctx context.Context
	// out carries frames to the writer.
	out chan *pb.RaftKvMessage
	// sem holds a token per request in flight.
	sem chan struct{}
	// wg counts request and watch goroutines.
	wg sync.WaitGroup
	// stopWatch ends the current watch, nil when none; used by the reader only.
	stopWatch context.CancelFunc
}

func (s *Server) serveClient(c net.Conn, br *bufio.Reader, bw *bufio.Writer, log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	cc := &clientConn{
		s:   s,
		c:   c,
		log: log,
		ctx: ctx,
		out: make(chan *pb.RaftKvMessage, outQueue),
		sem: make(chan struct{}, maxInflight),
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
		case pb.RaftKvMessage_STATUS_REQUEST, pb.RaftKvMessage_ADMIN_REQUEST, pb.RaftKvMessage_KV_REQUEST:
			select {
			case cc.sem <- struct{}{}:
			case <-cc.ctx.Done():
				return
			}
			cc.wg.Add(1)
			go func() {
				defer cc.wg.Done()
				defer func() { <-cc.sem }()
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

// writeLoop writes queued frames, flushing when the queue is momentarily
// empty. On a write error it ends the connection.
func (cc *clientConn) writeLoop(bw *bufio.Writer, cancel context.CancelFunc) {
	for {
		var m *pb.RaftKvMessage
		select {
		case <-cc.ctx.Done():
			return
		case m = <-cc.out:
		}
		cc.c.SetWriteDeadline(time.Now().Add(writeTimeout))
		err := WriteFrame(bw, m)
		if err == nil && len(cc.out) == 0 {
			err = bw.Flush()
		}
		if err != nil {
			if cc.ctx.Err() == nil {
				cc.log.Warn("closing connection", "reason", fmt.Errorf("write %v: %w", m.GetType(), err))
			}
			cancel()
			cc.c.Close()
			return
		}
	}
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

// answer runs one request against the handler and builds its response.
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
	case pb.RaftKvMessage_KV_REQUEST:
		resp.Type = pb.RaftKvMessage_KV_RESPONSE
		if req := m.GetKvRequest(); req != nil {
			resp.KvResponse = h.KV(cc.ctx, req)
		} else {
			resp.KvResponse = &pb.KvResponse{
				Code:    pb.ErrorCode_BAD_REQUEST,
				Message: "missing kv_request",
				NodeId:  cc.s.cfg.NodeID,
			}
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
// node in between, until ctx ends.
func (cc *clientConn) watch(ctx context.Context, id uint64, interval time.Duration) {
	events, unsubscribe := cc.s.h.Subscribe()
	defer unsubscribe()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	ev := cc.statusEvent()
	for {
		if ev != nil {
			m := &pb.RaftKvMessage{Type: pb.RaftKvMessage_WATCH_EVENT, RequestId: id, Event: ev}
			if !cc.send(ctx, m) {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				// The node ended the subscription; status events go on.
				events = nil
			}
			ev = e
		case <-ticker.C:
			ev = cc.statusEvent()
		}
	}
}

// statusEvent wraps a fresh status snapshot in a STATUS event.
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
