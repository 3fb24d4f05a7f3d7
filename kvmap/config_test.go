package kvmap

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplyConfig: a configuration entry advances the applied index as
// Apply would, and changes neither keys, sessions nor the digest.
func TestApplyConfig(t *testing.T) {
	m := New(Options{SessionTTL: 2})
	run(t, m, []step{
		{put(1, 1, "a", "1"), Result{}},
		{put(0, 0, "b", "2"), Result{}},
	})
	digest, before := m.Digest(), snapshot(t, m)
	conf := []byte("members v1")
	if err := m.ApplyConfig(10, conf); err != nil {
		t.Fatal(err)
	}
	if m.AppliedIndex() != 10 || m.Digest() != digest || m.Len() != 2 || !bytes.Equal(m.Config(), []byte("members v1")) {
		t.Fatalf("after ApplyConfig(10): AppliedIndex %d, Digest %s, Len %d, Config %q; want 10, %s, 2, %q",
			m.AppliedIndex(), m.Digest(), m.Len(), m.Config(), digest, "members v1")
	}
	// Session 1, idle for longer than SessionTTL, expires at the next
	// Apply and not at the configuration entry.
	if m.Sessions() != 1 {
		t.Fatalf("Sessions() = %d after ApplyConfig, want 1", m.Sessions())
	}
	conf[0] = 'X'
	if string(m.Config()) != "members v1" {
		t.Fatalf("Config() = %q: ApplyConfig kept the caller's slice", m.Config())
	}
	for _, index := range []uint64{10, 9, 0} {
		if err := m.ApplyConfig(index, []byte("other")); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("ApplyConfig(%d) after 10: err = %v, want ErrOutOfOrder", index, err)
		}
	}
	if r := m.Apply(10, nil); !errors.Is(r.Err, ErrOutOfOrder) {
		t.Fatalf("Apply(10) after ApplyConfig(10) = %+v, want ErrOutOfOrder", r)
	}
	if m.AppliedIndex() != 10 || string(m.Config()) != "members v1" {
		t.Fatalf("refused entries changed AppliedIndex %d or Config %q", m.AppliedIndex(), m.Config())
	}
	if bytes.Equal(snapshot(t, m), before) {
		t.Fatal("the snapshot does not show the configuration entry")
	}
	m.Apply(11, nil)
	if m.Sessions() != 0 {
		t.Fatalf("Sessions() = %d after the next Apply, want 0", m.Sessions())
	}
}

// TestSetConfig: the initial configuration is stored without an index, and
// an empty one is none.
func TestSetConfig(t *testing.T) {
	m := mapAt(3)
	for _, tc := range []struct {
		conf, want []byte
	}{
		{[]byte("initial"), []byte("initial")},
		{[]byte{}, nil},
		{[]byte("again"), []byte("again")},
		{nil, nil},
	} {
		m.SetConfig(tc.conf)
		if got := m.Config(); !bytes.Equal(got, tc.want) || (got == nil) != (tc.want == nil) || m.AppliedIndex() != 3 {
			t.Fatalf("SetConfig(%q): Config %q, AppliedIndex %d; want %q, 3", tc.conf, got, m.AppliedIndex(), tc.want)
		}
	}
}

func TestCloneKeepsConfig(t *testing.T) {
	m := mapAt(3)
	m.SetConfig([]byte("members"))
	c := m.Clone()
	if string(c.Config()) != "members" {
		t.Fatalf("clone's Config() = %q, want %q", c.Config(), "members")
	}
	if err := m.ApplyConfig(4, []byte("new members")); err != nil {
		t.Fatal(err)
	}
	if string(c.Config()) != "members" || c.AppliedIndex() != 3 {
		t.Fatalf("ApplyConfig on the original changed the clone: Config %q, AppliedIndex %d", c.Config(), c.AppliedIndex())
	}
}

// TestSnapshotConfigRoundTrip: the configuration survives a snapshot, a
// Map without one restores without one, and the bytes are stable.
func TestSnapshotConfigRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		conf []byte
	}{
		{"none", nil},
		{"empty", []byte{}},
		{"small", []byte("members 1 2 3")},
		{"beyond a flush", []byte(strings.Repeat("m", 3*flushAt))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mapAt(20)
			if err := m.ApplyConfig(21, tc.conf); err != nil {
				t.Fatal(err)
			}
			m.Apply(22, put(8, 1, "after", "conf"))
			b := snapshot(t, m)
			got, err := ReadSnapshot(bytes.NewReader(b), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Config(), tc.conf) || (len(tc.conf) == 0) != (got.Config() == nil) {
				t.Fatalf("restored Config() of %d bytes (nil %v), want %d bytes", len(got.Config()), got.Config() == nil, len(tc.conf))
			}
			if got.AppliedIndex() != 22 || got.Digest() != m.Digest() {
				t.Fatalf("restored AppliedIndex %d, Digest %s; want 22, %s", got.AppliedIndex(), got.Digest(), m.Digest())
			}
			if again := snapshot(t, got); !bytes.Equal(again, b) {
				t.Fatal("snapshot of a restored map differs from the snapshot it was read from")
			}
		})
	}
}

// TestSnapshotVersion1: a snapshot written before configurations existed
// still reads, with no configuration, and is written back as version 2.
func TestSnapshotVersion1(t *testing.T) {
	v1 := sealed(snapshotMagic, byte(1), 10, 1, 1, "a", 1, "1", 1, 5, 2, 7, byte(1))
	m, err := ReadSnapshot(bytes.NewReader(v1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Config() != nil || m.AppliedIndex() != 10 || m.Len() != 1 || m.Sessions() != 1 {
		t.Fatalf("Config %q, AppliedIndex %d, Len %d, Sessions %d; want nil, 10, 1, 1",
			m.Config(), m.AppliedIndex(), m.Len(), m.Sessions())
	}
	wantValue(t, m, "a", "1", true)
	run(t, m, []step{{put(5, 2, "a", "1"), Result{Existed: true, Duplicate: true}}})

	v2 := snapshot(t, m)
	if v2[len(snapshotMagic)] != snapshotVersion {
		t.Fatalf("rewritten as version %d, want %d", v2[len(snapshotMagic)], snapshotVersion)
	}
	if again, err := ReadSnapshot(bytes.NewReader(v2), Options{}); err != nil || again.Config() != nil {
		t.Fatalf("version 2 rewrite: Config %q, err %v", again.Config(), err)
	}
}

// TestSnapshotDirKeepsConfig: a Map loaded from a SnapshotDir, or received
// into one, has the configuration of the Map that was saved.
func TestSnapshotDirKeepsConfig(t *testing.T) {
	want := bigMapAt(200)
	if err := want.ApplyConfig(201, []byte("members 1 2 3 4")); err != nil {
		t.Fatal(err)
	}
	leader := NewSnapshotDir(filepath.Join(t.TempDir(), "snap"), Options{})
	src := mustSave(t, leader, want, 3)
	loaded, _, err := leader.Load()
	if err != nil {
		t.Fatal(err)
	}
	if string(loaded.Config()) != "members 1 2 3 4" {
		t.Fatalf("Load: Config() = %q", loaded.Config())
	}

	p, err := NewSnapshotDir(t.TempDir(), Options{}).Create(src.Index, src.Term)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := p.Commit(send(t, src.Path, 1000, p))
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Config()) != "members 1 2 3 4" {
		t.Fatalf("Commit: Config() = %q", got.Config())
	}
}
