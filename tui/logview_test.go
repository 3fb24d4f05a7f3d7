package tui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// TestLogScrollStopsAtTheStart: scrolling back stops with index 1 at the
// left edge, so that the first press forward moves the view again; with
// everything in view, back does not hold the view at all.
func TestLogScrollStopsAtTheStart(t *testing.T) {
	s := logScroll{page: 10}
	for _, want := range []int64{25, 20, 15, 10, 10, 10} {
		s.back(30)
		if !s.held || s.right != want {
			t.Fatalf("back: held %v at %d, want %d", s.held, s.right, want)
		}
	}
	s.forward(30)
	if s.right != 15 {
		t.Errorf("one press forward from the start: at %d, want 15", s.right)
	}
	s = logScroll{page: 10}
	s.back(7)
	if s.held {
		t.Errorf("back with all 7 entries in view held the view at %d", s.right)
	}

	// On screen: pgup many times, then one pgdn moves the view.
	h := newHarness(t, 3)
	connectAll(h)
	for last := int64(8); last <= 200; last += 8 {
		for _, id := range []string{"n1", "n2", "n3"} {
			h.deliver(id, statusEv(logStatus(id, last, last-3)))
		}
	}
	h.view()
	for range 40 {
		h.send(tea.KeyMsg{Type: tea.KeyPgUp})
	}
	mustContain(t, h.view(), "log (index 1–52, held")
	h.send(tea.KeyMsg{Type: tea.KeyPgDown})
	mustContain(t, h.view(), "log (index 27–78, held")
}
