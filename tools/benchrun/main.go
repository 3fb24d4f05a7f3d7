package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The load shape of every workload, on both systems, and the Raft timing
// of easykv: etcd's defaults, which etcd-peer.sh keeps.
const (
	keySize         = 8
	valueSize       = 256
	keySpace        = 100_000
	heartbeat       = 100 * time.Millisecond
	electionTimeout = time.Second
)

// workload is one benchmark shape, run alike on easykv and etcd.
type workload struct {
	name    string // the table's row label
	op      string // "put" or "get"
	clients int    // concurrent clients
	conns   int    // connections per node the clients share (etcd: gRPC connections)
	total   int    // operations
	value   int    // bytes per value; 0 for valueSize
}

// valueBytes is the size of w's values.
func (w workload) valueBytes() int {
	if w.value == 0 {
		return valueSize
	}
	return w.value
}

// workloads are the rows of the table. The totals make a full run (3 and
// 5 nodes, etcd beside 3) take about 3 minutes on 2 cores; the 1-client
// row, the noisiest, gets more than its time's share. --quick is for smoke
// tests only.
func workloads(quick bool) []workload {
	one, many := 5_000, 50_000
	if quick {
		one, many = 200, 2_000
	}
	return []workload{
		{name: "put, 1 client", op: "put", clients: 1, conns: 1, total: one},
		{name: "put, 64 clients", op: "put", clients: 64, conns: 16, total: many},
		{name: "get (linearizable), 64", op: "get", clients: 64, conns: 16, total: many},
	}
}

// options are benchrun's flags.
type options struct {
	nodes    []int  // cluster sizes to run, in order
	noEtcd   bool   // skip etcd even when its script is present
	quick    bool   // small totals and fewer failover trials
	trials   int    // failover trials per cluster
	out      string // report file
	bin      string // directory of easykv-node and easykv-ctl
	etcdPeer string // path to etcd-peer.sh
	only     string // "" (every section), "clusters", "membership", "snapshots" or "scale"
	keepLogs bool   // keep the snapshot section's cluster directories
}

func main() {
	// Signals stay caught until cleanup is over, so a second ctrl-C cannot
	// cut it short and leave nodes running.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("interrupted: %w", err)
	}
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

// run parses args, runs every cluster size and writes the report to stdout
// and to the --out file; progress goes to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr, time.Now())
	if err != nil {
		return err
	}
	m := readMachine()
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "benchrun: "+format+"\n", a...) }
	etcdNote := ""
	switch {
	case opts.noEtcd:
		etcdNote = "not run (--no-etcd)"
	case !isFile(opts.etcdPeer):
		etcdNote = "not run (" + opts.etcdPeer + " not found)"
	}
	var blocks []block
	if opts.only == "membership" {
		b, err := runMembershipOnly(ctx, opts, logf)
		if err != nil {
			return fmt.Errorf("easykv, 3 nodes, membership: %w", err)
		}
		blocks = append(blocks, b)
	}
	for _, n := range opts.nodes {
		if opts.only != "" && opts.only != "clusters" {
			break
		}
		b := block{nodes: n, etcdNote: etcdNote}
		if err := runEasykv(ctx, opts, &b, logf); err != nil {
			return fmt.Errorf("easykv, %d nodes: %w", n, err)
		}
		if etcdNote == "" {
			if err := runEtcd(ctx, opts, &b, logf); err != nil {
				return fmt.Errorf("etcd, %d members: %w", n, err)
			}
		}
		blocks = append(blocks, b)
	}

	var snaps snapReport
	withSnaps := opts.only == "" || opts.only == "snapshots"
	if withSnaps {
		if err := runSnapshots(ctx, opts, &snaps, logf); err != nil {
			return fmt.Errorf("snapshots: %w", err)
		}
	}

	var scale scaleReport
	withScale := opts.only == "" || opts.only == "scale"
	if withScale {
		if err := runScale(ctx, opts, etcdNote, &scale, logf); err != nil {
			return fmt.Errorf("scale: %w", err)
		}
	}

	var report strings.Builder
	if len(blocks) > 0 {
		render(&report, blocks, m, time.Now(), opts.trials)
	}
	if withSnaps {
		if report.Len() > 0 {
			report.WriteString("\n")
		}
		renderSnapshots(&report, snaps, m, time.Now())
	}
	if withScale {
		if report.Len() > 0 {
			report.WriteString("\n")
		}
		renderScale(&report, scale, m, time.Now())
	}
	io.WriteString(stdout, report.String())
	if err := os.MkdirAll(filepath.Dir(opts.out), 0o755); err != nil {
		return fmt.Errorf("results dir: %w", err)
	}
	if err := os.WriteFile(opts.out, []byte(report.String()), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	logf("results written to %s", opts.out)
	return nil
}

// parseFlags reads benchrun's flags; now names the default report file.
func parseFlags(args []string, stderr io.Writer, now time.Time) (options, error) {
	fs := flag.NewFlagSet("benchrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := options{}
	nodes := fs.String("nodes", "3,5", "cluster `sizes` to run, comma-separated; etcd runs beside each with as many members")
	fs.BoolVar(&opts.noEtcd, "no-etcd", false, "do not run etcd")
	fs.BoolVar(&opts.quick, "quick", false, "small totals and 3 failover trials, for smoke tests")
	fs.IntVar(&opts.trials, "trials", 9, "failover `N` trials per cluster (median reported)")
	fs.StringVar(&opts.out, "out", filepath.Join("bench-results", "bench-"+now.Format("2006-01-02-150405")+".txt"), "report `file`")
	fs.StringVar(&opts.bin, "bin", "bin", "`dir` holding easykv-node and easykv-ctl")
	fs.StringVar(&opts.etcdPeer, "etcd-peer", filepath.Join("..", "shared", "bench", "etcd-peer.sh"), "etcd-peer.sh `path`")
	fs.BoolVar(&opts.keepLogs, "keep-logs", false, "keep the snapshot section's cluster directories (node logs, data) in the temp dir")
	fs.StringVar(&opts.only, "only", "", "run one `section`: clusters (throughput, failover, dashboard, and on 3 nodes leadership transfer and rolling restarts), membership (those last two and failover, on a fresh 3-node cluster), snapshots (disk use, restart, catch-up) or scale (CPU per put by clients and value size, memory per key; 3 nodes, against etcd)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	trialsSet := false
	fs.Visit(func(f *flag.Flag) { trialsSet = trialsSet || f.Name == "trials" })
	if opts.quick && !trialsSet {
		opts.trials = 3
	}
	if opts.only != "" && !slices.Contains([]string{"clusters", "membership", "snapshots", "scale"}, opts.only) {
		return options{}, fmt.Errorf("--only: want clusters, membership, snapshots or scale, got %q", opts.only)
	}
	if opts.trials < 1 {
		return options{}, fmt.Errorf("--trials must be at least 1, got %d", opts.trials)
	}
	for s := range strings.SplitSeq(*nodes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 9 {
			return options{}, fmt.Errorf("--nodes: want sizes from 1 to 9, got %q", s)
		}
		if !slices.Contains(opts.nodes, n) {
			opts.nodes = append(opts.nodes, n)
		}
	}
	return opts, nil
}

// runEasykv starts an n-node easykv cluster, runs every workload and the
// failover trials on it into b, and stops it.
func runEasykv(ctx context.Context, opts options, b *block, logf func(string, ...any)) (err error) {
	logf("easykv: starting %d nodes", b.nodes)
	kv, err := startEasykv(ctx, opts.bin, b.nodes)
	if err != nil {
		return err
	}
	defer stopEasykv(kv, &err, logf)
	if b.rows, err = easykvRows(ctx, kv, workloads(opts.quick), logf); err != nil {
		return err
	}
	if b.easykvStartup, err = loadgenStartup(func(w workload) (result, error) {
		res, _, err := kv.bench(ctx, w)
		return res, err
	}); err != nil {
		return err
	}
	if b.easykvFailover, err = easykvFailover(ctx, kv, opts.trials, logf); err != nil {
		return err
	}
	load := workloads(opts.quick)[1]
	logf("easykv, %d nodes: dashboard CPU, idle then under %s", b.nodes, load.name)
	if b.dashboard, err = measureDashboard(ctx, kv, opts.bin, load); err != nil {
		return err
	}
	// Leadership transfer and rolling restarts go last: they restart every
	// node, which the figures above should not see.
	if b.nodes == 3 {
		b.membership, err = measureMembership(ctx, kv, opts.bin, opts.trials, logf)
	}
	return err
}

// runMembershipOnly is --only membership: on a fresh 3-node easykv cluster,
// the failover trials, then leadership transfer and rolling restarts, so
// that they compare within one run.
func runMembershipOnly(ctx context.Context, opts options, logf func(string, ...any)) (b block, err error) {
	b = block{nodes: 3, etcdNote: "not run (--only membership)", dashboard: dashboardCPU{note: "not measured (--only membership)"}}
	logf("easykv: starting %d nodes", b.nodes)
	kv, err := startEasykv(ctx, opts.bin, b.nodes)
	if err != nil {
		return b, err
	}
	defer stopEasykv(kv, &err, logf)
	if b.easykvFailover, err = easykvFailover(ctx, kv, opts.trials, logf); err != nil {
		return b, err
	}
	b.membership, err = measureMembership(ctx, kv, opts.bin, opts.trials, logf)
	return b, err
}

// easykvFailover runs the failover trials on kv and waits for it to be
// healthy again.
func easykvFailover(ctx context.Context, kv *easykvCluster, trials int, logf func(string, ...any)) ([]time.Duration, error) {
	logf("easykv, %d nodes: failover, %d trials", len(kv.nodes), trials)
	el, err := kv.watchElections(ctx)
	if err != nil {
		return nil, err
	}
	defer el.close()
	took, err := measureFailover(ctx, el, trials, syscall.Kill, logf)
	if err != nil {
		return nil, err
	}
	if _, err := kv.healthyLeader(ctx); err != nil {
		return nil, fmt.Errorf("after failover: %w", err)
	}
	return took, nil
}

// runEtcd starts etcd through etcd-peer.sh, runs every workload and the
// failover trials on it into b, and stops it.
func runEtcd(ctx context.Context, opts options, b *block, logf func(string, ...any)) (err error) {
	p, err := startEtcd(ctx, opts, b.nodes, logf)
	if err != nil {
		return err
	}
	defer stopEtcd(p, &err)
	if b.etcdVersion, err = p.version(ctx); err != nil {
		return err
	}
	if err := etcdRows(ctx, p, b.rows, logf); err != nil {
		return err
	}
	if b.etcdStartup, err = loadgenStartup(func(w workload) (result, error) { return p.bench(ctx, w) }); err != nil {
		return err
	}
	logf("etcd, %d members: failover, %d trials", b.nodes, opts.trials)
	b.etcdFailover, err = measureFailover(ctx, p, opts.trials, syscall.Kill, logf)
	return err
}

// stopEasykv stops kv, keeping its directory when *err is set, and says
// where.
func stopEasykv(kv *easykvCluster, err *error, logf func(string, ...any)) {
	if dir := kv.stop(*err == nil); dir != "" {
		logf("easykv: node logs kept in %s", dir)
	}
}

// startEtcd starts n etcd members through etcd-peer.sh; stopEtcd stops
// them.
func startEtcd(ctx context.Context, opts options, n int, logf func(string, ...any)) (*etcdPeer, error) {
	p := newEtcdPeer(opts.etcdPeer, n)
	logf("etcd: starting %d members (%s start)", n, opts.etcdPeer)
	if err := p.start(ctx); err != nil {
		// A start that failed halfway may have left members running.
		return nil, errors.Join(err, p.stop())
	}
	return p, nil
}

// stopEtcd stops p's members, setting *err to its failure unless *err
// holds an earlier one.
func stopEtcd(p *etcdPeer, err *error) {
	if serr := p.stop(); serr != nil && *err == nil {
		*err = serr
	}
}

// easykvRows runs each workload of ws on kv, with its CPU.
func easykvRows(ctx context.Context, kv *easykvCluster, ws []workload, logf func(string, ...any)) ([]row, error) {
	var rows []row
	for _, w := range ws {
		logf("easykv, %d nodes: %s, %d ops", len(kv.nodes), w.name, w.total)
		res, raw, cpu, err := kv.benchCPU(ctx, w)
		if err != nil {
			return nil, err
		}
		logResult(logf, res, cpu)
		rows = append(rows, row{w: w, easykv: res, easykvRaw: raw, easykvCPU: cpu})
	}
	return rows, nil
}

// etcdRows runs the workload of each of rows on p, with its CPU, into
// the row.
func etcdRows(ctx context.Context, p *etcdPeer, rows []row, logf func(string, ...any)) error {
	for i, r := range rows {
		logf("etcd, %d members: %s, %d ops", p.members, r.w.name, r.w.total)
		res, cpu, err := p.benchCPU(ctx, r.w)
		if err != nil {
			return err
		}
		logResult(logf, res, cpu)
		rows[i].etcd, rows[i].etcdCPU = &res, cpu
	}
	return nil
}

// logResult logs a workload's figures as progress.
func logResult(logf func(string, ...any), res result, cpu cpuUse) {
	logf("  %.1f ops/s, p99 %.2f ms, %d errors, CPU %.1f µs/op", res.OpsPerSec, res.P99Ms, res.Errors, cpu.perOp(succeeded(res)).Total)
}

// loadgenStartup is the CPU of a load generator run for one put through
// bench: about its startup cost, which every workload's figure includes.
func loadgenStartup(bench func(workload) (result, error)) (time.Duration, error) {
	res, err := bench(workload{name: "startup", op: "put", clients: 1, conns: 1, total: 1})
	if err != nil {
		return 0, fmt.Errorf("load generator startup: %w", err)
	}
	return res.loadgenCPU, nil
}

// command runs name in its own process group, so that a ctrl-C at the
// terminal reaches benchrun alone, which then stops everything in order;
// the end of ctx kills the whole group, children included.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// isFile says whether path names a regular file.
func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
