package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenMachine is the machine line of every golden report.
var goldenMachine = machine{cpus: 2, model: "AMD EPYC", kernel: "6.1.0", goVersion: "go1.26.8", load: "0.50 0.40 0.30"}

// goldenBlocks are a 3-node comparison and a 5-node easykv-only block.
func goldenBlocks() []block {
	ws := workloads(false)
	kv := []result{
		{Op: "put", Clients: 1, Total: 2000, OpsPerSec: 531.7, P99Ms: 14.878},
		{Op: "put", Clients: 64, Total: 40000, Errors: 3, OpsPerSec: 3008.1, P99Ms: 60.14},
		{Op: "get", Clients: 64, Total: 40000, OpsPerSec: 8015, P99Ms: 37.746},
	}
	etcd := []result{
		{Op: "put", Clients: 1, Total: 2000, OpsPerSec: 255.1, P99Ms: 29.596},
		{Op: "put", Clients: 64, Total: 40000, OpsPerSec: 1658.2, P99Ms: 176.119},
		{Op: "get", Clients: 64, Total: 40000, OpsPerSec: 4117.4, P99Ms: 113.165},
	}
	three := block{nodes: 3, etcdVersion: "3.7.3",
		easykvFailover: []time.Duration{1500 * time.Millisecond, 1200 * time.Millisecond, 1900 * time.Millisecond},
		etcdFailover:   []time.Duration{1000 * time.Millisecond, 1100 * time.Millisecond, 1250 * time.Millisecond},
		dashboard:      dashboardCPU{idle: 1.84, load: 4.5, loadOps: 5123.4, load64: "put, 64 clients"},
		membership: &membership{
			transfers: []time.Duration{12 * time.Millisecond, 9 * time.Millisecond, 15 * time.Millisecond},
			termPause: 40 * time.Millisecond, killPause: 1800 * time.Millisecond,
			termWrites: 900, killWrites: 700, writeErrors: 1,
		},
	}
	three.easykvStartup, three.etcdStartup = 6*time.Millisecond, 42*time.Millisecond
	five := block{nodes: 5, etcdNote: "not run (--no-etcd)", easykvStartup: 7 * time.Millisecond,
		easykvFailover: []time.Duration{1400 * time.Millisecond, 1300 * time.Millisecond, 1600 * time.Millisecond},
		dashboard:      dashboardCPU{note: "not measured: no pseudo-terminal (open /dev/ptmx: no such file or directory)"},
	}
	kvCPU := []cpuUse{
		{leader: 50 * time.Millisecond, followers: 70 * time.Millisecond, loadgen: 30 * time.Millisecond},
		{leader: 2 * time.Second, followers: 1500 * time.Millisecond, loadgen: 1200 * time.Millisecond},
		{leader: 1100 * time.Millisecond, followers: 200 * time.Millisecond, loadgen: 900 * time.Millisecond},
	}
	etcdCPU := []cpuUse{
		{leader: 200 * time.Millisecond, followers: 300 * time.Millisecond, loadgen: 100 * time.Millisecond},
		{leader: 6 * time.Second, followers: 5 * time.Second, loadgen: 2 * time.Second},
		{leader: 3 * time.Second, followers: 2 * time.Second, loadgen: 1 * time.Second},
	}
	for i, w := range ws {
		raw, _ := json.Marshal(kv[i])
		three.rows = append(three.rows, row{w: w, easykv: kv[i], easykvRaw: raw, etcd: &etcd[i], easykvCPU: kvCPU[i], etcdCPU: etcdCPU[i]})
		five.rows = append(five.rows, row{w: w, easykv: kv[i], easykvRaw: raw, easykvCPU: kvCPU[i]})
	}
	return []block{three, five}
}

func TestRenderGolden(t *testing.T) {
	var b strings.Builder
	render(&b, goldenBlocks(), goldenMachine, time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC), 3)
	checkGolden(t, "report.golden", b.String())
}

// checkGolden compares got with testdata/name, which -update rewrites.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update to accept):\n%s", golden, got)
	}
}

func TestRatioOf(t *testing.T) {
	tests := []struct {
		a, b float64
		want string
	}{
		{531.7, 255.1, "2.08×"},
		{1.2, 1.5, "0.80×"},
		{1, 0, "—"},
		{0, 0, "—"},
	}
	for _, tt := range tests {
		if got := ratioOf(tt.a, tt.b); got != tt.want {
			t.Errorf("ratioOf(%v, %v) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}
