package raftnode

import (
	"errors"
	"strings"
	"time"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// faultSet is where injected faults live: the network's in netlink.Faults,
// shared with the transport and the server, and the disk's in the
// diskStall the persister waits on. Admin commands that set or heal them
// come here straight, never through the Raft loop.
type faultSet struct {
	network *netlink.Faults // nil: this node takes no network faults
	disk    diskStall
}

// isFault reports whether cmd sets or heals a fault.
func isFault(cmd pb.AdminCommand) bool {
	switch cmd {
	case pb.AdminCommand_SLOW_DISK, pb.AdminCommand_PARTITION, pb.AdminCommand_HEAL, pb.AdminCommand_ISOLATE, pb.AdminCommand_DELAY:
		return true
	}
	return false
}

// apply sets or heals the fault req names and says what changed. HEAL
// undoes every fault, network and disk.
func (f *faultSet) apply(req *pb.AdminRequest) (string, error) {
	cmd := req.GetCommand()
	if cmd == pb.AdminCommand_SLOW_DISK {
		stall := time.Duration(req.GetStallMs()) * time.Millisecond
		if err := f.disk.set(stall); err != nil {
			return "", err
		}
		if stall == 0 {
			return "disk stall cleared", nil
		}
		return "disk syncs stall " + stall.String(), nil
	}
	var changes []string
	switch {
	case f.network != nil:
		changed, err := f.network.Apply(req)
		if err != nil {
			return "", err
		}
		changes = append(changes, changed)
	case cmd != pb.AdminCommand_HEAL:
		return "", errors.New("network faults are not available on this node")
	}
	if cmd == pb.AdminCommand_HEAL {
		if f.disk.get() > 0 {
			changes = append(changes, "disk stall cleared")
		}
		_ = f.disk.set(0) // 0 is always in range
	}
	if len(changes) == 0 {
		changes = append(changes, "healed")
	}
	return strings.Join(changes, "; "), nil
}

// report fills the faults in effect into a status.
func (f *faultSet) report(out *pb.NodeStatus) {
	out.DiskStallMs = f.disk.get().Milliseconds()
	if f.network != nil {
		partitioned, isolated, delay := f.network.State()
		out.Partitioned, out.IsolatedFrom, out.DelayMs = partitioned, isolated, delay.Milliseconds()
	}
}
