package kvmap

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// snapSuffix ends every snapshot file's name; the name before it is the
// applied index in 20 decimal digits, so names sort by index.
const snapSuffix = ".snap"

// keepSnapshots is how many snapshot files SnapshotDir keeps: the newest
// and the one before it.
const keepSnapshots = 2

// SnapshotDir keeps a node's snapshots as files in one directory, so that
// a restart loads the newest and replays only the log after it. A file is
// written under a temporary name, synced and renamed, so a crash leaves
// either the whole snapshot or none. It is not safe for concurrent Saves.
type SnapshotDir struct {
	dir  string  // holds the snapshot files
	opts Options // configure the Maps loaded
}

// NewSnapshotDir returns the snapshots kept in dir, created on first Save;
// Maps loaded from it are configured by opts.
func NewSnapshotDir(dir string, opts Options) *SnapshotDir {
	return &SnapshotDir{dir: dir, opts: opts}
}

// Save makes a snapshot of m durable, then removes all but the newest
// keepSnapshots files.
func (d *SnapshotDir) Save(m *Map) error {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	name := filepath.Join(d.dir, fmt.Sprintf("%020d%s", m.AppliedIndex(), snapSuffix))
	if err := writeSynced(name, m); err != nil {
		return fmt.Errorf("save snapshot %s: %w", name, err)
	}
	names, err := d.names()
	if err != nil {
		return err
	}
	for _, old := range names[:max(len(names)-keepSnapshots, 0)] {
		if err := os.Remove(filepath.Join(d.dir, old)); err != nil {
			return fmt.Errorf("remove old snapshot: %w", err)
		}
	}
	return nil
}

// writeSynced writes m to name through a temporary file, fsyncs it, renames
// it into place and fsyncs the directory.
func writeSynced(name string, m *Map) error {
	tmp := name + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	err = m.WriteSnapshot(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	dir, err := os.Open(filepath.Dir(name))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// Load returns the newest snapshot, or nil when there is none. A damaged
// newest snapshot is an error naming its file, wrapping ErrBadSnapshot:
// the node must not start from an older state silently.
func (d *SnapshotDir) Load() (*Map, error) {
	names, err := d.names()
	if err != nil || len(names) == 0 {
		return nil, err
	}
	name := filepath.Join(d.dir, names[len(names)-1])
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("load snapshot: %w", err)
	}
	defer f.Close()
	m, err := ReadSnapshot(f, d.opts)
	if err != nil {
		return nil, fmt.Errorf("snapshot %s: %w (remove it to rebuild the state from the log)", name, err)
	}
	want := strings.TrimSuffix(filepath.Base(name), snapSuffix)
	if got := fmt.Sprintf("%020d", m.AppliedIndex()); got != want {
		return nil, fmt.Errorf("snapshot %s: %w: holds index %d", name, ErrBadSnapshot, m.AppliedIndex())
	}
	return m, nil
}

// names lists the snapshot files, oldest first; temporary files of an
// interrupted Save are left out.
func (d *SnapshotDir) names() ([]string, error) {
	ents, err := os.ReadDir(d.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var names []string
	for _, e := range ents {
		index, ok := strings.CutSuffix(e.Name(), snapSuffix)
		if _, err := strconv.ParseUint(index, 10, 64); ok && err == nil && len(index) == 20 {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}
