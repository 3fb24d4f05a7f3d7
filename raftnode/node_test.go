package raftnode

import (
	"context"
	"errors"
	"fmt"
	"github.com/easykv/easykv/internal/testkit"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
	"github.com/easykv/easykv/segmentlog"
)

// opLog records, in order, what the runtime did with storage and transport,
// so a test can check that state was durable before a message left.
type opLog struct {
	mu  sync.Mutex
	ops []string
}

func (l *opLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops = append(l.ops, fmt.Sprintf(format, args...))
}

func (l *opLog) recorded() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ops...)
}

// fakeStore is a HardStateStore in memory whose Save can be made to fail.
type fakeStore struct {
	log     *opLog
	loaded  segmentlog.HardState
	saveErr error
}

func (s *fakeStore) Load() (segmentlog.HardState, error) { return s.loaded, nil }
func (s *fakeStore) Save(hs segmentlog.HardState) error {
	if s.saveErr != nil {
		s.log.add("save failed")
		return s.saveErr
	}
	s.log.add("save term=%d vote=%s", hs.Term, hs.Vote)
	s.loaded = hs // what a restart over this store loads
	return nil
}

// recordingTransport keeps every message a node sends, for the test to
// answer and to compare with what the node reports. With log set, each
// send is also written there, in order with fakeStore's saves.
type recordingTransport struct {
	log  *opLog
	mu   sync.Mutex
	sent []*pb.RaftKvMessage // in order; guarded by mu
}

func (r *recordingTransport) Send(to string, m *pb.RaftKvMessage) bool {
	if r.log != nil {
		r.log.add("send %s to %s granted=%v", m.GetType(), to, m.GetVoteResponse().GetVoteGranted())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, m)
	return true
}

var (
	_ HardStateStore = (*fakeStore)(nil)
	_ Transport      = (*recordingTransport)(nil)
)

// startNode runs a node n1 of {n1,n2,n3} with long timers, so that it stays a
// follower and only answers what the test sends it.
// The returned channel is closed when Run returns, with *runErr set.
func startNode(t *testing.T, store *fakeStore, log *opLog) (_ *Node, done <-chan struct{}, runErr *error) {
	t.Helper()
	n, err := NewNode(NodeConfig{
		ID:              "n1",
		Members:         map[string]string{"n1": "a1", "n2": "a2", "n3": "a3"},
		Heartbeat:       time.Minute,
		ElectionTimeout: time.Hour,
		HardState:       store,
		Log:             &memLog{},
		Transport:       &recordingTransport{log: log},
		Seed:            1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	runErr = new(error)
	go func() {
		defer close(finished)
		*runErr = n.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return n, finished, runErr
}

func voteRequest(term int64) *pb.RaftKvMessage {
	return &pb.RaftKvMessage{
		Type:        pb.RaftKvMessage_VOTE_REQUEST,
		NodeId:      "n2",
		To:          "n1",
		VoteRequest: &pb.VoteRequest{Term: term, CandidateId: "n2"},
	}
}

func waitOps(t *testing.T, log *opLog, n int) []string {
	t.Helper()
	var ops []string
	testkit.PollEvery(t, time.Millisecond, 5*time.Second, fmt.Sprintf("%d operations", n), func() (bool, string) {
		ops = log.recorded()
		return len(ops) >= n, fmt.Sprintf("saw %q", ops)
	})
	return ops
}

// TestNodePersistsVoteBeforeReplying checks Figure 2's rule as the runtime
// carries it out: the new term and vote are saved before the vote leaves.
func TestNodePersistsVoteBeforeReplying(t *testing.T) {
	log := &opLog{}
	n, _, _ := startNode(t, &fakeStore{log: log}, log)
	n.StepPeer(voteRequest(1))
	ops := waitOps(t, log, 2)
	want := []string{"save term=1 vote=n2", "send VOTE_RESPONSE to n2 granted=true"}
	if ops[0] != want[0] || ops[1] != want[1] {
		t.Fatalf("operations %q, want %q first", ops, want)
	}
	// The loop publishes its status after handling the Ready; poll for it.
	testkit.PollEvery(t, time.Millisecond, 5*time.Second, "status after vote to say term 1, vote n2", func() (bool, string) {
		st := n.Status()
		return st.GetTerm() == 1 && st.GetVotedFor() == "n2", fmt.Sprintf("term %d vote %q", st.GetTerm(), st.GetVotedFor())
	})
}

// TestNodeStopsWhenStorageFails checks that a node whose hard state cannot be
// made durable stops instead of answering.
func TestNodeStopsWhenStorageFails(t *testing.T) {
	log := &opLog{}
	diskFull := errors.New("no space left on device")
	n, done, runErr := startNode(t, &fakeStore{log: log, saveErr: diskFull}, log)
	n.StepPeer(voteRequest(1))
	select {
	case <-done:
		if err := *runErr; !errors.Is(err, ErrStorage) || !errors.Is(err, diskFull) {
			t.Fatalf("Run returned %v, want ErrStorage wrapping the disk error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept going after a failed save")
	}
	if ops := log.recorded(); len(ops) != 1 || ops[0] != "save failed" {
		t.Fatalf("operations %q: a message left without durable state", ops)
	}
}

// TestNodeRestoresHardState checks that a restarted node reports the saved
// term and vote and refuses another candidate in that term.
func TestNodeRestoresHardState(t *testing.T) {
	log := &opLog{}
	store := &fakeStore{log: log, loaded: segmentlog.HardState{Term: 4, Vote: "n3"}}
	n, _, _ := startNode(t, store, log)
	if st := n.Status(); st.GetTerm() != 4 || st.GetVotedFor() != "n3" {
		t.Fatalf("restored status: term %d vote %q", st.GetTerm(), st.GetVotedFor())
	}
	n.StepPeer(voteRequest(4))
	ops := waitOps(t, log, 1)
	if ops[0] != "send VOTE_RESPONSE to n2 granted=false" {
		t.Fatalf("operations %q: want the vote for n2 in term 4 refused", ops)
	}
}

// TestNodePauseAndKV checks the admin pause flag and the answers clients get
// from a paused node and from a follower.
func TestNodePauseAndKV(t *testing.T) {
	log := &opLog{}
	n, _, _ := startNode(t, &fakeStore{log: log}, log)
	ctx := context.Background()
	if resp := n.KV(ctx, &pb.KvRequest{Key: "k"}); resp.GetCode() != pb.ErrorCode_NOT_LEADER {
		t.Fatalf("follower answered %v, want NOT_LEADER", resp)
	}
	resp := n.Admin(ctx, &pb.AdminRequest{Command: pb.AdminCommand_PAUSE})
	if !resp.GetOk() || !resp.GetStatus().GetPaused() {
		t.Fatalf("pause answered %v", resp)
	}
	if resp := n.KV(ctx, &pb.KvRequest{Key: "k"}); resp.GetCode() != pb.ErrorCode_PAUSED || resp.GetMessage() != "node paused" {
		t.Fatalf("paused node answered %v, want PAUSED", resp)
	}
	resp = n.Admin(ctx, &pb.AdminRequest{Command: pb.AdminCommand_RESUME})
	if !resp.GetOk() || resp.GetStatus().GetPaused() {
		t.Fatalf("resume answered %v", resp)
	}
	if resp := n.Admin(ctx, &pb.AdminRequest{}); resp.GetOk() || resp.GetError() == "" {
		t.Fatalf("unknown admin command answered %v", resp)
	}
}

// TestFromWireRefusesNonsense checks the frames no correct peer sends.
func TestFromWireRefusesNonsense(t *testing.T) {
	tests := map[string]*pb.RaftKvMessage{
		"no body":           {Type: pb.RaftKvMessage_VOTE_REQUEST, NodeId: "n2"},
		"negative term":     {Type: pb.RaftKvMessage_VOTE_REQUEST, NodeId: "n2", VoteRequest: &pb.VoteRequest{Term: -1, CandidateId: "n2"}},
		"negative index":    {Type: pb.RaftKvMessage_APPEND_ENTRIES_REQUEST, NodeId: "n2", AppendEntriesRequest: &pb.AppendEntriesRequest{Term: 1, LeaderId: "n2", PrevLogIndex: -5}},
		"spoofed candidate": {Type: pb.RaftKvMessage_VOTE_REQUEST, NodeId: "n2", VoteRequest: &pb.VoteRequest{Term: 1, CandidateId: "n3"}},
		"client type":       {Type: pb.RaftKvMessage_KV_REQUEST, NodeId: "n2"},
		"unknown type":      {Type: 99, NodeId: "n2"},
	}
	for name, w := range tests {
		if _, err := fromWire(w); !errors.Is(err, errBadWire) {
			t.Errorf("%s: fromWire err = %v, want errBadWire", name, err)
		}
	}
}

// TestWireRoundTrip checks that every message type survives the envelope.
func TestWireRoundTrip(t *testing.T) {
	msgs := []raft.Message{
		{Type: raft.MsgPreVote, From: "n1", To: "n2", Term: 3, Index: 7, LogTerm: 2},
		{Type: raft.MsgVote, From: "n1", To: "n2", Term: 3, Index: 7, LogTerm: 2},
		{Type: raft.MsgPreVoteResp, From: "n2", To: "n1", Term: 3, Reject: true, Reason: "lease"},
		{Type: raft.MsgVoteResp, From: "n2", To: "n1", Term: 3},
		{Type: raft.MsgApp, From: "n1", To: "n2", Term: 3, Index: 7, LogTerm: 2, Commit: 5,
			Entries: []raft.Entry{{Term: 3, Index: 8, Type: raft.EntryNoop}, {Term: 3, Index: 9, Data: []byte("x")}}},
		{Type: raft.MsgAppResp, From: "n2", To: "n1", Term: 3, Index: 6, Reject: true, ConflictTerm: 2, ConflictIndex: 4},
		{Type: raft.MsgTimeoutNow, From: "n1", To: "n2", Term: 3},
		{Type: raft.MsgVote, From: "n2", To: "n3", Term: 4, Index: 9, LogTerm: 3, Transfer: true},
		{Type: raft.MsgApp, From: "n1", To: "n2", Term: 3, Index: 9, LogTerm: 3,
			Entries: []raft.Entry{{Term: 3, Index: 10, Type: raft.EntryConfChange, Data: raft.EncodeMembership(raft.NewMembership("n1", "n2", "n4"))}}},
	}
	for _, m := range msgs {
		got, err := fromWire(toWire(m, nil))
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		if got.String() != m.String() || !reflect.DeepEqual(got.Entries, m.Entries) {
			t.Errorf("round trip\n got %v\nwant %v", got, m)
		}
	}
}

// TestNodeSingleMemberKV runs a one-node cluster, over a real segment log
// and over one in memory: writes are answered once applied, reads see
// them, a retried write with the same session applies once, and a
// restart replays the log.
func TestNodeSingleMemberKV(t *testing.T) {
	t.Run("segment log", func(t *testing.T) {
		dir := t.TempDir()
		// Without snapshots: a restart replays the whole log.
		singleMemberKV(t, func() (*Node, func()) { return diskNode(t, dir, nil) })
	})
	t.Run("memory log", func(t *testing.T) {
		log, hard := &memLog{}, &fakeStore{log: &opLog{}}
		singleMemberKV(t, func() (*Node, func()) { return runOneMember(t, log, hard, nil) })
		if log.syncs == 0 {
			t.Fatal("the node never synced its log")
		}
	})
}

// singleMemberKV writes to and reads from the node run starts, restarts it
// and reads again.
func singleMemberKV(t *testing.T, run func() (*Node, func())) {
	put := &pb.KvRequest{OpType: pb.KvRequest_PUT, Key: "user:1", Value: "alice", ClientId: 9, Sequence: 1}
	n, stop := run()
	if resp := kvWhileElecting(t, n, put); resp.GetCode() != pb.ErrorCode_OK || resp.GetFound() || resp.GetIndex() < 2 {
		t.Fatalf("put: %v", resp)
	}
	// The same session and sequence again: applied once, original result.
	overwrite := &pb.KvRequest{OpType: pb.KvRequest_PUT, Key: "user:1", Value: "bob", ClientId: 9, Sequence: 1}
	if resp := kvWhileElecting(t, n, overwrite); resp.GetCode() != pb.ErrorCode_OK || resp.GetFound() {
		t.Fatalf("retried put: %v", resp)
	}
	get := &pb.KvRequest{OpType: pb.KvRequest_GET, Key: "user:1"}
	if resp := kvWhileElecting(t, n, get); resp.GetCode() != pb.ErrorCode_OK || resp.GetValue() != "alice" {
		t.Fatalf("get after retried put: %v", resp)
	}
	del := &pb.KvRequest{OpType: pb.KvRequest_DELETE, Key: "gone", ClientId: 9, Sequence: 2}
	if resp := kvWhileElecting(t, n, del); resp.GetCode() != pb.ErrorCode_OK || resp.GetFound() {
		t.Fatalf("delete of a missing key: %v", resp)
	}
	stop()

	n, stop = run()
	defer stop()
	if resp := kvWhileElecting(t, n, get); resp.GetCode() != pb.ErrorCode_OK || resp.GetValue() != "alice" {
		t.Fatalf("get after restart: %v", resp)
	}
	stale := &pb.KvRequest{OpType: pb.KvRequest_GET, Key: "nope", Stale: true}
	if resp := kvWhileElecting(t, n, stale); resp.GetCode() != pb.ErrorCode_NOT_FOUND {
		t.Fatalf("stale get of a missing key: %v", resp)
	}
}

// TestNodeSlowDiskAndDigest: SLOW_DISK shows in the status and slows the
// disk without breaking it, HEAL clears it, a stall out of range is
// refused; the status carries the state machine's digest at its applied
// index, the digest of a map with the same contents.
func TestNodeSlowDiskAndDigest(t *testing.T) {
	n, stop := diskNode(t, t.TempDir(), nil)
	defer stop()
	ctx := context.Background()
	slow := &pb.AdminRequest{Command: pb.AdminCommand_SLOW_DISK, StallMs: 50}
	if resp := n.Admin(ctx, slow); !resp.GetOk() || resp.GetStatus().GetDiskStallMs() != 50 {
		t.Fatalf("slow disk: %v", resp)
	}
	putUntilOK(t, n, "k", "v", 1)
	want := kvmap.New(kvmap.Options{})
	want.Apply(1, kvmap.Command{Op: kvmap.OpPut, Key: "k", Value: "v"}.Encode())
	// The status is published at the next tick after the apply.
	testkit.Poll(t, 5*time.Second, "the state digest after the put", func() (bool, string) {
		st := n.Status()
		return st.GetStateDigest() == want.Digest(), fmt.Sprintf("state digest %q at applied index %d, want %q", st.GetStateDigest(), st.GetAppliedIndex(), want.Digest())
	})
	if resp := n.Admin(ctx, &pb.AdminRequest{Command: pb.AdminCommand_SLOW_DISK, StallMs: -1}); resp.GetOk() || !strings.Contains(resp.GetError(), "outside") {
		t.Fatalf("negative stall: %v", resp)
	}
	if resp := n.Admin(ctx, &pb.AdminRequest{Command: pb.AdminCommand_HEAL}); !resp.GetOk() || resp.GetStatus().GetDiskStallMs() != 0 {
		t.Fatalf("heal: %v", resp)
	}
}
