package raft

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Config is what New needs to build a core.
type Config struct {
	ID string // this node
	// Peers are the voters of the initial configuration (cluster.yaml's
	// list). The configuration in effect comes from the log and the
	// snapshot when they hold one (thesis chapter 4).
	Peers []string
	// Join: the node was added after the cluster started (or lost its data
	// and was added again). It does not campaign until its log or a
	// snapshot gives it a configuration, and ID need not be among Peers.
	Join bool
	// PromoteMargin is how many entries a learner may trail the leader's
	// log by for ProposeConfChange to promote it; 0 means
	// DefaultPromoteMargin.
	PromoteMargin uint64
	// ElectionTicks is T: each election timeout is drawn uniformly from
	// [T, 2T) ticks, and a leader checks its quorum every T ticks.
	ElectionTicks  int
	HeartbeatTicks int        // leader heartbeat interval; must be < ElectionTicks
	Rand           *rand.Rand // seeded by the caller; the core's only randomness
	// HardState is restored from durable storage on restart; its Commit
	// must not pass Log.LastIndex().
	HardState HardState
	// Log is the durable log, restored on restart; required. The core
	// only reads it; the caller writes Ready.Entries to it.
	Log LogStorage
	// Applied is the index the state machine had applied when the node
	// restarted (0: nothing). Ready hands out the committed entries after
	// it; entries up to it count as committed.
	Applied uint64
	// MaxMsgBytes bounds the entries in one MsgApp, and the committed
	// entries in one Ready, counted as EntryOverhead plus len(Data) each;
	// one entry always goes, however large. 0 means 1 MiB.
	MaxMsgBytes uint64
	// MaxInflight bounds the MsgApps a leader streams to a follower in
	// replicate state before one is acknowledged. 0 means 256.
	MaxInflight int
	// PreVote makes a node ask for pre-votes before raising its term
	// (thesis §9.6), so a node that was cut off cannot disrupt a leader.
	PreVote bool
	// CheckQuorum makes a leader step down when it has not heard from a
	// quorum within an election timeout, and makes followers that hear
	// from a leader refuse votes for that long (the leader's lease).
	CheckQuorum bool
}

// validate checks everything New can check without building the log.
func (c *Config) validate() error {
	if c.ID == "" {
		return fmt.Errorf("%w: empty node id", ErrInvalidConfig)
	}
	seen := make(map[string]bool, len(c.Peers))
	for _, p := range c.Peers {
		if p == "" {
			return fmt.Errorf("%w: empty peer id", ErrInvalidConfig)
		}
		if seen[p] {
			return fmt.Errorf("%w: peer %q listed twice", ErrInvalidConfig, p)
		}
		seen[p] = true
	}
	switch {
	case !seen[c.ID] && !c.Join:
		return fmt.Errorf("%w: node %q is not among the peers %v", ErrInvalidConfig, c.ID, c.Peers)
	case c.ElectionTicks <= 0 || c.HeartbeatTicks <= 0:
		return fmt.Errorf("%w: election ticks %d and heartbeat ticks %d must be positive", ErrInvalidConfig, c.ElectionTicks, c.HeartbeatTicks)
	case c.HeartbeatTicks >= c.ElectionTicks:
		return fmt.Errorf("%w: heartbeat ticks %d must be below election ticks %d", ErrInvalidConfig, c.HeartbeatTicks, c.ElectionTicks)
	case c.ElectionTicks > math.MaxInt/2:
		return fmt.Errorf("%w: election ticks %d too large", ErrInvalidConfig, c.ElectionTicks)
	case c.Rand == nil:
		return fmt.Errorf("%w: nil Rand", ErrInvalidConfig)
	case c.Log == nil:
		return fmt.Errorf("%w: nil Log", ErrInvalidConfig)
	case c.MaxInflight < 0:
		return fmt.Errorf("%w: max inflight %d is negative", ErrInvalidConfig, c.MaxInflight)
	case c.HardState.Vote != "" && c.HardState.Term == 0:
		return fmt.Errorf("%w: vote for %q in term 0", ErrInvalidConfig, c.HardState.Vote)
	}
	return nil
}

// Defaults for zero Config fields.
const (
	defaultMaxMsgBytes = 1 << 20
	defaultMaxInflight = 256
)

// Raft is the pure Raft state machine of one node: it does no I/O and reads
// no clock; see doc.go. It is not safe for concurrent use.
type Raft struct {
	id             string     // this node
	joining        bool       // Config.Join
	promoteMargin  uint64     // Config.PromoteMargin, defaulted
	electionTicks  int        // T
	heartbeatTicks int        // leader heartbeat interval
	rand           *rand.Rand // draws election timeouts
	preVote        bool       // Config.PreVote
	checkQuorum    bool       // Config.CheckQuorum
	maxMsgBytes    uint64     // Config.MaxMsgBytes, defaulted
	maxInflight    int        // Config.MaxInflight, defaulted

	term   uint64   // currentTerm (Figure 2)
	vote   string   // votedFor in term (Figure 2)
	commit uint64   // commitIndex (Figure 2)
	log    *raftLog // durable and unstable entries, and lastApplied
	confs  configs  // the configurations the log holds; the last is in effect

	role   Role   // current role
	leader string // leader of term, "" when unknown
	// electionElapsed counts ticks since the election timer was reset; on a
	// leader, since the last check-quorum round.
	electionElapsed   int
	heartbeatElapsed  int                  // leader: ticks since the last heartbeat
	randomizedTimeout int                  // this round's timeout, in [T, 2T)
	timerHeld         bool                 // HoldElectionTimer: no campaign on timeout
	votes             map[string]bool      // (pre-)candidate: responses this round, true = granted
	progress          map[string]*progress // leader: every other member
	reads             readQueue            // leader: ReadIndex requests in progress
	matchBuf          []uint64             // scratch for quorum counts
	// appended: leader: entries were appended since the last Ready; Ready
	// offers them to the followers, all at once.
	appended bool
	// ownDurable: leader: StableTo made more of its own log durable since
	// the last Ready, which recounts the commit index.
	ownDurable bool
	// pendingConf: leader: the index of the last configuration entry it
	// appended; another change waits until the commit index reaches it.
	pendingConf uint64
	// transferee: leader: the target of a leadership transfer under way,
	// and transferElapsed the ticks since it began.
	transferee      string
	transferElapsed int

	msgs         []Message   // outbound, not yet handed out and advanced
	events       []Event     // happened, not yet handed out and advanced
	readStates   []ReadState // reads that became safe, not yet handed out and advanced
	droppedReads []uint64    // reads lost with leadership, not yet handed out and advanced
	persisted    HardState   // the hard state last handed out in an advanced Ready
	handed       handedOut   // what the last Ready handed out
}

// New builds a core that starts as a follower with the restored state.
func New(cfg Config) (*Raft, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l := &raftLog{storage: cfg.Log, applied: cfg.Applied}
	hs := cfg.HardState
	last := l.lastIndex()
	lastTerm, ok := l.term(last)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: storage cannot tell the term of its last entry %d", ErrInvalidConfig, last)
	case l.firstIndex()-1 > last:
		return nil, fmt.Errorf("%w: storage first index %d after last index %d", ErrInvalidConfig, l.firstIndex(), last)
	case hs.Commit > last:
		return nil, fmt.Errorf("%w: commit %d beyond last index %d", ErrInvalidConfig, hs.Commit, last)
	case cfg.Applied > last:
		return nil, fmt.Errorf("%w: applied %d beyond last index %d", ErrInvalidConfig, cfg.Applied, last)
	case cfg.Applied+1 < l.firstIndex():
		// The entries before the first are gone; the state machine must
		// hold them already.
		return nil, fmt.Errorf("%w: applied %d before first index %d", ErrInvalidConfig, cfg.Applied, l.firstIndex())
	}
	persisted := hs
	if lastTerm > hs.Term {
		// The runtime makes a write's entries durable before its hard
		// state; a crash between the two leaves entries of a term the
		// saved hard state has not reached. Raise the term to theirs with
		// no vote (doc.go, "Restarting").
		hs = HardState{Term: lastTerm, Commit: hs.Commit}
	}
	r := &Raft{
		id:             cfg.ID,
		joining:        cfg.Join,
		promoteMargin:  cmp.Or(cfg.PromoteMargin, DefaultPromoteMargin),
		electionTicks:  cfg.ElectionTicks,
		heartbeatTicks: cfg.HeartbeatTicks,
		rand:           cfg.Rand,
		preVote:        cfg.PreVote,
		checkQuorum:    cfg.CheckQuorum,
		maxMsgBytes:    cmp.Or(cfg.MaxMsgBytes, defaultMaxMsgBytes),
		maxInflight:    cmp.Or(cfg.MaxInflight, defaultMaxInflight),
		term:           hs.Term,
		vote:           hs.Vote,
		// The state machine applies only committed entries, so Applied is
		// committed even when the commit index was persisted lazily.
		commit:    max(hs.Commit, cfg.Applied),
		log:       l,
		role:      RoleFollower,
		persisted: persisted,
	}
	if err := r.loadConfigs(NewMembership(cfg.Peers...)); err != nil {
		return nil, err
	}
	r.resetElectionTimer()
	return r, nil
}

// loadConfigs finds the configuration in effect on restart: the
// snapshot's, or initial, then each configuration entry in the log.
func (r *Raft) loadConfigs(initial Membership) error {
	base := confAt{members: initial}
	if snap := r.log.storage.Snapshot(); len(snap.Membership) > 0 {
		base = confAt{index: snap.Index, members: snap.Membership}
	}
	r.confs = configs{base}
	// hi is past the last entry; an entry at the very last index is not
	// read (only tests put one there).
	hi := r.log.lastIndex() + 1
	if hi == 0 {
		hi--
	}
	for lo := r.log.firstIndex(); lo < hi; {
		es, ok := r.log.slice(lo, hi, r.maxMsgBytes)
		if !ok {
			return fmt.Errorf("%w: storage cannot read entries from %d", ErrInvalidConfig, lo)
		}
		for _, e := range es {
			if e.Type != EntryConfChange {
				continue
			}
			m, err := DecodeMembership(e.Data)
			if err != nil {
				return fmt.Errorf("%w: configuration entry %d: %v", ErrInvalidConfig, e.Index, err)
			}
			r.confs = append(r.confs, confAt{index: e.Index, members: m})
		}
		lo += uint64(len(es))
	}
	return nil
}

// Tick advances the core's clock by one tick.
func (r *Raft) Tick() {
	if r.role == RoleLeader {
		r.tickLeader()
		return
	}
	r.electionElapsed++
	if r.electionElapsed >= r.randomizedTimeout && !r.timerHeld {
		r.hup()
	}
}

// HoldElectionTimer stops (hold true) or restarts this node's own
// campaigns on timeout, for teaching (RaftScope's "stop" of a timer): a
// held node never starts an election by itself, but time still passes
// for it, so it still judges a silent leader gone and grants (pre-)votes
// as before. FireElectionTimer still works. Withholding a campaign is
// only liveness, never safety.
func (r *Raft) HoldElectionTimer(hold bool) {
	r.timerHeld = hold
}

// ErrLeaderTimer: a leader has no election timer to fire.
var ErrLeaderTimer = errors.New("a leader has no election timer")

// FireElectionTimer makes this node's election timer expire now, as if
// its randomized timeout had passed: it campaigns (with a pre-vote first
// when PreVote is on) exactly as on Tick. For teaching on a real cluster,
// RaftScope's "timeout": a split vote or a chosen winner on purpose.
// Nothing differs from a timer that happened to run out, so safety is the
// same. A leader refuses with ErrLeaderTimer.
func (r *Raft) FireElectionTimer() error {
	if r.role == RoleLeader {
		return ErrLeaderTimer
	}
	r.hup()
	return nil
}

// tickLeader sends heartbeats and, every T ticks, ends a check-quorum round.
func (r *Raft) tickLeader() {
	r.electionElapsed++
	if r.electionElapsed >= r.electionTicks {
		r.electionElapsed = 0
		if !r.endQuorumRound() {
			return
		}
	}
	r.tickTransfer()
	r.heartbeatElapsed++
	if r.heartbeatElapsed >= r.heartbeatTicks {
		r.heartbeatElapsed = 0
		r.bcastHeartbeat(r.reads.beatRound(), true)
		return
	}
	r.sendOwedCommits()
}

// endQuorumRound clears the peers' recentActive marks; with CheckQuorum, a
// leader that has not heard from a quorum in the round steps down, since
// the rest may already have elected another leader. It reports whether the
// node is still leader.
func (r *Raft) endQuorumRound() bool {
	active := 0
	if r.isVoter() {
		active++ // itself
	}
	cur := r.confs.current().members
	for id, p := range r.progress {
		if p.recentActive && cur.IsVoter(id) {
			active++
		}
		p.recentActive = false
		if p.lostSuspect {
			p.lostRounds++
		}
	}
	if r.checkQuorum && active < r.quorum() {
		r.becomeFollower(r.term, "", fmt.Sprintf("check-quorum: heard from %d of %d voters", active, r.confs.current().members.Voters()))
		return false
	}
	return true
}

// hup starts a pre-vote or, without PreVote, an election (paper §5.2).
func (r *Raft) hup() {
	switch {
	case r.term == math.MaxUint64:
		// No term is left to campaign in; only a leader can help now.
		r.resetElectionTimer()
		return
	case !r.mayCampaign():
		// A learner, a removed server or one still joining has no vote
		// to win with (thesis §4.2.3: removed servers must not disrupt).
		r.resetElectionTimer()
		return
	}
	if r.preVote {
		r.becomePreCandidate()
		return
	}
	r.becomeCandidate("election timeout", false)
}

// mayCampaign reports whether this node may start an election: a voter of
// the configuration in effect, or a voter of the one before when the
// newest, which leaves it out, is not known committed. Until it commits,
// the node may be needed to elect a leader that commits it (thesis
// §4.2.2); its own vote does not count (poll).
func (r *Raft) mayCampaign() bool {
	cur := r.confs.current()
	switch {
	case r.joining && cur.index == 0:
		return false
	case r.isVoter():
		return true
	}
	k := len(r.confs)
	return cur.index > r.commit && k > 1 && r.confs[k-2].members.IsVoter(r.id)
}

// Step feeds one message from a peer into the core. A message that cannot
// be valid is dropped and reported with an error; stale messages are
// dropped silently. Step never panics.
func (r *Raft) Step(m Message) error {
	if m.To != r.id {
		return fmt.Errorf("%w: %s for %q arrived at %q", ErrWrongRecipient, m.Type, m.To, r.id)
	}
	switch m.From {
	case r.id:
		return fmt.Errorf("%w: %s from the node itself", ErrInvalidMessage, m.Type)
	case "":
		return fmt.Errorf("%w: %s without a sender", ErrInvalidMessage, m.Type)
	}
	// A sender outside our configuration is stepped all the same: our
	// configuration may be behind (a joining node's leader), and the
	// lease and pre-vote keep removed servers from disrupting (§4.2.3).
	if err := m.checkShape(); err != nil {
		return err
	}
	if err := r.checkAgainstLog(m); err != nil {
		return err
	}
	switch {
	case m.Term > r.term:
		if r.stepHigherTerm(m) {
			return nil
		}
	case m.Term < r.term:
		r.stepLowerTerm(m)
		return nil
	}
	switch m.Type {
	case MsgPreVote, MsgVote:
		r.handleVoteRequest(m)
		return nil
	}
	switch r.role {
	case RoleLeader:
		return r.stepLeader(m)
	case RolePreCandidate, RoleCandidate:
		r.stepCandidate(m)
	default:
		r.stepFollower(m)
	}
	return nil
}

// checkAgainstLog refuses, before anything changes, messages of the
// current or a later term that contradict what this node knows: a MsgApp
// that disagrees with a committed entry (no leader can hold such a log,
// §5.4.1 Leader Completeness), and, on a leader, an answer about entries
// or a read round it never sent.
func (r *Raft) checkAgainstLog(m Message) error {
	switch {
	case m.Term < r.term:
		return nil
	case m.Type == MsgApp:
		// Below the first index the log cannot tell: those entries are
		// in a snapshot, committed, and handleAppend skips past them.
		compacted := r.log.firstIndex() - 1
		if m.Index <= r.commit && m.Index >= compacted && !r.log.matchTerm(m.Index, m.LogTerm) {
			return fmt.Errorf("%w: %s at index %d term %d contradicts committed entry", ErrInvalidMessage, m.Type, m.Index, m.LogTerm)
		}
		for _, e := range m.Entries {
			if e.Index > r.commit {
				break
			}
			if e.Index >= compacted && !r.log.matchTerm(e.Index, e.Term) {
				return fmt.Errorf("%w: %s would replace committed entry %d", ErrInvalidMessage, m.Type, e.Index)
			}
		}
	case m.Type == MsgAppResp && m.Term == r.term && r.role == RoleLeader:
		if m.Index > r.log.lastIndex() {
			return fmt.Errorf("%w: %s answers index %d beyond last index %d", ErrInvalidMessage, m.Type, m.Index, r.log.lastIndex())
		}
		if m.ReadCtx > r.reads.round {
			return fmt.Errorf("%w: %s answers read round %d, last sent %d", ErrInvalidMessage, m.Type, m.ReadCtx, r.reads.round)
		}
	}
	return nil
}

// stepHigherTerm applies the rule "if a message has a higher term, adopt
// it and become follower" (paper §5.1) with its exceptions. It reports
// whether the message has been fully handled.
func (r *Raft) stepHigherTerm(m Message) bool {
	if (m.Type == MsgVote || m.Type == MsgPreVote) && r.inLease() && !m.Transfer {
		// Thesis §4.2.3: a node that heard from a live leader within the
		// election timeout neither raises its term nor votes. The candidate
		// is cut off or removed; the leader still has its quorum, which
		// check-quorum guarantees, so a new election would only disrupt.
		r.denyVote(m, fmt.Sprintf("leader %s is alive (lease)", r.leader))
		return true
	}
	switch {
	case m.Type == MsgPreVote:
		// A pre-vote never changes the receiver's term (thesis §9.6).
	case m.Type == MsgPreVoteResp && !m.Reject:
		// A granted pre-vote carries the term we would campaign in; the
		// term rises only when a quorum grants. A refusal carries the
		// refuser's own, higher term, which we adopt below.
	default:
		leader := ""
		if m.Type == MsgApp || m.Type == MsgSnap {
			leader = m.From
		}
		r.becomeFollower(m.Term, leader, fmt.Sprintf("saw term %d from %s", m.Term, m.From))
	}
	return false
}

// inLease reports whether this node has heard from a leader within the
// election timeout (a leader counts itself, until check-quorum fails).
func (r *Raft) inLease() bool {
	return r.checkQuorum && r.leader != "" && r.electionElapsed < r.electionTicks
}

// stepLowerTerm answers messages from an older term where the sender needs
// to learn the current term, and drops the rest.
func (r *Raft) stepLowerTerm(m Message) {
	switch m.Type {
	case MsgApp, MsgSnap:
		// A stale leader must learn that it is stale (paper §5.1). This
		// reply also ends a standoff: a node whose term ran ahead while it
		// was cut off has its vote requests refused in the lease, so only
		// this answer to the leader's heartbeat brings its term into the
		// cluster and lets an election succeed (etcd raft, Step).
		r.send(Message{Type: MsgAppResp, To: m.From, Term: r.term, Index: m.Index, Reject: true})
	case MsgPreVote, MsgVote:
		// Refuse with our term: a pre-candidate that is behind adopts it
		// instead of retrying forever with a term nobody accepts.
		r.denyVote(m, fmt.Sprintf("stale term %d < %d", m.Term, r.term))
	}
}

// handleVoteRequest answers a (pre-)vote in the current term or, for a
// pre-vote, a later one (paper §5.2, §5.4.1; thesis §9.6).
func (r *Raft) handleVoteRequest(m Message) {
	// A pre-vote for a later term promises nothing in ours.
	future := m.Type == MsgPreVote && m.Term > r.term
	switch {
	case !future && r.vote != "" && r.vote != m.From:
		r.denyVote(m, fmt.Sprintf("already voted for %s in term %d", r.vote, r.term))
	case !future && r.vote == "" && r.leader != "":
		r.denyVote(m, fmt.Sprintf("leader %s already elected in term %d", r.leader, r.term))
	case !r.log.isUpToDate(m.LogTerm, m.Index):
		r.denyVote(m, r.behindReason(m))
	default:
		if m.Type == MsgVote {
			r.vote = m.From
			// A granted vote restarts the timer, giving the candidate
			// time to win before this node competes.
			r.resetElectionTimer()
		}
		r.send(Message{Type: respType(m.Type), To: m.From, Term: m.Term})
		r.emit(Event{Kind: EventVoteGranted, Term: m.Term, Peer: m.From, PreVote: m.Type == MsgPreVote})
	}
}

// behindReason says how the candidate's log trails ours.
func (r *Raft) behindReason(m Message) string {
	if lt := r.log.lastTerm(); m.LogTerm < lt {
		return fmt.Sprintf("candidate log is behind (last term %d < %d)", m.LogTerm, lt)
	}
	return fmt.Sprintf("candidate log is behind (last index %d < %d in term %d)", m.Index, r.log.lastIndex(), m.LogTerm)
}

// denyVote refuses a (pre-)vote, with our term so a stale candidate learns.
func (r *Raft) denyVote(m Message, reason string) {
	r.send(Message{Type: respType(m.Type), To: m.From, Term: r.term, Reject: true, Reason: reason})
	r.emit(Event{Kind: EventVoteDenied, Term: m.Term, Peer: m.From, Reason: reason, PreVote: m.Type == MsgPreVote})
}

// respType is the response type to a vote request type.
func respType(t MsgType) MsgType {
	if t == MsgPreVote {
		return MsgPreVoteResp
	}
	return MsgVoteResp
}

// stepFollower handles a current-term message as follower.
func (r *Raft) stepFollower(m Message) {
	switch m.Type {
	case MsgApp:
		r.resetElectionTimer()
		r.setLeader(m.From)
		r.handleAppend(m)
	case MsgSnap:
		r.resetElectionTimer()
		r.setLeader(m.From)
		r.handleSnapshot(m)
	case MsgTimeoutNow:
		r.handleTimeoutNow(m)
	}
	// Responses belong to a role this node has left; drop them.
}

// stepCandidate handles a current-term message as (pre-)candidate.
func (r *Raft) stepCandidate(m Message) {
	switch m.Type {
	case MsgApp, MsgSnap:
		// Another node won this term (paper §5.2).
		r.becomeFollower(m.Term, m.From, fmt.Sprintf("leader %s of term %d", m.From, m.Term))
		if m.Type == MsgSnap {
			r.handleSnapshot(m)
		} else {
			r.handleAppend(m)
		}
	case MsgPreVoteResp:
		// A refusal here carries our term; a grant for this round carries
		// term+1. A grant with our own term is left from an older round.
		if r.role == RolePreCandidate && (m.Reject || m.Term == r.term+1) {
			r.poll(m.From, !m.Reject)
		}
	case MsgVoteResp:
		if r.role == RoleCandidate {
			r.poll(m.From, !m.Reject)
		}
	}
}

// stepLeader handles a current-term message as leader.
func (r *Raft) stepLeader(m Message) error {
	if m.Type == MsgApp || m.Type == MsgSnap || m.Type == MsgTimeoutNow {
		return fmt.Errorf("%w: %s from another leader %s in term %d", ErrInvalidMessage, m.Type, m.From, m.Term)
	}
	p := r.progress[m.From]
	if p == nil {
		return nil // from a server not in our configuration: nothing to track
	}
	// Any message in our term shows the peer is alive and reachable.
	p.recentActive = true
	if m.Type != MsgAppResp {
		return nil // vote responses from the election we won
	}
	// Any answer in our term, refusal or not, shows the follower still
	// takes us for its leader, which is what a read round asks.
	r.ackRead(p, m.ReadCtx)
	if m.Reject {
		r.handleAppendRejection(m.From, p, m)
	} else {
		r.handleAppendAck(m.From, p, m)
	}
	return nil
}

// poll records one (pre-)vote response, the first from each peer, and acts
// once the round is decided.
func (r *Raft) poll(id string, granted bool) {
	if _, seen := r.votes[id]; !seen {
		r.votes[id] = granted
	}
	cur := r.confs.current().members
	var yes, no int
	for voter, g := range r.votes {
		if !cur.IsVoter(voter) {
			continue // a learner's or stranger's answer decides nothing
		}
		if g {
			yes++
		} else {
			no++
		}
	}
	switch {
	case yes >= r.quorum() && r.role == RolePreCandidate:
		r.becomeCandidate("won pre-vote", false)
	case yes >= r.quorum():
		r.becomeLeader()
	case cur.Voters()-no < r.quorum():
		reason := "lost election"
		if r.role == RolePreCandidate {
			reason = "lost pre-vote"
		}
		r.becomeFollower(r.term, "", reason)
	}
}

// quorum is the smallest majority of the voters in effect.
func (r *Raft) quorum() int {
	return r.confs.current().members.Voters()/2 + 1
}

// becomeFollower moves to term (which must not be below ours) as follower
// of leader ("" when unknown).
func (r *Raft) becomeFollower(term uint64, leader, reason string) {
	r.transition(term, RoleFollower, leader, reason)
	r.resetElectionTimer()
	r.votes, r.progress = nil, nil
}

// becomePreCandidate starts a pre-vote round: ask whether the peers would
// vote for us in term+1, changing neither term nor vote (thesis §9.6).
func (r *Raft) becomePreCandidate() {
	r.transition(r.term, RolePreCandidate, "", "election timeout")
	r.resetElectionTimer()
	r.votes, r.progress = map[string]bool{}, nil
	r.emit(Event{Kind: EventVoteRequested, Term: r.term + 1, PreVote: true})
	r.campaign(MsgPreVote, r.term+1, false)
}

// becomeCandidate starts an election in term+1, voting for itself (§5.2);
// transfer marks one that a leader asked for (TimeoutNow), which the
// voters' leases do not block.
func (r *Raft) becomeCandidate(reason string, transfer bool) {
	r.transition(r.term+1, RoleCandidate, "", reason)
	r.vote = r.id
	r.resetElectionTimer()
	r.votes, r.progress = map[string]bool{}, nil
	r.emit(Event{Kind: EventVoteRequested, Term: r.term})
	r.campaign(MsgVote, r.term, transfer)
}

// campaign asks every other voter for its (pre-)vote in term, then counts
// our own, which wins at once in a one-voter cluster.
func (r *Raft) campaign(t MsgType, term uint64, transfer bool) {
	for _, x := range r.confs.current().members {
		if x.ID != r.id && !x.Learner {
			r.send(Message{Type: t, To: x.ID, Term: term, LogTerm: r.log.lastTerm(), Index: r.log.lastIndex(), Transfer: transfer})
		}
	}
	r.poll(r.id, true)
}

// becomeLeader takes over the term: it starts probing every follower just
// after its own last entry and appends a no-op of its term, whose commit
// commits every earlier entry too (paper §8; §5.4.2 forbids committing
// them by counting replicas).
func (r *Raft) becomeLeader() {
	r.transition(r.term, RoleLeader, r.id, "won election")
	r.votes = nil
	cur := r.confs.current()
	r.progress = make(map[string]*progress, len(cur.members))
	for _, x := range cur.members {
		if x.ID != r.id {
			r.progress[x.ID] = newProgress(r.log.lastIndex()+1, r.maxInflight)
		}
	}
	// A configuration entry of an earlier term may still be uncommitted;
	// the next change waits for it (one at a time, thesis §4.1).
	r.pendingConf = cur.index
	r.electionElapsed, r.heartbeatElapsed = 0, 0
	if !r.appendEntry(Entry{Type: EntryNoop}) {
		r.bcastHeartbeat(0, false) // announce ourselves all the same
	}
}

// transition sets term, role and leader together, then reports each change
// in that order, so every event carries the final state. A leader that
// leaves the role drops the reads it could not confirm.
func (r *Raft) transition(term uint64, role Role, leader, reason string) {
	termChanged, roleChanged, leaderChanged := term != r.term, role != r.role, leader != r.leader
	if r.role == RoleLeader && role != RoleLeader {
		r.droppedReads = append(r.droppedReads, r.reads.drop()...)
		r.transferee, r.transferElapsed = "", 0
	}
	if termChanged {
		r.term, r.vote = term, ""
	}
	r.role, r.leader = role, leader
	if termChanged {
		r.emit(Event{Kind: EventTermChanged, Term: r.term})
	}
	if roleChanged {
		r.emit(Event{Kind: EventRoleChanged, Term: r.term, Reason: reason})
	}
	if leaderChanged {
		r.emit(Event{Kind: EventLeaderChanged, Term: r.term, Leader: r.leader})
	}
}

// setLeader records the leader of the current term.
func (r *Raft) setLeader(id string) {
	if id != r.leader {
		r.leader = id
		r.emit(Event{Kind: EventLeaderChanged, Term: r.term, Leader: id})
	}
}

// resetElectionTimer restarts the election timer with a fresh timeout in
// [T, 2T), so that nodes rarely time out together (paper §5.2).
func (r *Raft) resetElectionTimer() {
	r.electionElapsed = 0
	r.randomizedTimeout = r.electionTicks + r.rand.IntN(r.electionTicks)
}

// notLeader is the error for a request only a leader can serve.
func (r *Raft) notLeader() error {
	if r.leader == "" {
		return fmt.Errorf("%w: no leader known in term %d", ErrNotLeader, r.term)
	}
	return fmt.Errorf("%w: leader is %s", ErrNotLeader, r.leader)
}

// send queues m for the next Ready.
func (r *Raft) send(m Message) {
	m.From = r.id
	r.msgs = append(r.msgs, m)
}

// emit queues e for the next Ready, stamped with the current role.
func (r *Raft) emit(e Event) {
	e.Role = r.role
	r.events = append(r.events, e)
}
