package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/raftnode"
	"github.com/easykv/easykv/segmentlog"
)

const restoreUsage = "usage: easykv-node restore --cluster FILE --id ID --from BACKUP [--data DIR]"

// restoreOptions are restore's flags.
type restoreOptions struct {
	clusterPath, id, from, dataDir string
}

func parseRestoreFlags(args []string) (restoreOptions, error) {
	var o restoreOptions
	fs := flag.NewFlagSet("easykv-node restore", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.clusterPath, "cluster", "", "cluster.yaml of the new cluster (required)")
	fs.StringVar(&o.id, "id", "", "the node whose data directory to prepare (required)")
	fs.StringVar(&o.from, "from", "", "the backup, from easykv-ctl snapshot save (required)")
	fs.StringVar(&o.dataDir, "data", "", "data directory (default: data_dir/<id> from the cluster file)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.clusterPath == "":
		return o, errors.New("missing flag --cluster FILE")
	case o.id == "":
		return o, errors.New("missing flag --id ID")
	case o.from == "":
		return o, errors.New("missing flag --from BACKUP")
	}
	return o, nil
}

// runRestore prepares a node's data directory from a backup, as etcdutl
// snapshot restore does: the snapshot with the new cluster's initial
// configuration, a log that starts right after it and a hard state at its
// term. Run it for every node of a new cluster, then start the nodes.
// Exit status 2 for a bad flag or cluster file, 1 for a damaged backup or
// a data directory that already holds state.
func runRestore(args []string, stdout, stderr io.Writer) int {
	o, err := parseRestoreFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, restoreUsage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "easykv-node restore: %v\n", err)
		return 2
	}
	cfg, err := cluster.Load(o.clusterPath)
	if err != nil {
		fmt.Fprintf(stderr, "easykv-node restore: %v\n", err)
		return 2
	}
	if _, ok := cfg.Lookup(o.id); !ok {
		fmt.Fprintf(stderr, "easykv-node restore: node %q is not in %s\n", o.id, o.clusterPath)
		return 2
	}
	if o.dataDir == "" {
		o.dataDir = cfg.NodeDataDir(o.id)
	}
	info, err := restore(cfg, o.from, o.dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "easykv-node restore: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored %s from %s: index %d, term %d, %d keys, into %s\n", o.id, o.from, info.Index, info.Term, info.Keys, o.dataDir)
	return 0
}

// restore writes dataDir from the backup at from; a failure removes what
// it wrote.
func restore(cfg *cluster.Config, from, dataDir string) (kvmap.BackupInfo, error) {
	f, err := os.Open(from)
	if err != nil {
		return kvmap.BackupInfo{}, err
	}
	m, info, err := kvmap.ReadBackup(f, kvmap.Options{})
	f.Close()
	if err != nil {
		return kvmap.BackupInfo{}, fmt.Errorf("%s: %w", from, err)
	}
	empty, err := dataDirEmpty(dataDir)
	if err != nil {
		return kvmap.BackupInfo{}, err
	}
	if !empty {
		return kvmap.BackupInfo{}, fmt.Errorf("data dir %s already holds a node's state: restore prepares a new node; remove it first", dataDir)
	}
	members := map[string]string{}
	for _, n := range cfg.Nodes {
		members[n.ID] = n.Addr
	}
	m.SetConfig(raftnode.InitialConfig(members))
	if err := writeRestored(cfg, dataDir, m, info); err != nil {
		for _, name := range []string{hardStateName, walDirName, snapDirName} {
			os.RemoveAll(filepath.Join(dataDir, name))
		}
		return kvmap.BackupInfo{}, err
	}
	return info, nil
}

// writeRestored lays out dataDir as serve expects it: the snapshot, an
// empty log that continues after it, and the hard state (the snapshot's
// term, its index committed).
func writeRestored(cfg *cluster.Config, dataDir string, m *kvmap.Map, info kvmap.BackupInfo) error {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if _, err := kvmap.NewSnapshotDir(filepath.Join(dataDir, snapDirName), kvmap.Options{}).Save(m, info.Term); err != nil {
		return fmt.Errorf("write the snapshot: %w", err)
	}
	wal, err := segmentlog.Open(filepath.Join(dataDir, walDirName), segmentlog.Options{SegmentSize: cfg.SegmentSize})
	if err != nil {
		return err
	}
	if err := wal.Reset(info.Index + 1); err != nil {
		wal.Close()
		return fmt.Errorf("start the log after %d: %w", info.Index, err)
	}
	if err := wal.Close(); err != nil {
		return err
	}
	hs, err := segmentlog.OpenHardState(dataDir)
	if err != nil {
		return err
	}
	if err := hs.Save(segmentlog.HardState{Term: info.Term, Commit: info.Index}); err != nil {
		return fmt.Errorf("write the hard state: %w", err)
	}
	return nil
}
