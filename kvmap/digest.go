package kvmap

import (
	"encoding/binary"
	"encoding/hex"
	"math/bits"
)

// pairHash is the hash of one key-value pair: two 64-bit lanes, each
// XXH64 of the pair's canonical encoding under its own seed. A map's
// digest is the lane-wise sum, mod 2^64, of the pairHashes of its pairs,
// so it does not depend on the order keys were written in, and a put or
// delete updates it with one addition or subtraction.
type pairHash [2]uint64

// digestSeeds are the XXH64 seeds of the two lanes. They are part of the
// digest's definition: changing them changes every digest.
var digestSeeds = [2]uint64{0, 1}

// hashPair hashes a pair given as its canonical encoding,
//
//	uvarint len(key) | key | uvarint len(value) | value
//
// which is how a put command ends and how a snapshot stores a pair, so
// Apply and ReadSnapshot hash bytes they already hold without copying.
// The length prefixes keep ("ab", "c") and ("a", "bc") apart.
func hashPair(enc []byte) pairHash {
	a, b := xxh64x2(enc, digestSeeds[0], digestSeeds[1])
	return pairHash{a, b}
}

// pairLen is the length of the canonical encoding of a pair.
func pairLen(key, value []byte) int {
	return uvarintLen(uint64(len(key))) + len(key) + uvarintLen(uint64(len(value))) + len(value)
}

func (s *pairHash) add(h pairHash) { s[0] += h[0]; s[1] += h[1] }
func (s *pairHash) sub(h pairHash) { s[0] -= h[0]; s[1] -= h[1] }

// hex is the lanes as 32 lowercase hex digits, lane 0 first, each
// big-endian.
func (s pairHash) hex() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], s[0])
	binary.BigEndian.PutUint64(b[8:], s[1])
	return hex.EncodeToString(b[:])
}

// Digest returns a digest of the map's keys and values: 32 lowercase hex
// digits that are equal on two maps holding the same key-value pairs,
// whatever order they were written in and whatever sessions, applied
// index or history of overwrites and deletes brought them there, and
// differ when the pairs differ but for a negligible chance (XXH64 is not a
// cryptographic hash: the digest catches divergence, not an adversary).
// Every build on every platform computes the same digest for the same
// pairs. An empty map's digest is 32 zeros. Like the rest of a Map, it must
// not be read while another goroutine applies.
//
// Reading it is O(1): the map keeps the digest up to date as it applies
// (a put hashes the new pair once; a delete or overwrite subtracts the
// hash kept for the old one). Clone copies it; ReadSnapshot recomputes it
// from the pairs it reads.
func (m *Map) Digest() string { return m.data.sum.hex() }

// XXH64 (https://github.com/Cyan4973/xxHash, doc/xxhash_spec.md), written
// out here because the digest must be the same in every process, which
// rules out hash/maphash, and the standard library's fixed hashes are
// either slow for this (SHA-256 is about 9 times slower on 270 bytes) or
// linear (CRC).
const (
	xxPrime1 uint64 = 11400714785074694791
	xxPrime2 uint64 = 14029467366897019727
	xxPrime3 uint64 = 1609587929392839161
	xxPrime4 uint64 = 9650029242287828579
	xxPrime5 uint64 = 2870177450012600261
)

func xxRound(acc, input uint64) uint64 {
	acc += input * xxPrime2
	return bits.RotateLeft64(acc, 31) * xxPrime1
}

func xxMerge(acc, v uint64) uint64 {
	acc ^= xxRound(0, v)
	return acc*xxPrime1 + xxPrime4
}

// xxh64x2 is XXH64 of b under two seeds at once: the same input words go
// through two independent sets of accumulators, which the CPU overlaps, so
// two lanes cost little more than one.
func xxh64x2(b []byte, seedA, seedB uint64) (uint64, uint64) {
	n := uint64(len(b))
	var ha, hb uint64
	if len(b) >= 32 {
		a1, a2, a3, a4 := seedA+xxPrime1+xxPrime2, seedA+xxPrime2, seedA, seedA-xxPrime1
		b1, b2, b3, b4 := seedB+xxPrime1+xxPrime2, seedB+xxPrime2, seedB, seedB-xxPrime1
		for ; len(b) >= 32; b = b[32:] {
			w1 := binary.LittleEndian.Uint64(b[0:8])
			w2 := binary.LittleEndian.Uint64(b[8:16])
			w3 := binary.LittleEndian.Uint64(b[16:24])
			w4 := binary.LittleEndian.Uint64(b[24:32])
			a1, b1 = xxRound(a1, w1), xxRound(b1, w1)
			a2, b2 = xxRound(a2, w2), xxRound(b2, w2)
			a3, b3 = xxRound(a3, w3), xxRound(b3, w3)
			a4, b4 = xxRound(a4, w4), xxRound(b4, w4)
		}
		ha = xxConverge(a1, a2, a3, a4)
		hb = xxConverge(b1, b2, b3, b4)
	} else {
		ha, hb = seedA+xxPrime5, seedB+xxPrime5
	}
	ha += n
	hb += n
	for ; len(b) >= 8; b = b[8:] {
		k := xxRound(0, binary.LittleEndian.Uint64(b))
		ha = bits.RotateLeft64(ha^k, 27)*xxPrime1 + xxPrime4
		hb = bits.RotateLeft64(hb^k, 27)*xxPrime1 + xxPrime4
	}
	if len(b) >= 4 {
		k := uint64(binary.LittleEndian.Uint32(b)) * xxPrime1
		ha = bits.RotateLeft64(ha^k, 23)*xxPrime2 + xxPrime3
		hb = bits.RotateLeft64(hb^k, 23)*xxPrime2 + xxPrime3
		b = b[4:]
	}
	for _, c := range b {
		k := uint64(c) * xxPrime5
		ha = bits.RotateLeft64(ha^k, 11) * xxPrime1
		hb = bits.RotateLeft64(hb^k, 11) * xxPrime1
	}
	return xxAvalanche(ha), xxAvalanche(hb)
}

// xxConverge folds the four accumulators of a long input into one.
func xxConverge(v1, v2, v3, v4 uint64) uint64 {
	h := bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
	h = xxMerge(h, v1)
	h = xxMerge(h, v2)
	h = xxMerge(h, v3)
	return xxMerge(h, v4)
}

// xxAvalanche is XXH64's final mix.
func xxAvalanche(h uint64) uint64 {
	h ^= h >> 33
	h *= xxPrime2
	h ^= h >> 29
	h *= xxPrime3
	h ^= h >> 32
	return h
}
