package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink"
)

// snapshotStatus is `snapshot status -o json`, and what save prints.
type snapshotStatus struct {
	Index    uint64 `json:"index"`
	Term     uint64 `json:"term"`
	Keys     int    `json:"keys"`
	Bytes    int64  `json:"bytes"`
	Checksum string `json:"checksum"`
}

func statusOfBackup(info kvmap.BackupInfo) snapshotStatus {
	return snapshotStatus{Index: info.Index, Term: info.Term, Keys: info.Keys, Bytes: info.Bytes, Checksum: info.Checksum}
}

// runSnapshotSave streams a snapshot from the leader into FILE: written
// to FILE.part beside it, synced, read back and checked, then renamed, so
// FILE is either absent or a whole backup.
func runSnapshotSave(ctx context.Context, a *app, inv invocation) error {
	path := inv.args[0]
	leader := leaderRow(a.survey(ctx, inv))
	if leader == nil {
		return unreachable(errors.New("snapshot save: no node reports itself leader"))
	}
	info, err := saveFrom(ctx, a, inv, leader.Addr, path)
	for attempt := 1; attempt < 3; attempt++ {
		nl, notLeader := errors.AsType[*netlink.NotLeaderError](err)
		if !notLeader || nl.LeaderAddr == "" {
			break
		}
		info, err = saveFrom(ctx, a, inv, nl.LeaderAddr, path) // leadership moved since the survey
	}
	if err != nil {
		return err
	}
	if inv.output == "json" {
		return writeJSON(a.stdout, statusOfBackup(info))
	}
	_, err = fmt.Fprintf(a.stdout, "saved %s: index %d, term %d, %d keys, %d bytes, checksum %s\n", path, info.Index, info.Term, info.Keys, info.Bytes, info.Checksum)
	return err
}

// saveFrom asks the node at addr for a backup, writes it to path and
// returns what reading it back found.
func saveFrom(ctx context.Context, a *app, inv invocation, addr, path string) (kvmap.BackupInfo, error) {
	var none kvmap.BackupInfo
	c, err := a.dial(ctx, addr, inv.identity())
	if errors.Is(err, netlink.ErrRefused) {
		return none, fmt.Errorf("snapshot save: %w", err)
	}
	if err != nil {
		return none, unreachable(fmt.Errorf("snapshot save: %w", err))
	}
	defer c.Close()
	part := path + ".part"
	f, err := os.OpenFile(part, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return none, fmt.Errorf("snapshot save: %w", err)
	}
	defer os.Remove(part) // gone once renamed; otherwise a failed save leaves nothing behind
	defer f.Close()
	if _, err := f.Write(make([]byte, kvmap.BackupHeaderLen)); err != nil {
		return none, fmt.Errorf("snapshot save: %w", err)
	}
	_, term, err := c.Backup(ctx, f)
	if err != nil {
		return none, fmt.Errorf("snapshot save from %s: %w", addr, err)
	}
	if _, err := f.WriteAt(kvmap.BackupHeader(term), 0); err != nil {
		return none, fmt.Errorf("snapshot save: %w", err)
	}
	if err := f.Sync(); err != nil {
		return none, fmt.Errorf("snapshot save: sync %s: %w", part, err)
	}
	info, err := readBackupFile(part)
	if err != nil {
		return none, fmt.Errorf("snapshot save: the file written does not read back: %w", err)
	}
	if err := os.Rename(part, path); err != nil {
		return none, fmt.Errorf("snapshot save: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // the rename durable; a failure here loses nothing already written
		d.Close()
	}
	return info, nil
}

// readBackupFile reads and checks the backup at path.
func readBackupFile(path string) (kvmap.BackupInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return kvmap.BackupInfo{}, err
	}
	defer f.Close()
	_, info, err := kvmap.ReadBackup(f, kvmap.Options{})
	if err != nil {
		return kvmap.BackupInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// runSnapshotStatus describes a backup file, checking it whole.
func runSnapshotStatus(ctx context.Context, a *app, inv invocation) error {
	info, err := readBackupFile(inv.args[0])
	if err != nil {
		return fmt.Errorf("snapshot status: %w", err)
	}
	if inv.output == "json" {
		return writeJSON(a.stdout, statusOfBackup(info))
	}
	_, err = fmt.Fprintf(a.stdout, "index %d\nterm %d\nkeys %d\nbytes %d\nchecksum %s\n", info.Index, info.Term, info.Keys, info.Bytes, info.Checksum)
	return err
}
