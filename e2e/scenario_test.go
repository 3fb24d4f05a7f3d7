package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/easykv/easykv/scenario"
)

// TestScenarios runs every built-in guided scenario to its end on real
// nodes, through easykv-tui's piped mode (which goes on to the next step
// once a step's checks have resolved, and fails on a failed check), and
// requires every check to pass and the cluster to be restored after each.
// The three-node ones share one cluster, one after another, as a class
// would; the five-node ones get a cluster of five. Each cluster compacts
// as often as make demo's does.
func TestScenarios(t *testing.T) {
	all := scenario.Builtin()
	for _, size := range []int{3, 5} {
		var runs []*scenario.Scenario
		for _, s := range all {
			if s.Nodes <= size && (size == 5) == (s.Nodes > 3) {
				runs = append(runs, s)
			}
		}
		if len(runs) == 0 {
			continue
		}
		// Small snapshots and segments, as make demo's cluster has, for
		// snapshot-catchup.
		h := StartCluster(t, size, withConfig(snapshotConfig))
		for _, s := range runs {
			h.waitLeader()
			t.Run(s.Name, func(t *testing.T) { runScenario(t, h, s) })
		}
	}
}

// scenarioLimit bounds one scenario's run: its steps wait for elections
// in slow motion.
const scenarioLimit = 3 * time.Minute

// runScenario runs s on h's cluster and checks that it ended with every
// check passed and the cluster restored.
func runScenario(t *testing.T, h *Harness, s *scenario.Scenario) {
	checks := 0
	for _, st := range s.Steps {
		checks += len(st.Expect)
	}
	// A message takes 40 ms instead of the 800 ms a person watches: the
	// harness's 50 ms heartbeat makes that slow motion ×3.
	res := runTUIPipedFor(t, h, scenarioLimit, "scenario "+s.Name+"\n", "--scenario-travel", "40ms")
	if res.code != 0 || strings.Contains(res.stderr, "✗") {
		t.Fatalf("scenario %s: exit %d; a check failed or the run did not end:\n%s", s.Name, res.code, res.stderr)
	}
	if got := strings.Count(res.stdout, "\n✓ "); got != checks {
		t.Errorf("%d checks passed, want all %d", got, checks)
	}
	for i := range s.Steps {
		if !strings.Contains(res.stdout, fmt.Sprintf("── step %d of %d\n", i+1, len(s.Steps))) {
			t.Errorf("step %d was not narrated", i+1)
		}
	}
	if want := fmt.Sprintf("scenario %s ended: %d checks passed, 0 failed", s.Name, checks); !strings.Contains(res.stdout, want) {
		t.Errorf("no %q in the output", want)
	}
	for _, id := range h.ids {
		st := h.mustStatus(id)
		if st.GetSlowFactor() > 1 || st.GetPaused() || st.GetPartitioned() || len(st.GetIsolatedFrom()) > 0 || st.GetTimerHeld() {
			t.Errorf("%s not restored after the scenario: slow ×%d, paused %v, partitioned %v, isolated from %v, timer held %v",
				id, st.GetSlowFactor(), st.GetPaused(), st.GetPartitioned(), st.GetIsolatedFrom(), st.GetTimerHeld())
		}
	}
}

// TestScenarioRecordReplay: a scenario run with --record replays with its
// narration: the narrator pane comes back in a real terminal, step by
// step, with the checks as they passed, and the lanes with it.
func TestScenarioRecordReplay(t *testing.T) {
	h := StartCluster(t, 3)
	h.waitLeader()
	recPath := filepath.Join(t.TempDir(), "transfer.jsonl")
	// Messages take 1.5 s, and each step's results stay 3 s before the
	// next: long enough for the replay's screen to be read however slow
	// this machine is.
	res := runTUIPipedFor(t, h, scenarioLimit, "scenario transfer\n", "--scenario-travel", "1500ms", "--record", recPath)
	if res.code != 0 {
		t.Fatalf("scenario transfer with --record: exit %d\n%s", res.code, res.stderr)
	}
	data, err := os.ReadFile(recPath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), `"type":"narration"`); n < 3 {
		t.Fatalf("%d narration records in the recording, want one per change of the pane", n)
	}
	play := startTUI(t, []string{"NO_COLOR=1"}, "--replay", recPath)
	play.waitText("scenario transfer · step 1 of 2")
	play.waitText("We ask it to hand leadership to")
	play.waitScreen("a passed check replayed", func(s string) bool { return strings.Contains(s, "✓ ") && strings.Contains(s, "leads (term") })
	play.waitText("scenario transfer · step 2 of 2")
	play.waitText("A write goes through the new leader")
}
