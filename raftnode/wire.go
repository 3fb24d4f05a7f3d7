package raftnode

import (
	"errors"
	"fmt"

	"github.com/easykv/easykv/netlink/pb"
)

// errBadWire is wrapped by errors for peer frames that cannot be a Raft
// message: a missing body, a negative term or index, an unknown type.
var errBadWire = errors.New("bad raft message on the wire")

// toWire encodes a core message in the original easy-kv envelope.
func toWire(m Message) *pb.RaftKvMessage {
	w := &pb.RaftKvMessage{NodeId: m.From, To: m.To}
	switch m.Type {
	case MsgPreVote, MsgVote:
		w.Type = pb.RaftKvMessage_VOTE_REQUEST
		if m.Type == MsgPreVote {
			w.Type = pb.RaftKvMessage_PRE_VOTE_REQUEST
		}
		w.VoteRequest = &pb.VoteRequest{
			Term:         int64(m.Term),
			CandidateId:  m.From,
			LastLogIndex: int64(m.Index),
			LastLogTerm:  int64(m.LogTerm),
		}
	case MsgPreVoteResp, MsgVoteResp:
		w.Type = pb.RaftKvMessage_VOTE_RESPONSE
		if m.Type == MsgPreVoteResp {
			w.Type = pb.RaftKvMessage_PRE_VOTE_RESPONSE
		}
		w.VoteResponse = &pb.VoteResponse{Term: int64(m.Term), VoteGranted: !m.Reject, Reason: m.Reason}
	case MsgApp:
		w.Type = pb.RaftKvMessage_APPEND_ENTRIES_REQUEST
		req := &pb.AppendEntriesRequest{
			Term:         int64(m.Term),
			LeaderId:     m.From,
			PrevLogIndex: int64(m.Index),
			PrevLogTerm:  int64(m.LogTerm),
			LeaderCommit: int64(m.Commit),
			ReadCtx:      m.ReadCtx,
		}
		for _, e := range m.Entries {
			req.Entries = append(req.Entries, &pb.LogEntry{
				Term: int64(e.Term), Index: int64(e.Index), Data: e.Data, Type: pb.EntryType(e.Type),
			})
		}
		w.AppendEntriesRequest = req
	case MsgAppResp:
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
func fromWire(w *pb.RaftKvMessage) (Message, error) {
	m := Message{From: w.GetNodeId(), To: w.GetTo()}
	var nums []int64
	switch w.GetType() {
	case pb.RaftKvMessage_VOTE_REQUEST, pb.RaftKvMessage_PRE_VOTE_REQUEST:
		req := w.GetVoteRequest()
		if req == nil {
			return Message{}, fmt.Errorf("%w: %s without vote_request", errBadWire, w.GetType())
		}
		if req.GetCandidateId() != m.From {
			return Message{}, fmt.Errorf("%w: candidate %q sent by %q", errBadWire, req.GetCandidateId(), m.From)
		}
		m.Type = MsgVote
		if w.GetType() == pb.RaftKvMessage_PRE_VOTE_REQUEST {
			m.Type = MsgPreVote
		}
		nums = []int64{req.GetTerm(), req.GetLastLogIndex(), req.GetLastLogTerm()}
		m.Term, m.Index, m.LogTerm = uint64(req.GetTerm()), uint64(req.GetLastLogIndex()), uint64(req.GetLastLogTerm())
	case pb.RaftKvMessage_VOTE_RESPONSE, pb.RaftKvMessage_PRE_VOTE_RESPONSE:
		resp := w.GetVoteResponse()
		if resp == nil {
			return Message{}, fmt.Errorf("%w: %s without vote_response", errBadWire, w.GetType())
		}
		m.Type = MsgVoteResp
		if w.GetType() == pb.RaftKvMessage_PRE_VOTE_RESPONSE {
			m.Type = MsgPreVoteResp
		}
		nums = []int64{resp.GetTerm()}
		m.Term, m.Reject, m.Reason = uint64(resp.GetTerm()), !resp.GetVoteGranted(), resp.GetReason()
	case pb.RaftKvMessage_APPEND_ENTRIES_REQUEST:
		req := w.GetAppendEntriesRequest()
		if req == nil {
			return Message{}, fmt.Errorf("%w: %s without append_entries_request", errBadWire, w.GetType())
		}
		if req.GetLeaderId() != m.From {
			return Message{}, fmt.Errorf("%w: leader %q sent by %q", errBadWire, req.GetLeaderId(), m.From)
		}
		m.Type = MsgApp
		nums = []int64{req.GetTerm(), req.GetPrevLogIndex(), req.GetPrevLogTerm(), req.GetLeaderCommit()}
		m.Term, m.Index, m.LogTerm, m.Commit = uint64(req.GetTerm()), uint64(req.GetPrevLogIndex()), uint64(req.GetPrevLogTerm()), uint64(req.GetLeaderCommit())
		m.ReadCtx = req.GetReadCtx()
		for _, e := range req.GetEntries() {
			nums = append(nums, e.GetTerm(), e.GetIndex())
			m.Entries = append(m.Entries, Entry{Term: uint64(e.GetTerm()), Index: uint64(e.GetIndex()), Type: EntryType(e.GetType()), Data: e.GetData()})
		}
	case pb.RaftKvMessage_APPEND_ENTRIES_RESPONSE:
		resp := w.GetAppendEntriesResponse()
		if resp == nil {
			return Message{}, fmt.Errorf("%w: %s without append_entries_response", errBadWire, w.GetType())
		}
		m.Type = MsgAppResp
		nums = []int64{resp.GetTerm(), resp.GetMatchIndex(), resp.GetConflictTerm(), resp.GetConflictIndex()}
		m.Term, m.Index, m.Reject = uint64(resp.GetTerm()), uint64(resp.GetMatchIndex()), !resp.GetSuccess()
		m.ConflictTerm, m.ConflictIndex = uint64(resp.GetConflictTerm()), uint64(resp.GetConflictIndex())
		m.ReadCtx = resp.GetReadCtx()
	default:
		return Message{}, fmt.Errorf("%w: type %s is not a raft message", errBadWire, w.GetType())
	}
	for _, n := range nums {
		if n < 0 {
			return Message{}, fmt.Errorf("%w: negative term or index %d in %s", errBadWire, n, w.GetType())
		}
	}
	return m, nil
}
