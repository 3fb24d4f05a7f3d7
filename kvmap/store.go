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
//
// Each slot also keeps its pair's hash, so that the digest of the whole
// store (the sum of those hashes, see Map.Digest) is updated by deletes and
// overwrites without hashing the old pair again.
type store struct {
	slots map[string]uint32 // key → its slot in vals
	vals  []slot            // values by slot; zero in a free slot
	free  []uint32          // slots freed by deletes, reused last freed first
	sum   pairHash          // digest: sum of the hash of every pair set
}

// slot is one value and the hash of its pair.
type slot struct {
	value string   // the key's value
	hash  pairHash // hashPair of the key and value
}

func newStore(capacity int) store {
	return store{slots: make(map[string]uint32, capacity), vals: make([]slot, 0, capacity)}
}

// lookup returns key's slot and whether it is set. It does not allocate:
// the compiler looks a map up with string(key) without copying key.
func (s *store) lookup(key []byte) (uint32, bool) {
	i, ok := s.slots[string(key)]
	return i, ok
}

// set replaces the value in slot i, which holds a key; h is the hash of
// the key and the new value.
func (s *store) set(i uint32, value string, h pairHash) {
	s.sum.sub(s.vals[i].hash)
	s.sum.add(h)
	s.vals[i] = slot{value: value, hash: h}
}

// get returns key's value and whether it is set.
func (s *store) get(key string) (string, bool) {
	i, ok := s.slots[key]
	if !ok {
		return "", false
	}
	return s.vals[i].value, true
}

// insert sets a key that is not in the store; h is the hash of the pair.
func (s *store) insert(key, value string, h pairHash) {
	var i uint32
	if n := len(s.free); n > 0 {
		i, s.free = s.free[n-1], s.free[:n-1]
		s.vals[i] = slot{value: value, hash: h}
	} else {
		i = uint32(len(s.vals))
		s.vals = append(s.vals, slot{value: value, hash: h})
	}
	s.slots[key] = i
	s.sum.add(h)
}

// remove deletes key, which is in the store at slot i.
func (s *store) remove(key []byte, i uint32) {
	delete(s.slots, string(key))
	s.sum.sub(s.vals[i].hash)
	s.vals[i] = slot{} // the value's memory can go
	s.free = append(s.free, i)
}

func (s *store) len() int { return len(s.slots) }

// clone returns a copy that shares nothing mutable with s; the strings
// themselves are immutable and shared.
func (s *store) clone() store {
	return store{slots: maps.Clone(s.slots), vals: slices.Clone(s.vals), free: slices.Clone(s.free), sum: s.sum}
}
