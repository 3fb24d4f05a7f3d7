package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/easykv/easykv/netlink"
)

// The scale section (--only scale): on 3 nodes against 3 etcd members,
// CPU per put from 1 to 64 to 256 clients, puts of 1 KiB and 16 KiB
// values, and the resident memory a store of many keys takes.
const (
	// scaleNodes is the cluster size of the section.
	scaleNodes = 3
	// loadClients and loadConns are the shape of the memory section's load.
	loadClients, loadConns = 64, 16
	// loadTimeout bounds one put of the memory load; each is retried by its
	// ClusterClient within it.
	loadTimeout = 10 * time.Second
)

// scaleReport is the figures of the scale section.
type scaleReport struct {
	etcdVersion string      // etcd's server version; "" when etcd did not run
	etcdNote    string      // why etcd did not run
	clients     []row       // put with 1, 64 and 256 clients
	values      []row       // put of larger values, 64 clients
	keys        int         // keys the memory load wrote
	memory      []memoryUse // easykv, then etcd when it ran
}

// memoryUse is the resident memory one system's processes gained while
// keys were written into a fresh cluster.
type memoryUse struct {
	system string        // "easykv" or "etcd"
	took   time.Duration // the load's wall time
	procs  []procRSS     // the leader first
}

// procRSS is one process's VmRSS before and after the load.
type procRSS struct {
	leader        bool  // it led during the load
	before, after int64 // KiB
}

// perKey is the RSS p gained per key, in bytes.
func (p procRSS) perKey(keys int) float64 {
	return float64(p.after-p.before) * 1024 / float64(keys)
}

// meanPerKey is the mean over m's processes of the RSS gained per key.
func (m memoryUse) meanPerKey(keys int) float64 {
	if len(m.procs) == 0 {
		return 0
	}
	sum := 0.0
	for _, p := range m.procs {
		sum += p.perKey(keys)
	}
	return sum / float64(len(m.procs))
}

// scaleClients are the client counts of the CPU-per-put series.
func scaleClients(quick bool) []workload {
	ws := workloads(quick)[:2] // put with 1 and 64 clients
	many := ws[1].total
	return append(ws, workload{name: "put, 256 clients", op: "put", clients: 256, conns: 64, total: many})
}

// scaleValues are the value sizes of the throughput-in-bytes series: the
// totals keep each run to seconds and the data written to a few hundred MB.
func scaleValues(quick bool) []workload {
	kib, sixteen := 30_000, 10_000
	if quick {
		kib, sixteen = 1_000, 300
	}
	return []workload{
		{name: "put 1 KiB, 64 clients", op: "put", clients: 64, conns: 16, total: kib, value: 1 << 10},
		{name: "put 16 KiB, 64 clients", op: "put", clients: 64, conns: 16, total: sixteen, value: 16 << 10},
	}
}

// scaleKeys is how many keys the memory load writes.
func scaleKeys(quick bool) int {
	if quick {
		return 20_000
	}
	return 1_000_000
}

// runScale fills r: each system's series on one fresh cluster, then its
// memory load on another, so that the load starts from an empty store.
func runScale(ctx context.Context, opts options, etcdNote string, r *scaleReport, logf func(string, ...any)) error {
	r.etcdNote, r.keys = etcdNote, scaleKeys(opts.quick)
	series := append(scaleClients(opts.quick), scaleValues(opts.quick)...)
	rows, err := easykvSeries(ctx, opts, series, logf)
	if err != nil {
		return fmt.Errorf("easykv: %w", err)
	}
	if etcdNote == "" {
		if r.etcdVersion, err = etcdSeries(ctx, opts, rows, logf); err != nil {
			return fmt.Errorf("etcd: %w", err)
		}
	}
	n := len(scaleClients(opts.quick))
	r.clients, r.values = rows[:n], rows[n:]

	mem, err := easykvMemory(ctx, opts, r.keys, logf)
	if err != nil {
		return fmt.Errorf("easykv memory: %w", err)
	}
	r.memory = append(r.memory, mem)
	if etcdNote == "" {
		if mem, err = etcdMemory(ctx, opts, r.keys, logf); err != nil {
			return fmt.Errorf("etcd memory: %w", err)
		}
		r.memory = append(r.memory, mem)
	}
	return nil
}

// easykvSeries runs each workload of ws with its CPU on a fresh cluster.
func easykvSeries(ctx context.Context, opts options, ws []workload, logf func(string, ...any)) (_ []row, err error) {
	logf("easykv: starting %d nodes for the scale series", scaleNodes)
	kv, err := startEasykv(ctx, opts.bin, scaleNodes)
	if err != nil {
		return nil, err
	}
	defer stopEasykv(kv, &err, logf)
	return easykvRows(ctx, kv, ws, logf)
}

// etcdSeries runs each workload of rows on etcd, into rows, and returns
// etcd's version.
func etcdSeries(ctx context.Context, opts options, rows []row, logf func(string, ...any)) (version string, err error) {
	p, err := startEtcd(ctx, opts, scaleNodes, logf)
	if err != nil {
		return "", err
	}
	defer stopEtcd(p, &err)
	if version, err = p.version(ctx); err != nil {
		return "", err
	}
	return version, etcdRows(ctx, p, rows, logf)
}

// easykvMemory writes keys distinct keys into a fresh cluster and reads
// each node's RSS before and after.
func easykvMemory(ctx context.Context, opts options, keys int, logf func(string, ...any)) (m memoryUse, err error) {
	logf("easykv: starting %d nodes for %d keys", scaleNodes, keys)
	kv, err := startEasykv(ctx, opts.bin, scaleNodes)
	if err != nil {
		return memoryUse{}, err
	}
	defer stopEasykv(kv, &err, logf)
	sv, err := kv.servers(ctx)
	if err != nil {
		return memoryUse{}, err
	}
	return measureMemory("easykv", sv, logf, func() error { return kv.loadKeys(ctx, keys) })
}

// etcdMemory writes keys distinct keys into fresh etcd members, with
// etcd's tool's sequential keys, and reads each member's RSS before and
// after.
func etcdMemory(ctx context.Context, opts options, keys int, logf func(string, ...any)) (m memoryUse, err error) {
	p, err := startEtcd(ctx, opts, scaleNodes, logf)
	if err != nil {
		return memoryUse{}, err
	}
	defer stopEtcd(p, &err)
	sv, err := p.servers(ctx)
	if err != nil {
		return memoryUse{}, err
	}
	w := workload{op: "put", clients: loadClients, conns: loadConns, total: keys}
	return measureMemory("etcd", sv, logf, func() error {
		res, err := p.benchKeys(ctx, w, "--sequential-keys=true", "--key-space-size="+strconv.Itoa(keys))
		if err == nil && res.Errors > 0 {
			err = fmt.Errorf("%d of %d puts failed", res.Errors, res.Total)
		}
		return err
	})
}

// measureMemory runs load and reads the VmRSS of sv's processes before
// and after it.
func measureMemory(system string, sv servers, logf func(string, ...any), load func() error) (memoryUse, error) {
	pids := append([]int{sv.leader}, sv.followers...)
	m := memoryUse{system: system, procs: make([]procRSS, len(pids))}
	for i, pid := range pids {
		m.procs[i].leader = i == 0
		var err error
		if _, m.procs[i].before, err = procMem(pid); err != nil {
			return memoryUse{}, err
		}
	}
	logf("%s: writing the keys", system)
	start := time.Now()
	if err := load(); err != nil {
		return memoryUse{}, err
	}
	m.took = time.Since(start)
	for i, pid := range pids {
		var err error
		if _, m.procs[i].after, err = procMem(pid); err != nil {
			return memoryUse{}, err
		}
	}
	return m, nil
}

// loadKeys writes keys distinct keys, numbers 0 to keys-1 as keySize-byte
// zero-padded decimals with valueSize-byte values, through loadClients
// ClusterClients sharing loadConns connections per node: easykv-ctl bench
// draws its keys at random, which would leave a third of them unwritten.
func (c *easykvCluster) loadKeys(ctx context.Context, keys int) error {
	pool := netlink.NewClientPool(loadConns)
	value := strings.Repeat("v", valueSize)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i := range loadClients {
		cl, err := netlink.NewClusterClient(netlink.ClusterConfig{
			Identity: netlink.Identity{Cluster: clusterName, NodeID: "easykv-benchrun-load"},
			Nodes:    c.nodeAddrs(),
			Timeout:  loadTimeout,
			Pool:     pool,
		})
		if err != nil {
			cancel(err)
			break
		}
		wg.Go(func() {
			defer cl.Close()
			for k := i; k < keys && ctx.Err() == nil; k += loadClients {
				if _, err := cl.Put(ctx, fmt.Sprintf("%0*d", keySize, k), value); err != nil {
					cancel(fmt.Errorf("put key %d: %w", k, err))
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}
