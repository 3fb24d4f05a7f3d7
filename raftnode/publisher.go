package raftnode

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
)

// statusView is the node's state as of the loop's last publication, what
// Status reports from any goroutine.
type statusView struct {
	status   raft.Status // core status
	paused   bool        // admin pause in effect
	lastTick time.Time   // when the core last ticked, to interpolate timers
	// tail describes the last entries of the log, oldest first, on first
	// use: the loop publishes far more often than anyone looks.
	tail func() []*pb.LogEntry
	// terms are the terms of the last logTermsLen entries.
	terms []raft.TermRun
	// digest is the state machine's digest at status.Applied.
	digest string
	// snap is the newest snapshot, first the first index left in the log.
	snap  raft.SnapshotMeta
	first uint64
}

// publisher hands what the loop does to those who watch: the latest
// status view, for Status from any goroutine, and watch events, for each
// subscriber. It also counts the Raft messages sent and stepped, for the
// MESSAGES events (traffic.go).
type publisher struct {
	id     string
	latest atomic.Pointer[statusView]

	mu   sync.Mutex                   // guards subs
	subs map[chan *pb.WatchEvent]bool // event watchers

	traffic   trafficTable   // sent and stepped by the loop; owned by the Run goroutine
	lateSent  *sharedTraffic // sent by the persister
	trafficAt time.Time      // when the last MESSAGES event went out; owned by the Run goroutine
	obs       Observer       // told of every window of traffic
	tracer    *msgTracer     // reports single messages in slow motion
}

func newPublisher(id string, members map[string]string, obs Observer) *publisher {
	others := otherMembers(members, id)
	p := &publisher{
		id:      id,
		obs:     obs,
		subs:    map[chan *pb.WatchEvent]bool{},
		traffic: newTrafficTable(others),
	}
	p.tracer = &msgTracer{pub: p}
	p.lateSent = &sharedTraffic{t: newTrafficTable(others), tracer: p.tracer}
	return p
}

// followPeers makes the messages of peers (sorted ids) the ones counted,
// as members join and leave; counts of the peers that stay are kept.
// Called by the loop.
func (p *publisher) followPeers(peers []string) {
	p.traffic = p.traffic.withPeers(peers)
	p.lateSent.mu.Lock()
	p.lateSent.t = p.lateSent.t.withPeers(peers)
	p.lateSent.mu.Unlock()
}

// subscribe returns a channel of events for one watcher and a function
// that ends the subscription.
func (p *publisher) subscribe() (<-chan *pb.WatchEvent, func()) {
	ch := make(chan *pb.WatchEvent, subscriberQueue)
	p.mu.Lock()
	p.subs[ch] = true
	p.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			p.mu.Lock()
			delete(p.subs, ch)
			p.mu.Unlock()
		})
	}
}

// publish hands ev to every watcher that has room for it.
func (p *publisher) publish(ev *pb.WatchEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ch := range p.subs {
		select {
		case ch <- ev:
		default: // this watcher is behind; it loses the event
		}
	}
}

// notice publishes an event of kind about this node, with a reason.
func (p *publisher) notice(kind pb.WatchEvent_Kind, reason string) {
	p.publish(&pb.WatchEvent{Kind: kind, NodeId: p.id, UnixMs: time.Now().UnixMilli(), Reason: reason})
}

// watched reports whether anyone subscribes to the node's events.
func (p *publisher) watched() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs) > 0
}

// publishTraffic publishes, once a window has passed since the last
// MESSAGES event, the messages counted since, if there were any and
// anyone watches. Called by the loop at each tick.
func (p *publisher) publishTraffic(now time.Time) {
	if now.Sub(p.trafficAt) < trafficWindow {
		return
	}
	p.lateSent.moveTo(&p.traffic)
	if !p.traffic.counted {
		return
	}
	p.trafficAt = now
	defer p.traffic.reset()
	lines := p.traffic.toWire(p.id)
	p.obs.Traffic(lines)
	if !p.watched() {
		return
	}
	st := p.latest.Load().status
	p.publish(&pb.WatchEvent{
		Kind:     pb.WatchEvent_MESSAGES,
		UnixMs:   now.UnixMilli(),
		NodeId:   p.id,
		Term:     int64(st.Term),
		Role:     roleToWire(st.Role),
		LeaderId: st.Leader,
		Traffic:  lines,
	})
}
