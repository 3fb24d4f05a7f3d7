package tui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/scenario"
)

// settle runs cmd and everything it leads to, feeding each message back
// to the model, except a running scenario's ticks, which it counts: the
// test ticks the scenario itself, at the fake clock.
func (h *harness) settle(cmd tea.Cmd) (ticks int) {
	h.t.Helper()
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case sceneTickMsg:
			ticks++
		case nil:
		default:
			queue = append(queue, h.send(msg))
		}
	}
	return ticks
}

// tickScene advances the clock by d and ticks the running scenario.
func (h *harness) tickScene(d time.Duration) {
	h.t.Helper()
	h.clock.advance(d)
	h.settle(h.send(sceneTickMsg{h.m.scene}))
}

// adminsTo are the admin commands node id was sent, in order.
func (h *harness) adminsTo(id string) []pb.AdminCommand {
	return h.dialer.conn(h.t, id).adminCalls()
}

// TestScenarioRuns: "scenario" lists the scenarios; "scenario transfer"
// slows the cluster, sends each step's commands, checks what the nodes
// report and says so in the narrator pane; n goes on; esc (or the end)
// heals, resumes, releases and restores normal speed on every node.
func TestScenarioRuns(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	h.deliver("n1", statusEv(leaderStatus("n1", 4)))
	h.deliver("n2", statusEv(follower("n2", 4, "n1", 1000, 700)))
	h.deliver("n3", statusEv(follower("n3", 4, "n1", 1000, 400)))
	var out []string
	h.m.repl.sink = func(line string) { out = append(out, line) }

	h.typeLine("scenario")
	if len(out) != len(scenario.Builtin()) || !slices.ContainsFunc(out, func(l string) bool { return strings.HasPrefix(l, "split-vote  Split vote: ") }) {
		t.Fatalf("scenario listed %q, want one line per scenario, its name first", out)
	}
	h.send(tea.KeyMsg{Type: tea.KeyEnter}) // nothing typed: nothing runs
	out = nil

	// 800 ms of travel at a 100 ms heartbeat (25 ms a message): ×32.
	if ticks := h.settle(h.typeLine("scenario transfer")); ticks != 1 {
		t.Fatalf("%d scenario ticks armed, want 1", ticks)
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		if got := h.adminsTo(id); len(got) == 0 || got[0] != pb.AdminCommand_SLOW_MOTION {
			t.Fatalf("%s was sent %v, want SLOW_MOTION first", id, got)
		}
	}
	if reqs := h.dialer.conn(t, "n1").adminRequests(); reqs[0].GetSlowFactor() != 32 {
		t.Fatalf("slow motion ×%d, want ×32", reqs[0].GetSlowFactor())
	}
	if got := h.adminsTo("n1"); got[len(got)-1] != pb.AdminCommand_TRANSFER_LEADER {
		t.Fatalf("the leader was sent %v, want the step's transfer", got)
	}
	mustContain(t, strings.Join(out, "\n"), "── step 1 of 2", "n1 leads term 4. We ask it to hand leadership to n2.", "> transfer n2")
	frame := h.view()
	mustContain(t, frame, "scenario transfer · step 1 of 2 · n next · esc leave", "… waiting: leader n2")

	// n2 takes over in term 5.
	n2 := leaderStatus("n2", 5)
	n2.SlowFactor = 32
	h.deliver("n2", statusEv(n2))
	h.deliver("n1", statusEv(follower("n1", 5, "n2", 1000, 700)))
	h.tickScene(sceneTick)
	frame = h.view()
	golden(t, "scenario_narrator", frame)
	mustContain(t, frame, "✓ n2 leads (term 5)", "n: next step")
	if !strings.Contains(strings.Join(out, "\n"), "✓ n2 leads (term 5)") {
		t.Fatalf("piped output lacks the check: %q", out)
	}

	// n goes on: the put goes to the new leader.
	h.answer("n2", 0, &pb.KvResponse{Success: true}, nil)
	h.settle(h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'n'}}))
	mustContain(t, h.view(), "step 2 of 2", "A write goes through the new leader")
	if kvs := h.dialer.conn(t, "n2").kvCalls(); len(kvs) != 1 || kvs[0].GetKey() != "handed" {
		t.Fatalf("n2 got %v, want the step's put", kvs)
	}

	// The step's check times out: ✗ with what was found instead.
	h.tickScene(time.Hour)
	mustContain(t, h.view(), "✗ expected converged; instead:")

	// esc leaves: every node healed, resumed, released, at normal speed.
	h.settle(h.send(tea.KeyMsg{Type: tea.KeyEsc}))
	if h.m.scene != nil {
		t.Fatal("still in the scenario after esc")
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		got := h.adminsTo(id)
		want := []pb.AdminCommand{pb.AdminCommand_HEAL, pb.AdminCommand_RESUME, pb.AdminCommand_RELEASE_TIMER, pb.AdminCommand_SLOW_MOTION}
		if len(got) < 4 || !equalCommands(got[len(got)-4:], want) {
			t.Errorf("%s was sent %v, want it to end with %v", id, got, want)
		}
	}
	mustContain(t, h.m.status.text, "scenario transfer ended: 2 checks passed, 1 failed")
	if strings.Contains(h.view(), "scenario transfer ·") {
		t.Error("the narrator pane outlived the scenario")
	}
}

// TestScenarioRefusals: an unknown name, a second scenario, a cluster
// too small or without a leader are refused with a reason.
func TestScenarioRefusals(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	h.typeLine("scenario split-vote")
	mustContain(t, h.m.status.text, "no leader yet")
	h.deliver("n1", statusEv(leaderStatus("n1", 4)))
	h.typeLine("scenario nosuch")
	mustContain(t, h.m.status.text, `unknown "nosuch"`, "split-vote")
	h.settle(h.typeLine("scenario split-vote"))
	h.typeLine("scenario transfer")
	mustContain(t, h.m.status.text, "scenario split-vote is running: esc leaves it first")

	small := newHarness(t, 1)
	connectAll(small)
	small.deliver("n1", statusEv(leaderStatus("n1", 2)))
	small.typeLine("scenario split-vote")
	mustContain(t, small.m.status.text, "needs 3 voters; this cluster has 1")
}

// equalCommands compares two lists of admin commands.
func equalCommands(a, b []pb.AdminCommand) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFill: fill writes N keys of SIZE bytes to the leader, all at once,
// and says how many it wrote; bad arguments are refused with the range.
func TestFill(t *testing.T) {
	h := newHarness(t, 3)
	connectAll(h)
	h.deliver("n2", statusEv(leaderStatus("n2", 3)))
	// Answered without touching the clock: fill's writes run at once.
	c := h.dialer.conn(t, "n2")
	c.mu.Lock()
	c.kv = func(*pb.KvRequest) (*pb.KvResponse, error) { return &pb.KvResponse{Success: true}, nil }
	c.mu.Unlock()
	h.settle(h.typeLine("fill 40 7"))
	kvs := h.dialer.conn(t, "n2").kvCalls()
	keys := map[string]bool{}
	for _, r := range kvs {
		if r.GetOpType() != pb.KvRequest_PUT || len(r.GetValue()) != 7 {
			t.Fatalf("fill sent %v", r)
		}
		keys[r.GetKey()] = true
	}
	if len(kvs) != 40 || !keys["fill-1"] || !keys["fill-40"] {
		t.Fatalf("fill sent %d writes (keys %v), want fill-1 to fill-40", len(kvs), keys)
	}
	mustContain(t, h.m.status.text, "fill: 40 keys of 7 bytes written via n2")
	for line, want := range map[string]string{
		"fill":         "usage: fill N [SIZE]",
		"fill 0":       "want a number of keys from 1 to 10000",
		"fill 5 70000": "want a size from 1 to 65536 bytes",
	} {
		h.typeLine(line)
		mustContain(t, h.m.status.text, want)
	}
}
