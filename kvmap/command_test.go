package kvmap

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range []Command{
		{Op: OpPut, Key: "user:1", Value: "alice"},
		{Op: OpPut, Key: "", Value: ""},
		{Op: OpPut, Key: "k", Value: strings.Repeat("v", 300), ClientID: 1, Seq: 1},
		{Op: OpPut, Key: "\x00\xff binary", Value: "ünïcode ✓", ClientID: 1<<64 - 1, Seq: 1<<64 - 1},
		{Op: OpDelete, Key: "user:1"},
		{Op: OpDelete, Key: "user:1", ClientID: 7, Seq: 300},
	} {
		b := c.Encode()
		got, err := DecodeCommand(b)
		if err != nil || got != c {
			t.Errorf("DecodeCommand(Encode(%+v)) = %+v, %v", c, got, err)
		}
		if again := got.Encode(); !bytes.Equal(again, b) {
			t.Errorf("re-encoding %+v gave %x, want %x", c, again, b)
		}
	}
}

func TestCommandDeleteDropsValue(t *testing.T) {
	c := Command{Op: OpDelete, Key: "k", Value: "ignored"}
	got, err := DecodeCommand(c.Encode())
	want := Command{Op: OpDelete, Key: "k"}
	if err != nil || got != want {
		t.Fatalf("DecodeCommand = %+v, %v; want %+v", got, err, want)
	}
}

func TestAppendEncodeNoAlloc(t *testing.T) {
	c := Command{Op: OpPut, Key: "user:1", Value: strings.Repeat("x", 256), ClientID: 9, Seq: 1234}
	prefix := []byte("prefix")
	got := c.AppendEncode(prefix)
	if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], c.Encode()) {
		t.Fatalf("AppendEncode did not append the encoding to dst")
	}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = c.AppendEncode(buf[:0]) }); n != 0 {
		t.Fatalf("AppendEncode with room allocated %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = c.Encode() }); n != 1 {
		t.Fatalf("Encode allocated %v times, want 1", n)
	}
}

func TestDecodeCommandErrors(t *testing.T) {
	valid := Command{Op: OpPut, Key: "k", Value: "v", ClientID: 1, Seq: 1}.Encode()
	for _, tc := range []struct {
		name string
		in   []byte
		want string // part of the error message
	}{
		{"empty", nil, "version: truncated"},
		{"unknown version", []byte{2, 1, 0, 0, 0, 0}, "unknown version 2"},
		{"unknown op", []byte{1, 3, 0, 0, 0}, "unknown op 3"},
		{"zero op", []byte{1, 0, 0, 0, 0}, "unknown op 0"},
		{"no client id", []byte{1, 2}, "client id: truncated"},
		{"varint not minimal", []byte{1, 2, 0x80, 0x00, 0, 0}, "varint not minimal"},
		{"varint overflow", []byte{1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "overflows"},
		{"session without seq", []byte{1, 2, 5, 0, 0}, "without a sequence number"},
		{"key length past end", []byte{1, 2, 0, 0, 5, 'a'}, "length 5 exceeds the 1 bytes left"},
		{"huge key length", []byte{1, 2, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, "exceeds"},
		{"put without value", []byte{1, 1, 0, 0, 1, 'k'}, "value: truncated"},
		{"trailing bytes", append(valid[:len(valid):len(valid)], 0), "1 trailing bytes"},
		{"delete with value", []byte{1, 2, 0, 0, 1, 'k', 1, 'v'}, "2 trailing bytes"},
		{"truncated value", valid[:len(valid)-1], "value: length 1 exceeds the 0 bytes left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeCommand(tc.in)
			if !errors.Is(err, ErrBadCommand) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodeCommand(%x) = %+v, %v; want ErrBadCommand containing %q", tc.in, c, err, tc.want)
			}
			if c != (Command{}) {
				t.Fatalf("DecodeCommand returned %+v with its error, want the zero Command", c)
			}
		})
	}
}

func TestCommandString(t *testing.T) {
	long := strings.Repeat("a", 30)
	for _, tc := range []struct {
		c    Command
		want string
	}{
		{Command{Op: OpPut, Key: "user:1", Value: "alice"}, "PUT user:1 alice"},
		{Command{Op: OpDelete, Key: "user:1", Value: "ignored"}, "DEL user:1"},
		{Command{Op: OpPut, Key: "k", Value: ""}, `PUT k ""`},
		{Command{Op: OpPut, Key: "two words", Value: "x"}, `PUT "two words" x`},
		{Command{Op: OpPut, Key: "nul\x00", Value: "tab\tnl\n"}, `PUT "nul\x00" "tab\tnl\n"`},
		{Command{Op: OpPut, Key: "bad\xffutf8", Value: `q"b\`}, `PUT "bad\xffutf8" "q\"b\\"`},
		{Command{Op: OpPut, Key: "ключ", Value: "✓"}, "PUT ключ ✓"},
		{Command{Op: OpPut, Key: long, Value: strings.Repeat("é", 25)}, "PUT " + long[:24] + "… " + strings.Repeat("é", 24) + "…"},
		{Command{Op: OpDelete, Key: strings.Repeat("\x01", 25)}, `DEL "` + strings.Repeat(`\x01`, 24) + `"…`},
		{Command{Op: OpPut, Key: strings.Repeat("b", 24), Value: "v"}, "PUT " + strings.Repeat("b", 24) + " v"},
		{Command{Op: 9, Key: "k"}, "OP(9) k"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("%+v.String() = %s, want %s", tc.c, got, tc.want)
		}
	}
}
