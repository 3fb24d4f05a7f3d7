package raftnode

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/raftnode/raft"
)

// trafficWindow is how often, at most, a node publishes a MESSAGES event:
// the default status interval of a watch. netlink holds back and merges
// the events for a watch that asked for a longer interval.
const trafficWindow = 100 * time.Millisecond

// trafficSlot is a kind of Raft message as a watcher sees it; the vote
// kinds come twice, for votes and for pre-votes.
type trafficSlot uint8

const (
	slotAppend trafficSlot = iota
	slotHeartbeat
	slotAppendOK
	slotAppendReject
	slotVote
	slotVoteGranted
	slotVoteDenied
	slotPreVote
	slotPreVoteGranted
	slotPreVoteDenied
	slotSnapshot // InstallSnapshot chunks; counted by the snapshot sender and receiver
	numTrafficSlots
)

// slotWire is each slot's kind and pre-vote flag on the wire.
var slotWire = [numTrafficSlots]struct {
	kind    pb.Traffic_Kind
	preVote bool
}{
	slotAppend:         {pb.Traffic_APPEND, false},
	slotHeartbeat:      {pb.Traffic_HEARTBEAT, false},
	slotAppendOK:       {pb.Traffic_APPEND_OK, false},
	slotAppendReject:   {pb.Traffic_APPEND_REJECT, false},
	slotVote:           {pb.Traffic_VOTE, false},
	slotVoteGranted:    {pb.Traffic_VOTE_GRANTED, false},
	slotVoteDenied:     {pb.Traffic_VOTE_DENIED, false},
	slotPreVote:        {pb.Traffic_VOTE, true},
	slotPreVoteGranted: {pb.Traffic_VOTE_GRANTED, true},
	slotPreVoteDenied:  {pb.Traffic_VOTE_DENIED, true},
	slotSnapshot:       {pb.Traffic_INSTALL_SNAPSHOT, false},
}

// slotOf returns m's slot, or numTrafficSlots for a type no peer sends.
func slotOf(m *raft.Message) trafficSlot {
	switch m.Type {
	case raft.MsgApp:
		if len(m.Entries) > 0 {
			return slotAppend
		}
		return slotHeartbeat
	case raft.MsgAppResp:
		if m.Reject {
			return slotAppendReject
		}
		return slotAppendOK
	case raft.MsgVote:
		return slotVote
	case raft.MsgPreVote:
		return slotPreVote
	case raft.MsgVoteResp:
		if m.Reject {
			return slotVoteDenied
		}
		return slotVoteGranted
	case raft.MsgPreVoteResp:
		if m.Reject {
			return slotPreVoteDenied
		}
		return slotPreVoteGranted
	}
	return numTrafficSlots
}

// trafficLine totals the messages of one direction, peer and slot.
type trafficLine struct {
	count   int64 // messages
	entries int64 // entries they carried
	match   int64 // highest index an accepted MsgAppResp reported
	term    int64 // highest term among them
	// snapshot chunks: the bytes they carried, the snapshot's size, and
	// how far the transfer got
	bytes, total, done int64
}

// add counts o's messages in l.
func (l *trafficLine) add(o trafficLine) {
	l.count += o.count
	l.entries += o.entries
	l.match = max(l.match, o.match)
	l.term = max(l.term, o.term)
	l.bytes += o.bytes
	l.total = max(l.total, o.total)
	l.done = max(l.done, o.done)
}

// trafficTable counts messages by direction, peer and slot in lines sized
// once, so that counting on the hot path allocates nothing. It is not
// safe for concurrent use.
type trafficTable struct {
	peers []string // the other members, sorted; shared, never modified
	// lines holds one line per direction (sent first), peer (in peers'
	// order) and slot.
	lines   []trafficLine
	counted bool // a message was counted since the last reset
}

func newTrafficTable(peers []string) trafficTable {
	return trafficTable{peers: peers, lines: make([]trafficLine, 2*len(peers)*int(numTrafficSlots))}
}

// line returns the line of a direction, peer index and slot.
func (t *trafficTable) line(sent bool, peer int, s trafficSlot) *trafficLine {
	i := peer*int(numTrafficSlots) + int(s)
	if !sent {
		i += len(t.peers) * int(numTrafficSlots)
	}
	return &t.lines[i]
}

// count adds m, sent to m.To or received from m.From. Messages to or from
// a node that is not a member are not counted: there is no line for them.
func (t *trafficTable) count(sent bool, m *raft.Message) {
	peer := m.From
	if sent {
		peer = m.To
	}
	p, ok := slices.BinarySearch(t.peers, peer)
	s := slotOf(m)
	if !ok || s == numTrafficSlots {
		return
	}
	l := t.line(sent, p, s)
	l.count++
	l.entries += int64(len(m.Entries))
	if s == slotAppendOK {
		l.match = max(l.match, int64(m.Index))
	}
	l.term = max(l.term, int64(m.Term))
	t.counted = true
}

// withPeers returns a table over peers (sorted) holding t's counts of the
// peers both have.
func (t *trafficTable) withPeers(peers []string) trafficTable {
	n := newTrafficTable(peers)
	for p, peer := range peers {
		q, ok := slices.BinarySearch(t.peers, peer)
		if !ok {
			continue
		}
		for _, sent := range []bool{true, false} {
			for s := range numTrafficSlots {
				*n.line(sent, p, s) = *t.line(sent, q, s)
			}
		}
	}
	n.counted = t.counted
	return n
}

// addFrom adds o's counts, over the same peers, to t and resets o.
func (t *trafficTable) addFrom(o *trafficTable) {
	if !o.counted {
		return
	}
	for i, l := range o.lines {
		t.lines[i].add(l)
	}
	t.counted = true
	o.reset()
}

// reset forgets everything counted.
func (t *trafficTable) reset() {
	clear(t.lines)
	t.counted = false
}

// toWire returns the lines counted, as seen by node self: sent before
// received, each by peer and kind.
func (t *trafficTable) toWire(self string) []*pb.Traffic {
	n := 0
	for _, l := range t.lines {
		if l.count > 0 {
			n++
		}
	}
	out := make([]*pb.Traffic, 0, n)
	block := make([]pb.Traffic, n)
	for _, sent := range []bool{true, false} {
		for p, peer := range t.peers {
			for s := range numTrafficSlots {
				l := t.line(sent, p, s)
				if l.count == 0 {
					continue
				}
				w := &block[len(out)]
				w.Kind, w.PreVote, w.Sent = slotWire[s].kind, slotWire[s].preVote, sent
				w.From, w.To = peer, self
				if sent {
					w.From, w.To = self, peer
				}
				w.Count, w.Entries, w.Match, w.Term = l.count, l.entries, l.match, l.term
				w.Bytes, w.TotalBytes, w.DoneBytes = l.bytes, l.total, l.done
				out = append(out, w)
			}
		}
	}
	return out
}

// sharedTraffic is a trafficTable for the persister and the snapshot
// goroutines, which count the messages they send while the loop collects
// them; in slow motion they trace each one too.
type sharedTraffic struct {
	mu     sync.Mutex   // guards t
	t      trafficTable // what the persister sent since the loop last took it
	tracer *msgTracer
}

// countSent counts msgs as sent, under one lock, and traces them.
func (s *sharedTraffic) countSent(msgs []raft.Message) {
	if len(msgs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range msgs {
		s.t.count(true, &msgs[i])
		s.tracer.sent(&msgs[i])
	}
}

// countSnapshot counts one snapshot chunk of n bytes from one node to
// another, sent by this node or received, in a transfer of total bytes
// that has got to done, and traces it when trace is not 0.
func (s *sharedTraffic) countSnapshot(from, to string, sent bool, trace uint64, term, n, total, done int64) {
	s.tracer.chunk(from, to, sent, trace, term, n, total, done)
	peer := from
	if sent {
		peer = to
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := slices.BinarySearch(s.t.peers, peer)
	if !ok {
		return
	}
	l := s.t.line(sent, p, slotSnapshot)
	l.count++
	l.bytes += n
	l.total = max(l.total, total)
	l.done = max(l.done, done)
	s.t.counted = true
}

// moveTo adds what s counted to t and resets s.
func (s *sharedTraffic) moveTo(t *trafficTable) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.addFrom(&s.t)
}

// otherMembers returns the members but self, sorted.
func otherMembers(members map[string]string, self string) []string {
	peers := make([]string, 0, len(members))
	for id := range members {
		if id != self {
			peers = append(peers, id)
		}
	}
	sort.Strings(peers)
	return peers
}
