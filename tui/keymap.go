package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap holds the dashboard's key bindings. Everything else typed goes to the
// prompt.
type KeyMap struct {
	// Submit runs the command in the prompt.
	Submit key.Binding
	// Complete accepts the prompt's suggested completion (handled by the
	// text input; listed here so the help shows it).
	Complete key.Binding
	// Help toggles the help overlay; only when the prompt is empty, so "?"
	// can still be typed into a command.
	Help key.Binding
	// Cancel closes the help overlay, or clears the prompt.
	Cancel key.Binding
	// Quit leaves the dashboard from anywhere.
	Quit key.Binding
}

// DefaultKeyMap returns the dashboard's bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Submit:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run command")),
		Complete: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close help / clear")),
		Quit:     key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// ShortHelp is the one-line help under the prompt.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Submit, k.Complete, k.Help, k.Quit}
}

// FullHelp is the key list in the help overlay.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Submit, k.Complete}, {k.Help, k.Cancel, k.Quit}}
}
