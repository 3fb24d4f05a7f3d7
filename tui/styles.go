package tui

import "github.com/charmbracelet/lipgloss"

// Styles is every style the dashboard draws with. Colour only ever repeats
// what a word or glyph already says, so the screen reads the same in a
// terminal without colour.
type Styles struct {
	// Title is the top line; Clock is the time at its right.
	Title, Clock lipgloss.Style
	// Card is a node card's frame; its border takes the role's colour.
	Card lipgloss.Style
	// ID is a node id in a card's first line.
	ID lipgloss.Style
	// Faint is for addresses and labels.
	Faint lipgloss.Style
	// Leader, Follower, Candidate, PreCandidate, Down and Connecting colour
	// the role badges and card borders.
	Leader, Follower, Candidate, PreCandidate, Down, Connecting lipgloss.Style
	// Paused marks a paused node.
	Paused lipgloss.Style
	// Fault marks a node's network faults (partitioned, isolated, delayed).
	Fault lipgloss.Style
	// BarFull and BarEmpty are the election timer's drained and left parts.
	BarFull, BarEmpty lipgloss.Style
	// Good and Bad colour granted/active and rejected/silent marks.
	Good, Bad lipgloss.Style
	// Committed and Uncommitted draw a line of a card's log tail: plain once
	// the entry is committed, dim and italic before (its mark says the same
	// without colour).
	Committed, Uncommitted lipgloss.Style
	// Section is the heading of the event pane.
	Section lipgloss.Style
	// EventTime and EventNode are an event line's timestamp and node id.
	EventTime, EventNode lipgloss.Style
	// StatusOK and StatusErr are the status line after a command.
	StatusOK, StatusErr lipgloss.Style
	// Prompt, PromptText and Placeholder style the command prompt.
	Prompt, PromptText, Placeholder lipgloss.Style
	// HelpBox frames the help overlay; HelpHeading, HelpKey and HelpDesc are
	// its headings, keys or commands, and descriptions.
	HelpBox, HelpHeading, HelpKey, HelpDesc lipgloss.Style
	// TermSolid and TermDim colour the log view's cells by their entry's
	// term, the palette repeating: solid once the node knows the entry is
	// committed, dim before (the commit point mark says the same without
	// colour). Pick one with termStyle.
	TermSolid, TermDim []lipgloss.Style
	// Pulse is the leader's heartbeat mark while lit (the glyph changes
	// too).
	Pulse lipgloss.Style
	// Spark is the header's sparkline of commits per second.
	Spark lipgloss.Style
	// Snapshot marks snapshots and compaction: an InstallSnapshot under way
	// (⇡ sending, ⇣ receiving) and the log view's cell for the compacted
	// entries (≤N snap).
	Snapshot lipgloss.Style
	// Warning is for what must not go unseen, such as a follower that lost
	// entries it had acknowledged; its line opens with ⚠ as well.
	Warning lipgloss.Style
	// Learner marks a learner (◇ learner); Removed marks a node the
	// configuration no longer lists and dims its card's frame; Transfer is
	// a leader's transfer of leadership under way (→ n2).
	Learner, Removed, Transfer lipgloss.Style
	// Labels are the names label puts before values, already rendered in
	// Faint: View draws dozens a frame, and a frame follows every message.
	Labels map[string]string
}

// labelNames are the names rendered once into Styles.Labels.
var labelNames = []string{"term", "vote", "leader", "commit", "applied", "last", "match", "next", "elected", "commits/s", "snap"}

// termPalette are the colours of terms 1, 2, … in the log view, repeating.
var termPalette = []string{"39", "208", "42", "170", "220", "81", "203", "141"}

// termStyles builds one style per palette colour: solid as a background
// behind dark text, or dim as the text's colour.
func termStyles(r *lipgloss.Renderer, solid bool) []lipgloss.Style {
	out := make([]lipgloss.Style, len(termPalette))
	for i, c := range termPalette {
		if solid {
			out[i] = r.NewStyle().Background(lipgloss.Color(c)).Foreground(lipgloss.Color("16"))
		} else {
			out[i] = r.NewStyle().Foreground(lipgloss.Color(c)).Faint(true)
		}
	}
	return out
}

// termStyle is the style of term in palette (which termStyles built).
func termStyle(palette []lipgloss.Style, term int64) lipgloss.Style {
	if len(palette) == 0 || term <= 0 {
		return lipgloss.Style{}
	}
	return palette[(term-1)%int64(len(palette))]
}

// DefaultStyles builds the dashboard's styles on r, which decides how much
// colour reaches the terminal (tests use one with the Ascii profile: none).
func DefaultStyles(r *lipgloss.Renderer) Styles {
	fg := func(c string) lipgloss.Style { return r.NewStyle().Foreground(lipgloss.Color(c)) }
	faint := fg("245")
	labels := make(map[string]string, len(labelNames))
	for _, name := range labelNames {
		labels[name] = faint.Render(name)
	}
	return Styles{
		Title:        r.NewStyle().Bold(true),
		Clock:        fg("245"),
		Card:         r.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1),
		ID:           r.NewStyle().Bold(true),
		Faint:        faint,
		Leader:       fg("220").Bold(true),
		Follower:     fg("42"),
		Candidate:    fg("208").Bold(true),
		PreCandidate: fg("141"),
		Down:         fg("196").Bold(true),
		Connecting:   fg("245"),
		Paused:       fg("39").Bold(true),
		Fault:        fg("201").Bold(true),
		BarFull:      fg("42"),
		BarEmpty:     fg("238"),
		Good:         fg("42"),
		Bad:          fg("196"),
		Committed:    r.NewStyle(),
		Uncommitted:  fg("245").Italic(true),
		Section:      r.NewStyle().Bold(true),
		EventTime:    fg("245"),
		EventNode:    r.NewStyle().Bold(true),
		StatusOK:     fg("42"),
		StatusErr:    fg("196"),
		Prompt:       fg("39").Bold(true),
		PromptText:   r.NewStyle(),
		Placeholder:  fg("240"),
		HelpBox:      r.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color("39")).Padding(0, 1),
		HelpHeading:  r.NewStyle().Bold(true),
		HelpKey:      fg("39"),
		HelpDesc:     fg("250"),
		TermSolid:    termStyles(r, true),
		TermDim:      termStyles(r, false),
		Pulse:        fg("196").Bold(true),
		Spark:        fg("42"),
		Snapshot:     fg("81"),
		Warning:      r.NewStyle().Bold(true).Foreground(lipgloss.Color("16")).Background(lipgloss.Color("196")),
		Learner:      fg("170"),
		Removed:      fg("240"),
		Transfer:     fg("220").Bold(true),
		Labels:       labels,
	}
}
