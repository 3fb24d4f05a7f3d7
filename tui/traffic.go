package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/easykv/easykv/netlink/pb"
)

const (
	// trafficWindow is how far back the traffic pane adds up messages: long
	// enough that a vote round stays on screen to be read, short enough
	// that the counts read as "per couple of seconds".
	trafficWindow = 2 * time.Second
	// pulseLit and pulsePeriod make the leader's heartbeat mark beat at a
	// pace the eye can follow however often heartbeats go out: lit for
	// pulseLit when a MESSAGES event says the node sent heartbeats or
	// entries, then not lit again before pulsePeriod has passed. When the
	// heartbeats stop, so does the beat.
	pulseLit    = 250 * time.Millisecond
	pulsePeriod = 500 * time.Millisecond
	// minLostCount is how many messages a sender must have counted in the
	// window, with none received, before a flow is marked "none received":
	// one alone may still be in flight at the window's edge.
	minLostCount = 2
)

// flowKey names one direction of one kind of message between two nodes, as
// counted by one side.
type flowKey struct {
	// from and to are the sender and receiver ids.
	from, to string
	// kind is the message kind.
	kind pb.Traffic_Kind
	// preVote tells a pre-vote round's messages from a real one's.
	preVote bool
	// sent says the sender counted these; false, the receiver.
	sent bool
}

// trafficSample is one MESSAGES event's count for a flow.
type trafficSample struct {
	// at is when the dashboard received it, by the injected clock.
	at time.Time
	// count, entries, match and term are the Traffic record's.
	count, entries, match, term int64
	// done and total are an INSTALL_SNAPSHOT record's done_bytes and
	// total_bytes: how far the transfer had got, of how much.
	done, total int64
}

// trafficLog adds up the MESSAGES events of every node over the last
// trafficWindow.
type trafficLog struct {
	// flows are the samples of each flow, oldest first, all within the
	// window of the latest add.
	flows map[flowKey][]trafficSample
	// receipts is when each node last reported messages it received: a
	// receiver that reports nothing for a flow it is sent only counts as
	// "none received" if it reports what it receives at all.
	receipts map[string]time.Time
	// faults are the network faults each node last reported: a node
	// that is partitioned, or isolated from a sender, receives nothing of
	// it, so it reports no receipts to judge by; its fault says why.
	faults map[string]nodeFaults
	// version counts the adds, so that cached lines know they are stale.
	version uint64
	// cached are the lines last computed, valid for cachedVersion from
	// cachedAt until cachedUntil (when their oldest sample leaves the
	// window): View runs after every message, MESSAGES come ten times a
	// second per node, and most frames can reuse the sums.
	cached                []trafficLine
	cachedVersion         uint64
	cachedAt, cachedUntil time.Time
}

// nodeFaults is a node's network faults, as its status reports them.
type nodeFaults struct {
	partitioned bool
	isolated    []string
}

// setFaults records the network faults node's status reports.
func (l *trafficLog) setFaults(node string, st *pb.NodeStatus) {
	f := nodeFaults{partitioned: st.GetPartitioned(), isolated: st.GetIsolatedFrom()}
	old, known := l.faults[node]
	if known && old.partitioned == f.partitioned && slices.Equal(old.isolated, f.isolated) {
		return
	}
	if !known && !f.partitioned && len(f.isolated) == 0 {
		return
	}
	if l.faults == nil {
		l.faults = make(map[string]nodeFaults)
	}
	l.faults[node] = f
	l.version++
}

// cutOff says a fault keeps from's messages from reaching to: either side
// is partitioned, or isolated from the other.
func (l *trafficLog) cutOff(from, to string) bool {
	a, b := l.faults[from], l.faults[to]
	return a.partitioned || b.partitioned || slices.Contains(a.isolated, to) || slices.Contains(b.isolated, from)
}

// add takes one MESSAGES event from node, received at now, and forgets
// whatever fell out of the window.
func (l *trafficLog) add(node string, ev *pb.WatchEvent, now time.Time) {
	if l.flows == nil {
		l.flows = make(map[flowKey][]trafficSample)
		l.receipts = make(map[string]time.Time)
	}
	l.version++
	for _, t := range ev.GetTraffic() {
		if t.GetCount() <= 0 || t.GetFrom() == "" || t.GetTo() == "" {
			continue
		}
		if !t.GetSent() {
			l.receipts[node] = now
		}
		k := flowKey{from: clean(t.GetFrom()), to: clean(t.GetTo()), kind: t.GetKind(), preVote: t.GetPreVote(), sent: t.GetSent()}
		l.flows[k] = append(l.flows[k], trafficSample{
			at: now, count: t.GetCount(), entries: t.GetEntries(), match: t.GetMatch(), term: t.GetTerm(),
			done: t.GetDoneBytes(), total: t.GetTotalBytes(),
		})
	}
	cutoff := now.Add(-trafficWindow)
	for k, samples := range l.flows {
		i := 0
		for i < len(samples) && !samples[i].at.After(cutoff) {
			i++
		}
		if i == len(samples) {
			delete(l.flows, k)
		} else if i > 0 {
			l.flows[k] = append(samples[:0], samples[i:]...)
		}
	}
}

// trafficLine is one line of the traffic pane: a flow's total over the
// window.
type trafficLine struct {
	// key is the flow.
	key flowKey
	// count, entries are sums; match and term are the highest seen.
	count, entries, match, term int64
	// done and total are the newest sample's: a snapshot transfer's
	// progress (a new transfer starts again from nothing).
	done, total int64
	// lost says the receiver reports but counted none of these.
	lost bool
}

// lines sums each flow over the window ending at now, one line per
// direction, kind and round: the sender's count where the sender reports,
// the receiver's otherwise. Votes come first and heartbeats last, then
// lines go by sender, round and receiver, nodes in rank's order (the
// cluster file's); heartbeats or vote requests alike to several receivers
// share a line.
// The result is shared with later calls: callers must not change it.
func (l *trafficLog) lines(now time.Time, rank func(string) int) []trafficLine {
	if l.cached != nil && l.cachedVersion == l.version && !now.Before(l.cachedAt) && now.Before(l.cachedUntil) {
		return l.cached
	}
	cutoff := now.Add(-trafficWindow)
	until := now.Add(trafficWindow)
	// side is one flow's sums as its sender and its receiver counted it.
	type side struct{ sent, recv *trafficLine }
	sums := make(map[flowKey]*side, len(l.flows))
	for k, samples := range l.flows {
		var t trafficLine
		for _, s := range samples {
			if !s.at.After(cutoff) {
				continue
			}
			if end := s.at.Add(trafficWindow); end.Before(until) {
				until = end
			}
			t.count += s.count
			t.entries += s.entries
			t.match = max(t.match, s.match)
			t.term = max(t.term, s.term)
			t.done, t.total = s.done, s.total
		}
		if t.count == 0 {
			continue
		}
		t.key = k
		base := k
		base.sent = false
		sd := sums[base]
		if sd == nil {
			sd = &side{}
			sums[base] = sd
		}
		if k.sent {
			sd.sent = &t
		} else {
			sd.recv = &t
		}
	}
	out := make([]trafficLine, 0, len(sums))
	ranks := make(map[string]int)
	for _, sd := range sums {
		if sd.sent == nil {
			out = append(out, *sd.recv)
			continue
		}
		t := *sd.sent
		at, reports := l.receipts[t.key.to]
		reports = reports && at.After(cutoff)
		if end := at.Add(trafficWindow); reports && end.Before(until) {
			until = end
		}
		t.lost = sd.recv == nil && t.count >= minLostCount && (reports || l.cutOff(t.key.from, t.key.to))
		out = append(out, t)
	}
	for _, t := range out {
		for _, id := range []string{t.key.from, t.key.to} {
			if _, ok := ranks[id]; !ok {
				ranks[id] = rank(id)
			}
		}
	}
	slices.SortFunc(out, func(a, b trafficLine) int {
		return cmp.Or(
			cmp.Compare(kindRank(a.key.kind), kindRank(b.key.kind)),
			cmp.Compare(ranks[a.key.from], ranks[b.key.from]),
			cmp.Compare(a.key.from, b.key.from),
			compareBool(a.key.preVote, b.key.preVote),
			cmp.Compare(ranks[a.key.to], ranks[b.key.to]),
			cmp.Compare(a.key.to, b.key.to),
		)
	})
	l.cached, l.cachedVersion, l.cachedAt, l.cachedUntil = merge(out), l.version, now, until
	return l.cached
}

// kindRank puts the rarer, more telling messages first, so that a short
// pane shows an election's votes, a snapshot sent and a lagging follower's
// entries before the heartbeats that never stop.
func kindRank(k pb.Traffic_Kind) int {
	switch k {
	case pb.Traffic_TIMEOUT_NOW, pb.Traffic_VOTE: // a transfer's TimeoutNow starts an election
		return 0
	case pb.Traffic_VOTE_GRANTED:
		return 1
	case pb.Traffic_VOTE_DENIED:
		return 2
	case pb.Traffic_APPEND_REJECT:
		return 3
	case pb.Traffic_INSTALL_SNAPSHOT:
		return 4
	case pb.Traffic_APPEND:
		return 5
	case pb.Traffic_APPEND_OK:
		return 6
	case pb.Traffic_HEARTBEAT:
		return 7
	default:
		return 8
	}
}

// merge folds lines that differ only by receiver into one, "n1 → n2,n3
// heartbeat ×5", for the kinds whose lines carry no per-receiver number:
// a leader's heartbeats to six followers take one line, not six. lines
// are sorted, so the lines to merge are next to each other.
func merge(lines []trafficLine) []trafficLine {
	out := lines[:0]
	for _, l := range lines {
		if n := len(out); n > 0 && mergeable(out[n-1], l) {
			out[n-1].key.to += "," + l.key.to
			continue
		}
		out = append(out, l)
	}
	return out
}

// mergeable says b can join a's line: same sender, side, kind and round,
// the same counts, and a kind that shows no match index.
func mergeable(a, b trafficLine) bool {
	switch a.key.kind {
	case pb.Traffic_HEARTBEAT, pb.Traffic_VOTE:
	default:
		return false
	}
	return a.key.from == b.key.from && a.key.kind == b.key.kind && a.key.preVote == b.key.preVote &&
		a.key.sent == b.key.sent && a.count == b.count && a.term == b.term && a.lost == b.lost
}

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

// text is the line in words: "n1 → n3 AppendEntries ×12 entries (3 msgs)",
// "n3 → n1 ok match=57 ×6", "n1 → n2,n3 RequestVote (pre-vote) term 4",
// "n1 → n3 InstallSnapshot 3/12 MiB (3 chunks)".
func (t trafficLine) text(st *Styles) string {
	k := t.key
	times := ""
	if t.count > 1 {
		times = fmt.Sprintf(" ×%d", t.count)
	}
	vote := "vote"
	if k.preVote {
		vote = "pre-vote"
	}
	var what string
	switch k.kind {
	case pb.Traffic_APPEND:
		what = fmt.Sprintf("AppendEntries ×%d entries", t.entries)
		if t.count > 1 {
			what += fmt.Sprintf(" (%d msgs)", t.count)
		}
	case pb.Traffic_HEARTBEAT:
		what = st.Faint.Render("heartbeat" + times)
	case pb.Traffic_APPEND_OK:
		what = st.Good.Render("ok") + fmt.Sprintf(" match=%d%s", t.match, times)
	case pb.Traffic_APPEND_REJECT:
		what = st.Bad.Render("reject") + times
	case pb.Traffic_VOTE:
		what = "RequestVote"
		if k.preVote {
			what += " (pre-vote)"
		}
		what += fmt.Sprintf(" term %d%s", t.term, times)
	case pb.Traffic_VOTE_GRANTED:
		what = st.Good.Render(vote+" granted") + times
	case pb.Traffic_VOTE_DENIED:
		what = st.Bad.Render(vote+" denied") + times
	case pb.Traffic_TIMEOUT_NOW:
		what = "TimeoutNow" + times
	case pb.Traffic_INSTALL_SNAPSHOT:
		what = st.Snapshot.Render("InstallSnapshot") + " " + progressText(t.done, t.total)
		if t.count > 1 {
			what += fmt.Sprintf(" (%d chunks)", t.count)
		}
	default:
		what = fmt.Sprintf("%s%s", k.kind, times)
	}
	line := st.EventNode.Render(k.from) + " → " + st.EventNode.Render(k.to) + " " + what
	if !k.sent {
		line += st.Faint.Render(" (seen by " + k.to + ")")
	}
	if t.lost {
		line += " " + st.Bad.Render("✗ none received")
	}
	return line
}

// viewTraffic draws the traffic pane at most width cells wide and height
// lines tall: a heading, then one line per flow, as many as fit.
func viewTraffic(c *programContext, lines []trafficLine, width, height int) string {
	if height < 1 || width < 1 {
		return ""
	}
	st := &c.styles
	heading := st.Section.Render("traffic") + " " +
		st.Faint.Render(fmt.Sprintf("(last %s)", trafficWindow))
	out := make([]string, 0, height)
	out = append(out, ansi.Truncate(heading, width, "…"))
	if len(lines) == 0 {
		out = append(out, st.Faint.Render(ansi.Truncate("no messages reported", width, "…")))
	}
	texts := make([]string, len(lines))
	for i, l := range lines {
		texts[i] = ansi.Truncate(l.text(st), width, "…")
	}
	return strings.Join(fitLines(st, out, texts, height, ""), "\n")
}

// fitLines appends lines to out while out stays within height lines; when
// some do not fit, the last line says how many more (of what) there are.
func fitLines(st *Styles, out, lines []string, height int, what string) []string {
	for i, l := range lines {
		if len(out) == height-1 && len(lines)-i > 1 {
			return append(out, st.Faint.Render(fmt.Sprintf("… %d more%s", len(lines)-i, what)))
		}
		if len(out) >= height {
			break
		}
		out = append(out, l)
	}
	return out
}
