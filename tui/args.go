package tui

import (
	"strings"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
)

// execute runs one line typed at the prompt.
func (m *Model) execute(line string) tea.Cmd {
	word, rest := splitWord(line)
	if word == "" {
		return nil
	}
	c := lookupCommand(word)
	if c == nil {
		m.setError("unknown command %q: help lists the commands", word)
		return nil
	}
	return c.run(m, strings.ToLower(word), rest, strings.Fields(rest))
}

// splitWord cuts s into its first word and the rest, without the spaces
// around either; the rest keeps the spaces inside it.
func splitWord(s string) (word, rest string) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i:])
}
