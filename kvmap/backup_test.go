package kvmap

import (
	"bytes"
	"errors"
	"testing"
)

func backupOf(t *testing.T, m *Map, term uint64) []byte {
	t.Helper()
	b := bytes.NewBuffer(BackupHeader(term))
	if err := m.WriteSnapshot(b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBackupRoundTrip(t *testing.T) {
	m := New(Options{})
	for i, k := range []string{"a", "b", "c"} {
		m.Apply(uint64(i+1), Command{Op: OpPut, Key: k, Value: "v" + k}.Encode())
	}
	b := backupOf(t, m, 7)
	got, info, err := ReadBackup(bytes.NewReader(b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Index != 3 || info.Term != 7 || info.Keys != 3 || info.Bytes != int64(len(b)) || len(info.Checksum) != 8 {
		t.Fatalf("info %+v", info)
	}
	if v, ok := got.Get("b"); !ok || v != "vb" || got.Digest() != m.Digest() {
		t.Fatalf("restored map differs: b=%q %v, digest %s vs %s", v, ok, got.Digest(), m.Digest())
	}
}

func TestBackupDamageRefused(t *testing.T) {
	m := New(Options{})
	m.Apply(1, Command{Op: OpPut, Key: "k", Value: "v"}.Encode())
	good := backupOf(t, m, 2)
	for name, b := range map[string][]byte{
		"empty":            nil,
		"not a backup":     []byte("hello world, not a backup"),
		"truncated":        good[:len(good)-3],
		"header only":      good[:10],
		"term altered":     flip(good, 5),
		"key altered":      flip(good, len(good)-12),
		"checksum altered": flip(good, len(good)-1),
	} {
		if _, _, err := ReadBackup(bytes.NewReader(b), Options{}); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: err %v, want ErrBadSnapshot", name, err)
		}
	}
}

// flip returns b with the byte at i changed.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x20
	return c
}
