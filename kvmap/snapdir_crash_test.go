package kvmap

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// This file is the crash matrix of SnapshotDir: a Save, and a snapshot
// received through Create/Write/Commit, are stopped after every step that
// changes the directory, and what a crash there leaves must load as the old
// newest snapshot or the new one, never an error and never a mix.

// dirState is a directory's files, name to contents.
type dirState map[string][]byte

func readState(t *testing.T, dir string) dirState {
	t.Helper()
	s := dirState{}
	for _, name := range dirNames(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		s[name] = b
	}
	return s
}

// restore writes s into a new directory and returns it.
func (s dirState) restore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range s {
		writeFile(t, filepath.Join(dir, name), b)
	}
	return dir
}

// unfinished returns the name of the file being written, or "".
func (s dirState) unfinished() string {
	for name := range s {
		if strings.HasSuffix(name, tmpSuffix) || strings.HasSuffix(name, partialSuffix) {
			return name
		}
	}
	return ""
}

// crashState is the directory a crash at one moment leaves.
type crashState struct {
	step  string   // the last step done
	files dirState // what is on disk
	isNew bool     // the new snapshot must load; else the old one
}

// installSteps runs one way of installing newMap (at index 30, term 3) in a
// directory prepared by setup, and returns the state after every step.
type installSteps func(t *testing.T, d *SnapshotDir, newMap *Map, record func(step string)) error

func saveSteps(t *testing.T, d *SnapshotDir, newMap *Map, record func(string)) error {
	d.afterStep = record
	_, err := d.Save(newMap, 3)
	return err
}

func receiveSteps(t *testing.T, d *SnapshotDir, newMap *Map, record func(string)) error {
	b := snapshot(t, newMap)
	d.afterStep = record
	p, err := d.Create(newMap.AppliedIndex(), 3)
	if err != nil {
		return err
	}
	if err := p.Write(b[:len(b)/2]); err != nil {
		return err
	}
	record("partly written")
	if err := p.Write(b[len(b)/2:]); err != nil {
		return err
	}
	record("written")
	_, _, err = p.Commit(crcOf(b))
	return err
}

// TestSnapshotDirCrashMatrix checks, for Save and for a received snapshot,
// into an empty directory and one with two older snapshots, every state a
// crash can leave: after each step, and after "written" (not yet synced)
// also with the file's last bytes lost. The states before the rename must
// load the old snapshot (or none), the states after it the new one, and
// Load must leave no unfinished file behind. A final file damaged anyway
// (the disk, not the sequence) is refused, naming it.
func TestSnapshotDirCrashMatrix(t *testing.T) {
	newMap := bigMapAt(30)
	ways := []struct {
		name  string
		run   installSteps
		steps []string
	}{
		{"save", saveSteps, []string{"created", "written", "synced", "renamed", "dir synced", "pruned"}},
		{"receive", receiveSteps, []string{"created", "partly written", "written", "synced", "renamed", "dir synced", "pruned"}},
	}
	befores := []struct {
		name string
		old  []int // applied indexes of the snapshots there before, saved with term 1
	}{
		{"empty directory", nil},
		{"two older snapshots", []int{10, 20}},
	}
	for _, way := range ways {
		for _, before := range befores {
			t.Run(way.name+", "+before.name, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "snap")
				d := NewSnapshotDir(dir, Options{})
				var oldMap *Map
				for _, n := range before.old {
					oldMap = mapAt(n)
					mustSave(t, d, oldMap, 1)
				}
				var states []crashState
				isNew := false
				record := func(step string) {
					isNew = isNew || step == "renamed"
					states = append(states, crashState{step: step, files: readState(t, dir), isNew: isNew})
				}
				if err := way.run(t, d, newMap, record); err != nil {
					t.Fatal(err)
				}
				var steps []string
				for _, s := range states {
					steps = append(steps, s.step)
				}
				if !slices.Equal(steps, way.steps) {
					t.Fatalf("steps %v, want %v", steps, way.steps)
				}
				// Unsynced bytes may not reach the disk: the written file
				// with its end lost, and with its middle third zeroed.
				for _, s := range slices.Clone(states) {
					name := s.files.unfinished()
					if s.step != "written" || name == "" {
						continue
					}
					b := s.files[name]
					cut := maps.Clone(s.files)
					cut[name] = b[:len(b)*2/3]
					holed := maps.Clone(s.files)
					holed[name] = slices.Concat(b[:len(b)/3], make([]byte, len(b)/3), b[len(b)*2/3:])
					states = append(states, crashState{"written, end lost", cut, false}, crashState{"written, middle lost", holed, false})
				}
				// The state after "dir synced" with a prune the crash undid is
				// the "dir synced" state itself; one where a rename was lost
				// is the "synced" state: both are in the list already.

				for _, s := range states {
					crashDir := s.files.restore(t)
					m, info, err := NewSnapshotDir(crashDir, Options{}).Load()
					if err != nil {
						t.Fatalf("crash after %q: Load: %v", s.step, err)
					}
					switch {
					case s.isNew:
						if info.Index != 30 || info.Term != 3 {
							t.Fatalf("crash after %q: loaded %+v, want the new snapshot", s.step, info)
						}
						checkSameMap(t, m, newMap)
					case oldMap == nil:
						if m != nil {
							t.Fatalf("crash after %q: loaded %+v, want none", s.step, info)
						}
					default:
						if info.Index != 20 {
							t.Fatalf("crash after %q: loaded %+v, want the old snapshot", s.step, info)
						}
						checkSameMap(t, m, oldMap)
					}
					if left := readState(t, crashDir).unfinished(); left != "" {
						t.Fatalf("crash after %q: Load left %s", s.step, left)
					}
				}

				// The new file damaged after it was installed: refused.
				final := snapName(30, 3)
				for _, s := range states {
					if s.step != "dir synced" {
						continue
					}
					for _, damage := range []func([]byte) []byte{
						func(b []byte) []byte { b = slices.Clone(b); b[len(b)/2] ^= 4; return b },
						func(b []byte) []byte { return b[:len(b)-1] },
					} {
						bad := maps.Clone(s.files)
						bad[final] = damage(bad[final])
						crashDir := bad.restore(t)
						_, _, err := NewSnapshotDir(crashDir, Options{}).Load()
						if name := filepath.Join(crashDir, final); !errors.Is(err, ErrBadSnapshot) || !strings.Contains(err.Error(), name) {
							t.Fatalf("damaged %s: Load = %v, want ErrBadSnapshot naming it", final, err)
						}
					}
				}
			})
		}
	}
}
