package tui

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

const (
	// maxHistory is how many commands the history keeps.
	maxHistory = 1000
	// maxHistoryLine is the longest command kept; a longer line in the file
	// is not one the prompt wrote, and is skipped.
	maxHistoryLine = 4096
	// maxHistoryRead is how much of the file's end is read at start: more
	// than maxHistory lines of any length worth keeping, and a bound on what
	// a huge or foreign file costs.
	maxHistoryRead = 1 << 20
	// historyDir and historyName place the file under the user's state
	// directory.
	historyDir, historyName = "easykv", "tui_history"
)

// DefaultHistoryFile is where the dashboard keeps its prompt history:
// $XDG_STATE_HOME/easykv/tui_history, or ~/.local/state/easykv/tui_history
// when XDG_STATE_HOME is unset or not absolute (as the XDG spec says).
func DefaultHistoryFile() (string, error) {
	if dir := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(dir) {
		return filepath.Join(dir, historyDir, historyName), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("history file: %w", err)
	}
	return filepath.Join(home, ".local", "state", historyDir, historyName), nil
}

// history is the prompt's list of commands run, browsed with ↑ and ↓ and
// kept in a file, one command a line. Each command is appended as it is
// run, so a crash loses none; the file is rewritten to the last maxHistory
// lines once it has grown to twice that.
type history struct {
	// path is the file; empty keeps the history in memory only.
	path string
	// lines are the commands, oldest first, at most maxHistory, no two
	// neighbours the same.
	lines []string
	// fileLines counts the lines in the file, to know when to rewrite it.
	fileLines int
	// pos is the line shown while browsing; len(lines) when not browsing.
	pos int
	// draft is what the prompt held when browsing began; going down past
	// the newest command brings it back.
	draft string
	// noted says a file error has been reported already: it is said once.
	noted bool
	// unterminated says the file's last line has no newline yet.
	unterminated bool
}

// loadHistory reads the history in path ("" for none). A missing file is an
// empty history. A file that cannot be read gives an empty history kept in
// memory only, and the error to report.
func loadHistory(path string) (*history, error) {
	h := &history{path: path}
	if path == "" {
		return h, nil
	}
	data, err := readTail(path, maxHistoryRead)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return h, nil
	case err != nil:
		h.path = ""
		return h, err
	}
	text := string(data)
	h.fileLines = strings.Count(text, "\n")
	if text != "" && !strings.HasSuffix(text, "\n") {
		// A line cut short, by a crash or another program: the next
		// command must start a line of its own.
		h.fileLines++
		h.unterminated = true
	}
	if int64(len(data)) >= maxHistoryRead/2 {
		// Much bigger than the prompt writes: rewrite it at the next command.
		h.fileLines = max(h.fileLines, 2*maxHistory)
	}
	for line := range strings.SplitSeq(text, "\n") {
		if line = strings.TrimSpace(line); line == "" || len(line) > maxHistoryLine || !utf8.ValidString(line) {
			continue
		}
		h.push(clean(line))
	}
	h.pos = len(h.lines)
	return h, nil
}

// readTail reads the last n bytes of the file at path, from the start of a
// line.
func readTail(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	from := max(size-n, 0)
	data := make([]byte, size-from)
	if _, err := f.ReadAt(data, from); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if from > 0 {
		// The first line was cut by where reading began.
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		} else {
			data = nil
		}
	}
	return data, nil
}

// push appends line unless it repeats the newest, dropping the oldest
// beyond maxHistory.
func (h *history) push(line string) bool {
	if n := len(h.lines); n > 0 && h.lines[n-1] == line {
		return false
	}
	if len(h.lines) == maxHistory {
		h.lines = append(h.lines[:0], h.lines[1:]...)
	}
	h.lines = append(h.lines, line)
	return true
}

// add records a command that was run and ends any browsing. It returns the
// file's error, if the command could not be written; it is in the history
// all the same.
func (h *history) add(line string) error {
	line = clean(strings.TrimSpace(line))
	added := line != "" && len(line) <= maxHistoryLine && h.push(line)
	h.pos, h.draft = len(h.lines), ""
	if !added || h.path == "" {
		return nil
	}
	if h.fileLines >= 2*maxHistory {
		return h.rewrite()
	}
	if err := os.MkdirAll(filepath.Dir(h.path), 0o700); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	// One write per line: two dashboards appending to the same file do not
	// interleave within a line.
	if h.unterminated {
		line = "\n" + line
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	h.fileLines++
	h.unterminated = false
	return nil
}

// rewrite replaces the file with the lines kept, through a temporary file
// renamed over it, so a crash leaves the old file or the new one.
func (h *history) rewrite() error {
	dir := filepath.Dir(h.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	f, err := os.CreateTemp(dir, historyName+".*")
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	_, err = f.WriteString(strings.Join(h.lines, "\n") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), h.path)
	}
	if err != nil {
		_ = os.Remove(f.Name()) // the error that matters is the one above
		return fmt.Errorf("history: %w", err)
	}
	h.fileLines, h.unterminated = len(h.lines), false
	return nil
}

// prev is the command before the one shown, and false at the oldest. The
// first step back keeps current, the line being typed, for next. If the
// prompt no longer holds the command shown (it was edited, or cleared with
// esc), browsing starts again from the newest, with current as the line
// being typed.
func (h *history) prev(current string) (string, bool) {
	h.follow(current)
	if h.pos == 0 {
		return "", false
	}
	if h.pos == len(h.lines) {
		h.draft = current
	}
	h.pos--
	return h.lines[h.pos], true
}

// next is the command after the one shown, or the line that was being
// typed once past the newest; false when not browsing.
func (h *history) next(current string) (string, bool) {
	h.follow(current)
	if h.pos >= len(h.lines) {
		return "", false
	}
	h.pos++
	if h.pos == len(h.lines) {
		return h.draft, true
	}
	return h.lines[h.pos], true
}

// follow stops browsing if current is not the command shown.
func (h *history) follow(current string) {
	if h.pos < len(h.lines) && h.lines[h.pos] != current {
		h.pos, h.draft = len(h.lines), ""
	}
}

// noteOnce reports whether a file error should be shown: true the first
// time only.
func (h *history) noteOnce() bool {
	first := !h.noted
	h.noted = true
	return first
}
