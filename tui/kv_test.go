package tui

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

// kvHarness is three connected nodes where n2 leads term 3 and n1 and n3
// follow it.
func kvHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, 3)
	connectAll(h)
	h.deliver("n1", statusEv(follower("n1", 3, "n2", 1000, 900)))
	h.deliver("n2", statusEv(leaderStatus("n2", 3)))
	h.deliver("n3", statusEv(follower("n3", 3, "n2", 1000, 900)))
	return h
}

// leaderStatus is a leader's status in term.
func leaderStatus(id string, term int64) *pb.NodeStatus {
	return &pb.NodeStatus{
		Id: id, Role: pb.Role_ROLE_LEADER, Term: term, VotedFor: id, LeaderId: id,
		CommitIndex: 7, AppliedIndex: 7, LastIndex: 7, LastTerm: term, HeartbeatMs: 100,
	}
}

// answer makes node id answer every KV call with resp and err, d after it
// was asked by the fake clock.
func (h *harness) answer(id string, d time.Duration, resp *pb.KvResponse, err error) {
	h.dialer.conn(h.t, id).kv = func(*pb.KvRequest) (*pb.KvResponse, error) {
		h.clock.advance(d)
		return resp, err
	}
}

// kvCallsOf is what node id was asked, as "OP key value client/seq stale".
func kvCallsOf(h *harness, id string) []string {
	var out []string
	for _, r := range h.dialer.conn(h.t, id).kvCalls() {
		out = append(out, fmt.Sprintf("%v %s %q %x/%d %v", r.GetOpType(), r.GetKey(), r.GetValue(),
			r.GetClientId(), r.GetSequence(), r.GetStale()))
	}
	return out
}

// lastEvent is the newest line of the event pane, as drawn.
func lastEvent(h *harness) string {
	last := h.m.events.last(1)
	if len(last) == 0 {
		h.t.Fatal("event pane is empty")
	}
	return last[0].node + " " + last[0].text
}

func TestPutRoutesToLeaderAndShowsResult(t *testing.T) {
	h := kvHarness(t)
	h.answer("n2", 3200*time.Microsecond, &pb.KvResponse{Code: pb.ErrorCode_OK, NodeId: "n2", Index: 8}, nil)

	cmd := h.typeLine("put user:1 alice  in   wonderland ")
	if cmd == nil {
		t.Fatal("put gave no command")
	}
	// Typing enter only builds the command; the call happens when it runs.
	if got := kvCallsOf(h, "n2"); len(got) != 0 {
		t.Fatalf("n2 asked %v before the command ran", got)
	}
	mustContain(t, h.view(), "put user:1 alice in wonderland → sent to n2…")
	h.run(cmd)

	// The value is the words after the key joined by single spaces, as
	// redis-cli joins them (a quoted value keeps its spaces: see
	// TestQuotedArguments).
	if got, want := strings.Join(kvCallsOf(h, "n2"), "; "), `PUT user:1 "alice in wonderland" c0ffee/1 false`; got != want {
		t.Errorf("n2 asked %s, want %s", got, want)
	}
	for _, id := range []string{"n1", "n3"} {
		if got := kvCallsOf(h, id); len(got) != 0 {
			t.Errorf("%s asked %v, want nothing: n2 is the leader", id, got)
		}
	}
	if d := time.Until(h.dialer.conn(t, "n2").kvDeadline); d <= 0 || d > testKVTimeout {
		t.Errorf("KV call's deadline is %v away, want within %v", d, testKVTimeout)
	}
	want := "put user:1 alice in wonderland → OK at index 8 via n2 (3.2ms)"
	if h.m.status.isErr || h.m.status.text != want {
		t.Errorf("status = %q (error %v), want %q", h.m.status.text, h.m.status.isErr, want)
	}
	if got := lastEvent(h); got != "> "+want {
		t.Errorf("event pane ends with %q, want %q", got, "> "+want)
	}
	mustContain(t, h.view(), want, "21:40:01.126 > "+want)

	// Every write takes the next sequence number; reads take none.
	h.answer("n2", 40*time.Millisecond, &pb.KvResponse{Code: pb.ErrorCode_OK, Index: 9, Found: true}, nil)
	h.run(h.typeLine("del user:1"))
	h.run(h.typeLine("get user:1"))
	h.run(h.typeLine("DELETE user:2"))
	got := kvCallsOf(h, "n2")
	wantCalls := []string{
		`DELETE user:1 "" c0ffee/2 false`,
		`GET user:1 "" 0/0 false`,
		`DELETE user:2 "" c0ffee/3 false`,
	}
	if len(got) != 4 || strings.Join(got[1:], "; ") != strings.Join(wantCalls, "; ") {
		t.Errorf("n2 asked %q, want the put then %q", got, wantCalls)
	}
	if want := "delete user:2 → deleted at index 9 via n2 (40ms)"; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
	// The KV calls ride on the watch connections: no node was dialled twice.
	for _, id := range []string{"n1", "n2", "n3"} {
		if n := h.dialer.dials(id); n != 1 {
			t.Errorf("%s dialled %d times, want once", id, n)
		}
	}
}

func TestGetShowsValueOrNotFound(t *testing.T) {
	h := kvHarness(t)
	h.answer("n2", 1100*time.Microsecond, &pb.KvResponse{Code: pb.ErrorCode_OK, Value: "alice \"A\"", Found: true, Index: 8}, nil)
	h.run(h.typeLine("get user:1"))
	if want := `get user:1 → "alice \"A\"" via n2 (1.1ms)`; h.m.status.text != want || h.m.status.isErr {
		t.Errorf("status = %q (error %v), want %q", h.m.status.text, h.m.status.isErr, want)
	}

	// Under the 1.1s after which a node that says nothing is silent.
	h.answer("n2", time.Second+46*time.Millisecond, &pb.KvResponse{Code: pb.ErrorCode_NOT_FOUND}, nil)
	h.run(h.typeLine("get nope"))
	want := "get nope → (not found) via n2 (1.05s)"
	if h.m.status.text != want || h.m.status.isErr {
		t.Errorf("status = %q (error %v), want %q", h.m.status.text, h.m.status.isErr, want)
	}
	if got := lastEvent(h); got != "> "+want {
		t.Errorf("event pane ends with %q, want %q", got, "> "+want)
	}

	// A long value is cut, well before it could slow down a frame.
	h.answer("n2", 0, &pb.KvResponse{Value: strings.Repeat("v", 10000), Found: true}, nil)
	h.run(h.typeLine("get big"))
	if got := len(h.m.status.text); got > 2*maxShownValue {
		t.Errorf("status holds %d bytes for a 10000-byte value", got)
	}
	mustContain(t, h.m.status.text, "vvv…\" via n2")
}

func TestStaleGetReadsTheNamedNode(t *testing.T) {
	h := kvHarness(t)
	h.answer("n3", 800*time.Microsecond, &pb.KvResponse{Code: pb.ErrorCode_OK, Value: "old", Found: true}, nil)
	h.run(h.typeLine("get user:1 @n3"))
	if got := strings.Join(kvCallsOf(h, "n3"), "; "); got != `GET user:1 "" 0/0 true` {
		t.Errorf("n3 asked %s, want one stale GET", got)
	}
	if got := kvCallsOf(h, "n2"); len(got) != 0 {
		t.Errorf("the leader was asked %v", got)
	}
	if want := `get user:1 @n3 → "old" via n3 (0.8ms)`; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}

	// A stale read is not redirected: the user asked for that node.
	h.answer("n3", 0, &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: "n2", Message: "stale reads off"}, nil)
	h.run(h.typeLine("get user:1 @n3"))
	if got := kvCallsOf(h, "n2"); len(got) != 0 {
		t.Errorf("a stale read was redirected to n2: %v", got)
	}
	if want := "get user:1 @n3 → n3 is not the leader: stale reads off"; h.m.status.text != want || !h.m.status.isErr {
		t.Errorf("status = %q (error %v), want error %q", h.m.status.text, h.m.status.isErr, want)
	}

	// Nor is it retried elsewhere when the node cannot serve it.
	h.answer("n3", 0, &pb.KvResponse{Code: pb.ErrorCode_PAUSED}, nil)
	h.run(h.typeLine("get user:1 @n3"))
	if want := "get user:1 @n3 → n3 is paused"; h.m.status.text != want || !h.m.status.isErr {
		t.Errorf("status = %q (error %v), want error %q", h.m.status.text, h.m.status.isErr, want)
	}
	if got := len(kvCallsOf(h, "n1")) + len(kvCallsOf(h, "n2")); got != 0 {
		t.Errorf("a stale read was retried on other nodes (%d calls)", got)
	}
}

func TestNotLeaderHintIsFollowedWithTheSameSequence(t *testing.T) {
	h := kvHarness(t)
	// The dashboard still believes n2 leads, but n3 took over.
	h.answer("n2", time.Millisecond, &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: "n3", LeaderAddr: "127.0.0.1:7003"}, nil)
	h.answer("n3", 2*time.Millisecond, &pb.KvResponse{Code: pb.ErrorCode_OK, Index: 12}, nil)

	h.run(h.typeLine("put k v"))

	if got := strings.Join(kvCallsOf(h, "n2"), "; "); got != `PUT k "v" c0ffee/1 false` {
		t.Errorf("n2 asked %s", got)
	}
	if got := strings.Join(kvCallsOf(h, "n3"), "; "); got != `PUT k "v" c0ffee/1 false` {
		t.Errorf("n3 asked %s, want the same write with the same sequence", got)
	}
	want := "put k v → OK at index 12 via n3 (3.0ms, after asking n2)"
	if h.m.status.text != want || h.m.status.isErr {
		t.Errorf("status = %q (error %v), want %q", h.m.status.text, h.m.status.isErr, want)
	}
	if got := lastEvent(h); got != "> "+want {
		t.Errorf("event pane ends with %q, want only the result, %q", got, "> "+want)
	}

	// The next write has a sequence of its own.
	h.run(h.typeLine("put k w"))
	if got := kvCallsOf(h, "n2"); len(got) != 2 || !strings.HasSuffix(got[1], "c0ffee/2 false") {
		t.Errorf("n2 asked %q, want the second write as sequence 2", got)
	}
}

func TestNotLeaderHintByAddress(t *testing.T) {
	h := kvHarness(t)
	h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderAddr: "127.0.0.1:7001"}, nil)
	h.run(h.typeLine("delete k"))
	if got := kvCallsOf(h, "n1"); len(got) != 1 {
		t.Errorf("n1 (named by its address) asked %v, want the delete", got)
	}
	mustContain(t, h.m.status.text, "via n1", "after asking n2")
}

// answerAll makes every node answer every KV call with resp and err.
func (h *harness) answerAll(resp *pb.KvResponse, err error) {
	for _, id := range []string{"n1", "n2", "n3"} {
		h.answer(id, 0, resp, err)
	}
}

// TestKVFailures: a refusal that another try can get past (PAUSED,
// NOT_LEADER, TIMEOUT, UNAVAILABLE, a lost answer) is retried, by
// netlink's policy, until the call's time is up, and the failure says what
// the last try met; a rejection ends the call at once. A write says it may
// have been applied exactly when netlink says so (ErrUncertain).
func TestKVFailures(t *testing.T) {
	const gaveUp = `no node served it within 300ms; last try: `
	const maybe = `; the write may or may not have been applied`
	tests := []struct {
		name  string
		line  string
		setup func(*harness)
		want  string // a regular expression for the whole status text
	}{
		{"paused", "put k v", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_PAUSED}, nil)
		}, `put k v → ` + gaveUp + `n\d is paused`},
		{"unavailable", "get k", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_UNAVAILABLE, Message: "no quorum"}, nil)
		}, `get k → ` + gaveUp + `n\d is unavailable: no quorum`},
		{"write unavailable", "put k v", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_UNAVAILABLE, Message: "no quorum"}, nil)
		}, `put k v → ` + gaveUp + `n\d is unavailable: no quorum` + maybe},
		{"write paused: not applied", "delete k", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_PAUSED}, nil)
		}, `delete k → ` + gaveUp + `n\d is paused`},
		{"write timed out", "put k v", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_TIMEOUT}, nil)
		}, `put k v → ` + gaveUp + `timed out on n\d` + maybe},
		{"write timed out once, then refused", "put k v", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_PAUSED}, nil)
			var once sync.Once
			h.dialer.conn(h.t, "n2").kv = func(*pb.KvRequest) (*pb.KvResponse, error) {
				resp := &pb.KvResponse{Code: pb.ErrorCode_PAUSED}
				once.Do(func() { resp = &pb.KvResponse{Code: pb.ErrorCode_TIMEOUT} })
				return resp, nil
			}
		}, `put k v → ` + gaveUp + `n\d is paused` + maybe},
		{"read timed out", "get k", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_TIMEOUT, Message: "read index not reached"}, nil)
		}, `get k → ` + gaveUp + `timed out on n\d: read index not reached`},
		{"bad request", "put k v", func(h *harness) {
			h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode_BAD_REQUEST, Message: "key too long"}, nil)
		}, `put k v → n2 rejected it: key too long`},
		{"unauthenticated", "get k", func(h *harness) {
			h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode_UNAUTHENTICATED}, nil)
		}, `get k → n2 refused it: not authenticated`},
		{"unknown code", "get k", func(h *harness) {
			h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode(42)}, nil)
		}, `get k → n2 answered 42`},
		{"write, unknown code", "put k v", func(h *harness) {
			h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode(42)}, nil)
		}, `put k v → n2 answered 42` + maybe},
		{"transport error", "delete k", func(h *harness) {
			h.answerAll(nil, errors.New("connection reset"))
		}, `delete k → ` + gaveUp + `n\d: connection reset` + maybe},
		{"no answer in time", "get k", func(h *harness) {
			h.answerAll(nil, fmt.Errorf("kv: %w", context.DeadlineExceeded))
		}, `get k → ` + gaveUp + `n\d: kv: context deadline exceeded`},
		{"not leader, no hint", "put k v", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, Message: "election running"}, nil)
		}, `put k v → ` + gaveUp + `n\d is not the leader and knows of none: election running`},
		// A node's words that restate the code, or advise a client
		// program, are not repeated.
		{"paused, in the node's words", "put k v", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_PAUSED, Message: "node paused"}, nil)
		}, `put k v → ` + gaveUp + `n\d is paused`},
		{"not leader, in the node's words", "get k", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, Message: "not the leader"}, nil)
		}, `get k → ` + gaveUp + `n\d is not the leader and knows of none`},
		{"leadership lost", "put k v", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_TIMEOUT,
				Message: "leadership lost before the write was applied: it may or may not take effect; retry with the same sequence"}, nil)
		}, `put k v → ` + gaveUp + `timed out on n\d: leadership lost before the write was applied: it may or may not take effect`},
		{"read timed out, in the node's words", "get k", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_TIMEOUT, Message: "timed out: the request may or may not have taken effect"}, nil)
		}, `get k → ` + gaveUp + `timed out on n\d: the request may or may not have taken effect`},
		{"overwritten, retry", "put k v", func(h *harness) {
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, Message: "write overwritten by a new leader; retry"}, nil)
		}, `put k v → ` + gaveUp + `n\d is not the leader and knows of none: write overwritten by a new leader`},
		{"redirect loop", "put k v", func(h *harness) {
			h.answer("n1", 0, &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: "n2"}, nil)
			h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: "n1"}, nil)
		}, `put k v → ` + gaveUp + `n[12] is not the leader`},
		{"none connected", "get k", func(h *harness) {
			for _, id := range []string{"n1", "n2", "n3"} {
				c := h.dialer.conn(h.t, id)
				close(c.events)
				h.send(h.pending[id]())
			}
		}, `get k → no node is connected`},
		{"stale read of a node not connected", "get k @n1", func(h *harness) {
			close(h.dialer.conn(h.t, "n1").events)
			h.send(h.pending["n1"]())
		}, `get k @n1 → n1 is not connected`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := kvHarness(t)
			tt.setup(h)
			h.run(h.typeLine(tt.line))
			re := regexp.MustCompile("^" + tt.want + "$")
			if !h.m.status.isErr || !re.MatchString(h.m.status.text) {
				t.Errorf("status = %q (error %v), want error matching %s", h.m.status.text, h.m.status.isErr, tt.want)
			}
			if got := lastEvent(h); !re.MatchString(strings.TrimPrefix(got, "> ")) || !strings.HasPrefix(got, "> ") {
				t.Errorf("event pane ends with %q, want > and %s", got, tt.want)
			}
		})
	}
}

// TestHintsThatCannotBeFollowed: a NOT_LEADER hint naming a node outside
// the cluster file, or one the dashboard is not connected to, does not end
// the call: the next node is tried. (The client learns a leader named with
// its address, n9, and asks it, but the dashboard has no connection to it,
// so it moves on round the list, from its start.)
func TestHintsThatCannotBeFollowed(t *testing.T) {
	h := kvHarness(t)
	h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: "n9", LeaderAddr: "10.0.0.9:7009"}, nil)
	h.run(h.typeLine("put k v"))
	if want := "put k v → OK via n1 (0.0ms, after asking n2, n9)"; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}

	h = kvHarness(t)
	h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: "n3"}, nil)
	c := h.dialer.conn(t, "n3")
	c.err = errors.New("reset")
	close(c.events)
	h.send(h.pending["n3"]())
	h.run(h.typeLine("put k v"))
	if want := "put k v → OK via n1 (0.0ms, after asking n2, n3)"; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
	if got := kvCallsOf(h, "n3"); len(got) != 0 {
		t.Errorf("n3, not connected, was asked %v", got)
	}
}

func TestRedirectLoopKeepsTheSequence(t *testing.T) {
	h := kvHarness(t)
	h.answer("n1", 0, &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: "n2"}, nil)
	h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: "n1"}, nil)
	h.run(h.typeLine("put k v"))
	if got := len(kvCallsOf(h, "n1")) + len(kvCallsOf(h, "n2")); got < 2 {
		t.Errorf("%d calls, want the hints followed", got)
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		for _, call := range kvCallsOf(h, id) {
			if !strings.HasSuffix(call, "c0ffee/1 false") {
				t.Errorf("%s asked %s, want sequence 1 on every try", id, call)
			}
		}
	}
}

// TestKVFollowsAReconnect: once a node's connection is replaced, its KV
// calls go over the new one.
func TestKVFollowsAReconnect(t *testing.T) {
	h := kvHarness(t)
	h.run(h.typeLine("get k"))
	old := h.dialer.conn(t, "n2")
	close(old.events)
	h.send(h.pending["n2"]())
	h.connect("n2")
	h.deliver("n2", statusEv(leaderStatus("n2", 3)))
	fresh := h.dialer.conn(t, "n2")
	if fresh == old {
		t.Fatal("n2 was not dialled again")
	}
	h.run(h.typeLine("get k"))
	if got, want := len(old.kvCalls()), 1; got != want {
		t.Errorf("the old connection got %d calls, want %d", got, want)
	}
	if got := len(fresh.kvCalls()); got != 1 {
		t.Errorf("the new connection got %d calls, want 1", got)
	}
}

func TestKVTarget(t *testing.T) {
	paused := func(s *pb.NodeStatus) *pb.NodeStatus { s.Paused = true; return s }
	tests := []struct {
		name     string
		statuses map[string]*pb.NodeStatus
		down     []string
		want     string // "" for none
	}{
		{"the leader", map[string]*pb.NodeStatus{
			"n1": follower("n1", 3, "n3", 1000, 500), "n3": leaderStatus("n3", 3),
		}, nil, "n3"},
		{"the leader of the highest term", map[string]*pb.NodeStatus{
			"n1": leaderStatus("n1", 2), "n2": leaderStatus("n2", 5), "n3": leaderStatus("n3", 4),
		}, nil, "n2"},
		{"not a paused leader", map[string]*pb.NodeStatus{
			"n1": leaderStatus("n1", 2), "n2": paused(leaderStatus("n2", 5)),
		}, nil, "n1"},
		{"not a leader that is down", map[string]*pb.NodeStatus{
			"n1": follower("n1", 3, "n2", 1000, 500), "n2": leaderStatus("n2", 3),
		}, []string{"n2"}, "n1"},
		{"no leader: the first connected, unpaused node", map[string]*pb.NodeStatus{
			"n1": paused(follower("n1", 3, "", 1000, 500)), "n3": follower("n3", 3, "", 1000, 500),
		}, nil, "n2"},
		{"all paused: the first connected", map[string]*pb.NodeStatus{
			"n1": paused(follower("n1", 3, "", 1000, 500)), "n2": paused(leaderStatus("n2", 3)),
			"n3": paused(follower("n3", 3, "", 1000, 500)),
		}, []string{"n1"}, "n2"},
		{"none connected", nil, []string{"n1", "n2", "n3"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, 3)
			connectAll(h)
			for id, st := range tt.statuses {
				h.deliver(id, statusEv(st))
			}
			for _, id := range tt.down {
				close(h.dialer.conn(t, id).events)
				h.send(h.pending[id]())
			}
			got := ""
			if i := h.m.kvTarget(); i >= 0 {
				got = h.m.nodes[i].node.ID
			}
			if got != tt.want {
				t.Errorf("target %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKVUsage(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{"put", "usage: put KEY VALUE"},
		{"put k", "usage: put KEY VALUE"},
		{"put k    ", "usage: put KEY VALUE"},
		{"get", "usage: get KEY [@ID]"},
		{"get a b", "usage: get KEY [@ID]"},
		{"get a @n1 x", "usage: get KEY [@ID]"},
		{"get a @n9", `get: unknown node "n9" (nodes: n1, n2, n3)`},
		{"delete", "usage: delete KEY"},
		{"del a b", "usage: del KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			refusedLocally(t, tt.line, tt.want)
		})
	}
}

func TestPutEchoAbbreviatesLongValues(t *testing.T) {
	h := kvHarness(t)
	value := strings.Repeat("0123456789", 10)
	h.run(h.typeLine("put k " + value))
	if got := kvCallsOf(h, "n2"); len(got) != 1 || !strings.Contains(got[0], value) {
		t.Errorf("n2 asked %v, want the whole value", got)
	}
	if want := "put k 01234567890123456789012… → OK via n2 (0.0ms)"; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
}

func TestTabCompletesKVCommandsAndKnownKeys(t *testing.T) {
	h := kvHarness(t)
	// complete types typed, presses tab and returns what the prompt holds,
	// leaving it empty.
	complete := func(typed string) string {
		for _, r := range typed {
			h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		}
		h.send(tea.KeyMsg{Type: tea.KeyTab})
		defer func() { h.send(tea.KeyMsg{Type: tea.KeyEsc}) }() // leave the prompt empty
		return h.m.input.Value()
	}
	for typed, want := range map[string]string{"g": "get ", "pu": "put ", "de": "del", "st": "status", "dele": "delete "} {
		if got := complete(typed); got != want {
			t.Errorf("tab after %q gave %q, want %q", typed, got, want)
		}
	}
	if got := complete("get u"); got != "get u" {
		t.Errorf("tab completed an unknown key: %q", got)
	}
	h.run(h.typeLine("put user:1 alice"))
	if got := complete("get u"); got != "get user:1" {
		t.Errorf("after a put, tab after \"get u\" gave %q, want get user:1", got)
	}
	if got := complete("delete u"); got != "delete user:1" {
		t.Errorf("after a put, tab after \"delete u\" gave %q, want delete user:1", got)
	}
	// A put's value must follow its key: the completion ends in a space.
	if got := complete("put u"); got != "put user:1 " {
		t.Errorf("after a put, tab after \"put u\" gave %q, want \"put user:1 \"", got)
	}
	// Keys read are remembered too; the newest is offered first.
	h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode_OK, Value: "x", Found: true}, nil)
	h.run(h.typeLine("get user:2"))
	if got := complete("get u"); got != "get user:" {
		t.Errorf("with two keys, tab after \"get u\" gave %q, want their common prefix", got)
	}
	if want := "2 completions: user:2  user:1"; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
	h.answer("n2", 0, &pb.KvResponse{Code: pb.ErrorCode_OK}, nil)
	h.run(h.typeLine("delete user:1"))
	if got := complete("get u"); got != "get user:2" {
		t.Errorf("after the delete of user:1, tab after \"get u\" gave %q, want get user:2 alone", got)
	}
}

func TestKnownKeysBounded(t *testing.T) {
	h := kvHarness(t)
	for i := range maxKnownKeys + 5 {
		h.m.rememberKey(fmt.Sprint("k", i), true)
	}
	h.m.rememberKey("k40", true) // again: moves to the front, not twice
	newest := fmt.Sprint("k", maxKnownKeys+4)
	if len(h.m.knownKeys) != maxKnownKeys || h.m.knownKeys[0] != "k40" || h.m.knownKeys[1] != newest {
		t.Errorf("known keys %v, want %d, newest first", h.m.knownKeys, maxKnownKeys)
	}
	if slices.Contains(h.m.knownKeys, "k0") {
		t.Error("the oldest key was kept")
	}
}

func TestLatency(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Millisecond, "0.0ms"},
		{800 * time.Microsecond, "0.8ms"},
		{3249 * time.Microsecond, "3.2ms"},
		{12400 * time.Microsecond, "12ms"},
		{999 * time.Millisecond, "999ms"},
		{1250 * time.Millisecond, "1.25s"},
	}
	for _, tt := range tests {
		if got := latency(tt.d); got != tt.want {
			t.Errorf("latency(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestWriteRetriedThroughAnElection: the dashboard, not only piped mode,
// waits out an election: a write answered TIMEOUT is sent again with the
// same session and sequence, after the node it goes to was asked for its
// status (netlink's bound on retrying a write that may have been applied).
func TestWriteRetriedThroughAnElection(t *testing.T) {
	h := kvHarness(t)
	var mu sync.Mutex
	n2 := []*pb.KvResponse{
		{Code: pb.ErrorCode_TIMEOUT, Message: "leadership lost before the write was applied"},
		{Code: pb.ErrorCode_OK, Index: 9},
	}
	h.dialer.conn(t, "n2").kv = func(*pb.KvRequest) (*pb.KvResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		h.clock.advance(time.Millisecond)
		resp := n2[0]
		n2 = n2[1:]
		return resp, nil
	}
	h.answer("n1", time.Millisecond, &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER}, nil)
	h.answer("n3", time.Millisecond, &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: "n2"}, nil)
	h.run(h.typeLine("put k v"))
	if want := "put k v → OK at index 9 via n2 (3.0ms, after asking n2, n3)"; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
	// The same request each time: one session, one sequence number.
	want := `PUT k "v" c0ffee/1 false`
	for id, n := range map[string]int{"n2": 2, "n3": 1} {
		if got := kvCallsOf(h, id); strings.Join(got, "; ") != strings.Join(slices.Repeat([]string{want}, n), "; ") {
			t.Errorf("%s asked %q, want the same put %d times", id, got, n)
		}
		if got := h.dialer.conn(t, id).statuses(); got != 1 {
			t.Errorf("%s was asked its status %d times before the retry, want once", id, got)
		}
	}
}

// TestLongValueSeenWhole: a value too long for the status line is cut
// there, and ctrl+o shows it whole, scrolled with pgup and pgdn.
func TestLongValueSeenWhole(t *testing.T) {
	h := kvHarness(t)
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	value := ""
	for i := range 400 {
		value += fmt.Sprintf("w%03d ", i)
	}
	h.answer("n2", 0, &pb.KvResponse{Value: value, Found: true}, nil)
	h.run(h.typeLine("get big"))
	if strings.Contains(h.m.status.text, "w399") {
		t.Fatalf("the status line holds the whole value: %q", h.m.status.text)
	}
	h.send(tea.KeyMsg{Type: tea.KeyCtrlO})
	frame := h.view()
	mustContain(t, frame, "newest result in full: lines 1–", `get big → "w000 w001`)
	for range 20 {
		h.send(tea.KeyMsg{Type: tea.KeyPgDown})
	}
	mustContain(t, h.view(), `w399 " via n2`)
	h.send(tea.KeyMsg{Type: tea.KeyEsc})
	if strings.Contains(h.view(), "newest result in full") {
		t.Error("esc did not close the overlay")
	}
}

// TestQuotedArguments: keys and values are split as redis-cli splits them,
// and @ID names a node only unquoted.
func TestQuotedArguments(t *testing.T) {
	tests := []struct {
		line string
		node string // the node asked
		call string // what it was asked, as kvCallsOf words it
		echo string // how the result repeats the command
	}{
		{`put 'my key' hello world`, "n2", `PUT my key "hello world" c0ffee/1 false`, `put "my key" hello world`},
		{`put k "  a  b "`, "n2", `PUT k "  a  b " c0ffee/1 false`, `put k   a  b `},
		{`put k ""`, "n2", `PUT k "" c0ffee/1 false`, `put k `},
		{`put k "a b" c`, "n2", `PUT k "a b c" c0ffee/1 false`, `put k a b c`},
		{`put "say \"hi\"" 'it\'s'`, "n2", `PUT say "hi" "it's" c0ffee/1 false`, `put "say \"hi\"" it's`},
		{`put @n1 v`, "n2", `PUT @n1 "v" c0ffee/1 false`, `put "@n1" v`},
		{`get 'my key'`, "n2", `GET my key "" 0/0 false`, `get "my key"`},
		{`get '@n1'`, "n2", `GET @n1 "" 0/0 false`, `get "@n1"`},
		{`get "@n1" @n3`, "n3", `GET @n1 "" 0/0 true`, `get "@n1" @n3`},
		{`get k @n1`, "n1", `GET k "" 0/0 true`, `get k @n1`},
		{`delete 'my key'`, "n2", `DELETE my key "" c0ffee/1 false`, `delete "my key"`},
		{`del "@n1"`, "n2", `DELETE @n1 "" c0ffee/1 false`, `delete "@n1"`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			t.Parallel()
			h := kvHarness(t)
			h.answerAll(&pb.KvResponse{Code: pb.ErrorCode_OK, Index: 8, Found: true, Value: "x"}, nil)
			h.run(h.typeLine(tt.line))
			for _, id := range []string{"n1", "n2", "n3"} {
				got := strings.Join(kvCallsOf(h, id), "; ")
				want := ""
				if id == tt.node {
					want = tt.call
				}
				if got != want {
					t.Errorf("%s asked %q, want %q", id, got, want)
				}
			}
			if h.m.status.isErr || !strings.HasPrefix(h.m.status.text, tt.echo+" → ") {
				t.Errorf("status = %q (error %v), want it to start %q", h.m.status.text, h.m.status.isErr, tt.echo+" → ")
			}
		})
	}
}

// TestQuotedArgumentUsage: an unquoted @ID is a node, so it cannot stand
// for a key; a quoted one cannot name a node; a key cannot be empty.
func TestQuotedArgumentUsage(t *testing.T) {
	tests := []struct{ line, want string }{
		{`get @n1`, `usage: get KEY [@ID]; @n1 names a node: to read the key "@n1", quote it: get '@n1'`},
		{`get k '@n1'`, "usage: get KEY [@ID]"},
		{`get k "@n1"`, "usage: get KEY [@ID]"},
		{`get 'my key`, "get: bad quoting: unbalanced single quote in 'my key"},
		{`get "a"b`, "get: bad quoting: closing quote must be followed by a space or nothing at all in \"a\"b"},
		{`put "" v`, "put: the key is empty"},
		{`get ''`, "get: the key is empty"},
		{`get '' @n1`, "get: the key is empty"},
		{`delete ""`, "delete: the key is empty"},
		{`put 'k'`, "usage: put KEY VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			t.Parallel()
			refusedLocally(t, tt.line, tt.want)
		})
	}
}

// TestDeleteSaysWhetherTheKeyExisted: a delete of a missing key is written
// to the log all the same, and says there was no such key.
func TestDeleteSaysWhetherTheKeyExisted(t *testing.T) {
	h := kvHarness(t)
	h.answer("n2", 2*time.Millisecond, &pb.KvResponse{Code: pb.ErrorCode_OK, Index: 6, Found: false}, nil)
	h.run(h.typeLine("delete nosuch"))
	want := "delete nosuch → no such key (index 6) via n2 (2.0ms)"
	if h.m.status.isErr || h.m.status.text != want {
		t.Errorf("status = %q (error %v), want %q", h.m.status.text, h.m.status.isErr, want)
	}
	if got := lastEvent(h); got != "> "+want {
		t.Errorf("event pane ends with %q, want %q", got, "> "+want)
	}
	h.answer("n2", 2*time.Millisecond, &pb.KvResponse{Code: pb.ErrorCode_OK, Index: 7, Found: true}, nil)
	h.run(h.typeLine("delete there"))
	if want := "delete there → deleted at index 7 via n2 (2.0ms)"; h.m.status.text != want {
		t.Errorf("status = %q, want %q", h.m.status.text, want)
	}
}

// refusedLocally types line into a fresh dashboard and checks that it is
// refused with the error want, before anything is sent to a node.
func refusedLocally(t *testing.T, line, want string) {
	t.Helper()
	h := kvHarness(t)
	if cmd := h.typeLine(line); cmd != nil {
		t.Errorf("%q gave a command", line)
	}
	if !h.m.status.isErr || h.m.status.text != want {
		t.Errorf("status = %q (error %v), want error %q", h.m.status.text, h.m.status.isErr, want)
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		if got := kvCallsOf(h, id); len(got) != 0 {
			t.Errorf("a bad command sent %v to %s", got, id)
		}
	}
}
