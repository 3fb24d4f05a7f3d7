package main

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseProcMem(t *testing.T) {
	status := "Name:\teasykv-node\nVmPeak:\t  812340 kB\nVmHWM:\t   82944 kB\nVmRSS:\t   75376 kB\nThreads:\t9\n"
	hwm, rss, err := parseProcMem(status)
	if err != nil || hwm != 82944 || rss != 75376 {
		t.Errorf("parseProcMem = %d, %d, %v; want 82944, 75376", hwm, rss, err)
	}
	for _, bad := range []string{
		"Name:\tx\nVmRSS:\t 1 kB\n",      // no VmHWM
		"VmHWM:\t 1 MB\nVmRSS:\t 1 kB\n", // unit
		"VmHWM:\t x kB\nVmRSS:\t 1 kB\n", // number
		"",
	} {
		if h, r, err := parseProcMem(bad); err == nil {
			t.Errorf("parseProcMem(%q) = %d, %d, want an error", bad, h, r)
		}
	}
}

func TestParseLogLine(t *testing.T) {
	line := `time=2026-12-05T07:47:01.123456789Z level=INFO msg="snapshot sent" node=n3 peer=n2 index=95316 bytes=11344235`
	got, ok := parseLogLine(line, "snapshot sent", "peer", "n2")
	want := logLine{at: time.Date(2026, 12, 5, 7, 47, 1, 123456789, time.UTC), index: 95316, bytes: 11344235, text: line}
	if !ok || !got.at.Equal(want.at) || got.index != want.index || got.bytes != want.bytes || got.text != line {
		t.Errorf("parseLogLine = %+v, %v; want %+v", got, ok, want)
	}
	for _, tt := range []struct{ line, msg, key, val string }{
		{line, "snapshot sent", "peer", "n3"},      // another peer
		{line, "snapshot sent", "from", "n2"},      // another key
		{line, "snapshot installed", "peer", "n2"}, // another message
		{`time=yesterday level=INFO msg="snapshot sent" peer=n2 index=9 bytes=10`, "snapshot sent", "peer", "n2"},
		{`time=2026-12-05T07:47:01Z level=INFO msg="snapshot taken" node=n2 index=9 term=2 bytes=10`, "snapshot sent", "node", "n2"},
	} {
		if l, ok := parseLogLine(tt.line, tt.msg, tt.key, tt.val); ok {
			t.Errorf("parseLogLine(%q, %s, %s=%s) = %+v, want no match", tt.line, tt.msg, tt.key, tt.val, l)
		}
	}
}

// writeLog writes lines to a file in dir and returns its path.
func writeLog(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTransferEnd(t *testing.T) {
	dir := t.TempDir()
	since := time.Date(2026, 12, 5, 8, 5, 0, 0, time.UTC)
	failed := `time=2026-12-05T08:05:18.342Z level=WARN msg="snapshot transfer failed" node=n1 peer=n2 index=1900455 err="snapshot to n2: no progress for 5s"`
	leaderSent := writeLog(t, dir, "sent.log",
		`time=2026-12-05T08:04:00Z level=INFO msg="snapshot sent" node=n1 peer=n2 index=10 bytes=100`, // before since
		`time=2026-12-05T08:05:10Z level=INFO msg="snapshot sent" node=n1 peer=n3 index=20 bytes=200`, // another peer
		`time=2026-12-05T08:05:12Z level=INFO msg="snapshot sent" node=n1 peer=n2 index=30 bytes=300`,
	)
	leaderFailed := writeLog(t, dir, "failed.log",
		`time=2026-12-05T08:05:08Z level=INFO msg="peer connected" peer=n2 addr=127.0.0.1:42665`,
		failed,
	)
	follower := writeLog(t, dir, "n2.log",
		`time=2026-12-05T08:05:19.287Z level=INFO msg="snapshot installed" node=n2 from=n1 index=1900455 term=1 bytes=226998335`,
	)
	empty := writeLog(t, dir, "empty.log", `time=2026-12-05T08:05:08Z level=INFO msg=restored node=n2`)

	end, note, err := transferEnd(leaderSent, follower, "n1", "n2", since)
	if err != nil || end.index != 30 || end.bytes != 300 || note != "" {
		t.Errorf("with a \"snapshot sent\": %+v, %q, %v; want index 30, 300 bytes, no note", end, note, err)
	}
	end, note, err = transferEnd(leaderFailed, follower, "n1", "n2", since)
	wantNote := "n1 logged 1 failed transfer(s) to n2 meanwhile, the first: " + failed + `; no "snapshot sent": the end is the follower's "snapshot installed"`
	if err != nil || end.index != 1900455 || end.bytes != 226998335 || note != wantNote {
		t.Errorf("with a failure and an install: %+v, %q, %v; want index 1900455 and note %q", end, note, err, wantNote)
	}
	if end, _, err := transferEnd(leaderFailed, empty, "n1", "n2", since); err == nil {
		t.Errorf("with neither line: %+v, want an error", end)
	}
	if _, _, err := transferEnd(filepath.Join(dir, "missing.log"), follower, "n1", "n2", since); err == nil {
		t.Error("missing leader log: want an error")
	}
}

func TestDirSize(t *testing.T) {
	dir := t.TempDir()
	for name, size := range map[string]int{"hardstate": 40, "wal/0001.seg": 1 << 20, "snap/9-2.snap": 1000} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		// A preallocated segment: its size, not its blocks, is counted.
		if err := f.Truncate(int64(size)); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if got, err := dirSize(dir); err != nil || got != 40+(1<<20)+1000 {
		t.Errorf("dirSize = %d, %v; want %d", got, err, 40+(1<<20)+1000)
	}
	if _, err := dirSize(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("dirSize of a missing dir: %v, want 0 and no error", err)
	}
}

func TestGrowthVerdict(t *testing.T) {
	nodes := []string{"n1", "n2"}
	// A spare segment comes and goes: one peak in the last third.
	flat := [][]float64{{2, 2}, {3, 2.5}, {2.4, 2.4}, {2.4, 2.6}, {2.4, 2.5}, {3.4, 2.4}}
	growing := [][]float64{{2, 2}, {4, 4}, {6, 6}, {8, 8}, {10, 10}, {12, 12}}
	tests := []struct {
		name  string
		sizes [][]float64
		want  bool
		text  string
	}{
		{"flat, one spare segment", flat, true, "stopped growing: mean of the middle third → of the last third, MiB: n1 2.4 → 2.9, n2 2.5 → 2.5 (slack 1.0 MiB)"},
		{"growing", growing, false, "still growing: mean of the middle third → of the last third, MiB: n1 7.0 → 11.0, n2 7.0 → 11.0 (slack 1.0 MiB)"},
		{"too few", growing[:2], false, "too few measurements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, ok := growthVerdict(nodes, tt.sizes, 1)
			if ok != tt.want || text != tt.text {
				t.Errorf("growthVerdict = %q, %v; want %q, %v", text, ok, tt.text, tt.want)
			}
		})
	}
}

func TestOverlapFraction(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name             string
		from, to         time.Time
		runStart, runEnd time.Time
		want             float64
	}{
		{"covers the run", at(-1), at(5), at(0), at(4), 1},
		{"first half", at(0.5), at(2), at(0), at(4), 0.375},
		{"after the run", at(5), at(6), at(0), at(4), 0},
		{"not seen", time.Time{}, at(3), at(0), at(4), 0},
		{"empty run", at(0), at(3), at(1), at(1), 0},
	}
	for _, tt := range tests {
		if got := overlapFraction(tt.runStart, tt.runEnd, tt.from, tt.to); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: overlapFraction = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestExpectedKeys(t *testing.T) {
	if got := expectedKeys(1000, 0); got != 0 {
		t.Errorf("expectedKeys(1000, 0) = %v, want 0", got)
	}
	if got := expectedKeys(1_000_000, 2_000_000); math.Abs(got-864_664.7) > 1 {
		t.Errorf("expectedKeys(1e6, 2e6) = %v, want about 864,665", got)
	}
}

func TestThousandsAndSizeLabel(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -20000: "-20,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int]string{1 << 20: "1 MiB", 4 << 20: "4 MiB", 65536: "64 KiB", 1000: "1000 bytes"} {
		if got := sizeLabel(n); got != want {
			t.Errorf("sizeLabel(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSnapshotScale(t *testing.T) {
	for _, quick := range []bool{false, true} {
		sc := snapshotScale(quick)
		if sc.diskSteps < 20 || sc.restartAt*3 > sc.diskSteps*2 || sc.bigOps < 2*sc.bigKeys || sc.loadOps < snapClients || sc.bigEntries > sc.bigOps/4 || 3*sc.loadOps > sc.bigEntries {
			t.Errorf("snapshotScale(%v) = %+v: want 20×N puts or more, the restart within the first two thirds, 2 puts a key, a few snapshots while the follower is down, room for both throughput runs between two snapshots", quick, sc)
		}
	}
	if got := snapConfig(10_000, 1<<20); got != "snapshot_entries: 10000\nsnapshot_margin: 5000\nsegment_size: 1048576\n" {
		t.Errorf("snapConfig = %q", got)
	}
}

// goldenSnapReport is a snapshot section with figures in the shape of a
// quick run.
func goldenSnapReport() snapReport {
	r := snapReport{
		scale:     snapshotScale(true),
		diskNodes: []string{"n1", "n2", "n3"},
		withSnap:  restartResult{node: "n1", target: 10_501, took: 53 * time.Millisecond, snapshot: 10_001, first: 9_116, dataMiB: 2.4},
		noSnap:    restartResult{node: "n2", target: 10_501, took: 157 * time.Millisecond, snapshot: 0, first: 1, dataMiB: 4.0},
		writeOps:  6260,
		catchUp: catchUpResult{node: "n1", leader: "n3", keys: expectedKeys(50_000, 100_000), target: 100_001, took: 1574 * time.Millisecond,
			snapIndex: 95_316, snapBytes: 11_344_235, transfer: 448 * time.Millisecond, leaderBps: 33_472_374, installed: true,
			note: `n3 logged 1 failed transfer(s) to n1 meanwhile, the first: time=2026-12-05T08:05:18.342Z level=WARN msg="snapshot transfer failed" node=n3 peer=n1 index=95316 err="snapshot to n1: no progress for 5s"`},
		senderRSS:   rss{hwmBefore: 72532, hwmAfter: 82944, rssBefore: 72500, rssAfter: 75376},
		receiverRSS: rss{hwmAfter: 63036, rssAfter: 63000},
		idle:        result{Op: "put", Clients: 64, Total: 5000, OpsPerSec: 7355.4, P99Ms: 70.02},
		streaming:   result{Op: "put", Clients: 64, Total: 5000, Errors: 2, OpsPerSec: 2092.9, P99Ms: 191.56},
		overlap:     0.642,
	}
	for i := 1; i <= 6; i++ {
		r.diskPuts = append(r.diskPuts, i*1000)
		r.diskMiB = append(r.diskMiB, []float64{2.2 + float64(i%2)/5, 2.4, 2.4 + float64(i%3)/5})
	}
	return r
}

func TestRenderSnapshotsGolden(t *testing.T) {
	var b strings.Builder
	renderSnapshots(&b, goldenSnapReport(), goldenMachine, time.Date(2026, 12, 5, 7, 47, 0, 0, time.UTC))
	checkGolden(t, "snapshots.golden", b.String())
}

func TestParseFlagsOnly(t *testing.T) {
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	for _, only := range []string{"clusters", "membership", "snapshots", "scale"} {
		opts, err := parseFlags([]string{"--only", only, "--quick"}, io.Discard, now)
		if err != nil || opts.only != only || !opts.quick {
			t.Errorf("--only %s: %+v, %v", only, opts, err)
		}
	}
	if opts, err := parseFlags(nil, io.Discard, now); err != nil || opts.only != "" {
		t.Errorf("default --only = %q, %v; want every section", opts.only, err)
	}
	if opts, err := parseFlags([]string{"--only", "disk"}, io.Discard, now); err == nil {
		t.Errorf("--only disk = %+v, want an error", opts)
	}
}
