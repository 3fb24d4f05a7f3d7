package kvmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Op is what a command does to its key.
type Op uint8

const (
	OpPut    Op = 1 // set Key to Value
	OpDelete Op = 2 // remove Key
)

// ErrBadCommand is wrapped by every error for bytes that are not an encoded
// Command.
var ErrBadCommand = errors.New("bad command")

// commandVersion is the first byte of every encoded command, so the format
// can change without old entries in a log being misread.
const commandVersion = 1

// Command is one write, the payload of a normal Raft log entry.
type Command struct {
	Op       Op     // what to do
	Key      string // key written or deleted; any bytes, empty included
	Value    string // new value, OpPut only; not encoded for OpDelete
	ClientID uint64 // client session; 0 = no session (never deduplicated)
	Seq      uint64 // per-client sequence number of this write, from 1; must be > 0 when ClientID != 0
}

// Encode returns the binary form of c:
//
//	version byte | op byte | uvarint ClientID | uvarint Seq | uvarint len(Key) | Key [| uvarint len(Value) | Value, OpPut only]
func (c Command) Encode() []byte {
	return c.AppendEncode(make([]byte, 0, c.encodedLen()))
}

// AppendEncode appends the binary form of c to dst and returns the extended
// slice. It does not allocate when dst has room for the encoding.
func (c Command) AppendEncode(dst []byte) []byte {
	dst = slices.Grow(dst, c.encodedLen())
	dst = append(dst, commandVersion, byte(c.Op))
	dst = binary.AppendUvarint(dst, c.ClientID)
	dst = binary.AppendUvarint(dst, c.Seq)
	dst = appendBytes(dst, c.Key)
	if c.Op == OpPut {
		dst = appendBytes(dst, c.Value)
	}
	return dst
}

func (c Command) encodedLen() int {
	n := 2 + uvarintLen(c.ClientID) + uvarintLen(c.Seq) + uvarintLen(uint64(len(c.Key))) + len(c.Key)
	if c.Op == OpPut {
		n += uvarintLen(uint64(len(c.Value))) + len(c.Value)
	}
	return n
}

// DecodeCommand parses the output of Encode. It accepts only what Encode
// produces, so Encode(DecodeCommand(b)) == b whenever it succeeds; any other
// input gives an error wrapping ErrBadCommand. The result does not alias b.
func DecodeCommand(b []byte) (Command, error) {
	key, value, c, err := decodeCommand(b)
	if err != nil {
		return Command{}, err
	}
	c.Key, c.Value = string(key), string(value)
	return c, nil
}

// decodeCommand parses b without copying the key and value out of it, for
// Apply to look a key up before deciding whether it needs a string.
func decodeCommand(b []byte) (key, value []byte, c Command, err error) {
	d := decoder{b: b, bad: ErrBadCommand}
	if v := d.byte("version"); d.err == nil && v != commandVersion {
		d.fail("version", "unknown version %d", v)
	}
	c.Op = Op(d.byte("op"))
	if d.err == nil && c.Op != OpPut && c.Op != OpDelete {
		d.fail("op", "unknown op %d", c.Op)
	}
	c.ClientID = d.uvarint("client id")
	c.Seq = d.uvarint("seq")
	if d.err == nil && c.ClientID != 0 && c.Seq == 0 {
		d.fail("seq", "client %d write without a sequence number", c.ClientID)
	}
	key = d.bytes("key")
	if c.Op == OpPut {
		value = d.bytes("value")
	}
	d.end()
	if d.err != nil {
		return nil, nil, Command{}, d.err
	}
	return key, value, c, nil
}

// shownRunes is how much of a key or value String shows: enough to recognise
// it in a one-line log tail.
const shownRunes = 24

// String is a short human form for the dashboard's log tail: `PUT user:1
// alice`, `DEL user:1`. Keys and values longer than 24 runes are cut and
// marked with "…"; one that is empty or holds spaces, quotes, backslashes,
// invalid UTF-8 or non-printable characters is shown as a quoted Go string.
func (c Command) String() string {
	switch c.Op {
	case OpPut:
		return "PUT " + shortQuote(c.Key) + " " + shortQuote(c.Value)
	case OpDelete:
		return "DEL " + shortQuote(c.Key)
	default:
		return fmt.Sprintf("OP(%d) %s", uint8(c.Op), shortQuote(c.Key))
	}
}

// shortQuote cuts s to shownRunes runes and quotes it when shown bare it
// would be ambiguous or unreadable.
func shortQuote(s string) string {
	cut, more := s, false
	n := 0
	for i := range s {
		if n == shownRunes {
			cut, more = s[:i], true
			break
		}
		n++
	}
	if needsQuote(cut) {
		cut = strconv.Quote(cut)
	}
	if more {
		cut += "…"
	}
	return cut
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && size == 1 || !strconv.IsPrint(r) || r == ' ' || r == '"' || r == '\\' {
			return true
		}
		s = s[size:]
	}
	return false
}
