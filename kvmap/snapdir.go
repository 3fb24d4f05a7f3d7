package kvmap

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Snapshot file names: the applied index and the term of the entry at that
// index, 20 decimal digits each, so that names sort by index:
// 00000000000000100000-00000000000000000007.snap. A file being written has
// a suffix after that name (tmpSuffix for Save, partialSuffix for a
// snapshot being received), so it is never taken for a snapshot.
const (
	snapSuffix    = ".snap"
	tmpSuffix     = ".tmp"
	partialSuffix = ".partial"
)

// keepSnapshots is how many snapshot files SnapshotDir keeps: the newest
// and the one before it.
const keepSnapshots = 2

// snapName is the file name of the snapshot at index, whose entry has term.
func snapName(index, term uint64) string {
	return fmt.Sprintf("%020d-%020d%s", index, term, snapSuffix)
}

// parseSnapName is the inverse of snapName; ok is false for any other name.
func parseSnapName(name string) (index, term uint64, ok bool) {
	base, ok := strings.CutSuffix(name, snapSuffix)
	if !ok || len(base) != 41 || base[20] != '-' {
		return 0, 0, false
	}
	index, err1 := strconv.ParseUint(base[:20], 10, 64)
	term, err2 := strconv.ParseUint(base[21:], 10, 64)
	return index, term, err1 == nil && err2 == nil
}

// SnapshotInfo describes one snapshot file.
type SnapshotInfo struct {
	Index uint64 // applied index of the Map it holds
	Term  uint64 // term of the log entry at Index
	Size  int64  // bytes in the file
	Path  string // the file
}

// SnapshotDir keeps a node's snapshots as files in one directory, so that
// a restart loads the newest and replays only the log after it, and a
// leader can stream the newest to a follower that needs it. A file is
// written under a temporary name, synced and renamed, so a crash leaves
// either the whole snapshot or none.
//
// One Save at a time may run concurrently with receives (Create and its
// PartialSnapshot) and with Newest. Load deletes the temporary files of
// interrupted writes, so it must run alone, when the node starts.
type SnapshotDir struct {
	dir  string  // holds the snapshot files
	opts Options // configure the Maps loaded

	mu sync.Mutex // held while a snapshot is renamed into place and old ones pruned, and by Newest

	// afterStep, when set, is called after each step that changes the
	// directory, with the step's name: tests copy the directory there to
	// see what a crash at that moment leaves.
	afterStep func(step string)
}

// NewSnapshotDir returns the snapshots kept in dir, created on first Save;
// Maps loaded from it are configured by opts.
func NewSnapshotDir(dir string, opts Options) *SnapshotDir {
	return &SnapshotDir{dir: dir, opts: opts}
}

func (d *SnapshotDir) step(name string) {
	if d.afterStep != nil {
		d.afterStep(name)
	}
}

// Save makes a snapshot of m durable, term being the term of the entry at
// m.AppliedIndex(), then removes all but the newest keepSnapshots files.
// The file is written under a temporary name, synced, renamed into place,
// and the directory synced.
func (d *SnapshotDir) Save(m *Map, term uint64) (SnapshotInfo, error) {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return SnapshotInfo{}, fmt.Errorf("save snapshot: %w", err)
	}
	info := SnapshotInfo{Index: m.AppliedIndex(), Term: term, Path: filepath.Join(d.dir, snapName(m.AppliedIndex(), term))}
	tmp := info.Path + tmpSuffix
	size, err := d.writeTemp(tmp, m)
	if err != nil {
		os.Remove(tmp)
		return SnapshotInfo{}, fmt.Errorf("save snapshot %s: %w", info.Path, err)
	}
	info.Size = size
	if err := d.install(tmp, info.Path); err != nil {
		return SnapshotInfo{}, fmt.Errorf("save snapshot %s: %w", info.Path, err)
	}
	return info, nil
}

// writeTemp writes m to the new file tmp and fsyncs it; it returns the
// file's size.
func (d *SnapshotDir) writeTemp(tmp string, m *Map) (int64, error) {
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	d.step("created")
	err = m.WriteSnapshot(f)
	if err == nil {
		d.step("written")
		err = f.Sync()
	}
	var size int64
	if err == nil {
		d.step("synced")
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil {
			size = fi.Size()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return size, err
}

// install renames the synced file tmp to name, syncs the directory, then
// prunes the oldest snapshots. The rename is durable before anything is
// removed, so at every moment the newest complete snapshot is on disk.
func (d *SnapshotDir) install(tmp, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	d.step("renamed")
	if err := syncDir(d.dir); err != nil {
		return err
	}
	d.step("dir synced")
	if err := d.prune(); err != nil {
		return err
	}
	d.step("pruned")
	return nil
}

// prune removes all but the newest keepSnapshots files. A removal that a
// crash undoes only leaves an old snapshot behind, so the directory is not
// synced again. d.mu is held.
func (d *SnapshotDir) prune() error {
	infos, err := d.list()
	if err != nil {
		return err
	}
	for _, old := range infos[:max(len(infos)-keepSnapshots, 0)] {
		if err := os.Remove(old.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove old snapshot: %w", err)
		}
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	return errors.Join(err, f.Close())
}

// Load deletes the temporary files of interrupted Saves and receives, then
// returns the newest snapshot and its file, or a nil Map when there is
// none. A damaged newest snapshot is an error naming its file, wrapping
// ErrBadSnapshot: the node must not start from an older state silently.
func (d *SnapshotDir) Load() (*Map, SnapshotInfo, error) {
	if err := d.removeLeftovers(); err != nil {
		return nil, SnapshotInfo{}, err
	}
	info, ok, err := d.Newest()
	if err != nil || !ok {
		return nil, SnapshotInfo{}, err
	}
	f, err := os.Open(info.Path)
	if err != nil {
		return nil, SnapshotInfo{}, fmt.Errorf("load snapshot: %w", err)
	}
	defer f.Close()
	m, err := ReadSnapshot(f, d.opts)
	if err != nil {
		return nil, SnapshotInfo{}, fmt.Errorf("snapshot %s: %w (removing it falls back to the one before it, which needs the log entries after that one)", info.Path, err)
	}
	if m.AppliedIndex() != info.Index {
		return nil, SnapshotInfo{}, fmt.Errorf("snapshot %s: %w: holds index %d", info.Path, ErrBadSnapshot, m.AppliedIndex())
	}
	return m, info, nil
}

// removeLeftovers deletes the files that Save and PartialSnapshot write
// before renaming them into place. Any such file is from before a crash:
// a half-received snapshot is not resumed, the leader sends it again.
func (d *SnapshotDir) removeLeftovers() error {
	ents, err := os.ReadDir(d.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list snapshots: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		unfinished := strings.HasSuffix(name, snapSuffix+tmpSuffix) ||
			strings.HasSuffix(name, partialSuffix) && strings.Contains(name, snapSuffix+".")
		if unfinished {
			if err := os.Remove(filepath.Join(d.dir, name)); err != nil {
				return fmt.Errorf("remove unfinished snapshot: %w", err)
			}
		}
	}
	return nil
}

// Newest returns the newest snapshot file's description without reading
// it; ok is false when there is none. To stream it, open info.Path: an open
// file stays readable even if a later Save prunes it meanwhile.
func (d *SnapshotDir) Newest() (info SnapshotInfo, ok bool, err error) {
	d.mu.Lock() // so that the file listed is not pruned before its Stat
	defer d.mu.Unlock()
	infos, err := d.list()
	if err != nil || len(infos) == 0 {
		return SnapshotInfo{}, false, err
	}
	info = infos[len(infos)-1]
	fi, err := os.Stat(info.Path)
	if err != nil {
		return SnapshotInfo{}, false, fmt.Errorf("newest snapshot: %w", err)
	}
	info.Size = fi.Size()
	return info, true, nil
}

// list returns the snapshot files, oldest first, without their sizes;
// temporary files and names of any other form are left out.
func (d *SnapshotDir) list() ([]SnapshotInfo, error) {
	ents, err := os.ReadDir(d.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var infos []SnapshotInfo
	for _, e := range ents {
		if index, term, ok := parseSnapName(e.Name()); ok && e.Type().IsRegular() {
			infos = append(infos, SnapshotInfo{Index: index, Term: term, Path: filepath.Join(d.dir, e.Name())})
		}
	}
	slices.SortFunc(infos, func(a, b SnapshotInfo) int { return strings.Compare(a.Path, b.Path) })
	return infos, nil
}

// PartialSnapshot is a snapshot being received from the leader in chunks,
// written to a temporary file in the SnapshotDir that neither Load nor
// Newest will take for a snapshot. It ends with Commit or Abort. It is not
// safe for concurrent use.
type PartialSnapshot struct {
	d     *SnapshotDir // the directory it is installed into
	index uint64       // applied index the snapshot must hold
	term  uint64       // term of the entry at index, for the file name
	f     *os.File     // the temporary file; nil once finished
	path  string       // its name
	size  int64        // bytes written so far
	err   error        // the first failed write: every later call returns it
}

// errFinished is returned by a PartialSnapshot used after Commit or Abort.
var errFinished = errors.New("snapshot receive already finished")

// Create starts receiving the snapshot at index, whose entry has term.
// The runtime should install only a snapshot newer than the newest one in
// the directory: Load and Newest take the highest index.
func (d *SnapshotDir) Create(index, term uint64) (*PartialSnapshot, error) {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return nil, fmt.Errorf("receive snapshot: %w", err)
	}
	// A random part in the name, so that a receive that was given up and
	// one started after it never share a file.
	f, err := os.CreateTemp(d.dir, snapName(index, term)+".*"+partialSuffix)
	if err != nil {
		return nil, fmt.Errorf("receive snapshot: %w", err)
	}
	d.step("created")
	return &PartialSnapshot{d: d, index: index, term: term, f: f, path: f.Name()}, nil
}

// Write appends b to the snapshot.
func (p *PartialSnapshot) Write(b []byte) error {
	if p.f == nil {
		return errFinished
	}
	if p.err != nil {
		return p.err
	}
	n, err := p.f.Write(b)
	p.size += int64(n)
	if err != nil {
		p.err = fmt.Errorf("receive snapshot %s: %w", p.path, err)
	}
	return p.err
}

// Size returns how many bytes were written so far.
func (p *PartialSnapshot) Size() int64 { return p.size }

// Commit installs the received snapshot and returns the Map it holds. The
// file is synced, its CRC-32C (Castagnoli) must be wantCRC, it must parse
// as a snapshot (which checks its own checksum and framing) of the
// promised index; then it is renamed into place, the directory synced,
// and older snapshots pruned. A snapshot that fails a check is an error
// wrapping ErrBadSnapshot. Whatever the outcome p is finished: the
// temporary file is gone, renamed or removed.
func (p *PartialSnapshot) Commit(wantCRC uint32) (*Map, SnapshotInfo, error) {
	if p.f == nil {
		return nil, SnapshotInfo{}, errFinished
	}
	m, err := p.check(wantCRC)
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	p.f = nil
	if err != nil {
		os.Remove(p.path)
		return nil, SnapshotInfo{}, err
	}
	info := SnapshotInfo{Index: p.index, Term: p.term, Size: p.size, Path: filepath.Join(p.d.dir, snapName(p.index, p.term))}
	if err := p.d.install(p.path, info.Path); err != nil {
		return nil, SnapshotInfo{}, fmt.Errorf("install snapshot %s: %w", info.Path, err)
	}
	return m, info, nil
}

// check syncs the file and reads it back once, checksumming the bytes as
// ReadSnapshot parses them.
func (p *PartialSnapshot) check(wantCRC uint32) (*Map, error) {
	if p.err != nil {
		return nil, p.err
	}
	if err := p.f.Sync(); err != nil {
		return nil, fmt.Errorf("receive snapshot %s: %w", p.path, err)
	}
	p.d.step("synced")
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("receive snapshot %s: %w", p.path, err)
	}
	sum := crc32.New(castagnoli)
	m, err := ReadSnapshot(io.TeeReader(p.f, sum), p.d.opts)
	if err != nil && !errors.Is(err, ErrBadSnapshot) {
		return nil, fmt.Errorf("receive snapshot %s: %w", p.path, err) // could not read it back
	}
	// ReadSnapshot read the whole file unless reading failed: the sum is
	// of every byte, and a transfer that damaged them is named as such.
	if got := sum.Sum32(); got != wantCRC {
		return nil, fmt.Errorf("received snapshot %d: %w: CRC-32C %08x of %d bytes, sender's %08x", p.index, ErrBadSnapshot, got, p.size, wantCRC)
	}
	if err != nil {
		return nil, fmt.Errorf("received snapshot %d: %w", p.index, err)
	}
	if m.AppliedIndex() != p.index {
		return nil, fmt.Errorf("received snapshot %d: %w: holds index %d", p.index, ErrBadSnapshot, m.AppliedIndex())
	}
	return m, nil
}

// Abort gives up the receive and removes the temporary file. It does
// nothing after Commit or a previous Abort.
func (p *PartialSnapshot) Abort() {
	if p.f == nil {
		return
	}
	p.f.Close()
	os.Remove(p.path)
	p.f = nil
}
