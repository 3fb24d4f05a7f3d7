package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat: 100 on every Linux architecture Go supports.
const clockTicks = 100

// servers are the server processes a workload runs against.
type servers struct {
	leader    int   // the leader's pid
	followers []int // the other members' pids
}

// cpuUse is the CPU time one workload cost, per kind of process. The
// servers' comes from /proc/<pid>/stat (utime+stime, whole thread group,
// 10 ms ticks) rather than /proc/<pid>/schedstat, which is nanoseconds but
// counts the main thread only, a small part of a Go process's work.
type cpuUse struct {
	leader    time.Duration // the leader
	followers time.Duration // the followers, summed
	loadgen   time.Duration // the load generator, from its rusage: its startup included
}

func (u cpuUse) total() time.Duration { return u.leader + u.followers + u.loadgen }

// cpuPerOp is a cpuUse divided by the operations done, in microseconds:
// the report's JSON field cpu_us_per_op.
type cpuPerOp struct {
	Total     float64 `json:"total"`
	Leader    float64 `json:"leader"`
	Followers float64 `json:"followers"`
	Loadgen   float64 `json:"loadgen"`
}

// perOp divides u by ops, rounded to 0.1 µs; all zero when ops is 0.
func (u cpuUse) perOp(ops int) cpuPerOp {
	us := func(d time.Duration) float64 {
		if ops <= 0 {
			return 0
		}
		return math.Round(float64(d)/float64(time.Microsecond)/float64(ops)*10) / 10
	}
	return cpuPerOp{Total: us(u.total()), Leader: us(u.leader), Followers: us(u.followers), Loadgen: us(u.loadgen)}
}

// succeeded is the operations of r that succeeded: CPU is divided by
// them, as ops/s counts them.
func succeeded(r result) int { return r.Total - r.Errors }

// measureCPU runs bench, one workload through a load generator, and
// returns its result and what it cost: the servers' CPU read right before
// and right after it, and the load generator's from the result.
func measureCPU(sv servers, bench func() (result, error)) (result, cpuUse, error) {
	pids := append([]int{sv.leader}, sv.followers...)
	before, err := cpuTimes(pids)
	if err != nil {
		return result{}, cpuUse{}, err
	}
	res, err := bench()
	if err != nil {
		return result{}, cpuUse{}, err
	}
	after, err := cpuTimes(pids)
	if err != nil {
		return result{}, cpuUse{}, err
	}
	u := cpuUse{leader: after[0] - before[0], loadgen: res.loadgenCPU}
	for i := 1; i < len(pids); i++ {
		u.followers += after[i] - before[i]
	}
	return res, u, nil
}

// cpuTimes is the CPU time each of pids has used so far.
func cpuTimes(pids []int) ([]time.Duration, error) {
	ds := make([]time.Duration, len(pids))
	for i, pid := range pids {
		ticks, err := cpuTicks(pid)
		if err != nil {
			return nil, err
		}
		ds[i] = time.Duration(ticks) * time.Second / clockTicks
	}
	return ds, nil
}

// rusageCPU is the user plus system time of an exited process, its
// waited-for children included (etcd-peer.sh bench's benchmark tool).
func rusageCPU(st *os.ProcessState) time.Duration {
	if st == nil {
		return 0
	}
	return st.UserTime() + st.SystemTime()
}

// cpuTicks is the user plus system CPU time of process pid so far, in
// clock ticks.
func cpuTicks(pid int) (int64, error) {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return parseStatTicks(string(b))
}

// parseStatTicks reads utime+stime from the text of /proc/<pid>/stat.
func parseStatTicks(stat string) (int64, error) {
	// The command name, in parentheses, may hold spaces and parentheses:
	// fields count from after its last closing parenthesis, where field 3
	// (state) starts.
	i := strings.LastIndex(stat, ") ")
	if i < 0 {
		return 0, fmt.Errorf("unexpected stat %q", stat)
	}
	f := strings.Fields(stat[i+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected stat %q", stat)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat %q: %w", stat, err)
	}
	return utime + stime, nil
}

// splitServers is the processes pids with leader apart; leader must be
// one of them.
func splitServers(leader int, pids []string) (servers, error) {
	sv := servers{leader: leader}
	found := false
	for _, s := range pids {
		pid, err := strconv.Atoi(s)
		if err != nil {
			return servers{}, fmt.Errorf("pid %q: %w", s, err)
		}
		if pid == leader {
			found = true
			continue
		}
		sv.followers = append(sv.followers, pid)
	}
	if !found {
		return servers{}, fmt.Errorf("leader pid %d not among %v", leader, pids)
	}
	return sv, nil
}
