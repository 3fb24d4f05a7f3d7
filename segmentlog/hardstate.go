package segmentlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
)

// HardState is the part of Raft's state that must survive a crash before
// the node answers the RPC that changed it (Raft paper, Figure 2).
type HardState struct {
	Term   uint64 // latest term the node has seen
	Vote   string // candidate voted for in Term, "" for none
	Commit uint64 // highest index known committed
}

// ErrCorrupt is wrapped by errors for files whose checksum or framing is bad.
var ErrCorrupt = errors.New("corrupt")

const (
	hardStateFile  = "hardstate"
	hardStateMagic = 0x4b45_4853 // "SHEK": easykv hard state
	maxVoteLen     = 1 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// HardStateStore keeps the hard state in one small file that is replaced
// atomically: write a temporary file, fsync it, rename it over the old one,
// fsync the directory. A crash leaves either the old or the new state.
type HardStateStore struct {
	dir string // directory holding the file
}

// OpenHardState creates dir if needed and returns the store in it.
func OpenHardState(dir string) (*HardStateStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return &HardStateStore{dir: dir}, nil
}

// Load returns the saved hard state, or the zero value when none was saved.
func (s *HardStateStore) Load() (HardState, error) {
	path := filepath.Join(s.dir, hardStateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return HardState{}, nil
	}
	if err != nil {
		return HardState{}, fmt.Errorf("read hard state: %w", err)
	}
	hs, err := decodeHardState(data)
	if err != nil {
		return HardState{}, fmt.Errorf("hard state %s: %w", path, err)
	}
	return hs, nil
}

// Save makes hs durable, replacing the previous state.
func (s *HardStateStore) Save(hs HardState) error {
	if len(hs.Vote) > maxVoteLen {
		return fmt.Errorf("save hard state: vote id of %d bytes is too long", len(hs.Vote))
	}
	path := filepath.Join(s.dir, hardStateFile)
	tmp := path + ".tmp"
	if err := writeSynced(tmp, encodeHardState(hs)); err != nil {
		return fmt.Errorf("save hard state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save hard state: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("save hard state: %w", err)
	}
	return nil
}

// encodeHardState lays out: magic u32 | term u64 | commit u64 | vote len u16 |
// vote | crc32c u32 of everything before it. Little endian.
func encodeHardState(hs HardState) []byte {
	buf := make([]byte, 0, 4+8+8+2+len(hs.Vote)+4)
	buf = binary.LittleEndian.AppendUint32(buf, hardStateMagic)
	buf = binary.LittleEndian.AppendUint64(buf, hs.Term)
	buf = binary.LittleEndian.AppendUint64(buf, hs.Commit)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(hs.Vote)))
	buf = append(buf, hs.Vote...)
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
}

func decodeHardState(data []byte) (HardState, error) {
	const fixed = 4 + 8 + 8 + 2
	if len(data) < fixed+4 {
		return HardState{}, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(data))
	}
	if binary.LittleEndian.Uint32(data) != hardStateMagic {
		return HardState{}, fmt.Errorf("%w: bad magic at offset 0", ErrCorrupt)
	}
	voteLen := int(binary.LittleEndian.Uint16(data[20:]))
	if len(data) != fixed+voteLen+4 {
		return HardState{}, fmt.Errorf("%w: length %d does not match vote length %d", ErrCorrupt, len(data), voteLen)
	}
	body := data[:fixed+voteLen]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(body):]) {
		return HardState{}, fmt.Errorf("%w: checksum mismatch at offset %d", ErrCorrupt, len(body))
	}
	return HardState{
		Term:   binary.LittleEndian.Uint64(data[4:]),
		Commit: binary.LittleEndian.Uint64(data[12:]),
		Vote:   string(data[fixed : fixed+voteLen]),
	}, nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
