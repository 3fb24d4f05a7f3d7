package netlink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink/pb"
)

// countingWriter counts the writes that reach the connection.
type countingWriter struct {
	w      io.Writer
	writes atomic.Int32
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.w.Write(p)
}

// TestClientSharesWrites: calls that wait for each other to write go out
// together, in one write to the connection, flushed by the last of them;
// none is left in the buffer, and each gets its own answer.
func TestClientSharesWrites(t *testing.T) {
	h := &fakeHandler{kv: func(ctx context.Context, req *pb.KvRequest) *pb.KvResponse {
		return &pb.KvResponse{Success: true, Value: "value of " + req.GetKey()}
	}}
	_, addr, _ := startServer(t, testServerConfig(), h)
	c := dial(t, addr)
	conn := &countingWriter{w: c.conn}
	c.wmu.Lock()
	c.bw.Reset(conn)
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		key := string(rune('a' + i))
		go func() {
			resp, err := c.KV(context.Background(), &pb.KvRequest{OpType: pb.KvRequest_GET, Key: key})
			if err == nil && resp.GetValue() != "value of "+key {
				err = fmt.Errorf("key %s answered with %q", key, resp.GetValue())
			}
			errs <- err
		}()
	}
	testkit.Poll(t, waitFor, fmt.Sprintf("%d calls waiting to write", n), func() (bool, string) {
		w := c.writers.Load()
		return w == n, fmt.Sprintf("%d waiting", w)
	})
	c.wmu.Unlock()
	for range n {
		if err := recv(t, errs, "an answer"); err != nil {
			t.Error(err)
		}
	}
	if got := conn.writes.Load(); got != 1 {
		t.Errorf("%d calls took %d writes to the connection, want 1", n, got)
	}
	// A lone call flushes its own frame.
	if _, err := c.KV(context.Background(), &pb.KvRequest{OpType: pb.KvRequest_GET, Key: "z"}); err != nil {
		t.Fatal(err)
	}
	if got := conn.writes.Load(); got != 2 {
		t.Errorf("a lone call after them: %d writes in all, want 2", got)
	}
}

// TestClientPool: a pool hands out shares of at most size connections per
// address, in turn; a share works like a Client of its own, closing one
// leaves the others working, the last share closes the connection, a share
// cannot watch, and a broken connection is replaced.
func TestClientPool(t *testing.T) {
	h := &fakeHandler{kv: func(ctx context.Context, req *pb.KvRequest) *pb.KvResponse {
		return &pb.KvResponse{Success: true, Value: "value of " + req.GetKey()}
	}}
	_, addr, _ := startServer(t, testServerConfig(), h)
	_, other, _ := startServer(t, testServerConfig(), h)
	pool := NewClientPool(2)
	id := Identity{Cluster: "demo", NodeID: "easykv-test"}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var shares []*Client
	conns := map[*connection]int{}
	for range 5 {
		c, err := pool.Dial(ctx, addr, id)
		if err != nil {
			t.Fatal(err)
		}
		shares = append(shares, c)
		conns[c.connection]++
	}
	if len(conns) != 2 {
		t.Fatalf("5 shares over %d connections, want 2", len(conns))
	}
	for _, n := range conns {
		if n < 2 {
			t.Fatalf("shares not handed out in turn: %v", conns)
		}
	}
	elsewhere, err := pool.Dial(ctx, other, id)
	if err != nil {
		t.Fatal(err)
	}
	if conns[elsewhere.connection] != 0 {
		t.Fatal("a share for another address on a connection to the first")
	}
	defer elsewhere.Close()
	kv := func(c *Client, key string) error {
		resp, err := c.KV(ctx, &pb.KvRequest{OpType: pb.KvRequest_GET, Key: key})
		if err == nil && resp.GetValue() != "value of "+key {
			err = fmt.Errorf("key %s answered with %q", key, resp.GetValue())
		}
		return err
	}
	for i, c := range shares {
		if err := kv(c, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := shares[0].Watch(ctx, 0); !errors.Is(err, ErrShared) {
		t.Fatalf("Watch on a share: %v, want ErrShared", err)
	}

	// Closing a share: it is closed, the others go on.
	first := shares[0]
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := kv(first, "x"); !errors.Is(err, ErrClosed) || !errors.Is(first.Err(), ErrClosed) {
		t.Fatalf("a closed share: KV %v, Err %v", err, first.Err())
	}
	for _, c := range shares[1:] {
		if err := kv(c, "y"); err != nil || c.Err() != nil {
			t.Fatalf("a share after another closed: %v, %v", err, c.Err())
		}
	}
	// The last share of a connection closes it.
	var last []*Client
	for _, c := range shares[1:] {
		if c.connection == first.connection {
			last = append(last, c)
		}
	}
	for _, c := range last {
		c.Close()
	}
	if first.connection.failure() == nil {
		t.Fatal("connection open after its last share closed")
	}

	for _, c := range shares {
		c.Close()
	}

	// A broken connection is replaced.
	single := NewClientPool(1)
	a, err := single.Dial(ctx, addr, id)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.conn.Close() // the connection breaks under the share
	testkit.Poll(t, waitFor, "the share to see its connection broken", func() (bool, string) {
		return a.Err() != nil, "Err is still nil"
	})
	b, err := single.Dial(ctx, addr, id)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.connection == a.connection {
		t.Fatal("a broken connection handed out again")
	}
	if err := kv(b, "z"); err != nil {
		t.Fatal(err)
	}
}
