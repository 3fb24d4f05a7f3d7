package kvmap

import (
	"errors"
	"testing"
)

func put(client, seq uint64, key, value string) []byte {
	return Command{Op: OpPut, Key: key, Value: value, ClientID: client, Seq: seq}.Encode()
}

func del(client, seq uint64, key string) []byte {
	return Command{Op: OpDelete, Key: key, ClientID: client, Seq: seq}.Encode()
}

// step is one entry of a scripted log and what applying it must answer.
type step struct {
	data []byte // entry payload
	want Result // expected result; Err is compared with errors.Is
}

// run applies steps at indexes 1, 2, … after the map's applied index.
func run(t *testing.T, m *Map, steps []step) {
	t.Helper()
	for _, s := range steps {
		index := m.AppliedIndex() + 1
		got := m.Apply(index, s.data)
		if !errors.Is(got.Err, s.want.Err) || got.Existed != s.want.Existed || got.Duplicate != s.want.Duplicate || got.Stale != s.want.Stale {
			t.Fatalf("Apply(%d, %s) = %+v, want %+v", index, describe(s.data), got, s.want)
		}
	}
}

func describe(data []byte) string {
	if c, err := DecodeCommand(data); err == nil {
		return c.String()
	}
	return string(data)
}

func wantValue(t *testing.T, m *Map, key, want string, wantOK bool) {
	t.Helper()
	if got, ok := m.Get(key); got != want || ok != wantOK {
		t.Fatalf("Get(%q) = %q, %v; want %q, %v", key, got, ok, want, wantOK)
	}
}

func TestApplyPutDelete(t *testing.T) {
	m := New(Options{})
	run(t, m, []step{
		{put(0, 0, "a", "1"), Result{}},
		{put(0, 0, "a", "2"), Result{Existed: true}},
		{put(0, 0, "b", "3"), Result{}},
		{del(0, 0, "a"), Result{Existed: true}},
		{del(0, 0, "a"), Result{}},
		{del(0, 0, "never"), Result{}},
		{put(0, 0, "", "empty key"), Result{}},
	})
	wantValue(t, m, "a", "", false)
	wantValue(t, m, "b", "3", true)
	wantValue(t, m, "", "empty key", true)
	if m.Len() != 2 || m.AppliedIndex() != 7 || m.Sessions() != 0 {
		t.Fatalf("Len, AppliedIndex, Sessions = %d, %d, %d; want 2, 7, 0", m.Len(), m.AppliedIndex(), m.Sessions())
	}
}

func TestRetriedWriteAppliedOnce(t *testing.T) {
	m := New(Options{})
	run(t, m, []step{
		{put(1, 1, "k", "from-1"), Result{}},
		{put(2, 1, "k", "from-2"), Result{Existed: true}},
		// Client 1's retry must neither overwrite client 2's value nor
		// answer what a fresh apply would (Existed: true).
		{put(1, 1, "k", "from-1"), Result{Duplicate: true}},
	})
	wantValue(t, m, "k", "from-2", true)
	run(t, m, []step{
		{del(1, 2, "k"), Result{Existed: true}},
		{put(2, 2, "k", "again"), Result{}},
		{del(1, 2, "k"), Result{Existed: true, Duplicate: true}},
		{del(1, 2, "k"), Result{Existed: true, Duplicate: true}},
	})
	wantValue(t, m, "k", "again", true)
	if m.Sessions() != 2 {
		t.Fatalf("Sessions() = %d, want 2", m.Sessions())
	}
}

func TestStaleSeq(t *testing.T) {
	m := New(Options{})
	run(t, m, []step{
		{put(1, 1, "k", "one"), Result{}},
		{put(1, 2, "k", "two"), Result{Existed: true}},
		{put(1, 1, "k", "one"), Result{Stale: true}},
		{del(1, 1, "k"), Result{Stale: true}},
		// A gap in a client's sequence is a write that never committed.
		{put(1, 5, "k", "five"), Result{Existed: true}},
		{put(1, 4, "k", "four"), Result{Stale: true}},
	})
	wantValue(t, m, "k", "five", true)
}

func TestNoSessionNeverDeduplicated(t *testing.T) {
	m := New(Options{})
	run(t, m, []step{
		{put(0, 1, "k", "v"), Result{}},
		{put(0, 1, "k", "v"), Result{Existed: true}},
		{del(0, 1, "k"), Result{Existed: true}},
		{del(0, 1, "k"), Result{}},
	})
	if m.Sessions() != 0 {
		t.Fatalf("Sessions() = %d, want 0", m.Sessions())
	}
}

func TestApplyNoOpAndBadEntries(t *testing.T) {
	m := New(Options{})
	run(t, m, []step{
		{put(1, 1, "k", "v"), Result{}},
		{nil, Result{}},
		{[]byte{}, Result{}},
		{[]byte("garbage"), Result{Err: ErrBadCommand}},
		{put(1, 2, "k", "v")[:5], Result{Err: ErrBadCommand}},
	})
	if m.AppliedIndex() != 5 || m.Len() != 1 || m.Sessions() != 1 {
		t.Fatalf("AppliedIndex, Len, Sessions = %d, %d, %d; want 5, 1, 1", m.AppliedIndex(), m.Len(), m.Sessions())
	}
	// The bad entry with client 1's seq 2 was not applied, so seq 2 is new.
	run(t, m, []step{{put(1, 2, "k", "w"), Result{Existed: true}}})
}

func TestApplyOutOfOrder(t *testing.T) {
	m := New(Options{})
	if r := m.Apply(0, nil); !errors.Is(r.Err, ErrOutOfOrder) {
		t.Fatalf("Apply(0) = %+v, want ErrOutOfOrder", r)
	}
	if r := m.Apply(5, put(0, 0, "k", "v")); r.Err != nil {
		t.Fatalf("Apply(5) after a gap = %+v", r)
	}
	for _, index := range []uint64{5, 4, 1} {
		if r := m.Apply(index, put(0, 0, "k", "other")); !errors.Is(r.Err, ErrOutOfOrder) {
			t.Fatalf("Apply(%d) after 5 = %+v, want ErrOutOfOrder", index, r)
		}
	}
	wantValue(t, m, "k", "v", true)
	if m.AppliedIndex() != 5 {
		t.Fatalf("AppliedIndex() = %d, want 5", m.AppliedIndex())
	}
}

// TestSessionExpiry checks expiry by log index, and shows its limit: a retry
// that arrives after its session expired is applied again.
func TestSessionExpiry(t *testing.T) {
	m := New(Options{SessionTTL: 10})
	run(t, m, []step{
		{put(1, 1, "k", "v"), Result{}},                 // index 1: client 1 seen
		{put(2, 1, "k2", "v"), Result{}},                // index 2: client 2 seen
		{put(2, 1, "k2", "v"), Result{Duplicate: true}}, // index 3: a retry refreshes client 2
	})
	for m.AppliedIndex() < 11 {
		run(t, m, []step{{nil, Result{}}})
	}
	// Index 11 is exactly TTL after client 1 was last seen: still kept.
	if m.Sessions() != 2 {
		t.Fatalf("at index 11 Sessions() = %d, want 2", m.Sessions())
	}
	run(t, m, []step{{nil, Result{}}}) // index 12: client 1 expires
	if m.Sessions() != 1 {
		t.Fatalf("at index 12 Sessions() = %d, want 1", m.Sessions())
	}
	run(t, m, []step{
		{put(2, 1, "k2", "v"), Result{Duplicate: true}}, // index 13: client 2, last seen at 3, is kept
		{put(1, 1, "k", "v"), Result{Existed: true}},    // index 14: client 1's retry is applied again
		{put(1, 1, "k", "v"), Result{Existed: true, Duplicate: true}},
	})
}

func TestSessionMemoryBounded(t *testing.T) {
	const ttl = 100
	m := New(Options{SessionTTL: ttl})
	for i := uint64(1); i <= 5000; i++ {
		// Every client writes once, so only the last ttl+1 are alive.
		if r := m.Apply(i, put(i, 1, "k", "v")); r.Err != nil {
			t.Fatal(r.Err)
		}
		if m.Sessions() > ttl+1 {
			t.Fatalf("at index %d Sessions() = %d, want at most %d", i, m.Sessions(), ttl+1)
		}
	}
	if m.Sessions() != ttl+1 {
		t.Fatalf("Sessions() = %d, want %d", m.Sessions(), ttl+1)
	}
}

func TestDefaultSessionTTL(t *testing.T) {
	m := New(Options{})
	m.Apply(1, put(1, 1, "k", "v"))
	m.Apply(1+defaultSessionTTL, nil)
	if m.Sessions() != 1 {
		t.Fatalf("session expired within the default TTL")
	}
	m.Apply(2+defaultSessionTTL, nil)
	if m.Sessions() != 0 {
		t.Fatalf("session outlived the default TTL")
	}
}
