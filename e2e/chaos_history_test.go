package e2e

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/easykv/easykv/netlink"
)

// chaosOpKind is what a client operation asked for.
type chaosOpKind int

const (
	chaosGet    chaosOpKind = iota // linearizable read
	chaosPut                       // write a value unique to this operation
	chaosDelete                    // remove the key
)

func (k chaosOpKind) String() string {
	switch k {
	case chaosPut:
		return "put"
	case chaosDelete:
		return "delete"
	default:
		return "get"
	}
}

// chaosOutcome is how an operation ended, as far as its client can tell.
type chaosOutcome int

const (
	// chaosOK: a write was acknowledged, a read answered.
	chaosOK chaosOutcome = iota
	// chaosUncertain: a write may or may not have been applied, now or
	// later (ErrUncertain, or an error the client contract does not
	// classify).
	chaosUncertain
	// chaosFailed: a write certainly not applied (ErrNoLeader, or a
	// rejection before any attempt could apply it), or any failed read.
	chaosFailed
)

func (o chaosOutcome) String() string {
	switch o {
	case chaosOK:
		return "ok"
	case chaosUncertain:
		return "uncertain"
	default:
		return "failed"
	}
}

// chaosOp is one client operation as the client saw it.
type chaosOp struct {
	client  int          // zero-based client number: its row in the visualization
	kind    chaosOpKind  // get, put or delete
	key     string       // the key operated on
	value   string       // put: the value written; get: the value read ("" when absent)
	found   bool         // get: the key existed
	call    int64        // nanoseconds since the run started, just before the call
	ret     int64        // nanoseconds since the run started, just after it returned
	outcome chaosOutcome // ok, uncertain or failed
	err     error        // why it did not succeed; nil when it did
	node    string       // the node that answered a successful call
}

func (op chaosOp) String() string {
	var what string
	switch op.kind {
	case chaosPut:
		what = fmt.Sprintf("put(%s, %s)", op.key, op.value)
	case chaosDelete:
		what = fmt.Sprintf("delete(%s)", op.key)
	default:
		what = fmt.Sprintf("get(%s) -> %s", op.key, readValue(op.value, op.found))
	}
	s := fmt.Sprintf("c%d %s [%s, %s] %s", op.client, what, chaosTime(op.call), chaosTime(op.ret), op.outcome)
	if op.node != "" {
		s += " via " + op.node
	}
	if op.err != nil {
		s += ": " + op.err.Error()
	}
	return s
}

// readValue describes what a read returned.
func readValue(value string, found bool) string {
	if !found {
		return "(absent)"
	}
	return fmt.Sprintf("%q", value)
}

// chaosTime formats nanoseconds since the start of the run.
func chaosTime(ns int64) string {
	return fmt.Sprintf("%.3fs", time.Duration(ns).Seconds())
}

// classifyChaos maps a call's error to its outcome, following the
// ClusterClient contract: ErrUncertain (checked first, it may wrap a
// rejection) may have been applied, ErrNoLeader and a plain ErrRejected
// certainly were not. Any other error of a write is taken as uncertain,
// the only safe reading of an outcome nobody promised anything about.
func classifyChaos(kind chaosOpKind, err error) chaosOutcome {
	switch {
	case err == nil:
		return chaosOK
	case kind == chaosGet:
		return chaosFailed
	case errors.Is(err, netlink.ErrUncertain):
		return chaosUncertain
	case errors.Is(err, netlink.ErrNoLeader), errors.Is(err, netlink.ErrRejected):
		return chaosFailed
	default:
		return chaosUncertain
	}
}

// chaosHistory collects the operations of concurrent clients, timed on one
// monotonic clock.
type chaosHistory struct {
	start time.Time // time zero of every timestamp
	mu    sync.Mutex
	ops   []chaosOp // in the order they finished; guarded by mu
}

func newChaosHistory() *chaosHistory {
	return &chaosHistory{start: time.Now()}
}

// now is the current time on the history's clock.
func (h *chaosHistory) now() int64 {
	return time.Since(h.start).Nanoseconds()
}

// since is now as a duration, for the fault timeline.
func (h *chaosHistory) since() time.Duration {
	return time.Since(h.start)
}

func (h *chaosHistory) add(op chaosOp) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// snapshot returns a copy of the operations so far, by call time.
func (h *chaosHistory) snapshot() []chaosOp {
	h.mu.Lock()
	ops := slices.Clone(h.ops)
	h.mu.Unlock()
	slices.SortStableFunc(ops, func(a, b chaosOp) int { return cmp.Compare(a.call, b.call) })
	return ops
}
