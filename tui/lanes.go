package tui

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// lane is the messages traced from one node to another, drawn on one
// line under the cards.
type lane struct {
	from, to string
	flights  []*flight
}

// lanesOf groups fl (in the order sent) by sender and receiver, the lanes
// ordered by rank of the sender, then of the receiver.
func lanesOf(fl []*flight, rank func(string) int) []*lane {
	var out []*lane
	for _, f := range fl {
		i := slices.IndexFunc(out, func(l *lane) bool { return l.from == f.key.from && l.to == f.to })
		if i < 0 {
			out = append(out, &lane{from: f.key.from, to: f.to})
			i = len(out) - 1
		}
		out[i].flights = append(out[i].flights, f)
	}
	slices.SortStableFunc(out, func(a, b *lane) int {
		return cmp.Or(cmp.Compare(rank(a.from), rank(b.from)), cmp.Compare(rank(a.to), rank(b.to)))
	})
	return out
}

// flightsHeading is the first line of the lanes and of the list: what
// they show, the slow-motion factor and the glyphs' legend.
func flightsHeading(c *programContext, factor int64, width int) string {
	st := &c.styles
	return ansi.Truncate(st.Section.Render(fmt.Sprintf("messages in flight (slow ×%d)", factor))+"  "+st.Faint.Render(flightLegend), width, "…")
}

// viewLanes draws the messages in flight under the cards, one lane per
// sender and receiver with a message on it, in height lines with the
// heading: a lane runs from the sender's card centre to the receiver's
// (centre gives a node's column; nodes it does not know have no lane),
// and each message's glyph and label sit as far along it as the message
// has travelled, or at the receiver once it arrived, or marked ✗ lost
// where it stopped.
func viewLanes(c *programContext, fl []*flight, factor int64, centre func(string) (int, bool), rank func(string) int, width, height int) string {
	st := &c.styles
	out := []string{flightsHeading(c, factor, width)}
	lanes := lanesOf(fl, rank)
	if len(lanes) == 0 {
		out = append(out, st.Faint.Render("none: a message is drawn from the moment it is sent until it arrives"))
	}
	var drawn []string
	for _, l := range lanes {
		a, okA := centre(l.from)
		b, okB := centre(l.to)
		if okA && okB && a != b {
			drawn = append(drawn, drawLane(c, l, a, b, width))
		}
	}
	out = fitLines(st, out, drawn, height, " lanes")
	return strings.Join(out, "\n")
}

// laneCell is one cell of a lane: its text, and whether it belongs to a
// message (drawn plain, or as a fault when lost) or to the lane (faint).
type laneCell struct {
	text string
	kind int // laneLine, laneMessage, laneLost
}

const (
	laneLine = iota
	laneMessage
	laneLost
)

// drawLane draws l from column a (the sender's) to column b.
func drawLane(c *programContext, l *lane, a, b, width int) string {
	cells := make([]laneCell, width)
	for i := range cells {
		cells[i] = laneCell{text: " "}
	}
	put := func(x int, s string, kind int) {
		for _, r := range s {
			if x >= 0 && x < width {
				cells[x] = laneCell{string(r), kind}
			}
			x++
		}
	}
	lo, hi := min(a, b), max(a, b)
	for x := lo; x <= hi; x++ {
		put(x, "─", laneLine)
	}
	right := b > a
	head := "◀"
	if right {
		head = "▶"
	}
	put(b, head, laneLine)
	left, rightEnd := l.from, l.to
	if !right {
		left, rightEnd = l.to, l.from
	}
	put(lo-len(left)-1, left, laneLine)
	put(hi+2, rightEnd, laneLine)
	now := c.now
	// Newest first: a message that would cover one already drawn is left
	// out and counted, so that labels never garble each other.
	hidden := 0
	for i := len(l.flights) - 1; i >= 0; i-- {
		f := l.flights[i]
		g, label := glyph(f.msg)
		kind := laneMessage
		if f.lost(now) {
			g, label, kind = "✗", label+" lost", laneLost
		}
		text := " " + g + " " + label + " "
		n := len([]rune(text))
		x := a + int(math.Round(f.progress(now)*float64(b-a)))
		// The glyph sits at x, the label on the side it is heading for,
		// kept inside the lane.
		start := x - 1
		if !right {
			text = " " + label + " " + g + " "
			start = x - n + 2
		}
		start = max(lo+1, min(start, hi-n))
		if slices.ContainsFunc(cells[max(start, 0):min(start+n, width)], func(c laneCell) bool { return c.kind != laneLine }) {
			hidden++
			continue
		}
		put(start, text, kind)
	}
	if hidden > 0 {
		put(hi+2+len(rightEnd)+1, fmt.Sprintf("+%d", hidden), laneMessage)
	}
	st := &c.styles
	styleOf := [...]lipgloss.Style{laneLine: st.Faint, laneMessage: lipgloss.NewStyle(), laneLost: st.Fault}
	var s strings.Builder
	for i := 0; i < width; {
		j := i
		var run strings.Builder
		for j < width && cells[j].kind == cells[i].kind {
			run.WriteString(cells[j].text)
			j++
		}
		s.WriteString(styleOf[cells[i].kind].Render(run.String()))
		i = j
	}
	return strings.TrimRight(s.String(), " ")
}

// viewFlightList is the messages in flight as a list, for a terminal too
// small for lanes (or cards in more than one row): one line each, with
// how far it has got.
func viewFlightList(c *programContext, fl []*flight, factor int64, width, height int) string {
	st := &c.styles
	out := []string{flightsHeading(c, factor, width)}
	if len(fl) == 0 {
		out = append(out, st.Faint.Render("none"))
	}
	var lines []string
	for _, f := range fl {
		g, label := glyph(f.msg)
		where := fmt.Sprintf("%d%% of the way", int(f.progress(c.now)*100))
		switch {
		case !f.arrivedAt.IsZero():
			where = "arrived"
		case f.lost(c.now):
			g, where = "✗", st.Fault.Render("lost after "+sinceText(c.now.Sub(f.sentAt)))
		}
		lines = append(lines, ansi.Truncate(fmt.Sprintf("%s → %s %s %s  %s", f.key.from, f.to, g, label, where), width, "…"))
	}
	return strings.Join(fitLines(st, out, lines, height, ""), "\n")
}

// travelOf is how long a message from the node with status heartbeat
// hbMillis (slowed) takes in slow motion: a quarter of that heartbeat.
func travelOf(hbMillis int64) time.Duration {
	return time.Duration(hbMillis) * time.Millisecond / 4
}
