package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

const (
	chaosWatchInterval = 100 * time.Millisecond // STATUS events asked of each node
	chaosRedialPause   = 100 * time.Millisecond // between attempts to reach a down node
	chaosViewFresh     = 3 * time.Second        // a node's view older than this is not trusted (a loaded machine delays events)
)

// chaosSighting is the first report of a node leading a term.
type chaosSighting struct {
	id     string        // the leader
	at     time.Duration // when it was seen, on the history clock
	source string        // which event said so
}

// chaosView is the latest thing a node said about itself.
type chaosView struct {
	role pb.Role   // its role
	term int64     // its term
	at   time.Time // when that was reported
}

// chaosLeaders records, from every node's watch stream, who led each term:
// Raft allows at most one leader per term (§5.2, Election Safety), so two
// different leaders of one term fail the test. It also keeps each node's
// latest role for the fault timeline. Safe for concurrent use.
type chaosLeaders struct {
	since     func() time.Duration // the history clock
	mu        sync.Mutex
	byTerm    map[int64]chaosSighting // first leader seen per term; guarded by mu
	conflicts []string                // each second leader of a term; guarded by mu
	views     map[string]chaosView    // latest view per node; guarded by mu
}

func newChaosLeaders(since func() time.Duration) *chaosLeaders {
	return &chaosLeaders{since: since, byTerm: map[int64]chaosSighting{}, views: map[string]chaosView{}}
}

// observe takes one event of node id's stream into account.
func (l *chaosLeaders) observe(id string, ev *pb.WatchEvent) {
	var role pb.Role
	var term int64
	var source string
	switch ev.GetKind() {
	case pb.WatchEvent_ROLE_CHANGED:
		role, term, source = ev.GetRole(), ev.GetTerm(), "ROLE_CHANGED"
	case pb.WatchEvent_STATUS:
		role, term, source = ev.GetStatus().GetRole(), ev.GetStatus().GetTerm(), "STATUS"
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.views[id] = chaosView{role: role, term: term, at: time.Now()}
	if role == pb.Role_ROLE_LEADER {
		l.sawLocked(term, id, source)
	}
}

// sawLocked records that id led term.
func (l *chaosLeaders) sawLocked(term int64, id, source string) {
	s := chaosSighting{id: id, at: l.since(), source: source}
	first, ok := l.byTerm[term]
	switch {
	case !ok:
		l.byTerm[term] = s
	case first.id != id:
		l.conflicts = append(l.conflicts, fmt.Sprintf("term %d: %s seen leading at %.3fs (%s), and %s at %.3fs (%s)",
			term, first.id, first.at.Seconds(), first.source, id, s.at.Seconds(), s.source))
	}
}

// current is the node that most recently said it leads, in the highest
// term among fresh views, or "" when none did.
func (l *chaosLeaders) current() (id string, term int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for n, v := range l.views {
		if v.role == pb.Role_ROLE_LEADER && time.Since(v.at) < chaosViewFresh && v.term > term {
			id, term = n, v.term
		}
	}
	return id, term
}

// problems lists every term seen with two leaders.
func (l *chaosLeaders) problems() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.conflicts)
}

// sightings is a copy of the first leader seen in each term.
func (l *chaosLeaders) sightings() map[int64]chaosSighting {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.byTerm)
}

// summary describes the terms that had a leader: how many, the highest,
// and how many each node led.
func (l *chaosLeaders) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.byTerm) == 0 {
		return "no leader seen"
	}
	led := map[string]int{}
	var highest int64
	for term, s := range l.byTerm {
		led[s.id]++
		highest = max(highest, term)
	}
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(led)) {
		parts = append(parts, fmt.Sprintf("%s=%d", id, led[id]))
	}
	return fmt.Sprintf("%d terms with a leader (highest %d), led by %s", len(l.byTerm), highest, strings.Join(parts, " "))
}

// terms lists each term's leader, "t3:n2 t4:n1 …".
func (l *chaosLeaders) terms() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var parts []string
	for _, term := range slices.Sorted(maps.Keys(l.byTerm)) {
		parts = append(parts, fmt.Sprintf("t%d:%s", term, l.byTerm[term].id))
	}
	return strings.Join(parts, " ")
}

// watch follows node id's event stream at addr until ctx ends, dialling
// again whenever the connection is lost (the node was killed) or cannot be
// made (it is down or stopped).
func (l *chaosLeaders) watch(ctx context.Context, id, addr string) {
	for ctx.Err() == nil {
		l.watchOnce(ctx, id, addr)
		select {
		case <-ctx.Done():
		case <-time.After(chaosRedialPause):
		}
	}
}

// watchOnce runs one connection's watch until it ends.
func (l *chaosLeaders) watchOnce(ctx context.Context, id, addr string) {
	dctx, cancel := context.WithTimeout(ctx, statusTimeout)
	c, err := netlink.Dial(dctx, addr, netlink.Identity{Cluster: clusterName, NodeID: "chaos-watch"})
	cancel()
	if err != nil {
		return
	}
	defer c.Close()
	events, err := c.Watch(ctx, chaosWatchInterval)
	if err != nil {
		return
	}
	for ev := range events {
		l.observe(id, ev)
	}
}
