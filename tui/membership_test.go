package tui

import (
	"errors"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

// member is node id of the configuration, at the harness's address for
// it (127.0.0.1:700N for nN).
func member(id string, learner bool) *pb.Member {
	return &pb.Member{Id: id, Addr: "127.0.0.1:700" + strings.TrimPrefix(id, "n"), Learner: learner}
}

// withMembers is st reporting the configuration members, in effect since
// index 9 and committed.
func withMembers(st *pb.NodeStatus, members ...*pb.Member) *pb.NodeStatus {
	st.Members, st.ConfigIndex, st.ConfigCommitted = members, 9, true
	return st
}

// connectLearned runs node from's pending read, for what was queued on its
// stream, and takes the commands the model answers with when a
// configuration names new members: the dials of those members, then
// from's next read. It runs the dials, so the new members' streams are
// read from then on, and keeps from's read pending.
func (h *harness) connectLearned(from string, ids ...string) {
	h.t.Helper()
	cmd := h.send(h.pending[from]())
	if cmd == nil {
		h.t.Fatalf("after %s's status: no command", from)
	}
	batch, ok := cmd().(tea.BatchMsg)
	if !ok || len(batch) != len(ids)+1 {
		h.t.Fatalf("after %s's status: %d commands, want %d dials and a read", from, len(batch), len(ids))
	}
	for i, id := range ids {
		msg, ok := batch[i]().(connectedMsg)
		if !ok || h.m.nodes[msg.node].node.ID != id {
			h.t.Fatalf("dial %d did not connect %s: %#v", i, id, msg)
		}
		h.pending[id] = h.send(msg)
	}
	h.pending[from] = batch[len(ids)]
}

// memberHarness is a cluster whose leader, n1, reports n1, n2 and n3 as
// voters and n4, which cluster.yaml does not list, as a learner; the
// dashboard has dialled n4 and heard from every node.
func memberHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, 3)
	connectAll(h)
	members := []*pb.Member{member("n1", false), member("n2", false), member("n3", false), member("n4", true)}
	// The leader first: a follower's configuration would be followed
	// too, with no leader known, and its read would start the dial.
	lead := withMembers(leaderStatus("n1", 3), members...)
	h.dialer.conn(t, "n1").events <- statusEv(lead)
	h.connectLearned("n1", "n4")
	h.deliver("n2", statusEv(withMembers(follower("n2", 3, "n1", 1000, 900), members...)))
	h.deliver("n3", statusEv(withMembers(follower("n3", 3, "n1", 1000, 900), members...)))
	learner := withMembers(follower("n4", 3, "n1", 1000, 900), members...)
	learner.Learner = true
	h.deliver("n4", statusEv(learner))
	return h
}

func TestMemberLearnedFromAStatusGetsACard(t *testing.T) {
	h := memberHarness(t)
	if got := h.dialer.dials("n4"); got != 1 {
		t.Fatalf("n4 dialled %d times, want 1", got)
	}
	frame := h.view()
	mustContain(t, frame, "4 nodes: 4 up", "n4 is a member now (127.0.0.1:7004): connecting", "n4 connected")
	card := cardOf(t, frame, "n4")
	mustContain(t, card, "● follower  ◇ learner", "127.0.0.1:7004")
	if strings.Contains(cardOf(t, frame, "n2"), learnerText) {
		t.Errorf("a voter's card is marked learner:\n%s", frame)
	}
	// The vote tallies and the quorum are the voters'.
	if !slices.Equal(h.m.ctx.ids, []string{"n1", "n2", "n3"}) || h.m.ctx.quorum != 2 {
		t.Errorf("voters %v, quorum %d; want n1 n2 n3 and 2", h.m.ctx.ids, h.m.ctx.quorum)
	}
	// A member already known is not dialled again.
	h.deliver("n1", statusEv(withMembers(leaderStatus("n1", 3), member("n1", false), member("n2", false), member("n3", false), member("n4", true))))
	if got := h.dialer.dials("n4"); got != 1 {
		t.Errorf("n4 dialled %d times after a second status, want 1", got)
	}
}

func TestRemovedNodeIsMarkedThenItsCardCloses(t *testing.T) {
	h := memberHarness(t)
	// n1's configuration no longer lists n3; n3 is still up.
	h.deliver("n1", statusEv(withMembers(leaderStatus("n1", 3), member("n1", false), member("n2", false), member("n4", true))))
	frame := h.view()
	mustContain(t, cardOf(t, frame, "n3"), "● follower  ⊘ removed")
	mustContain(t, frame, "4 nodes: 4 up")

	// n3 stops: unreachable and removed, its card closes and it is not
	// dialled again.
	h.dialer.setFail("n3", errors.New("connection refused"))
	close(h.dialer.conn(t, "n3").events)
	retry := h.send(h.pending["n3"]())
	frame = h.view()
	if strings.Contains(frame, "│ n3 ") {
		t.Errorf("n3's card is still drawn:\n%s", frame)
	}
	mustContain(t, frame, "3 nodes: 3 up", "n3 removed from the configuration and unreachable: card closed")
	var sawRetry bool
	for _, msg := range batchMsgs(retry) {
		if r, ok := msg.(retryMsg); ok {
			sawRetry = true
			if cmd := h.send(r); cmd != nil {
				t.Error("a closed card's retry dials again")
			}
		}
	}
	if !sawRetry {
		t.Fatal("no retry was scheduled")
	}
	if slices.Contains(h.m.nodeIDs(), "n3") {
		t.Errorf("n3 still completes: %v", h.m.nodeIDs())
	}
}

// batchMsgs runs cmd, and each command of a batch it returns, for their
// messages; the retry timer among them takes its backoff in real time.
func batchMsgs(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	batch, ok := msg.(tea.BatchMsg)
	if !ok {
		return []tea.Msg{msg}
	}
	var out []tea.Msg
	for _, c := range batch {
		out = append(out, batchMsgs(c)...)
	}
	return out
}

// TestMembershipFrames: learner, removed and transfer marks, as cards and
// as the node table of an 80×24 terminal.
func TestMembershipFrames(t *testing.T) {
	h := memberHarness(t)
	lead := withMembers(leaderStatus("n1", 3), member("n1", false), member("n2", false), member("n4", true))
	lead.TransferTo = "n2"
	lead.Peers = []*pb.PeerProgress{
		{Id: "n2", MatchIndex: 7, NextIndex: 8, RecentActive: true},
		{Id: "n4", MatchIndex: 5, NextIndex: 6, RecentActive: true, Learner: true},
	}
	// The proposal, then the status that reports it.
	h.deliver("n1", &pb.WatchEvent{
		Kind: pb.WatchEvent_CONF_PROPOSED, NodeId: "n1", UnixMs: t0.UnixMilli(), Index: 10,
		Members: lead.Members,
	}, statusEv(lead))
	frame := h.view()
	golden(t, "membership", frame)
	checkFits(t, frame, 120, 40)
	mustContain(t, cardOf(t, frame, "n1"), "★ LEADER ♡  → n2")
	mustContain(t, frame, "n1 proposes removing n3 (at 10)")

	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	frame = h.view()
	golden(t, "membership_80x24", frame)
	checkFits(t, frame, 80, 24)
	mustContain(t, frame, "n1 ★ LEADER    → n2", "n3 ● follower  ⊘ removed", "n4 ● follower  ◇ learner")
}

// TestSixCardsFit: two learned members make six nodes, which still fit a
// large terminal as cards and 80×24 as lines.
func TestSixCardsFit(t *testing.T) {
	h := newHarness(t, 4)
	connectAll(h)
	members := []*pb.Member{member("n1", false), member("n2", false), member("n3", false), member("n4", false), member("n5", true), member("n6", true)}
	h.dialer.conn(t, "n1").events <- statusEv(withMembers(leaderStatus("n1", 3), members...))
	h.connectLearned("n1", "n5", "n6")
	for _, id := range []string{"n2", "n3", "n4", "n5", "n6"} {
		h.deliver(id, statusEv(withMembers(follower(id, 3, "n1", 1000, 900), members...)))
	}
	for _, size := range []tea.WindowSizeMsg{{Width: 120, Height: 40}, {Width: 80, Height: 24}, {Width: 200, Height: 60}} {
		h.send(size)
		frame := h.view()
		checkFits(t, frame, size.Width, size.Height)
		mustContain(t, frame, "6 nodes: 6 up", "n6 ● follower")
	}
}

func TestMemberCommandsGoToTheLeader(t *testing.T) {
	tests := []struct {
		line string
		req  *pb.AdminRequest
		want string
	}{
		{"add n4 127.0.0.1:7004 learner", &pb.AdminRequest{Command: pb.AdminCommand_MEMBER_ADD, MemberId: "n4", MemberAddr: "127.0.0.1:7004", Learner: true},
			"n4 added as learner (via n2, 0.0ms)"},
		{"add n4 127.0.0.1:7004", &pb.AdminRequest{Command: pb.AdminCommand_MEMBER_ADD, MemberId: "n4", MemberAddr: "127.0.0.1:7004"},
			"n4 added as voter (via n2, 0.0ms)"},
		{"promote n4", &pb.AdminRequest{Command: pb.AdminCommand_MEMBER_PROMOTE, MemberId: "n4"}, "n4 promoted to voter (via n2, 0.0ms)"},
		{"remove n3", &pb.AdminRequest{Command: pb.AdminCommand_MEMBER_REMOVE, MemberId: "n3"}, "n3 removed (via n2, 0.0ms)"},
		{"transfer n3", &pb.AdminRequest{Command: pb.AdminCommand_TRANSFER_LEADER, MemberId: "n3"}, "leadership transferred to n3 (via n2, 0.0ms)"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			h := kvHarness(t) // n2 leads
			var printed []string
			h.m.repl.sink = func(line string) { printed = append(printed, line) }
			h.run(h.typeLine(tt.line))
			reqs := h.dialer.conn(t, "n2").adminRequests()
			if len(reqs) != 1 || !proto.Equal(reqs[0], tt.req) {
				t.Fatalf("n2 was sent %v, want %v", reqs, tt.req)
			}
			for _, id := range []string{"n1", "n3"} {
				if got := h.dialer.conn(t, id).adminRequests(); len(got) > 0 {
					t.Errorf("%s, a follower, was sent %v", id, got)
				}
			}
			if h.m.status.isErr || h.m.status.text != tt.want {
				t.Errorf("status = %q (error %v), want %q", h.m.status.text, h.m.status.isErr, tt.want)
			}
			if got := lastEvent(h); got != "> "+tt.want {
				t.Errorf("event pane ends with %q", got)
			}
			if !slices.Equal(printed, []string{tt.want}) {
				t.Errorf("piped mode printed %q", printed)
			}
		})
	}
}

func TestMemberCommandRefusedAndRedirected(t *testing.T) {
	// A refusal shows the node's reason.
	h := kvHarness(t)
	h.dialer.conn(t, "n2").adminResp = &pb.AdminResponse{Error: "n4 is a learner that has not caught up"}
	h.run(h.typeLine("promote n4"))
	want := "promote n4 refused by n2: n4 is a learner that has not caught up"
	if !h.m.status.isErr || h.m.status.text != want {
		t.Errorf("status = %q (error %v), want %q", h.m.status.text, h.m.status.isErr, want)
	}
	if got := lastEvent(h); got != "> "+want {
		t.Errorf("event pane ends with %q", got)
	}

	// A node that is not the leader any more names it: the request goes
	// there, once.
	h = kvHarness(t)
	h.dialer.conn(t, "n2").adminResp = &pb.AdminResponse{Error: "not the leader", LeaderId: "n3", LeaderAddr: "127.0.0.1:7003"}
	h.run(h.typeLine("remove n1"))
	if got := h.dialer.conn(t, "n3").adminCalls(); !slices.Equal(got, []pb.AdminCommand{pb.AdminCommand_MEMBER_REMOVE}) {
		t.Fatalf("n3 was sent %v, want the remove", got)
	}
	if want := "n1 removed (via n3, 0.0ms)"; h.m.status.isErr || h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}

	// Two nodes that name each other: the second hint is reported, not
	// followed.
	h = kvHarness(t)
	h.dialer.conn(t, "n2").adminResp = &pb.AdminResponse{Error: "not the leader", LeaderId: "n3"}
	h.dialer.conn(t, "n3").adminResp = &pb.AdminResponse{Error: "not the leader", LeaderId: "n2"}
	h.run(h.typeLine("transfer n1"))
	if got := len(h.dialer.conn(t, "n2").adminCalls()) + len(h.dialer.conn(t, "n3").adminCalls()); got != 2 {
		t.Errorf("%d requests sent, want 2", got)
	}
	if want := "transfer n1 refused by n3: not the leader (n3 names n2 as leader)"; !h.m.status.isErr || h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
}

// TestMemberCommandWhileNoNodeLeads: just after a transfer, before the new
// leader's status arrives, no node says it leads; the command goes to a
// live node, and on to the leader that node names.
func TestMemberCommandWhileNoNodeLeads(t *testing.T) {
	h := kvHarness(t)
	h.deliver("n2", statusEv(follower("n2", 4, "n3", 1000, 900)))
	h.dialer.conn(t, "n1").adminResp = &pb.AdminResponse{Error: "not the leader", LeaderId: "n3", LeaderAddr: "127.0.0.1:7003"}
	h.run(h.typeLine("remove n2"))
	if got := h.dialer.conn(t, "n3").adminCalls(); !slices.Equal(got, []pb.AdminCommand{pb.AdminCommand_MEMBER_REMOVE}) {
		t.Fatalf("n3 was sent %v, want the remove", got)
	}
	if want := "n2 removed (via n3, 0.0ms)"; h.m.status.isErr || h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
}

func TestMemberCommandUsage(t *testing.T) {
	tests := []struct{ line, want string }{
		{"add n4", "usage: add ID ADDR, or add ID ADDR learner"},
		{"add n4 127.0.0.1:7004 voter", "usage: add ID ADDR, or add ID ADDR learner"},
		{"promote", "usage: promote ID"},
		{"transfer n1 n2", "usage: transfer ID"},
	}
	for _, tt := range tests {
		h := kvHarness(t)
		if cmd := h.typeLine(tt.line); cmd != nil {
			t.Errorf("%q sent something", tt.line)
		}
		if !h.m.status.isErr || h.m.status.text != tt.want {
			t.Errorf("%q: status = %q, want %q", tt.line, h.m.status.text, tt.want)
		}
	}
	// With no leader there is no one to ask.
	h := newHarness(t, 3)
	connectAll(h)
	if cmd := h.typeLine("remove n3"); cmd != nil {
		t.Error("sent with no leader")
	}
	if want := "remove n3: no leader known to send it to"; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
}

func TestMemberCommandsComplete(t *testing.T) {
	h := memberHarness(t) // n1 leads; n2, n3 voters; n4 a learner
	tests := []struct {
		line string
		want []string
	}{
		{"pro", []string{"promote"}},
		{"promote ", []string{"n4"}},
		{"remove ", []string{"n1", "n2", "n3", "n4"}},
		{"transfer ", []string{"n2", "n3"}},
		{"add ", nil},
		{"add n5 ", nil},
		{"add n5 127.0.0.1:7005 ", []string{"learner"}},
		{"add n5 127.0.0.1:7005 l", []string{"learner"}},
	}
	for _, tt := range tests {
		if _, _, got, _ := h.m.candidates(tt.line); !slices.Equal(got, tt.want) {
			t.Errorf("candidates after %q = %v, want %v", tt.line, got, tt.want)
		}
	}
	// add takes more words: its id completes to "add " (nothing to
	// offer), and a unique command name adds a space.
	h.typeText("tra")
	if got := h.press(tea.KeyTab); got != "transfer " {
		t.Errorf("tab after tra gave %q", got)
	}
}

// TestMemberCompletionWithoutConfiguration: nodes that report no
// configuration (older ones) leave cluster.yaml's nodes, all voters.
func TestMemberCompletionWithoutConfiguration(t *testing.T) {
	h := kvHarness(t) // n2 leads, no members reported
	for line, want := range map[string][]string{
		"promote ":  nil,
		"remove ":   {"n1", "n2", "n3"},
		"transfer ": {"n1", "n3"},
	} {
		if _, _, got, _ := h.m.candidates(line); !slices.Equal(got, want) {
			t.Errorf("candidates after %q = %v, want %v", line, got, want)
		}
	}
}

func TestStatusCommandSaysMembership(t *testing.T) {
	h := memberHarness(t)
	h.deliver("n1", statusEv(withMembers(leaderStatus("n1", 3), member("n1", false), member("n2", false), member("n4", true))))
	var printed []string
	h.m.repl.sink = func(line string) { printed = append(printed, line) }
	h.run(h.typeLine("status"))
	got := strings.Join(printed, "\n")
	for _, want := range []string{"n1 leader voter term=3", "n2 follower voter term=3", "n3 follower removed term=3", "n4 follower learner term=3"} {
		if !strings.Contains(got, want) {
			t.Errorf("status output lacks %q:\n%s", want, got)
		}
	}
}

func TestDescribeMembershipEvents(t *testing.T) {
	three := []*pb.Member{member("n1", false), member("n2", false), member("n3", false)}
	withLearner := append(slices.Clone(three), member("n4", true))
	promoted := append(slices.Clone(three), member("n4", false))
	tests := []struct {
		name   string
		ev     *pb.WatchEvent
		before []*pb.Member
		want   string
	}{
		{"proposed add, from the configurations", &pb.WatchEvent{Kind: pb.WatchEvent_CONF_PROPOSED, NodeId: "n1", Index: 57, Members: withLearner, Reason: "add n4"},
			three, "n1 proposes adding n4 as learner (at 57)"},
		{"proposed promotion", &pb.WatchEvent{Kind: pb.WatchEvent_CONF_PROPOSED, NodeId: "n1", Index: 60, Members: promoted},
			withLearner, "n1 proposes promoting n4 to voter (at 60)"},
		{"proposed removal", &pb.WatchEvent{Kind: pb.WatchEvent_CONF_PROPOSED, NodeId: "n1", Index: 61, Members: three[:2]},
			three, "n1 proposes removing n3 (at 61)"},
		{"proposed, no earlier configuration: the node's words", &pb.WatchEvent{Kind: pb.WatchEvent_CONF_PROPOSED, NodeId: "n1", Index: 57, Members: withLearner, Reason: "add n4 as learner"},
			nil, "n1 proposes add n4 as learner (at 57)"},
		{"proposed, nothing to go by", &pb.WatchEvent{Kind: pb.WatchEvent_CONF_PROPOSED, NodeId: "n1", Index: 57, Members: withLearner},
			nil, "n1 proposes the configuration n1 n2 n3 ◇n4 (at 57)"},
		{"in the log", &pb.WatchEvent{Kind: pb.WatchEvent_CONF_APPLIED, NodeId: "n2", Index: 57, Members: withLearner},
			nil, "n2 configuration at 57 in effect: n1 n2 n3 ◇n4"},
		{"committed", &pb.WatchEvent{Kind: pb.WatchEvent_CONF_COMMITTED, NodeId: "n1", Index: 57, Members: withLearner},
			nil, "n1 configuration at 57 committed: n1 n2 n3 ◇n4"},
		{"rolled back", &pb.WatchEvent{Kind: pb.WatchEvent_CONF_ROLLED_BACK, NodeId: "n2", Index: 57, Members: three, Reason: "overwritten by the leader of term 4"},
			nil, "n2 configuration at 57 rolled back: overwritten by the leader of term 4: n1 n2 n3"},
		{"leader removed steps down", &pb.WatchEvent{Kind: pb.WatchEvent_ROLE_CHANGED, NodeId: "n1", Term: 5, Role: pb.Role_ROLE_FOLLOWER, Reason: "removed from the configuration"},
			nil, "n1 became follower (term 5): removed from the configuration"},
		{"transfer started", &pb.WatchEvent{Kind: pb.WatchEvent_TRANSFER_STARTED, NodeId: "n1", Peer: "n2", Term: 5},
			nil, "n1 hands leadership to n2"},
		{"transfer aborted", &pb.WatchEvent{Kind: pb.WatchEvent_TRANSFER_ABORTED, NodeId: "n1", Peer: "n2", Reason: "n2 did not win within an election timeout"},
			nil, "n1 gave up handing leadership to n2: n2 did not win within an election timeout"},
		{"TimeoutNow", &pb.WatchEvent{Kind: pb.WatchEvent_TIMEOUT_NOW, NodeId: "n2", Peer: "n1", Term: 5},
			nil, "n2 got TimeoutNow from n1: campaigns at once (term 5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := describe(tt.ev, "nX", tt.before, t0)
			if got := line.node + " " + line.text; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestProposalWordedFromTheLeadersConfiguration: the model words a
// proposal from the configuration the node reported before it.
func TestProposalWordedFromTheLeadersConfiguration(t *testing.T) {
	h := memberHarness(t)
	h.deliver("n1", &pb.WatchEvent{
		Kind: pb.WatchEvent_CONF_PROPOSED, NodeId: "n1", UnixMs: t0.UnixMilli(), Index: 12,
		Members: []*pb.Member{member("n1", false), member("n2", false), member("n3", false), member("n4", false)},
	})
	if got, want := lastEvent(h), "n1 proposes promoting n4 to voter (at 12)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTimeoutNowTraffic(t *testing.T) {
	var l trafficLog
	l.add("n1", &pb.WatchEvent{Kind: pb.WatchEvent_MESSAGES, Traffic: []*pb.Traffic{
		sent(pb.Traffic_HEARTBEAT, "n1", "n3", 4),
		sent(pb.Traffic_TIMEOUT_NOW, "n1", "n2", 1),
	}}, t0)
	got := trafficText(&l, t0)
	if want := []string{"n1 → n2 TimeoutNow", "n1 → n3 heartbeat ×4"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
