package netlink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// ErrChangeRefused is returned, wrapped with the node's reason, when the
// leader refuses a membership change or a leadership transfer (another
// change in flight, an unknown id, a lagging learner, the last voter...).
// It is not ErrRefused, which is a refused handshake.
var ErrChangeRefused = errors.New("change refused")

// NotLeaderReason begins the error of an AdminResponse from a node that
// cannot run a command because it is not the leader; leader_id and
// leader_addr name the leader when the node knows it.
const NotLeaderReason = "not the leader"

// maxLeaderRedirects bounds a chain of leader hints followed without
// pausing: nodes with stale views could otherwise send a call round in a
// loop. Past it, LeaderAdmin backs off as when no leader is known.
const maxLeaderRedirects = 3

// AdminConn is a connection that runs admin commands; *Client satisfies it.
type AdminConn interface {
	AdminRequest(ctx context.Context, req *pb.AdminRequest) (*pb.AdminResponse, error)
	Close() error
}

// AdminDialFunc opens an admin connection to the node at addr.
type AdminDialFunc func(ctx context.Context, addr string) (AdminConn, error)

// DialAdmin is the AdminDialFunc that dials with Dial as id.
func DialAdmin(id Identity) AdminDialFunc {
	return func(ctx context.Context, addr string) (AdminConn, error) {
		c, err := Dial(ctx, addr, id)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return c, nil
	}
}

// IsNotLeader reports whether resp is a refusal because the node is not
// the leader (rather than a refusal of the command itself).
func IsNotLeader(resp *pb.AdminResponse) bool {
	return !resp.GetOk() && (resp.GetLeaderId() != "" || strings.HasPrefix(resp.GetError(), NotLeaderReason))
}

// LeaderAdmin runs req, a command only the leader serves (MEMBER_*,
// TRANSFER_LEADER), on the leader of the cluster whose nodes are known to
// be nodes. It follows the leader a node names, dialling it even when
// nodes does not list it, and, while no node knows a leader, tries the
// nodes in turn with a jittered backoff until ctx ends (or the default
// call timeout of 5s when ctx has no deadline).
//
// Its errors: ErrChangeRefused wrapped with the leader's reason when the
// leader refuses the change (its answer is returned too); ErrUncertain when the request reached a node
// but its answer was lost or said the outcome is unknown (the change may or may not have happened, and it
// is not sent again, as a second add or remove would be refused or act
// twice); ErrRefused (via ErrRejected) when every node refused the
// handshake; ErrNoLeader when no leader answered in time.
func LeaderAdmin(ctx context.Context, nodes []NodeAddr, dial AdminDialFunc, req *pb.AdminRequest) (*pb.AdminResponse, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultCallTimeout)
		defer cancel()
	}
	s := &leaderSearch{nodes: append([]NodeAddr(nil), nodes...), refused: map[string]bool{}}
	if len(s.nodes) == 0 {
		return nil, errors.New("leader admin: no nodes")
	}
	var (
		backoff  time.Duration
		attempts int
		lastErr  error
	)
	for {
		if ctx.Err() != nil {
			return nil, giveUp(context.Cause(ctx), false, attempts, lastErr)
		}
		attempts++
		node := s.next()
		resp, sent, err := adminAttempt(ctx, dial, node.Addr, req)
		switch {
		case err != nil && sent:
			return nil, fmt.Errorf("%w: %v %s: %s: %w", ErrUncertain, req.GetCommand(), req.GetMemberId(), node.ID, err)
		case err != nil:
			lastErr = fmt.Errorf("%s: %w", node.ID, err)
			if errors.Is(err, ErrRefused) && s.refusedBy(node) {
				return nil, fmt.Errorf("%w by every node, last %w", ErrRejected, lastErr)
			}
		case resp.GetOk():
			return resp, nil
		case resp.GetUncertain():
			return resp, fmt.Errorf("%w: %v %s: %s: %s", ErrUncertain, req.GetCommand(), req.GetMemberId(), node.ID, resp.GetError())
		case !IsNotLeader(resp):
			return resp, fmt.Errorf("%w by %s: %s", ErrChangeRefused, node.ID, resp.GetError())
		default:
			lastErr = fmt.Errorf("%s: %s", node.ID, resp.GetError())
			if s.follow(node, resp) {
				continue // the leader's name is fresh news: no pause
			}
		}
		backoff = min(max(2*backoff, firstBackoff), maxBackoff)
		sleepUnless(ctx, nil, jitter(backoff))
	}
}

// adminAttempt sends req to the node at addr once; sent reports whether
// the request went out, so that the node may have acted on it although
// err says otherwise. The dial is bounded by the attempt timeout, so that a
// stopped node costs little; the request by ctx only, as a change is
// answered once committed.
func adminAttempt(ctx context.Context, dial AdminDialFunc, addr string, req *pb.AdminRequest) (resp *pb.AdminResponse, sent bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, defaultAttemptTimeout)
	c, err := dial(dctx, addr)
	cancel()
	if err != nil {
		return nil, false, err
	}
	defer c.Close()
	resp, err = c.AdminRequest(ctx, req)
	return resp, err == nil || !errors.Is(err, ErrFrameTooLarge), err
}

// leaderSearch is where LeaderAdmin looks for the leader: the nodes it
// knows, growing as nodes name leaders it did not know, and the next one
// to try.
type leaderSearch struct {
	nodes     []NodeAddr      // known nodes, the given ones first
	turn      int             // the next node to try in turn
	hint      *NodeAddr       // the leader a node just named, tried next; nil when none
	redirects int             // hints followed in a row
	refused   map[string]bool // addresses whose handshake refused us
}

// next is the node to try: the leader just named, else the next in turn.
func (s *leaderSearch) next() NodeAddr {
	if h := s.hint; h != nil {
		s.hint = nil
		return *h
	}
	s.redirects = 0
	n := s.nodes[s.turn%len(s.nodes)]
	s.turn++
	return n
}

// follow takes in the leader that node's NOT_LEADER answer names, learning
// a node it did not know, and reports whether to try it at once: a
// leader is named (not node itself) and the chain of redirects is short.
func (s *leaderSearch) follow(node NodeAddr, resp *pb.AdminResponse) bool {
	leader, ok := s.learn(resp.GetLeaderId(), resp.GetLeaderAddr())
	if !ok || leader.ID == node.ID || s.redirects >= maxLeaderRedirects {
		return false
	}
	s.redirects++
	s.hint = &leader
	return true
}

// learn is the node a hint names, added to the known ones when new; an
// address in the hint wins over the one known, as the leader's own view of
// the configuration is the newest. ok is false when the hint names no
// node that can be dialled.
func (s *leaderSearch) learn(id, addr string) (NodeAddr, bool) {
	if id == "" {
		return NodeAddr{}, false
	}
	for i, n := range s.nodes {
		if n.ID == id {
			if addr != "" {
				s.nodes[i].Addr = addr
			}
			return s.nodes[i], true
		}
	}
	if addr == "" {
		return NodeAddr{}, false
	}
	n := NodeAddr{ID: id, Addr: addr}
	s.nodes = append(s.nodes, n)
	return n, true
}

// refusedBy records that node refused our handshake, and reports whether
// every known node has.
func (s *leaderSearch) refusedBy(node NodeAddr) bool {
	s.refused[node.Addr] = true
	for _, n := range s.nodes {
		if !s.refused[n.Addr] {
			return false
		}
	}
	return true
}
