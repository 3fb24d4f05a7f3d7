package raftnode

import (
	"errors"
	"fmt"

	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
)

// errBadWire is wrapped by errors for peer frames that cannot be a Raft
// message: a missing body, a negative term or index, an unknown type.
var errBadWire = errors.New("bad raft message on the wire")

// entryEncoder encodes log entries for the MsgApps of one Ready once: the
// followers mostly get the same entries, and their messages share the
// encoded ones, which netlink only reads. An entry is known by index and
// term, which identify it (Log Matching, paper §5.3).
type entryEncoder struct {
	first uint64         // index of ents[0]
	ents  []*pb.LogEntry // encoded entries from first on; nil where none yet
}

// reset forgets the encoded entries, for the next Ready.
func (c *entryEncoder) reset() {
	clear(c.ents)
	c.ents = c.ents[:0]
}

// encode returns es on the wire, reusing what it encoded before and
// allocating the rest in one block.
func (c *entryEncoder) encode(es []raft.Entry) []*pb.LogEntry {
	out := make([]*pb.LogEntry, len(es))
	misses := 0
	for i, e := range es {
		if out[i] = c.get(e); out[i] == nil {
			misses++
		}
	}
	if misses == 0 {
		return out
	}
	block := make([]pb.LogEntry, misses)
	for i, e := range es {
		if out[i] != nil {
			continue
		}
		w := &block[0]
		block = block[1:]
		w.Term, w.Index, w.Data, w.Type = int64(e.Term), int64(e.Index), e.Data, pb.EntryType(e.Type)
		out[i] = w
		c.put(w)
	}
	return out
}

// get returns e encoded before, or nil.
func (c *entryEncoder) get(e raft.Entry) *pb.LogEntry {
	if e.Index < c.first || e.Index-c.first >= uint64(len(c.ents)) {
		return nil
	}
	if w := c.ents[e.Index-c.first]; w != nil && uint64(w.Term) == e.Term {
		return w
	}
	return nil
}

// put remembers w, unless it lies before the first entry remembered (a
// follower further behind) or far beyond the last.
func (c *entryEncoder) put(w *pb.LogEntry) {
	i := uint64(w.Index)
	if len(c.ents) == 0 {
		c.first = i
	}
	if i < c.first || i-c.first > uint64(len(c.ents)) {
		return
	}
	if i-c.first == uint64(len(c.ents)) {
		c.ents = append(c.ents, w)
		return
	}
	c.ents[i-c.first] = w
}

// toWire encodes a core message in the original easy-kv envelope; enc
// (nil for none) shares the encoding of entries between messages.
func toWire(m raft.Message, enc *entryEncoder) *pb.RaftKvMessage {
	w := &pb.RaftKvMessage{NodeId: m.From, To: m.To, TraceId: m.Trace}
	switch m.Type {
	case raft.MsgPreVote, raft.MsgVote:
		w.Type = pb.RaftKvMessage_VOTE_REQUEST
		if m.Type == raft.MsgPreVote {
			w.Type = pb.RaftKvMessage_PRE_VOTE_REQUEST
		}
		w.VoteRequest = &pb.VoteRequest{
			Term:         int64(m.Term),
			CandidateId:  m.From,
			LastLogIndex: int64(m.Index),
			LastLogTerm:  int64(m.LogTerm),
			Transfer:     m.Transfer,
		}
	case raft.MsgTimeoutNow:
		w.Type = pb.RaftKvMessage_TIMEOUT_NOW
		w.VoteRequest = &pb.VoteRequest{Term: int64(m.Term), CandidateId: m.From}
	case raft.MsgPreVoteResp, raft.MsgVoteResp:
		w.Type = pb.RaftKvMessage_VOTE_RESPONSE
		if m.Type == raft.MsgPreVoteResp {
			w.Type = pb.RaftKvMessage_PRE_VOTE_RESPONSE
		}
		w.VoteResponse = &pb.VoteResponse{Term: int64(m.Term), VoteGranted: !m.Reject, Reason: m.Reason}
	case raft.MsgApp:
		w.Type = pb.RaftKvMessage_APPEND_ENTRIES_REQUEST
		req := &pb.AppendEntriesRequest{
			Term:         int64(m.Term),
			LeaderId:     m.From,
			PrevLogIndex: int64(m.Index),
			PrevLogTerm:  int64(m.LogTerm),
			LeaderCommit: int64(m.Commit),
			ReadCtx:      m.ReadCtx,
		}
		if len(m.Entries) > 0 {
			if enc == nil {
				enc = &entryEncoder{}
			}
			req.Entries = enc.encode(m.Entries)
		}
		w.AppendEntriesRequest = req
	case raft.MsgAppResp:
		w.Type = pb.RaftKvMessage_APPEND_ENTRIES_RESPONSE
		w.AppendEntriesResponse = &pb.AppendEntriesResponse{
			Term:          int64(m.Term),
			Success:       !m.Reject,
			MatchIndex:    int64(m.Index),
			ConflictTerm:  int64(m.ConflictTerm),
			ConflictIndex: int64(m.ConflictIndex),
			ReadCtx:       m.ReadCtx,
		}
	}
	return w
}

// fromWire decodes a peer frame into a core message, refusing anything that
// no correct peer sends. The core checks membership and recipient itself.
func fromWire(w *pb.RaftKvMessage) (raft.Message, error) {
	m := raft.Message{From: w.GetNodeId(), To: w.GetTo(), Trace: w.GetTraceId()}
	var nums []int64
	switch w.GetType() {
	case pb.RaftKvMessage_VOTE_REQUEST, pb.RaftKvMessage_PRE_VOTE_REQUEST:
		req := w.GetVoteRequest()
		if req == nil {
			return raft.Message{}, fmt.Errorf("%w: %s without vote_request", errBadWire, w.GetType())
		}
		if req.GetCandidateId() != m.From {
			return raft.Message{}, fmt.Errorf("%w: candidate %q sent by %q", errBadWire, req.GetCandidateId(), m.From)
		}
		m.Type = raft.MsgVote
		if w.GetType() == pb.RaftKvMessage_PRE_VOTE_REQUEST {
			m.Type = raft.MsgPreVote
		}
		nums = []int64{req.GetTerm(), req.GetLastLogIndex(), req.GetLastLogTerm()}
		m.Term, m.Index, m.LogTerm = uint64(req.GetTerm()), uint64(req.GetLastLogIndex()), uint64(req.GetLastLogTerm())
		m.Transfer = req.GetTransfer()
	case pb.RaftKvMessage_TIMEOUT_NOW:
		req := w.GetVoteRequest()
		if req == nil {
			return raft.Message{}, fmt.Errorf("%w: %s without vote_request", errBadWire, w.GetType())
		}
		m.Type = raft.MsgTimeoutNow
		nums = []int64{req.GetTerm()}
		m.Term = uint64(req.GetTerm())
	case pb.RaftKvMessage_VOTE_RESPONSE, pb.RaftKvMessage_PRE_VOTE_RESPONSE:
		resp := w.GetVoteResponse()
		if resp == nil {
			return raft.Message{}, fmt.Errorf("%w: %s without vote_response", errBadWire, w.GetType())
		}
		m.Type = raft.MsgVoteResp
		if w.GetType() == pb.RaftKvMessage_PRE_VOTE_RESPONSE {
			m.Type = raft.MsgPreVoteResp
		}
		nums = []int64{resp.GetTerm()}
		m.Term, m.Reject, m.Reason = uint64(resp.GetTerm()), !resp.GetVoteGranted(), resp.GetReason()
	case pb.RaftKvMessage_APPEND_ENTRIES_REQUEST:
		req := w.GetAppendEntriesRequest()
		if req == nil {
			return raft.Message{}, fmt.Errorf("%w: %s without append_entries_request", errBadWire, w.GetType())
		}
		if req.GetLeaderId() != m.From {
			return raft.Message{}, fmt.Errorf("%w: leader %q sent by %q", errBadWire, req.GetLeaderId(), m.From)
		}
		m.Type = raft.MsgApp
		nums = []int64{req.GetTerm(), req.GetPrevLogIndex(), req.GetPrevLogTerm(), req.GetLeaderCommit()}
		m.Term, m.Index, m.LogTerm, m.Commit = uint64(req.GetTerm()), uint64(req.GetPrevLogIndex()), uint64(req.GetPrevLogTerm()), uint64(req.GetLeaderCommit())
		m.ReadCtx = req.GetReadCtx()
		for _, e := range req.GetEntries() {
			nums = append(nums, e.GetTerm(), e.GetIndex())
			m.Entries = append(m.Entries, raft.Entry{Term: uint64(e.GetTerm()), Index: uint64(e.GetIndex()), Type: raft.EntryType(e.GetType()), Data: e.GetData()})
		}
	case pb.RaftKvMessage_APPEND_ENTRIES_RESPONSE:
		resp := w.GetAppendEntriesResponse()
		if resp == nil {
			return raft.Message{}, fmt.Errorf("%w: %s without append_entries_response", errBadWire, w.GetType())
		}
		m.Type = raft.MsgAppResp
		nums = []int64{resp.GetTerm(), resp.GetMatchIndex(), resp.GetConflictTerm(), resp.GetConflictIndex()}
		m.Term, m.Index, m.Reject = uint64(resp.GetTerm()), uint64(resp.GetMatchIndex()), !resp.GetSuccess()
		m.ConflictTerm, m.ConflictIndex = uint64(resp.GetConflictTerm()), uint64(resp.GetConflictIndex())
		m.ReadCtx = resp.GetReadCtx()
	default:
		return raft.Message{}, fmt.Errorf("%w: type %s is not a raft message", errBadWire, w.GetType())
	}
	for _, n := range nums {
		if n < 0 {
			return raft.Message{}, fmt.Errorf("%w: negative term or index %d in %s", errBadWire, n, w.GetType())
		}
	}
	return m, nil
}
