package segmentlog

import (
	"bytes"
	"errors"
	"testing"
)

func encodeRecord(e Entry, batch uint32) []byte {
	buf := make([]byte, paddedSize(len(e.Data)))
	putRecord(buf, e, batch)
	return buf
}

func TestRecordRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		e     Entry
		batch uint32
		size  int // padded bytes on disk
	}{
		{"empty noop", Entry{Term: 3, Index: 9, Type: 1}, 0, 32},
		{"one byte", Entry{Term: 1, Index: 1, Data: []byte{7}}, 5, 40},
		{"aligned", Entry{Term: 1 << 40, Index: 1<<63 + 5, Data: payload(1, 16)}, 1 << 31, 48},
		{"padded", Entry{Term: 2, Index: 2, Type: 255, Data: payload(2, 17)}, 1, 56},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := encodeRecord(tc.e, tc.batch)
			if len(buf) != tc.size {
				t.Fatalf("encoded %d bytes, want %d", len(buf), tc.size)
			}
			// Decode from a buffer with more bytes after the record, as in
			// a segment.
			rec, err := decodeRecord(append(buf, 1, 2, 3))
			if err != nil {
				t.Fatal(err)
			}
			if !sameEntry(rec.Entry, tc.e) || rec.batch != tc.batch || rec.length != headerSize+len(tc.e.Data) {
				t.Fatalf("decoded %+v batch %d length %d", rec.Entry, rec.batch, rec.length)
			}
		})
	}
}

// TestDecodeRecordDamage flips every bit of a record and cuts it at every
// length: each must be reported, none may decode as a record.
func TestDecodeRecordDamage(t *testing.T) {
	valid := encodeRecord(Entry{Term: 4, Index: 12, Type: 1, Data: payload(12, 21)}, 3)
	length := headerSize + 21
	for i := 0; i < length; i++ {
		for bit := 0; bit < 8; bit++ {
			bad := bytes.Clone(valid)
			bad[i] ^= 1 << bit
			if rec, err := decodeRecord(bad); err == nil {
				t.Fatalf("byte %d bit %d flipped: decoded %+v", i, bit, rec)
			}
		}
	}
	for n := 1; n < length; n++ {
		_, err := decodeRecord(valid[:n])
		if !errors.Is(err, errTruncated) {
			t.Fatalf("cut to %d bytes: %v, want errTruncated", n, err)
		}
	}
	tests := []struct {
		name string
		buf  []byte
		want error
	}{
		{"nothing", nil, errEnd},
		{"zeros", make([]byte, 64), errEnd},
		{"three zero bytes", []byte{0, 0, 0}, errEnd},
		{"short length", []byte{31, 0, 0, 0, 0, 0, 0, 0}, errShortLength},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, errTruncated},
	}
	for _, tc := range tests {
		if _, err := decodeRecord(tc.buf); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// Nonzero reserved bytes are refused even under a matching checksum.
	e := Entry{Term: 1, Index: 1}
	bad := encodeRecord(e, 0)
	bad[offReserved] = 1
	putChecksum(bad[:headerSize])
	if _, err := decodeRecord(bad); !errors.Is(err, errReserved) {
		t.Fatalf("reserved byte set: %v, want errReserved", err)
	}
}

func putChecksum(rec []byte) {
	c := recordChecksum(rec)
	rec[offCRC], rec[offCRC+1], rec[offCRC+2], rec[offCRC+3] = byte(c), byte(c>>8), byte(c>>16), byte(c>>24)
}

// FuzzDecodeRecord feeds arbitrary segment bytes to the decoder: it must
// never panic or read past the buffer, and whatever it accepts must encode
// back to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(Entry{Term: 2, Index: 7, Type: 1, Data: []byte("put k v")}, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := decodeRecord(data)
		if err != nil {
			return
		}
		if rec.length > len(data) || rec.length != headerSize+len(rec.Data) {
			t.Fatalf("length %d for %d bytes of input, %d of data", rec.length, len(data), len(rec.Data))
		}
		again := encodeRecord(rec.Entry, rec.batch)
		if !bytes.Equal(again[:rec.length], data[:rec.length]) {
			t.Fatalf("re-encoding gives %x, input was %x", again[:rec.length], data[:rec.length])
		}
	})
}
