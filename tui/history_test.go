package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// withHistory gives h's model the history in path, as New does with
// Options.HistoryFile.
func withHistory(h *harness, path string) *harness {
	h.m.opts.HistoryFile = path
	h.m.initREPL()
	return h
}

// typeText types s at the prompt without pressing enter.
func (h *harness) typeText(s string) {
	h.t.Helper()
	for _, r := range s {
		h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

// press sends one key of type k and returns what the prompt holds after.
func (h *harness) press(k tea.KeyType) string {
	h.t.Helper()
	h.send(tea.KeyMsg{Type: k})
	return h.m.input.Value()
}

// fileLines is the file at path, split into lines.
func fileLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestHistoryBrowsesLikeAShell(t *testing.T) {
	h := newHarness(t, 3)
	for _, line := range []string{"status", "pause n9", "help"} {
		h.typeLine(line) // run whether they succeed or not
	}
	h.send(tea.KeyMsg{Type: tea.KeyEsc}) // close the help
	h.typeText("get us")                 // typed, not run yet
	steps := []struct {
		key  tea.KeyType
		want string
	}{
		{tea.KeyUp, "help"},
		{tea.KeyUp, "pause n9"},
		{tea.KeyUp, "status"},
		{tea.KeyUp, "status"}, // the oldest: stays
		{tea.KeyDown, "pause n9"},
		{tea.KeyDown, "help"},
		{tea.KeyDown, "get us"}, // back to the line being typed
		{tea.KeyDown, "get us"},
	}
	for i, s := range steps {
		if got := h.press(s.key); got != s.want {
			t.Fatalf("step %d (%v): prompt holds %q, want %q", i, s.key, got, s.want)
		}
	}
	// The cursor ends a recalled line, so typing goes on from there.
	h.press(tea.KeyUp)
	h.typeText("x")
	if got := h.m.input.Value(); got != "helpx" {
		t.Errorf("typing after a recalled line gave %q, want helpx", got)
	}
	// Running a recalled line stops browsing: ↑ starts from the newest.
	h.send(tea.KeyMsg{Type: tea.KeyEnter})
	if got := h.press(tea.KeyUp); got != "helpx" {
		t.Errorf("↑ after running a line gave %q, want it", got)
	}
}

func TestHistoryDropsRepeatsAndBlanks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history")
	h := withHistory(newHarness(t, 3), path)
	for _, line := range []string{"get a", "get a", "  get a ", "", "   ", "get b", "get a"} {
		h.typeLine(line)
	}
	want := []string{"get a", "get b", "get a"}
	if got := h.m.repl.history.lines; !slices.Equal(got, want) {
		t.Errorf("history %q, want %q", got, want)
	}
	if got := fileLines(t, path); !slices.Equal(got, want) {
		t.Errorf("file holds %q, want %q", got, want)
	}
}

func TestHistoryPersistsAcrossRuns(t *testing.T) {
	// The directory does not exist yet: the first command creates it.
	path := filepath.Join(t.TempDir(), "state", "easykv", "tui_history")
	first := withHistory(newHarness(t, 3), path)
	first.typeLine("put user:1 alice")
	first.typeLine("get user:1")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no history file after two commands: %v", err)
	}
	if info, err := os.Stat(path); err == nil && info.Mode().Perm() != 0o600 {
		t.Errorf("history file mode %v, want 0600: commands can hold values", info.Mode().Perm())
	}

	second := withHistory(newHarness(t, 3), path)
	if got := second.press(tea.KeyUp); got != "get user:1" {
		t.Errorf("a new dashboard's ↑ gave %q, want the last command of the first", got)
	}
	if got := second.press(tea.KeyUp); got != "put user:1 alice" {
		t.Errorf("second ↑ gave %q, want put user:1 alice", got)
	}
	// Both append to the same file, in the order they ran.
	second.send(tea.KeyMsg{Type: tea.KeyEsc})
	second.typeLine("delete user:1")
	first.typeLine("status")
	want := []string{"put user:1 alice", "get user:1", "delete user:1", "status"}
	if got := fileLines(t, path); !slices.Equal(got, want) {
		t.Errorf("file holds %q, want %q", got, want)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history")
	h, err := loadHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	total := 2*maxHistory + 10
	for i := range total {
		if err := h.add(fmt.Sprintf("get k%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if len(h.lines) != maxHistory || h.lines[0] != fmt.Sprintf("get k%d", total-maxHistory) {
		t.Errorf("history keeps %d lines from %q, want the last %d", len(h.lines), h.lines[0], maxHistory)
	}
	// The file was rewritten once it reached twice the bound.
	if n := len(fileLines(t, path)); n > maxHistory+10 || n < maxHistory {
		t.Errorf("file holds %d lines, want about %d", n, maxHistory)
	}
	again, err := loadHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.lines, h.lines) {
		t.Errorf("reloaded history differs: %d lines from %q, want %d from %q",
			len(again.lines), again.lines[0], len(h.lines), h.lines[0])
	}
}

func TestHistoryReadsForeignFiles(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"empty", "", nil},
		{"blank lines and spaces", "\n  get a  \n\n\nget b\n", []string{"get a", "get b"}},
		{"repeats", "get a\nget a\nget b\nget a\n", []string{"get a", "get b", "get a"}},
		{"no final newline", "get a\nget b", []string{"get a", "get b"}},
		{"not text", "get a\n\xff\xfe\x00\nget b\n", []string{"get a", "get b"}},
		{"control characters", "get \x1b[2Ja\n", []string{"get  [2Ja"}},
		{"line too long", "get a\n" + strings.Repeat("x", maxHistoryLine+1) + "\nget b\n", []string{"get a", "get b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "history")
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			h, err := loadHistory(path)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(h.lines, tt.want) {
				t.Errorf("history %q, want %q", h.lines, tt.want)
			}
			// What is appended starts a line of its own.
			if err := h.add("status"); err != nil {
				t.Fatal(err)
			}
			if got := fileLines(t, path); got[len(got)-1] != "status" {
				t.Errorf("file ends %q, want status on a line of its own", got[len(got)-1])
			}
		})
	}
}

func TestHistoryReadsTheEndOfAHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history")
	var b strings.Builder
	for i := 0; b.Len() < 3*maxHistoryRead; i++ {
		fmt.Fprintf(&b, "put key%d %s\n", i, strings.Repeat("v", 100))
	}
	b.WriteString("get last\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := loadHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.lines) != maxHistory || h.lines[len(h.lines)-1] != "get last" || !strings.HasPrefix(h.lines[0], "put key") {
		t.Errorf("history has %d lines, %q to %q; want the file's last %d", len(h.lines), h.lines[0], h.lines[len(h.lines)-1], maxHistory)
	}
	// The next command shrinks the file to what is kept.
	if err := h.add("status"); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Size() > maxHistoryRead {
		t.Errorf("file is %v bytes after a command (%v), want it rewritten smaller than %d", info.Size(), err, maxHistoryRead)
	}
}

func TestBrokenHistoryFileDoesNotStopTheDashboard(t *testing.T) {
	t.Run("unreadable", func(t *testing.T) {
		h := withHistory(newHarness(t, 3), t.TempDir()) // a directory is no history file
		if !h.m.status.isErr || !strings.Contains(h.m.status.text, "history not kept") {
			t.Errorf("status = %q, want the history error", h.m.status.text)
		}
		h.typeLine("status")
		if got := h.press(tea.KeyUp); got != "status" {
			t.Errorf("↑ gave %q: the history should still work in memory", got)
		}
	})
	t.Run("unwritable", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "history")
		h := withHistory(newHarness(t, 3), path)
		if h.m.status.text != "" {
			t.Errorf("status = %q before any command", h.m.status.text)
		}
		// The file turns into something that cannot be appended to (a
		// directory: even root cannot write one).
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		h.typeLine("status")
		if !h.m.status.isErr || !strings.Contains(h.m.status.text, "history not kept") {
			t.Errorf("status = %q, want the history error", h.m.status.text)
		}
		mustContain(t, lastEvent(h), "history not kept")
		// Said once: the next command's own answer stays.
		h.typeLine("status")
		if strings.Contains(h.m.status.text, "history") {
			t.Errorf("status = %q: the history error was said twice", h.m.status.text)
		}
		h.typeLine("clear")
		if got := h.press(tea.KeyUp); got != "clear" {
			t.Errorf("↑ gave %q: the history should still work in memory", got)
		}
	})
}

func TestDefaultHistoryFile(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	tests := []struct {
		xdg  string
		want string
	}{
		{"/var/state", "/var/state/easykv/tui_history"},
		{"", filepath.Join(home, ".local/state/easykv/tui_history")},
		{"relative/dir", filepath.Join(home, ".local/state/easykv/tui_history")}, // ignored, as the spec says
	}
	for _, tt := range tests {
		t.Setenv("XDG_STATE_HOME", tt.xdg)
		got, err := DefaultHistoryFile()
		if err != nil || got != tt.want {
			t.Errorf("XDG_STATE_HOME=%q: DefaultHistoryFile() = %q, %v; want %q", tt.xdg, got, err, tt.want)
		}
	}
}

func TestHistoryStartsAgainAfterTheLineChanged(t *testing.T) {
	h := newHarness(t, 3)
	for _, line := range []string{"get a", "get b", "get c"} {
		h.typeLine(line)
	}
	h.press(tea.KeyUp)
	h.press(tea.KeyUp) // get b
	// esc clears the prompt: ↑ starts from the newest again.
	if got := h.press(tea.KeyEsc); got != "" {
		t.Fatalf("esc left %q", got)
	}
	if got := h.press(tea.KeyUp); got != "get c" {
		t.Errorf("↑ after esc gave %q, want the newest command", got)
	}
	// An edited recalled line is the new line being typed.
	h.typeText("x")
	if got := h.press(tea.KeyUp); got != "get c" {
		t.Errorf("↑ after an edit gave %q, want get c", got)
	}
	if got := h.press(tea.KeyDown); got != "get cx" {
		t.Errorf("↓ gave %q, want the edited line back", got)
	}
	if got := h.press(tea.KeyDown); got != "get cx" {
		t.Errorf("↓ past the end gave %q, want it to stay", got)
	}
}
