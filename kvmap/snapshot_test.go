package kvmap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"testing/iotest"
)

func TestSnapshotRoundTrip(t *testing.T) {
	opts := Options{SessionTTL: 1000}
	m := New(opts)
	value := strings.Repeat("x", 100)
	// Enough data to cross WriteSnapshot's flush threshold several times.
	for i := range uint64(3000) {
		m.Apply(i+1, put(i%50, i/50+1, fmt.Sprintf("key-%04d", i%2000), value))
	}
	m.Apply(3001, del(7, 1000, "key-0007"))
	m.Apply(3005, nil)
	want := snapshot(t, m)
	if len(want) < 3*flushAt {
		t.Fatalf("snapshot of %d bytes does not test flushing", len(want))
	}

	got, err := ReadSnapshot(bytes.NewReader(want), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got.AppliedIndex() != 3005 || got.Len() != m.Len() || got.Sessions() != m.Sessions() || got.Sessions() != 49 {
		t.Fatalf("restored AppliedIndex, Len, Sessions = %d, %d, %d; want 3005, %d, %d",
			got.AppliedIndex(), got.Len(), got.Sessions(), m.Len(), m.Sessions())
	}
	for i := range 2000 {
		k := fmt.Sprintf("key-%04d", i)
		v, ok := m.Get(k)
		wantValue(t, got, k, v, ok)
	}
	if again := snapshot(t, got); !bytes.Equal(again, want) {
		t.Fatal("snapshot of a restored map differs from the snapshot it was read from")
	}
	// Sessions survive: the retry of client 7's delete is answered, not applied.
	run(t, got, []step{
		{del(7, 1000, "key-0007"), Result{Existed: true, Duplicate: true}},
		{put(3, 1, "key-0003", "late"), Result{Stale: true}},
	})
}

func TestSnapshotEmpty(t *testing.T) {
	b := snapshot(t, New(Options{}))
	m, err := ReadSnapshot(bytes.NewReader(b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.AppliedIndex() != 0 || m.Len() != 0 || m.Sessions() != 0 {
		t.Fatalf("restored empty map has AppliedIndex, Len, Sessions = %d, %d, %d", m.AppliedIndex(), m.Len(), m.Sessions())
	}
}

func smallSnapshot(t *testing.T) []byte {
	m := New(Options{})
	run(t, m, []step{
		{put(1, 1, "a", "1"), Result{}},
		{put(0, 0, "b", "2"), Result{}},
		{del(2, 4, "b"), Result{Existed: true}},
		{put(3, 1, "c", ""), Result{}},
	})
	return snapshot(t, m)
}

func TestSnapshotCorruptionRefused(t *testing.T) {
	valid := smallSnapshot(t)
	for i := range valid {
		for _, mask := range []byte{0x01, 0x80} {
			bad := bytes.Clone(valid)
			bad[i] ^= mask
			if _, err := ReadSnapshot(bytes.NewReader(bad), Options{}); !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("byte %d ^ %#x: err = %v, want ErrBadSnapshot", i, mask, err)
			}
		}
	}
	for n := range len(valid) {
		if _, err := ReadSnapshot(bytes.NewReader(valid[:n]), Options{}); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("truncated to %d bytes: err = %v, want ErrBadSnapshot", n, err)
		}
	}
	if _, err := ReadSnapshot(bytes.NewReader(append(bytes.Clone(valid), 0)), Options{}); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("trailing byte: err = %v, want ErrBadSnapshot", err)
	}
}

// sealed builds a snapshot from raw fields and a correct checksum, to check
// the contents are validated and not only the checksum.
func sealed(fields ...any) []byte {
	var b []byte
	for _, f := range fields {
		switch f := f.(type) {
		case string:
			b = append(b, f...)
		case byte:
			b = append(b, f)
		case int:
			b = binary.AppendUvarint(b, uint64(f))
		default:
			panic(fmt.Sprintf("sealed: field of type %T", f))
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// sessionRec is one session record as sealed fields: id, seq, last index, existed.
func sessionRec(id, seq, lastIndex int, existed byte) []any {
	return []any{id, seq, lastIndex, existed}
}

func TestSnapshotContentsValidated(t *testing.T) {
	const v = byte(snapshotVersion)
	kv := func(k, val string) []any { return []any{len(k), k, len(val), val} }
	cat := func(parts ...[]any) []any {
		var all []any
		for _, p := range parts {
			all = append(all, p...)
		}
		return all
	}
	head := []any{snapshotMagic, v, 10}
	noConf := []any{0}
	ok := sealed(cat(head, []any{2}, kv("a", "1"), kv("b", "2"), []any{2}, sessionRec(5, 1, 3, 0), sessionRec(4, 2, 10, 1), noConf)...)
	if _, err := ReadSnapshot(bytes.NewReader(ok), Options{}); err != nil {
		t.Fatalf("well-formed handmade snapshot refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"magic", sealed("EKVS", v, 0, 0, 0), "magic"},
		{"version 0", sealed(snapshotMagic, byte(0), 0, 0, 0, 0), "unknown version 0"},
		{"version 3", sealed(snapshotMagic, byte(3), 0, 0, 0, 0), "unknown version 3"},
		{"keys out of order", sealed(cat(head, []any{2}, kv("b", "1"), kv("a", "2"), []any{0})...), "not above"},
		{"duplicate key", sealed(cat(head, []any{2}, kv("a", "1"), kv("a", "2"), []any{0})...), "not above"},
		{"key count too big", sealed(cat(head, []any{3}, kv("a", "1"), kv("b", "2"), []any{0})...), "truncated"},
		{"existed byte", sealed(cat(head, []any{0, 1}, sessionRec(1, 1, 1, 2))...), "not 0 or 1"},
		{"client id 0", sealed(cat(head, []any{0, 1}, sessionRec(0, 1, 1, 0))...), "client id 0"},
		{"seq 0", sealed(cat(head, []any{0, 1}, sessionRec(1, 0, 1, 0))...), "seq 0"},
		{"session from the future", sealed(cat(head, []any{0, 1}, sessionRec(1, 1, 11, 0))...), "outside"},
		{"session at index 0", sealed(cat(head, []any{0, 1}, sessionRec(1, 1, 0, 0))...), "outside"},
		{"sessions out of order", sealed(cat(head, []any{0, 2}, sessionRec(1, 1, 5, 0), sessionRec(2, 1, 4, 0))...), "outside"},
		{"same last index", sealed(cat(head, []any{0, 2}, sessionRec(1, 1, 5, 0), sessionRec(2, 1, 5, 0))...), "outside"},
		{"duplicate client", sealed(cat(head, []any{0, 2}, sessionRec(1, 1, 4, 0), sessionRec(1, 2, 5, 0))...), "twice"},
		{"trailing bytes", sealed(cat(head, []any{0, 0}, noConf, []any{byte(0)})...), "trailing"},
		{"version 1 with a config", sealed(snapshotMagic, byte(1), 10, 0, 0, 3, "abc"), "trailing"},
		{"no config length", sealed(cat(head, []any{0, 0})...), "config: truncated"},
		{"config length beyond the end", sealed(cat(head, []any{0, 0, 5, "abc"})...), "exceeds"},
		{"huge config length", sealed(cat(head, []any{0, 0, 1 << 40})...), "exceeds"},
		{"huge key length", sealed(cat(head, []any{1, 1 << 40})...), "exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSnapshot(bytes.NewReader(tc.in), Options{})
			if !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrBadSnapshot containing %q", err, tc.want)
			}
		})
	}
}

func TestSnapshotReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ReadSnapshot(iotest.ErrReader(boom), Options{})
	if !errors.Is(err, boom) || errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("err = %v, want the reader's error and not ErrBadSnapshot", err)
	}
}

// failAfter is an io.Writer that fails once more than n bytes were written.
type failAfter struct {
	n   int   // bytes still accepted
	err error // returned when they run out
}

func (w *failAfter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		w.n = 0
		return 0, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

func TestSnapshotWriteError(t *testing.T) {
	m := New(Options{})
	big := strings.Repeat("v", 1000)
	for i := range uint64(300) {
		m.Apply(i+1, put(i+1, 1, fmt.Sprint("k", i), big))
	}
	size := len(snapshot(t, m))
	boom := errors.New("disk full")
	// Fail in the first flush, a later one, and the final checksum write.
	for _, n := range []int{0, 2 * flushAt, size - 1} {
		if err := m.WriteSnapshot(&failAfter{n: n, err: boom}); !errors.Is(err, boom) {
			t.Fatalf("writer failing after %d of %d bytes: err = %v, want %v", n, size, err, boom)
		}
	}
}

// TestClone: a clone holds the state at the moment it was taken whatever
// the original applies afterwards, and applying the same entries to both
// brings them to byte-identical snapshots again.
func TestClone(t *testing.T) {
	opts := Options{SessionTTL: 40}
	log := genLog(7, 3000)
	m := New(opts)
	half := len(log) / 2
	for _, e := range log[:half] {
		m.Apply(e.index, e.data)
	}
	c := m.Clone()
	atClone := snapshot(t, m)
	if !bytes.Equal(snapshot(t, c), atClone) {
		t.Fatal("clone differs from the original")
	}
	for _, e := range log[half:] {
		m.Apply(e.index, e.data)
	}
	if !bytes.Equal(snapshot(t, c), atClone) {
		t.Fatal("applying to the original changed the clone")
	}
	for _, e := range log[half:] {
		c.Apply(e.index, e.data)
	}
	if !bytes.Equal(snapshot(t, c), snapshot(t, m)) {
		t.Fatal("clone and original diverged applying the same entries")
	}
}
