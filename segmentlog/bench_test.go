package segmentlog

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// The two benchmarks below write 256-byte entries to the same disk in the
// same run; ns/op is per entry in both, so they compare directly.
const benchEntrySize = 256

// BenchmarkAppendSyncBatch appends batches of entries and syncs once per
// batch, as the Raft runtime does with group commit.
func BenchmarkAppendSyncBatch(b *testing.B) {
	for _, batch := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			l := openLog(b, b.TempDir(), 0)
			defer mustClose(b, l)
			data := payload(1, benchEntrySize)
			mustAppend(b, l, Entry{Term: 1, Index: 1, Data: data}) // the first segment, outside the timing
			next := uint64(2)
			es := make([]Entry, batch)
			b.SetBytes(benchEntrySize)
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(batch, b.N-done)
				for k := range es[:n] {
					es[k] = Entry{Term: 1, Index: next, Data: data}
					next++
				}
				if err := l.Append(es[:n]); err != nil {
					b.Fatal(err)
				}
				if err := l.Sync(); err != nil {
					b.Fatal(err)
				}
				done += n
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkWriteFdatasync is the baseline: a plain file, one write and one
// fdatasync per 256-byte record.
func BenchmarkWriteFdatasync(b *testing.B) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "plain"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := payload(1, benchEntrySize)
	b.SetBytes(benchEntrySize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkEntry reads the first, middle and last entry of a 100k-entry
// log: the cost must not depend on where the entry is.
func BenchmarkEntry(b *testing.B) {
	const n = 100_000
	l := openLog(b, b.TempDir(), 1<<20)
	defer mustClose(b, l)
	es := make([]Entry, n)
	for i := range es {
		es[i] = entryOf(uint64(i+1), 64)
	}
	mustAppend(b, l, es...)
	for _, i := range []uint64{1, n / 2, n} {
		b.Run(fmt.Sprintf("index=%d", i), func(b *testing.B) {
			for b.Loop() {
				if _, err := l.Entry(i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
