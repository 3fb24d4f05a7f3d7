package raftnode

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/stagetrace"
	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/segmentlog"
)

// memTransport delivers messages straight into the receiving node's queue,
// as a lossless local network would: the runtime without sockets.
type memTransport struct {
	nodes map[string]*Node // by id; filled before any node runs
}

var _ Transport = (*memTransport)(nil)

func (t *memTransport) Send(to string, m *pb.RaftKvMessage) bool {
	t.nodes[to].StepPeer(m)
	return true
}

// benchRuntime is three Nodes on real segment logs in b.TempDir().
type benchRuntime struct {
	nodes  map[string]*Node // by id
	leader *Node            // the elected leader
}

// kvCaller is how a benchmark client reaches the leader.
type kvCaller func(ctx context.Context, req *pb.KvRequest) (*pb.KvResponse, error)

// startBenchRuntime runs three nodes over the given transports (nil: a
// shared memTransport), calls serve (when not nil) and waits for a leader.
// members maps each id to its address (nil: addresses are the ids, which
// is all a memTransport needs); the nodes hand them to their transports.
func startBenchRuntime(b *testing.B, members map[string]string, transports func(id string) Transport, serve func(rt *benchRuntime)) *benchRuntime {
	b.Helper()
	ids := []string{"n1", "n2", "n3"}
	if members == nil {
		members = map[string]string{}
		for _, id := range ids {
			members[id] = id
		}
	}
	mem := &memTransport{nodes: map[string]*Node{}}
	rt := &benchRuntime{nodes: map[string]*Node{}}
	for i, id := range ids {
		dir := b.TempDir()
		store, err := segmentlog.OpenHardState(dir)
		if err != nil {
			b.Fatal(err)
		}
		wal, err := segmentlog.Open(dir+"/wal", segmentlog.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { wal.Close() })
		var tr Transport = mem
		if transports != nil {
			tr = transports(id)
		}
		n, err := NewNode(NodeConfig{
			ID: id, Members: members, Heartbeat: 20 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond,
			HardState: store, Log: wal, Transport: tr, Seed: uint64(i + 1),
			Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			b.Fatal(err)
		}
		mem.nodes[id] = n
		rt.nodes[id] = n
	}
	if serve != nil {
		serve(rt)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, n := range rt.nodes {
		wg.Go(func() { n.Run(ctx) })
	}
	b.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	testkit.PollEvery(b, time.Millisecond, 10*time.Second, "a leader with a commit", func() (bool, string) {
		for _, n := range rt.nodes {
			if n.Status().GetRole() == pb.Role_ROLE_LEADER && n.Status().GetCommitIndex() > 0 {
				rt.leader = n
			}
		}
		return rt.leader != nil, "no leader elected"
	})
	return rt
}

// runClients makes b.N requests from clients concurrent callers, each with
// its own session, fails on any error, and reports latency percentiles.
func runClients(b *testing.B, clients int, call kvCaller, op pb.KvRequest_OpType) {
	b.Helper()
	value := string(make([]byte, 256))
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	lats := make([][]time.Duration, clients)
	cpu := cpuTime(b)
	b.ResetTimer()
	for c := range clients {
		wg.Go(func() {
			var seq uint64
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				seq++
				req := &pb.KvRequest{OpType: op, Key: fmt.Sprintf("%08d", i%100000), ClientId: uint64(c + 1), Sequence: seq}
				if op == pb.KvRequest_PUT {
					req.Value = value
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				start := time.Now()
				resp, err := call(ctx, req)
				lats[c] = append(lats[c], time.Since(start))
				cancel()
				if err == nil && !resp.GetSuccess() && resp.GetCode() != pb.ErrorCode_NOT_FOUND {
					err = fmt.Errorf("%s: %s", resp.GetCode(), resp.GetMessage())
				}
				if err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	// CPU time (user and system, every goroutine of the process: nodes
	// and clients) is steadier than wall time on a shared machine.
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
	all := slices.Concat(lats...)
	slices.Sort(all)
	for _, q := range []struct {
		name     string
		perMille int
	}{{"p50-ms", 500}, {"p99-ms", 990}, {"max-ms", 1000}} {
		b.ReportMetric(float64(all[min(len(all)-1, len(all)*q.perMille/1000)])/float64(time.Millisecond), q.name)
	}
}

// cpuTime is the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNodePut: puts of 256-byte values through the runtime of a
// three-node cluster on real segment logs, with the nodes joined by an
// in-memory transport and clients calling the leader's KV directly.
func BenchmarkNodePut(b *testing.B) {
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			rt := startBenchRuntime(b, nil, nil, nil)
			call := func(ctx context.Context, req *pb.KvRequest) (*pb.KvResponse, error) {
				return rt.leader.KV(ctx, req), nil
			}
			b.ReportAllocs()
			runClients(b, clients, call, pb.KvRequest_PUT)
		})
	}
}

// startTCP serves every node of rt on a loopback listener with netlink's
// server and peer links, as easykv-node does, and returns the leader's
// address.
func startTCP(b *testing.B) (*benchRuntime, string) {
	b.Helper()
	ids := []string{"n1", "n2", "n3"}
	lns := map[string]net.Listener{}
	addrs := map[string]string{}
	members := map[string]bool{}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		lns[id], addrs[id], members[id] = ln, ln.Addr().String(), true
	}
	rt := startBenchRuntime(b, addrs, func(id string) Transport {
		peers := netlink.NewPeers(netlink.PeersConfig{Identity: netlink.Identity{Cluster: "bench", NodeID: id}, Addrs: addrs})
		b.Cleanup(peers.Close)
		return peers
	}, func(rt *benchRuntime) {
		for _, id := range ids {
			srv := netlink.NewServer(netlink.ServerConfig{Identity: netlink.Identity{Cluster: "bench", NodeID: id}}, rt.nodes[id])
			go srv.Serve(lns[id])
			b.Cleanup(func() { srv.Close() })
		}
	})
	return rt, addrs[rt.leader.cfg.ID]
}

// tcpCaller dials one netlink.Client per client to addr and returns a
// caller that borrows a free one for each request.
func tcpCaller(b *testing.B, addr string, clients int) kvCaller {
	conns := make(chan *netlink.Client, clients)
	for range clients {
		c, err := netlink.Dial(context.Background(), addr, netlink.Identity{Cluster: "bench", NodeID: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		conns <- c
	}
	return func(ctx context.Context, req *pb.KvRequest) (*pb.KvResponse, error) {
		c := <-conns
		defer func() { conns <- c }()
		return c.KV(ctx, req)
	}
}

// BenchmarkNodeTCP: like BenchmarkNodePut and BenchmarkNodeGet, but over
// loopback TCP end to end: clients through netlink.Client, peers through
// netlink.Peers and the server, one connection per client.
func BenchmarkNodeTCP(b *testing.B) {
	for _, op := range []pb.KvRequest_OpType{pb.KvRequest_PUT, pb.KvRequest_GET} {
		for _, clients := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/clients=%d", op, clients), func(b *testing.B) {
				_, addr := startTCP(b)
				call := tcpCaller(b, addr, clients)
				b.ReportAllocs()
				runClients(b, clients, call, op)
			})
		}
	}
}

// BenchmarkPutStages follows every put of BenchmarkNodeTCP's put runs
// through its stages with stagetrace and reports the median time of each
// stage (metric "<stage>-µs"); -v prints the table. Tracing costs a
// little time per stage, so the total runs slower than BenchmarkNodeTCP.
func BenchmarkPutStages(b *testing.B) {
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			rt, addr := startTCP(b)
			call := tcpCaller(b, addr, clients)
			trace := stagetrace.Start()
			defer trace.Stop()
			runClients(b, clients, call, pb.KvRequest_PUT)
			trace.Stop()
			puts := trace.Follow(rt.leader.cfg.ID)
			if len(puts) == 0 {
				b.Fatal("no put was traced through every stage")
			}
			medians := stageMedians(puts)
			for i, part := range stagetrace.Parts {
				b.ReportMetric(float64(medians[i])/float64(time.Microsecond), strings.ReplaceAll(part.Name, " ", "-")+"-µs")
			}
			if b.N == 1 {
				return // the run that sizes the benchmark: no table
			}
			var table strings.Builder
			fmt.Fprintf(&table, "%d puts traced, %d clients; median per stage:\n", len(puts), clients)
			for i, part := range stagetrace.Parts {
				fmt.Fprintf(&table, "  %-32s %8.1f µs\n", part.Name, float64(medians[i])/float64(time.Microsecond))
			}
			b.Log(table.String())
		})
	}
}

// stageMedians is the median duration of each of stagetrace.Parts over puts.
func stageMedians(puts []stagetrace.Put) []time.Duration {
	per := make([][]time.Duration, len(stagetrace.Parts))
	for _, p := range puts {
		for i, d := range p.Durations() {
			per[i] = append(per[i], d)
		}
	}
	medians := make([]time.Duration, len(per))
	for i, ds := range per {
		slices.Sort(ds)
		medians[i] = ds[len(ds)/2]
	}
	return medians
}
