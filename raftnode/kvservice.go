package raftnode

import (
	"context"
	"errors"
	"math"

	"github.com/easykv/easykv/internal/stagetrace"
	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
)

// kvCall is one client request travelling to the Raft loop and back.
type kvCall struct {
	req   *pb.KvRequest
	node  string               // id of the answering node
	reply func(*pb.KvResponse) // never blocks: the loop never waits for the client
	obs   Observer             // told how the request ended
}

// answer hands resp to the client (or to nobody, if it has gone).
func (c *kvCall) answer(resp *pb.KvResponse) {
	resp.RequestId, resp.NodeId = c.req.GetRequestId(), c.node
	c.obs.ClientRequest(c.req.GetOpType(), resp.GetCode())
	c.reply(resp)
}

// pendingWrite is a proposed write waiting to be applied at its index.
type pendingWrite struct {
	term uint64 // term the entry was proposed in; another term there means it was lost
	call *kvCall
}

// pendingRead is a linearizable read waiting for its read index.
type pendingRead struct {
	index     uint64 // read index, once the leader confirmed it
	confirmed bool   // a quorum confirmed leadership for this read
	call      *kvCall
}

// kvService serves clients from the Raft loop: it proposes writes and
// asks for read indexes, applies committed entries to the state machine,
// and answers each request when its outcome is known. It is owned by the
// Run goroutine, but for start, which any goroutine may call.
type kvService struct {
	id      string       // this node's id, in every answer
	addrs   *addrBook    // id → address, for redirects
	calls   chan *kvCall // requests waiting for the loop
	core    *raft.Raft   // proposes writes and confirms reads
	sm      *kvmap.Map   // the state machine
	pending clientState  // requests accepted and not answered
	obs     Observer     // told how requests end
}

func newKVService(id string, addrs *addrBook, core *raft.Raft, sm *kvmap.Map, obs Observer) *kvService {
	return &kvService{
		id:      id,
		addrs:   addrs,
		calls:   make(chan *kvCall, kvQueue),
		core:    core,
		sm:      sm,
		pending: clientState{writes: map[uint64]*pendingWrite{}, reads: map[uint64]*pendingRead{}, obs: obs},
		obs:     obs,
	}
}

// clientState tracks the requests the loop has accepted and not answered.
type clientState struct {
	writes  map[uint64]*pendingWrite // by log index
	reads   map[uint64]*pendingRead  // by read context
	nextCtx uint64                   // read context for the next ReadIndex
	obs     Observer                 // told of writes that failed
}

// StartKV hands a client request to the Raft loop, which answers through
// reply once it has served it: a write after it is committed and applied,
// a read after ReadIndex confirmed it (or at once for a stale read). It
// waits only while the loop's queue is full, until ctx is done.
func (n *Node) StartKV(ctx context.Context, req *pb.KvRequest, reply func(*pb.KvResponse)) {
	call := &kvCall{req: req, node: n.cfg.ID, reply: reply, obs: n.kv.obs}
	select {
	case n.kv.calls <- call:
	case <-ctx.Done():
		call.answer(&pb.KvResponse{Code: pb.ErrorCode_UNAVAILABLE, Message: "node busy: request not accepted"})
	}
}

// KV serves a client request with StartKV and waits for the answer, or
// until ctx is done.
func (n *Node) KV(ctx context.Context, req *pb.KvRequest) *pb.KvResponse {
	answer := make(chan *pb.KvResponse, 1) // the loop never waits for it
	n.StartKV(ctx, req, func(resp *pb.KvResponse) { answer <- resp })
	select {
	case resp := <-answer:
		return resp
	case <-ctx.Done():
		return &pb.KvResponse{RequestId: req.GetRequestId(), NodeId: n.cfg.ID, Code: pb.ErrorCode_TIMEOUT, Message: "timed out: the request may or may not have taken effect"}
	}
}

// serve starts serving one client request; a paused node refuses it.
func (s *kvService) serve(call *kvCall, paused bool) {
	req := call.req
	resp := &pb.KvResponse{}
	switch {
	case paused:
		resp.Code, resp.Message = pb.ErrorCode_PAUSED, "node paused"
	case req.GetKey() == "":
		resp.Code, resp.Message = pb.ErrorCode_BAD_REQUEST, "empty key"
	case req.GetOpType() == pb.KvRequest_GET && req.GetStale():
		s.readLocal(resp, req.GetKey())
	case req.GetOpType() == pb.KvRequest_GET:
		ctx := s.pending.nextCtx + 1
		if err := s.core.ReadIndex(ctx); err != nil {
			s.refuse(resp, err)
			break
		}
		s.pending.nextCtx = ctx
		s.pending.reads[ctx] = &pendingRead{call: call}
		return
	case req.GetOpType() == pb.KvRequest_PUT || req.GetOpType() == pb.KvRequest_DELETE:
		cmd := kvmap.Command{Op: kvmap.OpPut, Key: req.GetKey(), Value: req.GetValue(), ClientID: req.GetClientId(), Seq: req.GetSequence()}
		if req.GetOpType() == pb.KvRequest_DELETE {
			cmd.Op, cmd.Value = kvmap.OpDelete, ""
		}
		index, term, err := s.core.Propose(cmd.Encode())
		if err != nil {
			s.refuse(resp, err)
			break
		}
		s.pending.writes[index] = &pendingWrite{term: term, call: call}
		if stagetrace.Enabled() {
			key := stagetrace.Key(req.GetClientId(), req.GetSequence())
			stagetrace.Request(stagetrace.LoopTook, s.id, key)
			stagetrace.Link(key, index)
		}
		return
	default:
		resp.Code, resp.Message = pb.ErrorCode_BAD_REQUEST, "unknown operation "+req.GetOpType().String()
	}
	call.answer(resp)
}

// refuse fills resp for a request the core would not take.
func (s *kvService) refuse(resp *pb.KvResponse, err error) {
	if errors.Is(err, raft.ErrNotLeader) {
		s.notLeader(resp)
		return
	}
	resp.Code, resp.Message = pb.ErrorCode_UNAVAILABLE, err.Error()
}

// notLeader fills resp with NOT_LEADER and the leader this node knows of.
func (s *kvService) notLeader(resp *pb.KvResponse) {
	leader := s.core.Status().Leader
	resp.Code, resp.Message = pb.ErrorCode_NOT_LEADER, "not the leader"
	resp.LeaderId, resp.LeaderAddr = leader, s.addrs.get(leader)
}

// readLocal answers a read from this node's applied state.
func (s *kvService) readLocal(resp *pb.KvResponse, key string) {
	resp.Index = int64(s.sm.AppliedIndex())
	value, ok := s.sm.Get(key)
	resp.Found, resp.Value = ok, value
	resp.Success = true
	if !ok {
		resp.Code, resp.Message = pb.ErrorCode_NOT_FOUND, "key not found"
	}
}

// apply hands one committed entry to the state machine and answers the
// client waiting for it, if it is on this node.
func (s *kvService) apply(e raft.Entry) {
	data := e.Data
	switch e.Type {
	case raft.EntryNoop:
		data = nil
	case raft.EntryConfChange:
		// The state machine keeps the configuration for its snapshots;
		// an index out of order cannot come from the core's Ready.
		_ = s.sm.ApplyConfig(e.Index, e.Data)
		return
	}
	res := s.sm.Apply(e.Index, data)
	w, ok := s.pending.writes[e.Index]
	if !ok {
		return
	}
	delete(s.pending.writes, e.Index)
	stagetrace.Watermark(stagetrace.Applied, s.id, e.Index)
	resp := &pb.KvResponse{Index: int64(e.Index)}
	switch {
	case w.term != e.Term:
		// Another leader's entry took this index: the write was lost.
		s.obs.ProposalsFailed(1)
		resp.Code, resp.Message = pb.ErrorCode_NOT_LEADER, "write overwritten by a new leader; retry"
	case res.Err != nil:
		resp.Code, resp.Message = pb.ErrorCode_BAD_REQUEST, res.Err.Error()
	default:
		resp.Success, resp.Found = true, res.Existed
		if res.Stale {
			resp.Message = "late retry of an older write: nothing applied"
		}
	}
	w.call.answer(resp)
}

// took takes in what a Ready says about clients: the committed entries to
// apply, the reads confirmed and dropped; then it answers the reads the
// state machine has caught up with.
func (s *kvService) took(rd *raft.Ready) {
	for _, e := range rd.CommittedEntries {
		s.apply(e)
	}
	for _, rs := range rd.ReadStates {
		s.pending.readConfirmed(rs.Ctx, rs.Index)
	}
	for _, ctx := range rd.DroppedReads {
		s.pending.readDropped(ctx, s.notLeader)
	}
	s.pending.answerReads(s.sm)
}

// readConfirmed records that the leader confirmed read ctx at index.
func (c *clientState) readConfirmed(ctx, index uint64) {
	if r, ok := c.reads[ctx]; ok {
		r.index, r.confirmed = index, true
	}
}

// readDropped answers a read the core gave up on (leadership lost).
func (c *clientState) readDropped(ctx uint64, notLeader func(*pb.KvResponse)) {
	r, ok := c.reads[ctx]
	if !ok {
		return
	}
	delete(c.reads, ctx)
	resp := &pb.KvResponse{}
	notLeader(resp)
	r.call.answer(resp)
}

// answerReads answers every confirmed read whose index has been applied
// (thesis §6.4: the read sees every write committed before it began).
func (c *clientState) answerReads(kv *kvmap.Map) {
	for ctx, r := range c.reads {
		if !r.confirmed || r.index > kv.AppliedIndex() {
			continue
		}
		delete(c.reads, ctx)
		resp := &pb.KvResponse{Index: int64(r.index), Success: true}
		resp.Value, resp.Found = kv.Get(r.call.req.GetKey())
		if !resp.Found {
			resp.Code, resp.Message = pb.ErrorCode_NOT_FOUND, "key not found"
		}
		r.call.answer(resp)
	}
}

// failWrites answers every pending write proposed in term or before with
// code. Later writes belong to a later leadership and stay.
func (c *clientState) failWrites(term uint64, code pb.ErrorCode, msg string) {
	failed := 0
	for index, w := range c.writes {
		if w.term <= term {
			w.call.answer(&pb.KvResponse{Code: code, Message: msg})
			delete(c.writes, index)
			failed++
		}
	}
	c.obs.ProposalsFailed(failed)
}

// failAll answers every pending request with code, when the node stops.
func (c *clientState) failAll(code pb.ErrorCode, msg string) {
	c.failWrites(math.MaxUint64, code, msg)
	for ctx, r := range c.reads {
		r.call.answer(&pb.KvResponse{Code: code, Message: msg})
		delete(c.reads, ctx)
	}
}
