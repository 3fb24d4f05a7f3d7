package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

const (
	// etcdPoll is how often failover polls the members' status: each poll
	// is one HTTP round trip on loopback, well under a millisecond.
	etcdPoll = 10 * time.Millisecond
	// etcdStopTimeout bounds etcd-peer.sh stop.
	etcdStopTimeout = 30 * time.Second
)

// etcdPeer drives the etcd cluster of etcd-peer.sh. Status and the range
// key's put go through each member's JSON gateway over HTTP: the same
// Maintenance.Status RPC etcdctl endpoint status makes, without a process
// spawned per poll (about 50 ms each here), so that polling every 10 ms
// measures failover as finely as easykv's watch does.
type etcdPeer struct {
	script    string       // path to etcd-peer.sh
	members   int          // cluster size, ETCD_PEER_MEMBERS
	endpoints []string     // the members' client addresses, from etcd-peer.sh endpoints once started
	http      *http.Client // for the JSON gateway
}

var _ electionWatcher = (*etcdPeer)(nil)

func newEtcdPeer(script string, members int) *etcdPeer {
	return &etcdPeer{script: script, members: members, http: &http.Client{Timeout: statusTimeout}}
}

// run runs etcd-peer.sh with args and returns its stdout.
func (p *etcdPeer) run(ctx context.Context, args ...string) ([]byte, error) {
	out, _, err := p.runCPU(ctx, args...)
	return out, err
}

// runCPU is run that also returns the CPU the script used, the programs
// it ran included.
func (p *etcdPeer) runCPU(ctx context.Context, args ...string) ([]byte, time.Duration, error) {
	cmd := command(ctx, "bash", append([]string{p.script}, args...)...)
	// Every call names the cluster's size: the script keeps no state of it.
	cmd.Env = append(os.Environ(), "ETCD_PEER_MEMBERS="+strconv.Itoa(p.members))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, 0, fmt.Errorf("etcd-peer.sh %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, rusageCPU(cmd.ProcessState), nil
}

// start starts the members (building etcd first if it is not cached) and
// learns their client addresses.
func (p *etcdPeer) start(ctx context.Context) error {
	if _, err := p.run(ctx, "start"); err != nil {
		return err
	}
	out, err := p.run(ctx, "endpoints")
	if err != nil {
		return err
	}
	p.endpoints = strings.Split(strings.TrimSpace(string(out)), ",")
	return nil
}

// servers are the members' processes, the leader's apart.
func (p *etcdPeer) servers(ctx context.Context) (servers, error) {
	leader, err := p.healthyLeader(ctx)
	if err != nil {
		return servers{}, err
	}
	out, err := p.run(ctx, "pids")
	if err != nil {
		return servers{}, err
	}
	return splitServers(leader.pid, strings.Fields(string(out)))
}

// stop stops the members, resuming any that is stopped, and removes their
// data. It has its own deadline: it runs after ctx ended too.
func (p *etcdPeer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), etcdStopTimeout)
	defer cancel()
	_, err := p.run(ctx, "stop")
	return err
}

// version is the server version the first member reports.
func (p *etcdPeer) version(ctx context.Context) (string, error) {
	st, err := p.status(ctx, p.endpoints[0])
	return st.Version, err
}

// rangeKey is the key etcd's range benchmark reads: its tool reads one
// fixed key, so it is written first with a full-size value.
var rangeKey = fmt.Sprintf("%0*d", keySize, 0)

// prepare writes what w reads: etcd's range benchmark reads one fixed
// key. Done before the CPU of w is measured.
func (p *etcdPeer) prepare(ctx context.Context, w workload) error {
	if w.op == "put" {
		return nil
	}
	return p.put(ctx, rangeKey, strings.Repeat("v", w.valueBytes()))
}

// bench runs w through etcd's benchmark tool, with easykv-ctl bench's
// shape, over random keys of keySpace; prepare first.
func (p *etcdPeer) bench(ctx context.Context, w workload) (result, error) {
	return p.benchKeys(ctx, w, "--sequential-keys=false", "--key-space-size="+strconv.Itoa(keySpace))
}

// benchKeys is bench with keys flags of its own for puts.
func (p *etcdPeer) benchKeys(ctx context.Context, w workload, keys ...string) (result, error) {
	args := []string{"bench", "--conns=" + strconv.Itoa(w.conns), "--clients=" + strconv.Itoa(w.clients)}
	if w.op == "put" {
		args = append(args, "put", "--key-size="+strconv.Itoa(keySize), "--val-size="+strconv.Itoa(w.valueBytes()),
			"--total="+strconv.Itoa(w.total))
		args = append(args, keys...)
	} else {
		args = append(args, "range", rangeKey, "--consistency=l", "--total="+strconv.Itoa(w.total))
	}
	out, cpu, err := p.runCPU(ctx, args...)
	if err != nil {
		return result{}, err
	}
	r, err := parseEtcdBench(out)
	if err != nil {
		return result{}, err
	}
	r.Op, r.Clients, r.loadgenCPU = w.op, w.clients, cpu
	return r, nil
}

// parseEtcdBench reads the figures from the output of etcd's benchmark
// tool (run with --precise): the Summary, the histogram (whose counts add
// up to the successful requests), the latency distribution and the error
// distribution. Op and Clients are left to the caller. Other lines (gRPC
// logs, client warnings) are skipped.
func parseEtcdBench(out []byte) (result, error) {
	var (
		r            result
		section      string
		sawRate      bool
		ok           int
		firstFailure string
	)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "Summary:", "Response time histogram:", "Latency distribution:", "Error distribution:":
			section = line
			continue
		case "":
			section = ""
			continue
		}
		var err error
		switch section {
		case "Summary:":
			name, value, _ := strings.Cut(line, ":")
			value = strings.TrimSuffix(strings.TrimSpace(value), " secs.")
			switch name {
			case "Requests/sec":
				r.OpsPerSec, err = strconv.ParseFloat(value, 64)
				r.OpsPerSec, sawRate = math.Round(r.OpsPerSec*10)/10, true
			case "Average":
				r.AvgMs, err = secsToMs(value)
			}
		case "Response time histogram:":
			// "0.0306611171 [5148]	|∎∎∎"
			_, rest, found := strings.Cut(line, "[")
			count, _, found2 := strings.Cut(rest, "]")
			if found && found2 {
				var n int
				n, err = strconv.Atoi(count)
				ok += n
			}
		case "Latency distribution:":
			// "99.9% in 0.254622671 secs."
			pct, value, found := strings.Cut(line, "% in ")
			if !found {
				break
			}
			value = strings.TrimSuffix(value, " secs.")
			switch pct {
			case "50":
				r.P50Ms, err = secsToMs(value)
			case "99":
				r.P99Ms, err = secsToMs(value)
			case "99.9":
				r.P999Ms, err = secsToMs(value)
			}
		case "Error distribution:":
			// "[5]	etcdserver: request is too large"
			if rest, found := strings.CutPrefix(line, "["); found {
				count, msg, _ := strings.Cut(rest, "]")
				var n int
				n, err = strconv.Atoi(count)
				r.Errors += n
				if firstFailure == "" {
					firstFailure = strings.TrimSpace(msg)
				}
			}
		}
		if err != nil {
			return result{}, fmt.Errorf("etcd benchmark output %q: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return result{}, fmt.Errorf("etcd benchmark output: %w", err)
	}
	if !sawRate || ok == 0 {
		if r.Errors > 0 {
			return result{}, fmt.Errorf("etcd benchmark: all %d requests failed: %s", r.Errors, firstFailure)
		}
		return result{}, errors.New("etcd benchmark: no summary in its output")
	}
	r.Total = ok + r.Errors
	return r, nil
}

// secsToMs turns etcd's seconds into milliseconds rounded to the
// microsecond, as easykv-ctl reports them.
func secsToMs(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	return math.Round(v*1e6) / 1e3, err
}

// etcdStatus is the part of a member's status failover needs. The gateway
// writes 64-bit integers as strings.
type etcdStatus struct {
	Header struct {
		MemberID string `json:"member_id"` // this member
	} `json:"header"` // response header
	Leader   string `json:"leader"`   // the leader this member knows of, "0" for none
	RaftTerm string `json:"raftTerm"` // this member's term
	Version  string `json:"version"`  // server version
}

// post sends body as JSON to the gateway path on addr and decodes the answer into v.
func (p *etcdPeer) post(ctx context.Context, addr, path string, body, v any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", addr, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", addr, path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("%s %s: %w", addr, path, err)
	}
	return nil
}

// status is one member's status.
func (p *etcdPeer) status(ctx context.Context, addr string) (etcdStatus, error) {
	var st etcdStatus
	err := p.post(ctx, addr, "/v3/maintenance/status", struct{}{}, &st)
	return st, err
}

// put writes key through the first member.
func (p *etcdPeer) put(ctx context.Context, key, value string) error {
	body := map[string]string{
		"key":   base64.StdEncoding.EncodeToString([]byte(key)),
		"value": base64.StdEncoding.EncodeToString([]byte(value)),
	}
	var resp json.RawMessage
	return p.post(ctx, p.endpoints[0], "/v3/kv/put", body, &resp)
}

// statuses asks every member for its status.
func (p *etcdPeer) statuses(ctx context.Context) ([]etcdStatus, error) {
	sts := make([]etcdStatus, len(p.endpoints))
	for i, ep := range p.endpoints {
		var err error
		if sts[i], err = p.status(ctx, ep); err != nil {
			return nil, err
		}
	}
	return sts, nil
}

// healthyLeader polls until every member answers and all agree on one
// leader in one term, and returns it with the process id etcd-peer.sh
// leader-pid gives. The agreement is checked again after leader-pid, so
// that the pid is the leader's.
func (p *etcdPeer) healthyLeader(ctx context.Context) (member, error) {
	var last error
	for {
		before, err := p.statuses(ctx)
		if err == nil {
			if i, ok := etcdLeader(before); ok {
				var out []byte
				out, err = p.run(ctx, "leader-pid")
				pid, perr := strconv.Atoi(strings.TrimSpace(string(out)))
				after, aerr := p.statuses(ctx)
				err = errors.Join(err, perr, aerr)
				if j, ok := etcdLeader(after); err == nil && ok && i == j && before[i].RaftTerm == after[j].RaftTerm {
					return member{id: before[i].Header.MemberID, addr: p.endpoints[i], pid: pid}, nil
				}
			}
		}
		switch {
		case ctx.Err() != nil && last != nil:
			// A poll cut short by the deadline says nothing new: keep
			// what the last whole poll found.
		case err != nil:
			last = err
		default:
			last = errNoAgreedLeader
		}
		select {
		case <-ctx.Done():
			return member{}, fmt.Errorf("wait for an etcd leader: %w (last: %v)", ctx.Err(), last)
		case <-time.After(pollInterval):
		}
	}
}

// etcdLeader returns the index of the leader when all members name the
// same one in the same term and it is one of them.
func etcdLeader(sts []etcdStatus) (int, bool) {
	if len(sts) == 0 {
		return 0, false
	}
	leader := sts[0].Leader
	if leader == "" || leader == "0" {
		return 0, false
	}
	at := -1
	for i, st := range sts {
		if st.Leader != leader || st.RaftTerm != sts[0].RaftTerm {
			return 0, false
		}
		if st.Header.MemberID == leader {
			at = i
		}
	}
	if at < 0 {
		return 0, false
	}
	return at, true
}

// newLeader polls the members other than old every etcdPoll until one
// reports itself leader (its member id is the leader it names). Polling
// starts after since, so every sighting is later.
func (p *etcdPeer) newLeader(ctx context.Context, old member, since time.Time) (time.Time, error) {
	for {
		for _, ep := range p.endpoints {
			if ep == old.addr {
				continue
			}
			st, err := p.status(ctx, ep)
			if err == nil && st.Header.MemberID == st.Leader && st.Leader != old.id {
				return time.Now(), nil
			}
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("wait for an etcd leader other than %s: %w", old.id, ctx.Err())
		case <-time.After(etcdPoll):
		}
	}
}

// benchCPU runs w on etcd and measures the CPU it costs.
func (p *etcdPeer) benchCPU(ctx context.Context, w workload) (result, cpuUse, error) {
	if err := p.prepare(ctx, w); err != nil {
		return result{}, cpuUse{}, err
	}
	sv, err := p.servers(ctx)
	if err != nil {
		return result{}, cpuUse{}, err
	}
	return measureCPU(sv, func() (result, error) { return p.bench(ctx, w) })
}
