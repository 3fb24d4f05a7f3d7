package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink"
)

// lastLine is the last line of out, which must end with a newline.
func lastLine(t *testing.T, out string) string {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("output %q does not end with a newline", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	return lines[len(lines)-1]
}

// benchJSON decodes the last line of bench -o json output.
func benchJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(lastLine(t, out)), &m); err != nil {
		t.Fatalf("last line of bench -o json is not a JSON object: %v\n%s", err, out)
	}
	want := []string{"avg_ms", "clients", "errors", "op", "ops_per_sec", "p50_ms", "p999_ms", "p99_ms", "total"}
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
		t.Errorf("keys = %q, want %q", got, want)
	}
	return m
}

func TestBenchPut(t *testing.T) {
	cfg := writeCluster(t)
	args := []string{"--cluster", cfg, "bench", "put", "--clients", "4", "--total", "103", "--value-size", "16", "--key-space", "50", "-o", "json"}
	net := &fakeNet{}
	got := runCtl(t, net, args...)
	if got.code != exitOK || got.stderr != "" {
		t.Fatalf("exit %d, stderr %q", got.code, got.stderr)
	}
	if strings.Count(got.stdout, "\n") != 1 {
		t.Errorf("stdout = %q, want the JSON line alone", got.stdout)
	}
	m := benchJSON(t, got.stdout)
	if m["op"] != "put" || m["clients"] != 4.0 || m["total"] != 103.0 || m["errors"] != 0.0 {
		t.Errorf("result = %v, want put, 4 clients, 103 ops, no errors", m)
	}
	if v, _ := m["ops_per_sec"].(float64); v <= 0 {
		t.Errorf("ops_per_sec = %v, want > 0", m["ops_per_sec"])
	}
	for _, k := range []string{"avg_ms", "p50_ms", "p99_ms", "p999_ms"} {
		if _, ok := m[k].(float64); !ok {
			t.Errorf("%s = %v, want a number", k, m[k])
		}
	}

	// Four sessions, each with --timeout as its per-call deadline.
	if len(net.kvCfgs) != 4 {
		t.Errorf("opened %d cluster clients, want 4", len(net.kvCfgs))
	}
	for _, c := range net.kvCfgs {
		if c.Timeout != 3*time.Second || c.ClientID != 0 || len(c.Nodes) != 3 {
			t.Errorf("cluster client config %+v: want --timeout per call, a random session, every node", c)
		}
	}
	if len(net.kvOps) != 103 {
		t.Fatalf("ran %d operations, want 103", len(net.kvOps))
	}
	for _, op := range net.kvOps {
		f := strings.Split(op, " ")
		if len(f) != 3 || f[0] != "put" {
			t.Fatalf("operation %q, want put KEY VALUE", op)
		}
		if n, err := strconv.Atoi(f[1]); len(f[1]) != 8 || err != nil || n < 0 || n >= 50 {
			t.Errorf("key %q: want 8 digits below 50", f[1])
		}
		if len(f[2]) != 16 || strings.Trim(f[2], printable) != "" {
			t.Errorf("value %q: want 16 printable characters", f[2])
		}
	}

	// The same flags give the same operations (in another interleaving).
	again := &fakeNet{}
	if got := runCtl(t, again, args...); got.code != exitOK {
		t.Fatalf("second run: exit %d", got.code)
	}
	if !slices.Equal(slices.Sorted(slices.Values(net.kvOps)), slices.Sorted(slices.Values(again.kvOps))) {
		t.Errorf("two runs with the same flags ran different operations")
	}
}

func TestBenchGetTable(t *testing.T) {
	cfg := writeCluster(t)
	net := &fakeNet{data: map[string]string{"00000001": "x"}}
	got := runCtl(t, net, "--cluster", cfg, "bench", "get", "--stale", "--clients", "2", "--total", "10", "--key-space", "3")
	if got.code != exitOK || got.stderr != "" {
		t.Fatalf("exit %d, stderr %q", got.code, got.stderr)
	}
	lines := strings.Split(got.stdout, "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[1], "| OP  | CLIENTS | TOTAL | ERRORS | OPS/S") ||
		!strings.HasPrefix(lines[3], "| get | 2       | 10    | 0      | ") {
		t.Errorf("table:\n%s", got.stdout)
	}
	for _, op := range net.kvOps {
		if !strings.HasPrefix(op, "get 0000000") || !strings.HasSuffix(op, " stale") {
			t.Errorf("operation %q, want a stale get of one of 3 keys", op)
		}
	}
}

func TestBenchFailures(t *testing.T) {
	cfg := writeCluster(t)
	noLeader := fmt.Errorf("%w: context deadline exceeded", netlink.ErrNoLeader)
	tests := []struct {
		name       string
		fail       func(op int) error
		wantCode   int
		wantErrors float64 // in the JSON; -1 when no result is printed
		wantStderr string  // part of stderr; "" means nothing
	}{
		{"some fail", func(op int) error {
			if op%4 == 0 {
				return noLeader
			}
			return nil
		}, exitOK, 5, ""},
		{"all fail", func(int) error { return noLeader }, exitUnreachable, 20, "bench put: all 20 operations failed: no leader reachable"},
		{"rejected", func(int) error { return fmt.Errorf("%w by n1: UNAUTHENTICATED", netlink.ErrRejected) }, exitFailed, -1, "bench put: request rejected by n1: UNAUTHENTICATED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := &fakeNet{kvFail: tt.fail}
			got := runCtl(t, net, "--cluster", cfg, "bench", "put", "--clients", "2", "--total", "20", "-o", "json")
			if got.code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", got.code, tt.wantCode, got.stderr)
			}
			if tt.wantErrors < 0 {
				if got.stdout != "" {
					t.Errorf("stdout = %q, want nothing", got.stdout)
				}
			} else if m := benchJSON(t, got.stdout); m["errors"] != tt.wantErrors || m["total"] != 20.0 {
				t.Errorf("result = %v, want %v errors in 20", m, tt.wantErrors)
			}
			if tt.wantStderr == "" && got.stderr != "" || !strings.Contains(got.stderr, tt.wantStderr) || strings.Count(got.stderr, "\n") > 1 {
				t.Errorf("stderr = %q, want %q", got.stderr, tt.wantStderr)
			}
		})
	}
}

// TestBenchInterrupted runs bench under a cancelled context, as after ^C:
// it reports what it finished and fails.
func TestBenchInterrupted(t *testing.T) {
	cfg := writeCluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	got := runCtlCtx(t, ctx, &fakeNet{}, "--cluster", cfg, "bench", "get", "--total", "50", "-o", "json")
	if got.code != exitFailed || !strings.Contains(got.stderr, "bench get interrupted after 0 operations") {
		t.Errorf("exit %d, stderr %q; want 1 and the interruption", got.code, got.stderr)
	}
	if m := benchJSON(t, got.stdout); m["total"] != 0.0 {
		t.Errorf("result = %v, want 0 operations", m)
	}
}

func TestBenchHelp(t *testing.T) {
	got := runCtl(t, &fakeNet{}, "bench", "-h")
	for _, want := range []string{"-clients", "-total", "-value-size", "-key-space", "-key-size", "-conns", "-stale"} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("bench -h lacks %q:\n%s", want, got.stdout)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	var thousand []time.Duration
	for i := 1; i <= 1000; i++ {
		thousand = append(thousand, ms(float64(i)))
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(thousand), func(i, j int) { thousand[i], thousand[j] = thousand[j], thousand[i] })
	tests := []struct {
		name                string
		lat                 []time.Duration
		avg, p50, p99, p999 float64 // ms
	}{
		{"1..1000 ms", thousand, 500.5, 500, 990, 999},
		{"one", []time.Duration{ms(2.5)}, 2.5, 2.5, 2.5, 2.5},
		{"four", []time.Duration{ms(4), ms(1), ms(3), ms(2)}, 2.5, 2, 4, 4},
		{"rounded to the microsecond", []time.Duration{1234567, 1234567}, 1.235, 1.235, 1.235, 1.235},
		{"none", nil, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := summarize("get", 1, slices.Clone(tt.lat), 0, time.Second)
			got := [4]float64{s.AvgMs, s.P50Ms, s.P99Ms, s.P999Ms}
			if want := [4]float64{tt.avg, tt.p50, tt.p99, tt.p999}; got != want {
				t.Errorf("avg/p50/p99/p99.9 = %v, want %v", got, want)
			}
			if s.Total != len(tt.lat) || s.OpsPerSec != float64(len(tt.lat)) {
				t.Errorf("total %d, ops/s %v; want %d in one second", s.Total, s.OpsPerSec, len(tt.lat))
			}
		})
	}
}

func TestWriteBenchTable(t *testing.T) {
	s := benchStats{Op: "put", Clients: 16, Total: 10000, Errors: 3, OpsPerSec: 12345.67, AvgMs: 1.2, P50Ms: 0.987, P99Ms: 4.5, P999Ms: 12.345}
	want := `+-----+---------+-------+--------+---------+--------+--------+--------+----------+
| OP  | CLIENTS | TOTAL | ERRORS | OPS/S   | AVG MS | P50 MS | P99 MS | P99.9 MS |
+-----+---------+-------+--------+---------+--------+--------+--------+----------+
| put | 16      | 10000 | 3      | 12345.7 | 1.200  | 0.987  | 4.500  | 12.345   |
+-----+---------+-------+--------+---------+--------+--------+--------+----------+
`
	var buf bytes.Buffer
	if err := writeBench(&buf, "table", s); err != nil {
		t.Fatal(err)
	}
	if buf.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := writeBench(&buf, "json", s); err != nil {
		t.Fatal(err)
	}
	wantJSON := `{"op":"put","clients":16,"total":10000,"errors":3,"ops_per_sec":12345.67,"avg_ms":1.2,"p50_ms":0.987,"p99_ms":4.5,"p999_ms":12.345}` + "\n"
	if buf.String() != wantJSON {
		t.Errorf("json = %q, want %q", buf.String(), wantJSON)
	}
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		done, total int64
		want        string
	}{
		{0, 30, "\r[..............................]   0% 0/30 ops  0 ops/s\x1b[K"},
		{15, 30, "\r[###############...............]  50% 15/30 ops  15 ops/s\x1b[K"},
		{30, 30, "\r[##############################] 100% 30/30 ops  30 ops/s\x1b[K"},
		{31, 30, "\r[##############################] 100% 30/30 ops  30 ops/s\x1b[K"},
	}
	for _, tt := range tests {
		if got := progressLine(tt.done, tt.total, time.Second); got != tt.want {
			t.Errorf("progressLine(%d, %d) = %q, want %q", tt.done, tt.total, got, tt.want)
		}
	}
}

// TestProgressOnTerminal checks that the bar goes to stderr only, and is
// erased at the end.
func TestProgressOnTerminal(t *testing.T) {
	var stderr bytes.Buffer
	a := &app{stderr: &stderr, progress: true}
	var done atomic.Int64
	stop := a.startProgress(10, &done)
	done.Store(10)
	stop()
	if !strings.HasSuffix(stderr.String(), "\r\x1b[K") {
		t.Errorf("stderr = %q, want the bar erased at the end", stderr.String())
	}
	stderr.Reset()
	(&app{stderr: &stderr}).startProgress(10, &done)()
	if stderr.Len() != 0 {
		t.Errorf("stderr = %q without a terminal, want nothing", stderr.String())
	}
	if isTerminal(&stderr) {
		t.Errorf("a buffer is not a terminal")
	}
}
