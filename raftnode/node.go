package raftnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
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

// kvQueue bounds client requests waiting for the Raft loop; beyond it a
// client waits (it has its own deadline).
const kvQueue = 4096

// drainBatch is how many queued messages and requests the loop takes in
// before it persists: everything that arrived meanwhile shares one fsync
// (group commit).
const drainBatch = 512

// subscriberQueue bounds the events waiting for one watcher; a watcher that
// falls further behind loses events instead of slowing the Raft loop.
const subscriberQueue = 1024

// logTailLen is how many of the last log entries a status carries.
const logTailLen = 8

// logTermsLen is how many of the last entries a status gives the terms of
// (as runs, usually one to three): what a log view draws.
const logTermsLen = 256

// NodeConfig is what a Node needs to run.
type NodeConfig struct {
	ID              string            // this node's id
	Addr            string            // this node's address, reported in status
	Cluster         string            // cluster name, reported in status
	Members         map[string]string // every member's id → address, including this node
	Heartbeat       time.Duration     // leader heartbeat interval
	ElectionTimeout time.Duration     // T: election timers are drawn from [T, 2T)
	Storage         HardStateStore    // durable term and vote
	Log             *segmentlog.Log   // durable log entries
	Transport       Transport         // outbound peer messages
	Faults          *netlink.Faults   // injected network faults, shared with the transport and server
	Logger          *slog.Logger      // role and term changes are logged here
	Seed            uint64            // seeds election-timer randomness; 0 picks one
	// Snapshots keeps snapshots of the state machine; nil: a restart
	// replays the whole log.
	Snapshots SnapshotStore
	// SnapshotEvery is how many applied entries separate snapshots; 0
	// means defaultSnapshotEvery.
	SnapshotEvery uint64
}

// Node is the runtime around the pure core: one goroutine owns the core and
// the state machine and runs the loop receive → send the leader's MsgApps
// → queue the writes → apply → answer → advance, while a persister
// goroutine writes and syncs the log and hard state, sends what had to wait
// for that, and reports back (StableTo).
type Node struct {
	cfg  NodeConfig
	tick time.Duration // duration of one core tick
	core *raft.Raft    // owned by the Run goroutine
	// storage is the core's Storage, which persists Ready.Entries; owned
	// by the Run goroutine.
	storage *segmentStorage
	kv      *kvmap.Map  // owned by the Run goroutine
	snaps   snapshotter // snapshots of kv; owned by the Run goroutine
	logger  *slog.Logger

	recvc  chan raft.Message // peer messages for the loop
	kvc    chan *kvCall      // client requests for the loop
	adminc chan adminRequest // pause/resume for the loop

	clients clientState // pending client requests; owned by the Run goroutine
	role    raft.Role   // the role as of the last event handled; owned by the Run goroutine
	// durable is the term and vote last made durable, queuedHard the
	// ones last handed to the persister (Commit is not kept in either);
	// owned by the Run goroutine.
	durable, queuedHard raft.HardState
	// persister writes what Readys hand out; started and stopped by Run.
	persister *persister
	stall     diskStall    // the SLOW_DISK fault, read by the persister
	wire      entryEncoder // encodes the entries of one Ready's messages; owned by the Run goroutine

	snap atomic.Pointer[snapshot] // latest state, for Status from any goroutine

	// The Raft messages counted for the next MESSAGES event (traffic.go).
	traffic   trafficTable   // sent and stepped by the loop; owned by the Run goroutine
	lateSent  *sharedTraffic // sent by the persister
	trafficAt time.Time      // when the last MESSAGES event went out; owned by the Run goroutine

	mu   sync.Mutex                   // guards subs
	subs map[chan *pb.WatchEvent]bool // event watchers
}

// snapshot is the node's state as of the loop's last publication.
type snapshot struct {
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
}

type adminRequest struct {
	cmd   pb.AdminCommand
	reply chan error
}

// ErrStorage is wrapped by the error Run returns when the log or the hard
// state cannot be made durable; the node must stop rather than answer
// without it, and never retries a failed fsync.
var ErrStorage = errors.New("storage failed")

// NewNode restores the hard state and builds the core over the durable log.
func NewNode(cfg NodeConfig) (*Node, error) {
	if cfg.Heartbeat <= 0 || cfg.ElectionTimeout <= cfg.Heartbeat {
		return nil, fmt.Errorf("%w: election timeout %s must be above heartbeat %s", raft.ErrInvalidConfig, cfg.ElectionTimeout, cfg.Heartbeat)
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
	// The state machine lives in memory: a restart loads the newest
	// snapshot and the core hands out the committed entries after it.
	kv, err := restoreSnapshot(cfg.Snapshots, cfg.Log.LastIndex())
	if err != nil {
		return nil, err
	}
	storage := newSegmentStorage(cfg.Log)
	core, err := raft.New(raft.Config{
		ID:             cfg.ID,
		Peers:          peers,
		ElectionTicks:  int(cfg.ElectionTimeout / tick),
		HeartbeatTicks: int(cfg.Heartbeat / tick),
		Rand:           rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		HardState:      raft.HardState{Term: hs.Term, Vote: hs.Vote, Commit: min(hs.Commit, cfg.Log.LastIndex())},
		Applied:        kv.AppliedIndex(),
		Storage:        storage,
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
	others := otherMembers(cfg.Members, cfg.ID)
	n := &Node{
		cfg:        cfg,
		tick:       tick,
		core:       core,
		storage:    storage,
		kv:         kv,
		snaps:      newSnapshotter(cfg.Snapshots, cfg.SnapshotEvery, kv.AppliedIndex()),
		logger:     logger.With("node", cfg.ID),
		recvc:      make(chan raft.Message, recvQueue),
		kvc:        make(chan *kvCall, kvQueue),
		adminc:     make(chan adminRequest),
		clients:    newClientState(),
		durable:    raft.HardState{Term: hs.Term, Vote: hs.Vote},
		queuedHard: raft.HardState{Term: hs.Term, Vote: hs.Vote},
		subs:       map[chan *pb.WatchEvent]bool{},
		traffic:    newTrafficTable(others),
		lateSent:   &sharedTraffic{t: newTrafficTable(others)},
	}
	n.publishSnapshot(false, time.Now())
	n.logger.Info("restored", "term", hs.Term, "vote", hs.Vote, "snapshot_index", kv.AppliedIndex(), "first_index", cfg.Log.FirstIndex(), "last_index", cfg.Log.LastIndex())
	return n, nil
}

// Run drives the core until ctx is done. It returns a non-nil error only
// when the node cannot go on safely (storage failed). It may be called
// once.
func (n *Node) Run(ctx context.Context) error {
	ticker := time.NewTicker(n.tick)
	defer ticker.Stop()
	paused := false
	lastTick := time.Now()
	defer n.clients.failAll(pb.ErrorCode_TIMEOUT, "node stopping: the request may or may not have taken effect")
	n.persister = newPersister(n.storage, n.cfg.Storage, n.cfg.Transport, n.lateSent, &n.stall)
	go n.persister.run()
	// Stopped first, so that no write is under way when Run returns (the
	// caller closes the log then).
	defer n.persister.close()
	defer n.snaps.wait()
	for {
		var answer func() // replies to an admin request once its effect is visible
		publish := false  // refresh the status snapshot this round
		select {
		case <-ctx.Done():
			return nil
		case now := <-ticker.C:
			if !paused {
				n.core.Tick()
				lastTick = now
			}
			publish = true
			n.publishTraffic(now)
		case m := <-n.recvc:
			n.step(m, paused)
		case call := <-n.kvc:
			n.handleKV(call, paused)
		case w := <-n.persister.done:
			if err := n.written(w); err != nil {
				return err
			}
		case err := <-n.snaps.done:
			if err := n.snaps.finished(err); err != nil {
				n.logger.Warn("cannot save a snapshot; the log still holds everything", "err", err)
			}
		case req := <-n.adminc:
			var err error
			paused, err = n.admin(req.cmd, paused)
			lastTick = time.Now()
			publish = true
			answer = func() { req.reply <- err }
		}
		if err := n.drain(paused); err != nil {
			return err
		}
		// Committed entries come in bounded slices: loop until the core has
		// nothing left, so a backlog (a restart's replay) is not applied one
		// slice per tick.
		for n.core.HasReady() {
			rd := n.core.Ready()
			n.handleReady(rd, paused)
			n.core.Advance()
			// Role, term and vote changes (which always come with an
			// event) show at once; index progress shows at the next tick,
			// which keeps the hot path cheap.
			publish = publish || len(rd.Events) > 0
		}
		n.snaps.maybeStart(n.kv)
		if publish {
			n.publishSnapshot(paused, lastTick)
		}
		if answer != nil {
			answer()
		}
	}
}

// drain takes in what else is already queued, so that one Ready (and one
// write) covers all of it.
func (n *Node) drain(paused bool) error {
	for range drainBatch {
		select {
		case m := <-n.recvc:
			n.step(m, paused)
		case call := <-n.kvc:
			n.handleKV(call, paused)
		case w := <-n.persister.done:
			if err := n.written(w); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// written takes in a completed write: the core may read its entries from
// storage and count them durable, and its hard state is on disk. A failed
// write stops the node.
func (n *Node) written(w written) error {
	if w.err != nil {
		n.logger.Error("cannot persist; stopping", "err", w.err)
		return fmt.Errorf("%w: %w", ErrStorage, w.err)
	}
	// The core's view of the log changes only with a report it takes: a
	// stale one's entries are being replaced by a write still queued,
	// which reports them in its turn (raft/doc.go, step 1).
	if len(w.Entries) > 0 {
		if n.core.StableTo(w.Mark) {
			n.storage.stable(w.Entries)
		} else {
			n.storage.forget(w.Entries[0].Index)
		}
	}
	if w.SaveHard {
		n.durable = raft.HardState{Term: w.HardState.Term, Vote: w.HardState.Vote}
	}
	return nil
}

func (n *Node) step(m raft.Message, paused bool) {
	if paused {
		return
	}
	n.traffic.count(false, &m)
	if err := n.core.Step(m); err != nil {
		n.logger.Debug("dropped peer message", "from", m.From, "type", m.Type, "err", err)
	}
}

// handleReady carries out the Ready contract: send the leader's MsgApps,
// hand the entries, the hard state and the other messages to the
// persister, then apply committed entries and answer clients. A paused
// node still persists and applies but sends nothing.
func (n *Node) handleReady(rd raft.Ready, paused bool) {
	// The leader's MsgApps go at once, so that the followers write the
	// entries while the leader does (raft/doc.go, step 2).
	var late []raft.Message
	n.wire.reset()
	for _, m := range rd.Messages {
		switch {
		case paused:
		case raft.MayLeaveEarly(m, n.durable.Term):
			n.traffic.count(true, &m)
			n.cfg.Transport.Send(m.To, toWire(m, &n.wire))
		default:
			late = append(late, m)
		}
	}
	// Term and vote are saved when they change. The commit index is only a
	// hint for restarts (the log is replayed from the start anyway), so it
	// rides along with them rather than costing a file replacement and
	// three fsyncs per Ready.
	hs := rd.HardState
	saveHard := !hs.IsEmpty() && (hs.Term != n.queuedHard.Term || hs.Vote != n.queuedHard.Vote)
	if saveHard {
		n.queuedHard = raft.HardState{Term: hs.Term, Vote: hs.Vote}
	}
	n.persister.add(raft.WriteJob{Entries: rd.Entries, Mark: rd.Mark, HardState: hs, SaveHard: saveHard, Msgs: late})
	for _, e := range rd.CommittedEntries {
		n.apply(e)
	}
	for _, rs := range rd.ReadStates {
		n.clients.readConfirmed(rs.Ctx, rs.Index)
	}
	for _, ctx := range rd.DroppedReads {
		n.clients.readDropped(ctx, n.notLeader)
	}
	n.clients.answerReads(n.kv)
	for _, ev := range rd.Events {
		n.logEvent(ev)
		n.publish(n.eventToWire(ev))
		if ev.Kind != raft.EventRoleChanged {
			continue
		}
		if n.role == raft.RoleLeader && ev.Role != raft.RoleLeader {
			// Writes proposed as leader may still commit under the next
			// leader, or may be overwritten: the client must retry with
			// the same sequence number, which applies it at most once.
			// Events arrive after the requests of the same round, so
			// writes of a leadership won since (a later term) stay.
			n.clients.failWrites(ev.Term, pb.ErrorCode_TIMEOUT, "leadership lost before the write was applied: it may or may not take effect; retry with the same sequence")
		}
		n.role = ev.Role
	}
}

func (n *Node) logEvent(ev raft.Event) {
	switch ev.Kind {
	case raft.EventRoleChanged:
		n.logger.Info("role changed", "role", ev.Role.String(), "term", ev.Term)
	case raft.EventTermChanged:
		n.logger.Info("term changed", "term", ev.Term)
	case raft.EventLeaderChanged:
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

// publishSnapshot stores the state Status reports from other goroutines.
func (n *Node) publishSnapshot(paused bool, lastTick time.Time) {
	tail := n.core.LogTail(logTailLen)
	n.snap.Store(&snapshot{
		status:   n.core.Status(),
		terms:    n.core.LogTermRuns(logTermsLen),
		digest:   n.kv.Digest(),
		paused:   paused,
		lastTick: lastTick,
		tail:     sync.OnceValue(func() []*pb.LogEntry { return tailToWire(tail) }),
	})
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

// Admin pauses or resumes the node, or sets or heals network and disk
// faults.
func (n *Node) Admin(ctx context.Context, req *pb.AdminRequest) *pb.AdminResponse {
	switch req.GetCommand() {
	case pb.AdminCommand_SLOW_DISK, pb.AdminCommand_PARTITION, pb.AdminCommand_HEAL, pb.AdminCommand_ISOLATE, pb.AdminCommand_DELAY:
		changed, err := n.fault(req)
		if err != nil {
			return &pb.AdminResponse{Error: err.Error()}
		}
		n.logger.Info("fault", "change", changed)
		n.publish(&pb.WatchEvent{Kind: pb.WatchEvent_FAULT_CHANGED, NodeId: n.cfg.ID, UnixMs: time.Now().UnixMilli(), Reason: changed})
		return &pb.AdminResponse{Ok: true, Status: n.Status()}
	}
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

// fault sets or heals an injected fault and says what changed. Network
// faults live in the transport and server, the disk stall in the
// persister; none passes through the Raft loop. HEAL undoes all of them.
func (n *Node) fault(req *pb.AdminRequest) (string, error) {
	cmd := req.GetCommand()
	if cmd == pb.AdminCommand_SLOW_DISK {
		stall := time.Duration(req.GetStallMs()) * time.Millisecond
		if err := n.stall.set(stall); err != nil {
			return "", err
		}
		if stall == 0 {
			return "disk stall cleared", nil
		}
		return "disk syncs stall " + stall.String(), nil
	}
	var changes []string
	switch {
	case n.cfg.Faults != nil:
		changed, err := n.cfg.Faults.Apply(req)
		if err != nil {
			return "", err
		}
		changes = append(changes, changed)
	case cmd != pb.AdminCommand_HEAL:
		return "", errors.New("network faults are not available on this node")
	}
	if cmd == pb.AdminCommand_HEAL {
		if n.stall.get() > 0 {
			changes = append(changes, "disk stall cleared")
		}
		_ = n.stall.set(0) // 0 is always in range
	}
	if len(changes) == 0 {
		changes = append(changes, "healed")
	}
	return strings.Join(changes, "; "), nil
}

// Subscribe returns a channel of events for one watcher and a function that
// ends the subscription. Besides the core's events, it carries a MESSAGES
// event at most every trafficWindow, when Raft messages were sent or
// stepped since the last one.
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
