package kvmap

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// fill returns a map that applied puts of pairs in the order given, each
// with its own session write.
func fill(pairs [][2]string) *Map {
	m := New(Options{})
	for i, p := range pairs {
		m.Apply(uint64(i+1), put(uint64(i%3+1), uint64(i/3+1), p[0], p[1]))
	}
	return m
}

// recomputed is the digest computed from scratch from m's contents, the
// definition Digest must keep up with.
func recomputed(m *Map) string {
	var sum pairHash
	for k := range m.data.slots {
		v, _ := m.Get(k)
		sum.add(hashPair(appendBytes(appendBytes(nil, k), v)))
	}
	return sum.hex()
}

var digestRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestDigestEmpty(t *testing.T) {
	want := strings.Repeat("0", 16)
	if got := New(Options{}).Digest(); got != want {
		t.Fatalf("empty map digest %q, want %q", got, want)
	}
	// A map emptied again, by deletes, is back to the empty digest.
	m := New(Options{})
	run(t, m, []step{
		{put(1, 1, "a", "1"), Result{}},
		{put(0, 0, "b", "2"), Result{}},
		{del(1, 2, "a"), Result{Existed: true}},
		{del(2, 1, "b"), Result{Existed: true}},
	})
	if got := m.Digest(); got != want {
		t.Fatalf("emptied map digest %q, want %q", got, want)
	}
}

// TestDigestSameContents: maps that hold the same pairs have the same
// digest, however they got there.
func TestDigestSameContents(t *testing.T) {
	want := fill([][2]string{{"a", "1"}, {"b", "2"}, {"c", ""}}).Digest()
	for _, c := range []struct {
		name string
		m    *Map
	}{
		{"reversed", fill([][2]string{{"c", ""}, {"b", "2"}, {"a", "1"}})},
		{"overwritten", fill([][2]string{{"b", "x"}, {"a", "0"}, {"c", "y"}, {"a", "1"}, {"b", "2"}, {"c", ""}})},
		{"deleted and put back", func() *Map {
			m := fill([][2]string{{"a", "1"}, {"b", "2"}, {"c", ""}, {"d", "4"}})
			m.Apply(10, del(0, 0, "d"))
			m.Apply(11, del(0, 0, "b"))
			m.Apply(12, put(0, 0, "b", "2"))
			return m
		}()},
		{"retries and no-ops", func() *Map {
			m := New(Options{})
			run(t, m, []step{
				{put(9, 1, "a", "1"), Result{}},
				{nil, Result{}},
				{put(9, 1, "a", "1"), Result{Duplicate: true}},
				{put(9, 2, "b", "2"), Result{}},
				{put(9, 1, "b", "late"), Result{Stale: true}},
				{[]byte{1, 9, 9}, Result{Err: ErrBadCommand}},
				{put(0, 0, "c", ""), Result{}},
			})
			return m
		}()},
		{"clone", fill([][2]string{{"a", "1"}, {"b", "2"}, {"c", ""}}).Clone()},
	} {
		if got := c.m.Digest(); got != want {
			t.Errorf("%s: digest %s, want %s", c.name, got, want)
		}
	}
}

// TestDigestDiffers: any difference in a key or a value changes the
// digest, including the ones a careless encoding would confuse.
func TestDigestDiffers(t *testing.T) {
	cases := []struct {
		name  string
		pairs [][2]string
	}{
		{"empty", nil},
		{"a=1", [][2]string{{"a", "1"}}},
		{"a=2", [][2]string{{"a", "2"}}},
		{"b=1", [][2]string{{"b", "1"}}},
		{"A=1", [][2]string{{"A", "1"}}},
		{"a=empty", [][2]string{{"a", ""}}},
		{"empty key=a", [][2]string{{"", "a"}}},
		{"empty key=empty", [][2]string{{"", ""}}},
		{"ab=c", [][2]string{{"ab", "c"}}},
		{"a=bc", [][2]string{{"a", "bc"}}},
		{"a=1,b=2", [][2]string{{"a", "1"}, {"b", "2"}}},
		{"a=2,b=1", [][2]string{{"a", "2"}, {"b", "1"}}},
		{"a=1,b=1", [][2]string{{"a", "1"}, {"b", "1"}}},
		{"a=1,c=2", [][2]string{{"a", "1"}, {"c", "2"}}},
		{"a=1,b=2,c=3", [][2]string{{"a", "1"}, {"b", "2"}, {"c", "3"}}},
		{"long", [][2]string{{"k", strings.Repeat("v", 300)}}},
		{"long, one byte off", [][2]string{{"k", strings.Repeat("v", 299) + "w"}}},
		{"long, one byte shorter", [][2]string{{"k", strings.Repeat("v", 299)}}},
		{"binary", [][2]string{{"\x00", "\xff"}}},
		{"binary swapped", [][2]string{{"\xff", "\x00"}}},
	}
	seen := map[string]string{}
	for _, c := range cases {
		m := fill(c.pairs)
		d := m.Digest()
		if !digestRE.MatchString(d) {
			t.Fatalf("%s: digest %q is not 16 lowercase hex digits", c.name, d)
		}
		if d != recomputed(m) {
			t.Fatalf("%s: digest %s, recomputed %s", c.name, d, recomputed(m))
		}
		if other, ok := seen[d]; ok {
			t.Errorf("%s and %s have the same digest %s", c.name, other, d)
		}
		seen[d] = c.name
	}
}

// TestDigestRandom applies random writes over a small key and value space,
// so that many maps end up with the same contents by different routes,
// and checks that digests are equal exactly when contents are, and always
// equal to the digest recomputed from scratch.
func TestDigestRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	byContents := map[string]string{} // contents, written out → digest
	byDigest := map[string]string{}   // digest → contents
	for range 3000 {
		m := New(Options{})
		for i := range 1 + rng.IntN(12) {
			key := fmt.Sprint("k", rng.IntN(4))
			data := del(0, 0, key)
			if rng.IntN(3) > 0 {
				data = put(0, 0, key, fmt.Sprint(rng.IntN(3)))
			}
			m.Apply(uint64(i+1), data)
		}
		contents := describeContents(m)
		d := m.Digest()
		if d != recomputed(m) {
			t.Fatalf("{%s}: digest %s, recomputed %s", contents, d, recomputed(m))
		}
		if prev, ok := byContents[contents]; ok && prev != d {
			t.Fatalf("{%s}: digests %s and %s", contents, prev, d)
		}
		if prev, ok := byDigest[d]; ok && prev != contents {
			t.Fatalf("{%s} and {%s}: same digest %s", prev, contents, d)
		}
		byContents[contents], byDigest[d] = d, contents
	}
	if len(byContents) < 100 {
		t.Fatalf("only %d distinct contents generated", len(byContents))
	}
}

func describeContents(m *Map) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m.data.slots)) {
		v, _ := m.Get(k)
		fmt.Fprintf(&b, "%q:%q ", k, v)
	}
	return b.String()
}

// TestDigestDeterministicLog: on the generated logs (sessions, retries,
// deletes, garbage, gaps), the digest kept by Apply always equals the one
// recomputed from the contents, and a clone and a map restored from a
// snapshot carry it and keep it up to date.
func TestDigestDeterministicLog(t *testing.T) {
	opts := Options{SessionTTL: 40}
	for seed := range uint64(3) {
		log := genLog(seed, 3000)
		m := New(opts)
		var clone, restored *Map
		for i, e := range log {
			m.Apply(e.index, e.data)
			if clone != nil {
				clone.Apply(e.index, e.data)
				restored.Apply(e.index, e.data)
			}
			if i%100 == 0 {
				if d := m.Digest(); d != recomputed(m) {
					t.Fatalf("seed %d entry %d: digest %s, recomputed %s", seed, i, d, recomputed(m))
				}
			}
			if i == len(log)/2 {
				clone = m.Clone()
				r, err := ReadSnapshot(bytes.NewReader(snapshot(t, m)), opts)
				if err != nil {
					t.Fatal(err)
				}
				restored = r
				if clone.Digest() != m.Digest() || restored.Digest() != m.Digest() {
					t.Fatalf("seed %d: digest %s, clone %s, restored %s", seed, m.Digest(), clone.Digest(), restored.Digest())
				}
			}
		}
		if d := m.Digest(); d != recomputed(m) || clone.Digest() != d || restored.Digest() != d {
			t.Fatalf("seed %d at the end: digest %s, recomputed %s, clone %s, restored %s",
				seed, d, recomputed(m), clone.Digest(), restored.Digest())
		}
	}
}

// TestDigestCloneIndependent: applying to the original does not move the
// clone's digest, and the other way round.
func TestDigestCloneIndependent(t *testing.T) {
	m := fill([][2]string{{"a", "1"}, {"b", "2"}})
	before := m.Digest()
	c := m.Clone()
	m.Apply(10, put(0, 0, "a", "changed"))
	if c.Digest() != before {
		t.Fatal("a put to the original changed the clone's digest")
	}
	c.Apply(10, del(0, 0, "b"))
	if m.Digest() != recomputed(m) || c.Digest() != recomputed(c) || m.Digest() == c.Digest() {
		t.Fatalf("after diverging: original %s (recomputed %s), clone %s (recomputed %s)",
			m.Digest(), recomputed(m), c.Digest(), recomputed(c))
	}
}

// TestDigestSnapshotRoundTrip: a restored map has the digest of the map
// that wrote the snapshot, sessions play no part in it, and an empty
// snapshot restores the empty digest.
func TestDigestSnapshotRoundTrip(t *testing.T) {
	m := New(Options{})
	value := strings.Repeat("x", 100)
	for i := range uint64(3000) {
		m.Apply(i+1, put(i%50, i/50+1, fmt.Sprintf("key-%04d", i%2000), value+fmt.Sprint(i)))
	}
	m.Apply(3001, del(7, 1000, "key-0007"))
	for _, src := range []*Map{m, New(Options{})} {
		got, err := ReadSnapshot(bytes.NewReader(snapshot(t, src)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest() != src.Digest() {
			t.Fatalf("restored digest %s, want %s", got.Digest(), src.Digest())
		}
	}
	// The same pairs written without sessions: same digest.
	plain := New(Options{})
	i := uint64(0)
	for _, k := range slices.Sorted(maps.Keys(m.data.slots)) {
		v, _ := m.Get(k)
		i++
		plain.Apply(i, put(0, 0, k, v))
	}
	if plain.Sessions() != 0 || m.Sessions() == 0 || plain.Digest() != m.Digest() {
		t.Fatalf("with %d sessions digest %s; with %d, %s", m.Sessions(), m.Digest(), plain.Sessions(), plain.Digest())
	}
}

// FuzzDigest applies the writes a fuzz input describes, then writes the
// final contents into a fresh map in sorted order: the digests must agree
// with each other and with the recomputed digest. Each write is 3 bytes:
// op (even → put), key (one of 8), value (one of 4, or empty).
func FuzzDigest(f *testing.F) {
	f.Add([]byte{0, 1, 2, 1, 1, 0, 0, 2, 3})
	f.Add([]byte{0, 0, 0, 0, 0, 1, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := New(Options{})
		for i := 0; i+2 < len(b); i += 3 {
			key := fmt.Sprint("k", b[i+1]%8)
			data := del(0, 0, key)
			if b[i]%2 == 0 {
				data = put(0, 0, key, strings.Repeat("v", int(b[i+2]%5)))
			}
			m.Apply(uint64(i+1), data)
		}
		fresh := New(Options{})
		for i, k := range slices.Sorted(maps.Keys(m.data.slots)) {
			v, _ := m.Get(k)
			fresh.Apply(uint64(i+1), put(0, 0, k, v))
		}
		if m.Digest() != fresh.Digest() || m.Digest() != recomputed(m) {
			t.Fatalf("digest %s, same pairs written fresh %s, recomputed %s", m.Digest(), fresh.Digest(), recomputed(m))
		}
	})
}
