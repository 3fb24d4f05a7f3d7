package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

func TestDescribe(t *testing.T) {
	at := t0.Add(250 * time.Millisecond)
	tests := []struct {
		name string
		ev   *pb.WatchEvent
		want string
	}{
		{"vote granted", &pb.WatchEvent{Kind: pb.WatchEvent_VOTE_GRANTED, NodeId: "n2", Term: 3, Peer: "n1"},
			"n2 granted vote to n1 (term 3)"},
		{"pre-vote granted", &pb.WatchEvent{Kind: pb.WatchEvent_VOTE_GRANTED, NodeId: "n2", Term: 4, Peer: "n1", PreVote: true},
			"n2 granted pre-vote to n1 (term 4)"},
		{"pre-vote denied with reason", &pb.WatchEvent{Kind: pb.WatchEvent_VOTE_DENIED, NodeId: "n3", Term: 4, Peer: "n1", PreVote: true, Reason: "leader n2 is alive"},
			"n3 denied pre-vote to n1: leader n2 is alive"},
		{"vote denied without reason", &pb.WatchEvent{Kind: pb.WatchEvent_VOTE_DENIED, NodeId: "n3", Term: 4, Peer: "n1"},
			"n3 denied vote to n1 (term 4)"},
		{"votes requested", &pb.WatchEvent{Kind: pb.WatchEvent_VOTE_REQUESTED, NodeId: "n1", Term: 4},
			"n1 asked for votes (term 4)"},
		{"pre-votes requested", &pb.WatchEvent{Kind: pb.WatchEvent_VOTE_REQUESTED, NodeId: "n1", Term: 4, PreVote: true},
			"n1 asked for pre-votes (term 4)"},
		{"role", &pb.WatchEvent{Kind: pb.WatchEvent_ROLE_CHANGED, NodeId: "n1", Term: 4, Role: pb.Role_ROLE_PRE_CANDIDATE},
			"n1 became precandidate (term 4)"},
		{"term", &pb.WatchEvent{Kind: pb.WatchEvent_TERM_CHANGED, NodeId: "n1", Term: 5},
			"n1 moved to term 5"},
		{"leader elsewhere", &pb.WatchEvent{Kind: pb.WatchEvent_LEADER_CHANGED, NodeId: "n2", Term: 5, LeaderId: "n1"},
			"n2 follows leader n1 (term 5)"},
		{"leader itself", &pb.WatchEvent{Kind: pb.WatchEvent_LEADER_CHANGED, NodeId: "n1", Term: 5, LeaderId: "n1"},
			"n1 is the leader (term 5)"},
		{"leader lost", &pb.WatchEvent{Kind: pb.WatchEvent_LEADER_CHANGED, NodeId: "n2", Term: 6},
			"n2 lost its leader (term 6)"},
		{"paused", &pb.WatchEvent{Kind: pb.WatchEvent_PAUSED, NodeId: "n2"}, "n2 paused"},
		{"resumed", &pb.WatchEvent{Kind: pb.WatchEvent_RESUMED, NodeId: "n2"}, "n2 resumed"},
		{"fault set", &pb.WatchEvent{Kind: pb.WatchEvent_FAULT_CHANGED, NodeId: "n2", Reason: "partitioned from n1, n3"},
			"n2 partitioned from n1, n3"},
		{"fault healed", &pb.WatchEvent{Kind: pb.WatchEvent_FAULT_CHANGED, NodeId: "n2", Reason: "healed"}, "n2 healed"},
		{"fault without words", &pb.WatchEvent{Kind: pb.WatchEvent_FAULT_CHANGED, NodeId: "n2"}, "n2 changed its network faults"},
		{"fault with control characters", &pb.WatchEvent{Kind: pb.WatchEvent_FAULT_CHANGED, NodeId: "n2", Reason: "isolated\x1b[2J"},
			"n2 isolated [2J"},
		{"no node id: the connection's", &pb.WatchEvent{Kind: pb.WatchEvent_PAUSED}, "nX paused"},
		{"snapshot taken", &pb.WatchEvent{Kind: pb.WatchEvent_SNAPSHOT_TAKEN, NodeId: "n1", Index: 1200, Bytes: 3251 << 10},
			"n1 took a snapshot at 1200 (3.2 MiB)"},
		{"log compacted", &pb.WatchEvent{Kind: pb.WatchEvent_LOG_COMPACTED, NodeId: "n1", Index: 700},
			"n1 compacted its log below 700"},
		{"snapshot sent", &pb.WatchEvent{Kind: pb.WatchEvent_SNAPSHOT_SENT, NodeId: "n1", Peer: "n3", Index: 1200, Bytes: 3251 << 10},
			"n1 → n3 snapshot at 1200 sent (3.2 MiB)"},
		{"snapshot failed", &pb.WatchEvent{Kind: pb.WatchEvent_SNAPSHOT_SENT, NodeId: "n1", Peer: "n3", Index: 1200, Bytes: 3251 << 10, Reason: "n3 rejected it: checksum mismatch"},
			"n1 → n3 snapshot at 1200 failed: n3 rejected it: checksum mismatch"},
		{"snapshot installed", &pb.WatchEvent{Kind: pb.WatchEvent_SNAPSHOT_INSTALLED, NodeId: "n3", Peer: "n1", Index: 1200, Bytes: 12 << 20},
			"n3 installed the snapshot at 1200 from n1 (12 MiB)"},
		{"snapshot installed, size unknown", &pb.WatchEvent{Kind: pb.WatchEvent_SNAPSHOT_INSTALLED, NodeId: "n3", Peer: "n1", Index: 1200},
			"n3 installed the snapshot at 1200 from n1"},
		{"lost entries", &pb.WatchEvent{Kind: pb.WatchEvent_LOST_ENTRIES, NodeId: "n1", Peer: "n3", Index: 11},
			"n1 ⚠ n3 lost entries it acknowledged (had 11): its data is gone"},
		{"unknown kind", &pb.WatchEvent{Kind: pb.WatchEvent_Kind(99), NodeId: "n1"}, "n1 sent event 99"},
		{"control characters", &pb.WatchEvent{Kind: pb.WatchEvent_VOTE_DENIED, NodeId: "n3", Peer: "n1", Reason: "bad\n\x1b[2Jterm"},
			"n3 denied vote to n1: bad  [2Jterm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := describe(tt.ev, "nX", nil, at)
			if got := line.node + " " + line.text; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !line.at.Equal(at) {
				t.Errorf("event without a time stamped %v, want arrival %v", line.at, at)
			}
		})
	}
}

func TestDescribeUsesNodeClockInViewerZone(t *testing.T) {
	zone := time.FixedZone("X", 2*3600)
	now := t0.In(zone)
	line := describe(&pb.WatchEvent{Kind: pb.WatchEvent_PAUSED, UnixMs: t0.UnixMilli() - 1500}, "n1", nil, now)
	if got := line.at.Format("15:04:05.000"); got != "23:39:59.623" {
		t.Errorf("stamped %s, want the node's time in the viewer's zone, 23:39:59.623", got)
	}
}

func TestEventLogKeepsNewest(t *testing.T) {
	var l eventLog
	if got := l.last(5); len(got) != 0 {
		t.Errorf("empty log gave %d lines", len(got))
	}
	for i := range eventLogSize + 7 {
		l.add(eventLine{text: string(rune('a' + i%26))})
	}
	if len(l.ring) != eventLogSize || l.total != eventLogSize+7 {
		t.Fatalf("kept %d of %d, want %d", len(l.ring), l.total, eventLogSize)
	}
	all := l.last(eventLogSize + 100)
	if len(all) != eventLogSize {
		t.Fatalf("last(more than kept) gave %d", len(all))
	}
	// The oldest kept is line number 7; the newest is the last added.
	if all[0].text != string(rune('a'+7%26)) || all[len(all)-1].text != string(rune('a'+(eventLogSize+6)%26)) {
		t.Errorf("oldest %q newest %q", all[0].text, all[len(all)-1].text)
	}
}

// TestEventLogKeepsTimestampOrder: a node's batch that arrives after
// another node's later lines takes its place by time, also once the ring
// is full; lines stamped alike keep the order they came in.
func TestEventLogKeepsTimestampOrder(t *testing.T) {
	var l eventLog
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, e := range []struct {
		ms   int
		text string
	}{{10, "n1 a"}, {30, "n2 c"}, {20, "n1 b"}, {30, "n3 d"}, {5, "n3 first"}} {
		l.add(eventLine{at: at(e.ms), text: e.text})
	}
	var got []string
	for _, e := range l.last(10) {
		got = append(got, e.text)
	}
	if want := []string{"n3 first", "n1 a", "n1 b", "n2 c", "n3 d"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("order %v, want %v", got, want)
	}

	l = eventLog{}
	for i := range eventLogSize + 10 {
		l.add(eventLine{at: at(2 * i), text: fmt.Sprint(2 * i)})
	}
	l.add(eventLine{at: at(2*eventLogSize + 7), text: "late"})
	all := l.last(eventLogSize)
	for i := 1; i < len(all); i++ {
		if all[i].at.Before(all[i-1].at) {
			t.Fatalf("line %d (%s) before line %d (%s)", i, all[i].text, i-1, all[i-1].text)
		}
	}
	if all[len(all)-1].text != fmt.Sprint(2*(eventLogSize+9)) || all[len(all)-7].text != "late" {
		t.Errorf("the late line is not in its place: ends %v", all[len(all)-8:])
	}
}
