package netlink

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// Errors of a ClusterClient call, matched with errors.Is. The first three
// are the kinds of failure and are distinct: an ErrUncertain error does not
// match ErrNoLeader. ErrRetryWindow is not a fourth kind but a cause that
// comes with ErrNoLeader or ErrUncertain.
var (
	// ErrNoLeader: the deadline passed (or ctx was cancelled) before any
	// node could serve the call. For a write it also means the write was
	// not applied: it was never sent (dial failure) or every node that got
	// it refused it without proposing it (NOT_LEADER, PAUSED). That relies
	// on the nodes' contract: a write a node proposed and then lost track
	// of (leadership lost, node stopping) is answered TIMEOUT, never
	// NOT_LEADER or PAUSED. Wrapped with ctx's error and the last error.
	ErrNoLeader = errors.New("no leader reachable")
	// ErrUncertain: a write ran out of time after at least one attempt may
	// have reached a leader (it was sent and not answered, or answered
	// TIMEOUT or UNAVAILABLE). The write may or may not have been applied,
	// and may still be applied later. Wrapped like ErrNoLeader.
	ErrUncertain = errors.New("write may or may not have been applied")
	// ErrRejected: a node refused the request itself (BAD_REQUEST,
	// UNAUTHENTICATED, an unknown error code, a refused handshake, a request
	// too large to send). Returned at once, never retried; wrapped with the
	// node and its message.
	ErrRejected = errors.New("request rejected")
	// ErrRetryWindow: a write stopped retrying because it reached its
	// retry window (WriteRetryWindow, WriteRetryEntries) before ctx ended.
	// It stands in the error where ctx's error would, wrapped by
	// ErrUncertain when an attempt may have been applied and by ErrNoLeader
	// otherwise.
	ErrRetryWindow = errors.New("write retry window passed")
)

// The bound on a write's retries. A node applies a retried write once only
// while the write's session lives: nodes forget a session SessionLifetime
// log entries after they last applied one of its writes, and a retry that
// reaches the cluster later than that is applied a second time. So a
// ClusterClient stops retrying a write well inside that lifetime, whatever
// the call's ctx allows.
//
// The lifetime is counted in log indexes. A failed KV answer does not say
// where the cluster's log is (its index is set only on success), but a
// node's status does (commit and last index), so the client keeps two bounds
// and stops at the first it reaches:
//
//   - WriteRetryEntries, in entries. Before each retry of a write that may
//     already have been applied, the client asks the node it is about to
//     retry at for its status; the first answer's commit index is the base,
//     and no retry is sent once the node's log reaches more than
//     WriteRetryEntries past it. The write can only have been applied above
//     the commit index of the moment of its first attempt, and a retry can
//     only be appended at the end of the log of the node that receives it,
//     so two applied copies are at most WriteRetryEntries apart, plus what
//     the cluster appends between the first attempt and the first status
//     answer and between a status answer and the retry it lets through: the
//     session expires only if those two gaps hold 900,000 entries.
//   - WriteRetryWindow, in time. No retry is sent later than this after the
//     write's first attempt. This bounds those gaps, and is the whole bound
//     when no node answers a status request (nodes stopped, the client cut
//     off). At the measured peak of a 3-node cluster, about 7,500 writes/s
//     (README, Performance), 30 seconds is about 225,000 entries, under a
//     quarter of SessionLifetime; using it up within the window takes over
//     33,000 entries/s sustained, more than four times that peak.
//
// Reads are bounded by neither: they have no session and change nothing,
// so retrying one is always safe; only ctx bounds them.
const (
	// SessionLifetime is how many log entries a node keeps an unused
	// session (kvmap's default SessionTTL, which nodes do not change).
	SessionLifetime = 1_000_000
	// WriteRetryWindow is the longest a write keeps sending retries after
	// its first attempt; the call returns at the latest one AttemptTimeout
	// later.
	WriteRetryWindow = 30 * time.Second
	// WriteRetryEntries is how far, in log entries, the log of the node a
	// write is retried at may have grown past the write's start before the
	// write stops retrying: a tenth of SessionLifetime.
	WriteRetryEntries = 100_000
)

const (
	defaultCallTimeout    = 5 * time.Second
	defaultAttemptTimeout = time.Second
	// firstBackoff and maxBackoff bound the pause between attempts, which
	// doubles from the first to the second and is jittered so that many
	// clients do not retry in step.
	firstBackoff = 10 * time.Millisecond
	maxBackoff   = 200 * time.Millisecond
	// noLeader is ClusterClient.leader when no leader is known.
	noLeader = -1
)

// ClusterConfig configures a ClusterClient.
type ClusterConfig struct {
	Identity // cluster name, client name and auth token for every handshake
	// Nodes are the members known at the start (cluster.yaml's). A
	// NOT_LEADER answer that names a leader not among them, with its
	// address, adds it: members change.
	Nodes []NodeAddr
	// ClientID is the session id under which nodes deduplicate writes;
	// 0 picks a random one. Never give two ClusterClients the same id, nor
	// reuse one from an earlier ClusterClient: sequences restart at 1, so
	// its writes would be taken for retries of old ones and not applied.
	ClientID uint64
	// Timeout is the deadline of a call whose ctx has none; 0 → 5s. A write
	// stops retrying after WriteRetryWindow even when its deadline is later.
	Timeout time.Duration
	// AttemptTimeout bounds one try at one node (dial plus request), so a
	// stopped node (SIGSTOP, a hung disk) costs this much before the next
	// node is tried, not the whole deadline. 0 → 1s. Shorter means faster
	// failover but more retries of slow writes (harmless, they are
	// deduplicated).
	AttemptTimeout time.Duration
	Logger         *slog.Logger // retries at Debug level; nil → discard
	// Pool, when set, lends the connections: ClusterClients of one process
	// that share a pool share its few connections per node, and answers
	// that arrive together share reads and writes. nil: this client dials
	// its own connection to each node.
	Pool *ClientPool
	// Dial, when set, opens the connections instead (Pool is then unused):
	// for a caller that brings its own transport, such as the dashboard,
	// or a test. Each connection it returns is the client's until the
	// client finds it broken (Err) or is closed, and then closed by it.
	Dial func(ctx context.Context, node NodeAddr) (KVConn, error)
}

// KVConn is one connection to a node as a ClusterClient uses it; *Client
// satisfies it. Its dynamic type must be comparable (a pointer, say).
type KVConn interface {
	// KV sends one KV request and waits for its answer.
	KV(ctx context.Context, req *pb.KvRequest) (*pb.KvResponse, error)
	// Status asks the node for its status.
	Status(ctx context.Context) (*pb.NodeStatus, error)
	// Err is why the connection broke; nil while it works.
	Err() error
	// Close closes it.
	Close() error
}

// NodeAddr is one member of the cluster.
type NodeAddr struct {
	ID   string // member id, as in cluster.yaml and leader hints
	Addr string // host:port of its listener
}

// Result is the outcome of a successful call.
type Result struct {
	Value    string // GET: the value, "" when not found
	Found    bool   // GET: the key exists; PUT, DELETE: the key existed before the write
	NodeID   string // the node that answered
	Index    int64  // log index the write was applied at, or the index a read waited for
	Attempts int    // tries it took, 1 when the first node answered
	// Asked are the ids of the nodes tried, one per attempt, in order; the
	// last is the one that answered.
	Asked []string
}

// ClusterClient runs puts, gets and deletes against a cluster: it finds the
// leader, follows NOT_LEADER hints, and retries on other nodes until the
// call's deadline. It is safe for concurrent use; writes from one
// ClusterClient run one at a time (the cluster keeps one session slot per
// client id), reads run in parallel.
//
// A write keeps the same (client id, sequence) across its retries, so the
// cluster applies it once however often it is sent, for as long as the
// session lives: nodes forget a session SessionLifetime (1,000,000) log
// entries after they last applied one of its writes. A write therefore
// stops retrying, even when ctx allows more, once WriteRetryWindow (30 s)
// has passed since its first attempt or, if an attempt may have been
// applied, once the node it would retry at reports a log more than
// WriteRetryEntries (100,000) entries past the write's start (the client
// asks that node for its status before each such retry). It then returns
// ErrUncertain, or ErrNoLeader if no attempt can have been applied, with
// ErrRetryWindow as the cause. Reads are bounded by ctx only.
type ClusterClient struct {
	id             uint64                                                   // session id, never 0
	timeout        time.Duration                                            // Config.Timeout with its default
	attemptTimeout time.Duration                                            // Config.AttemptTimeout with its default
	identity       Identity                                                 // presented in every handshake
	pool           *ClientPool                                              // lends connections; nil: dial them
	dial           func(ctx context.Context, node NodeAddr) (KVConn, error) // Config.Dial; nil: pool or Dial
	log            *slog.Logger                                             // never nil
	nodes          atomic.Pointer[[]*nodeConn]                              // Config.Nodes, then learned leaders; replaced whole, only ever grown
	addMu          sync.Mutex                                               // serializes adding to nodes
	retryWindow    time.Duration                                            // WriteRetryWindow; a field for tests
	retryEntries   int64                                                    // WriteRetryEntries; a field for tests
	now            func() time.Time                                         // time.Now; tests run a fake clock

	writeSlot chan struct{} // holds a token while a write runs: a mutex that honours ctx
	seq       uint64        // last write sequence allocated; guarded by writeSlot

	leader atomic.Int32  // index in nodes of the last known leader, noLeader if none
	reqs   atomic.Uint64 // operations started, for request ids
	closed atomic.Bool   // Close was called
}

// nodeConn is one member and its lazily dialled connection.
type nodeConn struct {
	NodeAddr                // who it is
	mu       sync.Mutex     // guards c
	c        KVConn         // nil until dialled; replaced when its connection breaks
	cc       *ClusterClient // owner, for identity and the closed flag
}

// NewClusterClient checks cfg and returns a client; it connects lazily, on
// the first call.
func NewClusterClient(cfg ClusterConfig) (*ClusterClient, error) {
	if len(cfg.Nodes) == 0 {
		return nil, errors.New("cluster client: no nodes")
	}
	c := &ClusterClient{
		id:             cfg.ClientID,
		timeout:        cfg.Timeout,
		attemptTimeout: cfg.AttemptTimeout,
		identity:       cfg.Identity,
		pool:           cfg.Pool,
		dial:           cfg.Dial,
		log:            cfg.Logger,
		writeSlot:      make(chan struct{}, 1),
		retryWindow:    WriteRetryWindow,
		retryEntries:   WriteRetryEntries,
		now:            time.Now,
	}
	seen := make(map[string]bool, len(cfg.Nodes))
	nodes := make([]*nodeConn, 0, len(cfg.Nodes))
	for _, n := range cfg.Nodes {
		if n.ID == "" || n.Addr == "" {
			return nil, fmt.Errorf("cluster client: node %q at %q: id and address are required", n.ID, n.Addr)
		}
		if seen[n.ID] {
			return nil, fmt.Errorf("cluster client: duplicate node id %q", n.ID)
		}
		seen[n.ID] = true
		nodes = append(nodes, &nodeConn{NodeAddr: n, cc: c})
	}
	c.nodes.Store(&nodes)
	if c.timeout <= 0 {
		c.timeout = defaultCallTimeout
	}
	if c.attemptTimeout <= 0 {
		c.attemptTimeout = defaultAttemptTimeout
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for c.id == 0 {
		var b [8]byte
		rand.Read(b[:]) // never fails (crypto/rand panics rather)
		c.id = binary.LittleEndian.Uint64(b[:])
	}
	c.leader.Store(noLeader)
	return c, nil
}

// ClientID is the session id the client's writes carry.
func (c *ClusterClient) ClientID() uint64 { return c.id }

// HintLeader makes node id the one the next call tries first, as if a node
// had named it leader; an id the client does not know is ignored. For a
// caller that learns who leads by other means, such as the dashboard's
// status stream.
func (c *ClusterClient) HintLeader(id string) {
	if i := c.indexOf(func(n *nodeConn) bool { return n.ID == id }); i != noLeader {
		c.leader.Store(int32(i))
	}
}

// Leader is the id of the last known leader, "" when none is known.
func (c *ClusterClient) Leader() string {
	if i := c.leader.Load(); i != noLeader {
		return c.node(int(i)).ID
	}
	return ""
}

// known is the nodes the client knows now.
func (c *ClusterClient) known() []*nodeConn { return *c.nodes.Load() }

// node is known node i. Indexes stay valid, as nodes are only added, and
// one stored in leader was stored after its node was added, so loading the
// nodes after the index always finds it.
func (c *ClusterClient) node(i int) *nodeConn { return c.known()[i] }

// indexOf is the index of the first known node that match accepts, or
// noLeader.
func (c *ClusterClient) indexOf(match func(n *nodeConn) bool) int {
	for i, n := range c.known() {
		if match(n) {
			return i
		}
	}
	return noLeader
}

// learn adds the member id at addr, a leader some node named, and returns
// its index; the index of id when another call added it first.
func (c *ClusterClient) learn(id, addr string) int {
	c.addMu.Lock()
	defer c.addMu.Unlock()
	if i := c.indexOf(func(n *nodeConn) bool { return n.ID == id }); i != noLeader {
		return i
	}
	nodes := append(slices.Clip(c.known()), &nodeConn{NodeAddr: NodeAddr{ID: id, Addr: addr}, cc: c})
	c.nodes.Store(&nodes)
	c.log.Debug("learned a member", "node", id, "addr", addr)
	return len(nodes) - 1
}

// Put sets key to value. It returns once the write is committed and applied.
func (c *ClusterClient) Put(ctx context.Context, key, value string) (Result, error) {
	return c.write(ctx, &pb.KvRequest{OpType: pb.KvRequest_PUT, Key: key, Value: value})
}

// Delete removes key; Result.Found says whether it existed. A missing key is
// not an error.
func (c *ClusterClient) Delete(ctx context.Context, key string) (Result, error) {
	return c.write(ctx, &pb.KvRequest{OpType: pb.KvRequest_DELETE, Key: key})
}

// Get reads key; a missing key is Result{Found: false} and no error. The
// read is linearizable unless stale, in which case any node may answer from
// its own state, which can lag behind the leader.
func (c *ClusterClient) Get(ctx context.Context, key string, stale bool) (Result, error) {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	return c.do(ctx, &pb.KvRequest{OpType: pb.KvRequest_GET, Key: key, Stale: stale})
}

// Close closes every connection. Calls in flight fail; later calls return
// ErrClosed.
func (c *ClusterClient) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	var errs []error
	for _, n := range c.known() {
		n.mu.Lock()
		cl := n.c
		n.c = nil
		n.mu.Unlock()
		if cl != nil {
			if err := cl.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", n.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}

// withDeadline gives ctx the default timeout when it has no deadline.
func (c *ClusterClient) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// write takes the write slot, allocates the write's sequence number once and
// runs it; the slot is held across all retries.
func (c *ClusterClient) write(ctx context.Context, req *pb.KvRequest) (Result, error) {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	select {
	case c.writeSlot <- struct{}{}:
	case <-ctx.Done():
		// Nothing was sent.
		return Result{}, fmt.Errorf("%w: %w (waiting for this client's previous write)", ErrNoLeader, context.Cause(ctx))
	}
	defer func() { <-c.writeSlot }()
	c.seq++
	req.ClientId = c.id
	req.Sequence = c.seq
	return c.do(ctx, req)
}

// do sends req until a node answers it for good or ctx ends, or, for a
// write, until its retry window passes. It starts at the last known leader,
// follows NOT_LEADER hints, and otherwise moves round-robin through the
// nodes with a jittered backoff.
func (c *ClusterClient) do(ctx context.Context, req *pb.KvRequest) (Result, error) {
	if c.closed.Load() {
		return Result{}, ErrClosed
	}
	isWrite := req.GetOpType() != pb.KvRequest_GET
	req.RequestId = fmt.Sprintf("%016x-%d", c.id, c.reqs.Add(1))
	var (
		attempts int
		asked    []string         // the node of each attempt, for Result.Asked
		maybe    bool             // an attempt of this write may have been applied
		lastErr  error            // why the last attempt failed
		backoff  time.Duration    // pause before the next attempt
		hinted   bool             // the next attempt follows a fresh leader hint
		refused  = map[int]bool{} // nodes whose handshake refused us
		start    = c.now()        // a write's WriteRetryWindow runs from here
		// entries is a write's WriteRetryEntries bound, from the first
		// attempt after one that may have been applied.
		entries *entryWindow
	)
	next := int(c.leader.Load())
	if next == noLeader {
		next = 0
	}
	for {
		if attempts > 0 && !hinted {
			backoff = min(max(2*backoff, firstBackoff), maxBackoff)
			sleepUnless(ctx, nil, jitter(backoff))
		}
		if ctx.Err() != nil || c.closed.Load() {
			return Result{}, giveUp(stopped(ctx), isWrite && maybe, attempts, lastErr)
		}
		if isWrite && attempts > 0 {
			if waited := c.now().Sub(start); waited >= c.retryWindow {
				why := fmt.Errorf("%w: %v since the first attempt, window %v", ErrRetryWindow, waited, c.retryWindow)
				return Result{}, giveUp(why, maybe, attempts, lastErr)
			}
		}
		if isWrite && maybe && entries == nil {
			entries = &entryWindow{limit: c.retryEntries}
		}
		attempts++
		i := next
		n := c.node(i)
		asked = append(asked, n.ID)
		resp, sent, err := n.attempt(ctx, req, entries)
		// Only the first hop of a chain of hints skips the backoff, so
		// two nodes naming each other cannot make a busy loop.
		follow := hinted
		hinted = false
		if err != nil {
			if errors.Is(err, ErrRetryWindow) {
				// Stopped before sending: not an attempt.
				return Result{}, giveUp(err, maybe, attempts-1, lastErr)
			}
			if errors.Is(err, ErrFrameTooLarge) {
				return Result{}, c.rejected(isWrite && maybe, fmt.Errorf("%w by %s: %w", ErrRejected, n.ID, &AttemptError{Node: n.ID, Err: err}))
			}
			if errors.Is(err, ErrRefused) {
				// One misconfigured node must not block a healthy
				// majority: give up only when every node refused us.
				refused[i] = true
				if len(refused) == len(c.known()) {
					return Result{}, c.rejected(isWrite && maybe, fmt.Errorf("%w by every node, last %s: %w", ErrRejected, n.ID, &AttemptError{Node: n.ID, Err: err}))
				}
			}
			maybe = maybe || sent
			lastErr = fmt.Errorf("%s: %w", n.ID, &AttemptError{Node: n.ID, Err: err})
			c.leader.CompareAndSwap(int32(i), noLeader)
			next = c.after(i)
			c.log.Debug("kv attempt failed", "op", req.GetOpType().String(), "request_id", req.GetRequestId(), "node", n.ID, "attempt", attempts, "err", err)
			continue
		}
		code := resp.GetCode()
		switch outcome := CodeOutcome(code); {
		case outcome == Served:
			if isWrite || !req.GetStale() {
				c.leader.Store(int32(i))
			}
			res := Result{
				Value:    resp.GetValue(),
				Found:    code == pb.ErrorCode_OK && resp.GetFound(),
				NodeID:   resp.GetNodeId(),
				Index:    resp.GetIndex(),
				Attempts: attempts,
				Asked:    asked,
			}
			if res.NodeID == "" {
				res.NodeID = n.ID
			}
			return res, nil
		case outcome == Rejected:
			return Result{}, c.rejected(isWrite && maybe, fmt.Errorf("%w by %s: %w", ErrRejected, n.ID, &AttemptError{Node: n.ID, Resp: resp}))
		case outcome == Unknown:
			// A code from a newer node that this client does not know:
			// stop, and do not claim a write was not applied.
			return Result{}, c.rejected(isWrite, fmt.Errorf("%w by %s: unknown code %w", ErrRejected, n.ID, &AttemptError{Node: n.ID, Resp: resp}))
		case code == pb.ErrorCode_NOT_LEADER:
			// Refused before it was proposed (see ErrNoLeader): this
			// attempt applied nothing.
			if h := c.hint(resp); h != noLeader && h != i {
				c.leader.Store(int32(h))
				hinted = !follow
			} else {
				c.leader.CompareAndSwap(int32(i), noLeader)
			}
		default:
			// Refused without being proposed (PAUSED), or the node may have
			// proposed it and the outcome is unknown (Uncertain).
			maybe = maybe || outcome.MayHaveApplied()
			c.leader.CompareAndSwap(int32(i), noLeader)
		}
		next = c.after(i)
		lastErr = fmt.Errorf("%s: %w", n.ID, &AttemptError{Node: n.ID, Resp: resp})
		c.log.Debug("kv attempt refused", "op", req.GetOpType().String(), "request_id", req.GetRequestId(), "node", n.ID, "attempt", attempts, "code", code.String(), "leader_hint", resp.GetLeaderId())
	}
}

// after picks the node to try after node i failed: the leader if one is
// known (a hint, or another call's success), else the next in turn.
func (c *ClusterClient) after(i int) int {
	if l := int(c.leader.Load()); l != noLeader && l != i {
		return l
	}
	return (i + 1) % len(c.known())
}

// stopped is why a call stopped retrying: ctx's cause, or ErrClosed when
// ctx is still live and the client was closed.
func stopped(ctx context.Context) error {
	if why := context.Cause(ctx); why != nil {
		return why
	}
	return ErrClosed
}

// giveUp is the error of a call that stopped, for why, before any node
// served it: ErrUncertain when a write may have been applied, else
// ErrNoLeader.
func giveUp(why error, maybe bool, attempts int, last error) error {
	sentinel := ErrNoLeader
	if maybe {
		sentinel = ErrUncertain
	}
	if last == nil {
		return fmt.Errorf("%w: %w", sentinel, why)
	}
	return fmt.Errorf("%w: %w (after %d attempts; last: %w)", sentinel, why, attempts, last)
}

// rejected adds ErrUncertain to a rejection of a write that an earlier
// attempt may already have applied.
func (c *ClusterClient) rejected(maybe bool, err error) error {
	if maybe {
		return fmt.Errorf("%w: %w", ErrUncertain, err)
	}
	return err
}

// hint is the index of the leader a NOT_LEADER answer names, by id or else
// by address, or noLeader when it names none. A leader this client does
// not know, named with its address, is a member added since the client
// started: it learns it.
func (c *ClusterClient) hint(resp *pb.KvResponse) int {
	id, addr := resp.GetLeaderId(), resp.GetLeaderAddr()
	if id != "" {
		if i := c.indexOf(func(n *nodeConn) bool { return n.ID == id }); i != noLeader {
			return i
		}
		if addr != "" {
			return c.learn(id, addr)
		}
	}
	if addr != "" {
		return c.indexOf(func(n *nodeConn) bool { return n.Addr == addr })
	}
	return noLeader
}

// entryWindow is a write's WriteRetryEntries bound, kept across its
// attempts by do (one call, one goroutine).
type entryWindow struct {
	limit int64 // entries a node's log may grow past base before retries stop
	base  int64 // commit index of the first status answer
	based bool  // base is set
}

// admit checks the status of node, the node a retry is about to go to. The
// first answer's commit index becomes the base: the write was applied, if
// at all, above the commit index of the moment of its first attempt, which
// is below the base by at most what the cluster committed since
// (WriteRetryWindow bounds that). A retry is appended at the end of the log
// of the node that receives it, or not at all, so once that log is more
// than limit past the base, a retry could land too far from the write.
func (w *entryWindow) admit(node string, st *pb.NodeStatus) error {
	if !w.based {
		w.base, w.based = st.GetCommitIndex(), true
	}
	top := max(st.GetLastIndex(), st.GetCommitIndex())
	if top-w.base > w.limit {
		return fmt.Errorf("%w: %s's log is at index %d, %d entries past index %d where the retries began, window %d entries",
			ErrRetryWindow, node, top, top-w.base, w.base, w.limit)
	}
	return nil
}

// attempt sends req to the node once, within the attempt timeout. sent
// reports whether the request went out, so that the node may have acted on
// it even though err says otherwise. With entries (a retry of a write that
// may have been applied), the node's status is asked first, and the request
// is sent only if entries admits it: a node that does not answer gets
// nothing, and an error wrapping ErrRetryWindow means the window passed.
func (n *nodeConn) attempt(ctx context.Context, req *pb.KvRequest, entries *entryWindow) (resp *pb.KvResponse, sent bool, err error) {
	actx, cancel := context.WithTimeout(ctx, n.cc.attemptTimeout)
	defer cancel()
	cl, err := n.conn(actx)
	if err != nil {
		return nil, false, err
	}
	if entries != nil {
		st, err := cl.Status(actx)
		if err != nil {
			return nil, false, fmt.Errorf("status before a retry: %w", n.noAnswer(ctx, actx, err))
		}
		if err := entries.admit(n.ID, st); err != nil {
			return nil, false, err
		}
	}
	resp, err = cl.KV(actx, req)
	switch {
	case err == nil:
		return resp, true, nil
	case errors.Is(err, ErrFrameTooLarge):
		return nil, false, err // refused before anything was written
	default:
		return nil, true, n.noAnswer(ctx, actx, err)
	}
}

// noAnswer says so when err is the attempt timeout (actx) running out
// rather than the call's ctx.
func (n *nodeConn) noAnswer(ctx, actx context.Context, err error) error {
	if actx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("no answer within %v: %w", n.cc.attemptTimeout, err)
	}
	return err
}

// conn returns the node's connection, dialling a new one when there is none
// or it broke. The dial runs without the lock, so a slow node holds up
// neither other callers nor Close.
func (n *nodeConn) conn(ctx context.Context) (KVConn, error) {
	n.mu.Lock()
	cl := n.c
	n.mu.Unlock()
	if cl != nil && cl.Err() == nil {
		return cl, nil
	}
	fresh, err := n.dial(ctx)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	// Checked under n.mu: Close sets closed before it takes n.mu, so either
	// this sees it or Close sees fresh in n.c.
	if n.cc.closed.Load() {
		n.mu.Unlock()
		fresh.Close()
		return nil, ErrClosed
	}
	if cur := n.c; cur != nil && cur != cl && cur.Err() == nil {
		// Another call redialled meanwhile; keep one connection.
		n.mu.Unlock()
		fresh.Close()
		return cur, nil
	}
	old := n.c
	n.c = fresh
	n.mu.Unlock()
	if old != nil {
		old.Close() // already broken; this only reaps its reader
	}
	return fresh, nil
}

// dial opens a connection to the node: by Config.Dial, the pool, or Dial.
func (n *nodeConn) dial(ctx context.Context) (KVConn, error) {
	if n.cc.dial != nil {
		return n.cc.dial(ctx, n.NodeAddr)
	}
	dial := Dial
	if n.cc.pool != nil {
		dial = n.cc.pool.Dial
	}
	cl, err := dial(ctx, n.Addr, n.cc.identity)
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return cl, nil
}

// AttemptError is how one attempt at one node failed: the node's refusal,
// or the error that kept its answer from arriving. The errors of
// ClusterClient calls wrap the last one (find it with errors.As), so a
// caller can word the failure itself; its text is the code and message, or
// the error, without the node.
type AttemptError struct {
	Node string         // the node tried
	Resp *pb.KvResponse // its refusal; nil when Err is set
	Err  error          // the transport failure or timeout; nil when Resp is set
}

func (e *AttemptError) Error() string {
	if e.Resp != nil {
		return describe(e.Resp)
	}
	return e.Err.Error()
}

// Unwrap is Err, so errors.Is still finds the transport's errors.
func (e *AttemptError) Unwrap() error { return e.Err }

// describe is a refusal's code and message, for errors, without the
// advice a node gives client programs ("; retry with the same sequence",
// "; retry"): the client has followed it, and a person cannot act on it.
func describe(resp *pb.KvResponse) string {
	msg := resp.GetMessage()
	for _, advice := range []string{"; retry with the same sequence", "; retry"} {
		msg = strings.TrimSuffix(msg, advice)
	}
	if msg != "" {
		return resp.GetCode().String() + ": " + msg
	}
	return resp.GetCode().String()
}
