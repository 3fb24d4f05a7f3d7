package netlink

import (
	"io"
	"maps"
	"sync"
	"sync/atomic"
)

// PeerBytes counts the bytes of Raft traffic sent to and received from
// each peer, as the metrics report them (etcd's
// network_peer_sent_bytes_total and network_peer_received_bytes_total).
// Peers count what they write, a Server what it reads from peer
// connections; each write or read to the socket is one atomic add. The
// zero value is ready; nil counts nothing.
type PeerBytes struct {
	mu       sync.Mutex
	sent     map[string]*atomic.Uint64
	received map[string]*atomic.Uint64
}

// counter returns the counter of peer in *m, making it on first use.
func (b *PeerBytes) counter(m *map[string]*atomic.Uint64, peer string) *atomic.Uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if *m == nil {
		*m = map[string]*atomic.Uint64{}
	}
	c := (*m)[peer]
	if c == nil {
		c = new(atomic.Uint64)
		(*m)[peer] = c
	}
	return c
}

// Totals returns the bytes sent to and received from each peer so far.
func (b *PeerBytes) Totals() (sent, received map[string]uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	load := func(m map[string]*atomic.Uint64) map[string]uint64 {
		out := make(map[string]uint64, len(m))
		for peer, c := range maps.All(m) {
			out[peer] = c.Load()
		}
		return out
	}
	return load(b.sent), load(b.received)
}

// byteCountingWriter adds the bytes written through it to n.
type byteCountingWriter struct {
	w io.Writer
	n *atomic.Uint64
}

func (c byteCountingWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n.Add(uint64(k))
	return k, err
}

// byteCountingReader adds the bytes read through it to n.
type byteCountingReader struct {
	r io.Reader
	n *atomic.Uint64
}

func (c byteCountingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n.Add(uint64(k))
	return k, err
}

// sentTo wraps w to count what is written to peer; w itself when b is nil.
func (b *PeerBytes) sentTo(peer string, w io.Writer) io.Writer {
	if b == nil {
		return w
	}
	return byteCountingWriter{w: w, n: b.counter(&b.sent, peer)}
}

// receivedFrom wraps r to count what is read from peer; r itself when b is nil.
func (b *PeerBytes) receivedFrom(peer string, r io.Reader) io.Reader {
	if b == nil {
		return r
	}
	return byteCountingReader{r: r, n: b.counter(&b.received, peer)}
}
