package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// The chaos test's own checkers, on hand-made histories: a checker that
// cannot fail would make TestChaos pass whatever the cluster does.

// chPut, chDel and chGet build recorded operations on key "k" for these
// tests; a put is acknowledged unless given another outcome.
func chPut(client int, value string, call, ret int64, outcome ...chaosOutcome) chaosOp {
	o := chaosOK
	if len(outcome) > 0 {
		o = outcome[0]
	}
	return chaosOp{client: client, kind: chaosPut, key: "k", value: value, call: call, ret: ret, outcome: o}
}

func chDel(client int, call, ret int64, o chaosOutcome) chaosOp {
	return chaosOp{client: client, kind: chaosDelete, key: "k", call: call, ret: ret, outcome: o}
}

func chGet(client int, value string, call, ret int64) chaosOp {
	return chaosOp{client: client, kind: chaosGet, key: "k", value: value, found: value != "", call: call, ret: ret, outcome: chaosOK}
}

func TestChaosCheckLinearizability(t *testing.T) {
	tests := []struct {
		name string
		ops  []chaosOp
		want porcupine.CheckResult
		kept int // uncertain writes given to porcupine
	}{
		{"empty key reads absent", []chaosOp{chGet(0, "", 0, 1)}, porcupine.Ok, 0},
		{"read sees acknowledged put", []chaosOp{chPut(0, "a", 0, 10), chGet(1, "a", 20, 30)}, porcupine.Ok, 0},
		{"stale read after acknowledged put", []chaosOp{chPut(0, "a", 0, 10), chPut(0, "b", 11, 20), chGet(1, "a", 30, 40)}, porcupine.Illegal, 0},
		{"lost acknowledged put", []chaosOp{chPut(0, "a", 0, 10), chGet(1, "", 20, 30)}, porcupine.Illegal, 0},
		{"concurrent read may see either", []chaosOp{chPut(0, "a", 0, 10), chPut(0, "b", 11, 30), chGet(1, "a", 12, 20), chGet(2, "b", 15, 25)}, porcupine.Ok, 0},
		{"read goes back in time", []chaosOp{chPut(0, "a", 0, 10), chPut(0, "b", 11, 30), chGet(1, "b", 12, 20), chGet(2, "a", 21, 25)}, porcupine.Illegal, 0},
		{"uncertain put seen later", []chaosOp{chPut(0, "a", 0, 10, chaosUncertain), chGet(1, "a", 100, 110)}, porcupine.Ok, 1},
		{"uncertain put not seen is left out", []chaosOp{chPut(0, "a", 0, 10, chaosUncertain), chGet(1, "", 100, 110)}, porcupine.Ok, 0},
		{"uncertain put seen before it was called", []chaosOp{chGet(1, "a", 0, 5), chPut(0, "a", 10, 20, chaosUncertain)}, porcupine.Illegal, 1},
		{
			"uncertain put takes effect before the read that saw it",
			[]chaosOp{chPut(0, "a", 0, 10, chaosUncertain), chGet(1, "a", 20, 30), chPut(2, "b", 40, 50), chGet(1, "b", 60, 70)},
			porcupine.Ok, 1,
		},
		{
			"uncertain put cannot overwrite a later acknowledged one once seen",
			[]chaosOp{chPut(0, "a", 0, 10, chaosUncertain), chGet(1, "a", 20, 30), chPut(2, "b", 40, 50), chGet(1, "a", 60, 70)},
			porcupine.Illegal, 1,
		},
		{"put that certainly failed is seen", []chaosOp{chPut(0, "a", 0, 10, chaosFailed), chGet(1, "a", 20, 30)}, porcupine.Illegal, 0},
		{"failed read is ignored", []chaosOp{chPut(0, "a", 0, 10), {client: 1, kind: chaosGet, key: "k", call: 20, ret: 30, outcome: chaosFailed}}, porcupine.Ok, 0},
		{"acknowledged delete", []chaosOp{chPut(0, "a", 0, 10), chDel(0, 20, 30, chaosOK), chGet(1, "", 40, 50)}, porcupine.Ok, 0},
		{"uncertain delete may happen late", []chaosOp{chPut(0, "a", 0, 10), chDel(0, 20, 30, chaosUncertain), chGet(1, "a", 40, 50), chGet(1, "", 60, 70)}, porcupine.Ok, 1},
		{"found but empty is never explained", []chaosOp{{client: 1, kind: chaosGet, key: "k", found: true, call: 0, ret: 1, outcome: chaosOK}}, porcupine.Illegal, 0},
		{
			"keys are independent registers",
			[]chaosOp{chPut(0, "a", 0, 10), {client: 1, kind: chaosGet, key: "other", call: 20, ret: 30, outcome: chaosOK}},
			porcupine.Ok, 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := checkChaosHistory(tt.ops, time.Minute)
			if c.result != tt.want {
				t.Errorf("porcupine says %s, want %s; operations given: %v", c.result, tt.want, c.ops)
			}
			if c.keptUncertain != tt.kept {
				t.Errorf("%d uncertain writes kept, want %d", c.keptUncertain, tt.kept)
			}
			for _, op := range c.ops {
				if op.Return < op.Call {
					t.Errorf("operation %v returns before it is called", op)
				}
			}
		})
	}
}

func TestChaosFinalValues(t *testing.T) {
	final := func(value string) map[string]chaosOp { return map[string]chaosOp{"k": chGet(9, value, 1000, 1010)} }
	tests := []struct {
		name     string
		ops      []chaosOp
		final    map[string]chaosOp
		problem  string // substring of the one problem expected, "" for none
		lastRule int
	}{
		{"never written, absent", nil, final(""), "", 0},
		{"last acknowledged put", []chaosOp{chPut(0, "a", 0, 10), chPut(1, "b", 20, 30)}, final("b"), "", 1},
		{"older acknowledged put", []chaosOp{chPut(0, "a", 0, 10), chPut(1, "b", 20, 30)}, final("a"), "last write in real time", 1},
		{"overlapping last puts, either", []chaosOp{chPut(0, "a", 0, 25), chPut(1, "b", 20, 30)}, final("a"), "", 0},
		{"a value nobody wrote", []chaosOp{chPut(0, "a", 0, 10)}, final("z"), "never written", 0},
		{"a value whose put certainly failed", []chaosOp{chPut(0, "a", 0, 10), chPut(1, "z", 20, 30, chaosFailed)}, final("z"), "certainly did not happen", 0},
		{"uncertain put may win", []chaosOp{chPut(0, "a", 0, 10), chPut(1, "u", 20, 30, chaosUncertain), chPut(0, "b", 40, 50)}, final("u"), "", 0},
		{"acknowledged put lost", []chaosOp{chPut(0, "a", 0, 10)}, final(""), "absent", 0},
		{"acknowledged delete last", []chaosOp{chPut(0, "a", 0, 10), chDel(1, 20, 30, chaosOK)}, final(""), "", 1},
		{"acknowledged delete ignored", []chaosOp{chPut(0, "a", 0, 10), chDel(1, 20, 30, chaosOK)}, final("a"), "last write in real time", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := checkChaosFinal(tt.ops, tt.final)
			switch {
			case tt.problem == "" && len(rep.problems) > 0:
				t.Errorf("problems %q, want none", rep.problems)
			case tt.problem != "" && (len(rep.problems) != 1 || !strings.Contains(rep.problems[0], tt.problem)):
				t.Errorf("problems %q, want one about %q", rep.problems, tt.problem)
			}
			if rep.lastRule != tt.lastRule {
				t.Errorf("last-write rule applied to %d keys, want %d", rep.lastRule, tt.lastRule)
			}
		})
	}
}

func TestChaosLeadersOnePerTerm(t *testing.T) {
	l := newChaosLeaders(func() time.Duration { return time.Second })
	role := func(id string, r pb.Role, term int64) {
		l.observe(id, &pb.WatchEvent{Kind: pb.WatchEvent_ROLE_CHANGED, NodeId: id, Role: r, Term: term})
	}
	status := func(id string, r pb.Role, term int64) {
		l.observe(id, &pb.WatchEvent{Kind: pb.WatchEvent_STATUS, NodeId: id, Status: &pb.NodeStatus{Id: id, Role: r, Term: term}})
	}
	role("n1", pb.Role_ROLE_LEADER, 2)
	status("n1", pb.Role_ROLE_LEADER, 2)
	status("n2", pb.Role_ROLE_FOLLOWER, 2)
	l.observe("n2", &pb.WatchEvent{Kind: pb.WatchEvent_LEADER_CHANGED, NodeId: "n2", LeaderId: "n3", Term: 2})
	status("n2", pb.Role_ROLE_LEADER, 3)
	if p := l.problems(); len(p) != 0 {
		t.Fatalf("problems %q with one leader per term", p)
	}
	if id, term := l.current(); id != "n2" || term != 3 {
		t.Errorf("current leader %s in term %d, want n2 in 3", id, term)
	}
	status("n3", pb.Role_ROLE_LEADER, 2)
	p := l.problems()
	if len(p) != 1 || !strings.Contains(p[0], "term 2") || !strings.Contains(p[0], "n1") || !strings.Contains(p[0], "n3") {
		t.Errorf("problems %q, want one naming n1 and n3 in term 2", p)
	}
	if got := l.terms(); got != "t2:n1 t3:n2" {
		t.Errorf("terms %q, want t2:n1 t3:n2", got)
	}
	if got := l.summary(); got != "2 terms with a leader (highest 3), led by n1=1 n2=1" {
		t.Errorf("summary %q", got)
	}
}

func TestClassifyChaos(t *testing.T) {
	tests := []struct {
		kind chaosOpKind
		err  error
		want chaosOutcome
	}{
		{chaosPut, nil, chaosOK},
		{chaosGet, nil, chaosOK},
		{chaosPut, fmt.Errorf("%w: deadline", netlink.ErrUncertain), chaosUncertain},
		{chaosDelete, fmt.Errorf("%w: deadline", netlink.ErrNoLeader), chaosFailed},
		{chaosPut, fmt.Errorf("%w: %w", netlink.ErrUncertain, netlink.ErrRejected), chaosUncertain},
		{chaosPut, fmt.Errorf("%w by n1", netlink.ErrRejected), chaosFailed},
		{chaosPut, netlink.ErrClosed, chaosUncertain},
		{chaosGet, fmt.Errorf("%w: deadline", netlink.ErrUncertain), chaosFailed},
	}
	for _, tt := range tests {
		if got := classifyChaos(tt.kind, tt.err); got != tt.want {
			t.Errorf("%s failing with %v: %s, want %s", tt.kind, tt.err, got, tt.want)
		}
	}
}

// TestChaosCheckDigests: nodes at one applied index must report one
// non-empty state digest and no fault left in force.
func TestChaosCheckDigests(t *testing.T) {
	const d1, d2 = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	ids := []string{"n1", "n2", "n3"}
	st := func(digest string) *pb.NodeStatus { return &pb.NodeStatus{AppliedIndex: 42, StateDigest: digest} }
	tests := []struct {
		name     string
		statuses map[string]*pb.NodeStatus
		digest   string   // the common digest, "" for none
		problems []string // substrings, one per problem expected
	}{
		{"agree", map[string]*pb.NodeStatus{"n1": st(d1), "n2": st(d1), "n3": st(d1)}, d1, nil},
		{"one differs", map[string]*pb.NodeStatus{"n1": st(d1), "n2": st(d2), "n3": st(d1)}, "",
			[]string{"state digests differ at the same applied index: n1 applied_index=42 state_digest=" + d1 + "; n2 applied_index=42 state_digest=" + d2}},
		{"none reported", map[string]*pb.NodeStatus{"n1": st(""), "n2": st(""), "n3": st("")}, "",
			[]string{"n1 reports no state digest at applied index 42", "n2 reports no state digest", "n3 reports no state digest"}},
		{"one missing", map[string]*pb.NodeStatus{"n1": st(d1), "n2": st(""), "n3": st(d1)}, "",
			[]string{"n2 reports no state digest", `n2 applied_index=42 state_digest=""`}},
		{"stall left", map[string]*pb.NodeStatus{"n1": st(d1), "n2": {AppliedIndex: 42, StateDigest: d1, DiskStallMs: 800}, "n3": st(d1)}, d1,
			[]string{"n2 still has a fault after the final heal: paused=false partitioned=false isolated_from=[] delay_ms=0 disk_stall_ms=800"}},
		{"slow motion left", map[string]*pb.NodeStatus{"n1": st(d1), "n2": st(d1), "n3": {AppliedIndex: 42, StateDigest: d1, SlowFactor: 3}}, d1,
			[]string{"n3 still has a fault after the final heal: paused=false partitioned=false isolated_from=[] delay_ms=0 disk_stall_ms=0 slow_factor=3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := chaosCheckDigests(ids, tt.statuses)
			if c.digest != tt.digest || c.applied != 42 {
				t.Errorf("digest %q at %d, want %q at 42", c.digest, c.applied, tt.digest)
			}
			if len(c.problems) != len(tt.problems) {
				t.Fatalf("problems %q, want %d like %q", c.problems, len(tt.problems), tt.problems)
			}
			for i, want := range tt.problems {
				if !strings.Contains(c.problems[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, c.problems[i], want)
				}
			}
			if tt.digest != "" && c.String() != tt.digest+" on all 3 nodes at applied index 42" {
				t.Errorf("summary %q", c.String())
			}
		})
	}
}

// TestChaosSlowDiskFault: a slow-disk fault says its stall in the
// timeline, drawn within bounds, and hits the leader or any node.
func TestChaosSlowDiskFault(t *testing.T) {
	f := &chaosFault{kind: faultSlowDiskLeader, targets: []string{"n2"}, stall: 1250 * time.Millisecond}
	e := chaosEvent{at: 1500 * time.Millisecond, action: "inject", kind: f.kind, targets: f.targets, detail: f.detail(), leader: "n2", term: 3}
	if got, want := e.String(), "   1.500s  inject  slow-disk-leader    n2            leader n2 (term 3)  stall 1.25s"; got != want {
		t.Errorf("timeline line\n%q, want\n%q", got, want)
	}
	if got := (&chaosFault{kind: faultKillNode}).detail(); got != "" {
		t.Errorf("kill9 detail %q, want none", got)
	}
	n := &chaosNemesis{rng: rand.New(rand.NewPCG(1, 2))}
	lo, hi := chaosStallMax, chaosStallMin
	for range 2000 {
		d := n.stall()
		if d < chaosStallMin || d > chaosStallMax || d%time.Millisecond != 0 {
			t.Fatalf("stall %v: want whole milliseconds in [%v, %v]", d, chaosStallMin, chaosStallMax)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > chaosStallMin+100*time.Millisecond || hi < chaosStallMax-100*time.Millisecond {
		t.Errorf("2000 stalls span only [%v, %v]", lo, hi)
	}
	for _, k := range []chaosFaultKind{faultSlowDiskLeader, faultSlowDiskNode} {
		if !slices.Contains(chaosFaultKinds, k) || k.mechanism() != mechSlowDisk {
			t.Errorf("%s: in schedule %t, mechanism %d", k, slices.Contains(chaosFaultKinds, k), k.mechanism())
		}
	}
}
