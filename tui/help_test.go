package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// TestHelpLegendMatchesTheCards: the legend's vote marks are the ones a
// candidate's card draws, and the help names status's [ID] and heal all.
func TestHelpLegendMatchesTheCards(t *testing.T) {
	h := newHarness(t, 3)
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'?'}})
	h.send(tea.WindowSizeMsg{Width: 120, Height: 50}) // tall enough for every command's line
	frame := h.view()
	mustContain(t, frame, "votes: ● granted, ○ waiting, ✗ denied", "status [ID]", "heal all", "✖ silent red")
	if strings.Contains(frame, "✓ granted") {
		t.Errorf("the legend still has ✓ for a granted vote:\n%s", frame)
	}
	for _, mark := range []string{voteGranted, voteWaiting, voteDenied} {
		if !strings.Contains(strings.Join(legend, "\n"), mark) {
			t.Errorf("the legend lacks the card's vote mark %q", mark)
		}
	}
	// The brief list at 80×24 folds heal's two forms into one.
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	mustContain(t, h.view(), "heal ID|all", "status [ID]")
}
