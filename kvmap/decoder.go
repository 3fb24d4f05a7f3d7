package kvmap

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// decoder reads the fields shared by commands and snapshots from a byte
// slice. The first problem sticks in err and later reads return zero values,
// so callers check err once at the end. Every length is checked against the
// bytes left before it is used, so a damaged input never makes it allocate.
type decoder struct {
	b   []byte // bytes not read yet
	bad error  // sentinel wrapped by every error: ErrBadCommand or ErrBadSnapshot
	err error  // first problem found, nil while the input is fine
}

// fail records the first problem, naming the field being read.
func (d *decoder) fail(field, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s: %s", d.bad, field, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail(field, "truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// uvarint accepts only the shortest encoding of a value, so that every
// decodable input re-encodes to exactly the same bytes.
func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.fail(field, "truncated")
		return 0
	case n < 0:
		d.fail(field, "varint overflows 64 bits")
		return 0
	case n != uvarintLen(v):
		d.fail(field, "varint not minimal")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes reads a length-prefixed field. The result aliases the input.
func (d *decoder) bytes(field string) []byte {
	n := d.uvarint(field)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(field, "length %d exceeds the %d bytes left", n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// end reports bytes left over after the last field.
func (d *decoder) end() {
	if d.err == nil && len(d.b) > 0 {
		d.fail("end", "%d trailing bytes", len(d.b))
	}
}

// uvarintLen is the length of the shortest uvarint encoding of v.
func uvarintLen(v uint64) int {
	return (bits.Len64(v|1) + 6) / 7
}

func appendBytes(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}
