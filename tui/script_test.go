package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink/pb"
)

// lockedClock is a clock that moves only when told, safe to read from the
// commands' goroutines as RunScript runs them.
type lockedClock struct {
	// mu guards now.
	mu sync.Mutex
	// now is the time it reads.
	now time.Time
}

func (c *lockedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *lockedClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// kvLatency is how long the fake cluster takes to answer, by its clock.
const kvLatency = 1200 * time.Microsecond

// scriptCluster is a fake cluster of n1..n3 for RunScript: n2 leads term 3
// and keeps the data, the others send clients to it.
type scriptCluster struct {
	// dialer hands out the connections and can fail dials.
	dialer *fakeDialer
	// clock moves kvLatency with each answer.
	clock *lockedClock
	// gate, when not nil, holds back n2's status until it is closed.
	gate chan struct{}
	// mu guards data and writes.
	mu sync.Mutex
	// data is the leader's store.
	data map[string]string
	// writes counts the writes applied: every node's commit index.
	writes int64
	// members, when set, is the configuration every node reports.
	members []*pb.Member
}

func newScriptCluster() *scriptCluster {
	return &scriptCluster{dialer: newFakeDialer(), clock: &lockedClock{now: t0}, data: map[string]string{}}
}

// opts are RunScript's options for the cluster.
func (c *scriptCluster) opts() Options {
	var nodes []Node
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, Node{ID: fmt.Sprintf("n%d", i), Addr: fmt.Sprintf("127.0.0.1:700%d", i)})
	}
	return Options{
		Cluster: "demo", Nodes: nodes, Dial: c.dial, Now: c.clock.Now, ClientID: testClientID,
		StatusInterval: 5 * time.Millisecond,
	}
}

func (c *scriptCluster) dial(ctx context.Context, n Node) (NodeConn, error) {
	conn, err := c.dialer.dial(ctx, n)
	if err != nil {
		return nil, err
	}
	fc := conn.(*fakeConn)
	fc.kv = func(req *pb.KvRequest) (*pb.KvResponse, error) { return c.kv(n.ID, req), nil }
	fc.statusAnswer = func() (*pb.NodeStatus, error) { return c.status(n.ID), nil }
	sc := &scriptConn{fakeConn: fc, status: func() *pb.NodeStatus { return c.status(n.ID) }}
	if n.ID == "n2" {
		sc.gate = c.gate
	}
	return sc, nil
}

// status is node id's status now: n2 leads, and every node has committed
// every write.
func (c *scriptCluster) status(id string) *pb.NodeStatus {
	st := follower(id, 3, "n2", 1000, 900)
	if id == "n2" {
		st = leaderStatus(id, 3)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st.CommitIndex, st.AppliedIndex, st.LastIndex = c.writes, c.writes, c.writes
	if len(c.members) > 0 {
		st.Members = c.members
		st.Learner = slices.ContainsFunc(c.members, func(m *pb.Member) bool { return m.GetId() == id && m.GetLearner() })
	}
	return st
}

// kv answers req as node id would.
func (c *scriptCluster) kv(id string, req *pb.KvRequest) *pb.KvResponse {
	c.clock.advance(kvLatency)
	if id != "n2" {
		return &pb.KvResponse{Code: pb.ErrorCode_NOT_LEADER, LeaderId: "n2"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch req.GetOpType() {
	case pb.KvRequest_PUT:
		c.data[req.GetKey()] = req.GetValue()
		c.writes++
	case pb.KvRequest_DELETE:
		_, found := c.data[req.GetKey()]
		delete(c.data, req.GetKey())
		c.writes++
		return &pb.KvResponse{Found: found}
	default:
		v, ok := c.data[req.GetKey()]
		if !ok {
			return &pb.KvResponse{Code: pb.ErrorCode_NOT_FOUND}
		}
		return &pb.KvResponse{Value: v, Found: true}
	}
	return &pb.KvResponse{}
}

// scriptConn is a fakeConn whose stream sends a status every interval,
// once its gate (if any) opens, and closes when the watch ends, as a real
// one does.
type scriptConn struct {
	*fakeConn
	// status is the node's status at the time of asking.
	status func() *pb.NodeStatus
	// gate holds the statuses back until closed; nil sends them at once.
	gate <-chan struct{}
}

func (c *scriptConn) Watch(ctx context.Context, interval time.Duration) (<-chan *pb.WatchEvent, error) {
	ch := make(chan *pb.WatchEvent, 1)
	go func() {
		defer close(ch)
		if c.gate != nil {
			select {
			case <-c.gate:
			case <-ctx.Done():
				return
			}
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case ch <- statusEv(c.status()):
			case <-ctx.Done():
				return
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// runScript runs script against c, every command of which must succeed,
// and returns what it printed.
func runScript(t *testing.T, c *scriptCluster, script string) string {
	t.Helper()
	out, errOut, err := runScriptFull(c, script, false)
	if err != nil || errOut != "" {
		t.Fatalf("RunScript: %v; stderr:\n%s", err, errOut)
	}
	return out
}

// runScriptFull runs script against c and returns what it printed on its
// output and on its error output, and its error.
func runScriptFull(c *scriptCluster, script string, stopOnError bool) (out, errOut string, err error) {
	var o, e strings.Builder
	err = RunScript(context.Background(), c.opts(), Script{In: strings.NewReader(script), Out: &o, Err: &e, StopOnError: stopOnError})
	return o.String(), e.String(), err
}

func TestRunScriptPrintsEachResult(t *testing.T) {
	c := newScriptCluster()
	script := `# a comment, then a blank line

put a 1
get a
   put  msg  hello   world
get msg
delete a
delete a
get a
status
frob
pause n9
pause n1
get msg @n3
put 'my key' "  two  spaces "
get "my key"
get '@n1'
get @n1
quit
put never run
`
	got, gotErr, err := runScriptFull(c, script, false)
	want := `OK (n2, 1.2ms)
"1"
OK (n2, 1.2ms)
"hello world"
(integer) 1
(integer) 0
(nil)
n1 follower term=3 leader=n2 commit=4 applied=4 last=4
n2 leader term=3 commit=4 applied=4 last=4
n3 follower term=3 leader=n2 commit=4 applied=4 last=4
OK (n1, 0.0ms)
OK (n2, 1.2ms)
"  two  spaces "
(nil)
`
	wantErr := `(error) line 11: unknown command "frob": help lists the commands
(error) line 12: pause: unknown node "n9" (nodes: n1, n2, n3)
(error) line 14: n3 is not the leader
(error) line 18: usage: get KEY [@ID]; @n1 names a node: to read the key "@n1", quote it: get '@n1'
`
	if got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	if gotErr != wantErr {
		t.Errorf("error output:\n%s\nwant:\n%s", gotErr, wantErr)
	}
	if !errors.Is(err, ErrCommandFailed) || err.Error() != "4 of 17 commands failed" {
		t.Errorf("RunScript = %v, want 4 of 17 commands failed (ErrCommandFailed)", err)
	}
	if strings.Contains(got+gotErr, "\x1b") {
		t.Error("output holds escape sequences")
	}
	// The leader was asked directly, and the line after quit never ran.
	if calls := kvCallsOf(&harness{t: t, dialer: c.dialer}, "n2"); len(calls) != 10 {
		t.Errorf("n2 got %d requests, want 10: %q", len(calls), calls)
	}
	if calls := kvCallsOf(&harness{t: t, dialer: c.dialer}, "n1"); len(calls) != 0 {
		t.Errorf("n1 got %q, want nothing", calls)
	}
}

// TestRunScriptStopsOnError: with StopOnError the first failure ends the
// run, and the lines after it are not run.
func TestRunScriptStopsOnError(t *testing.T) {
	c := newScriptCluster()
	out, errOut, err := runScriptFull(c, "put a 1\n\nget 'unbalanced\nput b 2\n", true)
	if out != "OK (n2, 1.2ms)\n" {
		t.Errorf("output %q, want the first put's answer alone", out)
	}
	if want := "(error) line 3: get: bad quoting: unbalanced single quote in 'unbalanced\n"; errOut != want {
		t.Errorf("error output %q, want %q", errOut, want)
	}
	if !errors.Is(err, ErrCommandFailed) || !strings.Contains(err.Error(), "line 3 failed") {
		t.Errorf("RunScript = %v, want line 3 failed (ErrCommandFailed)", err)
	}
	if calls := kvCallsOf(&harness{t: t, dialer: c.dialer}, "n2"); len(calls) != 1 {
		t.Errorf("n2 got %q, want the first put alone", calls)
	}
	// Without it, the script goes on and still fails.
	c = newScriptCluster()
	out, _, err = runScriptFull(c, "put a 1\nget 'unbalanced\nput b 2\n", false)
	if out != "OK (n2, 1.2ms)\nOK (n2, 1.2ms)\n" || !errors.Is(err, ErrCommandFailed) {
		t.Errorf("output %q, error %v; want both puts' answers and ErrCommandFailed", out, err)
	}
}

// TestRunScriptWithNoNodeUp: against a cluster that is not running every
// command fails, on the error output, and RunScript says so.
func TestRunScriptWithNoNodeUp(t *testing.T) {
	c := newScriptCluster()
	for _, id := range []string{"n1", "n2", "n3"} {
		c.dialer.setFail(id, errors.New("connection refused"))
	}
	out, errOut, err := runScriptFull(c, "put k v\nstatus\n", false)
	if want := "n1 down: connection refused\nn2 down: connection refused\nn3 down: connection refused\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if want := "(error) line 1: no node is connected\n"; errOut != want {
		t.Errorf("error output %q, want %q", errOut, want)
	}
	if !errors.Is(err, ErrCommandFailed) {
		t.Errorf("RunScript = %v, want ErrCommandFailed", err)
	}
}

func TestRunScriptHelpAndEmptyInput(t *testing.T) {
	c := newScriptCluster()
	if got := runScript(t, c, ""); got != "" {
		t.Errorf("empty input printed %q", got)
	}
	got := runScript(t, newScriptCluster(), "help\nclear\n")
	for _, cmd := range commandHelp {
		mustContain(t, got, cmd[0]+" ", cmd[1])
	}
	if n := strings.Count(got, "\n"); n != len(commandHelp) {
		t.Errorf("help printed %d lines, want %d (clear prints nothing):\n%s", n, len(commandHelp), got)
	}
}

func TestRunScriptWaitsForALeader(t *testing.T) {
	c := newScriptCluster()
	c.gate = make(chan struct{})
	var out strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- RunScript(context.Background(), c.opts(), Script{In: strings.NewReader("put k v\n"), Out: &out})
	}()
	// Let n2 speak once every node has been dialled: until then, and until
	// its status arrives, no node claims to lead.
	testkit.Poll(t, 5*time.Second, "RunScript to dial every node", func() (bool, string) {
		n1, n2, n3 := c.dialer.dials("n1"), c.dialer.dials("n2"), c.dialer.dials("n3")
		return n1 > 0 && n2 > 0 && n3 > 0, fmt.Sprintf("dials so far: n1 %d, n2 %d, n3 %d", n1, n2, n3)
	})
	close(c.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "OK (n2, 1.2ms)\n" {
		t.Errorf("output %q, want the put answered by n2", got)
	}
	h := &harness{t: t, dialer: c.dialer}
	if calls := kvCallsOf(h, "n1"); len(calls) != 0 {
		t.Errorf("n1 was asked %q before the leader was known", calls)
	}
}

func TestRunScriptWithANodeDown(t *testing.T) {
	c := newScriptCluster()
	c.dialer.setFail("n3", errors.New("connection refused"))
	got := runScript(t, c, "put k v\nstatus n3\n")
	if want := "OK (n2, 1.2ms)\nn3 down: connection refused\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestRunScriptEnds(t *testing.T) {
	t.Run("bad options", func(t *testing.T) {
		if err := RunScript(context.Background(), Options{}, Script{In: strings.NewReader(""), Out: io.Discard}); err == nil {
			t.Error("RunScript without nodes gave no error")
		}
	})
	t.Run("read error", func(t *testing.T) {
		c := newScriptCluster()
		in := io.MultiReader(strings.NewReader("put k v\n"), iotest.ErrReader(errors.New("disk on fire")))
		var out strings.Builder
		err := RunScript(context.Background(), c.opts(), Script{In: in, Out: &out})
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("RunScript = %v, want the read error", err)
		}
		if out.String() != "OK (n2, 1.2ms)\n" {
			t.Errorf("output %q, want the put's answer before the error", out.String())
		}
	})
	t.Run("write error", func(t *testing.T) {
		c := newScriptCluster()
		err := RunScript(context.Background(), c.opts(), Script{In: strings.NewReader("status\nstatus\n"), Out: failingWriter{}})
		if err == nil || !strings.Contains(err.Error(), "pipe closed") {
			t.Errorf("RunScript = %v, want the write error", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		c := newScriptCluster()
		pr, pw := io.Pipe() // input that never ends
		defer pw.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- RunScript(ctx, c.opts(), Script{In: pr, Out: io.Discard}) }()
		if _, err := pw.Write([]byte("status\n")); err != nil {
			t.Fatal(err)
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("RunScript = %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("RunScript did not return after its context was cancelled")
		}
	})
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("pipe closed") }

func TestScriptReadyIsBounded(t *testing.T) {
	c := newScriptCluster()
	c.gate = make(chan struct{}) // n2 never says it leads
	m, err := New(c.opts())
	if err != nil {
		t.Fatal(err)
	}
	r := newScriptRunner(context.Background(), m)
	defer r.close()
	r.start()
	start := time.Now()
	if err := r.waitReady(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 50*time.Millisecond || took > 5*time.Second {
		t.Errorf("waitReady returned after %v, want its 50ms bound", took)
	}
	if r.ready() {
		t.Error("ready with no leader known")
	}
}

func TestScriptRunnerRunsSequences(t *testing.T) {
	seq := tea.Sequence(func() tea.Msg { return 1 }, func() tea.Msg { return 2 })()
	cmds, ok := sequence(seq)
	if !ok || len(cmds) != 2 {
		t.Fatalf("sequence(%T) = %d commands, %v; want 2", seq, len(cmds), ok)
	}
	batch, ok := runInOrder(cmds)().(tea.BatchMsg)
	if !ok || len(batch) != 2 || batch[0]() != 1 || batch[1]() != 2 {
		t.Errorf("runInOrder gave %v, want the messages 1 then 2", batch)
	}
	if _, ok := sequence(tea.BatchMsg{}); ok {
		t.Error("a batch was taken for a sequence")
	}
}

func TestScriptDropsStatusOlderThanTheOneKept(t *testing.T) {
	c := newScriptCluster()
	m, err := New(c.opts())
	if err != nil {
		t.Fatal(err)
	}
	r := newScriptRunner(context.Background(), m)
	defer r.close()
	paused := leaderStatus("n1", 3)
	paused.Paused, paused.UnixMs = true, 200 // what the pause's answer said
	m.nodes[0].status = paused
	stale, fresh := leaderStatus("n1", 3), leaderStatus("n1", 3)
	stale.UnixMs, fresh.UnixMs = 199, 300
	other := &pb.WatchEvent{Kind: pb.WatchEvent_ROLE_CHANGED, NodeId: "n1"}
	got := r.dropStale(eventsMsg{node: 0, events: []*pb.WatchEvent{statusEv(stale), other, statusEv(fresh)}})
	if len(got.events) != 2 || got.events[0] != other || got.events[1].GetStatus() != fresh {
		t.Errorf("dropStale kept %v, want the other event and the fresh status", got.events)
	}
}

// TestRunScriptFollowsTheConfiguration: piped mode dials a member the
// nodes' configuration names, waits for it before a command to the leader,
// and status shows it as a learner; add goes to the leader.
func TestRunScriptFollowsTheConfiguration(t *testing.T) {
	c := newScriptCluster()
	c.members = []*pb.Member{member("n1", false), member("n2", false), member("n3", false), member("n4", true)}
	out := runScript(t, c, "add n5 127.0.0.1:7005 learner\nstatus\n")
	for _, want := range []string{
		"n5 added as learner (via n2, ",
		"n1 follower voter term=3 leader=n2",
		"n2 leader voter term=3",
		"n4 follower learner term=3 leader=n2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	reqs := c.dialer.conn(t, "n2").adminRequests()
	if len(reqs) != 1 || reqs[0].GetCommand() != pb.AdminCommand_MEMBER_ADD || reqs[0].GetMemberId() != "n5" || !reqs[0].GetLearner() {
		t.Errorf("n2 was sent %v", reqs)
	}
}
