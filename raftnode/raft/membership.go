package raft

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrConfChangeRefused is wrapped by the errors of ProposeConfChange and
// TransferLeadership for a change the leader will not make now; the
// message says why.
var ErrConfChangeRefused = errors.New("refused")

// Member is one server of a configuration.
type Member struct {
	ID string
	// Addr is where peers and clients reach it. The core only carries it,
	// so that every node learns a new member's address from the log.
	Addr    string
	Learner bool // receives the log but does not vote or count toward commit
}

// Membership is a configuration (thesis chapter 4): its members, sorted by
// ID. A node uses the newest configuration in its log, committed or not
// (§4.1), and the one before it again if that entry is truncated.
type Membership []Member

// NewMembership returns the configuration of voters ids, without
// addresses, as cluster.yaml's list starts a cluster.
func NewMembership(ids ...string) Membership {
	m := make(Membership, 0, len(ids))
	for _, id := range ids {
		m = append(m, Member{ID: id})
	}
	m.sort()
	return m
}

// sort puts the members in id order, which find relies on.
func (m Membership) sort() {
	slices.SortFunc(m, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
}

// find returns the position of id, or -1.
func (m Membership) find(id string) int {
	i, ok := slices.BinarySearchFunc(m, id, func(x Member, id string) int { return strings.Compare(x.ID, id) })
	if !ok {
		return -1
	}
	return i
}

// Has reports whether id is a member, voter or learner.
func (m Membership) Has(id string) bool { return m.find(id) >= 0 }

// IsVoter reports whether id is a voting member.
func (m Membership) IsVoter(id string) bool {
	i := m.find(id)
	return i >= 0 && !m[i].Learner
}

// Voters is how many members vote.
func (m Membership) Voters() int {
	n := 0
	for _, x := range m {
		if !x.Learner {
			n++
		}
	}
	return n
}

// Get returns id's entry.
func (m Membership) Get(id string) (Member, bool) {
	if i := m.find(id); i >= 0 {
		return m[i], true
	}
	return Member{}, false
}

// String lists the members, learners marked "◇", as people read them.
func (m Membership) String() string {
	parts := make([]string, len(m))
	for i, x := range m {
		parts[i] = x.ID
		if x.Learner {
			parts[i] = "◇" + x.ID
		}
	}
	return strings.Join(parts, " ")
}

// with returns a copy with x added or replaced.
func (m Membership) with(x Member) Membership {
	out := slices.Clone(m)
	if i := m.find(x.ID); i >= 0 {
		out[i] = x
		return out
	}
	out = append(out, x)
	out.sort()
	return out
}

// without returns a copy without id.
func (m Membership) without(id string) Membership {
	return slices.DeleteFunc(slices.Clone(m), func(x Member) bool { return x.ID == id })
}

// wireMember is a member as EncodeMembership writes it.
type wireMember struct {
	ID      string `json:"id"`
	Addr    string `json:"addr,omitempty"`
	Learner bool   `json:"learner,omitempty"`
}

// EncodeMembership is the data of a configuration entry: JSON, so that a
// person reading the log sees the members.
func EncodeMembership(m Membership) []byte {
	w := make([]wireMember, len(m))
	for i, x := range m {
		w[i] = wireMember(x)
	}
	b, err := json.Marshal(w)
	if err != nil {
		panic(fmt.Sprintf("encode membership: %v", err)) // strings and bools always encode
	}
	return b
}

// DecodeMembership reads what EncodeMembership wrote, refusing a list no
// leader writes: empty ids, an id twice, or no voter.
func DecodeMembership(b []byte) (Membership, error) {
	var w []wireMember
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("decode membership: %w", err)
	}
	m := make(Membership, len(w))
	for i, x := range w {
		m[i] = Member(x)
	}
	m.sort()
	for i, x := range m {
		switch {
		case x.ID == "":
			return nil, errors.New("decode membership: empty member id")
		case i > 0 && m[i-1].ID == x.ID:
			return nil, fmt.Errorf("decode membership: %s listed twice", x.ID)
		}
	}
	if m.Voters() == 0 {
		return nil, errors.New("decode membership: no voter")
	}
	return m, nil
}

// ConfChangeType is the kind of a single-server change.
type ConfChangeType uint8

// The changes; one server at a time (thesis §4.1).
const (
	ConfAddVoter   ConfChangeType = iota + 1 // add a voting member
	ConfAddLearner                           // add a member that only receives the log
	ConfPromote                              // make a caught-up learner a voter
	ConfRemove                               // remove a member, voter or learner
)

func (t ConfChangeType) String() string {
	switch t {
	case ConfAddVoter:
		return "add voter"
	case ConfAddLearner:
		return "add learner"
	case ConfPromote:
		return "promote"
	case ConfRemove:
		return "remove"
	default:
		return fmt.Sprintf("ConfChangeType(%d)", uint8(t))
	}
}

// ConfChange asks for one single-server change.
type ConfChange struct {
	Type ConfChangeType
	ID   string
	Addr string // ConfAddVoter, ConfAddLearner
}

func (c ConfChange) String() string {
	if c.Addr != "" {
		return fmt.Sprintf("%s %s (%s)", c.Type, c.ID, c.Addr)
	}
	return fmt.Sprintf("%s %s", c.Type, c.ID)
}

// confAt is a configuration and the index of the entry that holds it (0:
// the initial one, or a snapshot's index).
type confAt struct {
	index   uint64
	members Membership
}

// configs are the configurations a node's log holds, oldest first: the one
// in force before the log (initial or from a snapshot), then one per
// configuration entry. The last is in effect.
type configs []confAt

// current is the configuration in effect.
func (c configs) current() confAt { return c[len(c)-1] }

// DefaultPromoteMargin is how far, in entries, a learner's log may trail
// the leader's for promote to take it.
const DefaultPromoteMargin = 1000

// ProposeConfChange appends a configuration entry for cc and starts
// replicating it; it takes effect here at once and on each follower as the
// entry reaches its log (thesis §4.1). The leader refuses, wrapping
// ErrConfChangeRefused, while another change is uncommitted, before an
// entry of its own term has committed (the fix to single-server changes
// published on raft-dev in 2015: otherwise a change from an earlier term
// that this leader never saw may combine with this one into two
// disjoint majorities), during a leadership transfer, and for a change that
// cannot apply: adding a member twice, promoting a learner that is behind,
// removing a stranger or the last voter.
func (r *Raft) ProposeConfChange(cc ConfChange) (index, term uint64, err error) {
	if r.role != RoleLeader {
		return 0, 0, r.notLeader()
	}
	next, err := r.changedMembership(cc)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %s: %v", ErrConfChangeRefused, cc, err)
	}
	if !r.appendEntry(Entry{Type: EntryConfChange, Data: EncodeMembership(next)}) {
		return 0, 0, fmt.Errorf("%w: the log is at the last possible index", ErrProposalDropped)
	}
	r.pendingConf = r.log.lastIndex()
	r.emit(Event{Kind: EventConfProposed, Term: r.term, Index: r.pendingConf, Members: next, Reason: cc.String()})
	return r.log.lastIndex(), r.term, nil
}

// changedMembership checks cc against the leader's state and returns the
// configuration it leads to.
func (r *Raft) changedMembership(cc ConfChange) (Membership, error) {
	cur := r.confs.current().members
	x, known := cur.Get(cc.ID)
	switch {
	case r.transferee != "":
		return nil, fmt.Errorf("leadership transfer to %s under way", r.transferee)
	case r.pendingConf > r.commit:
		return nil, fmt.Errorf("the change at index %d is not committed yet", r.pendingConf)
	case !r.log.matchTerm(r.commit, r.term):
		return nil, fmt.Errorf("the leader has not committed an entry of term %d yet", r.term)
	case cc.ID == "":
		return nil, errors.New("empty member id")
	}
	switch cc.Type {
	case ConfAddVoter, ConfAddLearner:
		if known {
			return nil, fmt.Errorf("%s is already a member", cc.ID)
		}
		if cc.Addr == "" {
			return nil, fmt.Errorf("no address for %s", cc.ID)
		}
		return cur.with(Member{ID: cc.ID, Addr: cc.Addr, Learner: cc.Type == ConfAddLearner}), nil
	case ConfPromote:
		if !known || !x.Learner {
			return nil, fmt.Errorf("%s is not a learner", cc.ID)
		}
		p := r.progress[cc.ID]
		if last := r.log.lastIndex(); p == nil || p.state != stateReplicate || p.match+r.promoteMargin < last {
			var match uint64
			if p != nil {
				match = p.match
			}
			return nil, fmt.Errorf("%s is behind: it has %d of %d entries (margin %d)", cc.ID, match, last, r.promoteMargin)
		}
		x.Learner = false
		return cur.with(x), nil
	case ConfRemove:
		if !known {
			return nil, fmt.Errorf("%s is not a member", cc.ID)
		}
		next := cur.without(cc.ID)
		if next.Voters() == 0 {
			return nil, fmt.Errorf("%s is the last voter", cc.ID)
		}
		return next, nil
	}
	return nil, fmt.Errorf("unknown change type %d", cc.Type)
}

// Membership returns the configuration in effect and the index of its
// entry (0: the initial configuration).
func (r *Raft) Membership() (Membership, uint64) {
	c := r.confs.current()
	return slices.Clone(c.members), c.index
}

// isVoter reports whether this node votes in the configuration in effect.
func (r *Raft) isVoter() bool { return r.confs.current().members.IsVoter(r.id) }

// logAppended tracks the configuration entries in es, just put in the log
// from es[0].Index on: configurations from that index on were truncated
// and go first (the previous one is back), then each entry's takes effect.
func (r *Raft) logAppended(es []Entry) {
	if len(es) == 0 {
		return
	}
	from := es[0].Index
	changed := false
	for len(r.confs) > 1 && r.confs.current().index >= from {
		gone := r.confs.current()
		r.confs = r.confs[:len(r.confs)-1]
		changed = true
		r.emit(Event{Kind: EventConfRolledBack, Term: r.term, Index: gone.index, Members: r.confs.current().members,
			Reason: fmt.Sprintf("configuration at %d truncated; %s in effect again", gone.index, r.confs.current().members)})
	}
	for _, e := range es {
		if e.Type != EntryConfChange {
			continue
		}
		m, err := DecodeMembership(e.Data)
		if err != nil {
			// Only leaders write these entries, with EncodeMembership;
			// one that does not decode came from a broken peer, and
			// changing nothing is all that is safe.
			continue
		}
		r.confs = append(r.confs, confAt{index: e.Index, members: m})
		changed = true
		r.emit(Event{Kind: EventConfApplied, Term: r.term, Index: e.Index, Members: m,
			Reason: fmt.Sprintf("configuration at %d in effect: %s", e.Index, m)})
	}
	if changed {
		r.configChanged()
	}
}

// resetConfigs makes base, from a snapshot at index, the only
// configuration known, when the snapshot replaces the log.
func (r *Raft) resetConfigs(index uint64, base Membership) {
	if len(base) == 0 {
		return // a snapshot that does not say keeps what we know
	}
	r.confs = configs{{index: index, members: base}}
	r.emit(Event{Kind: EventConfApplied, Term: r.term, Index: index, Members: base,
		Reason: fmt.Sprintf("configuration from snapshot at %d in effect: %s", index, base)})
	r.configChanged()
}

// configChanged adjusts a leader's followers to the configuration in
// effect: a new member is probed from the end of the log, a removed one
// is forgotten, and commit and read counts use the new voters at once.
func (r *Raft) configChanged() {
	if r.role != RoleLeader {
		return
	}
	cur := r.confs.current().members
	for id := range r.progress {
		if !cur.Has(id) {
			delete(r.progress, id)
		}
	}
	for _, x := range cur {
		if x.ID != r.id && r.progress[x.ID] == nil {
			r.progress[x.ID] = newProgress(r.log.lastIndex()+1, r.maxInflight)
		}
	}
	if r.transferee != "" && !cur.IsVoter(r.transferee) {
		r.abortTransfer(fmt.Sprintf("%s is no longer a voter", r.transferee))
	}
	// Fewer voters may make a quorum of what is already replicated.
	if r.maybeCommit() {
		r.bcastCommit()
	}
}

// committedConfig is called when the commit index moves: it reports a
// configuration entry that became committed and, on a leader that the
// committed configuration leaves out, steps down (thesis §4.2.2: it led
// until then, without counting itself).
func (r *Raft) committedConfig(from uint64) {
	for _, c := range r.confs {
		if c.index > from && c.index <= r.commit {
			r.emit(Event{Kind: EventConfCommitted, Term: r.term, Index: c.index, Members: c.members,
				Reason: fmt.Sprintf("configuration at %d committed: %s", c.index, c.members)})
		}
	}
	cur := r.confs.current()
	if r.role == RoleLeader && cur.index <= r.commit && !cur.members.IsVoter(r.id) {
		r.becomeFollower(r.term, "", "removed from the configuration")
	}
}
