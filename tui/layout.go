package tui

import (
	"slices"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

const (
	// minLowerLines is the least the traffic and event panes are left when
	// the nodes and the log view take the rest.
	minLowerLines = 4
	// minTrafficLines is the least the traffic pane is given above the
	// event pane; with less it is left out.
	minTrafficLines = 3
	// sideBySideWidth is the narrowest terminal that puts the traffic pane
	// beside the event pane rather than above it.
	sideBySideWidth = 140
	// minTrafficWidth and maxTrafficWidth bound the traffic pane's width
	// beside the event pane.
	minTrafficWidth, maxTrafficWidth = 40, 64
	// paneGap separates the traffic pane from the event pane beside it.
	paneGap = "  "
)

// viewBody draws what is between the header and the footer, height lines:
// the nodes, the log view, then the traffic and event panes, beside each
// other on a wide terminal, one above the other on a narrow one. The nodes
// are cards when the cards, the log view with its markers and twice
// minLowerLines of panes fit; else one line each (viewTable), so that a
// small terminal (80×24) keeps the log view and the events readable, not
// cards that crowd them out. The log view has match and next markers when the panes
// below still keep twice minLowerLines, and is left out when even its
// short form would leave them fewer than minLowerLines. The cards' log
// tails get what room is left once a quarter of the height is kept for
// the panes.
//
// In slow motion the messages in flight are drawn on lanes under the
// cards, when the cards are in one row; otherwise, listed in the traffic
// pane's place.
func (m *Model) viewBody(height int) string {
	c := &m.ctx
	nodes := m.shownNodes()
	plan := planCards(c, nodes)
	full, compact := logViewHeight(nodes, true), logViewHeight(nodes, false)
	factor := m.slowFactor()
	var flights []*flight
	lanesHeight := 0
	if factor > 1 {
		flights = m.flights.list(c.now)
		if plan.perRow >= len(nodes) {
			lanesHeight = 1 + max(1, len(lanesOf(flights, m.nodeRank)))
		}
	}
	table := plan.height(0)+lanesHeight+full+2*minLowerLines > height
	nodesHeight := plan.height(0)
	if table {
		nodesHeight, lanesHeight = len(nodes), 0
	}
	height -= lanesHeight
	logHeight, markers := 0, false
	switch {
	case height-nodesHeight-full >= 2*minLowerLines:
		logHeight, markers = full, true
	case height-nodesHeight-compact >= minLowerLines:
		logHeight = compact
	}
	var parts []string
	if table {
		parts = append(parts, viewTable(c, nodes))
	} else {
		limit := plan.tailLimit(height - logHeight - max(minEventLines, height/4))
		parts = append(parts, viewCards(c, nodes, plan, limit))
		nodesHeight = plan.height(limit)
	}
	if lanesHeight > 0 {
		width := c.width / plan.perRow
		centre := func(id string) (int, bool) {
			i := slices.IndexFunc(nodes, func(n *nodeState) bool { return n.node.ID == id })
			return i*width + width/2, i >= 0
		}
		parts = append(parts, padLines(viewLanes(c, flights, factor, centre, m.nodeRank, c.width, lanesHeight), lanesHeight))
	}
	if logHeight > 0 {
		parts = append(parts, viewLog(c, nodes, &m.logScroll, c.width, markers))
	}
	if rest := height - nodesHeight - logHeight; rest > 0 {
		var pane func(width, height int) string
		var wanted int
		greedy := false
		switch narrator := m.narratorLines(); {
		case narrator != nil:
			// A scenario's narrator takes the traffic pane's place (the
			// lanes, or the list, show the messages), and all the room it
			// wants but the events' minimum: it is what the reader follows.
			pane = func(width, height int) string { return viewNarrator(c, narrator, width, height) }
			wanted = strings.Count(viewNarrator(c, narrator, c.width, 1<<10), "\n")
			greedy = true
		case factor > 1 && lanesHeight == 0:
			// Without lanes, the messages in flight take the traffic
			// pane's place in slow motion.
			pane = func(width, height int) string { return viewFlightList(c, flights, factor, width, height) }
			wanted = len(flights)
		default:
			traffic := m.traffic.lines(c.now, m.nodeRank)
			pane = func(width, height int) string { return viewTraffic(c, traffic, width, height) }
			wanted = len(traffic)
		}
		parts = append(parts, m.viewPanes(rest, pane, wanted, greedy))
	}
	return padLines(strings.Join(parts, "\n"), lanesHeight+height)
}

// viewPanes draws the traffic pane (drawn by pane, which wants wanted
// lines; up to half the height, or, greedy, all but the events' minimum)
// and the event pane in height lines.
func (m *Model) viewPanes(height int, pane func(width, height int) string, wanted int, greedy bool) string {
	c := &m.ctx
	if c.width < sideBySideWidth && height < minTrafficLines+minEventLines {
		return viewEvents(c, &m.events, c.width, height)
	}
	if c.width >= sideBySideWidth {
		tw := min(max(c.width/3, minTrafficWidth), maxTrafficWidth)
		left := strings.Split(pane(tw, height), "\n")
		right := strings.Split(viewEvents(c, &m.events, c.width-tw-len(paneGap), height), "\n")
		var b strings.Builder
		for i := range height {
			if i > 0 {
				b.WriteByte('\n')
			}
			l := ""
			if i < len(left) {
				l = left[i]
			}
			b.WriteString(l)
			b.WriteString(strings.Repeat(" ", tw-lipgloss.Width(l)))
			b.WriteString(paneGap)
			if i < len(right) {
				b.WriteString(right[i])
			}
		}
		return b.String()
	}
	// Stacked: traffic gets what it needs up to half (its heading and at
	// least one line, "no messages reported" if none), when that is at
	// least minTrafficLines and the events keep their heading and two
	// lines.
	most := (height + 1) / 2
	if greedy {
		most = height - minEventLines
	}
	th := min(max(wanted, 1)+1, most)
	if th < minTrafficLines || height-th < minEventLines {
		return viewEvents(c, &m.events, c.width, height)
	}
	return padLines(pane(c.width, th), th) + "\n" + viewEvents(c, &m.events, c.width, height-th)
}
