package tui

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
)

// helpWidth is the widest the help overlay grows.
const helpWidth = 76

// newHelp builds the key help in the dashboard's styles.
func newHelp(st *Styles) help.Model {
	h := help.New()
	h.Styles = help.Styles{
		Ellipsis:       st.Faint,
		ShortKey:       st.HelpKey,
		ShortDesc:      st.Faint,
		ShortSeparator: st.Faint,
		FullKey:        st.HelpKey,
		FullDesc:       st.HelpDesc,
		FullSeparator:  st.Faint,
	}
	return h
}

// legend explains the marks on the cards, beyond the roles and colours,
// with the glyphs the cards draw (voteGranted, voteWaiting, voteDenied,
// sendGlyph, recvGlyph).
var legend = []string{
	"bar: time left before an election; full length = this round's timeout",
	"votes: " + voteGranted + " granted, " + voteWaiting + " waiting, " + voteDenied + " denied; how many a candidate needs",
	"peers: ✗ silent for an election timeout; snapshot " + sendGlyph + " sent, " + recvGlyph + " received",
}

// colourNames name the 256-colour codes the styles use, for the legend.
var colourNames = map[string]string{
	"39": "blue", "42": "green", "81": "cyan", "141": "purple", "170": "pink",
	"196": "red", "201": "magenta", "203": "salmon", "208": "orange", "220": "yellow",
	"238": "dark grey", "240": "dark grey", "245": "grey", "250": "light grey",
}

// colourName is the name of the colour s draws text in, or "plain".
func colourName(s lipgloss.Style) string {
	c, ok := s.GetForeground().(lipgloss.Color)
	switch {
	case !ok || c == "":
		return "plain"
	case colourNames[string(c)] != "":
		return colourNames[string(c)]
	default:
		return "colour " + string(c)
	}
}

// roleLegend are the roles and marks of a card, each drawn in its own style
// and followed by the name of its colour, so the legend reads with or
// without colour.
func roleLegend(st *Styles) []string {
	items := make([]string, 0, 8)
	// In this order they pack into two lines of an 80-column overlay.
	for _, b := range []badge{badgeLeader, badgeFollower, badgeCandidate, badgeConnecting, badgePreCandidate, badgeDown, badgeSilent} {
		s := b.style(st)
		items = append(items, s.Render(b.text())+st.HelpDesc.Render(" "+colourName(s)))
	}
	return append(items,
		st.Paused.Render(pausedText)+st.HelpDesc.Render(" "+colourName(st.Paused)),
		st.Fault.Render(partitionedText+", "+isolatedText+"ID, "+delayText+"DURATION")+
			st.HelpDesc.Render(" "+colourName(st.Fault)+" (heal ID clears)"),
	)
}

// colourLegend says what the log's colours and marks mean, at length or,
// for a small terminal, briefly; the log view's lines come first.
func colourLegend(st *Styles, brief bool) []string {
	var terms []string
	for i := range len(st.TermSolid) {
		terms = append(terms, termStyle(st.TermSolid, int64(i+1)).Render(fmt.Sprint(i+1)))
	}
	d := st.HelpDesc.Render
	marks := string(commitSep) + " commit point, " + string(matchMark) + " match and " + string(nextMark) + " next index"
	lines := []string{
		d("log view: a cell per entry shows its term, coloured by term"),
		d("(") + strings.Join(terms, d(" ")) + d(", then again), solid once committed, dim before;"),
		d(marks+" (leader's); ") + st.Snapshot.Render("≤N "+compactedText) + d(" compacted"),
	}
	if brief {
		lines = []string{
			d("log view: terms ") + strings.Join(terms, d(" ")) + d(" …; solid committed, dim not yet"),
			d(marks+" (leader's), ") + st.Snapshot.Render("≤N "+compactedText) + d(" compacted"),
		}
	}
	return append(lines,
		d("log tail: ")+st.Committed.Render(committedMark+" committed")+d(" plain, ")+
			st.Uncommitted.Render(uncommittedMark+" not yet")+d(" dim; index, term (t3), command"),
		d("status line: ")+st.StatusOK.Render("answer")+d(" "+colourName(st.StatusOK)+", ")+
			st.StatusErr.Render("error")+d(" "+colourName(st.StatusErr)+"; stays until the next command"),
	)
}

// descs draws lines of explanation in the help's description style.
func descs(st *Styles, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = st.HelpDesc.Render(l)
	}
	return out
}

// keyItems are the keys of the full help, each as "key what-it-does".
func keyItems(st *Styles, keys KeyMap) []string {
	var items []string
	for _, group := range keys.FullHelp() {
		for _, b := range group {
			if b.Enabled() {
				items = append(items, st.HelpKey.Render(b.Help().Key)+" "+st.HelpDesc.Render(b.Help().Desc))
			}
		}
	}
	return items
}

// commandHelpWidth is the width of the widest command syntax, in runes (fmt
// pads by runes too).
func commandHelpWidth() int {
	w := 0
	for _, cmd := range commandHelp {
		w = max(w, utf8.RuneCountInString(cmd[0]))
	}
	return w
}

// briefSyntax is the commands' syntax for the brief list, one form of a
// command after another of the same command folded into it: "heal ID" and
// "heal all" are "heal ID|all".
func briefSyntax() []string {
	var out []string
	prevVerb := ""
	for _, cmd := range commandHelp {
		verb, rest, _ := strings.Cut(cmd[0], " ")
		if verb == prevVerb && rest != "" {
			out[len(out)-1] += "|" + rest
			continue
		}
		out, prevVerb = append(out, cmd[0]), verb
	}
	return out
}

// wrapItems packs items into lines no wider than width, sep between two
// items on a line; an item wider than width has a line of its own.
func wrapItems(items []string, sep string, width int) []string {
	var lines []string
	cur := ""
	for _, it := range items {
		switch {
		case cur == "":
			cur = it
		case lipgloss.Width(cur+sep+it) <= width:
			cur += sep + it
		default:
			lines = append(lines, cur)
			cur = it
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// viewHelp draws the help overlay: commands, keys, and a legend of the roles
// and colours, in at most height lines if it can. When short of room it
// drops the blank lines between sections, then lists the commands without
// their descriptions, then drops the legend's longer explanations.
func viewHelp(c *programContext, keys KeyMap, _ help.Model, height int) string {
	st := &c.styles
	width := max(min(c.width, helpWidth), cardChrome+1)
	inner := width - cardChrome
	cmdWidth := commandHelpWidth()
	commands := []string{st.HelpHeading.Render("Commands")}
	for _, cmd := range commandHelp {
		commands = append(commands, fmt.Sprintf("  %s  %s",
			st.HelpKey.Render(fmt.Sprintf("%-*s", cmdWidth, cmd[0])), st.HelpDesc.Render(cmd[1])))
	}
	syntax := briefSyntax()
	for i, s := range syntax {
		syntax[i] = st.HelpKey.Render(s)
	}
	briefCommands := slices.Concat([]string{st.HelpHeading.Render("Commands")}, wrapItems(syntax, " · ", inner))
	keyHelp := slices.Concat([]string{st.HelpHeading.Render("Keys")}, wrapItems(keyItems(st, keys), st.Faint.Render(" · "), inner))
	roles := slices.Concat([]string{st.HelpHeading.Render("Roles and colours")}, wrapItems(roleLegend(st), "  ", inner))
	legendFull := slices.Concat(roles, colourLegend(st, false), descs(st, legend))
	legendBrief := slices.Concat(roles, colourLegend(st, true))
	layouts := []struct {
		sep      string     // between sections
		sections [][]string // each a heading and its lines
	}{
		{"\n\n", [][]string{commands, keyHelp, legendFull}},
		{"\n", [][]string{commands, keyHelp, legendFull}},
		{"\n", [][]string{briefCommands, keyHelp, legendFull}},
		{"\n", [][]string{briefCommands, keyHelp, legendBrief}},
		{"\n", [][]string{briefCommands, keyHelp, legendBrief[:len(roles)+2]}}, // roles and the log view
		{"\n", [][]string{briefCommands, keyHelp, roles}},
	}
	render := func(sep string, sections ...[]string) string {
		parts := make([]string, len(sections))
		for i, s := range sections {
			parts[i] = strings.Join(s, "\n")
		}
		return st.HelpBox.Width(width - 2).Render(strings.Join(parts, sep))
	}
	var box string
	for i, l := range layouts {
		box = render(l.sep, l.sections...)
		if lipgloss.Height(box) <= height {
			break
		}
		if i == 0 && c.width >= 2*width {
			// A wide terminal that is short: commands and keys beside the
			// legend, before anything is shortened.
			box = lipgloss.JoinHorizontal(lipgloss.Top, render("\n\n", commands, keyHelp), render("", legendFull))
			if lipgloss.Height(box) <= height {
				break
			}
		}
	}
	return lipgloss.PlaceHorizontal(c.width, lipgloss.Center, box)
}
