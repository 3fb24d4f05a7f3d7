package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"time"
)

// block is the figures of one cluster size.
type block struct {
	nodes          int             // easykv cluster size
	rows           []row           // one per workload
	easykvFailover []time.Duration // each trial
	etcdFailover   []time.Duration // each trial; nil when etcd did not run
	etcdVersion    string          // etcd's server version; "" when etcd did not run
	etcdNote       string          // why etcd did not run
	easykvStartup  time.Duration   // CPU of an easykv-ctl bench run of one put: its startup
	etcdStartup    time.Duration   // the same of etcd-peer.sh bench (bash and etcd's tool)
	dashboard      dashboardCPU    // easykv-tui watching the easykv cluster
	membership     *membership     // leadership transfer and rolling restarts; nil when not measured
}

// row is one workload on both systems.
type row struct {
	w         workload        // the workload
	easykv    result          // easykv's figures
	easykvRaw json.RawMessage // easykv-ctl's JSON line as printed
	etcd      *result         // etcd's figures; nil when etcd did not run
	easykvCPU cpuUse          // the CPU easykv's run cost
	etcdCPU   cpuUse          // the CPU etcd's run cost, when it ran
}

// machine describes where the run happened.
type machine struct {
	cpus      int    // logical CPUs
	model     string // CPU model name
	kernel    string // kernel release
	goVersion string // Go toolchain
	load      string // 1, 5 and 15 minute load averages as the run started: others' load skews figures
}

// readMachine reads the machine line from /proc and the Go runtime; call
// it before the run, for the load average.
func readMachine() machine {
	m := machine{cpus: runtime.NumCPU(), model: "unknown CPU", kernel: "unknown", goVersion: runtime.Version(), load: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.load = strings.Join(f[:3], " ")
		}
	}
	return m
}

// machineLines writes where and when a report's figures were taken.
func machineLines(w io.Writer, m machine, date time.Time) {
	fmt.Fprintf(w, "machine: %d cores, %s, Linux %s, %s; load average at start %s\n", m.cpus, m.model, m.kernel, m.goVersion, m.load)
	fmt.Fprintf(w, "date: %s\n\n", date.Format("2006-01-02 15:04:05 MST"))
}

// rawLine is one line of the report's JSON section.
type rawLine struct {
	System     string          `json:"system"`                  // "easykv" or "etcd"
	Nodes      int             `json:"nodes"`                   // cluster size
	Workload   string          `json:"workload,omitempty"`      // row label of a benchmark
	Result     json.RawMessage `json:"result,omitempty"`        // a benchmark's figures
	CPU        *cpuPerOp       `json:"cpu_us_per_op,omitempty"` // its CPU per successful operation
	FailoverMs []float64       `json:"failover_ms,omitempty"`   // each failover trial
	TransferMs []float64       `json:"transfer_ms,omitempty"`   // each leadership transfer trial
	MedianMs   float64         `json:"median_ms,omitempty"`     // their median
	// The longest write pauses of the rolling restarts.
	PauseSigtermMs float64 `json:"rolling_pause_sigterm_ms,omitempty"`
	PauseKillMs    float64 `json:"rolling_pause_kill_ms,omitempty"`
	// The memory load: keys written, its time, each process's VmRSS
	// (leader first) and the RSS gained per key, in bytes.
	Keys          int       `json:"keys,omitempty"`
	LoadMs        float64   `json:"load_ms,omitempty"`
	RSSBeforeKiB  []int64   `json:"rss_before_kib,omitempty"`
	RSSAfterKiB   []int64   `json:"rss_after_kib,omitempty"`
	RSSPerKey     []float64 `json:"rss_bytes_per_key,omitempty"`
	RSSPerKeyMean float64   `json:"rss_bytes_per_key_mean,omitempty"`
}

// render writes the report: one table per block, the notes, and the raw
// figures as JSON lines.
func render(w io.Writer, blocks []block, m machine, date time.Time, trials int) {
	host := fmt.Sprintf("%d cores, %s", m.cpus, m.model)
	timing := fmt.Sprintf("heartbeat %s, election %s", heartbeat, electionTimeout)
	var errs []string
	for _, b := range blocks {
		if b.etcdVersion != "" {
			fmt.Fprintf(w, "easykv vs etcd %s — same machine, same run (%s)   %d nodes, %s\n", b.etcdVersion, host, b.nodes, timing)
		} else {
			fmt.Fprintf(w, "easykv, %d nodes — etcd: %s   (%s)   %s\n", b.nodes, b.etcdNote, host, timing)
		}
		withEtcd := b.etcdVersion != ""
		mainTable(w, withEtcd, "workload", "easykv CPU µs/op", "ops/s", "p99 ms", "etcd CPU µs/op", "ops/s", "p99 ms", "ops/s ×", "CPU ×")
		for _, r := range b.rows {
			mainTable(w, withEtcd, rowCells(r)...)
			errs = append(errs, rowErrors(b.nodes, r)...)
		}
		kvMed, etcdMed, ratio := median(b.easykvFailover), "", ""
		if b.etcdFailover != nil {
			etcdMed = fmt.Sprintf("%.2f s", median(b.etcdFailover).Seconds())
			ratio = ratioOf(kvMed.Seconds(), median(b.etcdFailover).Seconds())
		}
		mainTable(w, withEtcd, fmt.Sprintf("failover median (%d)", trials), "", fmt.Sprintf("%.2f s", kvMed.Seconds()), "", "", etcdMed, "", ratio)
		if b.membership != nil {
			renderMembership(w, *b.membership, kvMed)
		}
		if d := b.dashboard; d.note != "" {
			fmt.Fprintf(w, "dashboard CPU: %s\n", d.note)
		} else {
			fmt.Fprintf(w, "dashboard CPU (easykv-tui in a %d×%d pseudo-terminal): %.1f%% of a core watching the idle cluster, %.1f%% during %s (%.0f ops/s)\n",
				dashboardCols, dashboardRows, d.idle, d.load, d.load64, d.loadOps)
		}
		renderBreakdown(w, withEtcd, b.rows)
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w, "ops/s × = easykv ÷ etcd: above 1 means more ops/s for easykv; for failover, below 1 means easykv elects sooner.")
	fmt.Fprintln(w, "CPU × = easykv ÷ etcd of the CPU per operation: below 1 means easykv spends less.")
	renderCPUNote(w, blocks)
	fmt.Fprintf(w, "workloads: %d-byte keys, %d-byte values, %d-key space; easykv-ctl bench and etcd's benchmark tool, both with --conns=16 for 64 clients.\n", keySize, valueSize, keySpace)
	fmt.Fprintln(w, "  etcd's range reads one fixed key holding a full value; easykv's get reads random keys of the space, some never written.")
	fmt.Fprintln(w, "  etcd's tool sends to every member in turn (followers forward to the leader); easykv-ctl sends to the leader.")
	fmt.Fprintln(w, "failover: SIGSTOP the leader; time until another member reports itself leader (easykv: watch events; etcd: status polled every 10ms).")
	for _, b := range blocks {
		fmt.Fprintf(w, "  easykv %d nodes, trials: %s\n", b.nodes, seconds(b.easykvFailover))
		if b.etcdFailover != nil {
			fmt.Fprintf(w, "  etcd %d members, trials: %s\n", b.nodes, seconds(b.etcdFailover))
		}
	}
	for _, b := range blocks {
		mb := b.membership
		if mb == nil {
			continue
		}
		fmt.Fprintln(w, "leadership transfer: TRANSFER_LEADER to the leader naming a follower (the two in turn); time from sending it to the first put the new leader acknowledged.")
		fmt.Fprintf(w, "  easykv %d nodes, trials: %s\n", b.nodes, seconds(mb.transfers))
		fmt.Fprintln(w, "rolling restart: one client puts distinct keys one at a time while each node in turn (n1, n2, n3, the leader included) is signalled,")
		fmt.Fprintln(w, "  waited for, started again on its data dir and waited for until it has applied the leader's commit index and a put has gone")
		fmt.Fprintln(w, "  through; the pause is the longest time without an acknowledged put over the pass. SIGTERM: a leader hands over first;")
		fmt.Fprintln(w, "  kill -9: an election timeout.")
		fmt.Fprintf(w, "  acknowledged puts: %d over the SIGTERM pass, %d over the kill -9 pass; %d puts failed\n", mb.termWrites, mb.killWrites, mb.writeErrors)
	}
	for _, e := range errs {
		fmt.Fprintln(w, "errors:", e)
	}
	machineLines(w, m, date)

	fmt.Fprintln(w, "raw:")
	for _, b := range blocks {
		for _, r := range b.rows {
			cpu := r.easykvCPU.perOp(succeeded(r.easykv))
			writeJSON(w, rawLine{System: "easykv", Nodes: b.nodes, Workload: r.w.name, Result: r.easykvRaw, CPU: &cpu})
		}
		writeJSON(w, failoverLine("easykv", b.nodes, b.easykvFailover))
		if mb := b.membership; mb != nil {
			writeJSON(w, membershipLine(b.nodes, *mb))
		}
		if b.etcdVersion == "" {
			continue
		}
		for _, r := range b.rows {
			if r.etcd != nil {
				writeJSON(w, etcdLine(b.nodes, r.w.name, *r.etcd, r.etcdCPU))
			}
		}
		writeJSON(w, failoverLine("etcd", b.nodes, b.etcdFailover))
	}
}

// mainTable writes one line of a block's table: the workload, easykv's
// CPU per op, ops/s and p99, then, when etcd ran, etcd's and the ratios.
func mainTable(w io.Writer, withEtcd bool, cells ...string) {
	columns(w, []int{-24, 16, 10, 8, 16, 10, 8, 9, 7}, 4, withEtcd, cells...)
}

// breakdownTable writes one line of the CPU breakdown by process kind.
func breakdownTable(w io.Writer, withEtcd bool, cells ...string) {
	columns(w, []int{-24, 14, 10, 8, 12, 10, 8}, 4, withEtcd, cells...)
}

// columns writes cells as one line, each padded to its width (negative:
// left-aligned), the cells from etcdFrom on only when etcd ran.
func columns(w io.Writer, widths []int, etcdFrom int, withEtcd bool, cells ...string) {
	if !withEtcd {
		cells = cells[:min(etcdFrom, len(cells))]
	}
	var s strings.Builder
	for i, c := range cells {
		if i > 0 {
			s.WriteString(" ")
		}
		fmt.Fprintf(&s, "%*s", widths[i], c)
	}
	fmt.Fprintln(w, strings.TrimRight(s.String(), " "))
}

// renderBreakdown writes the CPU per operation of each workload by kind of
// process: the leader, the followers summed, the load generator.
func renderBreakdown(w io.Writer, withEtcd bool, rows []row) {
	breakdownTable(w, withEtcd, "CPU µs/op by process", "easykv leader", "followers", "loadgen", "etcd leader", "followers", "loadgen")
	for _, r := range rows {
		kv := r.easykvCPU.perOp(succeeded(r.easykv))
		cells := []string{r.w.name, micros(kv.Leader), micros(kv.Followers), micros(kv.Loadgen)}
		if r.etcd != nil {
			et := r.etcdCPU.perOp(succeeded(*r.etcd))
			cells = append(cells, micros(et.Leader), micros(et.Followers), micros(et.Loadgen))
		}
		breakdownTable(w, withEtcd, cells...)
	}
}

// micros is a figure in µs with one decimal.
func micros(us float64) string { return fmt.Sprintf("%.1f", us) }

// ratioOf is a ÷ b as "1.23×", or "—" when b is 0.
func ratioOf(a, b float64) string {
	if b == 0 || math.IsNaN(a/b) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// rowErrors says how many operations of r failed on each system, if any did.
func rowErrors(nodes int, r row) []string {
	errs := errorNote("easykv", nodes, r.w, r.easykv)
	if r.etcd != nil {
		errs = append(errs, errorNote("etcd", nodes, r.w, *r.etcd)...)
	}
	return errs
}

// errorNote says how many operations of r failed, if any did.
func errorNote(system string, nodes int, w workload, r result) []string {
	if r.Errors == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s %d nodes, %s: %d of %d operations failed", system, nodes, w.name, r.Errors, r.Total)}
}

// seconds lists durations as seconds with 3 decimals.
func seconds(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%.3f", d.Seconds())
	}
	return strings.Join(parts, " ") + " s"
}

// etcdLine is the JSON line of one etcd workload.
func etcdLine(nodes int, name string, r result, cpu cpuUse) rawLine {
	res, _ := json.Marshal(r) // a struct of numbers and strings
	perOp := cpu.perOp(succeeded(r))
	return rawLine{System: "etcd", Nodes: nodes, Workload: name, Result: res, CPU: &perOp}
}

// renderCPUNote says how CPU per operation is measured, with each
// block's load generator startup cost.
func renderCPUNote(w io.Writer, blocks []block) {
	cpuMethod(w)
	fmt.Fprintln(w, "  A one-put run of each load generator measures that startup:")
	for _, b := range blocks {
		if b.easykvStartup == 0 && b.etcdStartup == 0 {
			continue
		}
		fmt.Fprintf(w, "  %d nodes: easykv-ctl bench %s", b.nodes, short(b.easykvStartup))
		if b.etcdVersion != "" {
			fmt.Fprintf(w, ", etcd's %s", short(b.etcdStartup))
		}
		fmt.Fprintln(w)
	}
}

// cpuMethod says how CPU per operation is measured.
func cpuMethod(w io.Writer) {
	fmt.Fprintln(w, "CPU µs/op: CPU time spent during the workload ÷ successful operations. Nodes and members: utime+stime of /proc/<pid>/stat")
	fmt.Fprintln(w, "  (every thread, 10 ms ticks) right before and right after; followers summed. Load generator: its rusage, startup")
	fmt.Fprintln(w, "  included (etcd's: etcd-peer.sh bench, bash and the tool).")
}

// failoverLine is the JSON line of one cluster's failover trials.
func failoverLine(system string, nodes int, ds []time.Duration) rawLine {
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = millisOf(d)
	}
	return rawLine{System: system, Nodes: nodes, FailoverMs: ms, MedianMs: millisOf(median(ds))}
}

// renderMembership writes the leadership-transfer and rolling-restart
// rows, each compared with the run's own figures: transfer against the
// failover median, the kill -9 pause against the SIGTERM one.
func renderMembership(w io.Writer, mb membership, failover time.Duration) {
	med := median(mb.transfers)
	lo, hi := spread(mb.transfers)
	fmt.Fprintf(w, "%-46s %10s   range %s–%s (%d trials); %s faster than failover (%.2f s)\n",
		"leadership transfer median (to first commit)", short(med), short(lo), short(hi), len(mb.transfers),
		ratioOf(failover.Seconds(), med.Seconds()), failover.Seconds())
	fmt.Fprintf(w, "%-46s %10s\n", "rolling restart, longest write pause: SIGTERM", short(mb.termPause))
	fmt.Fprintf(w, "%-46s %10s   %s the SIGTERM pause\n", "rolling restart, longest write pause: kill -9", short(mb.killPause),
		ratioOf(mb.killPause.Seconds(), mb.termPause.Seconds()))
}

// short is d in milliseconds with one decimal below a second, in seconds
// with three above: transfers take milliseconds, elections seconds.
func short(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.3f s", d.Seconds())
}

// membershipLine is the JSON line of one cluster's transfer trials and
// rolling-restart pauses.
func membershipLine(nodes int, mb membership) rawLine {
	ms := make([]float64, len(mb.transfers))
	for i, d := range mb.transfers {
		ms[i] = millisOf(d)
	}
	return rawLine{System: "easykv", Nodes: nodes, TransferMs: ms, MedianMs: millisOf(median(mb.transfers)),
		PauseSigtermMs: millisOf(mb.termPause), PauseKillMs: millisOf(mb.killPause)}
}

// round1 is x rounded to one decimal.
func round1(x float64) float64 { return math.Round(x*10) / 10 }

// millisOf is d in milliseconds, rounded to the microsecond.
func millisOf(d time.Duration) float64 {
	return math.Round(float64(d)/1e3) / 1e3
}

// writeJSON writes v as one line.
func writeJSON(w io.Writer, v rawLine) {
	b, _ := json.Marshal(v) // plain strings and numbers: cannot fail
	fmt.Fprintf(w, "%s\n", b)
}
