package tui

import (
	"cmp"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/charmbracelet/x/ansi"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// eventLogSize is how many event lines the pane keeps; older ones are
// dropped, so a long-running dashboard does not grow.
const eventLogSize = 500

// eventLine is one line of the event pane.
type eventLine struct {
	// at is when it happened: the node's clock for stream events, the
	// dashboard's for its own notes (connected, unreachable) and for the
	// results of commands.
	at time.Time
	// node is the id of the node it happened on, or promptNode for the
	// result of a command typed at the prompt.
	node string
	// text says what happened, without the node id.
	text string
	// warn draws it in the warning style: something went badly wrong
	// (a follower lost entries it had acknowledged).
	warn bool
}

// eventLog is a ring of the last eventLogSize lines.
type eventLog struct {
	// ring holds the lines; once full, next is the oldest.
	ring []eventLine
	// next is where the next line goes once the ring is full.
	next int
	// total counts every line ever added, for the pane's heading.
	total int
}

// add adds a line in timestamp order, dropping the oldest when the log is
// full. Lines come from several nodes, each stamped by its own clock, and
// a node's batch can arrive after another node's later lines: the new line
// moves back past every line stamped after it (lines stamped alike keep the
// order they came in).
func (l *eventLog) add(e eventLine) {
	l.total++
	if len(l.ring) < eventLogSize {
		l.ring = append(l.ring, e)
	} else {
		l.ring[l.next] = e
		l.next = (l.next + 1) % eventLogSize
	}
	n := len(l.ring)
	at := func(i int) *eventLine { return &l.ring[(l.next+i)%n] } // the i-th oldest
	for i := n - 1; i > 0 && at(i-1).at.After(at(i).at); i-- {
		*at(i - 1), *at(i) = *at(i), *at(i - 1)
	}
}

// last returns the newest n lines (fewer if fewer are kept), oldest first.
func (l *eventLog) last(n int) []eventLine {
	n = max(0, min(n, len(l.ring)))
	out := make([]eventLine, 0, n)
	for i := len(l.ring) - n; i < len(l.ring); i++ {
		out = append(out, l.ring[(l.next+i)%len(l.ring)])
	}
	return out
}

// describe turns a watch event other than STATUS (which feeds the cards)
// into an event-pane line. node names the connection the event came on, for
// events that do not name their node; before is the configuration that
// node reported last, from which a proposal's change is worded; now stamps
// events that carry no time and gives the time zone to show.
func describe(ev *pb.WatchEvent, node string, before []*pb.Member, now time.Time) eventLine {
	at := now
	if ms := ev.GetUnixMs(); ms > 0 {
		at = time.UnixMilli(ms).In(now.Location())
	}
	if id := ev.GetNodeId(); id != "" {
		node = id
	}
	return eventLine{at: at, node: clean(node), text: clean(eventText(ev, node, before)), warn: ev.GetKind() == pb.WatchEvent_LOST_ENTRIES}
}

// clean replaces control characters, which a node could send in a reason or
// an error, so that they cannot move the cursor or break the layout.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// eventText says what ev means, in words, for the node it happened on,
// whose configuration was before.
func eventText(ev *pb.WatchEvent, node string, before []*pb.Member) string {
	vote := "vote"
	if ev.GetPreVote() {
		vote = "pre-vote"
	}
	term := ev.GetTerm()
	switch ev.GetKind() {
	case pb.WatchEvent_ROLE_CHANGED:
		// The reason says why when it is news: a leader that steps down
		// because it was removed from the configuration.
		return fmt.Sprintf("became %s (term %d)", netlink.RoleName(ev.GetRole()), term) + reasonSuffix(ev)
	case pb.WatchEvent_TERM_CHANGED:
		return fmt.Sprintf("moved to term %d", term)
	case pb.WatchEvent_VOTE_REQUESTED:
		return fmt.Sprintf("asked for %ss (term %d)", vote, term)
	case pb.WatchEvent_VOTE_GRANTED:
		return fmt.Sprintf("granted %s to %s (term %d)", vote, ev.GetPeer(), term)
	case pb.WatchEvent_VOTE_DENIED:
		if r := ev.GetReason(); r != "" {
			return fmt.Sprintf("denied %s to %s: %s", vote, ev.GetPeer(), r)
		}
		return fmt.Sprintf("denied %s to %s (term %d)", vote, ev.GetPeer(), term)
	case pb.WatchEvent_LEADER_CHANGED:
		switch leader := ev.GetLeaderId(); leader {
		case "":
			return fmt.Sprintf("lost its leader (term %d)", term)
		case node:
			return fmt.Sprintf("is the leader (term %d)", term)
		default:
			return fmt.Sprintf("follows leader %s (term %d)", leader, term)
		}
	case pb.WatchEvent_PAUSED:
		return "paused"
	case pb.WatchEvent_RESUMED:
		return "resumed"
	case pb.WatchEvent_FAULT_CHANGED:
		// The node words the change itself: "partitioned from n1, n3".
		if r := ev.GetReason(); r != "" {
			return r
		}
		return "changed its network faults"
	case pb.WatchEvent_TIMER_CHANGED:
		// "slow motion ×20", "election timer held", ...
		if r := ev.GetReason(); r != "" {
			return r
		}
		return "changed its timers"
	case pb.WatchEvent_SNAPSHOT_TAKEN:
		return fmt.Sprintf("took a snapshot at %d%s", ev.GetIndex(), sizeSuffix(ev.GetBytes()))
	case pb.WatchEvent_LOG_COMPACTED:
		return fmt.Sprintf("compacted its log below %d", ev.GetIndex())
	case pb.WatchEvent_SNAPSHOT_SENT:
		if r := ev.GetReason(); r != "" {
			return fmt.Sprintf("→ %s snapshot at %d failed: %s", ev.GetPeer(), ev.GetIndex(), r)
		}
		return fmt.Sprintf("→ %s snapshot at %d sent%s", ev.GetPeer(), ev.GetIndex(), sizeSuffix(ev.GetBytes()))
	case pb.WatchEvent_SNAPSHOT_INSTALLED:
		return fmt.Sprintf("installed the snapshot at %d from %s%s", ev.GetIndex(), ev.GetPeer(), sizeSuffix(ev.GetBytes()))
	case pb.WatchEvent_LOST_ENTRIES:
		return fmt.Sprintf("%s %s lost entries it acknowledged (had %d): its data is gone", lostGlyph, ev.GetPeer(), ev.GetIndex())
	case pb.WatchEvent_CONF_PROPOSED:
		// The change as the dashboard reads it from the configurations
		// before and after, else as the node words it.
		what := cmp.Or(confChange(before, ev.GetMembers()), ev.GetReason(), "the configuration "+membersText(ev.GetMembers()))
		return fmt.Sprintf("proposes %s (at %d)", what, ev.GetIndex())
	case pb.WatchEvent_CONF_APPLIED:
		return fmt.Sprintf("configuration at %d in effect: %s", ev.GetIndex(), membersText(ev.GetMembers()))
	case pb.WatchEvent_CONF_COMMITTED:
		return fmt.Sprintf("configuration at %d committed", ev.GetIndex()) + membersSuffix(ev)
	case pb.WatchEvent_CONF_ROLLED_BACK:
		return fmt.Sprintf("configuration at %d rolled back", ev.GetIndex()) + reasonSuffix(ev) + membersSuffix(ev)
	case pb.WatchEvent_TRANSFER_STARTED:
		return "hands leadership to " + ev.GetPeer() + reasonSuffix(ev)
	case pb.WatchEvent_TRANSFER_ABORTED:
		return "gave up handing leadership to " + ev.GetPeer() + reasonSuffix(ev)
	case pb.WatchEvent_TIMEOUT_NOW:
		from := ""
		if p := ev.GetPeer(); p != "" {
			from = " from " + p
		}
		return fmt.Sprintf("got TimeoutNow%s: campaigns at once (term %d)", from, term)
	default:
		return fmt.Sprintf("sent event %s", ev.GetKind())
	}
}

// reasonSuffix is ": " and the node's reason for ev, or "" without one.
func reasonSuffix(ev *pb.WatchEvent) string {
	if r := ev.GetReason(); r != "" {
		return ": " + r
	}
	return ""
}

// membersSuffix is ": " and the configuration ev carries, or "" without
// one.
func membersSuffix(ev *pb.WatchEvent) string {
	if len(ev.GetMembers()) > 0 {
		return ": " + membersText(ev.GetMembers())
	}
	return ""
}

// viewEvents draws the event pane width cells wide and height lines tall:
// a heading, then the newest lines that fit, oldest first, each cut to the
// width, a warning's text in the warning style.
func viewEvents(c *programContext, log *eventLog, width, height int) string {
	if height < 1 {
		return ""
	}
	st := &c.styles
	heading := st.Section.Render("events") + " " + st.Faint.Render(fmt.Sprintf("(%d)", log.total))
	lines := make([]string, 0, height)
	lines = append(lines, ansi.Truncate(heading, width, "…"))
	for _, e := range log.last(height - 1) {
		text := e.text
		if e.warn {
			text = st.Warning.Render(text)
		}
		line := st.EventTime.Render(e.at.Format("15:04:05.000")) + " " +
			st.EventNode.Render(e.node) + " " + text
		lines = append(lines, ansi.Truncate(line, width, "…"))
	}
	return padLines(strings.Join(lines, "\n"), height)
}
