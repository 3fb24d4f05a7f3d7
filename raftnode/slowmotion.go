package raftnode

import (
	"errors"
	"fmt"
	"time"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
)

// slowDelay is the delivery delay each message gets in slow motion at
// factor f: a quarter of the slowed heartbeat, so that a message is seen
// travelling yet always arrives well within an election timeout (at
// least ten heartbeats), and Raft's liveness is what it was.
func slowDelay(heartbeat time.Duration, f int64) time.Duration {
	if f <= 1 {
		return 0
	}
	return heartbeat * time.Duration(f) / 4
}

// timerAdmin carries out the teaching commands on the loop: slow motion,
// and firing, holding or releasing the election timer.
func (n *Node) timerAdmin(req *pb.AdminRequest) error {
	var what string
	switch req.GetCommand() {
	case pb.AdminCommand_SLOW_MOTION:
		f := req.GetSlowFactor()
		if f < 1 || f > netlink.MaxSlowFactor {
			return fmt.Errorf("slow motion factor %d is outside [1, %d]", f, netlink.MaxSlowFactor)
		}
		n.setSlow(f)
		what = fmt.Sprintf("slow motion ×%d", f)
		if f == 1 {
			what = "normal speed"
		}
	case pb.AdminCommand_FIRE_TIMER:
		if n.paused {
			return errors.New("paused: resume it first")
		}
		if err := n.core.FireElectionTimer(); err != nil {
			if errors.Is(err, raft.ErrLeaderTimer) {
				return fmt.Errorf("%s leads: a leader has no election timer to fire", n.cfg.ID)
			}
			return err
		}
		n.lastTick = time.Now()
		what = "election timer fired by hand"
	case pb.AdminCommand_HOLD_TIMER, pb.AdminCommand_RELEASE_TIMER:
		held := req.GetCommand() == pb.AdminCommand_HOLD_TIMER
		n.core.HoldElectionTimer(held)
		n.heldNow.Store(held)
		what = "election timer released"
		if held {
			what = "election timer held"
		}
	}
	n.logger.Info("timer", "change", what)
	n.pub.notice(pb.WatchEvent_TIMER_CHANGED, what)
	return nil
}

// setSlow makes time run f times slower: the tick (and with it every
// timer of the core) and each message's delivery.
func (n *Node) setSlow(f int64) {
	n.slowNow.Store(f)
	n.pub.tracer.on.Store(f > 1)
	n.ticker.Reset(n.tickEvery())
	n.faults.network.SetSlowDelay(slowDelay(n.cfg.Heartbeat, f))
}

// tickEvery is the time between two ticks of the core, slow motion
// included.
func (n *Node) tickEvery() time.Duration {
	return n.tick * time.Duration(max(n.slowNow.Load(), 1))
}
