package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// busyModel is a 7-node dashboard at width x height in the middle of a
// busy run: every node's log cache full over several terms, the leader
// replicating to followers at different match indexes, the event pane
// holding its most lines, and a full traffic pane.
func busyModel(tb testing.TB, width, height int) *Model {
	tb.Helper()
	const size = 7
	var nodes []Node
	for i := 1; i <= size; i++ {
		nodes = append(nodes, Node{ID: fmt.Sprintf("n%d", i), Addr: fmt.Sprintf("127.0.0.1:70%02d", i)})
	}
	clock := &fakeClock{now: t0}
	m, err := New(Options{
		Cluster: "bench", Nodes: nodes, Dial: newFakeDialer().dial, Now: clock.Now,
		Renderer: asciiRenderer(), ClientID: testClientID,
	})
	if err != nil {
		tb.Fatal(err)
	}
	m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	send := func(node int, evs ...*pb.WatchEvent) { m.Update(eventsMsg{node: node, events: evs}) }

	// The logs grow to 5000 over five terms, statuses every 8 entries, so
	// the caches fill without gaps; the leader is n1.
	const last = 5000
	termOf := func(i int64) int64 { return 1 + i/1000 }
	for upTo := int64(8); upTo <= last; upTo += 8 {
		for i := range size {
			lag := int64(i * 3)
			st := &pb.NodeStatus{
				Id: nodes[i].ID, Role: pb.Role_ROLE_FOLLOWER, Term: termOf(last), LeaderId: "n1",
				LastIndex: upTo - lag, LastTerm: termOf(upTo - lag), CommitIndex: upTo - lag - 4,
				ElectionTimeoutMs: 1500, ElectionRemainingMs: 900,
			}
			for j := max(1, upTo-lag-7); j <= upTo-lag; j++ {
				st.LogTail = append(st.LogTail, &pb.LogEntry{Index: j, Term: termOf(j), Command: fmt.Sprintf("PUT key%d value%d", j, j)})
			}
			if i == 0 {
				st.Role, st.HeartbeatMs = pb.Role_ROLE_LEADER, 100
				for p := 1; p < size; p++ {
					match := upTo - int64(p*3)
					st.Peers = append(st.Peers, &pb.PeerProgress{Id: nodes[p].ID, MatchIndex: match, NextIndex: match + 1, RecentActive: true})
				}
			}
			send(i, statusEv(st))
		}
	}
	// A full event pane.
	for i := range eventLogSize {
		send(i%size, &pb.WatchEvent{Kind: pb.WatchEvent_VOTE_DENIED, NodeId: nodes[i%size].ID, Term: 5, Peer: "n1",
			Reason: fmt.Sprintf("reason number %d, long enough to be cut at the pane's edge", i)})
	}
	// Traffic in every direction, counted by both sides, over the window.
	for w := range 20 {
		clock.advance(trafficWindow / 20)
		for i := range size {
			var recs []*pb.Traffic
			for j := range size {
				if i == j {
					continue
				}
				// What i sent j, and what i received from j.
				recs = append(recs,
					&pb.Traffic{Kind: pb.Traffic_APPEND, From: nodes[i].ID, To: nodes[j].ID, Sent: true, Count: 2, Entries: int64(10 + w)},
					&pb.Traffic{Kind: pb.Traffic_HEARTBEAT, From: nodes[i].ID, To: nodes[j].ID, Sent: true, Count: 1},
					&pb.Traffic{Kind: pb.Traffic_APPEND_OK, From: nodes[i].ID, To: nodes[j].ID, Sent: true, Count: 2, Match: int64(4000 + w)},
					&pb.Traffic{Kind: pb.Traffic_APPEND, From: nodes[j].ID, To: nodes[i].ID, Count: 2, Entries: int64(10 + w)},
					&pb.Traffic{Kind: pb.Traffic_HEARTBEAT, From: nodes[j].ID, To: nodes[i].ID, Count: 1},
					&pb.Traffic{Kind: pb.Traffic_APPEND_OK, From: nodes[j].ID, To: nodes[i].ID, Count: 2, Match: int64(4000 + w)},
				)
			}
			send(i, &pb.WatchEvent{Kind: pb.WatchEvent_MESSAGES, NodeId: nodes[i].ID, Traffic: recs})
		}
	}
	return m
}

// BenchmarkView draws a busy 7-node frame: what every Update costs the
// dashboard on top of applying the message.
func BenchmarkView(b *testing.B) {
	for _, size := range [][2]int{{200, 60}, {80, 24}} {
		b.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(b *testing.B) {
			m := busyModel(b, size[0], size[1])
			frame := m.View()
			checkFrame(b, frame, size[0], size[1])
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// checkFrame fails b unless frame has the panes a busy frame should.
func checkFrame(tb testing.TB, frame string, width, height int) {
	tb.Helper()
	for _, want := range []string{"n7", "events (", "LEADER"} {
		if !strings.Contains(frame, want) {
			tb.Fatalf("%dx%d frame lacks %q:\n%s", width, height, want, frame)
		}
	}
	if width >= 200 {
		for _, want := range []string{"traffic", "log (", "^"} {
			if !strings.Contains(frame, want) {
				tb.Fatalf("%dx%d frame lacks %q:\n%s", width, height, want, frame)
			}
		}
	}
}

func TestBusyFrameFits(t *testing.T) {
	for _, size := range [][2]int{{200, 60}, {80, 24}} {
		m := busyModel(t, size[0], size[1])
		frame := m.View()
		checkFits(t, frame, size[0], size[1])
		checkFrame(t, frame, size[0], size[1])
	}
}
