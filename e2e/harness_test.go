package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/tlsconf"
)

// Timing of the clusters under test and of the harness's patience.
const (
	heartbeat       = 50 * time.Millisecond
	electionTimeout = 500 * time.Millisecond

	waitTimeout   = 10 * time.Second         // longest wait for any condition
	pollInterval  = 50 * time.Millisecond    // how often conditions are re-checked
	stopGrace     = 5 * time.Second          // how long a signalled node may take to exit
	statusTimeout = 1 * time.Second          // one status request, dial included
	startAttempts = 3                        // fresh ports tried when a port was taken
	logTailLines  = 40                       // lines of each node's log shown on failure
	clusterName   = "e2e"                    // name: in cluster.yaml
	clientID      = "e2e"                    // how the harness introduces itself to nodes
	bindRaceText  = "address already in use" // a node lost its port to someone else
	raceText      = "WARNING: DATA RACE"     // a -race node found a data race
)

// Harness runs one test's cluster of easykv-node processes on loopback.
// Its methods must be called from the test's goroutine.
type Harness struct {
	t       *testing.T        // the test that owns the cluster
	dir     string            // the test's temp dir: cluster.yaml, data/, node logs
	cfgPath string            // path of cluster.yaml
	ids     []string          // node ids in cluster.yaml order
	addrs   map[string]string // listen address by node id
	procs   map[string]*proc  // the node's current process by id; nil once stopped

	heartbeat, electionTimeout time.Duration        // cluster.yaml's timing
	token                      string               // cluster.yaml's auth_token, presented by Status; "" for none
	extra                      string               // more cluster.yaml lines (withConfig)
	flags                      map[string][]string  // more easykv-node flags by node id (startJoining)
	metrics                    bool                 // every node gets a metrics_addr (withMetrics)
	nodeFlags                  []string             // more easykv-node flags for every node (withNodeFlags)
	tls                        *tlsconf.Source      // the harness's client certificate when the cluster uses TLS (withTLS)
	ca                         *testkit.CA          // the cluster's CA, with withTLS
	certs                      map[string][2]string // each node's certificate and key, with withTLS
	metricsAddrs               map[string]string    // metrics_addr by node id, when metrics
}

// ClusterOption changes the cluster StartCluster starts.
type ClusterOption func(*Harness)

// withTiming sets cluster.yaml's heartbeat and election timeout.
func withTiming(heartbeat, electionTimeout time.Duration) ClusterOption {
	return func(h *Harness) { h.heartbeat, h.electionTimeout = heartbeat, electionTimeout }
}

// withConfig adds lines to cluster.yaml, such as snapshot_entries.
func withConfig(lines string) ClusterOption {
	return func(h *Harness) { h.extra += lines }
}

// withAuthToken sets cluster.yaml's auth_token; the harness presents it.
func withAuthToken(token string) ClusterOption {
	return func(h *Harness) { h.token = token }
}

// withMetrics gives every node a metrics_addr on a free port.
func withMetrics() ClusterOption {
	return func(h *Harness) { h.metrics = true }
}

// withTLS makes a CA and certificates at run time and gives cluster.yaml a
// tls section: one client certificate (the harness, easykv-ctl) and one
// of its own for each node.
func withTLS() ClusterOption {
	return func(h *Harness) { h.ca = testkit.NewCA(h.t, h.dir, "ca") }
}

// tlsSection is the tls section for the harness's CA and client certificate.
func (h *Harness) tlsSection(cert, key string) string {
	return fmt.Sprintf("tls:\n  ca_file: %s\n  cert_file: %s\n  key_file: %s\n", h.ca.Path, cert, key)
}

// identity is how the harness introduces itself to the nodes, presenting token.
func (h *Harness) identity(token string) netlink.Identity {
	id := netlink.Identity{Cluster: clusterName, NodeID: clientID, AuthToken: token}
	if h.tls != nil {
		id.TLS = h.tls
	}
	return id
}

// withNodeFlags passes flags to every node.
func withNodeFlags(flags ...string) ClusterOption {
	return func(h *Harness) { h.nodeFlags = append(h.nodeFlags, flags...) }
}

// proc is one easykv-node process.
type proc struct {
	cmd  *exec.Cmd     // the running command
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // what Wait returned; read only after done is closed
}

// exited reports whether the process has ended, without blocking.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// StartCluster starts n nodes (n1..nN), with heartbeat and
// electionTimeout unless opts say otherwise, and waits until each answers
// a status request. If a node loses its port to another process between
// the harness picking it and the node binding it, the whole cluster is
// started again on fresh ports.
func StartCluster(t *testing.T, n int, opts ...ClusterOption) *Harness {
	t.Helper()
	skipIfShort(t)
	h := &Harness{t: t, dir: t.TempDir(), procs: map[string]*proc{}, heartbeat: heartbeat, electionTimeout: electionTimeout}
	for _, opt := range opts {
		opt(h)
	}
	h.cfgPath = filepath.Join(h.dir, "cluster.yaml")
	for i := 1; i <= n; i++ {
		h.ids = append(h.ids, fmt.Sprintf("n%d", i))
	}
	if h.ca != nil {
		cert, key := h.ca.Issue(t, "client")
		h.extra += h.tlsSection(cert, key)
		src, err := tlsconf.Load(tlsconf.Files{CA: h.ca.Path, Cert: cert, Key: key})
		if err != nil {
			t.Fatal(err)
		}
		h.tls = src
		h.certs = map[string][2]string{}
		for _, id := range h.ids {
			c, k := h.ca.Issue(t, id)
			h.certs[id] = [2]string{c, k}
		}
	}
	// Cleanups run last-registered first: processes stop, then logs are
	// checked for races and dumped (complete, shutdown included), then the
	// temp dir goes.
	t.Cleanup(h.dumpLogsOnFailure)
	t.Cleanup(h.checkRaces)
	t.Cleanup(h.stopAll)

	for attempt := 1; ; attempt++ {
		nports := n
		if h.metrics {
			nports = 2 * n
		}
		ports, err := testkit.FreePorts(nports)
		if err != nil {
			t.Fatal(err)
		}
		h.addrs, h.metricsAddrs = map[string]string{}, map[string]string{}
		for i, id := range h.ids {
			h.addrs[id] = fmt.Sprintf("127.0.0.1:%d", ports[i])
			if h.metrics {
				h.metricsAddrs[id] = fmt.Sprintf("127.0.0.1:%d", ports[n+i])
			}
		}
		h.writeConfig()
		for _, id := range h.ids {
			h.startNode(id, fmt.Sprintf("attempt %d", attempt))
		}
		err = h.waitReachable(h.ids...)
		if err == nil {
			t.Logf("cluster up: %v", h.addrs)
			return h
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			t.Fatalf("start cluster: %v", err)
		}
		t.Logf("start cluster (attempt %d): %v; retrying on new ports", attempt, err)
		h.killAll()
		if err := os.RemoveAll(filepath.Join(h.dir, "data")); err != nil {
			t.Fatal(err)
		}
	}
}

// writeConfig writes cluster.yaml for the current addresses.
func (h *Harness) writeConfig() {
	h.t.Helper()
	extra := h.extra
	if h.token != "" {
		extra += "auth_token: " + h.token + "\n"
	}
	h.writeConfigAs(h.cfgPath, extra)
}

// writeConfigAs writes the cluster's cluster.yaml, without auth_token, to
// path with extra lines at the end, and returns path.
func (h *Harness) writeConfigAs(path, extra string) string {
	h.t.Helper()
	c := testkit.Cluster{Name: clusterName, Heartbeat: h.heartbeat, ElectionTimeout: h.electionTimeout, Extra: extra}
	for _, id := range h.ids {
		c.Nodes = append(c.Nodes, testkit.Node{ID: id, Addr: h.addrs[id], MetricsAddr: h.metricsAddrs[id], CertFile: h.certs[id][0], KeyFile: h.certs[id][1]})
	}
	return testkit.WriteCluster(h.t, path, c)
}

// checkRaces fails the test if a node's log reports a data race: a -race
// node that was killed cannot report one through its exit status.
func (h *Harness) checkRaces() {
	for _, id := range h.ids {
		b, err := os.ReadFile(h.logPath(id))
		if err != nil {
			continue
		}
		if i := strings.Index(string(b), raceText); i >= 0 {
			h.t.Errorf("%s's log reports a data race:\n%s", id, b[i:min(len(b), i+4000)])
		}
	}
}

// logPath is where node id's stdout and stderr go, across restarts.
func (h *Harness) logPath(id string) string {
	return filepath.Join(h.dir, id+".log")
}

// startNode starts node id's process; why is written into its log so that
// restarts are easy to find there.
func (h *Harness) startNode(id, why string) {
	h.t.Helper()
	if p := h.procs[id]; p != nil {
		h.t.Fatalf("start %s: already running", id)
	}
	logf, err := os.OpenFile(h.logPath(id), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		h.t.Fatal(err)
	}
	fmt.Fprintf(logf, "=== harness: start %s (%s) at %s\n", id, why, time.Now().Format(time.TimeOnly))
	args := append([]string{"--cluster", h.cfgPath, "--id", id}, h.flags[id]...)
	cmd := exec.Command(bins.node, append(args, h.nodeFlags...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = childEnv()
	if err := cmd.Start(); err != nil {
		logf.Close()
		h.t.Fatalf("start %s: %v", id, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	h.procs[id] = p
}

// startJoining starts node id, which cluster.yaml does not list, with
// --join --addr on a fresh port, and waits until it answers a status
// request. The node joins h.ids (so it is stopped, checked and dumped
// like the others) but not cluster.yaml. It returns the address.
func (h *Harness) startJoining(id string) string {
	h.t.Helper()
	if slices.Contains(h.ids, id) {
		h.t.Fatalf("start %s: already a node of the harness", id)
	}
	h.ids = append(h.ids, id)
	for attempt := 1; ; attempt++ {
		ports, err := testkit.FreePorts(1)
		if err != nil {
			h.t.Fatal(err)
		}
		h.addrs[id] = fmt.Sprintf("127.0.0.1:%d", ports[0])
		if h.flags == nil {
			h.flags = map[string][]string{}
		}
		h.flags[id] = []string{"--join", "--addr", h.addrs[id]}
		h.startNode(id, fmt.Sprintf("join, attempt %d", attempt))
		err = h.waitReachable(id)
		if err == nil {
			return h.addrs[id]
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			h.t.Fatalf("start %s: %v", id, err)
		}
		if p := h.procs[id]; p != nil {
			p.cmd.Process.Kill()
			<-p.done
			h.procs[id] = nil
		}
		if err := os.RemoveAll(filepath.Join(h.dir, "data", id)); err != nil {
			h.t.Fatal(err)
		}
	}
}

// errPortTaken says a node could not bind its address.
var errPortTaken = errors.New("port taken")

// waitReachable waits until every node in ids answers a status request. It
// returns an error (wrapping errPortTaken for a lost bind race) if one of
// them exits first or the wait times out.
func (h *Harness) waitReachable(ids ...string) error {
	deadline := time.Now().Add(waitTimeout)
	for {
		var waiting []string
		for _, id := range ids {
			if p := h.procs[id]; p == nil || p.exited() {
				tail := h.logTail(id, 5)
				if strings.Contains(tail, bindRaceText) {
					return fmt.Errorf("%s: %w:\n%s", id, errPortTaken, tail)
				}
				return fmt.Errorf("%s exited during start:\n%s", id, tail)
			}
			if _, err := h.Status(id); err != nil {
				waiting = append(waiting, fmt.Sprintf("%s (%v)", id, err))
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering after %s: %s", waitTimeout, strings.Join(waiting, ", "))
		}
		time.Sleep(pollInterval)
	}
}

// Status asks node id for its status over a fresh connection, presenting
// the cluster's auth token.
func (h *Harness) Status(id string) (*pb.NodeStatus, error) {
	return h.statusWith(id, h.token)
}

// statusWith asks node id for its status presenting token.
func (h *Harness) statusWith(id, token string) (*pb.NodeStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	c, err := netlink.Dial(ctx, h.addrs[id], h.identity(token))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Status(ctx)
}

// mustStatus is Status for a node that has to answer.
func (h *Harness) mustStatus(id string) *pb.NodeStatus {
	h.t.Helper()
	st, err := h.Status(id)
	if err != nil {
		h.t.Fatalf("status of %s: %v", id, err)
	}
	return st
}

// StopNode sends sig to node id and waits for it to exit; it fails the
// test if the node takes longer than stopGrace (and then kills it). It
// returns the exit status (-1 when a signal ended the process).
func (h *Harness) StopNode(id string, sig syscall.Signal) int {
	h.t.Helper()
	p := h.procs[id]
	if p == nil {
		h.t.Fatalf("stop %s: not running", id)
	}
	h.procs[id] = nil
	start := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil && !p.exited() {
		h.t.Fatalf("signal %s: %v", id, err)
	}
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		p.cmd.Process.Kill()
		<-p.done
		h.t.Fatalf("%s did not exit within %s of %v", id, stopGrace, sig)
	}
	h.t.Logf("%s exited %d after %v (%s)", id, p.cmd.ProcessState.ExitCode(), sig, time.Since(start).Round(time.Millisecond))
	return p.cmd.ProcessState.ExitCode()
}

// KillNode crashes node id with SIGKILL: no chance to flush or say goodbye.
func (h *Harness) KillNode(id string) {
	h.t.Helper()
	h.StopNode(id, syscall.SIGKILL)
}

// RestartNode starts a stopped node again with the same flags and data
// directory and returns the first status it answers, taken as early as
// polling allows.
func (h *Harness) RestartNode(id string) *pb.NodeStatus {
	h.t.Helper()
	h.startNode(id, "restart")
	var st *pb.NodeStatus
	h.waitFor(id+" to answer after its restart", func() (bool, string) {
		var err error
		if st, err = h.Status(id); err == nil {
			return true, ""
		}
		if h.procs[id].exited() {
			h.t.Fatalf("%s exited during restart:\n%s", id, h.logTail(id, 10))
		}
		return false, err.Error()
	})
	return st
}

// stopAll stops every running node with SIGTERM (SIGKILL after stopGrace)
// and reports a node that did not exit cleanly: a shutdown bug, or a data
// race found by a -race build, shows up in every test this way.
func (h *Harness) stopAll() {
	for _, id := range h.ids {
		p := h.procs[id]
		if p == nil {
			continue
		}
		h.procs[id] = nil
		if p.exited() {
			h.t.Errorf("%s had exited by itself: %v", id, p.err)
			continue
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			if p.err != nil {
				h.t.Errorf("%s: exit after SIGTERM: %v", id, p.err)
			}
		case <-time.After(stopGrace):
			p.cmd.Process.Kill()
			<-p.done
			h.t.Errorf("%s ignored SIGTERM for %s; killed", id, stopGrace)
		}
	}
}

// killAll kills every running node and reaps it, asking no questions: for
// abandoning a start that lost a port.
func (h *Harness) killAll() {
	for _, id := range h.ids {
		if p := h.procs[id]; p != nil {
			p.cmd.Process.Kill()
			<-p.done
			h.procs[id] = nil
		}
	}
}

// dumpLogsOnFailure shows the end of every node's log when the test failed.
func (h *Harness) dumpLogsOnFailure() {
	if !h.t.Failed() {
		return
	}
	for _, id := range h.ids {
		h.t.Logf("---- %s: last %d lines of %s ----\n%s", id, logTailLines, h.logPath(id), h.logTail(id, logTailLines))
	}
}

// logTail returns the last n lines of node id's log.
func (h *Harness) logTail(id string, n int) string {
	b, err := os.ReadFile(h.logPath(id))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond until it holds, failing the test after waitTimeout
// with what was awaited and cond's last explanation.
func (h *Harness) waitFor(what string, cond func() (ok bool, why string)) {
	h.t.Helper()
	testkit.PollEvery(h.t, pollInterval, waitTimeout, what, cond)
}

// resumeToFollow resumes the paused node old with easykv-ctl and waits
// until it follows leader.
func (h *Harness) resumeToFollow(old, leader string) {
	h.t.Helper()
	if res := h.Ctl("resume", old); res.code != 0 || res.stdout != "OK\n" {
		h.t.Fatalf("easykv-ctl resume %s: exit %d, stdout %q, stderr %q; want 0 and OK", old, res.code, res.stdout, res.stderr)
	}
	h.waitFor(old+" to follow "+leader, func() (bool, string) {
		st, err := h.Status(old)
		if err != nil {
			return false, err.Error()
		}
		return st.GetRole() == pb.Role_ROLE_FOLLOWER && st.GetLeaderId() == leader && !st.GetPaused(),
			describe(map[string]*pb.NodeStatus{old: st})
	})
}

// waitLeader waits until exactly one node, ignoring those in excluding,
// reports itself leader and every reachable unpaused node (again ignoring
// excluding) follows it in its term. It returns the leader and its term.
// A paused or cut-off former leader may still call itself leader of an
// older term, so tests exclude it.
func (h *Harness) waitLeader(excluding ...string) (id string, term int64) {
	h.t.Helper()
	h.waitFor("a single leader", func() (bool, string) {
		statuses := map[string]*pb.NodeStatus{}
		var leaders []string
		for _, n := range h.ids {
			if slices.Contains(excluding, n) || h.procs[n] == nil {
				continue
			}
			st, err := h.Status(n)
			if err != nil {
				continue
			}
			statuses[n] = st
			if st.GetRole() == pb.Role_ROLE_LEADER {
				leaders = append(leaders, n)
			}
		}
		if len(leaders) != 1 {
			return false, fmt.Sprintf("leaders %v among %s", leaders, describe(statuses))
		}
		id, term = leaders[0], statuses[leaders[0]].GetTerm()
		for n, st := range statuses {
			if st.GetPaused() {
				continue
			}
			if st.GetLeaderId() != id || st.GetTerm() != term {
				return false, fmt.Sprintf("%s does not follow %s in term %d yet: %s", n, id, term, describe(statuses))
			}
		}
		return true, ""
	})
	h.t.Logf("leader %s in term %d", id, term)
	return id, term
}

// Ctl runs the easykv-ctl binary against this cluster.
func (h *Harness) Ctl(args ...string) cmdResult {
	h.t.Helper()
	return runBinary(h.t, bins.ctl, append([]string{"--cluster", h.cfgPath}, args...)...)
}

// others returns the node ids not in excluding, in cluster.yaml order.
func (h *Harness) others(excluding ...string) []string {
	var ids []string
	for _, id := range h.ids {
		if !slices.Contains(excluding, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// describe summarizes statuses for failure messages.
func describe(statuses map[string]*pb.NodeStatus) string {
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(statuses)) {
		st := statuses[id]
		parts = append(parts, fmt.Sprintf("%s{%s term=%d leader=%q paused=%t}", id, st.GetRole(), st.GetTerm(), st.GetLeaderId(), st.GetPaused()))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
