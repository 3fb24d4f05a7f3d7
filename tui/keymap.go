package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap holds the dashboard's key bindings. Everything else typed goes to the
// prompt.
type KeyMap struct {
	// Submit runs the command in the prompt.
	Submit key.Binding
	// Complete completes the word before the cursor: a command, a node id
	// or a key; pressed again it cycles through the candidates.
	Complete key.Binding
	// HistoryPrev and HistoryNext browse the commands run before, as a
	// shell does.
	HistoryPrev, HistoryNext key.Binding
	// PauseLeader pauses the current leader; ResumeAll resumes every node.
	PauseLeader, ResumeAll key.Binding
	// Clear empties the event pane and the status line.
	Clear key.Binding
	// ShowResult opens and closes the overlay that shows the newest
	// result in full, such as a long value read.
	ShowResult key.Binding
	// LogBack and LogForward scroll the log view half a page towards older
	// or newer entries ([ and ] only when the prompt is empty); LogFollow
	// makes it follow the newest entries again (end, while scrolled back;
	// otherwise end moves the prompt's cursor).
	LogBack, LogForward, LogFollow key.Binding
	// Help toggles the help overlay; only when the prompt is empty, so "?"
	// can still be typed into a command.
	Help key.Binding
	// Cancel closes the help overlay, or clears the prompt.
	Cancel key.Binding
	// Quit leaves the dashboard from anywhere.
	Quit key.Binding
	// ScenarioNext goes to a guided scenario's next step and ScenarioLeave
	// leaves it, restoring the cluster; only while one runs and the prompt
	// is empty. The narrator pane names them, so the help overlay (full)
	// does not.
	ScenarioNext, ScenarioLeave key.Binding
	// ReplayPause, ReplayStep, ReplayFaster, ReplaySlower, ReplayBack,
	// ReplayForward and ReplayRestart control a replay (see Replay): pause
	// or resume, step to the next event, double or halve the speed, seek 5 s
	// back or forward, start again. Disabled, so unlisted, in a live
	// dashboard; a replay enables them, and takes them only while the prompt
	// is empty.
	ReplayPause, ReplayStep, ReplayFaster, ReplaySlower, ReplayBack, ReplayForward, ReplayRestart key.Binding
}

// DefaultKeyMap returns the dashboard's bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Submit:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run command")),
		Complete: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close help / clear")),
		Quit:     key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),

		ScenarioNext:  key.NewBinding(key.WithKeys("n", " "), key.WithHelp("n/space", "scenario: next step")),
		ScenarioLeave: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "scenario: leave, restore the cluster")),

		// Log view keys; pgup and pgdown are free in the text input.
		LogBack:    key.NewBinding(key.WithKeys("pgup", "["), key.WithHelp("pgup/[", "log view: older")),
		LogForward: key.NewBinding(key.WithKeys("pgdown", "]"), key.WithHelp("pgdn/]", "log view: newer")),
		LogFollow:  key.NewBinding(key.WithKeys("end"), key.WithHelp("end", "log view: follow the tail")),

		// Keys the text input does not edit with (it uses ctrl+a b d e f h
		// k n p u v w); ctrl+p/ctrl+n only move through its suggestions,
		// which the prompt does not use.
		HistoryPrev: key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "older command")),
		HistoryNext: key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "newer command")),
		PauseLeader: key.NewBinding(key.WithKeys("ctrl+p"), key.WithHelp("ctrl+p", "pause the leader")),
		ResumeAll:   key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "resume all")),
		Clear:       key.NewBinding(key.WithKeys("ctrl+l"), key.WithHelp("ctrl+l", "clear events")),
		ShowResult:  key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "newest result in full")),

		// Replay keys; the log view has [ and ], the history ↑ and ↓.
		ReplayPause:   key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "replay: pause/resume"), key.WithDisabled()),
		ReplayStep:    key.NewBinding(key.WithKeys("."), key.WithHelp(".", "replay: next event"), key.WithDisabled()),
		ReplayFaster:  key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "replay: faster ×2"), key.WithDisabled()),
		ReplaySlower:  key.NewBinding(key.WithKeys("-"), key.WithHelp("-", "replay: slower ÷2"), key.WithDisabled()),
		ReplayBack:    key.NewBinding(key.WithKeys("left"), key.WithHelp("←", "replay: back 5s"), key.WithDisabled()),
		ReplayForward: key.NewBinding(key.WithKeys("right"), key.WithHelp("→", "replay: forward 5s"), key.WithDisabled()),
		ReplayRestart: key.NewBinding(key.WithKeys("0", "home"), key.WithHelp("0/home", "replay: restart"), key.WithDisabled()),
	}
}

// ShortHelp is the one-line help under the prompt.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Submit, k.Complete, k.Help, k.Quit}
}

// FullHelp is the key list in the help overlay.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Submit, k.Complete}, {k.Help, k.Cancel, k.Quit}, {k.HistoryPrev, k.HistoryNext},
		{k.PauseLeader, k.ResumeAll, k.Clear, k.ShowResult}, {k.LogBack, k.LogForward, k.LogFollow},
		{k.ReplayPause, k.ReplayStep, k.ReplayFaster, k.ReplaySlower, k.ReplayBack, k.ReplayForward, k.ReplayRestart}}
}
