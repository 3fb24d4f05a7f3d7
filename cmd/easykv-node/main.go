// Command easykv-node runs one member of an easykv cluster: it serves peers,
// clients and the dashboard on the address cluster.yaml gives its id.
//
//	easykv-node --cluster cluster.yaml --id n1 [--data DIR]
//	easykv-node --cluster cluster.yaml --id n4 --addr HOST:PORT --join
//	easykv-node restore --cluster cluster.yaml --id n1 --from backup.db
//
// cluster.yaml's node list is the initial configuration. --join starts a
// node outside it (or one of it that lost its data and was removed and
// added again), empty, waiting for the leader to add it; later restarts
// find the membership in the node's own data.
//
// Exit status: 0 after SIGTERM or SIGINT, 2 for a bad flag or cluster file,
// 1 when the node cannot start or must stop (port taken, storage failure).
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/metrics"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/raftnode"
	"github.com/easykv/easykv/segmentlog"
	"github.com/easykv/easykv/tlsconf"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "restore" {
		os.Exit(runRestore(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

// options are the parsed command-line flags.
type options struct {
	clusterPath string // --cluster
	id          string // --id
	dataDir     string // --data, overrides data_dir/<id>
	logLevel    slog.Level
	logFormat   string // --log-format: text or json
	cpuProfile  string // --cpuprofile: write a pprof CPU profile of the whole run here
	join        bool   // --join: start outside the initial configuration
	addr        string // --addr: this node's address when cluster.yaml does not give it
	metricsAddr string // --metrics-addr: overrides the node's metrics_addr
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("easykv-node", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.clusterPath, "cluster", "", "cluster.yaml to read (required)")
	fs.StringVar(&o.id, "id", "", "this node's id in the cluster file (required)")
	fs.StringVar(&o.dataDir, "data", "", "data directory (default: data_dir/<id> from the cluster file)")
	fs.TextVar(&o.logLevel, "log-level", slog.LevelInfo, "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "text (key=value) or json (one object a line, log/slog's JSON handler)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file until the node stops")
	fs.BoolVar(&o.join, "join", false, "start empty, outside cluster.yaml's initial list, and wait to be added (easykv-ctl member add)")
	fs.StringVar(&o.addr, "addr", "", "HOST:PORT to serve on, for a node cluster.yaml does not list")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "HOST:PORT to serve /metrics, /livez and /readyz on (default: the node's metrics_addr in the cluster file; none without)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.clusterPath == "":
		return o, errors.New("missing flag --cluster FILE")
	case o.id == "":
		return o, errors.New("missing flag --id ID")
	case o.logFormat != "text" && o.logFormat != "json":
		return o, fmt.Errorf("bad --log-format %q: want text or json", o.logFormat)
	}
	for _, f := range []struct{ name, addr string }{{"--addr", o.addr}, {"--metrics-addr", o.metricsAddr}} {
		if f.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(f.addr); err != nil {
			return o, fmt.Errorf("bad %s %q: %v", f.name, f.addr, err)
		}
	}
	return o, nil
}

const usage = "usage: easykv-node --cluster FILE --id ID [--addr HOST:PORT --join] [--metrics-addr HOST:PORT] [--data DIR] [--log-level LEVEL] [--log-format text|json] [--cpuprofile FILE]"

func run(ctx context.Context, args []string, stderr io.Writer) int {
	o, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stderr, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "easykv-node: %v\n", err)
		return 2
	}
	cfg, err := cluster.Load(o.clusterPath)
	if err != nil {
		fmt.Fprintf(stderr, "easykv-node: %v\n", err)
		return 2
	}
	if o.dataDir == "" {
		o.dataDir = cfg.NodeDataDir(o.id)
	}
	self, joined, err := resolveSelf(cfg, o)
	if err != nil {
		fmt.Fprintf(stderr, "easykv-node: %v\n", err)
		return 2
	}
	logger := newLogger(stderr, o.logFormat, o.logLevel)
	var certs *tlsconf.Source
	if ca, cert, key, ok := cfg.TLSFiles(self.ID); ok {
		if certs, err = tlsconf.Load(tlsconf.Files{CA: ca, Cert: cert, Key: key}); err != nil {
			fmt.Fprintf(stderr, "easykv-node: %v\n", err)
			return 2
		}
		reloadOnHangup(ctx, certs, logger)
	}
	if o.cpuProfile != "" {
		stopProfile, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "easykv-node: %v\n", err)
			return 2
		}
		defer stopProfile()
	}
	if err := serve(ctx, cfg, self, joined, o.dataDir, certs, logger); err != nil {
		fmt.Fprintf(stderr, "easykv-node: %v\n", err)
		return 1
	}
	return 0
}

// serve runs the node until ctx is done or it fails.
func serve(ctx context.Context, cfg *cluster.Config, self cluster.Node, joined bool, dataDir string, certs *tlsconf.Source, logger *slog.Logger) error {
	var tlsDialer netlink.TLSDialer // nil: plain TCP
	var serverTLS *tls.Config
	if certs != nil {
		tlsDialer, serverTLS = certs, certs.Server()
	}
	unlock, err := lockDataDir(dataDir)
	if err != nil {
		return err
	}
	defer unlock()
	if joined {
		// Remembered before anything else, so that a restart without
		// --join knows this node joined, and at which address.
		if err := rememberJoin(dataDir, self.Addr); err != nil {
			return err
		}
	} else if err := checkWiped(ctx, cfg, self.ID, dataDir, dialStatus(cfg, self.ID, tlsDialer), peerCheckTimeout, logger); err != nil {
		// Before anything else is created: a node whose data is gone must
		// not come back as if it were new into a cluster that has state.
		return err
	}
	if ctx.Err() != nil {
		return nil // stopped while asking the peers
	}
	store, err := segmentlog.OpenHardState(dataDir)
	if err != nil {
		return err
	}
	wal, err := segmentlog.Open(filepath.Join(dataDir, "wal"), segmentlog.Options{SegmentSize: cfg.SegmentSize})
	if err != nil {
		return err
	}
	defer wal.Close()
	id := netlink.Identity{Cluster: cfg.Name, NodeID: self.ID, AuthToken: cfg.AuthToken, Addr: self.Addr, TLS: tlsDialer}
	members := map[string]string{}
	peerAddrs := map[string]string{}
	for _, n := range cfg.Nodes {
		members[n.ID] = n.Addr
		if n.ID != self.ID {
			peerAddrs[n.ID] = n.Addr
		}
	}
	ln, err := net.Listen("tcp", self.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var obs raftnode.Observer
	var nodeMetrics *metrics.Metrics
	var metricsLn net.Listener
	if self.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", self.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("metrics listen: %w", err)
		}
		defer metricsLn.Close()
		if serverTLS != nil {
			metricsLn = tls.NewListener(metricsLn, serverTLS)
		}
		nodeMetrics = metrics.New()
		obs = nodeMetrics
	}
	peerIDs := make([]string, 0, len(peerAddrs))
	for pid := range peerAddrs {
		peerIDs = append(peerIDs, pid)
	}
	faults := netlink.NewFaults(self.ID, peerIDs)
	peerBytes := new(netlink.PeerBytes)
	peers := netlink.NewPeers(netlink.PeersConfig{Identity: id, Addrs: peerAddrs, Faults: faults, Logger: logger, Bytes: peerBytes})
	defer peers.Close()
	node, err := raftnode.NewNode(raftnode.NodeConfig{
		ID:              self.ID,
		Addr:            self.Addr,
		Cluster:         cfg.Name,
		Members:         members,
		Heartbeat:       cfg.Heartbeat,
		ElectionTimeout: cfg.ElectionTimeout,
		HardState:       store,
		Log:             wal,
		Snapshots:       kvmap.NewSnapshotDir(filepath.Join(dataDir, "snap"), kvmap.Options{}),
		SnapshotEvery:   cfg.SnapshotEntries,
		SnapshotMargin:  cfg.SnapshotMargin,
		Transport:       peers,
		Faults:          faults,
		Logger:          logger,
		Join:            joined,
		Observer:        obs,
	})
	if err != nil {
		ln.Close()
		return err
	}
	srv := netlink.NewServer(netlink.ServerConfig{Identity: id, Faults: faults, Logger: logger, PeerAddr: node.LearnPeerAddr, TLS: serverTLS, PeerBytes: peerBytes}, node)
	defer srv.Close()
	go func() {
		if err := srv.Serve(ln); err != nil {
			logger.Error("serve", "err", err)
		}
	}()
	if nodeMetrics != nil {
		nodeMetrics.AddStatus(node)
		nodeMetrics.AddPeerBytes(peerBytes)
		hs := &http.Server{Handler: nodeMetrics.Handler(node, node.Status().GetCommitIndex()), ReadHeaderTimeout: 10 * time.Second}
		defer hs.Close()
		go func() {
			if err := hs.Serve(metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("serve metrics", "err", err)
			}
		}()
		logger.Info("metrics", "addr", self.MetricsAddr)
	}
	logger.Info("started", "node", self.ID, "addr", self.Addr, "cluster", cfg.Name, "data", dataDir)
	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-ctx.Done()
		// SIGTERM on a leader: hand leadership over first, so that a
		// rolling restart sees no election timeout.
		if err := node.Handoff(2 * cfg.ElectionTimeout); err != nil {
			logger.Warn("stopping without handing off leadership", "err", err)
		}
		cancel()
	}()
	err = node.Run(runCtx)
	logger.Info("stopping", "node", self.ID)
	return err
}

// reloadOnHangup re-reads the TLS certificates on each SIGHUP until ctx
// ends: connections made after it use them; those up carry on.
func reloadOnHangup(ctx context.Context, certs *tlsconf.Source, logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := certs.Reload(); err != nil {
					logger.Error("tls reload failed; keeping the certificates in use", "err", err)
					continue
				}
				logger.Info("tls certificates reloaded")
			}
		}
	}()
}

// newLogger logs at level to w, as key=value text or as JSON objects.
// Lines about a peer or a client carry its id (peer, from or node_id),
// so either format can be filtered by node.
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// startCPUProfile profiles the process into path until the returned
// function is called: how the README's note on where time goes was made.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
