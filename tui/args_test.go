package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestSplitArgs checks the prompt splits a line as redis-cli does
// (sdssplitargs): q marks a token some of which was quoted.
func TestSplitArgs(t *testing.T) {
	type tok = token
	u := func(s string) tok { return tok{text: s} }
	q := func(s string) tok { return tok{text: s, quoted: true} }
	tests := []struct {
		in   string
		want []tok
	}{
		{"", nil},
		{"   \t ", nil},
		{"a", []tok{u("a")}},
		{"  a  b\tc \n", []tok{u("a"), u("b"), u("c")}},
		{"'my key' hello world", []tok{q("my key"), u("hello"), u("world")}},
		{`"my key" "  a  b "`, []tok{q("my key"), q("  a  b ")}},
		{`""`, []tok{q("")}},
		{`'' x`, []tok{q(""), u("x")}},
		// Double quotes: redis-cli's escapes, and any other backslashed
		// character stands for itself.
		{`"a\nb\rc\td\be\af"`, []tok{q("a\nb\rc\td\be\af")}},
		{`"back\\slash \"quoted\""`, []tok{q(`back\slash "quoted"`)}},
		{`"\x41\x7a\x5A"`, []tok{q("AzZ")}},
		{`"\xc3\xa9"`, []tok{q("é")}},
		{`"\x4"`, []tok{q("x4")}},   // not two hex digits: \x is x
		{`"\xg1"`, []tok{q("xg1")}}, // ditto
		{`"\q\'"`, []tok{q(`q'`)}},
		{`"it's"`, []tok{q("it's")}},
		// Single quotes: only \' is an escape.
		{`'a\nb'`, []tok{q(`a\nb`)}},
		{`'it\'s'`, []tok{q("it's")}},
		{`'say "hi"'`, []tok{q(`say "hi"`)}},
		{`'a\\b'`, []tok{q(`a\\b`)}},
		// Outside quotes a backslash is an ordinary character.
		{`a\nb`, []tok{u(`a\nb`)}},
		// A quote inside a word starts a quoted part of the same argument.
		{`ab"c d"`, []tok{q("abc d")}},
		{`x'y z' w`, []tok{q("xy z"), u("w")}},
		// A leading @ is kept; quoting says whether it names a node.
		{`k @n1`, []tok{u("k"), u("@n1")}},
		{`'@n1'`, []tok{q("@n1")}},
		{`"@n1" @n2`, []tok{q("@n1"), u("@n2")}},
		{"é ünïcode", []tok{u("é"), u("ünïcode")}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := splitArgs(tt.in)
			if err != nil {
				t.Fatalf("splitArgs(%q): %v", tt.in, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("splitArgs(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// TestSplitArgsErrors: unbalanced quotes, and a closing quote followed by
// anything but a space, are errors, as in redis-cli ("Invalid argument(s)").
func TestSplitArgsErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"abc`, "unbalanced double quote"},
		{`'abc`, "unbalanced single quote"},
		{`a "b c`, "unbalanced double quote"},
		{`"abc\"`, "unbalanced double quote"}, // the quote is escaped
		{`'abc\'`, "unbalanced single quote"},
		{`'\\'`, "unbalanced single quote"}, // \' is an escaped quote, as in redis-cli
		{`"abc\`, "unbalanced double quote"},
		{`"a"b`, "closing quote must be followed by a space"},
		{`'a'b`, "closing quote must be followed by a space"},
		{`"a""b"`, "closing quote must be followed by a space"},
		{`"\xff"`, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := splitArgs(tt.in)
			if err == nil {
				t.Fatalf("splitArgs(%q) = %+v, want an error", tt.in, got)
			}
			if !errors.Is(err, errArgs) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("splitArgs(%q) error %q, want errArgs mentioning %q", tt.in, err, tt.want)
			}
		})
	}
}

// TestQuoteArgRoundTrips: what results print for a key reads back as it.
func TestQuoteArgRoundTrips(t *testing.T) {
	tests := []struct{ in, want string }{
		{"user:1", "user:1"},
		{"é", "é"},
		{"my key", `"my key"`},
		{"@n1", `"@n1"`},
		{"a@b", "a@b"},
		{"", `""`},
		{`say "hi"`, `"say \"hi\""`},
		{"it's", `"it's"`},
		{`back\slash`, `"back\\slash"`},
		{"tab\there\nnew\x01\x7f", `"tab\there\nnew\x01\x7f"`},
	}
	for _, tt := range tests {
		got := quoteArg(tt.in)
		if got != tt.want {
			t.Errorf("quoteArg(%q) = %s, want %s", tt.in, got, tt.want)
		}
		back, err := splitArgs(got)
		if err != nil || len(back) != 1 || back[0].text != tt.in {
			t.Errorf("splitArgs(%s) = %+v, %v; want %q back", got, back, err, tt.in)
		}
	}
}

// TestExecuteBadQuotingIsAUsageError: a line that cannot be split runs
// nothing and says why, as the command's error.
func TestExecuteBadQuotingIsAUsageError(t *testing.T) {
	h := kvHarness(t)
	if cmd := h.typeLine(`put 'my key hello`); cmd != nil {
		t.Error("a line with an unbalanced quote gave a command")
	}
	if want := "put: bad quoting: unbalanced single quote in 'my key hello"; !h.m.status.isErr || h.m.status.text != want {
		t.Errorf("status = %q (error %v), want error %q", h.m.status.text, h.m.status.isErr, want)
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		if got := kvCallsOf(h, id); len(got) != 0 {
			t.Errorf("a bad line sent %v to %s", got, id)
		}
	}
	if h.m.lineTokens != nil {
		t.Error("execute left the line's tokens behind")
	}
}
