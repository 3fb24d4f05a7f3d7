package tui

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
)

// execute runs one line typed at the prompt, or read in piped mode. The
// words after the command are split as redis-cli splits them (splitArgs):
// a command's run gets them unquoted as args, and rest, the raw text after
// the command word.
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
	verb := strings.ToLower(word)
	toks, err := splitArgs(rest)
	if err != nil {
		m.setError("%s: %v", verb, err)
		return nil
	}
	// For the commands whose meaning depends on quoting (get's @ID), while
	// run runs; Update runs one line at a time.
	m.lineTokens = toks
	defer func() { m.lineTokens = nil }()
	return c.run(m, verb, rest, tokenValues(toks))
}

// argTokens is the tokens of the line m is running, quoting included, if
// execute has them, else args taken as unquoted words: a command whose
// meaning depends on quoting (get KEY @ID: @ID names a node only
// unquoted) reads them here, as the run functions' arguments carry the
// words unquoted.
func (m *Model) argTokens(args []string) []token {
	if toks := m.lineTokens; toks != nil && len(toks) == len(args) {
		return toks
	}
	toks := make([]token, len(args))
	for i, a := range args {
		toks[i] = token{text: a}
	}
	return toks
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

// token is one argument, unquoted.
type token struct {
	// text is the argument with its quotes and escapes resolved.
	text string
	// quoted says some of it was written in quotes: "@n1" or '@n1' is a
	// key, where @n1 names a node.
	quoted bool
}

// tokenValues is toks' texts.
func tokenValues(toks []token) []string {
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.text
	}
	return out
}

// errArgs is the error of a line that cannot be split into arguments.
var errArgs = errors.New("bad quoting")

// splitArgs splits s into arguments as redis-cli does (sdssplitargs):
// arguments are separated by spaces; in double quotes, \n \r \t \b \a \\
// \" and \xHH (a byte in hex) are escapes, and any other backslashed
// character stands for itself; in single quotes only \' is an escape; a
// quoted part can follow unquoted text in the same argument (ab"c d" is
// "abc d"), but a closing quote must be followed by a space or the end.
// An unbalanced quote is an error, and so is an argument that is not valid
// UTF-8 (made with \xHH), as keys and values are text.
func splitArgs(s string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(s) && isCSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return toks, nil
		}
		var b strings.Builder
		tok := token{}
		start := i
		var quote byte // the quote the argument is inside: '"', '\'' or none
	arg:
		for {
			switch {
			case quote != 0:
				switch {
				case i == len(s):
					return nil, fmt.Errorf("%w: unbalanced %s quote in %s", errArgs, quoteName(quote), s[start:])
				case quote == '"' && s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' && isHex(s[i+2]) && isHex(s[i+3]):
					b.WriteByte(unhex(s[i+2])<<4 | unhex(s[i+3]))
					i += 4
				case quote == '"' && s[i] == '\\' && i+1 < len(s):
					b.WriteByte(unescape(s[i+1]))
					i += 2
				case quote == '\'' && s[i] == '\\' && i+1 < len(s) && s[i+1] == '\'':
					b.WriteByte('\'')
					i += 2
				case s[i] == quote:
					i++
					if i < len(s) && !isCSpace(s[i]) {
						return nil, fmt.Errorf("%w: closing quote must be followed by a space or nothing at all in %s", errArgs, s[start:])
					}
					break arg
				default:
					b.WriteByte(s[i])
					i++
				}
			default:
				if i == len(s) {
					break arg
				}
				switch s[i] {
				case ' ', '\n', '\r', '\t', 0:
					break arg
				case '"', '\'':
					quote, tok.quoted = s[i], true
				default:
					b.WriteByte(s[i])
				}
				i++
			}
		}
		tok.text = b.String()
		if !utf8.ValidString(tok.text) {
			return nil, fmt.Errorf("%w: %s is not valid UTF-8 (keys and values are text)", errArgs, s[start:i])
		}
		toks = append(toks, tok)
	}
}

// quoteName names a quote character in an error.
func quoteName(q byte) string {
	if q == '"' {
		return "double"
	}
	return "single"
}

// isCSpace is C's isspace in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// unescape is what a backslash and c stand for in double quotes.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	default:
		return c
	}
}

// quoteArg writes s as an argument splitArgs reads back as s, unquoted
// when it can be: a key with a space, a quote, a backslash, a control
// character or a leading @ (or none at all) in double quotes, with
// redis-cli's escapes. Results repeat keys this way.
func quoteArg(s string) string {
	if s != "" && !strings.HasPrefix(s, "@") && !strings.ContainsFunc(s, func(r rune) bool {
		return r == '"' || r == '\'' || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r)
	}) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\x%02x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
