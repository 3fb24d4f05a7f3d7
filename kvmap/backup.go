package kvmap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// Backup file layout (easykv-ctl snapshot save): a fixed header, then a
// snapshot exactly as WriteSnapshot writes it (with its own CRC-32C):
//
//	magic "ekvb" | version byte | term, 8 bytes LE | CRC-32C of the header so far, 4 bytes LE
//	| snapshot
//
// The header adds what a snapshot file carries in its name: the term of
// the entry at the snapshot's applied index. Its size is fixed so that a
// writer can stream the snapshot first and fill the header in once the
// term is known.
const (
	backupMagic   = "ekvb"
	backupVersion = 1
	// BackupHeaderLen is the size of a backup file's header.
	BackupHeaderLen = len(backupMagic) + 1 + 8 + crcLen
)

// BackupInfo describes a backup file.
type BackupInfo struct {
	Index    uint64 // the snapshot's last applied index
	Term     uint64 // the term of the entry at Index
	Keys     int    // keys in the state machine
	Bytes    int64  // the file's size
	Checksum string // the snapshot's CRC-32C, 8 hex digits
}

// BackupHeader is the header of a backup file whose snapshot's entry at
// its applied index has term.
func BackupHeader(term uint64) []byte {
	h := append([]byte(backupMagic), backupVersion)
	h = binary.LittleEndian.AppendUint64(h, term)
	return binary.LittleEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
}

// ReadBackup reads a whole backup file, checks both checksums and the
// snapshot's contents, and returns the Map, configured by opts, with its
// description. A damaged file gives an error wrapping ErrBadSnapshot that
// says where.
func ReadBackup(r io.Reader, opts Options) (*Map, BackupInfo, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, BackupInfo{}, fmt.Errorf("read backup: %w", err)
	}
	if !bytes.HasPrefix(b, []byte(backupMagic)) {
		return nil, BackupInfo{}, fmt.Errorf("%w: not an easykv backup (no %q at offset 0)", ErrBadSnapshot, backupMagic)
	}
	if len(b) < BackupHeaderLen {
		return nil, BackupInfo{}, fmt.Errorf("%w: %d bytes is too short for the header", ErrBadSnapshot, len(b))
	}
	if b[len(backupMagic)] != backupVersion {
		return nil, BackupInfo{}, fmt.Errorf("%w: unknown backup version %d at offset %d", ErrBadSnapshot, b[len(backupMagic)], len(backupMagic))
	}
	headerLen := BackupHeaderLen - crcLen
	if got, want := crc32.Checksum(b[:headerLen], castagnoli), binary.LittleEndian.Uint32(b[headerLen:]); got != want {
		return nil, BackupInfo{}, fmt.Errorf("%w: header checksum %08x, want %08x (offset %d)", ErrBadSnapshot, got, want, headerLen)
	}
	term := binary.LittleEndian.Uint64(b[len(backupMagic)+1:])
	snap := b[BackupHeaderLen:]
	m, err := parseSnapshot(snap, opts)
	if err != nil {
		return nil, BackupInfo{}, fmt.Errorf("snapshot at offset %d: %w", BackupHeaderLen, err)
	}
	sum := binary.LittleEndian.Uint32(snap[len(snap)-crcLen:])
	return m, BackupInfo{Index: m.AppliedIndex(), Term: term, Keys: m.Len(), Bytes: int64(len(b)), Checksum: fmt.Sprintf("%08x", sum)}, nil
}
