package kvmap

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeCommand checks that no input makes DecodeCommand panic, that
// every failure wraps ErrBadCommand, and that whatever decodes re-encodes to
// the same bytes (the encoding is canonical). Seeds are in
// testdata/fuzz/FuzzDecodeCommand.
func FuzzDecodeCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			if !errors.Is(err, ErrBadCommand) {
				t.Fatalf("DecodeCommand(%x) error %v does not wrap ErrBadCommand", b, err)
			}
			return
		}
		if again := c.Encode(); !bytes.Equal(again, b) {
			t.Fatalf("DecodeCommand(%x) = %+v, which encodes to %x", b, c, again)
		}
		if c2, err := DecodeCommand(c.Encode()); err != nil || c2 != c {
			t.Fatalf("round trip of %+v gave %+v, %v", c, c2, err)
		}
		_ = c.String()
		// Applying what decodes must not fail either.
		if r := New(Options{}).Apply(1, b); r.Err != nil {
			t.Fatalf("Apply of a decodable command: %v", r.Err)
		}
	})
}
