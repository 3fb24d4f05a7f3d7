package kvmap

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkApplyPut applies session puts of 256-byte values over a
// 100,000-key space, encoding each command into a reused buffer as the
// runtime would receive it from the log.
func BenchmarkApplyPut(b *testing.B) {
	const keySpace, clients = 100_000, 64
	keys := make([]string, keySpace)
	for i := range keys {
		keys[i] = fmt.Sprintf("user:%06d", i)
	}
	value := strings.Repeat("v", 256)
	m := New(Options{})
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		c := Command{Op: OpPut, Key: keys[i%keySpace], Value: value, ClientID: 1 + i%clients, Seq: 1 + i/clients}
		buf = c.AppendEncode(buf[:0])
		i++
		if r := m.Apply(i, buf); r.Err != nil || r.Duplicate || r.Stale {
			b.Fatalf("Apply(%d) = %+v", i, r)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkEncodeCommand(b *testing.B) {
	c := Command{Op: OpPut, Key: "user:000123", Value: strings.Repeat("v", 256), ClientID: 42, Seq: 1_000_000}
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Encode()
		}
	})
	b.Run("AppendEncode", func(b *testing.B) {
		buf := make([]byte, 0, 512)
		b.ReportAllocs()
		for b.Loop() {
			buf = c.AppendEncode(buf[:0])
		}
	})
}

// BenchmarkSnapshot100k measures what a snapshot of a warm map costs: the
// map holds 100,000 keys of 256-byte values and 64 sessions (about 27 MB
// of snapshot). Clone is what the applying goroutine would pay to hand a
// copy to a background writer; Read is what a restart would pay instead
// of replaying the log.
func BenchmarkSnapshot100k(b *testing.B) {
	const keySpace, clients = 100_000, 64
	value := strings.Repeat("v", 256)
	m := New(Options{})
	for i := uint64(0); i < 2*keySpace; i++ {
		c := Command{Op: OpPut, Key: fmt.Sprintf("user:%06d", i%keySpace), Value: value, ClientID: 1 + i%clients, Seq: 1 + i/clients}
		if r := m.Apply(i+1, c.Encode()); r.Err != nil {
			b.Fatal(r.Err)
		}
	}
	var snap bytes.Buffer
	if err := m.WriteSnapshot(&snap); err != nil {
		b.Fatal(err)
	}
	b.Run("Clone", func(b *testing.B) {
		for b.Loop() {
			_ = m.Clone()
		}
	})
	b.Run("Write", func(b *testing.B) {
		b.SetBytes(int64(snap.Len()))
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := m.WriteSnapshot(&buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Read", func(b *testing.B) {
		b.SetBytes(int64(snap.Len()))
		for b.Loop() {
			if _, err := ReadSnapshot(bytes.NewReader(snap.Bytes()), Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
