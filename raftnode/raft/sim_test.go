package raft

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Timing of simulated clusters, in ticks.
const (
	simElection  = 10 // T
	simHeartbeat = 1
)

// sim is a simulated cluster: cores joined by a message queue that can cut
// links, drop, delay and reorder messages, crash and restart nodes. It
// mirrors the runtime: a node sends the MsgApps of a Ready whose term is
// already durable, queues the Ready's writes and its other messages
// (WriteQueue, as the runtime's persister), applies the committed entries
// and advances. The disk is an actor too: a write completes in the
// runtime's steps — cut off a conflicting suffix and append the entries
// (fsync), save the hard state — then the messages that waited for it are
// sent and the core hears StableTo. With slowRate, writes take a while:
// messages are delivered and stepped, and more Readys taken, before they
// complete; with stallRate a node's disk stalls for whole ticks, so its
// writes finish late, across elections and leader changes, always in the
// order they were queued. With crashRate a node may crash after any
// durability step (part of an append, the hard-state save, a snapshot of
// its state machine) or before persisting a Ready; a crash loses
// everything not durable, and a restart rebuilds the core from exactly
// what the simulated disk holds (failing the run if the core refuses it).
// With snapEvery, nodes compact their logs, leaders send snapshots with
// their data over the network, and followers install them as a step of a
// write, which a crash may come before or after. After every Ready it
// checks the safety properties of the Raft paper's Figure 3, that every
// committed entry is durable on a quorum, that every node's applied
// sequence is a prefix of the one committed sequence, that every state
// machine (applied, restarted from a snapshot, or installed) is the
// reference one at its index, and that no leader reports lost entries for
// a node whose disk was not wiped, failing the test on a violation.
// Everything random comes from seeds, so a run is reproducible.
type sim struct {
	t     testing.TB          // fails the run
	seed  uint64              // seeds the network and every node
	rng   *rand.Rand          // network faults and delays
	ids   []string            // members, sorted
	nodes map[string]*simNode // by id
	opts  func(*Config)       // applied to every node's Config

	cut      map[[2]string]bool // directed links (from, to) that lose everything
	offline  map[string]bool    // disconnected nodes: all their links lose everything
	dropRate float64            // chance that a sent message is lost
	dupRate  float64            // chance that a sent message arrives twice
	maxDelay int                // a message waits up to this many extra ticks; > 0 reorders
	// longRate is the chance that a message is held much longer, up to
	// longDelay ticks, most of them far less (6.5840's long reordering).
	longRate  float64
	longDelay int  // bound of a long hold, in ticks
	hold      bool // keep every message in the network until released
	// crashRate is the chance that a node crashes at each crash point:
	// after sending the MsgApps of a Ready, before persisting it; during
	// or after a write of entries; after a hard-state save; after a
	// snapshot of its state machine; before or after installing a
	// leader's snapshot.
	crashRate float64
	// slowRate is the chance that a node's writes stay queued after a
	// Ready, while other messages are delivered and more Readys taken;
	// they complete, oldest first, within the same tick.
	slowRate float64
	// stallRate is the chance that a node's disk stalls after a Ready: its
	// writes stay queued for 1 to stallTicks ticks, while it and everyone
	// else go on.
	stallRate  float64
	stallTicks int
	// snapshotRate is the chance that a node saves a snapshot of its state
	// machine after applying entries. With it, a restarted node's state
	// machine starts from its last snapshot (keepApplied aside).
	snapshotRate float64
	// snapEvery, when > 0, turns compaction on: a node snapshots its
	// state machine once it has applied snapEvery entries since its last
	// snapshot, and compacts its log (MemoryLogStorage.Compact) up to the
	// snapshot, keeping snapMargin entries below it. A leader then sends
	// snapshots (MsgSnap) to followers that need compacted entries; the
	// snapshot's data travels with the MsgSnap, and the leader hears
	// ReportSnapshot once it arrived (true) or was lost (false, some ticks
	// later). Any snapshot, also one of snapshotRate, is recorded in the
	// storage (Compact) and may be sent.
	snapEvery, snapMargin int
	// snapReportDelay bounds the ticks before a lost snapshot is reported
	// failed; 0 means simElection.
	snapReportDelay int
	// onInstall, if set, is called just before (before true) and just
	// after a node installs a snapshot as part of a write; returning true
	// crashes the node there.
	onInstall func(id string, meta SnapshotMeta, before bool) bool
	// installs counts snapshots installed; snapsSent the MsgSnaps that
	// left a leader; snapsLost the ones lost on the way.
	installs, snapsSent, snapsLost int
	// wiped are the nodes whose disk was wiped (wipe): only for them may a
	// leader emit EventLostEntries, counted in lostEvents.
	wiped      map[string]bool
	lostEvents map[string]int
	reports    []snapReport // ReportSnapshot calls to make
	queue      []flight     // messages in the network, not yet due
	due        []flight     // messages in the network that may arrive now, in send order
	now        int          // ticks run so far

	leaders map[uint64]string            // term → the only node that ever led it
	votes   map[string]map[uint64]string // node → term → its durable vote
	// committed[i-1] is the entry committed at index i, as first seen
	// committed on any node; every node must agree (State Machine Safety).
	committed []Entry
	// digests[i-1] is the reference state machine: the digest of the
	// committed entries 1..i applied in order. A node's state machine at
	// applied index i, however it got there (applying entries, restarting
	// from its snapshot, installing a leader's), must equal it.
	digests []uint64
	// committedBy[i-1] is the term of the node that first saw index i
	// committed: the entry was committed in that term or an earlier one.
	committedBy []uint64
	// logged records every entry ever persisted, by (index, term), with
	// the term before it: two logs with the same entry must agree on it
	// and on the term before it, which by induction is Log Matching.
	logged map[[2]uint64]loggedEntry
	// rejections counts MsgApp refusals with conflict hints.
	rejections int
	// onSend, if set, sees every message a node sends.
	onSend func(Message)
	// beforeStep, if set, sees every message just before its receiver
	// steps it.
	beforeStep func(Message)
	// keepApplied makes a restarted node's state machine keep what it had
	// applied, as if it were durable; otherwise it starts empty.
	keepApplied bool
	// readFloor records, per node and read ctx, the highest index any node
	// had committed when the read was requested: its read index must not
	// be lower, or the read could miss a completed write.
	readFloor map[string]map[uint64]uint64

	// initial, when set, is the initial configuration every node starts
	// with (Config.Peers); otherwise ids. joined are the nodes added
	// after the start (addNode), which start with Config.Join.
	initial []string
	joined  map[string]bool

	trace    []string // the last few deliveries, for failure reports
	traceOn  bool     // keep trace (costs a string per message)
	maxTrace int      // trace length
}

// simNode is one member: its core while up, its stable storage, and its
// state machine.
type simNode struct {
	r        *Raft             // nil while crashed
	storage  *MemoryLogStorage // the simulated disk's log
	stored   HardState         // the simulated disk's hard state
	restarts int               // how often it came back, to vary its seed
	applied  uint64            // the state machine has applied up to here
	// checked is the index up to which this node's committed entries were
	// compared with sim.committed; its durable log keeps them forever.
	checked uint64
	reads   []ReadState // ReadStates handed out, in order
	dropped []uint64    // DroppedReads handed out, in order
	// writes are the writes of Readys handed out and not yet completed.
	writes WriteQueue
	// queuedHard is the term and vote of the last hard state queued.
	queuedHard HardState
	// commitChecked is the commit index up to which the core's commits
	// were checked to be durable on a quorum, as they happened.
	commitChecked uint64
	// stalledUntil is the tick before which the node's disk completes no
	// write (stallRate).
	stalledUntil int
	// digest is the state machine: the digest of the entries it applied,
	// in order (smDigest); applied is its index.
	digest uint64
	// snap is the node's newest durable snapshot of its state machine,
	// taken (snapshotRate, snapEvery) or installed from a leader; its
	// storage's Snapshot() names it.
	snap simSnap
	// snapOut keeps the data of the snapshots named by MsgSnaps this node
	// handed out, until they are sent.
	snapOut map[snapKey]simSnap
	// received is the data of snapshots received from leaders, durable
	// before the MsgSnap is stepped, until installed.
	received map[snapKey]simSnap
	// conf is the configuration of the state machine at applied: from the
	// EntryConfChange entries it applied, or its snapshot; nil: initial.
	conf Membership
}

// snapKey names a snapshot in maps: SnapshotMeta holds a slice.
type snapKey struct{ index, term uint64 }

func keyOf(m SnapshotMeta) snapKey { return snapKey{m.Index, m.Term} }

// simSnap is a snapshot of a simulated state machine: the last entry it
// covers, and the state machine's digest there.
type simSnap struct {
	meta   SnapshotMeta
	digest uint64
}

// snapReport is a ReportSnapshot the runtime makes when the stream of a
// snapshot ends.
type snapReport struct {
	leader   string // who sent it
	restarts int    // the leader's incarnation
	term     uint64 // the leader's term when it sent it
	to       string // the follower
	ok       bool   // delivered
	at       int    // tick
}

// smDigest is the state machine after applying e to one in state d.
func smDigest(d uint64, e Entry) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%d|%d|%d|", d, e.Index, e.Term, e.Type)
	h.Write(e.Data)
	return h.Sum64()
}

// loggedEntry is what sim.logged keeps of an entry.
type loggedEntry struct {
	prevTerm uint64    // term of the entry before it
	typ      EntryType // its type
	data     string    // its data
}

// flight is a message in the network.
type flight struct {
	m  Message // the message
	at int     // tick at which it may be delivered
	// snap is a MsgSnap's data; report: its loss or arrival is reported
	// to the sender (not for a duplicate).
	snap   *simSnap
	report bool
}

// newSim builds n nodes named n1..nN with pre-vote and check-quorum on,
// then applies opts to each node's Config.
func newSim(t testing.TB, n int, seed uint64, opts func(*Config)) *sim {
	t.Helper()
	s := &sim{
		t:          t,
		seed:       seed,
		rng:        rand.New(rand.NewPCG(seed, 0x5eed)),
		nodes:      map[string]*simNode{},
		opts:       opts,
		cut:        map[[2]string]bool{},
		offline:    map[string]bool{},
		leaders:    map[uint64]string{},
		votes:      map[string]map[uint64]string{},
		logged:     map[[2]uint64]loggedEntry{},
		readFloor:  map[string]map[uint64]uint64{},
		wiped:      map[string]bool{},
		lostEvents: map[string]int{},
		joined:     map[string]bool{},
		maxTrace:   60,
		traceOn:    true,
	}
	for i := 1; i <= n; i++ {
		s.ids = append(s.ids, fmt.Sprintf("n%d", i))
	}
	for _, id := range s.ids {
		s.nodes[id] = &simNode{storage: NewMemoryLogStorage(), snapOut: map[snapKey]simSnap{}, received: map[snapKey]simSnap{}}
		s.votes[id] = map[uint64]string{}
		s.readFloor[id] = map[uint64]uint64{}
		s.start(id)
	}
	return s
}

// start builds id's core from its stored log and hard state. The state
// machine starts empty unless keepApplied.
func (s *sim) start(id string) {
	s.t.Helper()
	n := s.nodes[id]
	h := fnv.New64a()
	h.Write([]byte(id))
	switch {
	case s.keepApplied:
	case s.snapshotRate > 0 || s.snapEvery > 0:
		n.applied, n.digest, n.conf = n.snap.meta.Index, n.snap.digest, n.snap.meta.Membership
	default:
		n.applied, n.digest, n.conf = 0, 0, nil
	}
	s.checkDigest(id, "restarts with")
	clear(n.snapOut)
	cfg := Config{
		ID:             id,
		Peers:          slices.Clone(s.initialPeers()),
		Join:           s.joined[id],
		ElectionTicks:  simElection,
		HeartbeatTicks: simHeartbeat,
		Rand:           rand.New(rand.NewPCG(s.seed, h.Sum64()+uint64(n.restarts))),
		HardState:      n.stored,
		Log:            n.storage,
		Applied:        n.applied,
		PreVote:        true,
		CheckQuorum:    true,
	}
	if s.opts != nil {
		s.opts(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		s.fatalf("start %s: %v", id, err)
	}
	n.r = r
	n.commitChecked = r.commit
	n.writes = NewWriteQueue(n.storage.LastIndex())
	n.queuedHard = n.stored
	n.stalledUntil = 0
}

// crash loses id's memory, what it sent that is still in the network,
// and every message that arrives for it while it is down. Its storage
// stays.
func (s *sim) crash(id string) {
	s.nodes[id].r = nil
	s.nodes[id].writes.clear()
	s.queue = slices.DeleteFunc(s.queue, func(f flight) bool { return f.m.From == id })
	s.due = slices.DeleteFunc(s.due, func(f flight) bool { return f.m.From == id })
	s.note("crash %s", id)
}

// wipe crashes id and wipes its disk: log, hard state, snapshots, so it
// restarts with nothing. Raft cannot be safe with such a member (it may
// vote again in a term, and it lost acknowledged entries); tests that wipe
// keep the leader stable.
func (s *sim) wipe(id string) {
	s.crash(id)
	n := s.nodes[id]
	n.storage, n.stored, n.snap, n.conf = NewMemoryLogStorage(), HardState{}, simSnap{}, nil
	n.applied, n.digest, n.checked = 0, 0, 0
	clear(n.received)
	delete(s.votes, id)
	s.votes[id] = map[uint64]string{}
	s.wiped[id] = true
	s.note("wipe %s", id)
}

// restart brings a crashed id back from its storage.
func (s *sim) restart(id string) {
	n := s.nodes[id]
	n.restarts++
	s.start(id)
	s.note("restart %s from %+v, log to %d", id, n.stored, n.storage.LastIndex())
}

// isUp reports whether id is running.
func (s *sim) isUp(id string) bool { return s.nodes[id].r != nil }

// raft is id's core; the node must be up.
func (s *sim) raft(id string) *Raft {
	s.t.Helper()
	r := s.nodes[id].r
	if r == nil {
		s.fatalf("%s is down", id)
	}
	return r
}

// isolate cuts every link to and from id.
func (s *sim) isolate(id string) {
	for _, o := range s.ids {
		if o != id {
			s.cut[[2]string{id, o}], s.cut[[2]string{o, id}] = true, true
		}
	}
	s.note("isolate %s", id)
}

// cutLink cuts the link from one node to another, one way only.
func (s *sim) cutLink(from, to string) {
	s.cut[[2]string{from, to}] = true
	s.note("cut %s->%s", from, to)
}

// randomPartition splits the nodes at random into up to k sides.
func (s *sim) randomPartition(k int) {
	sides := make([][]string, k)
	for _, id := range s.ids {
		i := s.rng.IntN(k)
		sides[i] = append(sides[i], id)
	}
	s.partition(sides...)
}

// partition cuts every link between different groups; nodes in no group
// are cut off from everyone.
func (s *sim) partition(groups ...[]string) {
	group := map[string]int{}
	for i, g := range groups {
		for _, id := range g {
			group[id] = i + 1
		}
	}
	s.cut = map[[2]string]bool{}
	for _, a := range s.ids {
		for _, b := range s.ids {
			if a != b && (group[a] == 0 || group[a] != group[b]) {
				s.cut[[2]string{a, b}] = true
			}
		}
	}
	s.note("partition %v", groups)
}

// release delivers everything held in the network.
func (s *sim) release() {
	s.hold = false
	s.note("release")
	s.deliver()
}

// heal restores every link.
func (s *sim) heal() {
	s.cut = map[[2]string]bool{}
	s.offline = map[string]bool{}
	s.note("heal")
}

// run advances the cluster by ticks ticks.
func (s *sim) run(ticks int) {
	for range ticks {
		s.tick()
	}
}

// runUntil ticks until cond holds, at most max ticks; it reports whether
// cond held.
func (s *sim) runUntil(max int, cond func() bool) bool {
	for range max {
		if cond() {
			return true
		}
		s.tick()
	}
	return cond()
}

// tick advances every running node's clock by one, then delivers all
// messages that are due, including the ones they cause.
func (s *sim) tick() {
	s.now++
	s.makeReports()
	for _, id := range s.ids {
		if r := s.nodes[id].r; r != nil {
			r.Tick()
			s.drain(id)
		}
	}
	s.deliver()
}

// deliver steps every due message into its receiver, until none is due.
func (s *sim) deliver() {
	kept := s.queue[:0]
	for _, f := range s.queue {
		if f.at <= s.now {
			s.due = append(s.due, f)
		} else {
			kept = append(kept, f)
		}
	}
	s.queue = kept
	for steps := 0; !s.hold; steps++ {
		if steps > 1_000_000 {
			s.fatalf("messages keep coming within one tick")
		}
		writing := s.writing()
		if len(s.due) == 0 && len(writing) == 0 {
			break
		}
		if len(writing) > 0 && (len(s.due) == 0 || s.rng.IntN(4) == 0) {
			id := writing[s.rng.IntN(len(writing))]
			if s.completeWrites(id) {
				s.drain(id)
			}
			continue
		}
		f := s.takeDue()
		m := f.m
		n := s.nodes[m.To]
		if n.r == nil || s.cut[[2]string{m.From, m.To}] || s.offline[m.From] || s.offline[m.To] {
			s.snapLost(f)
			continue
		}
		if s.traceOn {
			s.note("t%d deliver %s", s.now, m)
		}
		if s.beforeStep != nil {
			if s.beforeStep(m); n.r == nil {
				s.snapLost(f) // it crashed the receiver
				continue
			}
		}
		if m.Type == MsgSnap {
			// The runtime has received the whole snapshot and made it
			// durable before it steps the MsgSnap; the stream's end is
			// reported to the leader.
			n.received[keyOf(m.Snapshot)] = *f.snap
			if f.report {
				s.report(f, true, s.now+1)
			}
		}
		if err := n.r.Step(m); err != nil {
			s.fatalf("%s refused %s: %v", m.To, m, err)
		}
		s.checkCommitDurable(m.To)
		s.drain(m.To)
	}
}

// writing returns the running nodes with writes queued and a disk that is
// not stalled.
func (s *sim) writing() []string {
	var ids []string
	for _, id := range s.ids {
		if n := s.nodes[id]; n.r != nil && !n.writes.Empty() && !s.stalled(id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// checkCommitDurable fails unless every entry id's core has just
// committed is durable on a quorum, checked the moment the commit index
// moves, before anything could hide it in a crash.
func (s *sim) checkCommitDurable(id string) {
	n := s.nodes[id]
	// Below the log's first index the core knows the entries committed
	// through a snapshot, whose leader checked them.
	for i := max(n.commitChecked+1, n.r.log.firstIndex()-1); i <= n.r.commit; i++ {
		t, ok := n.r.log.term(i)
		if !ok {
			s.fatalf("%s: committed %d beyond its log", id, i)
		}
		s.checkDurableQuorum(id, Entry{Index: i, Term: t})
	}
	n.commitChecked = max(n.commitChecked, n.r.commit)
}

// takeDue removes the next message to deliver from the due ones: the
// oldest, or with delays a random one, so that messages overtake each
// other.
func (s *sim) takeDue() flight {
	if s.maxDelay == 0 {
		f := s.due[0]
		s.due = s.due[1:]
		return f
	}
	i := s.rng.IntN(len(s.due))
	f := s.due[i]
	last := len(s.due) - 1
	s.due[i] = s.due[last]
	s.due = s.due[:last]
	return f
}

// snapLost reports a lost MsgSnap's stream failed, some ticks later.
func (s *sim) snapLost(f flight) {
	if f.m.Type != MsgSnap || !f.report {
		return
	}
	s.snapsLost++
	s.report(f, false, s.now+1+s.rng.IntN(cmp.Or(s.snapReportDelay, simElection)))
}

// report schedules the ReportSnapshot for the MsgSnap of f.
func (s *sim) report(f flight, ok bool, at int) {
	l := s.nodes[f.m.From]
	s.reports = append(s.reports, snapReport{leader: f.m.From, restarts: l.restarts, term: f.m.Term, to: f.m.To, ok: ok, at: at})
}

// makeReports makes the ReportSnapshot calls that are due, to leaders
// still in the incarnation and term that sent the snapshot.
func (s *sim) makeReports() {
	kept := s.reports[:0]
	var due []snapReport
	for _, rp := range s.reports {
		if rp.at <= s.now {
			due = append(due, rp)
		} else {
			kept = append(kept, rp)
		}
	}
	s.reports = kept
	for _, rp := range due {
		l := s.nodes[rp.leader]
		if l.r == nil || l.restarts != rp.restarts || l.r.term != rp.term {
			continue
		}
		s.note("t%d %s: snapshot to %s reported ok=%v", s.now, rp.leader, rp.to, rp.ok)
		l.r.ReportSnapshot(rp.to, rp.ok)
		s.drain(rp.leader)
	}
}

// drain carries out id's Ready contract, as the runtime does: send the
// MsgApps that may leave early, queue the writes and the other messages,
// apply, advance; and checks the invariants on the way. Unless slowRate
// says otherwise, the writes complete at once.
func (s *sim) drain(id string) {
	s.t.Helper()
	n := s.nodes[id]
	for n.r.HasReady() {
		rd := n.r.Ready()
		s.checkReady(id, rd)
		var late []Message
		for _, m := range rd.Messages {
			if m.Type == MsgSnap {
				// The core names its storage's newest snapshot, which is
				// the node's: the data to stream is taken now.
				if keyOf(n.snap.meta) != keyOf(m.Snapshot) {
					s.fatalf("%s sends snapshot %+v, its newest is %+v", id, m.Snapshot, n.snap.meta)
				}
				n.snapOut[keyOf(m.Snapshot)] = n.snap
			}
			if MayLeaveEarly(m, n.stored.Term) {
				s.send(m)
			} else {
				late = append(late, m)
			}
		}
		if s.diskCrash(id) {
			return
		}
		// The simulated disk keeps every hard state, commit index included.
		hs := rd.HardState
		n.writes.Add(WriteJob{Snapshot: rd.Snapshot, Entries: rd.Entries, Mark: rd.Mark, HardState: hs, SaveHard: !hs.IsEmpty(), Msgs: late})
		if !hs.IsEmpty() {
			n.queuedHard = hs
		}
		s.apply(id, rd.CommittedEntries)
		if len(rd.CommittedEntries) > 0 && (s.snapshotRate > 0 && s.rng.Float64() < s.snapshotRate ||
			s.snapEvery > 0 && n.applied >= n.snap.meta.Index+uint64(s.snapEvery)) {
			if !s.takeSnapshot(id) {
				return
			}
		}
		for _, rs := range rd.ReadStates {
			s.checkRead(id, rs)
		}
		n.reads = append(n.reads, rd.ReadStates...)
		n.dropped = append(n.dropped, rd.DroppedReads...)
		n.r.Advance()
		if s.stallRate > 0 && !s.stalled(id) && s.rng.Float64() < s.stallRate {
			n.stalledUntil = s.now + 1 + s.rng.IntN(s.stallTicks)
			s.note("t%d %s's disk stalls until t%d", s.now, id, n.stalledUntil)
		}
		if s.stalled(id) || s.slowRate > 0 && s.rng.Float64() < s.slowRate {
			continue
		}
		if !n.writes.Empty() && !s.completeWrites(id) {
			return
		}
	}
	s.checkStatus(id)
}

// completeWrites completes some of id's queued writes, oldest first, before
// the core takes its next Ready: the runtime's loop takes in every write
// its persister has finished meanwhile. It reports false when the node
// crashed on the way.
func (s *sim) completeWrites(id string) bool {
	n := s.nodes[id]
	for k := 1 + s.rng.IntN(len(n.writes.jobs)); k > 0; k-- {
		if !s.completeWrite(id) {
			return false
		}
	}
	return true
}

// stalled reports whether id's disk completes no write this tick.
func (s *sim) stalled(id string) bool { return s.nodes[id].stalledUntil > s.now }

// diskCrash crashes id at a crash point, with chance crashRate; it
// reports whether it did.
func (s *sim) diskCrash(id string) bool {
	if s.crashRate > 0 && s.rng.Float64() < s.crashRate {
		s.crash(id)
		return true
	}
	return false
}

// completeWrite completes id's oldest queued write in the runtime's steps:
// the entries (a crash may cut the append short), then the hard state,
// then the messages that waited for them, then StableTo. It reports false
// when the node crashed on the way.
func (s *sim) completeWrite(id string) bool {
	n := s.nodes[id]
	j, _ := n.writes.Take()
	s.note("t%d %s completes a write of %d entries", s.now, id, len(j.Entries))
	if !j.Snapshot.IsEmpty() && !s.install(id, j.Snapshot) {
		return false
	}
	if !s.persistEntries(id, j.Entries) {
		return false
	}
	if j.SaveHard {
		s.persistHard(id, j.HardState)
		if s.diskCrash(id) {
			return false
		}
	}
	s.checkSent(id, j.Msgs)
	for _, m := range j.Msgs {
		s.send(m)
	}
	if len(j.Entries) > 0 || !j.Snapshot.IsEmpty() {
		n.r.StableTo(j.Mark)
	}
	s.checkCommitted(id)
	s.checkCommitDurable(id)
	return true
}

// takeSnapshot saves a snapshot of id's state machine at its applied
// index (a crash point once durable), then records it in the storage and,
// with snapEvery, compacts the log up to it, keeping snapMargin entries
// below it. It reports false when the node crashed.
func (s *sim) takeSnapshot(id string) bool {
	n := s.nodes[id]
	t, err := n.storage.Term(n.applied)
	if err != nil {
		s.fatalf("%s: snapshot at applied %d: %v", id, n.applied, err)
	}
	conf := n.conf
	if conf == nil {
		conf = NewMembership(s.initialPeers()...)
	}
	n.snap = simSnap{meta: SnapshotMeta{Index: n.applied, Term: t, Membership: conf}, digest: n.digest}
	if err := n.storage.Compact(n.applied, 0); err != nil { // records it, drops nothing
		s.fatalf("%s: %v", id, err)
	}
	n.storage.snap.Membership = conf // the runtime fills it
	s.note("t%d %s saves a snapshot at %d", s.now, id, n.applied)
	if s.diskCrash(id) {
		return false // durable, the log not compacted yet
	}
	var below uint64
	if s.snapEvery > 0 {
		below = n.applied + 1 - min(uint64(s.snapMargin), n.applied)
	}
	if err := n.storage.Compact(n.applied, below); err != nil {
		s.fatalf("%s: compact: %v", id, err)
	}
	n.storage.snap.Membership = n.snap.meta.Membership
	return true
}

// install replaces id's state machine by the snapshot meta names, which it
// received from a leader, and its log by an empty one after it, as one
// durable step of a write: a crash just before leaves everything as it
// was, just after leaves the snapshot installed. It checks the installed
// state machine against the reference. It reports false when the node
// crashed.
func (s *sim) install(id string, meta SnapshotMeta) bool {
	n := s.nodes[id]
	data, ok := n.received[keyOf(meta)]
	if !ok {
		s.fatalf("%s installs snapshot %+v, never received", id, meta)
	}
	if s.onInstall != nil && s.onInstall(id, meta, true) || s.diskCrash(id) {
		s.note("t%d %s crashes before installing snapshot %+v", s.now, id, meta)
		s.crash(id)
		return false
	}
	if n.applied > meta.Index {
		s.fatalf("%s installs snapshot %+v over a state machine at %d", id, meta, n.applied)
	}
	n.storage.ApplySnapshot(meta)
	n.snap = data
	n.applied, n.digest, n.conf = meta.Index, data.digest, meta.Membership
	n.checked = max(n.checked, meta.Index)
	for k := range n.received {
		if k.index <= meta.Index {
			delete(n.received, k)
		}
	}
	s.installs++
	s.note("t%d %s installs snapshot %+v", s.now, id, meta)
	s.checkDigest(id, "installs")
	if s.onInstall != nil && s.onInstall(id, meta, false) || s.diskCrash(id) {
		s.note("t%d %s crashes after installing snapshot %+v", s.now, id, meta)
		s.crash(id)
		return false
	}
	return true
}

// checkDigest fails unless id's state machine is the reference one at
// its applied index: what applying the committed entries up to it gives.
func (s *sim) checkDigest(id, what string) {
	n := s.nodes[id]
	if n.applied == 0 {
		if n.digest != 0 {
			s.fatalf("%s %s an empty state machine with digest %x", id, what, n.digest)
		}
		return
	}
	if n.applied > uint64(len(s.digests)) {
		s.fatalf("%s %s a state machine at %d, only %d committed", id, what, n.applied, len(s.digests))
	}
	if want := s.digests[n.applied-1]; n.digest != want {
		s.fatalf("%s %s a state machine at %d with digest %x, want %x", id, what, n.applied, n.digest, want)
	}
}

// persistEntries writes entries to id's simulated disk as segmentlog
// does: it cuts off the suffix they replace (durable at once), then
// appends them and syncs. A crash (crashRate) may come after the cut and
// any prefix of the appended entries, or right after the sync; persistEntries
// reports false when it did. It checks that the log keeps what it
// committed and stays matched.
func (s *sim) persistEntries(id string, entries []Entry) bool {
	if len(entries) == 0 {
		return true
	}
	n := s.nodes[id]
	first := entries[0].Index
	if first <= n.checked {
		s.fatalf("%s: persisting from %d would replace committed entries up to %d", id, first, n.checked)
	}
	durable := entries
	crash := s.crashRate > 0 && s.rng.Float64() < s.crashRate
	if crash {
		durable = entries[:s.rng.IntN(len(entries)+1)]
	}
	if first <= n.storage.off {
		s.fatalf("%s: persisting from %d into its compacted log (first index %d)", id, first, n.storage.FirstIndex())
	}
	if first <= n.storage.LastIndex() {
		k := first - n.storage.off - 1
		n.storage.entries = n.storage.entries[:k:k]
	}
	if err := n.storage.Append(durable); err != nil {
		s.fatalf("%s: append: %v", id, err)
	}
	for _, e := range durable {
		prev, _ := n.storage.Term(e.Index - 1)
		s.checkLogMatching(id, e, prev)
	}
	if crash {
		s.note("t%d %s crashes with %d of %d entries from %d durable", s.now, id, len(durable), len(entries), first)
		s.crash(id)
		return false
	}
	return true
}

// persistHard saves hs to id's simulated disk, checking that the term
// never goes back, that the commit index is in the durable log, and that
// the node never votes twice in a term.
func (s *sim) persistHard(id string, hs HardState) {
	n := s.nodes[id]
	if hs.Term < n.stored.Term {
		s.fatalf("%s: term goes back from %d to %d", id, n.stored.Term, hs.Term)
	}
	if hs.Commit > n.storage.LastIndex() {
		s.fatalf("%s: commit %d beyond durable log %d", id, hs.Commit, n.storage.LastIndex())
	}
	if hs.Vote != "" {
		if v, ok := s.votes[id][hs.Term]; ok && v != hs.Vote {
			s.fatalf("%s voted for %s and %s in term %d", id, v, hs.Vote, hs.Term)
		}
		s.votes[id][hs.Term] = hs.Vote
	}
	n.stored = hs
}

// checkLogMatching records e, persisted by id after an entry of term
// prev, and fails if another log holds an entry with e's index and term
// that differs or follows another term (Log Matching, paper §5.3).
func (s *sim) checkLogMatching(id string, e Entry, prev uint64) {
	got := loggedEntry{prevTerm: prev, typ: e.Type, data: string(e.Data)}
	key := [2]uint64{e.Index, e.Term}
	if want, ok := s.logged[key]; ok && want != got {
		s.fatalf("%s logs entry %d term %d as %+v, another log has %+v", id, e.Index, e.Term, got, want)
	}
	s.logged[key] = got
}

// checkReady checks what a Ready hands out: changes of term, vote or log
// marked MustSync, messages from id, and the leaders its events name.
func (s *sim) checkReady(id string, rd Ready) {
	n := s.nodes[id]
	if len(rd.Entries) > 0 && !rd.MustSync {
		s.fatalf("%s: entries %d.. without MustSync", id, rd.Entries[0].Index)
	}
	if hs := rd.HardState; !hs.IsEmpty() && (hs.Term != n.queuedHard.Term || hs.Vote != n.queuedHard.Vote) && !rd.MustSync {
		s.fatalf("%s: term or vote changed without MustSync: %+v after %+v", id, hs, n.queuedHard)
	}
	for _, m := range rd.Messages {
		if m.From != id {
			s.fatalf("%s sends as %s: %s", id, m.From, m)
		}
	}
	for _, e := range rd.Events {
		if e.Kind == EventRoleChanged && e.Role == RoleLeader {
			s.recordLeader(e.Term, id)
			s.checkLeaderCompleteness(id)
		}
		if e.Kind == EventLostEntries {
			// Only a wiped disk loses what it made durable.
			if !s.wiped[e.Peer] {
				s.fatalf("%s: false alarm, %s lost nothing: %s", id, e.Peer, e)
			}
			s.lostEvents[e.Peer]++
		}
	}
}

// checkSent checks that none of msgs, which waited for a write, leaves id
// before the state it depends on is durable.
func (s *sim) checkSent(id string, msgs []Message) {
	n := s.nodes[id]
	stored := n.stored
	for _, m := range msgs {
		switch {
		case m.Type == MsgPreVote, m.Type == MsgPreVoteResp && !m.Reject:
			// carry the term of a pre-vote, not the sender's
		case m.Term > stored.Term:
			s.fatalf("%s sends %s with term %d but stored term is %d", id, m, m.Term, stored.Term)
		case m.Term < stored.Term:
			// Stepped before the term changed, and written with it: the
			// later term is durable, so this node never acts in m's term
			// again, and what m says of that term holds.
		case m.Type == MsgVote && stored.Vote != id:
			s.fatalf("%s asks for votes before its own vote is durable: stored %+v", id, stored)
		case m.Type == MsgVoteResp && !m.Reject && stored.Vote != m.To:
			s.fatalf("%s grants %s before the vote is durable: stored %+v", id, m.To, stored)
		case m.Type == MsgAppResp && !m.Reject && m.Index > n.storage.LastIndex():
			s.fatalf("%s acknowledges %d before it is durable (log ends at %d)", id, m.Index, n.storage.LastIndex())
		}
		if m.Type == MsgAppResp && m.Reject && m.ConflictIndex > 0 {
			s.rejections++
		}
	}
}

// checkCommitted compares the entries id newly knows committed with what
// every other node committed at those indexes (State Machine Safety,
// paper §5.4.3). Its log is durable up to the commit index of the write
// just completed; the core may know a later one, from a message stepped
// after the Ready that handed out the write.
func (s *sim) checkCommitted(id string) {
	n := s.nodes[id]
	commit := n.stored.Commit
	// Below the first index the log was compacted after the entries were
	// applied, each checked then, or replaced by an installed snapshot,
	// checked against the reference state machine.
	for i := max(n.checked+1, n.storage.FirstIndex()); i <= commit; i++ {
		ents, err := n.storage.Entries(i, i+1, 0)
		if err != nil {
			s.fatalf("%s: committed entry %d not durable: %v", id, i, err)
		}
		s.agree(id, ents[0])
	}
	n.checked = max(n.checked, commit)
}

// agree fails unless e is the entry committed at its index, recording it
// if it is the first seen there.
func (s *sim) agree(id string, e Entry) {
	if e.Index <= uint64(len(s.committed)) {
		want := s.committed[e.Index-1]
		if want.Term != e.Term || want.Type != e.Type || string(want.Data) != string(e.Data) {
			s.fatalf("%s has %+v committed at %d, another node %+v", id, e, e.Index, want)
		}
		return
	}
	if e.Index != uint64(len(s.committed))+1 {
		s.fatalf("%s commits %d before %d", id, e.Index, len(s.committed)+1)
	}
	s.checkDurableQuorum(id, e)
	var d uint64
	if k := len(s.digests); k > 0 {
		d = s.digests[k-1]
	}
	s.digests = append(s.digests, smDigest(d, e))
	s.committed = append(s.committed, e)
	s.committedBy = append(s.committedBy, s.nodes[id].r.term)
}

// checkDurableQuorum fails unless e, newly known committed by id, is
// durable on a quorum: otherwise crashes could lose it while some node has
// applied it. A leader that counted its own copy before persisting it
// would break this.
func (s *sim) checkDurableQuorum(id string, e Entry) {
	var holders []string
	for _, o := range s.ids {
		// A compacted entry is in the node's durable snapshot, which holds
		// only committed entries (checked against the reference).
		st := s.nodes[o].storage
		if t, err := st.Term(e.Index); err == nil && t == e.Term || e.Index < st.FirstIndex()-1 {
			holders = append(holders, o)
		}
	}
	if !s.quorumHolds(id, holders) {
		s.fatalf("%s knows entry %d term %d committed, durable only on %v", id, e.Index, e.Term, holders)
	}
}

// quorumHolds reports whether holders are a majority of the voters of a
// configuration id may have committed under (thesis chapter 4). A leader
// commits with the configuration in effect; it is checked against that one
// or the one just before it, as a change proposed after the commit moved
// and before the check may have replaced it. A follower learns the commit
// from a leader whose configuration may be ahead of its own, or behind
// (an entry stored on a follower may be the leader's newest), so any
// configuration it knows, or in effect on some node, will do. Without
// changes, this is a majority of the initial members.
func (s *sim) quorumHolds(id string, holders []string) bool {
	majority := func(m Membership) bool {
		n := 0
		for _, h := range holders {
			if m.IsVoter(h) {
				n++
			}
		}
		return n >= m.Voters()/2+1
	}
	r := s.nodes[id].r
	if r == nil {
		return majority(NewMembership(s.initialPeers()...))
	}
	if r.role == RoleLeader {
		k := len(r.confs)
		return majority(r.confs[k-1].members) || k > 1 && majority(r.confs[k-2].members)
	}
	for _, c := range r.confs {
		if majority(c.members) {
			return true
		}
	}
	for _, o := range s.ids {
		if or := s.nodes[o].r; or != nil && majority(or.confs.current().members) {
			return true
		}
	}
	return false
}

// addNode adds a node that is not in the initial configuration: it starts
// empty with Config.Join, and waits for a leader to add it.
func (s *sim) addNode(id string) {
	if s.initial == nil {
		s.initial = slices.Clone(s.ids)
	}
	s.ids = append(s.ids, id)
	slices.Sort(s.ids)
	s.joined[id] = true
	s.nodes[id] = &simNode{storage: NewMemoryLogStorage(), snapOut: map[snapKey]simSnap{}, received: map[snapKey]simSnap{}}
	s.votes[id] = map[uint64]string{}
	s.readFloor[id] = map[uint64]uint64{}
	s.start(id)
	s.note("add node %s", id)
}

// confChange asks id, which must be up, for cc, and carries out the
// Ready that follows.
func (s *sim) confChange(id string, cc ConfChange) (uint64, error) {
	r := s.raft(id)
	index, _, err := r.ProposeConfChange(cc)
	s.note("t%d %s at %s: index %d err %v", s.now, cc, id, index, err)
	s.checkCommitDurable(id)
	s.drain(id)
	return index, err
}

// checkLeaderCompleteness fails unless the new leader id holds every
// entry committed in an earlier term (paper §5.4, Leader Completeness). A
// leader of an older term may win late, with votes whose writes were slow,
// after later terms have committed more.
func (s *sim) checkLeaderCompleteness(id string) {
	r := s.nodes[id].r
	compacted := r.log.firstIndex() - 1 // the entries before are in a snapshot
	for i, e := range s.committed {
		if s.committedBy[i] < r.term && e.Index >= compacted && !r.log.matchTerm(e.Index, e.Term) {
			s.fatalf("leader %s of term %d lacks committed entry %d (term %d)", id, r.term, e.Index, e.Term)
		}
	}
}

// apply hands id's state machine its committed entries, which must come
// in order, once each, and be those committed (State Machine Safety).
func (s *sim) apply(id string, ents []Entry) {
	n := s.nodes[id]
	for _, e := range ents {
		if e.Index != n.applied+1 {
			s.fatalf("%s applies %d after %d", id, e.Index, n.applied)
		}
		if t, err := n.storage.Term(e.Index); err != nil || t != e.Term {
			s.fatalf("%s applies entry %d term %d before it is durable here", id, e.Index, e.Term)
		}
		s.agree(id, e)
		if e.Type == EntryConfChange {
			m, err := DecodeMembership(e.Data)
			if err != nil {
				s.fatalf("%s applies a bad configuration entry %d: %v", id, e.Index, err)
			}
			n.conf = m
		}
		n.applied, n.digest = e.Index, smDigest(n.digest, e)
		s.checkDigest(id, "applies up to")
	}
}

// checkStatus checks id's state against the run's history.
func (s *sim) checkStatus(id string) {
	n := s.nodes[id]
	if n.r == nil || !n.writes.Empty() {
		return
	}
	st := n.r.Status()
	if st.Term != n.stored.Term || st.Vote != n.stored.Vote {
		s.fatalf("%s: term %d vote %q not what is stored: %+v", id, st.Term, st.Vote, n.stored)
	}
	if st.Applied != n.applied || st.Applied > st.Commit || st.Commit > st.LastIndex {
		s.fatalf("%s: applied %d (state machine %d), commit %d, last index %d", id, st.Applied, n.applied, st.Commit, st.LastIndex)
	}
	if st.Role == RoleLeader {
		s.recordLeader(st.Term, id)
	}
}

// recordLeader enforces Election Safety: at most one leader per term
// (paper §5.2, Figure 3).
func (s *sim) recordLeader(term uint64, id string) {
	if l, ok := s.leaders[term]; ok && l != id {
		s.fatalf("two leaders in term %d: %s and %s", term, l, id)
	}
	s.leaders[term] = id
}

// send puts m on the network, unless it is lost; it may go twice.
func (s *sim) send(m Message) {
	if s.onSend != nil {
		s.onSend(m)
	}
	var data *simSnap
	if m.Type == MsgSnap {
		d, ok := s.nodes[m.From].snapOut[keyOf(m.Snapshot)]
		if !ok {
			s.fatalf("%s sends snapshot %+v it never handed out", m.From, m.Snapshot)
		}
		s.checkSnapData(m.From, d)
		data = &d
		s.snapsSent++
	}
	if s.dropRate > 0 && s.rng.Float64() < s.dropRate {
		s.snapLost(flight{m: m, snap: data, report: true})
		return
	}
	at := s.now
	if s.maxDelay > 0 {
		at += s.rng.IntN(s.maxDelay + 1)
	}
	if s.longRate > 0 && s.rng.Float64() < s.longRate {
		at += s.rng.IntN(1 + s.rng.IntN(s.longDelay))
	}
	s.enqueue(flight{m: m, at: at, snap: data, report: true})
	if s.dupRate > 0 && s.rng.Float64() < s.dupRate {
		s.enqueue(flight{m: m, at: at + s.rng.IntN(s.maxDelay+2), snap: data})
	}
}

// checkSnapData fails unless d, a snapshot id sends, is the reference
// state machine at its index, and its term the committed entry's.
func (s *sim) checkSnapData(id string, d simSnap) {
	i := d.meta.Index
	if i == 0 || i > uint64(len(s.digests)) {
		s.fatalf("%s sends snapshot %+v, only %d committed", id, d.meta, len(s.digests))
	}
	if s.digests[i-1] != d.digest || s.committed[i-1].Term != d.meta.Term {
		s.fatalf("%s sends snapshot %+v with digest %x; committed term %d digest %x", id, d.meta, d.digest, s.committed[i-1].Term, s.digests[i-1])
	}
}

// enqueue puts f in the network, due at tick f.at.
func (s *sim) enqueue(f flight) {
	if f.at <= s.now {
		s.due = append(s.due, f)
		return
	}
	s.queue = append(s.queue, f)
}

// note adds a line to the trace.
func (s *sim) note(format string, args ...any) {
	if !s.traceOn {
		return
	}
	s.trace = append(s.trace, fmt.Sprintf(format, args...))
	if len(s.trace) > s.maxTrace {
		s.trace = s.trace[len(s.trace)-s.maxTrace:]
	}
}

// fatalf fails the test with the seed, the nodes' states and the trace.
func (s *sim) fatalf(format string, args ...any) {
	s.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d tick %d: %s\n", s.seed, s.now, fmt.Sprintf(format, args...))
	for _, id := range s.ids {
		if r := s.nodes[id].r; r != nil {
			st := r.Status()
			fmt.Fprintf(&b, "  %s %s term=%d vote=%q leader=%q commit=%d applied=%d last=%d/%d\n",
				id, st.Role, st.Term, st.Vote, st.Leader, st.Commit, st.Applied, st.LastIndex, st.LastTerm)
		} else {
			fmt.Fprintf(&b, "  %s down, stored %+v\n", id, s.nodes[id].stored)
		}
	}
	if s.traceOn {
		b.WriteString("  last steps:\n    " + strings.Join(s.trace, "\n    "))
	}
	s.t.Fatal(b.String())
}

// leaderOf returns the leader of group once the group agrees on it: one
// member leads, every other member follows it in its term. Otherwise "".
func (s *sim) leaderOf(group []string) string {
	leader := ""
	for _, id := range group {
		if s.isUp(id) && s.nodes[id].r.role == RoleLeader {
			if leader != "" {
				return ""
			}
			leader = id
		}
	}
	if leader == "" {
		return ""
	}
	term := s.nodes[leader].r.term
	for _, id := range group {
		r := s.nodes[id].r
		if r != nil && id != leader && (r.role != RoleFollower || r.leader != leader || r.term != term) {
			return ""
		}
	}
	return leader
}

// checkOneLeader runs until group agrees on one leader, and returns it.
func (s *sim) checkOneLeader(group []string) string {
	s.t.Helper()
	var l string
	if !s.runUntil(30*simElection, func() bool { l = s.leaderOf(group); return l != "" }) {
		s.fatalf("no agreed leader in %v within %d ticks", group, 30*simElection)
	}
	return l
}

// checkNoLeader fails if any running member of group is leader.
func (s *sim) checkNoLeader(group []string) {
	s.t.Helper()
	for _, id := range group {
		if s.isUp(id) && s.nodes[id].r.role == RoleLeader {
			s.fatalf("%s leads term %d without a majority", id, s.nodes[id].r.term)
		}
	}
}

// terms returns every running node's term, in id order.
func (s *sim) terms() []uint64 {
	var ts []uint64
	for _, id := range s.ids {
		if s.isUp(id) {
			ts = append(ts, s.nodes[id].r.term)
		}
	}
	return ts
}

// others returns the members except the given ones.
func (s *sim) others(except ...string) []string {
	var out []string
	for _, id := range s.ids {
		if !slices.Contains(except, id) {
			out = append(out, id)
		}
	}
	return out
}

// loadLeaders has every node that is up and leading propose a command and
// start a read, numbered from ctx+1; it returns the last number used. The
// chaos histories run it each tick.
func (s *sim) loadLeaders(ctx uint64) uint64 {
	for _, id := range s.ids {
		if s.isUp(id) && s.nodes[id].r.role == RoleLeader {
			ctx++
			s.propose(id, fmt.Sprint("c", ctx))
			if s.isUp(id) {
				s.readIndex(id, ctx)
			}
		}
	}
	return ctx
}

// propose asks id, which must be up, to propose data, and carries out the
// Ready that follows.
func (s *sim) propose(id, data string) (index, term uint64, err error) {
	index, term, err = s.raft(id).Propose([]byte(data))
	s.note("propose %q at %s: index %d term %d err %v", data, id, index, term, err)
	s.drain(id)
	return index, term, err
}

// fireTimer makes id's election timer expire now (the dashboard's
// `timeout ID`), if id is up.
func (s *sim) fireTimer(id string) {
	r := s.nodes[id].r
	if r == nil {
		return
	}
	err := r.FireElectionTimer()
	s.note("fire election timer at %s: %v", id, err)
	s.drain(id)
}

// readIndex asks id, which must be up, for a read barrier, remembering
// the highest index known committed anywhere: the read index must cover
// it, or the read could miss a write that completed before it began.
func (s *sim) readIndex(id string, ctx uint64) error {
	s.readFloor[id][ctx] = uint64(len(s.committed))
	err := s.raft(id).ReadIndex(ctx)
	s.note("read %d at %s: %v", ctx, id, err)
	s.drain(id)
	return err
}

// checkRead checks a read state id handed out against its request
// (linearizable reads, thesis §6.4).
func (s *sim) checkRead(id string, rs ReadState) {
	floor, ok := s.readFloor[id][rs.Ctx]
	if !ok {
		s.fatalf("%s answers read %d, never requested", id, rs.Ctx)
	}
	if rs.Index < floor {
		s.fatalf("%s read %d at index %d, below %d committed at the request", id, rs.Ctx, rs.Index, floor)
	}
}

// readDone returns the read state id handed out for ctx, if any.
func (s *sim) readDone(id string, ctx uint64) (ReadState, bool) {
	for _, rs := range s.nodes[id].reads {
		if rs.Ctx == ctx {
			return rs, true
		}
	}
	return ReadState{}, false
}

// nCommitted returns how many running nodes have applied index, and the
// data committed there ("" when none has).
func (s *sim) nCommitted(index uint64) (int, string) {
	count := 0
	for _, id := range s.ids {
		if n := s.nodes[id]; n.r != nil && n.applied >= index {
			count++
		}
	}
	if count == 0 {
		return 0, ""
	}
	return count, string(s.committed[index-1].Data)
}

// one proposes data to whichever node leads and waits until at least
// expected running nodes have applied it; with retry, a proposal lost to
// a change of leader is made again. It returns the entry's index. This is
// 6.5840's one(), in ticks.
func (s *sim) one(data string, expected int, retry bool) uint64 {
	s.t.Helper()
	deadline := s.now + 40*simElection
	for start := 0; s.now < deadline; start++ {
		var index uint64
		for k := range s.ids {
			id := s.ids[(start+k)%len(s.ids)]
			if s.isUp(id) && s.nodes[id].r.role == RoleLeader {
				if i, _, err := s.propose(id, data); err == nil {
					index = i
					break
				}
			}
		}
		if index == 0 {
			s.tick()
			continue
		}
		if s.runUntil(3*simElection, func() bool {
			n, got := s.nCommitted(index)
			return n >= expected && got == data
		}) {
			return index
		}
		if !retry {
			n, got := s.nCommitted(index)
			s.fatalf("one(%q) failed to reach agreement: %d nodes applied %q at %d", data, n, got, index)
		}
	}
	s.fatalf("one(%q, %d) failed to reach agreement within %d ticks", data, expected, 40*simElection)
	return 0
}

// waitApplied runs until at least n running nodes have applied index.
func (s *sim) waitApplied(index uint64, n int) {
	s.t.Helper()
	if !s.runUntil(10*simElection, func() bool { c, _ := s.nCommitted(index); return c >= n }) {
		c, _ := s.nCommitted(index)
		s.fatalf("only %d nodes applied %d, want %d", c, index, n)
	}
}

// disconnect cuts id off from everyone until reconnect (6.5840's
// disconnect); unlike isolate, it leaves the cut links alone.
func (s *sim) disconnect(id string) {
	s.offline[id] = true
	s.note("disconnect %s", id)
}

// reconnect undoes disconnect.
func (s *sim) reconnect(id string) {
	delete(s.offline, id)
	s.note("reconnect %s", id)
}

// initialPeers is the initial configuration's voters.
func (s *sim) initialPeers() []string {
	if s.initial != nil {
		return s.initial
	}
	return s.ids
}
