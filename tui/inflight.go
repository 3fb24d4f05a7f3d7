package tui

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

const (
	// minTravel is the least time a message is drawn travelling, however
	// short the nodes' slowed heartbeat.
	minTravel = 200 * time.Millisecond
	// arrivedLinger is how long a message stays drawn at its receiver
	// once it arrived, so that the eye catches where it went.
	arrivedLinger = 600 * time.Millisecond
	// lostAfter is how many travel times a message may take before it is
	// marked lost (a partition, a paused node, a full queue), and
	// lostLinger how long the mark stays.
	lostAfter  = 4
	lostLinger = 3 * time.Second
	// maxFlights bounds the messages remembered: past it the oldest go.
	maxFlights = 256
)

// flightKey names one traced message: its sender and the sender's trace
// number (MESSAGE events, raftnode's msgtrace.go).
type flightKey struct {
	from string
	id   uint64
}

// flight is one Raft message the nodes traced in slow motion, from the
// sender's report (or the receiver's, if that came first) until it has
// arrived and lingered, or been marked lost.
type flight struct {
	key flightKey
	to  string
	// msg is the message as a traffic line: kind, pre-vote, term,
	// entries, match, snapshot bytes.
	msg *pb.Traffic
	// reason is a vote refusal's reason.
	reason string
	// sentAt is when the dashboard learnt of it; arrivedAt when the
	// receiver reported it, zero until then.
	sentAt, arrivedAt time.Time
	// travel is how long its delivery should take: a quarter of the
	// sender's slowed heartbeat, as slow motion delays each message.
	travel time.Duration
}

// progress is how far along its lane f is at now, from 0 (at the sender)
// to 1 (at the receiver): by the time it should take until the receiver
// reports it, never past 0.9 before that.
func (f *flight) progress(now time.Time) float64 {
	if !f.arrivedAt.IsZero() {
		return 1
	}
	return min(float64(now.Sub(f.sentAt))/float64(f.travel), 0.9)
}

// lost reports whether f should have arrived long ago and has not.
func (f *flight) lost(now time.Time) bool {
	return f.arrivedAt.IsZero() && now.Sub(f.sentAt) > lostAfter*f.travel
}

// gone reports whether f is no longer drawn at now.
func (f *flight) gone(now time.Time) bool {
	if !f.arrivedAt.IsZero() {
		return now.Sub(f.arrivedAt) > arrivedLinger
	}
	return now.Sub(f.sentAt) > lostAfter*f.travel+lostLinger
}

// inFlight holds the messages traced in slow motion, for the lanes.
type inFlight struct {
	byKey map[flightKey]*flight
}

// observe takes one MESSAGE event, received at now; travel is how long
// the sender's messages take in slow motion.
func (s *inFlight) observe(ev *pb.WatchEvent, now time.Time, travel time.Duration) {
	if len(ev.GetTraffic()) == 0 {
		return
	}
	t := ev.GetTraffic()[0]
	key := flightKey{t.GetFrom(), t.GetId()}
	if s.byKey == nil {
		s.byKey = map[flightKey]*flight{}
	}
	f := s.byKey[key]
	if f == nil {
		s.forget(now)
		f = &flight{key: key, to: t.GetTo(), msg: t, reason: ev.GetReason(), sentAt: now, travel: max(travel, minTravel)}
		s.byKey[key] = f
	}
	if !t.GetSent() {
		f.arrivedAt = now
	}
}

// forget drops the messages no longer drawn, and the oldest beyond
// maxFlights.
func (s *inFlight) forget(now time.Time) {
	for k, f := range s.byKey {
		if f.gone(now) {
			delete(s.byKey, k)
		}
	}
	if len(s.byKey) < maxFlights {
		return
	}
	all := s.list(time.Time{})
	for _, f := range all[:len(all)-maxFlights+1] {
		delete(s.byKey, f.key)
	}
}

// list returns the messages drawn at now (all of them for the zero
// time), in the order they were sent.
func (s *inFlight) list(now time.Time) []*flight {
	var out []*flight
	for _, f := range s.byKey {
		if now.IsZero() || !f.gone(now) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b *flight) int {
		return cmp.Or(a.sentAt.Compare(b.sentAt), cmp.Compare(a.key.from, b.key.from), cmp.Compare(a.key.id, b.key.id))
	})
	return out
}

// glyph and label say what kind of message t is, in one cell and a few
// words: each kind has its own glyph (the legend lists them).
func glyph(t *pb.Traffic) (string, string) {
	pre := ""
	if t.GetPreVote() {
		pre = "pre-"
	}
	switch t.GetKind() {
	case pb.Traffic_VOTE:
		if t.GetPreVote() {
			return "◇", fmt.Sprintf("pre-vote? t%d", t.GetTerm())
		}
		return "◆", fmt.Sprintf("vote? t%d", t.GetTerm())
	case pb.Traffic_VOTE_GRANTED:
		return "●", fmt.Sprintf("%svote yes t%d", pre, t.GetTerm())
	case pb.Traffic_VOTE_DENIED:
		return "○", fmt.Sprintf("%svote no t%d", pre, t.GetTerm())
	case pb.Traffic_APPEND:
		return "■", fmt.Sprintf("append %d", t.GetEntries())
	case pb.Traffic_HEARTBEAT:
		return "♡", "heartbeat"
	case pb.Traffic_APPEND_OK:
		return "▪", fmt.Sprintf("ok %d", t.GetMatch())
	case pb.Traffic_APPEND_REJECT:
		return "▫", "reject"
	case pb.Traffic_INSTALL_SNAPSHOT:
		return "▤", "snapshot " + progressText(t.GetDoneBytes(), t.GetTotalBytes())
	case pb.Traffic_TIMEOUT_NOW:
		return "»", "timeout-now"
	}
	return "?", t.GetKind().String()
}

// flightLegend lists the glyphs, for the heading of the lanes.
const flightLegend = "◆ vote? ● yes ○ no ■ append ♡ heartbeat ▪ ok ▫ reject ▤ snapshot » timeout-now ✗ lost"
