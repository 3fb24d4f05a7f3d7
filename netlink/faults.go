package netlink

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// MaxFaultDelay is the longest outbound delay a DELAY command may set: long
// enough to outlast any election timeout, short enough that a typo does not
// hold a node's traffic for hours.
const MaxFaultDelay = 60 * time.Second

// MaxDiskStall is the longest disk-sync stall a SLOW_DISK command may ask
// for, as easykv-ctl and the dashboard check it: the node's own bound
// (raftnode.MaxDiskStall), which the node checks again.
const MaxDiskStall = time.Minute

// ErrBadFault is wrapped by every error of Faults.Apply: the request asks for
// something that is not a valid network fault of this node.
var ErrBadFault = errors.New("bad fault request")

// FaultMillis parses arg, the DURATION of the fault command verb (which
// sets a what: a delay, a stall), into whole milliseconds in [0, limit],
// for every client that sends fault commands: its errors name verb, and
// show examples when arg is not a duration. A positive duration that
// rounds to 0 ms is refused: 0 would clear the fault, the opposite of
// asking for one.
func FaultMillis(verb, what, arg, examples string, limit time.Duration) (int64, error) {
	d, err := time.ParseDuration(arg)
	if err != nil {
		return 0, fmt.Errorf("%s: bad duration %q (want e.g. %s, or 0 to clear)", verb, arg, examples)
	}
	if d < 0 || d > limit {
		return 0, fmt.Errorf("%s: %v is outside [0, %v]", verb, d, limit)
	}
	ms := d.Round(time.Millisecond).Milliseconds()
	if d > 0 && ms == 0 {
		return 0, fmt.Errorf("%s: %v is under a millisecond (0 clears the %s)", verb, d, what)
	}
	return ms, nil
}

// Faults is a node's set of injected network faults, shared by its Peers
// (outbound) and Server (inbound), set and healed by admin commands. It is
// safe for concurrent use and cheap to consult on every message: readers load
// an immutable value, and only Apply takes a lock. A nil *Faults has no
// faults.
type Faults struct {
	// slow is the delivery delay of slow motion (SetSlowDelay), added to
	// DELAY's; HEAL leaves it.
	slow  atomic.Int64
	self  string                     // this node's id, which can be cut off from nothing
	mu    sync.Mutex                 // serializes Apply and SetPeers, so that no change is lost
	peers map[string]bool            // the configuration's other member ids; under mu
	cur   atomic.Pointer[faultState] // the faults in force; replaced whole, never modified
}

// faultState is one immutable value of the faults in force.
type faultState struct {
	partitioned bool            // every peer is cut off
	isolated    map[string]bool // the peers cut off by ISOLATE; never modified once published
	delay       time.Duration   // outbound delay for every peer
}

// noFaults is the state of a healthy node.
var noFaults = &faultState{}

// NewFaults returns the faults of node self, whose peers are peers (self
// among them is ignored), with none set.
func NewFaults(self string, peers []string) *Faults {
	f := &Faults{self: self}
	f.SetPeers(peers)
	f.cur.Store(noFaults)
	return f
}

// SetPeers makes peers (self among them is ignored) the ids ISOLATE may
// name: the members of the configuration, which changes as members are
// added and removed. Faults in force stay.
func (f *Faults) SetPeers(peers []string) {
	m := make(map[string]bool, len(peers))
	for _, p := range peers {
		if p != f.self {
			m[p] = true
		}
	}
	f.mu.Lock()
	f.peers = m
	f.mu.Unlock()
}

// Apply carries out a PARTITION, HEAL, ISOLATE or DELAY request and returns
// what changed, in words fit for an event line: "partitioned from n2, n3",
// "healed", "isolated from n2", "outbound delay 200ms". ISOLATE adds to the
// peers already isolated; HEAL clears every fault. It refuses, with an error
// wrapping ErrBadFault and changing nothing, an ISOLATE without peers or
// naming an unknown peer or this node, a DELAY below zero or above
// MaxFaultDelay, and any other command.
func (f *Faults) Apply(req *pb.AdminRequest) (changed string, err error) {
	if f == nil {
		return "", fmt.Errorf("%w: this node has no fault injection", ErrBadFault)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.cur.Load()
	next := *old
	switch cmd := req.GetCommand(); cmd {
	case pb.AdminCommand_PARTITION:
		next.partitioned = true
		changed = "partitioned from " + listOrNone(slices.Sorted(maps.Keys(f.peers)))
	case pb.AdminCommand_HEAL:
		next = faultState{}
		changed = "healed"
	case pb.AdminCommand_ISOLATE:
		if len(req.GetPeers()) == 0 {
			return "", fmt.Errorf("%w: isolate needs at least one peer", ErrBadFault)
		}
		next.isolated = maps.Clone(old.isolated)
		if next.isolated == nil {
			next.isolated = make(map[string]bool)
		}
		for _, p := range req.GetPeers() {
			switch {
			case p == f.self:
				return "", fmt.Errorf("%w: %s cannot be isolated from itself", ErrBadFault, f.self)
			case !f.peers[p]:
				return "", fmt.Errorf("%w: unknown peer %q", ErrBadFault, p)
			}
			next.isolated[p] = true
		}
		changed = "isolated from " + strings.Join(slices.Sorted(maps.Keys(next.isolated)), ", ")
	case pb.AdminCommand_DELAY:
		ms := req.GetDelayMs()
		if ms < 0 || ms > MaxFaultDelay.Milliseconds() {
			return "", fmt.Errorf("%w: delay %dms is outside [0, %v]", ErrBadFault, ms, MaxFaultDelay)
		}
		next.delay = time.Duration(ms) * time.Millisecond
		changed = "outbound delay " + next.delay.String()
		if ms == 0 {
			changed = "outbound delay cleared"
		}
	default:
		return "", fmt.Errorf("%w: %v is not a network fault command", ErrBadFault, cmd)
	}
	f.cur.Store(&next)
	return changed, nil
}

// listOrNone joins ids for a message, or says there are none.
func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "no peers"
	}
	return strings.Join(ids, ", ")
}

// state is the faults in force now; a nil *Faults has none.
func (f *Faults) state() *faultState {
	if f == nil {
		return noFaults
	}
	return f.cur.Load()
}

// Blocked reports whether Raft traffic to and from peer must be dropped.
func (f *Faults) Blocked(peer string) bool {
	s := f.state()
	return s.partitioned || s.isolated[peer]
}

// Delay is how long a message to peer waits before it is sent: the DELAY
// fault's and slow motion's.
func (f *Faults) Delay(peer string) time.Duration {
	if f == nil {
		return 0
	}
	return f.state().delay + time.Duration(f.slow.Load())
}

// MaxSlowFactor is the most SLOW_MOTION may slow a node: at 100 a 100 ms
// heartbeat comes every 10 s, slow enough to follow any message by eye.
const MaxSlowFactor = 100

// SlowFactor parses a slow-motion factor as typed (easykv-ctl slow, the
// dashboard's slow): a whole number from 1 (normal speed) to MaxSlowFactor.
func SlowFactor(arg string) (int64, error) {
	f, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || f < 1 || f > MaxSlowFactor {
		return 0, fmt.Errorf("slow: want a whole factor from 1 (normal speed) to %d, got %q", MaxSlowFactor, arg)
	}
	return f, nil
}

// SetSlowDelay sets the delay slow motion adds to every message (0: none).
func (f *Faults) SetSlowDelay(d time.Duration) {
	if f == nil {
		return
	}
	f.slow.Store(int64(d))
}

// State is the faults in force, for status reports: whether the node is
// partitioned, the peers it is isolated from (sorted; nil when none) and its
// outbound delay.
func (f *Faults) State() (partitioned bool, isolated []string, delay time.Duration) {
	s := f.state()
	if len(s.isolated) > 0 {
		isolated = slices.Sorted(maps.Keys(s.isolated))
	}
	return s.partitioned, isolated, s.delay
}
