package tui

import (
	"fmt"
	"strings"

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
}

// viewHelp draws the help overlay: commands, keys and what the cards show.
func viewHelp(c *programContext, keys KeyMap, h help.Model) string {
	st := &c.styles
	width := max(min(c.width, helpWidth), cardChrome+1)
	inner := width - cardChrome
	var b strings.Builder
	b.WriteString(st.HelpHeading.Render("Commands") + "\n")
	for _, cmd := range commandHelp {
		fmt.Fprintf(&b, "  %s %s\n", st.HelpKey.Render(fmt.Sprintf("%-10s", cmd[0])), st.HelpDesc.Render(cmd[1]))
	}
	b.WriteString("\n" + st.HelpHeading.Render("Keys") + "\n")
	h.ShowAll = true
	h.Width = inner
	b.WriteString(h.View(keys) + "\n")
	b.WriteString("\n" + st.HelpHeading.Render("Cards") + "\n")
	b.WriteString(st.HelpDesc.Render(strings.Join(legend, "\n")))
	box := st.HelpBox.Width(width - 2).Render(b.String())
	return lipgloss.PlaceHorizontal(c.width, lipgloss.Center, box)
}
