package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// snapRaw is the snapshot section's JSON line.
type snapRaw struct {
	System            string      `json:"system"` // "easykv-snapshots"
	SnapshotEntries   int         `json:"snapshot_entries"`
	DiskPuts          []int       `json:"disk_puts"`
	DiskMiB           [][]float64 `json:"disk_mib"` // [measurement][node]
	DiskNodes         []string    `json:"disk_nodes"`
	RestartMiB        float64     `json:"restart_data_mib"`
	NoSnapshotMiB     float64     `json:"no_snapshot_data_mib"`
	RestartMs         float64     `json:"restart_ms"`
	RestartReplayed   int64       `json:"restart_replayed"`
	NoSnapRestartMs   float64     `json:"no_snapshot_restart_ms"`
	NoSnapReplayed    int64       `json:"no_snapshot_replayed"`
	WriteOpsPerSec    float64     `json:"write_ops_per_sec"`
	CatchUpMs         float64     `json:"catch_up_ms"`
	SnapshotBytes     int64       `json:"snapshot_bytes"`
	TransferMs        float64     `json:"transfer_ms"`
	LeaderBytesPerSec int64       `json:"leader_bytes_per_sec"`
	IdleOpsPerSec     float64     `json:"idle_ops_per_sec"`
	StreamOpsPerSec   float64     `json:"streaming_ops_per_sec"`
	Overlap           float64     `json:"overlap"`
	SenderHWMKiB      [2]int64    `json:"sender_hwm_kib"` // before, after
	ReceiverHWMKiB    int64       `json:"receiver_hwm_kib"`
}

// renderSnapshots writes the snapshot section of the report.
func renderSnapshots(w io.Writer, r snapReport, m machine, date time.Time) {
	sc := r.scale
	fmt.Fprintf(w, "snapshots and log compaction — 3 nodes (%d cores, %s)   heartbeat %s, election %s\n", m.cpus, m.model, heartbeat, electionTimeout)
	fmt.Fprintf(w, "every put: easykv-ctl bench put, %d clients over %d connections per node, %d-byte keys, %d-byte values\n\n", snapClients, snapConns, keySize, valueSize)

	fmt.Fprintf(w, "1. disk use: snapshot_entries %s, snapshot_margin %s, segment_size %s; puts over a %s-key space; data dir per node (segments count preallocated)\n",
		thousands(int64(sc.entries)), thousands(int64(sc.entries/2)), sizeLabel(sc.segment), thousands(int64(sc.diskKeys)))
	header := fmt.Sprintf("  %12s", "puts")
	for _, id := range r.diskNodes {
		header += fmt.Sprintf(" %9s", id+" MiB")
	}
	fmt.Fprintln(w, header)
	for i, sizes := range r.diskMiB {
		s := fmt.Sprintf("  %12s", thousands(int64(r.diskPuts[i])))
		for _, x := range sizes {
			s += fmt.Sprintf(" %9.1f", x)
		}
		fmt.Fprintln(w, s)
	}
	verdict, _ := growthVerdict(r.diskNodes, r.diskMiB, float64(sc.segment)/mib)
	fmt.Fprintf(w, "  verdict: %s\n", verdict)
	fmt.Fprintln(w)

	fmt.Fprintf(w, "2. follower restart after %s puts (10.5×N, same key space; without snapshots: snapshot_entries %s): SIGTERM, start again, time until it has applied the commit index it had\n", thousands(int64(sc.restartPuts())), thousands(noSnapshotEntries))
	restartLine(w, "with snapshots", r.withSnap)
	restartLine(w, "without snapshots", r.noSnap)
	if r.withSnap.took > 0 && r.noSnap.took > 0 {
		fmt.Fprintf(w, "  %-18s %s of the time without snapshots\n", "ratio", ratioOf(r.withSnap.took.Seconds(), r.noSnap.took.Seconds()))
	}
	fmt.Fprintln(w)

	c := r.catchUp
	fmt.Fprintf(w, "3. catch-up by InstallSnapshot: %s down while %s puts went over a %s-key space (≈ %s keys expected; %s ops/s with %s down); snapshot_entries %s, segment_size %s\n",
		c.node, thousands(int64(sc.bigOps)), thousands(int64(sc.bigKeys)), thousands(int64(c.keys)), thousands(int64(math.Round(r.writeOps))), c.node, thousands(int64(sc.bigEntries)), sizeLabel(sc.bigSegment))
	fmt.Fprintf(w, "  restart to applied ≥ leader's commit index %s: %.2f s\n", thousands(c.target), c.took.Seconds())
	fmt.Fprintf(w, "  snapshot from %s: index %s, %.1f MiB; installed: %s\n", c.leader, thousands(c.snapIndex), float64(c.snapBytes)/mib, yesNo(c.installed))
	if c.transfer > 0 {
		fmt.Fprintf(w, "  transfer %.2f s (first sight in a status poll to the \"snapshot sent\" line): %.1f MiB/s; the leader's own figure %.1f MiB/s\n",
			c.transfer.Seconds(), float64(c.snapBytes)/mib/c.transfer.Seconds(), float64(c.leaderBps)/mib)
	} else {
		fmt.Fprintf(w, "  transfer not seen in a status poll (shorter than %s); the leader's own figure %.1f MiB/s\n", pollInterval, float64(c.leaderBps)/mib)
	}
	if c.note != "" {
		fmt.Fprintf(w, "  note: %s\n", c.note)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "4. leader put throughput, %s puts over the same space, one follower down in both runs\n", thousands(int64(sc.loadOps)))
	fmt.Fprintf(w, "  %-28s %10.1f ops/s  p99 %7.2f ms\n", "no transfer", r.idle.OpsPerSec, r.idle.P99Ms)
	fmt.Fprintf(w, "  %-28s %10.1f ops/s  p99 %7.2f ms\n", "follower restarted at start", r.streaming.OpsPerSec, r.streaming.P99Ms)
	fmt.Fprintf(w, "  ratio %s; the transfer ran during %.0f%% of the second run\n", ratioOf(r.streaming.OpsPerSec, r.idle.OpsPerSec), r.overlap*100)
	if r.loadNote != "" {
		fmt.Fprintf(w, "  note: %s\n", r.loadNote)
	}
	fmt.Fprintln(w)

	s, rv := r.senderRSS, r.receiverRSS
	fmt.Fprintf(w, "5. peak RSS (VmHWM) around the transfer of part 3; the state machine is in memory, so compare with the snapshot (%.1f MiB)\n", float64(c.snapBytes)/mib)
	fmt.Fprintf(w, "  sender %-3s  VmHWM %7.1f MiB before, %7.1f after; VmRSS %7.1f → %7.1f MiB\n", c.leader, kib(s.hwmBefore), kib(s.hwmAfter), kib(s.rssBefore), kib(s.rssAfter))
	fmt.Fprintf(w, "  receiver %-3s VmHWM %7.1f MiB (a fresh process: its whole life); VmRSS %7.1f MiB after catching up\n", c.node, kib(rv.hwmAfter), kib(rv.rssAfter))
	for _, e := range []struct {
		name string
		res  result
	}{{"no transfer", r.idle}, {"during a transfer", r.streaming}} {
		if e.res.Errors > 0 {
			fmt.Fprintf(w, "errors: put %s: %d of %d operations failed\n", e.name, e.res.Errors, e.res.Total)
		}
	}
	machineLines(w, m, date)

	fmt.Fprintln(w, "raw:")
	b, _ := json.Marshal(snapRaw{
		System: "easykv-snapshots", SnapshotEntries: sc.entries,
		DiskPuts: r.diskPuts, DiskMiB: rounded(r.diskMiB), DiskNodes: r.diskNodes,
		RestartMiB: math.Round(r.withSnap.dataMiB*1000) / 1000, NoSnapshotMiB: math.Round(r.noSnap.dataMiB*1000) / 1000,
		RestartMs: millisOf(r.withSnap.took), RestartReplayed: r.withSnap.replayed(),
		NoSnapRestartMs: millisOf(r.noSnap.took), NoSnapReplayed: r.noSnap.replayed(),
		WriteOpsPerSec: r.writeOps, CatchUpMs: millisOf(c.took), SnapshotBytes: c.snapBytes,
		TransferMs: millisOf(c.transfer), LeaderBytesPerSec: c.leaderBps,
		IdleOpsPerSec: r.idle.OpsPerSec, StreamOpsPerSec: r.streaming.OpsPerSec, Overlap: math.Round(r.overlap*1000) / 1000,
		SenderHWMKiB: [2]int64{s.hwmBefore, s.hwmAfter}, ReceiverHWMKiB: rv.hwmAfter,
	}) // numbers and strings: cannot fail
	fmt.Fprintf(w, "%s\n", b)
}

// rounded is v with every figure rounded to 3 decimals, for the raw line.
func rounded(v [][]float64) [][]float64 {
	out := make([][]float64, len(v))
	for i, row := range v {
		out[i] = make([]float64, len(row))
		for j, x := range row {
			out[i][j] = math.Round(x*1000) / 1000
		}
	}
	return out
}

// restartLine is one line of part 2.
func restartLine(w io.Writer, name string, r restartResult) {
	fmt.Fprintf(w, "  %-18s %7.2f s   %s: data dir %.1f MiB, snapshot at %s, log from %s, %s entries applied from the log\n",
		name, r.took.Seconds(), r.node, r.dataMiB, thousands(r.snapshot), thousands(r.first), thousands(r.replayed()))
}

// thousands formats n with commas: 1,234,567.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// sizeLabel is a byte count in KiB or MiB when it is a whole number of
// them.
func sizeLabel(n int) string {
	switch {
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// kib is n KiB in MiB.
func kib(n int64) float64 { return float64(n) / 1024 }

// yesNo is "yes" or "no".
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
