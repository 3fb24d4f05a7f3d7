package kvmap

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrOutOfOrder is the Result.Err of an entry whose index is not above the
// applied index; such an entry is not applied.
var ErrOutOfOrder = errors.New("log index out of order")

// defaultSessionTTL is the SessionTTL used when Options leaves it zero.
const defaultSessionTTL = 1_000_000

// Options configure a Map. Every node of a cluster must use the same
// options, since they decide results.
type Options struct {
	SessionTTL uint64 // a session unused for this many log indexes is forgotten (0 → 1_000_000); expiry is by log index, never wall clock
}

// Result is what applying one log entry did.
type Result struct {
	Existed   bool  // PUT: key existed before (overwrite); DELETE: key existed (was deleted)
	Duplicate bool  // this (ClientID, Seq) was applied before; Existed is the ORIGINAL result
	Stale     bool  // Seq older than the session's last applied Seq (a late retry); nothing applied
	Err       error // the entry could not be decoded or was out of order; nothing applied
}

// Map is the replicated key-value state. See the package documentation for
// determinism, sessions and concurrency.
type Map struct {
	ttl      uint64       // Options.SessionTTL with its default applied
	applied  uint64       // index of the last entry applied
	data     store        // the key-value state
	sessions sessionTable // client sessions, for applying retries once
	conf     []byte       // cluster configuration as of applied, opaque; never modified in place, so clones share it
}

// New returns an empty Map that has applied nothing.
func New(opts Options) *Map {
	return newMap(opts, newStore(0))
}

func newMap(opts Options, data store) *Map {
	ttl := opts.SessionTTL
	if ttl == 0 {
		ttl = defaultSessionTTL
	}
	return &Map{ttl: ttl, data: data, sessions: newSessionTable()}
}

// Apply applies the log entry at index, whose payload is data (an encoded
// Command, or nil or empty for a no-op entry that only advances the applied
// index). index must be above AppliedIndex; gaps are allowed. An entry that
// does not decode still advances the applied index, with the decoding error
// in Result.Err, so every node stays in step. Apply does not retain data.
func (m *Map) Apply(index uint64, data []byte) Result {
	if index <= m.applied {
		return Result{Err: fmt.Errorf("apply index %d after %d: %w", index, m.applied, ErrOutOfOrder)}
	}
	m.applied = index
	m.sessions.expire(index, m.ttl)
	if len(data) == 0 {
		return Result{}
	}
	key, value, c, err := decodeCommand(data)
	if err != nil {
		return Result{Err: err}
	}
	var s *session
	if c.ClientID != 0 {
		if s = m.sessions.get(c.ClientID); s != nil {
			m.sessions.touch(s, index)
			switch {
			case c.Seq == s.lastSeq:
				return Result{Existed: s.existed, Duplicate: true}
			case c.Seq < s.lastSeq:
				return Result{Stale: true}
			}
		}
	}
	// Only a new key, and a value, allocate.
	at, existed := m.data.lookup(key)
	switch {
	case c.Op == OpPut:
		// An encoded put ends with its pair's canonical encoding, which
		// is what the digest hashes.
		h := hashPair(data[len(data)-pairLen(key, value):])
		if existed {
			m.data.set(at, string(value), h)
		} else {
			m.data.insert(string(key), string(value), h)
		}
	case existed: // OpDelete
		m.data.remove(key, at)
	}
	if c.ClientID != 0 {
		if s == nil {
			s = &session{id: c.ClientID, lastIndex: index}
			m.sessions.add(s)
		}
		s.lastSeq, s.existed = c.Seq, existed
	}
	return Result{Existed: existed}
}

// ApplyConfig applies the configuration entry at index, whose payload conf
// is the Raft core's encoding of the members: it becomes Config, so that
// snapshots carry the configuration as of their applied index. index is
// checked as Apply checks it: an index not above AppliedIndex gives an error
// wrapping ErrOutOfOrder and nothing is applied. It touches no key and no
// session, and does not retain conf.
func (m *Map) ApplyConfig(index uint64, conf []byte) error {
	if index <= m.applied {
		return fmt.Errorf("apply configuration index %d after %d: %w", index, m.applied, ErrOutOfOrder)
	}
	m.applied = index
	m.SetConfig(conf)
	return nil
}

// SetConfig stores conf as Config without changing the applied index: the
// configuration a cluster starts with comes from no log entry. It does not
// retain conf. An empty conf is the same as none.
func (m *Map) SetConfig(conf []byte) {
	m.conf = nil
	if len(conf) > 0 {
		m.conf = bytes.Clone(conf)
	}
}

// Config is the configuration last stored by ApplyConfig, SetConfig or
// ReadSnapshot, nil if none. Callers must not modify it.
func (m *Map) Config() []byte { return m.conf }

// AppliedIndex is the index of the last entry applied, 0 before any.
func (m *Map) AppliedIndex() uint64 { return m.applied }

// Get returns the value of key and whether it is set.
func (m *Map) Get(key string) (value string, ok bool) {
	return m.data.get(key)
}

// Len is the number of keys set.
func (m *Map) Len() int { return m.data.len() }

// Clone returns a copy of m that shares nothing mutable with it, so that
// one goroutine can write a snapshot of the copy while another goes on
// applying to m. It costs a copy of the key index, not of the keys and
// values: Go strings are immutable and shared.
func (m *Map) Clone() *Map {
	c := newMap(Options{SessionTTL: m.ttl}, m.data.clone())
	c.applied = m.applied
	c.conf = m.conf
	for s := m.sessions.oldest; s != nil; s = s.next {
		c.sessions.add(&session{id: s.id, lastSeq: s.lastSeq, existed: s.existed, lastIndex: s.lastIndex})
	}
	return c
}

// Sessions is the number of client sessions remembered.
func (m *Map) Sessions() int { return m.sessions.len() }
