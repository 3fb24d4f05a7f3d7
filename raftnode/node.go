package raftnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/segmentlog"
)

// Transport delivers messages to peers without blocking; implemented by
// *netlink.Peers. A false return means the message was dropped, which Raft
// tolerates.
type Transport interface {
	Send(to string, m *pb.RaftKvMessage) bool
}

// HardStateStore makes the hard state durable; implemented by
// *segmentlog.HardStateStore.
type HardStateStore interface {
	Load() (segmentlog.HardState, error)
	Save(segmentlog.HardState) error
}

var (
	_ Transport       = (*netlink.Peers)(nil)
	_ HardStateStore  = (*segmentlog.HardStateStore)(nil)
	_ netlink.Handler = (*Node)(nil)
)

// ticksPerHeartbeat is how finely the runtime divides time: the core's tick
// is a tenth of the heartbeat, so election timers are drawn with that
// resolution and the dashboard's timer drains smoothly.
const ticksPerHeartbeat = 10

// recvQueue bounds peer messages waiting for the Raft loop; beyond it they
// are dropped, as a lossy network would.
const recvQueue = 4096

// subscriberQueue bounds the events waiting for one watcher; a watcher that
// falls further behind loses events instead of slowing the Raft loop.
const subscriberQueue = 1024

// NodeConfig is what a Node needs to run.
type NodeConfig struct {
	ID              string            // this node's id
	Addr            string            // this node's address, reported in status
	Cluster         string            // cluster name, reported in status
	Members         map[string]string // every member's id → address, including this node
	Heartbeat       time.Duration     // leader heartbeat interval
	ElectionTimeout time.Duration     // T: election timers are drawn from [T, 2T)
	Storage         HardStateStore    // durable term and vote
	Transport       Transport         // outbound peer messages
	Logger          *slog.Logger      // role and term changes are logged here
	Seed            uint64            // seeds election-timer randomness; 0 picks one
}

// Node is the runtime around the pure core: one goroutine owns the core and
// runs the loop tick/receive → persist → send → publish → advance.
type Node struct {
	cfg    NodeConfig
	tick   time.Duration // duration of one core tick
	core   *Raft         // owned by the Run goroutine
	logger *slog.Logger

	recvc  chan Message      // peer messages for the loop
	adminc chan adminRequest // pause/resume for the loop

	snap atomic.Pointer[snapshot] // latest state, for Status from any goroutine

	mu   sync.Mutex                   // guards subs
	subs map[chan *pb.WatchEvent]bool // event watchers
}

// snapshot is the core's status as of the loop's last iteration.
type snapshot struct {
	status   Status    // core status
	paused   bool      // admin pause in effect
	lastTick time.Time // when the core last ticked, to interpolate timers
}

type adminRequest struct {
	cmd   pb.AdminCommand
	reply chan error
}

// ErrStorage is wrapped by the error Run returns when the hard state cannot
// be made durable; the node must stop rather than answer without it.
var ErrStorage = errors.New("storage failed")

// NewNode restores the hard state and builds the core.
func NewNode(cfg NodeConfig) (*Node, error) {
	if cfg.Heartbeat <= 0 || cfg.ElectionTimeout <= cfg.Heartbeat {
		return nil, fmt.Errorf("%w: election timeout %s must be above heartbeat %s", ErrInvalidConfig, cfg.ElectionTimeout, cfg.Heartbeat)
	}
	hs, err := cfg.Storage.Load()
	if err != nil {
		return nil, err
	}
	tick := max(cfg.Heartbeat/ticksPerHeartbeat, time.Millisecond)
	peers := make([]string, 0, len(cfg.Members))
	for id := range cfg.Members {
		peers = append(peers, id)
	}
	sort.Strings(peers)
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	core, err := New(Config{
		ID:             cfg.ID,
		Peers:          peers,
		ElectionTicks:  int(cfg.ElectionTimeout / tick),
		HeartbeatTicks: int(cfg.Heartbeat / tick),
		Rand:           rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		HardState:      HardState{Term: hs.Term, Vote: hs.Vote, Commit: hs.Commit},
		PreVote:        true,
		CheckQuorum:    true,
	})
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	n := &Node{
		cfg:    cfg,
		tick:   tick,
		core:   core,
		logger: logger.With("node", cfg.ID),
		recvc:  make(chan Message, recvQueue),
		adminc: make(chan adminRequest),
		subs:   map[chan *pb.WatchEvent]bool{},
	}
	n.snap.Store(&snapshot{status: core.Status(), lastTick: time.Now()})
	n.logger.Info("restored", "term", hs.Term, "vote", hs.Vote)
	return n, nil
}

// Run drives the core until ctx is done. It returns a non-nil error only
// when the node cannot go on safely (storage failed).
func (n *Node) Run(ctx context.Context) error {
	ticker := time.NewTicker(n.tick)
	defer ticker.Stop()
	paused := false
	lastTick := time.Now()
	for {
		var answer func() // replies to an admin request once its effect is visible
		select {
		case <-ctx.Done():
			return nil
		case now := <-ticker.C:
			if !paused {
				n.core.Tick()
				lastTick = now
			}
		case m := <-n.recvc:
			if !paused {
				if err := n.core.Step(m); err != nil {
					n.logger.Debug("dropped peer message", "from", m.From, "type", m.Type, "err", err)
				}
			}
		case req := <-n.adminc:
			var err error
			paused, err = n.admin(req.cmd, paused)
			lastTick = time.Now()
			answer = func() { req.reply <- err }
		}
		if n.core.HasReady() {
			if err := n.handleReady(n.core.Ready(), paused); err != nil {
				return err
			}
			n.core.Advance()
		}
		n.snap.Store(&snapshot{status: n.core.Status(), paused: paused, lastTick: lastTick})
		if answer != nil {
			answer()
		}
	}
}

// handleReady carries out the Ready contract: persist, then send, then
// publish. A paused node still persists but sends nothing.
func (n *Node) handleReady(rd Ready, paused bool) error {
	if rd.MustSync {
		hs := segmentlog.HardState{Term: rd.HardState.Term, Vote: rd.HardState.Vote, Commit: rd.HardState.Commit}
		if err := n.cfg.Storage.Save(hs); err != nil {
			n.logger.Error("cannot persist hard state; stopping", "err", err)
			return fmt.Errorf("%w: %w", ErrStorage, err)
		}
	}
	if !paused {
		for _, m := range rd.Messages {
			n.cfg.Transport.Send(m.To, toWire(m))
		}
	}
	for _, ev := range rd.Events {
		n.logEvent(ev)
		n.publish(n.eventToWire(ev))
	}
	return nil
}

func (n *Node) logEvent(ev Event) {
	switch ev.Kind {
	case EventRoleChanged:
		n.logger.Info("role changed", "role", ev.Role.String(), "term", ev.Term)
	case EventTermChanged:
		n.logger.Info("term changed", "term", ev.Term)
	case EventLeaderChanged:
		n.logger.Info("leader changed", "leader", ev.Leader, "term", ev.Term)
	}
}

func (n *Node) admin(cmd pb.AdminCommand, paused bool) (bool, error) {
	switch cmd {
	case pb.AdminCommand_PAUSE:
		if !paused {
			n.logger.Info("paused: timers stopped, raft traffic dropped")
			n.publish(&pb.WatchEvent{Kind: pb.WatchEvent_PAUSED, NodeId: n.cfg.ID, UnixMs: time.Now().UnixMilli()})
		}
		return true, nil
	case pb.AdminCommand_RESUME:
		if paused {
			n.logger.Info("resumed")
			n.publish(&pb.WatchEvent{Kind: pb.WatchEvent_RESUMED, NodeId: n.cfg.ID, UnixMs: time.Now().UnixMilli()})
		}
		return false, nil
	default:
		return paused, fmt.Errorf("unknown admin command %s", cmd)
	}
}

// StepPeer queues a peer's message for the loop; it drops the message when
// the queue is full or the frame is not a valid Raft message.
func (n *Node) StepPeer(w *pb.RaftKvMessage) {
	m, err := fromWire(w)
	if err != nil {
		n.logger.Warn("refused peer frame", "from", w.GetNodeId(), "err", err)
		return
	}
	select {
	case n.recvc <- m:
	default:
		n.logger.Debug("receive queue full, dropped", "from", m.From, "type", m.Type)
	}
}

// Admin pauses or resumes the node.
func (n *Node) Admin(ctx context.Context, req *pb.AdminRequest) *pb.AdminResponse {
	r := adminRequest{cmd: req.GetCommand(), reply: make(chan error, 1)}
	select {
	case n.adminc <- r:
	case <-ctx.Done():
		return &pb.AdminResponse{Error: ctx.Err().Error()}
	}
	select {
	case err := <-r.reply:
		if err != nil {
			return &pb.AdminResponse{Error: err.Error()}
		}
		return &pb.AdminResponse{Ok: true, Status: n.Status()}
	case <-ctx.Done():
		return &pb.AdminResponse{Error: ctx.Err().Error()}
	}
}

// KV answers client requests. Replicated key-value operations arrive with
// log replication; until then a leader reports the store unavailable.
func (n *Node) KV(ctx context.Context, req *pb.KvRequest) *pb.KvResponse {
	s := n.snap.Load()
	resp := &pb.KvResponse{RequestId: req.GetRequestId(), NodeId: n.cfg.ID}
	switch {
	case s.paused:
		resp.Code, resp.Message = pb.ErrorCode_PAUSED, "node paused"
	case s.status.Role != RoleLeader:
		resp.Code, resp.Message = pb.ErrorCode_NOT_LEADER, "not the leader"
		resp.LeaderId, resp.LeaderAddr = s.status.Leader, n.cfg.Members[s.status.Leader]
	default:
		resp.Code, resp.Message = pb.ErrorCode_UNAVAILABLE, "key-value operations are not served yet: log replication is not implemented"
	}
	return resp
}

// Subscribe returns a channel of events for one watcher and a function that
// ends the subscription.
func (n *Node) Subscribe() (<-chan *pb.WatchEvent, func()) {
	ch := make(chan *pb.WatchEvent, subscriberQueue)
	n.mu.Lock()
	n.subs[ch] = true
	n.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			n.mu.Lock()
			delete(n.subs, ch)
			n.mu.Unlock()
		})
	}
}

func (n *Node) publish(ev *pb.WatchEvent) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs {
		select {
		case ch <- ev:
		default: // this watcher is behind; it loses the event
		}
	}
}

// Status reports the node's state, with the election timer interpolated to
// this instant.
func (n *Node) Status() *pb.NodeStatus {
	s := n.snap.Load()
	st := s.status
	now := time.Now()
	out := &pb.NodeStatus{
		Id:                    n.cfg.ID,
		Addr:                  n.cfg.Addr,
		Cluster:               n.cfg.Cluster,
		Role:                  roleToWire(st.Role),
		Term:                  int64(st.Term),
		VotedFor:              st.Vote,
		LeaderId:              st.Leader,
		LeaderAddr:            n.cfg.Members[st.Leader],
		CommitIndex:           int64(st.Commit),
		AppliedIndex:          int64(st.Applied),
		LastIndex:             int64(st.LastIndex),
		LastTerm:              int64(st.LastTerm),
		ElectionTimeoutMs:     (time.Duration(st.RandomizedElectionTimeout) * n.tick).Milliseconds(),
		BaseElectionTimeoutMs: n.cfg.ElectionTimeout.Milliseconds(),
		HeartbeatMs:           n.cfg.Heartbeat.Milliseconds(),
		Paused:                s.paused,
		UnixMs:                now.UnixMilli(),
		VotesGranted:          st.VotesGranted,
		VotesRejected:         st.VotesRejected,
	}
	if st.Role != RoleLeader {
		left := time.Duration(st.RandomizedElectionTimeout-st.ElectionElapsed) * n.tick
		if !s.paused {
			left -= now.Sub(s.lastTick)
		}
		out.ElectionRemainingMs = max(left, 0).Milliseconds()
	}
	ids := make([]string, 0, len(st.Progress))
	for id := range st.Progress {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := st.Progress[id]
		out.Peers = append(out.Peers, &pb.PeerProgress{Id: id, MatchIndex: int64(p.Match), NextIndex: int64(p.Next), RecentActive: p.RecentActive})
	}
	return out
}

func (n *Node) eventToWire(ev Event) *pb.WatchEvent {
	w := &pb.WatchEvent{
		NodeId:   n.cfg.ID,
		UnixMs:   time.Now().UnixMilli(),
		Term:     int64(ev.Term),
		Role:     roleToWire(ev.Role),
		LeaderId: ev.Leader,
		Peer:     ev.Peer,
		Reason:   ev.Reason,
		PreVote:  ev.PreVote,
	}
	switch ev.Kind {
	case EventRoleChanged:
		w.Kind = pb.WatchEvent_ROLE_CHANGED
	case EventTermChanged:
		w.Kind = pb.WatchEvent_TERM_CHANGED
	case EventVoteRequested:
		w.Kind = pb.WatchEvent_VOTE_REQUESTED
	case EventVoteGranted:
		w.Kind = pb.WatchEvent_VOTE_GRANTED
	case EventVoteDenied:
		w.Kind = pb.WatchEvent_VOTE_DENIED
	case EventLeaderChanged:
		w.Kind = pb.WatchEvent_LEADER_CHANGED
	}
	return w
}

func roleToWire(r Role) pb.Role {
	switch r {
	case RolePreCandidate:
		return pb.Role_ROLE_PRE_CANDIDATE
	case RoleCandidate:
		return pb.Role_ROLE_CANDIDATE
	case RoleLeader:
		return pb.Role_ROLE_LEADER
	default:
		return pb.Role_ROLE_FOLLOWER
	}
}
