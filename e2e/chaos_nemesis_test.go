package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// Fault schedule: a new fault every chaosGapMin..chaosGapMax, each lasting
// chaosHoldMin..chaosHoldMax; while one is active another starts with
// probability chaosOverlap, so that at most chaosMaxActive overlap.
const (
	chaosGapMin    = time.Second
	chaosGapMax    = 3 * time.Second
	chaosHoldMin   = 1500 * time.Millisecond
	chaosHoldMax   = 4 * time.Second
	chaosOverlap   = 0.4
	chaosMaxActive = 2
	chaosAdminWait = 2 * time.Second // one admin command, dial included
	// A slow-disk fault stalls each of its node's disk syncs by a time
	// drawn from chaosStallMin..chaosStallMax: a few heartbeats to a few
	// election timeouts.
	chaosStallMin = 500 * time.Millisecond
	chaosStallMax = 3000 * time.Millisecond
	// A lagging follower stays down until every other node has compacted
	// its log past the follower's last entry, so that it can only catch up
	// from a snapshot, or for chaosLagMax if they never all do.
	chaosLagMax = 20 * time.Second
	// chaosLagCheck is how often the nemesis looks whether a lagging
	// follower has fallen behind the compaction point.
	chaosLagCheck = 250 * time.Millisecond
)

// chaosSnapshotConfig makes the chaos cluster snapshot and compact often
// (cluster.yaml lines): small snapshots, a small margin, small segments.
const chaosSnapshotConfig = "snapshot_entries: 300\nsnapshot_margin: 50\nsegment_size: 65536\n"

// chaosFaultKind names a fault and whom it hits.
type chaosFaultKind string

const (
	faultStopLeader        chaosFaultKind = "sigstop-leader"     // SIGSTOP, later SIGCONT
	faultStopNode          chaosFaultKind = "sigstop-node"       // the same, any node
	faultKillLeader        chaosFaultKind = "kill9-leader"       // SIGKILL, later restart
	faultKillNode          chaosFaultKind = "kill9-node"         // the same, any node
	faultPauseLeader       chaosFaultKind = "pause-leader"       // admin PAUSE, later RESUME
	faultPauseNode         chaosFaultKind = "pause-node"         // the same, any node
	faultPartitionLeader   chaosFaultKind = "partition-leader"   // admin PARTITION, later HEAL
	faultPartitionMinority chaosFaultKind = "partition-minority" // 1-2 nodes each PARTITIONed
	faultPartitionMajority chaosFaultKind = "partition-majority" // 3 nodes each PARTITIONed
	faultSlowDiskLeader    chaosFaultKind = "slow-disk-leader"   // admin SLOW_DISK stall, later SLOW_DISK 0
	faultSlowDiskNode      chaosFaultKind = "slow-disk-node"     // the same, any node
	faultLagFollower       chaosFaultKind = "lag-follower"       // SIGKILL a follower until the rest compact past its log
	faultTransfer          chaosFaultKind = "transfer-leader"    // admin TRANSFER_LEADER to a follower
	faultRejoin            chaosFaultKind = "rejoin-wiped"       // member remove, SIGKILL, wipe; later --join, add learner, promote
	faultReplace           chaosFaultKind = "replace-member"     // member remove, SIGKILL; later a new id joins, added and promoted
	faultSlowMotion        chaosFaultKind = "slow-motion"        // admin SLOW_MOTION ×chaosSlowFactor on every node, later ×1
)

// chaosSlowFactor is how much slower time runs during a slow-motion fault:
// enough to stretch every timer and delay every message, while the
// clients' deadlines still hold.
const chaosSlowFactor = 3

// chaosFaultKinds is every fault the nemesis picks from.
var chaosFaultKinds = []chaosFaultKind{
	faultStopLeader, faultStopNode, faultKillLeader, faultKillNode,
	faultPauseLeader, faultPauseNode,
	faultPartitionLeader, faultPartitionMinority, faultPartitionMajority,
	faultSlowDiskLeader, faultSlowDiskNode, faultLagFollower,
	faultTransfer, faultRejoin, faultReplace, faultSlowMotion,
}

// chaosForcedKinds are injected once in every run, each at the first
// fault that finds nothing else to do first: every run then sees an
// InstallSnapshot, a leadership transfer and both ways of replacing a
// member.
var chaosForcedKinds = []chaosFaultKind{faultLagFollower, faultTransfer, faultRejoin, faultReplace, faultSlowMotion}

// chaosMechanism is how a fault is done and undone.
type chaosMechanism int

const (
	mechStop       chaosMechanism = iota // SIGSTOP / SIGCONT
	mechKill                             // SIGKILL / restart
	mechPause                            // admin PAUSE / RESUME
	mechPartition                        // admin PARTITION / HEAL
	mechSlowDisk                         // admin SLOW_DISK stall / SLOW_DISK 0
	mechTransfer                         // admin TRANSFER_LEADER / nothing
	mechRejoin                           // remove, kill, wipe / --join, add learner, promote
	mechReplace                          // remove, kill / a new id joins, add learner, promote
	mechSlowMotion                       // admin SLOW_MOTION ×chaosSlowFactor / ×1, on every node
)

func (k chaosFaultKind) mechanism() chaosMechanism {
	switch k {
	case faultStopLeader, faultStopNode:
		return mechStop
	case faultKillLeader, faultKillNode, faultLagFollower:
		return mechKill
	case faultPauseLeader, faultPauseNode:
		return mechPause
	case faultSlowDiskLeader, faultSlowDiskNode:
		return mechSlowDisk
	case faultTransfer:
		return mechTransfer
	case faultRejoin:
		return mechRejoin
	case faultReplace:
		return mechReplace
	case faultSlowMotion:
		return mechSlowMotion
	default:
		return mechPartition
	}
}

// chaosFault is one fault in force.
type chaosFault struct {
	kind    chaosFaultKind // what was done
	targets []string       // to which nodes
	stall   time.Duration  // mechSlowDisk: how long each disk sync stalls
	start   time.Duration  // when, on the history clock
	healAt  time.Time      // when it is to be undone
	healed  time.Duration  // when it was undone, on the history clock; 0 while in force
	// lagging: lag-follower: the target's last log index when it was
	// killed; behind is set once another node's log starts after it.
	lagging uint64
	behind  bool
	outcome string // a transfer's or replacement's result, for the timeline
}

// chaosEvent is one line of the fault timeline.
type chaosEvent struct {
	at      time.Duration  // on the history clock
	action  string         // "inject" or "heal"
	kind    chaosFaultKind // the fault
	targets []string       // the nodes it hit
	detail  string         // what the fault set, as "stall 1.2s"; "" when nothing to say
	leader  string         // who led just before, "" when nobody was known to
	term    int64          // the leader's term
}

func (e chaosEvent) String() string {
	leader := "none"
	if e.leader != "" {
		leader = fmt.Sprintf("%s (term %d)", e.leader, e.term)
	}
	line := fmt.Sprintf("%8.3fs  %-6s  %-18s  %-12s  leader %s", e.at.Seconds(), e.action, e.kind, strings.Join(e.targets, ","), leader)
	if e.detail != "" {
		line += "  " + e.detail
	}
	return line
}

// detail is what f sets, for the timeline: its stall for a slow disk.
func (f *chaosFault) detail() string {
	switch f.kind.mechanism() {
	case mechSlowDisk:
		return "stall " + f.stall.String()
	case mechSlowMotion:
		return fmt.Sprintf("time ×%d", chaosSlowFactor)
	}
	return f.outcome
}

// chaosNemesis injects and heals faults on the harness's nodes. Its
// methods run on the test's goroutine, like the harness's.
type chaosNemesis struct {
	h        *Harness               // the cluster it harms
	rng      *rand.Rand             // seeded: the same seed picks the same faults
	leaders  *chaosLeaders          // who leads now, for leader faults and the timeline
	since    func() time.Duration   // the history clock
	active   []*chaosFault          // faults in force
	done     []*chaosFault          // healed faults, for the visualization
	lagged   []string               // followers that fell behind the compaction point and were restarted
	timeline []chaosEvent           // every inject and heal, in order
	counts   map[chaosFaultKind]int // faults injected, by kind
	overlaps int                    // faults started while another was in force
	// Membership faults: watchNew starts the leader watch on a node that
	// joined; transfers counts those that ended with the target leading;
	// rejoined and replaced say who came back wiped and who took whose
	// place; retired are the ids replaced (out of h.ids, logs kept).
	watchNew  func(id string)
	transfers int
	rejoined  []string
	replaced  []string
	retired   []string
}

// run injects and heals faults until the deadline; faults still in force
// then stay in force (healAll undoes them).
func (n *chaosNemesis) run(until time.Time) {
	next := time.Now().Add(n.gap())
	for {
		now := time.Now()
		for _, f := range slices.Clone(n.active) {
			if !now.Before(f.healAt) || n.fellBehind(f) {
				n.heal(f)
			}
		}
		if !now.Before(until) {
			return
		}
		if !now.Before(next) {
			if len(n.active) == 0 || (len(n.active) < chaosMaxActive && !n.active[0].kind.exclusive() && n.rng.Float64() < chaosOverlap) {
				n.inject()
			}
			next = now.Add(n.gap())
		}
		wake := next
		if until.Before(wake) {
			wake = until
		}
		for _, f := range n.active {
			if f.healAt.Before(wake) {
				wake = f.healAt
			}
			if lagCheck := now.Add(chaosLagCheck); f.kind == faultLagFollower && lagCheck.Before(wake) {
				wake = lagCheck
			}
		}
		// A schedule, not a condition: nothing to poll for.
		time.Sleep(time.Until(wake))
	}
}

// gap is a random pause between two injections.
func (n *chaosNemesis) gap() time.Duration {
	return chaosGapMin + time.Duration(n.rng.Int64N(int64(chaosGapMax-chaosGapMin)))
}

// stall is a random disk stall for a slow-disk fault, in whole
// milliseconds from chaosStallMin to chaosStallMax.
func (n *chaosNemesis) stall() time.Duration {
	ms := n.rng.Int64N((chaosStallMax - chaosStallMin).Milliseconds() + 1)
	return chaosStallMin + time.Duration(ms)*time.Millisecond
}

// inject starts one random fault on nodes not already under one. Kinds
// that cannot be applied now (no known leader, too few free nodes) are
// passed over for another.
func (n *chaosNemesis) inject() {
	kinds := n.rng.Perm(len(chaosFaultKinds))
	for _, forced := range slices.Backward(chaosForcedKinds) {
		if n.counts[forced] == 0 {
			kinds = append([]int{slices.Index(chaosFaultKinds, forced)}, kinds...)
		}
	}
	for _, i := range kinds {
		kind := chaosFaultKinds[i]
		if kind.exclusive() && len(n.active) > 0 {
			continue
		}
		targets := n.pickTargets(kind)
		if targets == nil {
			continue
		}
		leader, term := n.leaders.current()
		if len(n.active) > 0 {
			n.overlaps++
		}
		hold := chaosHoldMin + time.Duration(n.rng.Int64N(int64(chaosHoldMax-chaosHoldMin)))
		switch kind {
		case faultLagFollower:
			hold = chaosLagMax
		case faultTransfer:
			hold = 0 // nothing to undo
		}
		f := &chaosFault{kind: kind, targets: targets, start: n.since(), healAt: time.Now().Add(hold)}
		if kind.mechanism() == mechSlowDisk {
			f.stall = n.stall()
		}
		for _, id := range targets {
			n.apply(f, id)
		}
		n.record(chaosEvent{at: f.start, action: "inject", kind: kind, targets: targets, detail: f.detail(), leader: leader, term: term})
		n.active = append(n.active, f)
		n.counts[kind]++
		return
	}
}

// pickTargets chooses the nodes kind hits, or nil when it cannot be done
// now.
func (n *chaosNemesis) pickTargets(kind chaosFaultKind) []string {
	var free []string
	for _, id := range n.h.ids {
		if !n.busy(id) {
			free = append(free, id)
		}
	}
	pick := func(k int) []string {
		if len(free) < k {
			return nil
		}
		var out []string
		for _, i := range n.rng.Perm(len(free))[:k] {
			out = append(out, free[i])
		}
		slices.Sort(out)
		return out
	}
	switch kind {
	case faultStopLeader, faultKillLeader, faultPauseLeader, faultPartitionLeader, faultSlowDiskLeader:
		leader, _ := n.leaders.current()
		if leader == "" || n.busy(leader) {
			return nil
		}
		return []string{leader}
	case faultLagFollower, faultTransfer, faultRejoin, faultReplace:
		leader, _ := n.leaders.current()
		if leader == "" {
			return nil
		}
		free = slices.DeleteFunc(free, func(id string) bool { return id == leader })
		return pick(1)
	case faultSlowMotion:
		// Time runs at one speed across the cluster: every node or none.
		if len(free) != len(n.h.ids) {
			return nil
		}
		return slices.Sorted(slices.Values(free))
	case faultPartitionMinority:
		return pick(1 + n.rng.IntN(2))
	case faultPartitionMajority:
		return pick(len(n.h.ids)/2 + 1)
	default:
		return pick(1)
	}
}

// fellBehind reports whether the follower a lag-follower fault keeps down
// is behind the compaction point now: every other node answers, and every
// one's log starts after the follower's last entry, so that whoever leads
// next can only catch it up with a snapshot.
func (n *chaosNemesis) fellBehind(f *chaosFault) bool {
	if f.kind != faultLagFollower || f.behind {
		return f.behind
	}
	for _, id := range n.h.ids {
		if slices.Contains(f.targets, id) {
			continue
		}
		if n.h.procs[id] == nil {
			return false
		}
		st, err := n.h.Status(id)
		if err != nil || uint64(st.GetFirstIndex()) <= f.lagging+1 {
			return false
		}
	}
	f.behind = true
	n.lagged = append(n.lagged, f.targets...)
	return true
}

// busy reports whether a fault in force already hits node id.
func (n *chaosNemesis) busy(id string) bool {
	for _, f := range n.active {
		if slices.Contains(f.targets, id) {
			return true
		}
	}
	return false
}

// record adds e to the timeline and logs it.
func (n *chaosNemesis) record(e chaosEvent) {
	n.timeline = append(n.timeline, e)
	n.h.t.Logf("chaos: %s", e)
}

// heal undoes f and takes it off the active list.
func (n *chaosNemesis) heal(f *chaosFault) {
	leader, term := n.leaders.current()
	at := n.since()
	n.record(chaosEvent{at: at, action: "heal", kind: f.kind, targets: f.targets, leader: leader, term: term})
	for _, id := range f.targets {
		n.undo(f, id)
	}
	f.healed = at
	n.active = slices.DeleteFunc(n.active, func(g *chaosFault) bool { return g == f })
	n.done = append(n.done, f)
}

// healAll undoes every fault in force, then makes sure of it: every
// running node gets SIGCONT, RESUME and HEAL (which clears a disk stall
// too), all harmless on a healthy node. chaosConverge later checks that no
// node still reports a fault.
func (n *chaosNemesis) healAll() {
	for len(n.active) > 0 {
		n.heal(n.active[0])
	}
	for _, id := range n.h.ids {
		p := n.h.procs[id]
		if p == nil {
			n.h.t.Fatalf("chaos: %s is not running after every fault was healed", id)
		}
		if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			n.h.t.Fatalf("chaos: SIGCONT %s: %v", id, err)
		}
		n.mustAdmin(id, &pb.AdminRequest{Command: pb.AdminCommand_RESUME})
		n.mustAdmin(id, &pb.AdminRequest{Command: pb.AdminCommand_HEAL})
	}
}

// apply does node id's part of fault f.
func (n *chaosNemesis) apply(f *chaosFault, id string) {
	switch f.kind.mechanism() {
	case mechStop:
		if err := n.h.procs[id].cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			n.h.t.Fatalf("chaos: SIGSTOP %s: %v", id, err)
		}
	case mechKill:
		if f.kind == faultLagFollower {
			st, err := n.h.Status(id)
			if err != nil {
				st = &pb.NodeStatus{} // unreachable: any compaction puts it behind
			}
			f.lagging = uint64(st.GetLastIndex())
		}
		n.h.KillNode(id)
	case mechPause:
		n.mustAdmin(id, &pb.AdminRequest{Command: pb.AdminCommand_PAUSE})
	case mechPartition:
		n.mustAdmin(id, &pb.AdminRequest{Command: pb.AdminCommand_PARTITION})
	case mechSlowDisk:
		n.mustAdmin(id, &pb.AdminRequest{Command: pb.AdminCommand_SLOW_DISK, StallMs: f.stall.Milliseconds()})
	case mechSlowMotion:
		n.mustAdmin(id, &pb.AdminRequest{Command: pb.AdminCommand_SLOW_MOTION, SlowFactor: chaosSlowFactor})
	case mechTransfer:
		n.transfer(f, id)
	case mechRejoin:
		n.removeMember(id, true)
	case mechReplace:
		n.removeMember(id, false)
		n.retired = append(n.retired, id)
	}
}

// undo heals node id's part of fault f.
func (n *chaosNemesis) undo(f *chaosFault, id string) {
	switch f.kind.mechanism() {
	case mechStop:
		if err := n.h.procs[id].cmd.Process.Signal(syscall.SIGCONT); err != nil {
			n.h.t.Fatalf("chaos: SIGCONT %s: %v", id, err)
		}
	case mechKill:
		n.h.RestartNode(id)
	case mechPause:
		n.mustAdmin(id, &pb.AdminRequest{Command: pb.AdminCommand_RESUME})
	case mechPartition:
		n.mustAdmin(id, &pb.AdminRequest{Command: pb.AdminCommand_HEAL})
	case mechSlowDisk:
		n.mustAdmin(id, &pb.AdminRequest{Command: pb.AdminCommand_SLOW_DISK}) // stall 0 clears it
	case mechSlowMotion:
		n.mustAdmin(id, &pb.AdminRequest{Command: pb.AdminCommand_SLOW_MOTION, SlowFactor: 1})
	case mechTransfer:
	case mechRejoin:
		n.rejoin(id)
	case mechReplace:
		n.replace(id)
	}
}

// mustAdmin runs an admin request on node id, retrying briefly (a node
// just resumed from SIGSTOP may be slow to answer), and fails the test if
// the node never accepts it. A node that does not know the command fails
// the test at once, saying so: a chaos run without that fault would pass
// for the wrong reason.
func (n *chaosNemesis) mustAdmin(id string, req *pb.AdminRequest) {
	n.h.t.Helper()
	n.h.waitFor(fmt.Sprintf("chaos: %s to accept admin %s", id, req.GetCommand()), func() (bool, string) {
		err := n.h.chaosAdmin(id, req)
		if errors.Is(err, errChaosUnsupported) {
			n.h.t.Fatalf("chaos: %v: the node does not implement admin %s, which the chaos test needs", err, req.GetCommand())
		}
		return err == nil, fmt.Sprint(err)
	})
}

// errChaosUnsupported says a node answered "unknown admin command".
var errChaosUnsupported = errors.New("admin command unsupported")

// chaosAdmin sends one admin request to node id over a fresh connection.
func (h *Harness) chaosAdmin(id string, req *pb.AdminRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), chaosAdminWait)
	defer cancel()
	cmd := req.GetCommand().String()
	if req.GetCommand() == pb.AdminCommand_SLOW_DISK {
		cmd += fmt.Sprintf(" %dms", req.GetStallMs())
	}
	c, err := netlink.Dial(ctx, h.addrs[id], netlink.Identity{Cluster: clusterName, NodeID: clientID})
	if err != nil {
		return fmt.Errorf("admin %s on %s: %w", cmd, id, err)
	}
	defer c.Close()
	resp, err := c.AdminRequest(ctx, req)
	switch {
	case err != nil:
		return fmt.Errorf("admin %s on %s: %w", cmd, id, err)
	case strings.Contains(resp.GetError(), "unknown admin command"):
		return fmt.Errorf("admin %s on %s: %q: %w", cmd, id, resp.GetError(), errChaosUnsupported)
	case !resp.GetOk():
		return fmt.Errorf("admin %s on %s refused: %q", cmd, id, resp.GetError())
	}
	return nil
}
