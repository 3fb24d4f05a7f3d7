package kvmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// ErrBadSnapshot is wrapped by every error for a snapshot that is damaged:
// a bad checksum, bad framing, or contents no Map could have written.
var ErrBadSnapshot = errors.New("bad snapshot")

// Snapshot layout, all integers uvarints unless noted:
//
//	magic "ekvs" | version byte | applied index
//	| key count | (key length | key | value length | value)… in ascending key order
//	| session count | (client id | last seq | last index | existed byte)… in ascending last index order
//	| config length | config bytes (version 2 only; version 1 has no config)
//	| CRC-32C of everything before it, 4 bytes little-endian
const (
	snapshotMagic   = "ekvs"
	snapshotVersion = 2 // written; ReadSnapshot also reads version 1
	crcLen          = 4
	// flushAt is how much WriteSnapshot buffers before writing, so that
	// writing costs few calls to w without holding the whole snapshot.
	flushAt = 64 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapWriter buffers snapshot bytes and checksums them as they go out.
type snapWriter struct {
	w   io.Writer // destination
	buf []byte    // bytes not yet written to w
	crc uint32    // CRC-32C of the bytes written to w so far
}

func (s *snapWriter) flush() error {
	s.crc = crc32.Update(s.crc, castagnoli, s.buf)
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	return err
}

func (s *snapWriter) maybeFlush() error {
	if len(s.buf) < flushAt {
		return nil
	}
	return s.flush()
}

// WriteSnapshot writes the applied index, the data, the sessions and the
// configuration to w.
// The bytes depend only on the applied log: keys are written in ascending
// order and sessions in the order they were last seen.
func (m *Map) WriteSnapshot(w io.Writer) error {
	s := snapWriter{w: w, buf: make([]byte, 0, flushAt+1024)}
	s.buf = append(s.buf, snapshotMagic...)
	s.buf = append(s.buf, snapshotVersion)
	s.buf = binary.AppendUvarint(s.buf, m.applied)

	keys := make([]string, 0, m.data.len())
	for k := range m.data.slots {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s.buf = binary.AppendUvarint(s.buf, uint64(len(keys)))
	for _, k := range keys {
		v, _ := m.data.get(k)
		s.buf = appendBytes(s.buf, k)
		s.buf = appendBytes(s.buf, v)
		if err := s.maybeFlush(); err != nil {
			return fmt.Errorf("write snapshot: %w", err)
		}
	}

	s.buf = binary.AppendUvarint(s.buf, uint64(m.sessions.len()))
	for ss := m.sessions.oldest; ss != nil; ss = ss.next {
		s.buf = binary.AppendUvarint(s.buf, ss.id)
		s.buf = binary.AppendUvarint(s.buf, ss.lastSeq)
		s.buf = binary.AppendUvarint(s.buf, ss.lastIndex)
		s.buf = append(s.buf, boolByte(ss.existed))
		if err := s.maybeFlush(); err != nil {
			return fmt.Errorf("write snapshot: %w", err)
		}
	}
	s.buf = binary.AppendUvarint(s.buf, uint64(len(m.conf)))
	s.buf = append(s.buf, m.conf...)
	if err := s.flush(); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	s.buf = binary.LittleEndian.AppendUint32(s.buf, s.crc)
	if _, err := w.Write(s.buf); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}

// ReadSnapshot reads a snapshot written by WriteSnapshot and returns the Map
// it describes, configured by opts. r must hold the snapshot and nothing
// after it. A damaged snapshot gives an error wrapping ErrBadSnapshot, and
// the checksum is verified before anything is built.
func ReadSnapshot(r io.Reader, opts Options) (*Map, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	return parseSnapshot(b, opts)
}

// parseSnapshot is ReadSnapshot of a snapshot already in memory.
func parseSnapshot(b []byte, opts Options) (*Map, error) {
	if len(b) < len(snapshotMagic)+1+crcLen {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrBadSnapshot, len(b))
	}
	body, sum := b[:len(b)-crcLen], binary.LittleEndian.Uint32(b[len(b)-crcLen:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x", ErrBadSnapshot, got, sum)
	}
	return decodeSnapshot(body, opts)
}

// decodeSnapshot parses a checksummed snapshot body. Beyond framing it checks
// what every Map satisfies (keys sorted and unique, sessions unique, ordered
// by last index and not from the future), so a snapshot that was written
// wrongly is refused rather than loaded into a state no log leads to.
func decodeSnapshot(body []byte, opts Options) (*Map, error) {
	d := decoder{b: body, bad: ErrBadSnapshot}
	if magic := d.b[:len(snapshotMagic)]; string(magic) != snapshotMagic {
		return nil, fmt.Errorf("%w: magic %q, want %q", ErrBadSnapshot, magic, snapshotMagic)
	}
	d.b = d.b[len(snapshotMagic):]
	version := d.byte("version")
	if d.err == nil && version != 1 && version != snapshotVersion {
		d.fail("version", "unknown version %d", version)
	}
	applied := d.uvarint("applied index")

	nKeys := d.uvarint("key count")
	// Each key takes at least two bytes, which bounds what is preallocated.
	data := newStore(int(min(nKeys, uint64(len(d.b)/2))))
	var prev []byte
	for i := uint64(0); i < nKeys && d.err == nil; i++ {
		rec := d.b // the pair's canonical encoding, hashed for the digest
		k := d.bytes("key")
		v := d.bytes("value")
		switch {
		case d.err != nil:
		case i > 0 && string(k) <= string(prev):
			d.fail("key", "key %d is not above the one before it", i)
		default:
			data.insert(string(k), string(v), hashPair(rec[:len(rec)-len(d.b)]))
			prev = k
		}
	}
	m := newMap(opts, data)
	m.applied = applied

	nSessions := d.uvarint("session count")
	var lastIndex uint64
	for i := uint64(0); i < nSessions && d.err == nil; i++ {
		s := &session{id: d.uvarint("client id"), lastSeq: d.uvarint("last seq"), lastIndex: d.uvarint("last index")}
		switch existed := d.byte("existed"); {
		case d.err != nil:
		case existed > 1:
			d.fail("existed", "byte %d is not 0 or 1", existed)
		case s.id == 0 || s.lastSeq == 0:
			d.fail("session", "session %d has client id %d and seq %d", i, s.id, s.lastSeq)
		case s.lastIndex > applied || s.lastIndex <= lastIndex:
			d.fail("session", "session %d last seen at index %d, outside (%d, %d]", i, s.lastIndex, lastIndex, applied)
		case m.sessions.get(s.id) != nil:
			d.fail("session", "client %d appears twice", s.id)
		default:
			s.existed = existed == 1
			m.sessions.add(s)
			lastIndex = s.lastIndex
		}
	}
	if version == 2 {
		// A copy, so that the Map does not keep the whole snapshot alive.
		m.SetConfig(d.bytes("config"))
	}
	d.end()
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
