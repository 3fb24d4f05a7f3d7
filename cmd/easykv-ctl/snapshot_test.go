package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/easykv/easykv/kvmap"
)

// leaderBackup is a backup stream of a state machine holding keys.
func leaderBackup(t *testing.T, keys ...string) *backupAnswer {
	t.Helper()
	m := kvmap.New(kvmap.Options{})
	for i, k := range keys {
		m.Apply(uint64(i+1), kvmap.Command{Op: kvmap.OpPut, Key: k, Value: "v"}.Encode())
	}
	var b bytes.Buffer
	if err := m.WriteSnapshot(&b); err != nil {
		t.Fatal(err)
	}
	return &backupAnswer{data: b.Bytes(), index: m.AppliedIndex(), term: 5}
}

func TestSnapshotSaveAndStatus(t *testing.T) {
	cfg := writeCluster(t)
	net := healthy()
	net.nodes["127.0.0.1:7001"].backup = leaderBackup(t, "a", "b", "c")
	path := filepath.Join(t.TempDir(), "backup.db")
	got := runCtl(t, net, "--cluster", cfg, "snapshot", "save", path)
	if got.code != exitOK || !strings.HasPrefix(got.stdout, "saved "+path+": index 3, term 5, 3 keys, ") {
		t.Fatalf("save: exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}
	if _, err := os.Stat(path + ".part"); !os.IsNotExist(err) {
		t.Errorf("the .part file is left behind (%v)", err)
	}
	st := runCtl(t, net, "--cluster", cfg, "snapshot", "status", path, "-o", "json")
	var info map[string]any
	if err := json.Unmarshal([]byte(st.stdout), &info); err != nil || st.code != exitOK {
		t.Fatalf("status: exit %d, %v\n%s%s", st.code, err, st.stdout, st.stderr)
	}
	size, _ := os.Stat(path)
	want := map[string]any{"index": 3.0, "term": 5.0, "keys": 3.0, "bytes": float64(size.Size()), "checksum": info["checksum"]}
	if !reflect.DeepEqual(info, want) || len(info["checksum"].(string)) != 8 {
		t.Errorf("status %v, want %v", info, want)
	}
	table := runCtl(t, net, "--cluster", cfg, "snapshot", "status", path)
	if !strings.HasPrefix(table.stdout, "index 3\nterm 5\nkeys 3\n") {
		t.Errorf("status table:\n%s", table.stdout)
	}
}

func TestSnapshotDamagedRefused(t *testing.T) {
	cfg := writeCluster(t)
	net := healthy()
	net.nodes["127.0.0.1:7001"].backup = leaderBackup(t, "a", "b")
	dir := t.TempDir()
	path := filepath.Join(dir, "good.db")
	if got := runCtl(t, net, "--cluster", cfg, "snapshot", "save", path); got.code != exitOK {
		t.Fatalf("save: %d %s", got.code, got.stderr)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.Clone(good)
	altered[len(altered)-8] ^= 1
	for name, b := range map[string][]byte{"truncated": good[:len(good)/2], "altered": altered} {
		p := filepath.Join(dir, name+".db")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		got := runCtl(t, net, "--cluster", cfg, "snapshot", "status", p)
		if got.code != exitFailed || !strings.Contains(got.stderr, p) || !strings.Contains(got.stderr, "bad snapshot") {
			t.Errorf("%s: exit %d, stderr %q; want 1 naming the file and the damage", name, got.code, got.stderr)
		}
	}
}

func TestSnapshotSaveFailures(t *testing.T) {
	cfg := writeCluster(t)
	dir := t.TempDir()
	t.Run("no leader", func(t *testing.T) {
		got := runCtl(t, &fakeNet{}, "--cluster", cfg, "snapshot", "save", filepath.Join(dir, "x.db"))
		if got.code != exitUnreachable {
			t.Errorf("exit %d, want %d (%s)", got.code, exitUnreachable, got.stderr)
		}
	})
	t.Run("stream cut short", func(t *testing.T) {
		net := healthy()
		b := leaderBackup(t, "a")
		b.data, b.err = b.data[:5], os.ErrDeadlineExceeded
		net.nodes["127.0.0.1:7001"].backup = b
		path := filepath.Join(dir, "cut.db")
		got := runCtl(t, net, "--cluster", cfg, "snapshot", "save", path)
		if got.code == exitOK {
			t.Fatal("a save cut short succeeded")
		}
		for _, p := range []string{path, path + ".part"} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s exists after a failed save (%v)", p, err)
			}
		}
	})
}
