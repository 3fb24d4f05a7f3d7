package stagetrace

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Stage is a point a put passes on its way.
type Stage uint8

// The stages, in the order a put passes them. Request-keyed stages take a
// session key, watermark stages a log index.
const (
	ClientStart   Stage = iota // request: the caller is about to send it
	ClientEncoded              // request: encoded into the connection's buffer
	ServerDecoded              // request: read off the socket and decoded by the server
	LoopTook                   // request: the Raft loop took it and proposed it (Link follows)
	LeaderReady                // watermark: the leader's Ready carries the entry out of the core
	AppSent                    // watermark: an AppendEntries with the entry handed to the peer link
	PeerFlushed                // watermark: the leader's peer link wrote it to the socket
	PeerRead                   // watermark, follower's node: the follower's server read and decoded it
	FollowerGot                // watermark, follower's node: the follower's loop stepped that AppendEntries
	Durable                    // watermark, per node: the entry is durable (follower: its ack leaves now)
	AckGot                     // watermark, node = the follower that acked: the leader stepped its ack
	Committed                  // watermark: the leader's Ready commits the entry
	Applied                    // watermark: the leader applied the entry and answered its client
	ClientDone                 // request: the caller has the answer
	numStages
)

var stageNames = [numStages]string{
	"client-start", "client-encoded", "server-decoded", "loop-took", "leader-ready", "app-sent",
	"peer-flushed", "peer-read", "follower-got", "durable", "ack-got", "committed", "applied", "client-done",
}

func (s Stage) String() string {
	if s < numStages {
		return stageNames[s]
	}
	return "stage?"
}

// Key is a request's session key: client id and sequence number.
func Key(clientID, seq uint64) uint64 { return clientID<<40 | seq&(1<<40-1) }

// event is one call of Request, Watermark or Link.
type event struct {
	stage Stage
	link  bool   // a Link: key is the request, index its log index
	node  string // the node it happened on ("" for the client)
	key   uint64 // session key or log index
	index uint64 // Link only
	at    time.Duration
}

// Trace records the events of one run, from Start to Stop.
type Trace struct {
	since  func() time.Duration // time since Start; a test's clock in tests
	mu     sync.Mutex
	events []event
}

var active atomic.Pointer[Trace]

// Start begins a trace; the events of every goroutine go to it until Stop.
// One trace runs at a time: a second Start replaces the first.
func Start() *Trace {
	start := time.Now()
	t := &Trace{since: func() time.Duration { return time.Since(start) }}
	active.Store(t)
	return t
}

// Stop ends the trace; events after it are not recorded.
func (t *Trace) Stop() { active.CompareAndSwap(t, nil) }

func (t *Trace) add(e event) {
	t.mu.Lock()
	// Taken under the lock, so the events are in time order.
	e.at = t.since()
	t.events = append(t.events, e)
	t.mu.Unlock()
}

// Request records that the request with the session key reached stage on
// node ("" on the client).
func Request(stage Stage, node string, key uint64) {
	if t := active.Load(); t != nil {
		t.add(event{stage: stage, node: node, key: key})
	}
}

// Watermark records that on node every entry up to index reached stage.
func Watermark(stage Stage, node string, index uint64) {
	if t := active.Load(); t != nil && index > 0 {
		t.add(event{stage: stage, node: node, key: index})
	}
}

// Link records that the request with the session key was proposed at
// index.
func Link(key, index uint64) {
	if t := active.Load(); t != nil {
		t.add(event{link: true, key: key, index: index})
	}
}

// Enabled says whether a trace is running, for a caller that must compute
// a watermark before recording it.
func Enabled() bool { return active.Load() != nil }

// Part is one stretch of a put's way between two stages, each on the
// leader (or the client) or on the follower whose ack came first.
type Part struct {
	Name                     string
	From, To                 Stage
	FromFollower, ToFollower bool
}

// Parts are the stretches Follow measures, in the order a put passes them.
// The leader's write runs alongside the replication parts; commit starts
// from whichever of it and the first ack came later.
var Parts = []Part{
	{Name: "client encode", From: ClientStart, To: ClientEncoded},
	{Name: "socket + server decode", From: ClientEncoded, To: ServerDecoded},
	{Name: "hand-off to the Raft loop", From: ServerDecoded, To: LoopTook},
	{Name: "Raft loop to Ready", From: LoopTook, To: LeaderReady},
	{Name: "AppendEntries out", From: LeaderReady, To: AppSent},
	{Name: "leader write + fsync (parallel)", From: LeaderReady, To: Durable},
	{Name: "peer link queue + flush", From: AppSent, To: PeerFlushed},
	{Name: "socket + follower decode", From: PeerFlushed, To: PeerRead, ToFollower: true},
	{Name: "hand-off to follower loop", From: PeerRead, To: FollowerGot, FromFollower: true, ToFollower: true},
	{Name: "follower write + fsync", From: FollowerGot, To: Durable, FromFollower: true, ToFollower: true},
	{Name: "ack back to leader loop", From: Durable, To: AckGot, FromFollower: true, ToFollower: true},
	{Name: "commit", From: AckGot, To: Committed, FromFollower: true},
	{Name: "apply and answer", From: Committed, To: Applied},
	{Name: "reply to client", From: Applied, To: ClientDone},
}

// Put is the stages of one traced put: when it reached each.
type Put struct {
	Index    uint64
	Leader   [numStages]time.Duration // on the leader, or the client
	Follower [numStages]time.Duration // on the follower whose ack came first
}

// Durations is how long each of Parts took for p.
func (p Put) Durations() []time.Duration {
	at := func(s Stage, onFollower bool) time.Duration {
		if onFollower {
			return p.Follower[s]
		}
		return p.Leader[s]
	}
	d := make([]time.Duration, len(Parts))
	for i, part := range Parts {
		from := at(part.From, part.FromFollower)
		if part.To == Committed {
			// A quorum needs the leader's own write as well as the ack.
			from = max(from, p.Leader[Durable])
		}
		d[i] = at(part.To, part.ToFollower) - from
	}
	return d
}

// Follow rebuilds the way of every traced put that was proposed on leader
// and completed every stage. A put whose index some stage never reached
// (the trace stopped first) is left out.
func (t *Trace) Follow(leader string) []Put {
	t.mu.Lock()
	events := slices.Clone(t.events)
	t.mu.Unlock()

	requests := map[uint64]*[numStages]time.Duration{} // by session key
	index := map[uint64]uint64{}                       // session key → log index
	marks := map[markKey]*watermarks{}
	for _, e := range events {
		switch {
		case e.link:
			index[e.key] = e.index
		case slices.Contains(requestStages, e.stage):
			at := requests[e.key]
			if at == nil {
				at = new([numStages]time.Duration)
				requests[e.key] = at
			}
			at[e.stage] = e.at
		default:
			k := markKey{e.node, e.stage}
			w := marks[k]
			if w == nil {
				w = &watermarks{}
				marks[k] = w
			}
			w.add(e.key, e.at)
		}
	}
	// reached fills at with when node first covered index i in each of
	// stages, and says whether it did in all of them.
	reached := func(node string, i uint64, at *[numStages]time.Duration, stages ...Stage) bool {
		for _, s := range stages {
			w := marks[markKey{node, s}]
			if w == nil {
				return false
			}
			var ok bool
			if at[s], ok = w.first(i); !ok {
				return false
			}
		}
		return true
	}
	followers := map[string]bool{}
	for k := range marks {
		if k.node != leader {
			followers[k.node] = true
		}
	}

	var puts []Put
	for key, at := range requests {
		i, ok := index[key]
		if !ok || !complete(at) {
			continue
		}
		p := Put{Index: i, Leader: *at}
		if !reached(leader, i, &p.Leader, LeaderReady, AppSent, PeerFlushed, Durable, Committed, Applied) {
			continue
		}
		// The follower whose ack came first is the one the commit waited for.
		found := false
		for f := range followers {
			var times [numStages]time.Duration
			if !reached(f, i, &times, AckGot, PeerRead, FollowerGot, Durable) {
				continue
			}
			if !found || times[AckGot] < p.Follower[AckGot] {
				found, p.Follower = true, times
			}
		}
		if found {
			puts = append(puts, p)
		}
	}
	slices.SortFunc(puts, func(a, b Put) int { return int(a.Leader[ClientStart] - b.Leader[ClientStart]) })
	return puts
}

// complete says whether a request reached every request-keyed stage.
func complete(at *[numStages]time.Duration) bool {
	for _, s := range requestStages {
		if at[s] == 0 {
			return false
		}
	}
	return true
}

// requestStages are the stages keyed by the request's session.
var requestStages = []Stage{ClientStart, ClientEncoded, ServerDecoded, LoopTook, ClientDone}

// markKey names one node's marks of one stage.
type markKey struct {
	node  string
	stage Stage
}

// watermarks are one node's marks of one stage, in time order.
type watermarks struct {
	high []uint64 // the highest index marked so far, at each mark
	at   []time.Duration
}

func (w *watermarks) add(index uint64, at time.Duration) {
	if n := len(w.high); n > 0 {
		index = max(index, w.high[n-1])
	}
	w.high = append(w.high, index)
	w.at = append(w.at, at)
}

// first is the time of the first mark that covered index.
func (w *watermarks) first(index uint64) (time.Duration, bool) {
	i, _ := slices.BinarySearch(w.high, index)
	if i == len(w.high) {
		return 0, false
	}
	return w.at[i], true
}
