package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// chaosCheckTimeout bounds porcupine; running out of time fails the test.
const chaosCheckTimeout = 3 * time.Minute

// TestChaos runs concurrent clients against five nodes while a nemesis
// stops, kills, pauses and partitions them and slows their disks, then
// checks what the clients saw, in the manner of Jepsen and etcd's
// robustness tests:
//
//   - the history of puts, deletes and linearizable gets, with the final
//     reads of every key after all faults are healed, is linearizable
//     (porcupine, a register per key; a write that may or may not have
//     happened is pending forever, one that certainly did not is left out);
//   - no term ever had two leaders, as seen on every node's watch stream;
//   - every key's final value was written by someone, and is the last
//     acknowledged write when nothing else can explain another value;
//   - once healed, every node reaches the same applied index and reports
//     the same state digest there, and no fault is left in force.
//
// It runs for $CHAOS_DURATION (skipped when unset, and with -short);
// $CHAOS_SEED replays a fault and operation schedule (timing still
// varies). A failed run leaves the timeline, the history, porcupine's
// visualization and the node logs in $CHAOS_OUT, else chaos-out/ at the
// module root.
func TestChaos(t *testing.T) {
	durEnv := os.Getenv("CHAOS_DURATION")
	if durEnv == "" {
		t.Skip("chaos test: set CHAOS_DURATION (e.g. 60s) to run it")
	}
	skipIfShort(t)
	duration, err := time.ParseDuration(durEnv)
	if err != nil || duration <= 0 {
		t.Fatalf("CHAOS_DURATION=%q: want a positive Go duration such as 60s", durEnv)
	}
	seed := chaosSeed(t)
	chaosSay(t, "chaos: seed %d (CHAOS_SEED=%d replays it), duration %s, %d nodes, %d clients, %d keys", seed, seed, duration, chaosNodes, chaosClients, chaosKeys)

	h := StartCluster(t, chaosNodes, withConfig(chaosSnapshotConfig))
	hist := newChaosHistory()
	leaders := newChaosLeaders(hist.since)
	nem := &chaosNemesis{
		h:       h,
		rng:     rand.New(rand.NewPCG(seed, 0)),
		leaders: leaders,
		since:   hist.since,
		counts:  map[chaosFaultKind]int{},
	}
	art := newChaosArtifacts(h, seed, nem, leaders)

	watchCtx, stopWatching := context.WithCancel(context.Background())
	clientCtx, stopClients := context.WithCancel(context.Background())
	var watchers, clients sync.WaitGroup
	// Runs before the harness stops the nodes: the goroutines end, and a
	// node left stopped by a test that failed half-way is continued so that
	// it can take its SIGTERM.
	t.Cleanup(func() {
		stopClients()
		clients.Wait()
		stopWatching()
		watchers.Wait()
		for _, p := range h.procs {
			if p != nil {
				p.cmd.Process.Signal(syscall.SIGCONT)
			}
		}
		if t.Failed() {
			art.save()
		}
	})
	nem.watchNew = func(id string) {
		addr := h.addrs[id]
		watchers.Go(func() { leaders.watch(watchCtx, id, addr) })
	}
	for _, id := range h.ids {
		nem.watchNew(id)
	}
	h.waitLeader()

	for i := range chaosClients {
		c := h.chaosClient(fmt.Sprintf("chaos-c%d", i))
		rng := rand.New(rand.NewPCG(seed, uint64(i)+1))
		clients.Go(func() { runChaosClient(clientCtx, i, c, rng, hist) })
	}
	nem.run(time.Now().Add(duration))
	stopClients()
	clients.Wait()
	nem.healAll()
	h.waitLeader()
	final := chaosFinalReads(h, hist)
	converged := chaosConverge(h)
	snaps := chaosSnapshots(h)
	stopWatching()
	watchers.Wait()

	ops := hist.snapshot()
	art.ops = ops
	counts := countChaos(ops)
	check := checkChaosHistory(ops, chaosCheckTimeout)
	art.check = &check
	finalRep := checkChaosFinal(ops, final)

	art.summary = []string{
		fmt.Sprintf("chaos: seed %d, ran %s (%d nodes, %d clients, %d keys)", seed, duration, chaosNodes, chaosClients, chaosKeys),
		fmt.Sprintf("chaos: operations: %s", counts),
		fmt.Sprintf("chaos: acknowledged writes: %d", counts.acked()),
		fmt.Sprintf("chaos: faults: %s", chaosFaultSummary(nem)),
		fmt.Sprintf("chaos: leaders: %s", leaders.summary()),
		fmt.Sprintf("chaos: porcupine: %s in %s over %d operations (%d uncertain writes kept, %d never observed left out)",
			check.result, check.elapsed.Round(time.Millisecond), len(check.ops), check.keptUncertain, check.prunedUnseen),
		fmt.Sprintf("chaos: final reads: %d of %d keys; last-write rule applied to %d", len(final), chaosKeys, finalRep.lastRule),
		fmt.Sprintf("chaos: state digest: %s", converged),
		fmt.Sprintf("chaos: snapshots: %s; followers lagged behind the compaction point: %v", snaps, nem.lagged),
		fmt.Sprintf("chaos: membership: %d of %d transfers ended with the target leading; removed, wiped and rejoined: %v; replaced: %v; members now %v",
			nem.transfers, nem.counts[faultTransfer], nem.rejoined, nem.replaced, h.ids),
	}
	t.Logf("chaos: leader of each term: %s", leaders.terms())
	for _, line := range art.summary {
		chaosSay(t, "%s", line)
	}

	where := fmt.Sprintf("timeline in %s", art.timelinePath())
	for _, p := range leaders.problems() {
		art.save()
		t.Errorf("two leaders in one term: %s; %s", p, where)
	}
	if check.result != porcupine.Ok {
		art.save()
		t.Errorf("history is not linearizable: porcupine says %s after %s; visualization in %s, %s",
			check.result, check.elapsed.Round(time.Millisecond), art.htmlPath(), where)
	}
	for _, p := range finalRep.problems {
		art.save()
		t.Errorf("final value: %s; %s", p, where)
	}
	for _, p := range converged.problems {
		art.save()
		t.Errorf("final state: %s; %s", p, where)
	}
	for _, op := range counts.rejected {
		art.save()
		t.Errorf("a node rejected a request it should have served: %s; %s", op, where)
	}
	for _, id := range nem.lagged {
		if !h.logHas(id, "snapshot installed") {
			art.save()
			t.Errorf("%s was restarted behind the compaction point but never installed a snapshot; %s", id, where)
		}
	}
	if counts.acked() == 0 || counts.byKind[chaosGet][chaosOK] == 0 {
		art.save()
		t.Errorf("no progress: %s; %s", counts, where)
	}
}

// chaosFinalReads reads every key through a fresh client once the cluster
// is healed, retrying until each read is answered; the reads go into the
// history as the last client's.
func chaosFinalReads(h *Harness, hist *chaosHistory) map[string]chaosOp {
	h.t.Helper()
	c := h.chaosClient("chaos-final")
	final := map[string]chaosOp{}
	deadline := time.Now().Add(waitTimeout)
	for i := range chaosKeys {
		for {
			op := doChaosOp(c, chaosOp{client: chaosClients, kind: chaosGet, key: chaosKey(i)}, hist)
			hist.add(op)
			if op.outcome == chaosOK {
				final[op.key] = op
				break
			}
			if time.Now().After(deadline) {
				h.t.Errorf("final read of %s: %v", op.key, op.err)
				break
			}
		}
	}
	return final
}

// chaosSeed is $CHAOS_SEED, or a fresh one.
func chaosSeed(t *testing.T) uint64 {
	if s := os.Getenv("CHAOS_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CHAOS_SEED=%q: %v", s, err)
		}
		return seed
	}
	return rand.Uint64() >> 1
}

// chaosSay logs a line and also prints it to stdout, so that a run without
// -v shows the summary.
func chaosSay(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf(format, args...)
	if !testing.Verbose() {
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
}

// chaosSnapshots counts, from the node logs, the snapshots taken, sent and
// installed during the run.
func chaosSnapshots(h *Harness) string {
	var taken, sent, installed int
	for _, id := range h.ids {
		b, err := os.ReadFile(h.logPath(id))
		if err != nil {
			continue
		}
		taken += strings.Count(string(b), `msg="snapshot taken"`)
		sent += strings.Count(string(b), `msg="snapshot sent"`)
		installed += strings.Count(string(b), `msg="snapshot installed"`)
	}
	return fmt.Sprintf("%d taken, %d sent, %d installed", taken, sent, installed)
}
