package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// goldenScale is a scale section with etcd beside easykv.
func goldenScale() scaleReport {
	r := scaleReport{etcdVersion: "3.7.3", keys: 1_000_000}
	ws := append(scaleClients(false), scaleValues(false)...)
	ops := []float64{1300, 14000, 15500, 12000, 2500}
	for i, w := range ws {
		kv := result{Op: "put", Clients: w.clients, Total: w.total, OpsPerSec: ops[i], P99Ms: 12.5}
		etcd := result{Op: "put", Clients: w.clients, Total: w.total, OpsPerSec: ops[i] / 2.5, P99Ms: 30}
		raw, _ := json.Marshal(kv)
		per := time.Duration(w.total) * time.Microsecond // 1 µs per op and kind
		rw := row{w: w, easykv: kv, easykvRaw: raw, etcd: &etcd,
			easykvCPU: cpuUse{leader: 40 * per, followers: 50 * per, loadgen: 20 * per},
			etcdCPU:   cpuUse{leader: 100 * per, followers: 150 * per, loadgen: 60 * per}}
		if i < 3 {
			r.clients = append(r.clients, rw)
		} else {
			r.values = append(r.values, rw)
		}
	}
	r.memory = []memoryUse{
		{system: "easykv", took: 80 * time.Second, procs: []procRSS{{leader: true, before: 20_000, after: 620_000}, {before: 18_000, after: 560_000}, {before: 18_000, after: 570_000}}},
		{system: "etcd", took: 200 * time.Second, procs: []procRSS{{leader: true, before: 40_000, after: 900_000}, {before: 38_000, after: 880_000}, {before: 39_000, after: 870_000}}},
	}
	return r
}

func TestRenderScaleGolden(t *testing.T) {
	var b strings.Builder
	renderScale(&b, goldenScale(), goldenMachine, time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC))
	checkGolden(t, "scale.golden", b.String())
}

func TestMemoryPerKey(t *testing.T) {
	m := memoryUse{procs: []procRSS{{before: 1000, after: 2000}, {before: 1000, after: 4000}}}
	// 1,000 KiB and 3,000 KiB over 1,024 keys: 1,000 and 3,000 bytes a key.
	if got := m.procs[0].perKey(1024); got != 1000 {
		t.Errorf("perKey = %v, want 1000", got)
	}
	if got := m.meanPerKey(1024); got != 2000 {
		t.Errorf("meanPerKey = %v, want 2000", got)
	}
}
