package kvmap

import (
	"maps"
	"slices"
)

// store is the key-value state. Keys map to slots of a value array rather
// than to the values themselves, so that overwriting a key — most writes
// once a key space is warm — is one map lookup, which does not allocate,
// and a store into the array: a map[string]string would need a lookup (to
// answer Existed) and then an assignment, which hashes and probes again
// and allocates the key afresh. Only a new key is inserted into the map.
type store struct {
	slots map[string]uint32 // key → its slot in vals
	vals  []string          // values by slot; "" in a free slot
	free  []uint32          // slots freed by deletes, reused last freed first
}

func newStore(capacity int) store {
	return store{slots: make(map[string]uint32, capacity), vals: make([]string, 0, capacity)}
}

// lookup returns key's slot and whether it is set. It does not allocate:
// the compiler looks a map up with string(key) without copying key.
func (s *store) lookup(key []byte) (uint32, bool) {
	slot, ok := s.slots[string(key)]
	return slot, ok
}

// set replaces the value in slot, which holds a key.
func (s *store) set(slot uint32, value string) { s.vals[slot] = value }

// get returns key's value and whether it is set.
func (s *store) get(key string) (string, bool) {
	slot, ok := s.slots[key]
	if !ok {
		return "", false
	}
	return s.vals[slot], true
}

// insert sets a key that is not in the store.
func (s *store) insert(key, value string) {
	var slot uint32
	if n := len(s.free); n > 0 {
		slot, s.free = s.free[n-1], s.free[:n-1]
		s.vals[slot] = value
	} else {
		slot = uint32(len(s.vals))
		s.vals = append(s.vals, value)
	}
	s.slots[key] = slot
}

// remove deletes key, which is in the store at slot.
func (s *store) remove(key []byte, slot uint32) {
	delete(s.slots, string(key))
	s.vals[slot] = "" // the value's memory can go
	s.free = append(s.free, slot)
}

func (s *store) len() int { return len(s.slots) }

// clone returns a copy that shares nothing mutable with s; the strings
// themselves are immutable and shared.
func (s *store) clone() store {
	return store{slots: maps.Clone(s.slots), vals: slices.Clone(s.vals), free: slices.Clone(s.free)}
}
