package kvmap

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/cespare/xxhash/v2"
)

// pairHash is the hash of one key-value pair: XXH64 of the pair's
// canonical encoding (github.com/cespare/xxhash/v2: the same in every
// process, unlike hash/maphash, and far cheaper than SHA-256). A map's
// digest is the sum, mod 2^64, of the pairHashes of its pairs, so it does
// not depend on the order keys were written in, and a put or delete
// updates it with one addition or subtraction.
type pairHash uint64

// hashPair hashes a pair given as its canonical encoding,
//
//	uvarint len(key) | key | uvarint len(value) | value
//
// which is how a put command ends and how a snapshot stores a pair, so
// Apply and ReadSnapshot hash bytes they already hold without copying.
// The length prefixes keep ("ab", "c") and ("a", "bc") apart.
func hashPair(enc []byte) pairHash { return pairHash(xxhash.Sum64(enc)) }

// pairLen is the length of the canonical encoding of a pair.
func pairLen(key, value []byte) int {
	return uvarintLen(uint64(len(key))) + len(key) + uvarintLen(uint64(len(value))) + len(value)
}

func (s *pairHash) add(h pairHash) { *s += h }
func (s *pairHash) sub(h pairHash) { *s -= h }

// hex is the sum as 16 lowercase hex digits, big-endian.
func (s pairHash) hex() string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(s))
	return hex.EncodeToString(b[:])
}

// Digest returns a digest of the map's keys and values: 16 lowercase hex
// digits that are equal on two maps holding the same key-value pairs,
// whatever order they were written in and whatever sessions, applied
// index, configuration or history of overwrites and deletes brought them
// there, and
// differ when the pairs differ but for a negligible chance (XXH64 is not a
// cryptographic hash: the digest catches divergence, not an adversary).
// Every build on every platform computes the same digest for the same
// pairs. An empty map's digest is 16 zeros. Like the rest of a Map, it must
// not be read while another goroutine applies.
//
// Reading it is O(1): the map keeps the digest up to date as it applies
// (a put hashes the new pair once; a delete or overwrite subtracts the
// hash kept for the old one). Clone copies it; ReadSnapshot recomputes it
// from the pairs it reads. The configuration (Config) is left out on
// purpose: the digest compares what clients stored, and a node's view of
// the members is checked by Raft, not here.
func (m *Map) Digest() string { return m.data.sum.hex() }
