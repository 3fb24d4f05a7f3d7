package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

const (
	// clusterName is the name in the generated cluster.yaml.
	clusterName = "bench"
	// startTimeout bounds starting a cluster until it has a leader.
	startTimeout = 20 * time.Second
	// stopTimeout is how long a node has to exit after SIGTERM.
	stopTimeout = 5 * time.Second
	// statusTimeout bounds one status call to one node.
	statusTimeout = 500 * time.Millisecond
	// pollInterval is how often cluster health is polled.
	pollInterval = 20 * time.Millisecond
	// watchInterval is the STATUS event interval of the failover watches;
	// role changes arrive as events at once, these only back them up.
	watchInterval = 20 * time.Millisecond
)

// result is one workload's figures on one system, in easykv-ctl bench's
// JSON shape.
type result struct {
	Op        string  `json:"op"`          // "put" or "get"
	Clients   int     `json:"clients"`     // concurrent clients
	Total     int     `json:"total"`       // operations done, failed ones included
	Errors    int     `json:"errors"`      // operations that failed
	OpsPerSec float64 `json:"ops_per_sec"` // successful operations per second
	AvgMs     float64 `json:"avg_ms"`      // mean latency
	P50Ms     float64 `json:"p50_ms"`      // median latency
	P99Ms     float64 `json:"p99_ms"`      // 99th percentile latency
	P999Ms    float64 `json:"p999_ms"`     // 99.9th percentile; 0 when etcd's tool omits it (under 1,000 samples)
	// loadgenCPU is the CPU the load generator that produced it used
	// (rusage), not part of its JSON.
	loadgenCPU time.Duration
}

// member is a cluster member as failover sees it.
type member struct {
	id   string // node id (easykv) or member id (etcd)
	addr string // client address
	pid  int    // its process, to SIGSTOP
}

// easykvCluster is a local easykv cluster started for the run, in a
// temporary directory of its own.
type easykvCluster struct {
	dir     string            // cluster.yaml, data and logs
	cfg     string            // cluster.yaml
	ctl     string            // the easykv-ctl binary
	nodes   []*easykvNode     // in cluster.yaml order
	clients []*netlink.Client // one per node, in the same order; for status and watches
}

// easykvNode is one easykv-node process.
type easykvNode struct {
	id     string        // node id
	addr   string        // host:port
	cmd    *exec.Cmd     // the running process
	exited chan struct{} // closed once the process has been waited for
	// lastIndex is its last log index when benchrun last stopped it.
	lastIndex int64
}

// startEasykv starts an n-node cluster from the binaries in bin, with ports
// from the OS, and returns once it has one leader every node agrees on.
func startEasykv(ctx context.Context, bin string, n int) (*easykvCluster, error) {
	return startEasykvWith(ctx, bin, n, "")
}

// startEasykvWith is startEasykv with extra lines appended to cluster.yaml
// (snapshot_entries, segment_size, ...).
func startEasykvWith(ctx context.Context, bin string, n int, extraYAML string) (c *easykvCluster, err error) {
	dir, err := os.MkdirTemp("", "easykv-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	c = &easykvCluster{dir: dir, cfg: filepath.Join(dir, "cluster.yaml"), ctl: filepath.Join(bin, "easykv-ctl")}
	defer func() {
		if err != nil {
			c.stop(false)
			err = fmt.Errorf("%w (node logs in %s)", err, dir)
		}
	}()
	ports, err := testkit.FreePorts(n)
	if err != nil {
		return c, err
	}
	var yaml strings.Builder
	fmt.Fprintf(&yaml, "name: %s\nnodes:\n", clusterName)
	for i, port := range ports {
		nd := &easykvNode{id: "n" + strconv.Itoa(i+1), addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), exited: make(chan struct{})}
		c.nodes = append(c.nodes, nd)
		fmt.Fprintf(&yaml, "  - {id: %s, addr: %s}\n", nd.id, nd.addr)
	}
	fmt.Fprintf(&yaml, "data_dir: ./data\nheartbeat: %s\nelection_timeout: %s\n", heartbeat, electionTimeout)
	yaml.WriteString(extraYAML)
	if err := os.WriteFile(c.cfg, []byte(yaml.String()), 0o644); err != nil {
		return c, fmt.Errorf("write cluster.yaml: %w", err)
	}
	for _, nd := range c.nodes {
		if err := c.startNode(filepath.Join(bin, "easykv-node"), nd); err != nil {
			return c, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for _, nd := range c.nodes {
		cl, err := dialNode(ctx, nd)
		if err != nil {
			return c, err
		}
		c.clients = append(c.clients, cl)
	}
	if _, err := c.healthyLeader(ctx); err != nil {
		return c, fmt.Errorf("cluster start: %w", err)
	}
	return c, nil
}

// startNode starts nd's process, logging to <dir>/<id>.log, in its own
// process group so that a ctrl-C at the terminal does not reach it.
func (c *easykvCluster) startNode(binary string, nd *easykvNode) error {
	log, err := os.Create(filepath.Join(c.dir, nd.id+".log"))
	if err != nil {
		return fmt.Errorf("node log: %w", err)
	}
	defer log.Close() // the child has its own copy
	nd.cmd = exec.Command(binary, "--cluster", c.cfg, "--id", nd.id)
	nd.cmd.Stdout, nd.cmd.Stderr = log, log
	nd.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := nd.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", nd.id, err)
	}
	go func() {
		nd.cmd.Wait()
		close(nd.exited)
	}()
	return nil
}

// dialNode connects to nd, retrying until it listens; a node that exits
// meanwhile is an error at once.
func dialNode(ctx context.Context, nd *easykvNode) (*netlink.Client, error) {
	id := netlink.Identity{Cluster: clusterName, NodeID: "easykv-benchrun"}
	for {
		cl, err := netlink.Dial(ctx, nd.addr, id)
		if err == nil {
			return cl, nil
		}
		select {
		case <-nd.exited:
			return nil, fmt.Errorf("node %s exited: %s", nd.id, nd.cmd.ProcessState)
		case <-ctx.Done():
			return nil, fmt.Errorf("dial %s: %w", nd.id, err)
		case <-time.After(pollInterval):
		}
	}
}

// stop stops every node: SIGCONT first, so that none stays stopped, then
// SIGTERM, and SIGKILL after stopTimeout. It removes the directory when
// removeDir is set, and otherwise returns it so its logs can be read.
func (c *easykvCluster) stop(removeDir bool) (kept string) {
	for _, cl := range c.clients {
		cl.Close()
	}
	c.clients = nil
	var wg sync.WaitGroup
	for _, nd := range c.nodes {
		if nd.cmd == nil || nd.cmd.Process == nil {
			continue
		}
		wg.Go(func() {
			nd.cmd.Process.Signal(syscall.SIGCONT)
			nd.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-nd.exited:
			case <-time.After(stopTimeout):
				nd.cmd.Process.Kill()
				<-nd.exited
			}
		})
	}
	wg.Wait()
	if !removeDir {
		return c.dir
	}
	os.RemoveAll(c.dir)
	return ""
}

// bench runs w through easykv-ctl bench and returns its figures and its
// JSON line as printed.
func (c *easykvCluster) bench(ctx context.Context, w workload) (result, json.RawMessage, error) {
	return c.benchSpace(ctx, w, keySpace)
}

// benchSpace is bench over a key space of space keys.
func (c *easykvCluster) benchSpace(ctx context.Context, w workload, space int) (result, json.RawMessage, error) {
	cmd := command(ctx, c.ctl, "--cluster", c.cfg, "-o", "json", "bench", w.op,
		"--clients", strconv.Itoa(w.clients), "--total", strconv.Itoa(w.total),
		"--value-size", strconv.Itoa(w.valueBytes()), "--key-space", strconv.Itoa(space),
		"--key-size", strconv.Itoa(keySize), "--conns", strconv.Itoa(w.conns))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, nil, fmt.Errorf("easykv-ctl bench %s: %w: %s", w.op, err, strings.TrimSpace(stderr.String()))
	}
	r, raw, err := parseCtlJSON(out)
	r.loadgenCPU = rusageCPU(cmd.ProcessState)
	return r, raw, err
}

// parseCtlJSON reads the figures from the last line of easykv-ctl bench -o
// json's stdout.
func parseCtlJSON(stdout []byte) (result, json.RawMessage, error) {
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	last := []byte(strings.TrimSpace(lines[len(lines)-1]))
	var r result
	if err := json.Unmarshal(last, &r); err != nil {
		return result{}, nil, fmt.Errorf("easykv-ctl bench output %q: %w", last, err)
	}
	if r.Op == "" || r.Clients < 1 || r.Total < 1 {
		return result{}, nil, fmt.Errorf("easykv-ctl bench output %q: missing op, clients or total", last)
	}
	return r, json.RawMessage(last), nil
}

// healthyLeader polls until every node answers, none is paused, exactly
// one is leader and all agree on it and on the term, and returns it.
func (c *easykvCluster) healthyLeader(ctx context.Context) (member, error) {
	var last error
	for {
		sts := make([]*pb.NodeStatus, len(c.clients))
		for i, cl := range c.clients {
			sctx, cancel := context.WithTimeout(ctx, statusTimeout)
			sts[i], last = cl.Status(sctx)
			cancel()
			if last != nil {
				break
			}
		}
		if last == nil {
			if i, ok := agreedLeader(sts); ok {
				nd := c.nodes[i]
				return member{id: nd.id, addr: nd.addr, pid: nd.cmd.Process.Pid}, nil
			}
			last = errNoAgreedLeader
		}
		select {
		case <-ctx.Done():
			return member{}, fmt.Errorf("wait for a leader: %w (last: %v)", ctx.Err(), last)
		case <-time.After(pollInterval):
		}
	}
}

// errNoAgreedLeader is why a healthy-leader poll goes on.
var errNoAgreedLeader = errors.New("nodes do not agree on one leader")

// agreedLeader returns the index of the leader when every status is there,
// none is paused, exactly one says leader, and all name it in its term.
func agreedLeader(sts []*pb.NodeStatus) (int, bool) {
	leader := -1
	for i, st := range sts {
		if st == nil || st.GetPaused() {
			return 0, false
		}
		if st.GetRole() == pb.Role_ROLE_LEADER {
			if leader >= 0 {
				return 0, false
			}
			leader = i
		}
	}
	if leader < 0 {
		return 0, false
	}
	for _, st := range sts {
		if st.GetTerm() != sts[leader].GetTerm() || st.GetLeaderId() != sts[leader].GetId() {
			return 0, false
		}
	}
	return leader, true
}

// easykvElections sees elections on an easykv cluster through a watch on
// every node: a node's ROLE_CHANGED event arrives as it becomes leader.
type easykvElections struct {
	c       *easykvCluster     // the cluster watched
	elected chan election      // a node became leader
	cancel  context.CancelFunc // ends the watches
	wg      sync.WaitGroup     // the watch goroutines
}

// election is one node seen becoming leader.
type election struct {
	id string    // the node
	at time.Time // when its event arrived here
}

var _ electionWatcher = (*easykvElections)(nil)

// watchElections starts a watch on every node; close ends them.
func (c *easykvCluster) watchElections(ctx context.Context) (*easykvElections, error) {
	ctx, cancel := context.WithCancel(ctx)
	e := &easykvElections{c: c, elected: make(chan election, 64), cancel: cancel}
	for i, cl := range c.clients {
		ch, err := cl.Watch(ctx, watchInterval)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("watch %s: %w", c.nodes[i].id, err)
		}
		id := c.nodes[i].id
		e.wg.Go(func() { e.follow(ctx, id, ch) })
	}
	return e, nil
}

// follow reports each time node id turns leader, stamped on arrival.
func (e *easykvElections) follow(ctx context.Context, id string, ch <-chan *pb.WatchEvent) {
	wasLeader := false
	for ev := range ch {
		role, ok := eventRole(ev)
		if !ok {
			continue
		}
		isLeader := role == pb.Role_ROLE_LEADER
		if isLeader && !wasLeader {
			select {
			case e.elected <- election{id: id, at: time.Now()}:
			case <-ctx.Done():
				return
			}
		}
		wasLeader = isLeader
	}
}

// eventRole is the role an event reports, if it reports one.
func eventRole(ev *pb.WatchEvent) (pb.Role, bool) {
	switch ev.GetKind() {
	case pb.WatchEvent_ROLE_CHANGED:
		return ev.GetRole(), true
	case pb.WatchEvent_STATUS:
		if ev.GetStatus() != nil {
			return ev.GetStatus().GetRole(), true
		}
	}
	return 0, false
}

func (e *easykvElections) healthyLeader(ctx context.Context) (member, error) {
	return e.c.healthyLeader(ctx)
}

// newLeader waits for the first node other than old seen turning leader at
// or after since.
func (e *easykvElections) newLeader(ctx context.Context, old member, since time.Time) (time.Time, error) {
	for {
		select {
		case el := <-e.elected:
			if el.id != old.id && !el.at.Before(since) {
				return el.at, nil
			}
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("wait for a leader other than %s: %w", old.id, ctx.Err())
		}
	}
}

// close ends the watches and waits for their goroutines.
func (e *easykvElections) close() {
	e.cancel()
	e.wg.Wait()
}

// servers are the nodes' processes, the leader's apart, once they agree
// on a leader.
func (c *easykvCluster) servers(ctx context.Context) (servers, error) {
	leader, err := c.healthyLeader(ctx)
	if err != nil {
		return servers{}, err
	}
	sv := servers{leader: leader.pid}
	for _, nd := range c.nodes {
		if nd.id != leader.id {
			sv.followers = append(sv.followers, nd.cmd.Process.Pid)
		}
	}
	return sv, nil
}

// benchCPU runs w on c and measures the CPU it costs.
func (c *easykvCluster) benchCPU(ctx context.Context, w workload) (result, json.RawMessage, cpuUse, error) {
	sv, err := c.servers(ctx)
	if err != nil {
		return result{}, nil, cpuUse{}, err
	}
	var raw json.RawMessage
	res, cpu, err := measureCPU(sv, func() (r result, err error) {
		r, raw, err = c.bench(ctx, w)
		return r, err
	})
	return res, raw, cpu, err
}

// nodeAddrs are the nodes as a ClusterClient is configured with them.
func (c *easykvCluster) nodeAddrs() []netlink.NodeAddr {
	nodes := make([]netlink.NodeAddr, len(c.nodes))
	for i, nd := range c.nodes {
		nodes[i] = netlink.NodeAddr{ID: nd.id, Addr: nd.addr}
	}
	return nodes
}
