package segmentlog

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The two benchmarks below write 256-byte entries to the same disk in the
// same run; ns/op is per entry in both, so they compare directly.
const benchEntrySize = 256

// BenchmarkAppendSyncBatch appends batches of entries and syncs once per
// batch, as the Raft runtime does with group commit. The sync goes through
// msync of the written range, as the log does, or through fdatasync of the
// whole file, to compare the two.
func BenchmarkAppendSyncBatch(b *testing.B) {
	for _, method := range []string{"msync", "fdatasync"} {
		for _, batch := range []int{1, 16, 128} {
			b.Run(fmt.Sprintf("sync=%s/batch=%d", method, batch), func(b *testing.B) {
				benchAppendSync(b, method, batch)
			})
		}
	}
}

func benchAppendSync(b *testing.B, method string, batch int) {
	l := openLog(b, b.TempDir(), 0)
	defer mustClose(b, l)
	if method == "fdatasync" {
		// The log syncs only its active segment, under its lock.
		l.msync = func([]byte, int) error { return unix.Fdatasync(int(l.active().f.Fd())) }
	}
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

// BenchmarkOpen opens a log of 1,000,000 entries of 256 bytes, about 300 MB
// in five 64 MiB segments: Open reads and checks every record to rebuild
// the offset table, which is most of what a restarting node waits for
// before its log is usable. The log is built once, outside the timing.
func BenchmarkOpen(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	l := openLog(b, dir, 0)
	data := payload(1, benchEntrySize)
	es := make([]Entry, 1000)
	for next := uint64(1); next <= n; {
		for k := range es {
			es[k] = Entry{Term: 1, Index: next, Data: data}
			next++
		}
		mustAppend(b, l, es...)
		if err := l.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	mustClose(b, l)
	for _, cache := range []string{"warm", "cold"} {
		b.Run("entries=1M/cache="+cache, func(b *testing.B) {
			b.SetBytes(n * paddedSize(benchEntrySize))
			var cpu time.Duration
			for b.Loop() {
				if cache == "cold" {
					b.StopTimer()
					evictSegments(b, dir)
					b.StartTimer()
				}
				start := cpuTime(b)
				l := openLog(b, dir, 0)
				cpu += cpuTime(b) - start
				if l.LastIndex() != n {
					b.Fatalf("LastIndex %d, want %d", l.LastIndex(), n)
				}
				mustClose(b, l)
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "open-cpu-ms/op")
		})
	}
}

// evictSegments drops dir's segment files from the page cache, as after a
// reboot: Open then reads them from the disk.
func evictSegments(b *testing.B, dir string) {
	for _, path := range segmentFiles(b, dir) {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		err = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the CPU time the process has used, user and system: on a
// shared machine it varies less than the time on the clock.
func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEntriesBatch reads 1 MiB batches of 256-byte entries, as a
// node replaying its log or sending it to a follower far behind does; the
// figure is per entry.
func BenchmarkEntriesBatch(b *testing.B) {
	const n = 100_000
	l := openLog(b, b.TempDir(), 0)
	defer mustClose(b, l)
	es := make([]Entry, n)
	for i := range es {
		es[i] = entryOf(uint64(i+1), benchEntrySize)
	}
	mustAppend(b, l, es...)
	b.SetBytes(benchEntrySize)
	b.ReportAllocs()
	b.ResetTimer()
	next := uint64(1)
	for done := 0; done < b.N; {
		got, err := l.Entries(next, n+1, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		done += len(got)
		if next += uint64(len(got)); next > n {
			next = 1
		}
	}
}

// BenchmarkRecord encodes and decodes one record of a 256-byte payload,
// the work the log does per entry besides copying it into the mapping.
func BenchmarkRecord(b *testing.B) {
	e := Entry{Term: 3, Index: 12345, Type: 0, Data: make([]byte, 256)}
	buf := make([]byte, paddedSize(len(e.Data)))
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		for b.Loop() {
			putRecord(buf, e, 1)
		}
	})
	putRecord(buf, e, 1)
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeRecord(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
