package kvmap

import (
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
