package segmentlog

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// Record layout, little endian; see doc.go for the reasoning.
const (
	headerSize  = 32 // length, crc, term, index, type, reserved, batch
	recordAlign = 8

	offLength   = 0
	offCRC      = 4
	offTerm     = 8
	offIndex    = 16
	offType     = 24
	offReserved = 25 // three bytes that must be zero
	offBatch    = 28

	// cutMark in the CRC field of a zero length says the log was cut there
	// on purpose (TruncateSuffix, or repair on open), so the bytes after it
	// are leftovers, not records that lost their header.
	cutMark = 0x2174_7563 // "cut!"

	// maxDataLen bounds one entry's payload so that a record, and the
	// segment sized to fit it, stays well inside the u32 length and offsets.
	maxDataLen = maxSegmentSize - headerSize
)

// Ways a record can fail to decode. They describe the bytes, not whether the
// damage is a torn write or corruption: the scan in recover.go decides that.
var (
	errEnd         = errors.New("end of records")
	errTruncated   = errors.New("record runs past the end of the segment")
	errShortLength = errors.New("length shorter than a record header")
	errChecksum    = errors.New("checksum mismatch")
	errReserved    = errors.New("reserved header bytes are not zero")
)

// record is one decoded record. Data aliases the buffer it was decoded from.
type record struct {
	Entry
	batch  uint32 // records appended before this one since the log was last durable
	length int    // header plus payload, without the padding (the length field)
}

// paddedSize is how many bytes a record with n payload bytes occupies.
func paddedSize(n int) int64 {
	return alignUp(int64(headerSize+n), recordAlign)
}

func alignUp(n, to int64) int64 {
	return (n + to - 1) / to * to
}

// putRecord writes e's record at the start of dst, which must hold
// paddedSize(len(e.Data)) bytes. Copying the payload is its only memcpy.
func putRecord(dst []byte, e Entry, batch uint32) {
	length := headerSize + len(e.Data)
	binary.LittleEndian.PutUint32(dst[offLength:], uint32(length))
	binary.LittleEndian.PutUint64(dst[offTerm:], e.Term)
	binary.LittleEndian.PutUint64(dst[offIndex:], e.Index)
	dst[offType] = e.Type
	clear(dst[offReserved:offBatch])
	binary.LittleEndian.PutUint32(dst[offBatch:], batch)
	copy(dst[headerSize:], e.Data)
	clear(dst[length:paddedSize(len(e.Data))])
	binary.LittleEndian.PutUint32(dst[offCRC:], recordChecksum(dst[:length]))
}

// recordChecksum is the CRC-32C of a record's bytes except the CRC field:
// the length before it and everything after it up to the end of the payload.
func recordChecksum(rec []byte) uint32 {
	crc := crc32.Update(0, castagnoli, rec[offLength:offCRC])
	return crc32.Update(crc, castagnoli, rec[offTerm:])
}

// decodeRecord decodes the record at the start of buf, which runs to the end
// of the segment. The length is checked against len(buf) before anything
// else is read, so no content can make it read out of bounds or allocate.
func decodeRecord(buf []byte) (record, error) {
	if len(buf) < offCRC {
		if allZero(buf) {
			return record{}, errEnd
		}
		return record{}, errTruncated
	}
	length := binary.LittleEndian.Uint32(buf[offLength:])
	// A damaged record still reports its length field: the scan on open
	// looks at the bytes it claims.
	claimed := record{length: int(length)}
	switch {
	case length == 0:
		return record{}, errEnd
	case length < headerSize:
		return claimed, errShortLength
	case uint64(length) > uint64(len(buf)):
		return claimed, errTruncated
	}
	rec := buf[:length]
	if recordChecksum(rec) != binary.LittleEndian.Uint32(rec[offCRC:]) {
		return claimed, errChecksum
	}
	if !allZero(rec[offReserved:offBatch]) {
		return claimed, errReserved
	}
	return record{
		Entry: Entry{
			Term:  binary.LittleEndian.Uint64(rec[offTerm:]),
			Index: binary.LittleEndian.Uint64(rec[offIndex:]),
			Type:  rec[offType],
			Data:  rec[headerSize:],
		},
		batch:  binary.LittleEndian.Uint32(rec[offBatch:]),
		length: int(length),
	}, nil
}

// allZero reports whether every byte of b is zero. It compares eight bytes
// at a time: the scan on open runs it over the unused end of every segment.
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
