package main

import (
	"fmt"
	"io"
	"time"
)

// renderScale writes the scale section: CPU per put by client count, puts
// of larger values in MB/s, the CPU breakdown of both, resident memory per
// key, and the JSON lines.
func renderScale(w io.Writer, r scaleReport, m machine, date time.Time) {
	withEtcd := r.etcdVersion != ""
	if withEtcd {
		fmt.Fprintf(w, "scale — easykv vs etcd %s, %d nodes and %d members, same run (%d cores, %s)\n", r.etcdVersion, scaleNodes, scaleNodes, m.cpus, m.model)
	} else {
		fmt.Fprintf(w, "scale — easykv, %d nodes — etcd: %s   (%d cores, %s)\n", scaleNodes, r.etcdNote, m.cpus, m.model)
	}
	mainTable(w, withEtcd, "put, 256-byte values", "easykv CPU µs/op", "ops/s", "p99 ms", "etcd CPU µs/op", "ops/s", "p99 ms", "ops/s ×", "CPU ×")
	for _, row := range r.clients {
		mainTable(w, withEtcd, rowCells(row)...)
	}
	valuesTable(w, withEtcd, "put, larger values", "easykv CPU µs/op", "ops/s", "MB/s", "p99 ms", "etcd CPU µs/op", "ops/s", "MB/s", "p99 ms", "MB/s ×", "CPU ×")
	for _, row := range r.values {
		valuesTable(w, withEtcd, valueCells(row)...)
	}
	renderBreakdown(w, withEtcd, r.rows())
	fmt.Fprintf(w, "resident memory per key, %d keys written into a fresh cluster (VmRSS after − before, ÷ keys)\n", r.keys)
	for _, mem := range r.memory {
		renderMemory(w, mem, r.keys)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "clients: %d-byte keys, %d-key space, connections per node: 1 for 1 client, 16 for 64, 64 for 256 (etcd: --conns).\n", keySize, keySpace)
	fmt.Fprintln(w, "larger values: MB/s = ops/s × value bytes ÷ 10^6, value bytes only. Ratios are easykv ÷ etcd.")
	cpuMethod(w)
	fmt.Fprintf(w, "memory: %d-byte sequential keys, %d-byte values, %d clients over %d connections; easykv through benchrun's own\n", keySize, valueSize, loadClients, loadConns)
	fmt.Fprintln(w, "  ClusterClients (easykv-ctl bench draws keys at random), etcd through its tool's --sequential-keys. easykv's RSS")
	fmt.Fprintln(w, "  includes its snapshots (one every snapshot_entries, 10,000 by default) and Go's uncollected garbage; etcd's")
	fmt.Fprintln(w, "  includes the pages of its bbolt file mapped in and touched.")
	for _, e := range scaleErrors(r) {
		fmt.Fprintln(w, "errors:", e)
	}
	machineLines(w, m, date)

	fmt.Fprintln(w, "raw:")
	for _, row := range r.rows() {
		cpu := row.easykvCPU.perOp(succeeded(row.easykv))
		writeJSON(w, rawLine{System: "easykv", Nodes: scaleNodes, Workload: row.w.name, Result: row.easykvRaw, CPU: &cpu})
		if row.etcd != nil {
			writeJSON(w, etcdLine(scaleNodes, row.w.name, *row.etcd, row.etcdCPU))
		}
	}
	for _, mem := range r.memory {
		writeJSON(w, memoryLine(mem, r.keys))
	}
}

// rowCells are the cells of a row of mainTable.
func rowCells(r row) []string {
	kv := r.easykvCPU.perOp(succeeded(r.easykv))
	cells := []string{r.w.name, micros(kv.Total), fmt.Sprintf("%.1f", r.easykv.OpsPerSec), fmt.Sprintf("%.2f", r.easykv.P99Ms)}
	if r.etcd != nil {
		et := r.etcdCPU.perOp(succeeded(*r.etcd))
		cells = append(cells, micros(et.Total), fmt.Sprintf("%.1f", r.etcd.OpsPerSec), fmt.Sprintf("%.2f", r.etcd.P99Ms),
			ratioOf(r.easykv.OpsPerSec, r.etcd.OpsPerSec), ratioOf(kv.Total, et.Total))
	}
	return cells
}

// valuesTable writes one line of the larger values' table, which has a
// MB/s column after each ops/s.
func valuesTable(w io.Writer, withEtcd bool, cells ...string) {
	columns(w, []int{-24, 16, 10, 8, 8, 16, 10, 8, 8, 8, 7}, 5, withEtcd, cells...)
}

// valueCells are a larger-value row's cells.
func valueCells(r row) []string {
	mbps := func(res result) float64 { return res.OpsPerSec * float64(r.w.valueBytes()) / 1e6 }
	kv := r.easykvCPU.perOp(succeeded(r.easykv))
	cells := []string{r.w.name, micros(kv.Total), fmt.Sprintf("%.1f", r.easykv.OpsPerSec), fmt.Sprintf("%.1f", mbps(r.easykv)), fmt.Sprintf("%.2f", r.easykv.P99Ms)}
	if r.etcd != nil {
		et := r.etcdCPU.perOp(succeeded(*r.etcd))
		cells = append(cells, micros(et.Total), fmt.Sprintf("%.1f", r.etcd.OpsPerSec), fmt.Sprintf("%.1f", mbps(*r.etcd)), fmt.Sprintf("%.2f", r.etcd.P99Ms),
			ratioOf(mbps(r.easykv), mbps(*r.etcd)), ratioOf(kv.Total, et.Total))
	}
	return cells
}

// renderMemory writes one system's memory lines: each process, then the mean.
func renderMemory(w io.Writer, m memoryUse, keys int) {
	for _, p := range m.procs {
		role := "follower"
		if p.leader {
			role = "leader"
		}
		fmt.Fprintf(w, "  %-6s %-8s  VmRSS %8.1f → %8.1f MiB   %7.1f B/key\n", m.system, role, kib(p.before), kib(p.after), p.perKey(keys))
	}
	fmt.Fprintf(w, "  %-6s %-8s  %31s   %7.1f B/key   (loaded in %.1f s, %.0f keys/s)\n", m.system, "mean", "", m.meanPerKey(keys),
		m.took.Seconds(), float64(keys)/m.took.Seconds())
}

// scaleErrors says which scale workloads had failed operations.
func scaleErrors(r scaleReport) []string {
	var errs []string
	for _, row := range r.rows() {
		errs = append(errs, rowErrors(scaleNodes, row)...)
	}
	return errs
}

// rows are the client-count rows, then the larger values'.
func (r scaleReport) rows() []row {
	return append(append([]row(nil), r.clients...), r.values...)
}

// memoryLine is the JSON line of one system's memory load.
func memoryLine(m memoryUse, keys int) rawLine {
	l := rawLine{System: m.system, Nodes: scaleNodes, Keys: keys, LoadMs: millisOf(m.took), RSSPerKeyMean: round1(m.meanPerKey(keys))}
	for _, p := range m.procs {
		l.RSSBeforeKiB = append(l.RSSBeforeKiB, p.before)
		l.RSSAfterKiB = append(l.RSSAfterKiB, p.after)
		l.RSSPerKey = append(l.RSSPerKey, round1(p.perKey(keys)))
	}
	return l
}
