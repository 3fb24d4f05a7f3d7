package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// Crash-loop tests: kill -9 real easykv-node processes over and over at
// random moments — while they open their data, before they are elected,
// just as they change term, in the middle of writes — and restart them.
// Every restart must get the node serving again (a node that refuses its
// own data dir after a crash is the bug these tests exist for), and every
// acknowledged write must be there at the end.
//
// The default cycle counts (260 kills) keep both tests to about 2.5 minutes under
// -race on two cores, where a node takes ~0.3 s to start (most of it
// checking its preallocated 64 MiB segment). Rather than more cycles, many
// kills are aimed at the moment a node changes term, which is what finds a
// crash between the log's fsync and the hard state's save within a few
// dozen cycles.
// $CRASHLOOP_CYCLES sets the number of cycles of each test for a longer
// run; $CRASHLOOP_SEED replays a schedule of kills (timing still varies).
// Like every test that starts processes, they are skipped with -short.
const (
	// Fast timing, so that elections happen in most crash windows.
	crashHeartbeat       = 10 * time.Millisecond
	crashElectionTimeout = 50 * time.Millisecond

	crashSingleCycles  = 200 // default cycles of TestCrashLoopSingleNode
	crashClusterCycles = 60  // default cycles of TestCrashLoopThreeNodes

	crashPoll       = 5 * time.Millisecond // how often a starting node is asked for its status
	crashKeys       = 16                   // keys the writers spread their puts over
	crashPutTimeout = 5 * time.Second      // one put of the continuous writer
	crashFinalAcks  = 20                   // acknowledged writes required once all is up again
	crashStartMark  = "=== harness: start" // startNode's line before each start in a log
	crashBindRetry  = 3                    // starts tried when a node's port was taken meanwhile
	crashCyclesEnv  = "CRASHLOOP_CYCLES"   // overrides both tests' cycle counts
	crashSeedEnv    = "CRASHLOOP_SEED"     // replays a schedule
)

// TestCrashLoopSingleNode starts a one-node cluster and kills it with
// SIGKILL while a client writes, over and over. The kill comes, at random,
// 0–30 ms after the process starts, without waiting for it to answer (one
// cycle in ten); 0–150 ms after it answers (its election takes 50–100 ms,
// so the kill falls before, during or after it); or 0–10 ms after it says
// its term changed, while its new term, vote and no-op entry are being made
// durable. Every start must get to serving; at the end every acknowledged
// put is read back.
func TestCrashLoopSingleNode(t *testing.T) {
	skipIfShort(t)
	h, cycles, seed, rng := startCrashLoop(t, 1, crashSingleCycles)
	const id = "n1"
	c := h.clusterClient()
	hist := newCrashHistory()
	all, cancelAll := context.WithCancel(context.Background())
	t.Cleanup(cancelAll)               // before the client closes: a failed cycle's writer stops
	started := time.Now()              // when the current process was started
	modes := map[crashSingleMode]int{} // cycles by kill moment
	n := 0                             // puts so far
	for cycle := 1; cycle <= cycles; cycle++ {
		mode := crashSingleMode(rng.IntN(20))
		switch {
		case mode < 2:
			mode = crashKillStarting
		case mode < 11:
			mode = crashKillUniform
		default:
			mode = crashKillElection
		}
		modes[mode]++
		var elected func(time.Time) bool
		if mode != crashKillStarting {
			h.crashAwaitServing(id, cycle, seed)
			started = time.Now()
			if mode == crashKillElection {
				elected = h.crashWatchTerm(id)
			}
		}
		ctx, stop := context.WithCancel(all)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ; ctx.Err() == nil; n++ {
				hist.put(ctx, c, crashKey(n), fmt.Sprintf("c%04d-%06d", cycle, n))
			}
		}()
		switch mode {
		case crashKillStarting:
			time.Sleep(time.Until(started.Add(time.Duration(rng.IntN(31)) * time.Millisecond)))
		case crashKillUniform:
			time.Sleep(time.Until(started.Add(time.Duration(rng.IntN(151)) * time.Millisecond)))
		case crashKillElection:
			delay := time.Duration(rng.IntN(crashAimMs+1)) * time.Millisecond
			if !elected(started.Add(crashAimWait)) {
				modes[crashKillElection]--
				modes[crashKillMissed]++
			}
			time.Sleep(delay)
		}
		h.crashKill(id, cycle, seed)
		stop()
		<-done
		h.startNode(id, fmt.Sprintf("cycle %d", cycle+1))
		started = time.Now()
	}
	h.crashAwaitServing(id, cycles+1, seed)
	h.waitLeader()
	// One write that must succeed, so that the check never passes on an
	// empty history.
	if err := hist.putWithin(c, waitTimeout, "final", "final"); err != nil {
		t.Fatalf("put after the last restart: %v", err)
	}
	h.crashCheck(c, hist)
	t.Logf("crash loop: %d cycles, seed %d; kill moments: %v; %s", cycles, seed, modes, hist.summary())
}

// TestCrashLoopThreeNodes kills nodes of three with SIGKILL at random
// moments, a third of them within 20 ms of the previous restart answering
// (mid-election or mid-catch-up), while a client writes continuously. Each
// cycle kills one of: a random node; the leader (found via status); the
// leader, then a survivor 0–10 ms after it changes term in the election
// that follows; the leader, then — once another node leads — the old
// leader again 0–10 ms after it takes the new term on its return. The dead
// restart after a random 0–100 ms. Every restart must get the node serving;
// at the end, with all three up, every acknowledged write is read back
// linearizably.
func TestCrashLoopThreeNodes(t *testing.T) {
	skipIfShort(t)
	h, cycles, seed, rng := startCrashLoop(t, 3, crashClusterCycles)
	h.waitLeader()
	c := h.clusterClient()
	hist := newCrashHistory()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; ctx.Err() == nil; n++ {
			if errors.Is(hist.put(ctx, c, crashKey(n), fmt.Sprintf("w%06d", n)), netlink.ErrRejected) {
				return // recorded; crashCheck fails the test
			}
		}
	}()
	t.Cleanup(func() { stop(); <-done })

	kills := map[string]int{} // kills by kind
	for cycle := 1; cycle <= cycles; cycle++ {
		// A third of the kills come within 20 ms of the last restart
		// answering: mid-election or mid-catch-up.
		wait := time.Duration(rng.IntN(151)) * time.Millisecond
		if rng.IntN(3) == 0 {
			wait = time.Duration(rng.IntN(21)) * time.Millisecond
		}
		down := time.Duration(rng.IntN(101)) * time.Millisecond
		kind := crashClusterKind(rng.IntN(4))
		pick := h.ids[rng.IntN(len(h.ids))]
		second := rng.IntN(len(h.ids) - 1)
		aim := time.Duration(rng.IntN(crashAimMs+1)) * time.Millisecond
		time.Sleep(wait)

		victim, term := pick, int64(0)
		if kind != crashVictimRandom {
			if victim, term = h.crashLeader(); victim == "" {
				victim, kind = pick, crashVictimNoLeader
			}
		}
		for _, id := range h.ids {
			h.crashAlive(id, cycle, seed)
		}
		victims := []string{victim}
		var termChanged func(time.Time) bool
		if kind == crashVictimVoter {
			victims = append(victims, h.others(victim)[second])
			termChanged = h.crashWatchTerm(victims[1])
		}
		h.crashKill(victim, cycle, seed)
		kills[kind.String()]++
		switch kind {
		case crashVictimVoter:
			// A survivor, just as it changes term in the election that
			// follows.
			if !termChanged(time.Now().Add(2 * crashAimWait)) {
				kills[kind.String()]--
				kills[crashVictimNoTerm.String()]++
				victims = victims[:1]
				break
			}
			time.Sleep(aim)
			h.crashKill(victims[1], cycle, seed)
		case crashVictimRejoin:
			// The old leader, just as it learns the new leader's term on
			// its return (term and entries of that term arrive at once).
			h.crashAwaitNewLeader(term)
			h.startNode(victim, fmt.Sprintf("cycle %d, rejoin", cycle))
			h.crashAwaitServing(victim, cycle, seed)
			if !h.crashWatchTerm(victim)(time.Now().Add(2 * crashAimWait)) {
				kills[kind.String()]--
				kills[crashVictimNoTerm.String()]++
			}
			time.Sleep(aim)
			h.crashKill(victim, cycle, seed)
		}
		t.Logf("cycle %d: killed %v (%s) after %s, down %s; %s", cycle, victims, kind, wait, down, hist.summary())
		time.Sleep(down)
		for _, id := range victims {
			h.startNode(id, fmt.Sprintf("cycle %d", cycle))
		}
		for _, id := range victims {
			h.crashAwaitServing(id, cycle, seed)
		}
	}
	for _, id := range h.ids {
		h.crashAwaitServing(id, cycles, seed)
	}
	h.waitLeader()
	target := hist.ackedCount() + crashFinalAcks
	h.waitFor(fmt.Sprintf("%d acknowledged writes with every node up", target), func() (bool, string) {
		n := hist.ackedCount()
		return n >= target, fmt.Sprintf("%d acknowledged (%s)", n, hist.summary())
	})
	stop()
	<-done
	h.crashCheck(c, hist)
	t.Logf("crash loop: %d cycles, seed %d; kills: %v; %s", cycles, seed, kills, hist.summary())
}

// crashSingleMode is when TestCrashLoopSingleNode kills its node.
type crashSingleMode int

const (
	crashKillStarting crashSingleMode = iota // 0–30 ms after the process starts, before it answers
	crashKillUniform                         // 0–150 ms after it answers
	crashKillElection                        // 0–crashAimMs after it changes term
	crashKillMissed                          // aimed at an election that was not seen within crashAimWait
)

func (m crashSingleMode) String() string {
	return [...]string{"while starting", "0-150ms after serving", "just after an election", "aimed, no election seen"}[m]
}

// Kills aimed at an election come 0–crashAimMs ms after the node says its
// term changed, when its new term, vote and first entries are being made
// durable; if it says nothing within crashAimWait of serving, it is killed
// then.
const (
	crashAimMs   = 10
	crashAimWait = 250 * time.Millisecond
)

// crashWatchTerm subscribes to node id's events and returns a function
// that waits, until deadline, for the node to change its term, and says
// whether it did. The subscription ends when that function returns.
func (h *Harness) crashWatchTerm(id string) func(deadline time.Time) bool {
	ctx, cancel := context.WithCancel(context.Background())
	fail := func(time.Time) bool { cancel(); return false }
	dctx, dcancel := context.WithTimeout(ctx, statusTimeout)
	defer dcancel()
	cl, err := netlink.Dial(dctx, h.addrs[id], netlink.Identity{Cluster: clusterName, NodeID: clientID})
	if err != nil {
		return fail
	}
	events, err := cl.Watch(ctx, 10*time.Second)
	if err != nil {
		cl.Close()
		return fail
	}
	return func(deadline time.Time) bool {
		defer cl.Close()
		defer cancel()
		timer := time.NewTimer(time.Until(deadline))
		defer timer.Stop()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					return false
				}
				if ev.GetKind() == pb.WatchEvent_TERM_CHANGED {
					return true
				}
			case <-timer.C:
				return false
			}
		}
	}
}

// crashClusterKind is whom a cycle of TestCrashLoopThreeNodes kills.
type crashClusterKind int

const (
	crashVictimRandom   crashClusterKind = iota // a random node
	crashVictimLeader                           // the leader
	crashVictimVoter                            // the leader, then a survivor as it changes term
	crashVictimRejoin                           // the leader, then again as it rejoins and takes the new term
	crashVictimNoLeader                         // a random node: no node said it leads
	crashVictimNoTerm                           // aimed at a term change that was not seen in time
)

func (k crashClusterKind) String() string {
	return [...]string{"random node", "leader", "leader, then a voter mid-election", "leader, then again as it rejoins",
		"random node (no leader found)", "aimed, no term change seen"}[k]
}

// startCrashLoop starts an n-node cluster with the crash loop's fast
// timing, and returns it with the number of cycles to run
// ($CRASHLOOP_CYCLES, or defaultCycles), the seed (crashSeed, logged so
// that a failure can be replayed) and the loop's randomness from it.
func startCrashLoop(t *testing.T, n, defaultCycles int) (*Harness, int, uint64, *rand.Rand) {
	t.Helper()
	cycles := crashCycles(t, defaultCycles)
	seed := crashSeed(t)
	t.Logf("crash loop: seed %d (%s=%d replays it), %d cycles, heartbeat %s, election timeout %s",
		seed, crashSeedEnv, seed, cycles, crashHeartbeat, crashElectionTimeout)
	// The stream is the node count, as it always was: a seed replays the
	// same loop as before.
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	return StartCluster(t, n, withTiming(crashHeartbeat, crashElectionTimeout)), cycles, seed, rng
}

// crashCycles is $CRASHLOOP_CYCLES, or def.
func crashCycles(t *testing.T, def int) int {
	t.Helper()
	s := os.Getenv(crashCyclesEnv)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number of cycles", crashCyclesEnv, s)
	}
	return n
}

// crashSeed is $CRASHLOOP_SEED, or a fresh one.
func crashSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv(crashSeedEnv); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", crashSeedEnv, s, err)
		}
		return seed
	}
	return rand.Uint64() >> 1
}

// crashKey is the key of a writer's nth put: few keys, so that each is
// written many times and a lost acknowledged write shows as an older value.
func crashKey(n int) string {
	return fmt.Sprintf("key%02d", n%crashKeys)
}

// crashAwaitServing polls node id until it answers a status request — it
// has opened its data dir, checked its log and hard state, and is serving.
// If the process exits first, the test fails naming the cycle, the seed
// and what the node said since it was started. A port taken by someone
// else while the node was down is not the node's fault: it is started
// again, a few times.
func (h *Harness) crashAwaitServing(id string, cycle int, seed uint64) {
	h.t.Helper()
	binds := 1
	testkit.PollEvery(h.t, crashPoll, waitTimeout, fmt.Sprintf("%s to serve after its start in cycle %d (seed %d)", id, cycle, seed), func() (bool, string) {
		p := h.procs[id]
		_, err := h.Status(id)
		if err == nil {
			return true, ""
		}
		if p.exited() {
			since := h.crashSinceStart(id)
			if strings.Contains(since, bindRaceText) && binds < crashBindRetry {
				binds++
				h.t.Logf("cycle %d: %s lost its port while down; starting it again", cycle, id)
				h.procs[id] = nil
				h.startNode(id, fmt.Sprintf("cycle %d, port was taken", cycle))
				return false, "restarted after losing its port"
			}
			h.procs[id] = nil
			h.t.Fatalf("cycle %d (seed %d, %s=%d): %s did not restart: it exited by itself (%v) before serving; its output since that start:\n%s",
				cycle, seed, crashSeedEnv, seed, id, p.err, since)
		}
		return false, fmt.Sprintf("%s not serving: %v; its output since:\n%s", id, err, h.crashSinceStart(id))
	})
}

// crashAlive fails the test if node id has exited by itself.
func (h *Harness) crashAlive(id string, cycle int, seed uint64) {
	h.t.Helper()
	if p := h.procs[id]; p.exited() {
		h.procs[id] = nil
		h.t.Fatalf("cycle %d (seed %d): %s exited by itself (%v); its output since its last start:\n%s",
			cycle, seed, id, p.err, h.crashSinceStart(id))
	}
}

// crashKill kills node id with SIGKILL and reaps it. A process that had
// already ended by itself (refused to start, or crashed) fails the test.
func (h *Harness) crashKill(id string, cycle int, seed uint64) {
	h.t.Helper()
	p := h.procs[id]
	h.procs[id] = nil
	p.cmd.Process.Kill()
	<-p.done
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		h.t.Fatalf("cycle %d (seed %d): %s had exited by itself (%v) before its kill; its output since its last start:\n%s",
			cycle, seed, id, p.err, h.crashSinceStart(id))
	}
}

// crashLeader asks every running node for its status and returns the
// leader of the highest term any of them reports, and that term; "" if
// none says it leads.
func (h *Harness) crashLeader() (leader string, term int64) {
	for _, id := range h.ids {
		if h.procs[id] == nil {
			continue
		}
		if st, err := h.Status(id); err == nil && st.GetRole() == pb.Role_ROLE_LEADER && st.GetTerm() > term {
			leader, term = id, st.GetTerm()
		}
	}
	return leader, term
}

// crashAwaitNewLeader polls the running nodes until one leads in a term
// after term, for at most 4×crashAimWait: a cluster that takes longer is
// not wrong, the kill that follows is just not aimed as well.
func (h *Harness) crashAwaitNewLeader(term int64) {
	deadline := time.Now().Add(4 * crashAimWait)
	for time.Now().Before(deadline) {
		if _, t := h.crashLeader(); t > term {
			return
		}
		time.Sleep(crashPoll)
	}
}

// crashSinceStart is node id's log since its last start, at most
// logTailLines lines of it.
func (h *Harness) crashSinceStart(id string) string {
	b, err := os.ReadFile(h.logPath(id))
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	s := string(b)
	if i := strings.LastIndex(s, crashStartMark); i >= 0 {
		s = s[i:]
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

// crashAttempt is one put of a key.
type crashAttempt struct {
	value string
	acked bool // answered OK: committed and applied
}

// crashHistory records every put, in the order the one writer made them.
type crashHistory struct {
	mu       sync.Mutex
	byKey    map[string][]crashAttempt
	acked    int
	unacked  int     // failed or timed out: may or may not have happened
	rejected []error // a node refused a valid put: always a bug
}

func newCrashHistory() *crashHistory {
	return &crashHistory{byKey: map[string][]crashAttempt{}}
}

// put writes key=value within crashPutTimeout (or until ctx ends) and
// records the outcome.
func (hist *crashHistory) put(ctx context.Context, c *netlink.ClusterClient, key, value string) error {
	pctx, cancel := context.WithTimeout(ctx, crashPutTimeout)
	defer cancel()
	_, err := c.Put(pctx, key, value)
	hist.record(key, value, err)
	return err
}

// putWithin writes key=value with its own deadline and records it.
func (hist *crashHistory) putWithin(c *netlink.ClusterClient, timeout time.Duration, key, value string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := c.Put(ctx, key, value)
	hist.record(key, value, err)
	return err
}

func (hist *crashHistory) record(key, value string, err error) {
	hist.mu.Lock()
	defer hist.mu.Unlock()
	hist.byKey[key] = append(hist.byKey[key], crashAttempt{value: value, acked: err == nil})
	switch {
	case err == nil:
		hist.acked++
	case errors.Is(err, netlink.ErrRejected):
		hist.rejected = append(hist.rejected, fmt.Errorf("put %s=%s: %w", key, value, err))
	default:
		hist.unacked++
	}
}

func (hist *crashHistory) ackedCount() int {
	hist.mu.Lock()
	defer hist.mu.Unlock()
	return hist.acked
}

func (hist *crashHistory) summary() string {
	hist.mu.Lock()
	defer hist.mu.Unlock()
	return fmt.Sprintf("puts: %d acknowledged, %d failed or timed out, %d rejected", hist.acked, hist.unacked, len(hist.rejected))
}

// crashCheck reads every key that was written, linearizably, and checks it
// holds its last acknowledged value or a value attempted after it (a put
// that failed or timed out may or may not have happened); a key with no
// acknowledged put may also be missing. No node may have rejected a put.
func (h *Harness) crashCheck(c *netlink.ClusterClient, hist *crashHistory) {
	h.t.Helper()
	hist.mu.Lock()
	defer hist.mu.Unlock()
	for _, err := range hist.rejected {
		h.t.Errorf("a node rejected a valid put: %v", err)
	}
	for _, key := range slices.Sorted(maps.Keys(hist.byKey)) {
		attempts := hist.byKey[key]
		last := -1 // index of the last acknowledged attempt
		for i, a := range attempts {
			if a.acked {
				last = i
			}
		}
		allowed := map[string]bool{}
		for _, a := range attempts[max(last, 0):] {
			allowed[a.value] = true
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		res, err := c.Get(ctx, key, false)
		cancel()
		if err != nil {
			h.t.Fatalf("read %s: %v", key, err)
		}
		want := "missing"
		if last >= 0 {
			want = fmt.Sprintf("last acknowledged value %q", attempts[last].value)
		}
		later := len(attempts) - 1 - last
		if last < 0 {
			later = len(attempts)
		}
		switch {
		case !res.Found && last >= 0:
			h.t.Errorf("%s: missing; want %s or one of %d later unacknowledged puts — an acknowledged write was lost", key, want, later)
		case res.Found && !allowed[res.Value]:
			h.t.Errorf("%s = %q; want %s or one of %d later unacknowledged puts — an acknowledged write was lost or undone", key, res.Value, want, later)
		}
	}
}
