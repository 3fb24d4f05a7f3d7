package raftnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/easykv/easykv/internal/stagetrace"
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
	HardState       HardStateStore    // durable term and vote
	Log             LogStore          // durable log entries
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
	// SnapshotMargin is how many entries below a snapshot's index the log
	// keeps after compacting, so that a follower a little behind catches
	// up from the log rather than from a snapshot.
	SnapshotMargin uint64
	// Join: this node is not in Members, the initial configuration (it
	// was added later, or lost its data and was added again): it waits to
	// learn its configuration from the leader.
	Join bool
	// Observer is told how long disk writes and snapshots take and how
	// requests end, for metrics; nil tells nobody.
	Observer Observer
}

// Node is the runtime around the pure core: one goroutine (Run) owns the
// core and runs the loop receive → send the leader's MsgApps → queue the
// writes → apply → answer → advance, while a persister goroutine writes
// and syncs the log and hard state, sends what had to wait for that, and
// reports back (StableTo). Around the loop, each responsibility has its
// own part: the KV service serves clients and the state machine, the
// publisher hands status and events to watchers, the snapshotter saves
// the state machine, and faults live in the fault set.
type Node struct {
	cfg    NodeConfig
	tick   time.Duration // duration of one core tick
	logger *slog.Logger

	recvc  chan raft.Message // peer messages for the loop
	adminc chan adminRequest // pause/resume for the loop
	// backupc asks the loop for a copy of the state machine (Backup).
	backupc chan chan backupAnswer
	// refollow asks the loop to make the peers follow the address book
	// again: LearnPeerAddr added a peer.
	refollow chan struct{}

	kv    *kvService // clients and the state machine
	addrs *addrBook  // member addresses, following the configuration
	// confWaits are membership changes proposed here, answered when
	// applied; transfer is a leadership transfer under way. Loop-owned.
	confWaits []confWait
	transfer  *transferWait
	// curMembers is the configuration in effect, prevMembers the one
	// before while curMembers is not committed: the transport keeps
	// links to both.
	curMembers, prevMembers raft.Membership
	pub                     *publisher // status and events for watchers
	faults                  *faultSet  // injected faults, set by Admin from any goroutine
	// sender streams snapshots to followers, receiver takes them from the
	// leader (InstallSnapshot); snapMu serializes their and the
	// snapshotter's writes to the snapshot store.
	sender   *snapshotSender
	receiver *snapshotReceiver
	snapMu   sync.Mutex
	// pausedNow mirrors paused for the goroutines that take snapshot
	// chunks: a paused node drops Raft traffic, chunks included.
	pausedNow atomic.Bool
	// slowNow is the SLOW_MOTION factor (0 or 1: normal speed) and heldNow
	// whether HOLD_TIMER is in effect, for Status and the tick interval.
	slowNow atomic.Int64
	heldNow atomic.Bool

	// Owned by the Run goroutine:
	core *raft.Raft
	log  *coreLog // the core's view of the log; the persister writes it
	// persister writes what Readys hand out; started and stopped by Run.
	persister *persister
	snaps     snapshotter  // snapshots of the state machine
	wire      entryEncoder // encodes the entries of one Ready's messages
	role      raft.Role    // the role as of the last event handled
	// durable is the term and vote last made durable, queuedHard the
	// ones last handed to the persister (Commit is not kept in either).
	durable, queuedHard raft.HardState
	paused              bool         // an admin pause is in effect: no ticks, no Raft traffic
	ticker              *time.Ticker // the core's tick, slowed by SLOW_MOTION
	lastTick            time.Time    // when the core last ticked
	// installing is the snapshot received whole whose MsgSnap the core is
	// stepping: a Ready that installs it takes its state machine.
	installing *receivedSnapshot
}

type adminRequest struct {
	req   *pb.AdminRequest
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
	hs, err := cfg.HardState.Load()
	if err != nil {
		return nil, err
	}
	tick := max(cfg.Heartbeat/ticksPerHeartbeat, time.Millisecond)
	peers := sortedIDs(cfg.Members)
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	// The state machine lives in memory: a restart loads the newest
	// snapshot and the core hands out the committed entries after it.
	sm, snap, err := restoreSnapshot(cfg.Snapshots, cfg.Log)
	if err != nil {
		return nil, err
	}
	snap.Membership = snapshotMembership(sm)
	if sm.Config() == nil && !cfg.Join {
		// Snapshots carry the configuration; the first ones carry the
		// initial configuration too, so that a node that only ever sees
		// a snapshot (a joining one) knows every member.
		sm.SetConfig(raft.EncodeMembership(initialMembership(cfg.Members)))
	}
	obs := cfg.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	log := newCoreLog(cfg.Log, snap, obs)
	core, err := raft.New(raft.Config{
		ID:             cfg.ID,
		Peers:          peers,
		Join:           cfg.Join,
		ElectionTicks:  int(cfg.ElectionTimeout / tick),
		HeartbeatTicks: int(cfg.Heartbeat / tick),
		Rand:           rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		HardState:      raft.HardState{Term: hs.Term, Vote: hs.Vote, Commit: min(hs.Commit, log.LastIndex())},
		Applied:        sm.AppliedIndex(),
		Log:            log,
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
		cfg:        cfg,
		tick:       tick,
		logger:     logger.With("node", cfg.ID),
		recvc:      make(chan raft.Message, recvQueue),
		adminc:     make(chan adminRequest),
		backupc:    make(chan chan backupAnswer),
		refollow:   make(chan struct{}, 1),
		addrs:      newAddrBook(cfg.Members),
		pub:        newPublisher(cfg.ID, cfg.Members, obs),
		faults:     &faultSet{network: cfg.Faults},
		core:       core,
		log:        log,
		durable:    raft.HardState{Term: hs.Term, Vote: hs.Vote},
		queuedHard: raft.HardState{Term: hs.Term, Vote: hs.Vote},
	}
	n.kv = newKVService(cfg.ID, n.addrs, core, sm, obs)
	n.curMembers, _ = core.Membership()
	n.followMembers(n.curMembers)
	n.snaps = newSnapshotter(cfg.Snapshots, cfg.Log, &n.snapMu, cfg.SnapshotEvery, cfg.SnapshotMargin, sm.AppliedIndex())
	// A transfer that makes no progress for a few election timeouts has
	// met a follower that is gone or cut off: the core tries again later.
	n.sender = newSnapshotSender(cfg.ID, cfg.Snapshots, cfg.Transport, n.logger, max(5*cfg.ElectionTimeout, 2*time.Second), n.pausedNow.Load, n.pub.lateSent)
	n.receiver = newSnapshotReceiver(cfg.ID, cfg.Snapshots, &n.snapMu, cfg.Transport, n.logger, n.pub.lateSent)
	n.publishStatus()
	n.logger.Info("restored", "term", hs.Term, "vote", hs.Vote, "snapshot_index", snap.Index, "snapshot_term", snap.Term, "first_index", log.FirstIndex(), "last_index", log.LastIndex())
	return n, nil
}

// Run drives the core until ctx is done. It returns a non-nil error only
// when the node cannot go on safely (storage failed). It may be called
// once.
func (n *Node) Run(ctx context.Context) error {
	n.ticker = time.NewTicker(n.tickEvery())
	defer n.ticker.Stop()
	n.lastTick = time.Now()
	defer n.kv.pending.failAll(pb.ErrorCode_TIMEOUT, "node stopping: the request may or may not have taken effect")
	n.persister = newPersister(n.cfg.ID, n.log, n.cfg.HardState, n.cfg.Transport, n.pub.lateSent, &n.faults.disk, n.sender.start)
	go n.persister.run()
	// Stopped first, so that no write is under way when Run returns (the
	// caller closes the log then).
	defer n.persister.close()
	defer n.snaps.wait()
	defer n.sender.close()
	defer n.receiver.close()
	for {
		var answer func() // replies to an admin request once its effect is visible
		publish := false  // refresh the status view this round
		select {
		case <-ctx.Done():
			return nil
		case now := <-n.ticker.C:
			if !n.paused {
				n.core.Tick()
				n.lastTick = now
			}
			publish = true
			n.pub.publishTraffic(now)
		case m := <-n.recvc:
			n.step(m)
		case call := <-n.kv.calls:
			n.kv.serve(call, n.paused)
		case w := <-n.persister.done:
			if err := n.takeWrite(w); err != nil {
				return err
			}
		case saved := <-n.snaps.done:
			n.snapshotSaved(saved)
			publish = true
		case rep := <-n.sender.reports:
			n.snapshotSent(rep)
		case in := <-n.receiver.installs:
			n.install(in)
		case reply := <-n.backupc:
			reply <- n.takeBackup()
		case <-n.refollow:
			n.followMembers(n.curMembers, n.prevMembers)
		case req := <-n.adminc:
			err, later := n.admin(req)
			n.lastTick = time.Now()
			publish = true
			if !later {
				answer = func() { req.reply <- err }
			}
		}
		if err := n.drain(); err != nil {
			return err
		}
		// Committed entries come in bounded slices: loop until the core has
		// nothing left, so a backlog (a restart's replay) is not applied one
		// slice per tick.
		for n.core.HasReady() {
			rd := n.core.Ready()
			n.handleReady(&rd)
			n.core.Advance()
			// Role, term and vote changes (which always come with an
			// event) show at once; index progress shows at the next tick,
			// which keeps the hot path cheap.
			publish = publish || len(rd.Events) > 0
		}
		n.installing = nil // a snapshot the core did not install goes
		if applied := n.kv.sm.AppliedIndex(); n.snaps.due(applied) {
			if t, err := n.log.Term(applied); err == nil {
				n.snaps.maybeStart(n.kv.sm, t)
			}
		}
		if publish {
			n.publishStatus()
		}
		if answer != nil {
			answer()
		}
	}
}

// drain takes in what else is already queued, so that one Ready (and one
// write) covers all of it.
func (n *Node) drain() error {
	for range drainBatch {
		select {
		case m := <-n.recvc:
			n.step(m)
		case call := <-n.kv.calls:
			n.kv.serve(call, n.paused)
		case w := <-n.persister.done:
			if err := n.takeWrite(w); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// takeWrite takes in a completed write: the core may read its entries
// from the log and count them durable, and its hard state is on disk. A
// failed write stops the node.
func (n *Node) takeWrite(w completedWrite) error {
	if w.err != nil {
		n.logger.Error("cannot persist; stopping", "err", w.err)
		return fmt.Errorf("%w: %w", ErrStorage, w.err)
	}
	// The core's view of the log changes only with a report it takes: a
	// stale one's entries are being replaced by a write still queued,
	// which reports them in its turn (raft/doc.go, step 1).
	if !w.Snapshot.IsEmpty() {
		// The log on disk restarts after the snapshot now, whether or not
		// the core takes the report: a later install replaced it if not.
		n.log.installed(w.Snapshot)
	}
	if len(w.Entries) > 0 || !w.Snapshot.IsEmpty() {
		switch {
		case n.core.StableTo(w.Mark):
			n.log.stable(w.Entries)
		case len(w.Entries) > 0:
			n.log.forget(w.Entries[0].Index)
		}
	}
	if w.SaveHard {
		n.durable = raft.HardState{Term: w.HardState.Term, Vote: w.HardState.Vote}
	}
	return nil
}

// step hands a peer's message to the core; a paused node drops it.
func (n *Node) step(m raft.Message) {
	if n.paused {
		return
	}
	n.pub.traffic.count(false, &m)
	n.pub.tracer.received(&m)
	if stagetrace.Enabled() {
		traceStep(n.cfg.ID, &m)
	}
	if err := n.core.Step(m); err != nil {
		n.logger.Debug("dropped peer message", "from", m.From, "type", m.Type, "err", err)
	}
}

// handleReady carries out the Ready contract: send the leader's MsgApps,
// hand the entries, the hard state and the other messages to the
// persister, then apply committed entries and answer clients. A paused
// node still persists and applies but sends nothing.
func (n *Node) handleReady(rd *raft.Ready) {
	// The leader's MsgApps go at once, so that the followers write the
	// entries while the leader does (raft/doc.go, step 2).
	var late []raft.Message
	n.wire.reset()
	tracing := stagetrace.Enabled()
	if tracing && n.role == raft.RoleLeader {
		traceReady(n.cfg.ID, rd)
	}
	for _, m := range rd.Messages {
		switch {
		case n.paused:
		case raft.MayLeaveEarly(m, n.durable.Term):
			n.pub.traffic.count(true, &m)
			n.pub.tracer.sent(&m)
			n.cfg.Transport.Send(m.To, toWire(m, &n.wire))
			if tracing && len(m.Entries) > 0 {
				stagetrace.Watermark(stagetrace.AppSent, n.cfg.ID, lastIndex(m.Entries))
			}
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
	if !rd.Snapshot.IsEmpty() {
		n.takeSnapshot(rd.Snapshot)
	}
	n.persister.add(raft.WriteJob{Snapshot: rd.Snapshot, Entries: rd.Entries, Mark: rd.Mark, HardState: hs, SaveHard: saveHard, Msgs: late})
	n.kv.took(rd)
	n.kv.obs.ProposalsPending(len(n.kv.pending.writes))
	n.appliedConfigs(rd)
	for _, ev := range rd.Events {
		if ev.Kind == raft.EventLeaderChanged {
			n.kv.obs.LeaderChanged()
		}
		n.logEvent(ev)
		n.pub.publish(n.eventToWire(ev))
		n.membershipEvent(ev)
		if ev.Kind != raft.EventRoleChanged {
			continue
		}
		if n.role == raft.RoleLeader && ev.Role != raft.RoleLeader {
			// Writes proposed as leader may still commit under the next
			// leader, or may be overwritten: the client must retry with
			// the same sequence number, which applies it at most once.
			// Events arrive after the requests of the same round, so
			// writes of a leadership won since (a later term) stay.
			n.kv.pending.failWrites(ev.Term, pb.ErrorCode_TIMEOUT, "leadership lost before the write was applied: it may or may not take effect; retry with the same sequence")
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
	case raft.EventLostEntries:
		n.logger.Warn(ev.Peer+" lost entries it acknowledged: its data is gone", "peer", ev.Peer, "acknowledged", ev.Index, "detail", ev.Reason)
	}
}

// admin pauses or resumes the loop, or starts a membership change or a
// leadership transfer, whose answer comes later (later is true).
func (n *Node) admin(r adminRequest) (err error, later bool) {
	switch cmd := r.req.GetCommand(); cmd {
	case pb.AdminCommand_MEMBER_ADD, pb.AdminCommand_MEMBER_PROMOTE, pb.AdminCommand_MEMBER_REMOVE:
		return n.changeMembership(r.req, r.reply)
	case pb.AdminCommand_TRANSFER_LEADER:
		return n.transferLeadership(r.req, r.reply)
	case pb.AdminCommand_SLOW_MOTION, pb.AdminCommand_FIRE_TIMER, pb.AdminCommand_HOLD_TIMER, pb.AdminCommand_RELEASE_TIMER:
		return n.timerAdmin(r.req), false
	case pb.AdminCommand_PAUSE:
		if !n.paused {
			n.logger.Info("paused: timers stopped, raft traffic dropped")
			n.pub.notice(pb.WatchEvent_PAUSED, "")
		}
		n.paused = true
	case pb.AdminCommand_RESUME:
		if n.paused {
			n.logger.Info("resumed")
			n.pub.notice(pb.WatchEvent_RESUMED, "")
		}
		n.paused = false
	default:
		return fmt.Errorf("unknown admin command %s", cmd), false
	}
	n.pausedNow.Store(n.paused)
	return nil, false
}

// publishStatus stores the state Status reports from other goroutines.
func (n *Node) publishStatus() {
	tail := n.core.LogTail(logTailLen)
	n.pub.latest.Store(&statusView{
		status:   n.core.Status(),
		snap:     n.log.snap,
		first:    n.log.first,
		terms:    n.core.LogTermRuns(logTermsLen),
		digest:   n.kv.sm.Digest(),
		paused:   n.paused,
		lastTick: n.lastTick,
		tail:     sync.OnceValue(func() []*pb.LogEntry { return tailToWire(tail) }),
	})
}

// StepPeer queues a peer's message for the loop; it drops the message when
// the queue is full or the frame is not a valid Raft message.
func (n *Node) StepPeer(w *pb.RaftKvMessage) {
	switch w.GetType() {
	case pb.RaftKvMessage_INSTALL_SNAPSHOT, pb.RaftKvMessage_INSTALL_SNAPSHOT_RESPONSE:
		n.stepSnapshotFrame(w)
		return
	}
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
// faults. Pause and resume go through the loop; faults do not.
func (n *Node) Admin(ctx context.Context, req *pb.AdminRequest) *pb.AdminResponse {
	if isFault(req.GetCommand()) {
		changed, err := n.faults.apply(req)
		if err != nil {
			return &pb.AdminResponse{Error: err.Error()}
		}
		n.logger.Info("fault", "change", changed)
		n.pub.notice(pb.WatchEvent_FAULT_CHANGED, changed)
		return &pb.AdminResponse{Ok: true, Status: n.Status()}
	}
	r := adminRequest{req: req, reply: make(chan error, 1)}
	select {
	case n.adminc <- r:
	case <-ctx.Done():
		return &pb.AdminResponse{Error: ctx.Err().Error()}
	}
	select {
	case err := <-r.reply:
		if err != nil {
			return n.adminError(err)
		}
		return &pb.AdminResponse{Ok: true, Status: n.Status()}
	case <-ctx.Done():
		// The loop took the command: a membership change or transfer may
		// still happen.
		return &pb.AdminResponse{Error: ctx.Err().Error(), Uncertain: true}
	}
}

// adminError answers a failed admin command; one that needs the leader
// names it, so that a client can go there.
func (n *Node) adminError(err error) *pb.AdminResponse {
	resp := &pb.AdminResponse{Error: err.Error(), Uncertain: errors.Is(err, errChangeLost)}
	if errors.Is(err, raft.ErrNotLeader) {
		st := n.pub.latest.Load().status
		resp.LeaderId, resp.LeaderAddr = st.Leader, n.addrs.get(st.Leader)
	}
	return resp
}

// Subscribe returns a channel of events for one watcher and a function that
// ends the subscription. Besides the core's events, it carries a MESSAGES
// event at most every trafficWindow, when Raft messages were sent or
// stepped since the last one.
func (n *Node) Subscribe() (<-chan *pb.WatchEvent, func()) {
	return n.pub.subscribe()
}
