package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink/pb"
)

// probe wraps the dashboard in a real Bubble Tea program: it counts what
// reached Update, so that the test can feed one node at a time and the
// frame does not depend on how the runtime interleaved the streams, and
// once everything was taken it drops every further message, so that the
// frame the test reads after quitting is exactly that one (a retry timer
// firing late cannot change it).
type probe struct {
	// Model is the dashboard under test; probe passes it every message
	// until frozen.
	*Model
	// want says the model has taken everything the scene sent.
	want func(p *probe) bool
	// ready is closed once want holds.
	ready chan struct{}
	// mu guards the counters below, which the test polls.
	mu sync.Mutex
	// frozen is set once ready is closed.
	frozen bool
	// received counts stream events per node index; dialled counts dial
	// results (connected or failed); keys counts key presses; sized says
	// the terminal size arrived.
	received map[int]int
	dialled  int
	keys     int
	sized    bool
}

func (p *probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frozen {
		return p, nil
	}
	switch msg := msg.(type) {
	case eventsMsg:
		p.received[msg.node] += len(msg.events)
	case connectedMsg, dialFailedMsg:
		p.dialled++
	case tea.KeyMsg:
		p.keys++
	case tea.WindowSizeMsg:
		p.sized = true
	}
	_, cmd := p.Model.Update(msg)
	if p.want(p) {
		p.frozen = true
		close(p.ready)
		return p, nil
	}
	return p, cmd
}

// wait polls until cond holds on the probe's counters, for at most 10s.
func (p *probe) wait(t *testing.T, what string, cond func(p *probe) bool) {
	t.Helper()
	testkit.Poll(t, 10*time.Second, what, func() (bool, string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return cond(p), fmt.Sprintf("sized %v, %d dialled, events taken per node %v, %d keys", p.sized, p.dialled, p.received, p.keys)
	})
}

// scene is a cluster as a golden frame shows it.
type scene struct {
	// nodes is the cluster size: n1..nN.
	nodes int
	// width and height are the terminal's.
	width, height int
	// fail makes the dials of these nodes fail.
	fail map[string]error
	// events are what each node's stream carries, in order.
	events map[string][]*pb.WatchEvent
	// keys are pressed once the program runs.
	keys []tea.KeyMsg
}

// runScene runs the dashboard in teatest at the scene's size, with colour
// off and the clock stopped at t0, feeds each node's stream, and returns
// the frame once every event and key was taken.
func runScene(t *testing.T, sc scene) string {
	t.Helper()
	var nodes []Node
	for i := 1; i <= sc.nodes; i++ {
		nodes = append(nodes, Node{ID: fmt.Sprintf("n%d", i), Addr: fmt.Sprintf("127.0.0.1:70%02d", i)})
	}
	dialer := newFakeDialer()
	for id, err := range sc.fail {
		dialer.setFail(id, err)
	}
	// Each dial waits for its gate, so that the nodes connect in order.
	gates := map[string]chan struct{}{}
	for _, n := range nodes {
		gates[n.ID] = make(chan struct{})
	}
	dial := func(ctx context.Context, n Node) (NodeConn, error) {
		select {
		case <-gates[n.ID]:
			return dialer.dial(ctx, n)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	clock := &fakeClock{now: t0}
	m, err := New(Options{
		Cluster: "demo", Nodes: nodes, Dial: dial, Now: clock.Now,
		Renderer: asciiRenderer(), ClientID: testClientID,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &probe{Model: m, ready: make(chan struct{}), received: map[int]int{}}
	p.want = func(p *probe) bool {
		if p.dialled < sc.nodes || p.keys < len(sc.keys) || !p.sized {
			return false
		}
		for i, n := range nodes {
			if p.received[i] < len(sc.events[n.ID]) {
				return false
			}
		}
		return true
	}
	tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(sc.width, sc.height))
	p.wait(t, "terminal size", func(p *probe) bool { return p.sized })
	// One node at a time, in order: its dial, then its stream.
	for i, n := range nodes {
		close(gates[n.ID])
		p.wait(t, n.ID+" dialled", func(p *probe) bool { return p.dialled > i })
		if sc.fail[n.ID] != nil {
			continue
		}
		conn := dialer.conn(t, n.ID)
		for _, ev := range sc.events[n.ID] {
			conn.events <- ev
		}
		p.wait(t, n.ID+"'s events taken", func(p *probe) bool { return p.received[i] >= len(sc.events[n.ID]) })
	}
	for _, k := range sc.keys {
		tm.Send(k)
	}
	select {
	case <-p.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the dashboard did not take the scene's events within 10s")
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*probe)
	frame := final.View()
	// The stream readers still wait on the fake streams: end them, so that
	// no goroutine outlives the test.
	closeStreams(dialer)
	if err := final.Close(); err != nil {
		t.Fatal(err)
	}
	checkFits(t, frame, sc.width, sc.height)
	return frame
}

// closeStreams closes the stream of every connection d handed out.
func closeStreams(d *fakeDialer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, cs := range d.conns {
		for _, c := range cs {
			close(c.events)
		}
	}
}

// ms is t0 plus d, as a watch event's timestamp.
func ms(d time.Duration) int64 { return t0.Add(d).UnixMilli() }

// messages is a MESSAGES event from node carrying traffic.
func messages(node string, traffic ...*pb.Traffic) *pb.WatchEvent {
	return &pb.WatchEvent{Kind: pb.WatchEvent_MESSAGES, NodeId: node, UnixMs: ms(0), Traffic: traffic}
}

// sent is a record counted by its sender.
func sent(kind pb.Traffic_Kind, from, to string, count int64) *pb.Traffic {
	return &pb.Traffic{Kind: kind, From: from, To: to, Sent: true, Count: count}
}

// termLog is a log of entries 1..last whose term is 1 up to index 3, 2 up
// to 6, and so on up to term (each new term opens with a no-op).
func termLog(last, term int64) []*pb.LogEntry {
	var out []*pb.LogEntry
	for i := int64(1); i <= last; i++ {
		t := min(term, (i-1)/3+1)
		out = append(out, entry(i, t, fmt.Sprintf("PUT k%d v%d", i, i)))
	}
	return out
}

// tail is the status tail of log: its last logTailLen entries up to last.
func tail(log []*pb.LogEntry, last int64) []*pb.LogEntry {
	return log[max(0, last-8):last]
}

// termRuns are the status log_terms of log up to last, as a node sends
// them: the terms of its last 256 entries as runs.
func termRuns(log []*pb.LogEntry, last int64) []*pb.TermRun {
	var runs []*pb.TermRun
	for _, e := range log[max(0, last-256):last] {
		if n := len(runs); n == 0 || runs[n-1].GetTerm() != e.GetTerm() {
			runs = append(runs, &pb.TermRun{FirstIndex: e.GetIndex(), Term: e.GetTerm()})
		}
	}
	return runs
}

// leaderScene is n1 leading term 3 of a cluster of size nodes, committed up
// to 40 with 44 entries, its followers at different match indexes (the
// last one far behind and refusing entries), with the traffic of the last
// status interval.
func leaderScene(size int) map[string][]*pb.WatchEvent {
	log := termLog(44, 3)
	events := map[string][]*pb.WatchEvent{}
	var peers []*pb.PeerProgress
	var traffic []*pb.Traffic
	for i := 2; i <= size; i++ {
		id := fmt.Sprintf("n%d", i)
		match := int64(44 - 2*(i-2))
		if i == size {
			match = 30
		}
		peers = append(peers, &pb.PeerProgress{Id: id, MatchIndex: match, NextIndex: match + 1, RecentActive: i != size})
		traffic = append(traffic, sent(pb.Traffic_HEARTBEAT, "n1", id, 5))
		switch {
		case i == size:
			traffic = append(traffic, &pb.Traffic{Kind: pb.Traffic_APPEND, From: "n1", To: id, Sent: true, Count: 2, Entries: 14})
		case match < 44:
			traffic = append(traffic, &pb.Traffic{Kind: pb.Traffic_APPEND, From: "n1", To: id, Sent: true, Count: 1, Entries: 44 - match})
		}
		st := follower(id, 3, "n1", 1000+int64(i)*100, 900)
		st.CommitIndex, st.AppliedIndex, st.LastIndex, st.LastTerm = min(match, 40), min(match, 40), match, log[match-1].GetTerm()
		st.LogTail, st.LogTerms = tail(log, match), termRuns(log, match)
		ok := &pb.Traffic{Kind: pb.Traffic_APPEND_OK, From: id, To: "n1", Sent: true, Count: 5, Match: match}
		if i == size {
			ok = sent(pb.Traffic_APPEND_REJECT, id, "n1", 2)
		}
		events[id] = []*pb.WatchEvent{
			{Kind: pb.WatchEvent_LEADER_CHANGED, UnixMs: ms(-4200*time.Millisecond + time.Duration(i)*time.Millisecond), NodeId: id, Term: 3, LeaderId: "n1"},
			statusEv(st),
			messages(id, ok),
		}
	}
	events["n1"] = []*pb.WatchEvent{
		{Kind: pb.WatchEvent_ROLE_CHANGED, UnixMs: ms(-4200 * time.Millisecond), NodeId: "n1", Term: 3, Role: pb.Role_ROLE_LEADER},
		statusEv(&pb.NodeStatus{
			Id: "n1", Role: pb.Role_ROLE_LEADER, Term: 3, VotedFor: "n1", LeaderId: "n1",
			CommitIndex: 40, AppliedIndex: 40, LastIndex: 44, LastTerm: 3, HeartbeatMs: 100, ElectionTimeoutMs: 1000,
			Peers: peers, LogTail: tail(log, 44), LogTerms: termRuns(log, 44),
		}),
		messages("n1", traffic...),
	}
	return events
}

func TestGolden(t *testing.T) {
	starting := map[string][]*pb.WatchEvent{}
	for i, left := range []int64{900, 1350, 1720} {
		id := fmt.Sprintf("n%d", i+1)
		st := follower(id, 0, "", 1000+int64(i)*300, left)
		st.CommitIndex, st.AppliedIndex, st.LastIndex = 0, 0, 0
		starting[id] = []*pb.WatchEvent{statusEv(st)}
	}

	candidate := map[string][]*pb.WatchEvent{}
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("n%d", i)
		st := follower(id, 4, "", 1200, 300+int64(i)*100)
		st.VotedFor = "n2"
		candidate[id] = []*pb.WatchEvent{statusEv(st)}
	}
	candidate["n2"] = []*pb.WatchEvent{
		{Kind: pb.WatchEvent_ROLE_CHANGED, UnixMs: ms(-20 * time.Millisecond), NodeId: "n2", Term: 5, Role: pb.Role_ROLE_CANDIDATE},
		statusEv(&pb.NodeStatus{
			Id: "n2", Role: pb.Role_ROLE_CANDIDATE, Term: 5, VotedFor: "n2",
			ElectionTimeoutMs: 1500, ElectionRemainingMs: 1400, HeartbeatMs: 100,
			CommitIndex: 7, AppliedIndex: 7, LastIndex: 7, LastTerm: 4,
			VotesGranted: []string{"n2", "n4"}, VotesRejected: []string{"n5"},
		}),
		messages("n2",
			&pb.Traffic{Kind: pb.Traffic_VOTE, From: "n2", To: "n1", Sent: true, Count: 1, Term: 5},
			&pb.Traffic{Kind: pb.Traffic_VOTE, From: "n2", To: "n3", Sent: true, Count: 1, Term: 5},
			&pb.Traffic{Kind: pb.Traffic_VOTE, From: "n2", To: "n4", Sent: true, Count: 1, Term: 5},
			&pb.Traffic{Kind: pb.Traffic_VOTE, From: "n2", To: "n5", Sent: true, Count: 1, Term: 5},
			&pb.Traffic{Kind: pb.Traffic_VOTE, From: "n2", To: "n4", Sent: true, PreVote: true, Count: 1, Term: 5},
		),
	}
	candidate["n4"] = append(candidate["n4"], messages("n4",
		&pb.Traffic{Kind: pb.Traffic_VOTE_GRANTED, From: "n4", To: "n2", Sent: true, Count: 1, Term: 5}))
	candidate["n5"] = append(candidate["n5"], messages("n5",
		&pb.Traffic{Kind: pb.Traffic_VOTE_DENIED, From: "n5", To: "n2", Sent: true, Count: 1, Term: 5}))

	paused := leaderScene(3)
	pausedStatus := follower("n3", 3, "n1", 1300, 650)
	pausedStatus.Paused = true
	paused["n3"] = []*pb.WatchEvent{
		{Kind: pb.WatchEvent_PAUSED, UnixMs: ms(-time.Second), NodeId: "n3"},
		statusEv(pausedStatus),
	}

	down := leaderScene(3)
	delete(down, "n3")

	tests := []struct {
		name  string
		scene scene
		wants []string
	}{
		{"followers_starting", scene{nodes: 3, width: 120, height: 40, events: starting},
			[]string{"no leader", "● follower", "0.90s"}},
		{"candidate_tally", scene{nodes: 5, width: 120, height: 40, events: candidate},
			[]string{"◐ candidate", "votes 2 of 3 needed", "○ n1", "● n2", "✗ n5", "n2 → n1,n3,n4,n5 RequestVote term 5", "n2 → n4 RequestVote (pre-vote) term 5", "n4 → n2 vote granted", "n5 → n2 vote denied"}},
		{"leader_match", scene{nodes: 3, width: 120, height: 40, events: leaderScene(3)},
			[]string{"★ LEADER ♥", "elected 4.2s ago", "^44 >45", "n1 → n2,n3 heartbeat ×5", "n3 → n1 reject ×2", "n2 → n1 ok match=44 ×5"}},
		{"paused_node", scene{nodes: 3, width: 120, height: 40, events: paused},
			[]string{"⏸ PAUSED", "1 paused"}},
		{"down_node", scene{nodes: 3, width: 120, height: 40, events: down,
			fail: map[string]error{"n3": fmt.Errorf("dial 127.0.0.1:7003: connect: connection refused")}},
			[]string{"✖ DOWN", "1 down", "connection refused"}},
		{"help_overlay", scene{nodes: 3, width: 120, height: 40, events: leaderScene(3),
			keys: []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune{'?'}}}},
			[]string{"Commands"}},
		{"80x24", scene{nodes: 3, width: 80, height: 24, events: leaderScene(3)},
			[]string{"★ LEADER", "events"}},
		{"seven_nodes", scene{nodes: 7, width: 200, height: 60, events: leaderScene(7)},
			[]string{"n7 ● follower", "log (index", "traffic", "events", "n1 → n7 AppendEntries ×14 entries (2 msgs)"}},
		{"seven_nodes_80x24", scene{nodes: 7, width: 80, height: 24, events: leaderScene(7)},
			[]string{"n7 ● follower", "★ LEADER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := runScene(t, tt.scene)
			teatest.RequireEqualOutput(t, []byte(frame))
			mustContain(t, frame, tt.wants...)
		})
	}
}

// TestGoldenFramesAreStable runs one scene twice: the frame must not depend
// on how the runtime interleaved the streams.
func TestGoldenFramesAreStable(t *testing.T) {
	var frames []string
	for range 2 {
		frames = append(frames, runScene(t, scene{nodes: 5, width: 120, height: 40, events: leaderScene(5)}))
	}
	if frames[0] != frames[1] {
		t.Errorf("two runs of one scene differ:\n%s\n---\n%s", frames[0], frames[1])
	}
	if !strings.Contains(frames[0], "n5") {
		t.Errorf("frame lacks n5:\n%s", frames[0])
	}
}
