package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// benchStats is bench's result; its JSON form (one line, the last of
// stdout with -o json) is a contract with scripts, so keys are only added.
type benchStats struct {
	Op        string  `json:"op"`          // "put" or "get"
	Clients   int     `json:"clients"`     // concurrent workers
	Total     int     `json:"total"`       // operations done, failed ones included
	Errors    int     `json:"errors"`      // operations that failed
	OpsPerSec float64 `json:"ops_per_sec"` // successful operations per second of wall time
	AvgMs     float64 `json:"avg_ms"`      // mean latency of successful operations
	P50Ms     float64 `json:"p50_ms"`      // median latency
	P99Ms     float64 `json:"p99_ms"`      // 99th percentile latency
	P999Ms    float64 `json:"p999_ms"`     // 99.9th percentile latency
}

// summarize computes the stats of a run from the latencies of its
// successful operations (sorted in place), its failure count and how long
// it took. Latency figures describe successes only: a failure's latency is
// mostly the deadline it ran into.
func summarize(op string, clients int, lat []time.Duration, failed int, elapsed time.Duration) benchStats {
	s := benchStats{Op: op, Clients: clients, Total: len(lat) + failed, Errors: failed}
	if len(lat) == 0 {
		return s
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	if elapsed > 0 {
		s.OpsPerSec = math.Round(float64(len(lat))/elapsed.Seconds()*10) / 10
	}
	s.AvgMs = millis(float64(sum) / float64(len(lat)))
	s.P50Ms = millis(float64(percentile(lat, 500)))
	s.P99Ms = millis(float64(percentile(lat, 990)))
	s.P999Ms = millis(float64(percentile(lat, 999)))
	return s
}

// percentile is the perMille/1000 quantile of sorted by the nearest-rank
// method: the smallest value that at least that fraction of all values do
// not exceed. Integer arithmetic keeps p99.9 of 1000 values at the 999th,
// where floating point would round up to the 1000th.
func percentile(sorted []time.Duration, perMille int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (perMille*len(sorted) + 999) / 1000 // ceil
	return sorted[max(rank, 1)-1]
}

// millis turns nanoseconds into milliseconds rounded to the microsecond.
func millis(ns float64) float64 {
	return math.Round(ns/1e3) / 1e3
}

// writeBench prints stats as a one-row table, or as one JSON line.
func writeBench(w io.Writer, format string, s benchStats) error {
	if format == "json" {
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	header := []string{"OP", "CLIENTS", "TOTAL", "ERRORS", "OPS/S", "AVG MS", "P50 MS", "P99 MS", "P99.9 MS"}
	row := []string{s.Op, fmt.Sprint(s.Clients), fmt.Sprint(s.Total), fmt.Sprint(s.Errors), fmt.Sprintf("%.1f", s.OpsPerSec),
		fmt.Sprintf("%.3f", s.AvgMs), fmt.Sprintf("%.3f", s.P50Ms), fmt.Sprintf("%.3f", s.P99Ms), fmt.Sprintf("%.3f", s.P999Ms)}
	return writeBoxed(w, header, [][]string{row})
}
