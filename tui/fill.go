package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
)

const (
	// maxFill and maxFillSize bound "fill": enough to roll log segments
	// and take snapshots on a teaching cluster, not a load generator
	// (easykv-ctl bench is one).
	maxFill, maxFillSize = 10_000, 64 << 10
	// defaultFillSize is a filled value's size without SIZE.
	defaultFillSize = 100
	// fillParallel is how many of fill's writes are in flight at once:
	// the leader batches them into few appends, so they commit in a few
	// round trips even in slow motion.
	fillParallel = 256
	// fillTimeout bounds each of fill's writes.
	fillTimeout = 30 * time.Second
)

// fillDoneMsg is the end of a fill: how many writes the leader took.
type fillDoneMsg struct {
	leader      string
	n, ok       int
	size        int
	firstFailed string
	took        time.Duration
}

// fill runs "fill N [SIZE]": N keys, fill-1 to fill-N, each of SIZE
// bytes, written to the leader all at once, so that its log grows by N
// entries quickly — to watch snapshots, compaction and InstallSnapshot.
// They are plain writes without a session: one the leader does not
// answer is reported, not retried.
func (m *Model) fill(args []string) tea.Cmd {
	if len(args) < 1 || len(args) > 2 {
		m.setError("usage: fill N [SIZE] (N keys of SIZE bytes, default %d)", defaultFillSize)
		return nil
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > maxFill {
		m.setError("fill: want a number of keys from 1 to %d, got %q", maxFill, args[0])
		return nil
	}
	size := defaultFillSize
	if len(args) == 2 {
		if size, err = strconv.Atoi(args[1]); err != nil || size < 1 || size > maxFillSize {
			m.setError("fill: want a size from 1 to %d bytes, got %q", maxFillSize, args[1])
			return nil
		}
	}
	li := m.leaderIndex()
	if li < 0 || m.nodes[li].conn == nil {
		m.setError("fill: no leader to write to")
		return nil
	}
	conn, leader := m.nodes[li].conn, m.nodes[li].node.ID
	m.setStatus("fill: writing %d keys of %d bytes via %s…", n, size, leader)
	return func() tea.Msg {
		start := time.Now()
		value := strings.Repeat("x", size)
		var mu sync.Mutex
		done := fillDoneMsg{leader: leader, n: n, size: size}
		sem := make(chan struct{}, fillParallel)
		var wg sync.WaitGroup
		for i := 1; i <= n; i++ {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				ctx, cancel := context.WithTimeout(context.Background(), fillTimeout)
				defer cancel()
				resp, err := conn.KV(ctx, &pb.KvRequest{OpType: pb.KvRequest_PUT, Key: fmt.Sprintf("fill-%d", i), Value: value})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil && done.firstFailed == "":
					done.firstFailed = err.Error()
				case err == nil && !resp.GetSuccess() && done.firstFailed == "":
					done.firstFailed = resp.GetMessage()
				case err == nil && resp.GetSuccess():
					done.ok++
				}
			}()
		}
		wg.Wait()
		done.took = time.Since(start)
		return done
	}
}

// fillDone reports a fill.
func (m *Model) fillDone(msg fillDoneMsg) {
	if msg.ok == msg.n {
		m.setStatus("fill: %d keys of %d bytes written via %s (%s)", msg.n, msg.size, msg.leader, latency(msg.took))
		m.emit(fmt.Sprintf("OK %d keys (%s, %s)", msg.n, msg.leader, latency(msg.took)))
		return
	}
	m.setError("fill: %d of %d writes via %s failed, the first: %s", msg.n-msg.ok, msg.n, msg.leader, msg.firstFailed)
}
