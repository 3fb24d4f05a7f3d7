package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/easykv/easykv/netlink"
)

// Bounds of the bench flags: enough for any loopback or LAN cluster, small
// enough that a typo cannot exhaust memory or file descriptors.
const (
	maxBenchClients = 1024
	maxBenchTotal   = 10_000_000 // the latencies alone take 8 bytes each
	maxValueSize    = 1 << 20
	maxKeySize      = 64
)

// benchSeed seeds every worker's generator (with the worker's number), so
// runs with the same flags use the same keys in the same order.
const benchSeed = 0x6561_7379_6b76 // "easykv"

// printable is the alphabet of bench values.
const printable = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// benchFlags defines bench's own flags.
func benchFlags(fs *flag.FlagSet, f *cmdFlags) {
	fs.IntVar(&f.clients, "clients", f.clients, "`N` concurrent workers, each with its own client session")
	fs.IntVar(&f.total, "total", f.total, "`N` operations, split among the workers")
	fs.IntVar(&f.valueSize, "value-size", f.valueSize, "`bytes` per value (put)")
	fs.IntVar(&f.keySpace, "key-space", f.keySpace, "`N` distinct keys, drawn at random")
	fs.IntVar(&f.keySize, "key-size", f.keySize, "`bytes` per key, a zero-padded number")
	fs.IntVar(&f.conns, "conns", f.conns, "`N` connections per node shared by the workers (at most --clients), as etcd's benchmark --conns")
	staleFlag(fs, f)
}

// checkBench validates bench's argument and flags.
func checkBench(args []string, f *cmdFlags) error {
	op := args[0]
	if op != "put" && op != "get" {
		return usagef("bench: want put or get, got %q", op)
	}
	switch {
	case f.clients < 1 || f.clients > maxBenchClients:
		return usagef("bench: --clients must be in [1, %d], got %d", maxBenchClients, f.clients)
	case f.total < 1 || f.total > maxBenchTotal:
		return usagef("bench: --total must be in [1, %d], got %d", maxBenchTotal, f.total)
	case f.conns < 1 || f.conns > maxBenchClients:
		return usagef("bench: --conns must be in [1, %d], got %d", maxBenchClients, f.conns)
	case f.clients > f.total:
		return usagef("bench: --clients (%d) must not exceed --total (%d)", f.clients, f.total)
	case f.valueSize < 0 || f.valueSize > maxValueSize:
		return usagef("bench: --value-size must be in [0, %d], got %d", maxValueSize, f.valueSize)
	case f.keySize < 1 || f.keySize > maxKeySize:
		return usagef("bench: --key-size must be in [1, %d], got %d", maxKeySize, f.keySize)
	case f.keySpace < 1:
		return usagef("bench: --key-space must be at least 1, got %d", f.keySpace)
	case len(strconv.Itoa(f.keySpace-1)) > f.keySize:
		return usagef("bench: --key-size %d is too short for --key-space %d", f.keySize, f.keySpace)
	case f.stale && op != "get":
		return usagef("bench: --stale applies to bench get only")
	}
	return nil
}

// runBench runs --total operations from --clients workers, each with its own
// cluster client (its own session, as separate processes would have) over
// --conns connections per node that the workers share, and prints
// throughput and latency. --timeout bounds each operation. A failed
// operation is counted and the run goes on; a rejected one (bad token, say)
// stops it, since every other would be rejected too. Reads of keys never
// written are fine: bench get does not fill the store first, so run bench
// put before it to read existing values.
func runBench(ctx context.Context, a *app, inv invocation) error {
	op, f := inv.args[0], inv.flags
	clients := make([]kvClient, 0, f.clients)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	cfg := inv.clusterConfig()
	cfg.Nodes = a.currentMembers(ctx, inv)
	cfg.Pool = netlink.NewClientPool(min(f.conns, f.clients))
	for range f.clients {
		c, err := a.openKV(cfg)
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}

	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	workers := make([]*benchWorker, f.clients)
	var done atomic.Int64
	stopProgress := a.startProgress(int64(f.total), &done)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range workers {
		w := newBenchWorker(i, op, f)
		workers[i] = w
		wg.Go(func() { w.run(ctx, clients[i], &done, abort) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()

	if cause := context.Cause(ctx); errors.Is(cause, netlink.ErrRejected) {
		return callError("bench "+op, cause)
	}
	var (
		lat     = make([]time.Duration, 0, f.total)
		failed  int
		lastErr error
	)
	for _, w := range workers {
		lat = append(lat, w.lat...)
		failed += w.errors
		if w.lastErr != nil {
			lastErr = w.lastErr
		}
	}
	stats := summarize(op, f.clients, lat, failed, elapsed)
	if err := writeBench(a.stdout, inv.output, stats); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("bench %s interrupted after %d operations: %w", op, stats.Total, context.Cause(ctx))
	case len(lat) == 0:
		return callError(fmt.Sprintf("bench %s: all %d operations failed", op, failed), lastErr)
	}
	return nil
}

// benchWorker is one bench client's share of the run.
type benchWorker struct {
	op      string          // "put" or "get"
	flags   cmdFlags        // sizes and key space
	n       int             // operations to run
	rng     *rand.Rand      // keys and values; seeded by the worker's number
	lat     []time.Duration // latency of each successful operation, preallocated
	errors  int             // operations that failed
	lastErr error           // the last failure, for the message when all fail
}

// newBenchWorker is worker i of f.clients, with its share of f.total.
func newBenchWorker(i int, op string, f cmdFlags) *benchWorker {
	n := f.total / f.clients
	if i < f.total%f.clients {
		n++
	}
	return &benchWorker{
		op:    op,
		flags: f,
		n:     n,
		rng:   rand.New(rand.NewPCG(uint64(i), benchSeed)),
		lat:   make([]time.Duration, 0, n),
	}
}

// run does the worker's operations on c, adding each to done. It stops
// early when ctx ends, and stops the whole run through abort on a
// rejection. An operation cut short by ctx is not counted.
func (w *benchWorker) run(ctx context.Context, c kvClient, done *atomic.Int64, abort context.CancelCauseFunc) {
	// Random printable once; then each put changes the first few bytes,
	// so values differ without costing the client a random draw per byte
	// (that was 5% of its CPU under 64 clients).
	value := make([]byte, w.flags.valueSize)
	for i := range value {
		value[i] = printable[w.rng.IntN(len(printable))]
	}
	for range w.n {
		key := benchKey(w.rng.IntN(w.flags.keySpace), w.flags.keySize)
		var err error
		var start time.Time
		if w.op == "put" {
			r := w.rng.Uint64()
			for i := range min(len(value), 8) {
				value[i] = printable[r%uint64(len(printable))]
				r /= uint64(len(printable))
			}
			v := string(value)
			start = time.Now()
			_, err = c.Put(ctx, key, v)
		} else {
			start = time.Now()
			_, err = c.Get(ctx, key, w.flags.stale)
		}
		took := time.Since(start)
		if ctx.Err() != nil {
			return
		}
		done.Add(1)
		switch {
		case err == nil:
			w.lat = append(w.lat, took)
		case errors.Is(err, netlink.ErrRejected):
			abort(err)
			return
		default:
			w.errors++
			w.lastErr = err
		}
	}
}

// benchKey is key number i as a zero-padded decimal of size bytes.
func benchKey(i, size int) string {
	return fmt.Sprintf("%0*d", size, i)
}
