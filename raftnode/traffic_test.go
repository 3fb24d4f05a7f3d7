package raftnode

import (
	"context"
	"fmt"
	"github.com/easykv/easykv/internal/testkit"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
	"github.com/easykv/easykv/segmentlog"
)

// trafficKey names one line of traffic as node n1 sees it.
type trafficKey struct {
	sent    bool
	peer    string
	kind    pb.Traffic_Kind
	preVote bool
}

func (k trafficKey) String() string {
	dir := "from"
	if k.sent {
		dir = "to"
	}
	pre := ""
	if k.preVote {
		pre = " pre"
	}
	return fmt.Sprintf("%s %s %s%s", dir, k.peer, k.kind, pre)
}

// trafficTotals is what the lines of one key add up to.
type trafficTotals struct {
	count, entries, match, term int64
}

// trafficSum adds up traffic lines by key; tests compare what a node
// reported with what its transport and its peers saw.
type trafficSum map[trafficKey]trafficTotals

func (s trafficSum) add(k trafficKey, v trafficTotals) {
	t := s[k]
	t.count += v.count
	t.entries += v.entries
	t.match = max(t.match, v.match)
	t.term = max(t.term, v.term)
	s[k] = t
}

// addWire counts one message on the wire, sent to or received from peer,
// straight from its wire form.
func (s trafficSum) addWire(sent bool, peer string, w *pb.RaftKvMessage) {
	k := trafficKey{sent: sent, peer: peer}
	v := trafficTotals{count: 1}
	switch w.GetType() {
	case pb.RaftKvMessage_APPEND_ENTRIES_REQUEST:
		req := w.GetAppendEntriesRequest()
		k.kind, v.term, v.entries = pb.Traffic_HEARTBEAT, req.GetTerm(), int64(len(req.GetEntries()))
		if v.entries > 0 {
			k.kind = pb.Traffic_APPEND
		}
	case pb.RaftKvMessage_APPEND_ENTRIES_RESPONSE:
		resp := w.GetAppendEntriesResponse()
		k.kind, v.term = pb.Traffic_APPEND_REJECT, resp.GetTerm()
		if resp.GetSuccess() {
			k.kind, v.match = pb.Traffic_APPEND_OK, resp.GetMatchIndex()
		}
	case pb.RaftKvMessage_VOTE_REQUEST, pb.RaftKvMessage_PRE_VOTE_REQUEST:
		k.kind, v.term = pb.Traffic_VOTE, w.GetVoteRequest().GetTerm()
		k.preVote = w.GetType() == pb.RaftKvMessage_PRE_VOTE_REQUEST
	case pb.RaftKvMessage_VOTE_RESPONSE, pb.RaftKvMessage_PRE_VOTE_RESPONSE:
		k.kind, v.term = pb.Traffic_VOTE_DENIED, w.GetVoteResponse().GetTerm()
		if w.GetVoteResponse().GetVoteGranted() {
			k.kind = pb.Traffic_VOTE_GRANTED
		}
		k.preVote = w.GetType() == pb.RaftKvMessage_PRE_VOTE_RESPONSE
	}
	s.add(k, v)
}

// addEvent adds the lines of a MESSAGES event of node self.
func (s trafficSum) addEvent(t *testing.T, self string, ev *pb.WatchEvent) {
	t.Helper()
	for _, l := range ev.GetTraffic() {
		k := trafficKey{sent: l.GetSent(), peer: l.GetFrom(), kind: l.GetKind(), preVote: l.GetPreVote()}
		me := l.GetTo()
		if l.GetSent() {
			k.peer, me = l.GetTo(), l.GetFrom()
		}
		if me != self || l.GetCount() <= 0 {
			t.Errorf("line %v in a MESSAGES event of %s", l, self)
		}
		s.add(k, trafficTotals{count: l.GetCount(), entries: l.GetEntries(), match: l.GetMatch(), term: l.GetTerm()})
	}
}

func (s trafficSum) String() string {
	out := ""
	for k, v := range s {
		out += fmt.Sprintf("\n  %v: %+v", k, v)
	}
	return out
}

func TestTrafficTable(t *testing.T) {
	ents := []raft.Entry{{Term: 2, Index: 5}, {Term: 2, Index: 6}}
	tests := []struct {
		name string
		sent bool
		msgs []raft.Message
		want []*pb.Traffic
	}{
		{
			name: "appends add up entries, heartbeats apart",
			sent: true,
			msgs: []raft.Message{
				{Type: raft.MsgApp, From: "n1", To: "n2", Term: 2, Index: 4, LogTerm: 1, Entries: ents},
				{Type: raft.MsgApp, From: "n1", To: "n2", Term: 3, Index: 6, LogTerm: 2, Entries: ents[:1]},
				{Type: raft.MsgApp, From: "n1", To: "n3", Term: 3},
				{Type: raft.MsgApp, From: "n1", To: "n3", Term: 3},
			},
			want: []*pb.Traffic{
				{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Sent: true, Count: 2, Entries: 3, Term: 3},
				{Kind: pb.Traffic_HEARTBEAT, From: "n1", To: "n3", Sent: true, Count: 2, Term: 3},
			},
		},
		{
			name: "answers keep the highest match",
			msgs: []raft.Message{
				{Type: raft.MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 9},
				{Type: raft.MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 12},
				{Type: raft.MsgAppResp, From: "n2", To: "n1", Term: 2, Index: 10},
				{Type: raft.MsgAppResp, From: "n3", To: "n1", Term: 2, Index: 40, Reject: true},
			},
			want: []*pb.Traffic{
				{Kind: pb.Traffic_APPEND_OK, From: "n2", To: "n1", Count: 3, Match: 12, Term: 2},
				{Kind: pb.Traffic_APPEND_REJECT, From: "n3", To: "n1", Count: 1, Term: 2},
			},
		},
		{
			name: "votes and pre-votes apart",
			msgs: []raft.Message{
				{Type: raft.MsgPreVote, From: "n2", To: "n1", Term: 5},
				{Type: raft.MsgVote, From: "n2", To: "n1", Term: 5},
				{Type: raft.MsgPreVoteResp, From: "n3", To: "n1", Term: 5},
				{Type: raft.MsgPreVoteResp, From: "n2", To: "n1", Term: 4, Reject: true},
				{Type: raft.MsgVoteResp, From: "n3", To: "n1", Term: 5},
				{Type: raft.MsgVoteResp, From: "n3", To: "n1", Term: 6, Reject: true},
			},
			want: []*pb.Traffic{
				{Kind: pb.Traffic_VOTE, From: "n2", To: "n1", Count: 1, Term: 5},
				{Kind: pb.Traffic_VOTE, From: "n2", To: "n1", PreVote: true, Count: 1, Term: 5},
				{Kind: pb.Traffic_VOTE_DENIED, From: "n2", To: "n1", PreVote: true, Count: 1, Term: 4},
				{Kind: pb.Traffic_VOTE_GRANTED, From: "n3", To: "n1", Count: 1, Term: 5},
				{Kind: pb.Traffic_VOTE_DENIED, From: "n3", To: "n1", Count: 1, Term: 6},
				{Kind: pb.Traffic_VOTE_GRANTED, From: "n3", To: "n1", PreVote: true, Count: 1, Term: 5},
			},
		},
		{
			name: "strangers and unknown types are not counted",
			msgs: []raft.Message{
				{Type: raft.MsgApp, From: "n9", To: "n1", Term: 2},
				{Type: raft.MsgType(99), From: "n2", To: "n1", Term: 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := newTrafficTable([]string{"n2", "n3"})
			for _, m := range tt.msgs {
				tab.count(tt.sent, &m)
			}
			if tab.counted != (len(tt.want) > 0) {
				t.Errorf("counted = %v with %d lines wanted", tab.counted, len(tt.want))
			}
			got := tab.toWire("n1")
			if len(got) != len(tt.want) {
				t.Fatalf("lines %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].String() != tt.want[i].String() {
					t.Errorf("line %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestTrafficTableMerge checks that the persister's counts join the
// loop's and leave its table empty.
func TestTrafficTableMerge(t *testing.T) {
	peers := []string{"n2", "n3"}
	loop := newTrafficTable(peers)
	shared := &sharedTraffic{t: newTrafficTable(peers)}
	loop.count(true, &raft.Message{Type: raft.MsgApp, From: "n1", To: "n2", Term: 1, Entries: []raft.Entry{{Term: 1, Index: 1}}})
	loop.count(false, &raft.Message{Type: raft.MsgAppResp, From: "n2", To: "n1", Term: 1, Index: 1})
	shared.countSent([]raft.Message{
		{Type: raft.MsgApp, From: "n1", To: "n2", Term: 2, Index: 1, LogTerm: 1, Entries: []raft.Entry{{Term: 2, Index: 2}, {Term: 2, Index: 3}}},
		{Type: raft.MsgAppResp, From: "n1", To: "n3", Term: 2, Index: 7},
	})
	shared.moveTo(&loop)
	want := []string{
		(&pb.Traffic{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Sent: true, Count: 2, Entries: 3, Term: 2}).String(),
		(&pb.Traffic{Kind: pb.Traffic_APPEND_OK, From: "n1", To: "n3", Sent: true, Count: 1, Match: 7, Term: 2}).String(),
		(&pb.Traffic{Kind: pb.Traffic_APPEND_OK, From: "n2", To: "n1", Count: 1, Match: 1, Term: 1}).String(),
	}
	got := loop.toWire("n1")
	if len(got) != len(want) {
		t.Fatalf("merged lines %v, want %v", got, want)
	}
	for i := range got {
		if got[i].String() != want[i] {
			t.Errorf("line %d = %v, want %v", i, got[i], want[i])
		}
	}
	if shared.t.counted || len(shared.t.toWire("n1")) != 0 {
		t.Error("the persister's table kept its counts after the move")
	}
	loop.reset()
	if loop.counted || len(loop.toWire("n1")) != 0 {
		t.Error("reset kept counts")
	}
}

// TestTrafficFollowsMembers: a member added later is counted, one
// removed is not, and the counts of those who stay are kept.
func TestTrafficFollowsMembers(t *testing.T) {
	pub := newPublisher("n1", map[string]string{"n1": "", "n2": "", "n3": ""}, nopObserver{})
	pub.traffic.count(true, &raft.Message{Type: raft.MsgApp, From: "n1", To: "n2", Term: 1})
	pub.traffic.count(true, &raft.Message{Type: raft.MsgApp, From: "n1", To: "n3", Term: 1})
	pub.followPeers([]string{"n2", "n4"})
	pub.traffic.count(true, &raft.Message{Type: raft.MsgApp, From: "n1", To: "n4", Term: 1})
	pub.lateSent.countSent([]raft.Message{{Type: raft.MsgApp, From: "n1", To: "n4", Term: 1}})
	pub.lateSent.moveTo(&pub.traffic)
	var got []string
	for _, l := range pub.traffic.toWire("n1") {
		got = append(got, fmt.Sprintf("%s %d", l.GetTo(), l.GetCount()))
	}
	if want := []string{"n2 1", "n4 2"}; !slices.Equal(got, want) {
		t.Errorf("lines after n3 left and n4 joined: %v, want %v", got, want)
	}
}

// TestTrafficCountAllocatesNothing: counting is on the hot path.
func TestTrafficCountAllocatesNothing(t *testing.T) {
	tab := newTrafficTable([]string{"n2", "n3", "n4", "n5"})
	m := raft.Message{Type: raft.MsgApp, From: "n1", To: "n4", Term: 3, Entries: make([]raft.Entry, 4)}
	if allocs := testing.AllocsPerRun(1000, func() { tab.count(true, &m) }); allocs != 0 {
		t.Errorf("count allocates %.1f times a message", allocs)
	}
}

// find returns the last message sent to `to` that matches, or nil.
func (r *recordingTransport) find(to string, match func(*pb.RaftKvMessage) bool) *pb.RaftKvMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.sent) - 1; i >= 0; i-- {
		if m := r.sent[i]; m.GetTo() == to && match(m) {
			return m
		}
	}
	return nil
}

// sum adds up everything sent so far.
func (r *recordingTransport) sum(into trafficSum) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.sent {
		into.addWire(true, m.GetTo(), m)
	}
}

// TestNodePublishesTraffic runs n1 of {n1,n2,n3} through an election the
// test answers for n2 (and, refusing, for n3), then pauses it: the
// MESSAGES events must add up to exactly what the transport carried and
// what the test stepped in, and stop once the node is paused.
func TestNodePublishesTraffic(t *testing.T) {
	wal, err := segmentlog.Open(t.TempDir(), segmentlog.Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wal.Close() })
	tr := &recordingTransport{}
	n, err := NewNode(NodeConfig{
		ID:              "n1",
		Members:         map[string]string{"n1": "a1", "n2": "a2", "n3": "a3"},
		Heartbeat:       10 * time.Millisecond,
		ElectionTimeout: 300 * time.Millisecond, // check-quorum lets the test answer slowly
		HardState:       &fakeStore{log: &opLog{}},
		Log:             wal,
		Transport:       tr,
		Logger:          slog.New(slog.DiscardHandler),
		Seed:            3,
	})
	if err != nil {
		t.Fatal(err)
	}
	events, unsubscribe := n.Subscribe()
	defer unsubscribe()
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		n.Run(ctx)
	}()
	defer func() {
		cancel()
		<-finished
	}()

	reported := trafficSum{}
	var lastMessages *pb.WatchEvent
	take := func() {
		for {
			select {
			case ev := <-events:
				if ev.GetKind() == pb.WatchEvent_MESSAGES {
					reported.addEvent(t, "n1", ev)
					lastMessages = ev
				}
			default:
				return
			}
		}
	}
	stepped := trafficSum{}
	step := func(w *pb.RaftKvMessage) {
		stepped.addWire(false, w.GetNodeId(), w)
		n.StepPeer(w)
	}
	await := func(what string, to string, match func(*pb.RaftKvMessage) bool) *pb.RaftKvMessage {
		t.Helper()
		var m *pb.RaftKvMessage
		testkit.PollEvery(t, time.Millisecond, 10*time.Second, fmt.Sprintf("%s to %s", what, to), func() (bool, string) {
			if m = tr.find(to, match); m != nil {
				return true, ""
			}
			take()
			return false, fmt.Sprintf("n1 never sent %s to %s", what, to)
		})
		return m
	}
	ofType := func(typ pb.RaftKvMessage_MessageType) func(*pb.RaftKvMessage) bool {
		return func(m *pb.RaftKvMessage) bool { return m.GetType() == typ }
	}

	// n2 grants the pre-vote, n3 refuses it (with the term 0 of a node
	// that never saw one), n2 grants the vote: n1 leads and appends its
	// no-op, which n2 accepts.
	pre := await("a pre-vote", "n2", ofType(pb.RaftKvMessage_PRE_VOTE_REQUEST))
	term := pre.GetVoteRequest().GetTerm()
	step(&pb.RaftKvMessage{Type: pb.RaftKvMessage_PRE_VOTE_RESPONSE, NodeId: "n3", To: "n1", VoteResponse: &pb.VoteResponse{Term: 0, Reason: "test"}})
	step(&pb.RaftKvMessage{Type: pb.RaftKvMessage_PRE_VOTE_RESPONSE, NodeId: "n2", To: "n1", VoteResponse: &pb.VoteResponse{Term: term, VoteGranted: true}})
	await("a vote request", "n2", ofType(pb.RaftKvMessage_VOTE_REQUEST))
	step(&pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_RESPONSE, NodeId: "n2", To: "n1", VoteResponse: &pb.VoteResponse{Term: term, VoteGranted: true}})
	app := await("entries", "n2", func(m *pb.RaftKvMessage) bool { return len(m.GetAppendEntriesRequest().GetEntries()) > 0 })
	req := app.GetAppendEntriesRequest()
	match := req.GetPrevLogIndex() + int64(len(req.GetEntries()))
	step(&pb.RaftKvMessage{Type: pb.RaftKvMessage_APPEND_ENTRIES_RESPONSE, NodeId: "n2", To: "n1",
		AppendEntriesResponse: &pb.AppendEntriesResponse{Term: req.GetTerm(), Success: true, MatchIndex: match}})
	await("a heartbeat", "n3", func(m *pb.RaftKvMessage) bool {
		return m.GetType() == pb.RaftKvMessage_APPEND_ENTRIES_REQUEST && len(m.GetAppendEntriesRequest().GetEntries()) == 0
	})
	// Everything stepped has reached the loop once a status shows it: the
	// loop takes messages in order, and n2's answer to the no-op commits it.
	testkit.PollEvery(t, time.Millisecond, 10*time.Second, fmt.Sprintf("commit index %d", match), func() (bool, string) {
		ci := n.Status().GetCommitIndex()
		return ci >= match, fmt.Sprintf("n2's answer never committed index %d (commit index %d)", match, ci)
	})
	if resp := n.Admin(ctx, &pb.AdminRequest{Command: pb.AdminCommand_PAUSE}); !resp.GetOk() {
		t.Fatalf("pause: %v", resp)
	}

	// The last window comes out after the pause; then the reports add up.
	want := trafficSum{}
	testkit.PollEvery(t, time.Millisecond, 10*time.Second, "the MESSAGES events to add up", func() (bool, string) {
		take()
		clear(want)
		tr.sum(want)
		maps.Copy(want, stepped)
		return maps.Equal(reported, want), fmt.Sprintf("MESSAGES events add up to%v\nwant (transport and steps)%v", reported, want)
	})
	for _, k := range []trafficKey{
		{sent: true, peer: "n2", kind: pb.Traffic_VOTE, preVote: true},
		{sent: true, peer: "n3", kind: pb.Traffic_VOTE, preVote: true},
		{sent: false, peer: "n2", kind: pb.Traffic_VOTE_GRANTED, preVote: true},
		{sent: false, peer: "n3", kind: pb.Traffic_VOTE_DENIED, preVote: true},
		{sent: true, peer: "n2", kind: pb.Traffic_VOTE},
		{sent: false, peer: "n2", kind: pb.Traffic_VOTE_GRANTED},
		{sent: true, peer: "n2", kind: pb.Traffic_APPEND},
		{sent: true, peer: "n3", kind: pb.Traffic_HEARTBEAT},
	} {
		if reported[k].count == 0 {
			t.Errorf("no %v reported:%v", k, reported)
		}
	}
	if got := reported[trafficKey{sent: true, peer: "n2", kind: pb.Traffic_APPEND}]; got.entries < 1 || got.term != term {
		t.Errorf("appends to n2: %+v, want entries and term %d", got, term)
	}
	if got := reported[trafficKey{peer: "n2", kind: pb.Traffic_APPEND_OK}]; got.count != 1 || got.match != match {
		t.Errorf("n2's answers: %+v, want one with match %d", got, match)
	}
	if lastMessages.GetNodeId() != "n1" || lastMessages.GetUnixMs() == 0 || lastMessages.GetTerm() != term {
		t.Errorf("last MESSAGES event %v: want node n1, a time and term %d", lastMessages, term)
	}

	// Paused, the node neither sends nor steps, so it has nothing to say:
	// a few windows pass without a MESSAGES event.
	step(&pb.RaftKvMessage{Type: pb.RaftKvMessage_APPEND_ENTRIES_RESPONSE, NodeId: "n2", To: "n1",
		AppendEntriesResponse: &pb.AppendEntriesResponse{Term: req.GetTerm(), Success: true, MatchIndex: match}})
	quiet := time.After(4 * trafficWindow)
	for {
		select {
		case ev := <-events:
			if ev.GetKind() == pb.WatchEvent_MESSAGES {
				t.Fatalf("paused node published %v", ev)
			}
		case <-quiet:
			return
		}
	}
}

// BenchmarkTrafficCount: the cost counting adds to each message.
func BenchmarkTrafficCount(b *testing.B) {
	tab := newTrafficTable([]string{"n2", "n3", "n4", "n5", "n6", "n7"})
	msgs := []raft.Message{
		{Type: raft.MsgApp, From: "n1", To: "n6", Term: 3, Entries: make([]raft.Entry, 8)},
		{Type: raft.MsgAppResp, From: "n4", To: "n1", Term: 3, Index: 90},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m := &msgs[i&1]
		tab.count(m.From == "n1", m)
	}
}

// recordingAddrs records the peers a transport was told to follow.
type recordingAddrs struct {
	memTransport
	peers map[string]string
}

func (r *recordingAddrs) SetAddrs(addrs map[string]string) { r.peers = addrs }

// TestLearnedAddrReachesUntilConfigured: a node that joined knows only
// cluster.yaml's addresses; a leader added since dials it and gives its
// address in the handshake, which makes it a peer to answer — until a
// configuration names it, which then decides alone.
func TestLearnedAddrReachesUntilConfigured(t *testing.T) {
	book := newAddrBook(map[string]string{"n1": "a1", "n2": "a2", "n3": "a3"})
	tr := &recordingAddrs{}
	initial := raft.NewMembership("n1", "n2", "n3")
	book.follow("n3", tr, initial)
	if _, ok := tr.peers["n7"]; ok {
		t.Fatal("n7 is a peer before it dialed")
	}
	if !book.learn("n7", "a7") {
		t.Fatal("learn(n7) is not news")
	}
	if book.learn("n7", "a7") || book.learn("n1", "elsewhere") {
		t.Fatal("learn reports news for an address known already")
	}
	book.follow("n3", tr, initial)
	if tr.peers["n7"] != "a7" || book.get("n7") != "a7" {
		t.Fatalf("after learning n7: peers %v, book says %q", tr.peers, book.get("n7"))
	}
	// A configuration with n7 (at its own address) and then one without.
	withN7 := raft.Membership{{ID: "n3"}, {ID: "n7", Addr: "b7"}}
	book.follow("n3", tr, withN7)
	if tr.peers["n7"] != "b7" {
		t.Fatalf("configured n7: peers %v", tr.peers)
	}
	book.follow("n3", tr, raft.NewMembership("n3"))
	if _, ok := tr.peers["n7"]; ok {
		t.Fatalf("n7 removed by the configuration is still a peer: %v", tr.peers)
	}
}
