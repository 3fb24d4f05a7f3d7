package netlink

import (
	"context"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

// trafficEvents are three MESSAGES events of node n1, as it publishes
// them window after window.
func trafficEvents() []*pb.WatchEvent {
	return []*pb.WatchEvent{
		{Kind: pb.WatchEvent_MESSAGES, NodeId: "n1", UnixMs: 100, Term: 2, Role: pb.Role_ROLE_LEADER, LeaderId: "n1", Traffic: []*pb.Traffic{
			{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Sent: true, Count: 3, Entries: 12, Term: 2},
			{Kind: pb.Traffic_APPEND_OK, From: "n2", To: "n1", Count: 3, Match: 57, Term: 2},
		}},
		{Kind: pb.WatchEvent_MESSAGES, NodeId: "n1", UnixMs: 200, Term: 2, Role: pb.Role_ROLE_LEADER, LeaderId: "n1", Traffic: []*pb.Traffic{
			{Kind: pb.Traffic_APPEND_OK, From: "n2", To: "n1", Count: 1, Match: 60, Term: 2},
			{Kind: pb.Traffic_HEARTBEAT, From: "n1", To: "n3", Sent: true, Count: 2, Term: 2},
		}},
		{Kind: pb.WatchEvent_MESSAGES, NodeId: "n1", UnixMs: 300, Term: 3, Role: pb.Role_ROLE_FOLLOWER, LeaderId: "n3", Traffic: []*pb.Traffic{
			{Kind: pb.Traffic_VOTE, From: "n3", To: "n1", PreVote: true, Count: 1, Term: 3},
			{Kind: pb.Traffic_VOTE_GRANTED, From: "n1", To: "n3", Sent: true, PreVote: true, Count: 1, Term: 3},
			{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Sent: true, Count: 1, Entries: 2, Term: 2},
		}},
	}
}

func TestHeldTrafficMerges(t *testing.T) {
	evs := trafficEvents()
	originals := make([]*pb.WatchEvent, len(evs))
	for i, e := range evs {
		originals[i] = proto.Clone(e).(*pb.WatchEvent)
	}
	var h heldTraffic
	if h.take() != nil {
		t.Fatal("empty heldTraffic returned an event")
	}
	for _, e := range evs {
		h.add(e)
	}
	want := &pb.WatchEvent{Kind: pb.WatchEvent_MESSAGES, NodeId: "n1", UnixMs: 300, Term: 3, Role: pb.Role_ROLE_FOLLOWER, LeaderId: "n3", Traffic: []*pb.Traffic{
		{Kind: pb.Traffic_APPEND, From: "n1", To: "n2", Sent: true, Count: 4, Entries: 14, Term: 2},
		{Kind: pb.Traffic_APPEND_OK, From: "n2", To: "n1", Count: 4, Match: 60, Term: 2},
		{Kind: pb.Traffic_HEARTBEAT, From: "n1", To: "n3", Sent: true, Count: 2, Term: 2},
		{Kind: pb.Traffic_VOTE, From: "n3", To: "n1", PreVote: true, Count: 1, Term: 3},
		{Kind: pb.Traffic_VOTE_GRANTED, From: "n1", To: "n3", Sent: true, PreVote: true, Count: 1, Term: 3},
	}}
	if got := h.take(); !proto.Equal(got, want) {
		t.Errorf("merged\n%v\nwant\n%v", got, want)
	}
	if h.take() != nil {
		t.Error("take returned the merged event twice")
	}
	for i := range evs {
		if !proto.Equal(evs[i], originals[i]) {
			t.Errorf("merging modified event %d, which other watches may share: %v", i, evs[i])
		}
	}
}

// TestWatchTraffic sends MESSAGES events through a real watch: each field
// survives the wire, nothing is lost, and at most one MESSAGES event comes
// between two STATUS events.
func TestWatchTraffic(t *testing.T) {
	node := make(chan *pb.WatchEvent, 8)
	h := &fakeHandler{subscribe: func() (<-chan *pb.WatchEvent, func()) { return node, func() {} }}
	_, addr, _ := startServer(t, testServerConfig(), h)
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	events, err := c.Watch(ctx, defaultStatusInterval)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	if ev := recv(t, events, "the first STATUS"); ev.GetKind() != pb.WatchEvent_STATUS {
		t.Fatalf("first event %v, want STATUS", ev)
	}
	sent := trafficEvents()
	for _, e := range sent {
		node <- e
	}
	var all heldTraffic
	for _, e := range sent {
		all.add(e)
	}
	want := all.take()

	var got heldTraffic
	first := true
	sinceStatus := 0
	for {
		ev := recv(t, events, "the MESSAGES events")
		switch ev.GetKind() {
		case pb.WatchEvent_STATUS:
			sinceStatus = 0
			continue
		case pb.WatchEvent_MESSAGES:
		default:
			t.Fatalf("unexpected event %v", ev)
		}
		if sinceStatus++; sinceStatus > 1 {
			t.Fatalf("a second MESSAGES event %v before the next STATUS", ev)
		}
		if first && !proto.Equal(ev, sent[0]) {
			t.Errorf("first MESSAGES event\n%v\nwant it as sent\n%v", ev, sent[0])
		}
		first = false
		got.add(ev)
		if ev.GetUnixMs() == sent[len(sent)-1].GetUnixMs() {
			break
		}
	}
	if g := got.take(); !proto.Equal(g, want) {
		t.Errorf("MESSAGES events add up to\n%v\nwant\n%v", g, want)
	}
}
