package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// nodeState is what the dashboard knows about one node. It is only touched in
// Update; the tea.Cmds that do the I/O for it get copies of what they need.
type nodeState struct {
	// node is the id and address from the cluster file, or from the
	// configuration that made it a member.
	node Node
	// conn is the open connection; nil while dialling or down.
	conn NodeConn
	// stream is conn's watch channel; nil with conn.
	stream <-chan *pb.WatchEvent
	// cancel ends conn's watch; nil with conn.
	cancel context.CancelFunc
	// status is the latest status the node sent; nil until the first STATUS event of the
	// current connection, so a DOWN card never shows stale numbers.
	status *pb.NodeStatus
	// statusAt is when status arrived, by the model's clock: the election
	// timer is interpolated from here.
	statusAt time.Time
	// err is why the node is unreachable; nil while connected and before the
	// first failure. It stays set while a retry is dialling.
	err error
	// failures counts failed connection attempts in a row; it sets the
	// backoff.
	failures int
	// retryAt is when the next dial starts; zero while dialling or connected.
	retryAt time.Time
	// log is what the statuses' log tails told of the node's log, for the
	// log view; kept while the node is down, as its last known log.
	log logCache
	// beatAt is when the leader card's heartbeat mark last lit up, by the
	// model's clock (see pulseLit).
	beatAt time.Time
	// heardAt is when the node last said anything, by the model's clock: an
	// event on its stream, or an answer to a request.
	heardAt time.Time
	// silentFor is how long the node has said nothing, once that is longer
	// than silentAfter allows; zero while it is heard. A connection can
	// stay open to a process that is stopped (SIGSTOP) or wedged: its last
	// status then shows only as history. Set by Model.markSilence at every
	// Update, so that View reads it without a clock.
	silentFor time.Duration
	// member is the node's place in the configuration (membership.go):
	// by the leader's configuration, else by the node's own status; kept
	// while the node is down.
	member memberRole
	// retired says the node was removed from the configuration and then
	// became unreachable: it has no card and is not dialled again, unless
	// a configuration lists it again or a dial already under way connects.
	retired bool
}

// heard records that the node said something at now.
func (n *nodeState) heard(now time.Time) {
	n.heardAt, n.silentFor = now, 0
}

// silentAfter is how long a connected node may say nothing before it counts
// as silent: an election timeout (the time in which its peers give up on
// it) plus the status interval at which it should speak anyway.
func (n *nodeState) silentAfter(statusInterval time.Duration) time.Duration {
	timeout := time.Duration(n.status.GetBaseElectionTimeoutMs()) * time.Millisecond
	if timeout <= 0 {
		timeout = defaultSilentTimeout
	}
	return timeout + statusInterval
}

// defaultSilentTimeout stands for the election timeout of a node whose
// status does not give it.
const defaultSilentTimeout = time.Second

// live says the node takes part in the cluster now, as far as the
// dashboard knows: connected with a status, heard lately, not paused.
// Only a live node can be counted up or read as the leader.
func (n *nodeState) live() bool {
	return n.status != nil && n.silentFor == 0 && !n.status.GetPaused()
}

// badge is the word-and-glyph label of a node's state on its card.
type badge int

const (
	badgeConnecting badge = iota
	badgeDown
	badgeSilent
	badgePaused
	badgeFollower
	badgePreCandidate
	badgeCandidate
	badgeLeader
)

// badge says what the node's card is headed with. A silent or paused node
// is headed with that, not its role: its role is history (wasRole).
func (n *nodeState) badge() badge {
	switch {
	case n.status != nil && n.silentFor > 0:
		return badgeSilent
	case n.status.GetPaused():
		return badgePaused
	case n.status != nil:
		switch n.status.GetRole() {
		case pb.Role_ROLE_LEADER:
			return badgeLeader
		case pb.Role_ROLE_CANDIDATE:
			return badgeCandidate
		case pb.Role_ROLE_PRE_CANDIDATE:
			return badgePreCandidate
		default:
			return badgeFollower
		}
	case n.err != nil:
		return badgeDown
	default:
		return badgeConnecting
	}
}

// text is the badge as read without colour: a glyph and a word.
func (b badge) text() string {
	switch b {
	case badgeLeader:
		return "★ " + strings.ToUpper(netlink.RoleName(pb.Role_ROLE_LEADER))
	case badgeCandidate:
		return "◐ " + netlink.RoleName(pb.Role_ROLE_CANDIDATE)
	case badgePreCandidate:
		return "◌ " + netlink.RoleName(pb.Role_ROLE_PRE_CANDIDATE)
	case badgeFollower:
		return "● " + netlink.RoleName(pb.Role_ROLE_FOLLOWER)
	case badgeDown:
		return "✖ DOWN"
	case badgeSilent:
		return silentText
	case badgePaused:
		return pausedText
	default:
		return "… connecting"
	}
}

// acting says the node's status shows what its role is doing now: not
// while it is silent (unknown), nor while a leader is paused (it sends no
// heartbeats). A paused follower's timer shows, stopped.
func (n *nodeState) acting() bool {
	return n.silentFor == 0 && !(n.status.GetPaused() && n.status.GetRole() == pb.Role_ROLE_LEADER)
}

// silentText heads the card of a node that has gone silent; the card adds
// for how long.
const silentText = "✖ silent"

// wasRole is the last role a silent or paused node reported, as history:
// "was leader, term 6".
func (n *nodeState) wasRole() string {
	return fmt.Sprintf("was %s, term %d", netlink.RoleName(n.status.GetRole()), n.status.GetTerm())
}

// glyph is the badge's glyph alone, for the log view's narrow row labels.
func (b badge) glyph() string {
	g, _, _ := strings.Cut(b.text(), " ")
	return g
}

// style is the badge's colour, also used for the card border.
func (b badge) style(st *Styles) lipgloss.Style {
	switch b {
	case badgeLeader:
		return st.Leader
	case badgeCandidate:
		return st.Candidate
	case badgePreCandidate:
		return st.PreCandidate
	case badgeFollower:
		return st.Follower
	case badgeDown, badgeSilent:
		return st.Down
	case badgePaused:
		return st.Paused
	default:
		return st.Connecting
	}
}

// pausedText heads a paused node's card; pausedGlyph stands for it where
// there is room for one cell only.
const (
	pausedText  = pausedGlyph + " PAUSED"
	pausedGlyph = "⏸"
)

// The marks of a node's network faults, next to its role badge: the scissors
// say a link is cut, the stopwatch that the node's messages are held.
const (
	// partitionedText marks a node cut off from every peer.
	partitionedText = "✂ PARTITIONED"
	// isolatedText is followed by the peers a node is cut off from.
	isolatedText = "✂ isolated from "
	// delayText is followed by the delay added to a node's messages.
	delayText = "⏱ +"
)

// faultMarks are the marks of the network faults the node reports, as read
// without colour: "✂ PARTITIONED", "✂ isolated from n2,n3", "⏱ +200ms".
func (n *nodeState) faultMarks() []string {
	st := n.status
	var marks []string
	if st.GetPartitioned() {
		marks = append(marks, partitionedText)
	}
	if peers := st.GetIsolatedFrom(); len(peers) > 0 {
		marks = append(marks, isolatedText+clean(strings.Join(peers, ",")))
	}
	if ms := st.GetDelayMs(); ms > 0 {
		marks = append(marks, delayText+(time.Duration(ms)*time.Millisecond).String())
	}
	return marks
}

// beat records, at now, that the node sent heartbeats or entries: the mark
// lights up, unless it did less than pulsePeriod ago.
func (n *nodeState) beat(now time.Time) {
	if n.beatAt.IsZero() || now.Sub(n.beatAt) >= pulsePeriod {
		n.beatAt = now
	}
}

// pulsing says the heartbeat mark is lit: within pulseLit of a beat.
func (n *nodeState) pulsing(now time.Time) bool {
	return !n.beatAt.IsZero() && now.Sub(n.beatAt) < pulseLit
}

// electionRemaining is the node's election timer now: what the last status
// said, less the time since it arrived, never below zero. A paused node's
// timers are stopped, so its timer does not drain.
func (n *nodeState) electionRemaining(now time.Time) time.Duration {
	st := n.status
	left := time.Duration(st.GetElectionRemainingMs()) * time.Millisecond
	if !st.GetPaused() {
		left -= now.Sub(n.statusAt)
	}
	return max(left, 0)
}
