package tui

import (
	"fmt"
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

// legend explains the marks on the cards.
var legend = []string{
	badgeLeader.text() + "  " + badgeFollower.text() + "  " + badgeCandidate.text() + "  " +
		badgePreCandidate.text() + "  " + badgeDown.text() + "  " + pausedText,
	"bar: time left before an election; full length = this round's timeout",
	"votes: ✓ granted and ✗ refused, and how many a candidate needs",
	"leader: peers' match and next index; ✗ silent for an election timeout",
	"log: " + committedMark + " committed, " + uncommittedMark + " not yet (dim); index, term (t3), command",
	"faults: " + partitionedText + ", " + isolatedText + "ID, " + delayText + "DURATION (heal ID clears)",
}

// viewHelp draws the help overlay: commands, keys and what the cards show,
// in at most height lines if it can: when short of room it drops the blank
// lines between sections, then the keys (the line under the prompt has
// them).
func viewHelp(c *programContext, keys KeyMap, h help.Model, height int) string {
	st := &c.styles
	width := max(min(c.width, helpWidth), cardChrome+1)
	inner := width - cardChrome
	cmdWidth := 0
	for _, cmd := range commandHelp {
		cmdWidth = max(cmdWidth, utf8.RuneCountInString(cmd[0])) // fmt pads by runes too
	}
	commands := []string{st.HelpHeading.Render("Commands")}
	for _, cmd := range commandHelp {
		commands = append(commands, fmt.Sprintf("  %s  %s",
			st.HelpKey.Render(fmt.Sprintf("%-*s", cmdWidth, cmd[0])), st.HelpDesc.Render(cmd[1])))
	}
	h.ShowAll = true
	h.Width = inner
	keyHelp := []string{st.HelpHeading.Render("Keys"), h.View(keys)}
	cards := []string{st.HelpHeading.Render("Cards"), st.HelpDesc.Render(strings.Join(legend, "\n"))}
	layouts := []struct {
		sep      string     // between sections
		sections [][]string // each a heading and its lines
	}{
		{"\n\n", [][]string{commands, keyHelp, cards}},
		{"\n", [][]string{commands, keyHelp, cards}},
		{"\n", [][]string{commands, cards}},
	}
	var box string
	for _, l := range layouts {
		parts := make([]string, len(l.sections))
		for i, s := range l.sections {
			parts[i] = strings.Join(s, "\n")
		}
		box = st.HelpBox.Width(width - 2).Render(strings.Join(parts, l.sep))
		if lipgloss.Height(box) <= height {
			break
		}
	}
	return lipgloss.PlaceHorizontal(c.width, lipgloss.Center, box)
}
