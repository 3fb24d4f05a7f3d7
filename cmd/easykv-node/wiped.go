package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// What a data directory holds besides its LOCK: the hard state file (as
// segmentlog.HardStateStore names it), the segment log's directory and the
// snapshot directory, as serve lays them out.
const (
	hardStateName = "hardstate"
	walDirName    = "wal"
	snapDirName   = "snap"
)

// peerCheckTimeout bounds the whole question to the peers at the start of
// a node with an empty data directory: every peer is asked at once, so an
// unreachable one costs at most this, never this per peer.
const peerCheckTimeout = 1500 * time.Millisecond

// dataDirEmpty says whether dir holds none of a node's durable state: no
// hard state, no log directory, no snapshot directory. A missing dir is
// empty; the LOCK file alone does not count.
func dataDirEmpty(dir string) (bool, error) {
	for _, name := range []string{hardStateName, walDirName, snapDirName} {
		_, err := os.Lstat(filepath.Join(dir, name))
		if err == nil {
			return false, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("data dir: %w", err)
		}
	}
	return true, nil
}

// statusFunc asks one node for its status within ctx.
type statusFunc func(ctx context.Context, n cluster.Node) (*pb.NodeStatus, error)

// dialStatus is the statusFunc of a running node: a CLIENT connection
// presenting the cluster's name and token, as easykv-ctl status makes,
// over TLS when tlsDialer is not nil.
func dialStatus(cfg *cluster.Config, self string, tlsDialer netlink.TLSDialer) statusFunc {
	id := netlink.Identity{Cluster: cfg.Name, NodeID: "easykv-node " + self, AuthToken: cfg.AuthToken, TLS: tlsDialer}
	return func(ctx context.Context, n cluster.Node) (*pb.NodeStatus, error) {
		c, err := netlink.Dial(ctx, n.Addr, id)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return c.Status(ctx)
	}
}

// peerAnswer is what one peer said, or why it said nothing.
type peerAnswer struct {
	id              string
	term, lastIndex int64
	err             error
}

// hasState says whether the peer answered with a term or a log: it has
// voted or acknowledged entries.
func (a peerAnswer) hasState() bool {
	return a.err == nil && (a.term > 0 || a.lastIndex > 0)
}

// askPeers asks every member but self for its status, all at once, and
// waits at most timeout for them all. The answers are in cluster.yaml
// order.
func askPeers(ctx context.Context, cfg *cluster.Config, self string, status statusFunc, timeout time.Duration) []peerAnswer {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var answers []peerAnswer
	for _, n := range cfg.Nodes {
		if n.ID != self {
			answers = append(answers, peerAnswer{id: n.ID})
		}
	}
	var wg sync.WaitGroup
	for i := range answers {
		n, _ := cfg.Lookup(answers[i].id)
		wg.Go(func() {
			st, err := status(ctx, n)
			if err != nil {
				answers[i].err = err
				return
			}
			answers[i].term, answers[i].lastIndex = st.GetTerm(), st.GetLastIndex()
		})
	}
	wg.Wait()
	return answers
}

// errWiped says a node started without its data in a cluster that has
// state.
var errWiped = errors.New("data is gone but the cluster has state")

// checkWiped refuses to start a node whose data directory is empty while
// a reachable peer reports a term or a log: Raft's safety rests on a
// member never forgetting its vote or the entries it acknowledged, and
// this one has forgotten both. When every peer is unreachable, or every
// reachable one is as empty, nothing can be told apart from the first
// start of a new cluster, and the node starts.
func checkWiped(ctx context.Context, cfg *cluster.Config, self, dataDir string, status statusFunc, timeout time.Duration, logger *slog.Logger) error {
	empty, err := dataDirEmpty(dataDir)
	if err != nil || !empty {
		return err
	}
	answers := askPeers(ctx, cfg, self, status, timeout)
	var withState []peerAnswer
	var fresh, unreachable []string
	for _, a := range answers {
		switch {
		case a.hasState():
			withState = append(withState, a)
		case a.err == nil:
			fresh = append(fresh, a.id)
		default:
			unreachable = append(unreachable, a.id)
			logger.Debug("empty data dir: peer did not answer", "peer", a.id, "err", a.err)
		}
	}
	if len(withState) > 0 {
		// Name the peer furthest ahead: the one that shows best what
		// this node has forgotten.
		best := slices.MaxFunc(withState, func(a, b peerAnswer) int {
			return cmp.Or(cmp.Compare(a.term, b.term), cmp.Compare(a.lastIndex, b.lastIndex))
		})
		return fmt.Errorf("%s's %w (%s is at term %d, index %d): a member that lost its data could vote twice or help elect a leader that lacks committed entries; remove %s and add it back through a membership change",
			self, errWiped, best.id, best.term, best.lastIndex, self)
	}
	logger.Info("empty data dir: starting as a new member, no peer reports state",
		"data", dataDir, "fresh", strings.Join(fresh, ","), "unreachable", strings.Join(unreachable, ","))
	return nil
}
