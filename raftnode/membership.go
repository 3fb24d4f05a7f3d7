package raftnode

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
)

// addrSetter is a transport whose peers follow the configuration;
// implemented by *netlink.Peers.
type addrSetter interface {
	SetAddrs(addrs map[string]string)
}

// addrBook maps member ids to addresses: cluster.yaml's, overlaid by the
// configuration in effect, which names members added later. Any
// goroutine may read it; the loop replaces it.
type addrBook struct {
	initial map[string]string // cluster.yaml's nodes
	cur     atomic.Pointer[map[string]string]

	mu sync.Mutex
	// learned are addresses peers gave in their handshakes: how a node
	// that joined reaches a leader added after cluster.yaml was written,
	// before it has a configuration that names it. Guarded by mu.
	learned map[string]string
}

func newAddrBook(initial map[string]string) *addrBook {
	b := &addrBook{initial: initial, learned: map[string]string{}}
	m := maps.Clone(initial)
	b.cur.Store(&m)
	return b
}

// get returns id's address, "" when unknown.
func (b *addrBook) get(id string) string { return (*b.cur.Load())[id] }

// follow makes the book, and the transport's peers, the members of the
// configurations ms (with cluster.yaml's addresses where they have none),
// self excluded from the transport. It returns those peers' ids, sorted.
func (b *addrBook) follow(self string, t Transport, ms ...raft.Membership) []string {
	book := maps.Clone(b.initial)
	peers := map[string]string{}
	b.mu.Lock()
	for id, addr := range b.learned {
		if slices.ContainsFunc(ms, func(m raft.Membership) bool { return m.Has(id) }) {
			// A configuration says where it is from now on, and when
			// it is gone.
			delete(b.learned, id)
			continue
		}
		// A peer that dialed us may lead a configuration we have not
		// seen yet: answer it.
		book[id] = addr
		if id != self {
			peers[id] = addr
		}
	}
	b.mu.Unlock()
	for _, m := range ms {
		for _, x := range m {
			if x.Addr != "" {
				book[x.ID] = x.Addr
			}
			if x.ID != self {
				peers[x.ID] = book[x.ID]
			}
		}
	}
	b.cur.Store(&book)
	if s, ok := t.(addrSetter); ok {
		s.SetAddrs(peers)
	}
	return sortedIDs(peers)
}

// learn records the address peer id gave in its handshake. It reports
// whether that is news: an id the book had no address for.
func (b *addrBook) learn(id, addr string) bool {
	if b.get(id) != "" {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.learned[id] == addr {
		return false
	}
	b.learned[id] = addr
	return true
}

// LearnPeerAddr takes the listen address a peer gave in its handshake; a
// peer the node knows no address for becomes reachable (netlink's
// ServerConfig.PeerAddr). Any goroutine may call it.
func (n *Node) LearnPeerAddr(id, addr string) {
	if id == n.cfg.ID || !n.addrs.learn(id, addr) {
		return
	}
	select {
	case n.refollow <- struct{}{}:
	default: // the loop has one waiting already
	}
}

// followMembers makes the peers the members of the configurations ms:
// links, addresses, and the lines messages are counted on.
func (n *Node) followMembers(ms ...raft.Membership) {
	n.pub.followPeers(n.addrs.follow(n.cfg.ID, n.cfg.Transport, ms...))
}

// initialMembership is cluster.yaml's list with its addresses, the
// configuration a new cluster starts in.
func initialMembership(members map[string]string) raft.Membership {
	m := raft.NewMembership(sortedIDs(members)...)
	for i := range m {
		m[i].Addr = members[m[i].ID]
	}
	return m
}

// snapshotMembership is the configuration a snapshot's state machine
// holds; nil when it holds none (written before configurations were).
func snapshotMembership(kv *kvmap.Map) raft.Membership {
	if kv == nil || len(kv.Config()) == 0 {
		return nil
	}
	m, err := raft.DecodeMembership(kv.Config())
	if err != nil {
		return nil
	}
	return m
}

// confWait is a membership change proposed on this leader, answered when
// its entry is applied.
type confWait struct {
	index, term uint64
	reply       chan error
}

// transferWait is a leadership transfer, answered when the target leads
// or the transfer ends without it.
type transferWait struct {
	to    string
	reply chan error
}

// errChangeLost: the leader lost leadership before the change committed.
var errChangeLost = errors.New("leadership lost before the change committed: it may or may not take effect")

// changeMembership proposes the change an admin request asks for; the
// answer waits for its entry to be applied (it reports false then).
func (n *Node) changeMembership(req *pb.AdminRequest, reply chan error) (err error, later bool) {
	cc := raft.ConfChange{ID: req.GetMemberId(), Addr: req.GetMemberAddr()}
	switch req.GetCommand() {
	case pb.AdminCommand_MEMBER_ADD:
		cc.Type = raft.ConfAddVoter
		if req.GetLearner() {
			cc.Type = raft.ConfAddLearner
		}
	case pb.AdminCommand_MEMBER_PROMOTE:
		cc.Type = raft.ConfPromote
	default:
		cc.Type = raft.ConfRemove
	}
	index, term, err := n.core.ProposeConfChange(cc)
	if err != nil {
		return err, false
	}
	n.logger.Info("membership change proposed", "change", cc.String(), "index", index)
	n.confWaits = append(n.confWaits, confWait{index: index, term: term, reply: reply})
	return nil, true
}

// transferLeadership starts a transfer to the member an admin request
// names, or, when it names none, to the most caught-up voter that was
// heard from lately (a leader shutting down).
func (n *Node) transferLeadership(req *pb.AdminRequest, reply chan error) (err error, later bool) {
	to := req.GetMemberId()
	if to == "" {
		if to = n.bestSuccessor(); to == "" {
			return fmt.Errorf("%w: no reachable voter to hand leadership to", raft.ErrConfChangeRefused), false
		}
	}
	if err := n.core.TransferLeadership(to); err != nil {
		return err, false
	}
	if n.transfer != nil {
		n.transfer.reply <- fmt.Errorf("superseded by a transfer to %s", to)
	}
	n.transfer = &transferWait{to: to, reply: reply}
	return nil, true
}

// bestSuccessor is the voter with the longest log among those heard from
// in the current check-quorum round; "" when there is none.
func (n *Node) bestSuccessor() string {
	st := n.core.Status()
	best, match := "", uint64(0)
	for _, id := range sortedIDs(st.Progress) {
		p := st.Progress[id]
		if st.Membership.IsVoter(id) && p.RecentActive && (best == "" || p.Match > match) {
			best, match = id, p.Match
		}
	}
	return best
}

// sortedIDs returns m's keys in order.
func sortedIDs[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// appliedConfigs answers the changes whose entries were just applied.
func (n *Node) appliedConfigs(rd *raft.Ready) {
	for _, e := range rd.CommittedEntries {
		if e.Type != raft.EntryConfChange {
			continue
		}
		n.confWaits = slices.DeleteFunc(n.confWaits, func(w confWait) bool {
			if w.index != e.Index {
				return false
			}
			if w.term == e.Term {
				w.reply <- nil
			} else {
				w.reply <- errChangeLost
			}
			return true
		})
	}
}

// membershipEvent acts on a core event about the configuration or the
// leadership: peers follow the configuration, and waiting admin requests
// get their answer.
func (n *Node) membershipEvent(ev raft.Event) {
	switch ev.Kind {
	case raft.EventConfApplied, raft.EventConfRolledBack:
		// Until the new configuration commits, the links of the one before
		// stay: a leader being removed leads until then (thesis §4.2.2),
		// and needs the followers' answers to commit its removal.
		n.prevMembers, n.curMembers = n.curMembers, ev.Members
		n.followMembers(n.curMembers, n.prevMembers)
	case raft.EventConfCommitted:
		if cur, index := n.core.Membership(); index == ev.Index {
			n.prevMembers, n.curMembers = nil, cur
			n.followMembers(cur)
		}
	case raft.EventLeaderChanged:
		if t := n.transfer; t != nil && ev.Leader != "" && ev.Leader != n.cfg.ID {
			if ev.Leader == t.to {
				t.reply <- nil
			} else {
				t.reply <- fmt.Errorf("%s leads, not %s", ev.Leader, t.to)
			}
			n.transfer = nil
		}
	case raft.EventTransferAborted:
		if t := n.transfer; t != nil {
			t.reply <- errors.New(ev.Reason)
			n.transfer = nil
		}
	case raft.EventRoleChanged:
		if ev.Role == raft.RoleLeader {
			return
		}
		// A change already committed is applied here as on every node, and
		// appliedConfigs answers it: a removed leader steps down when its
		// removal commits, before applying it. The others' fate is the
		// next leader's to decide.
		commit := n.core.Status().Commit
		n.confWaits = slices.DeleteFunc(n.confWaits, func(w confWait) bool {
			if w.index <= commit {
				return false
			}
			w.reply <- errChangeLost
			return true
		})
	}
}

// membersToWire is the configuration as status reports it.
func (n *Node) membersToWire(m raft.Membership) []*pb.Member {
	out := make([]*pb.Member, len(m))
	for i, x := range m {
		addr := x.Addr
		if addr == "" {
			addr = n.addrs.get(x.ID)
		}
		out[i] = &pb.Member{Id: x.ID, Addr: addr, Learner: x.Learner}
	}
	return out
}

// Handoff hands leadership to the most caught-up reachable voter when this
// node leads, and waits until another node leads or timeout passes: a
// leader shutting down this way costs the cluster no election timeout
// (thesis §3.10). It returns nil when the node does not lead.
func (n *Node) Handoff(timeout time.Duration) error {
	if n.pub.latest.Load().status.Role != raft.RoleLeader {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if resp := n.Admin(ctx, &pb.AdminRequest{Command: pb.AdminCommand_TRANSFER_LEADER}); !resp.GetOk() {
		return fmt.Errorf("hand off leadership: %s", resp.GetError())
	}
	return nil
}

// InitialConfig is the configuration a cluster of members (id → address)
// starts with, encoded as the state machine keeps it. A node restored
// from a backup (easykv-node restore) takes it in place of the
// configuration of the cluster the backup came from.
func InitialConfig(members map[string]string) []byte {
	return raft.EncodeMembership(initialMembership(members))
}
