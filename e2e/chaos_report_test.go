package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/easykv/easykv/netlink"
)

// chaosCounts tallies operations by kind and outcome.
type chaosCounts struct {
	byKind   map[chaosOpKind]map[chaosOutcome]int // operations by kind and outcome
	rejected []chaosOp                            // calls that ended in ErrRejected
}

func countChaos(ops []chaosOp) chaosCounts {
	c := chaosCounts{byKind: map[chaosOpKind]map[chaosOutcome]int{}}
	for _, op := range ops {
		if c.byKind[op.kind] == nil {
			c.byKind[op.kind] = map[chaosOutcome]int{}
		}
		c.byKind[op.kind][op.outcome]++
		if errors.Is(op.err, netlink.ErrRejected) {
			c.rejected = append(c.rejected, op)
		}
	}
	return c
}

// acked is the number of acknowledged writes.
func (c chaosCounts) acked() int {
	return c.byKind[chaosPut][chaosOK] + c.byKind[chaosDelete][chaosOK]
}

func (c chaosCounts) String() string {
	var parts []string
	for _, k := range []chaosOpKind{chaosPut, chaosDelete, chaosGet} {
		m := c.byKind[k]
		if k == chaosGet {
			parts = append(parts, fmt.Sprintf("get ok=%d failed=%d", m[chaosOK], m[chaosFailed]))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s ok=%d uncertain=%d failed=%d", k, m[chaosOK], m[chaosUncertain], m[chaosFailed]))
	}
	return strings.Join(parts, "; ")
}

// chaosFaultSummary lists how often each fault was injected.
func chaosFaultSummary(n *chaosNemesis) string {
	var parts []string
	total := 0
	for _, k := range chaosFaultKinds {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n.counts[k]))
		total += n.counts[k]
	}
	return fmt.Sprintf("%d (%d overlapping another): %s", total, n.overlaps, strings.Join(parts, " "))
}

// chaosArtifacts is where a failed run leaves what it needs to be
// understood: the fault timeline, the history, porcupine's visualization
// and the node logs.
type chaosArtifacts struct {
	dir     string        // created on first save
	h       *Harness      // for the node logs
	summary []string      // the run's summary lines
	nemesis *chaosNemesis // the fault timeline
	leaders *chaosLeaders // terms and leaders
	ops     []chaosOp     // the history, once the run is over
	check   *chaosCheck   // porcupine's verdict, once it ran
	saved   bool          // files written
}

// chaosOutDir is $CHAOS_OUT, or chaos-out/ at the module root.
func chaosOutDir() (string, error) {
	if dir := os.Getenv("CHAOS_OUT"); dir != "" {
		return filepath.Abs(dir)
	}
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Join(filepath.Dir(strings.TrimSpace(string(gomod))), "chaos-out"), nil
}

// newChaosArtifacts picks the run's directory under chaosOutDir.
func newChaosArtifacts(h *Harness, seed uint64, nem *chaosNemesis, leaders *chaosLeaders) *chaosArtifacts {
	h.t.Helper()
	base, err := chaosOutDir()
	if err != nil {
		h.t.Fatal(err)
	}
	dir := filepath.Join(base, fmt.Sprintf("%s-seed%d", time.Now().Format("20060102-150405"), seed))
	return &chaosArtifacts{dir: dir, h: h, nemesis: nem, leaders: leaders}
}

func (a *chaosArtifacts) timelinePath() string { return filepath.Join(a.dir, "timeline.txt") }
func (a *chaosArtifacts) htmlPath() string     { return filepath.Join(a.dir, "linearizability.html") }

// save writes everything known so far, once; later calls do nothing.
func (a *chaosArtifacts) save() {
	if a.saved {
		return
	}
	a.saved = true
	t := a.h.t
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		t.Errorf("chaos artifacts: %v", err)
		return
	}
	var b strings.Builder
	for _, line := range a.summary {
		fmt.Fprintln(&b, line)
	}
	fmt.Fprintf(&b, "\nfault timeline (seconds since the clients started):\n")
	for _, e := range a.nemesis.timeline {
		fmt.Fprintln(&b, e)
	}
	fmt.Fprintf(&b, "\nleaders seen: %s\n%s\n", a.leaders.summary(), a.leaders.terms())
	for _, p := range a.leaders.problems() {
		fmt.Fprintf(&b, "TWO LEADERS: %s\n", p)
	}
	files := map[string]string{"timeline.txt": b.String()}
	if a.ops != nil {
		var hb strings.Builder
		for _, op := range a.ops {
			fmt.Fprintln(&hb, op)
		}
		files["history.txt"] = hb.String()
	}
	for _, id := range append(slices.Clone(a.h.ids), a.nemesis.retired...) {
		if log, err := os.ReadFile(a.h.logPath(id)); err == nil {
			files[id+".log"] = string(log)
		}
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(a.dir, name), []byte(content), 0o644); err != nil {
			t.Errorf("chaos artifacts: %v", err)
		}
	}
	if a.check != nil {
		info := a.check.info
		info.AddAnnotations(a.annotations())
		if err := porcupine.VisualizePath(chaosModel, info, a.htmlPath()); err != nil {
			t.Errorf("chaos artifacts: visualize: %v", err)
		}
	}
	t.Logf("chaos artifacts in %s", a.dir)
}

// annotations shows the faults and each term's first leader above the
// history in the visualization.
func (a *chaosArtifacts) annotations() []porcupine.Annotation {
	end := a.check.end
	var out []porcupine.Annotation
	faults := append(append([]*chaosFault(nil), a.nemesis.done...), a.nemesis.active...)
	for _, f := range faults {
		stop := end
		if f.healed > 0 {
			stop = f.healed.Nanoseconds()
		}
		out = append(out, porcupine.Annotation{
			Tag:             "faults",
			Start:           f.start.Nanoseconds(),
			End:             stop,
			Description:     strings.TrimSpace(fmt.Sprintf("%s %s %s", f.kind, strings.Join(f.targets, ","), f.detail())),
			BackgroundColor: "#f4c7c3",
		})
	}
	for term, s := range a.leaders.sightings() {
		out = append(out, porcupine.Annotation{
			Tag:         "leaders",
			Start:       s.at.Nanoseconds(),
			Description: fmt.Sprintf("t%d %s", term, s.id),
			Details:     s.source,
		})
	}
	return out
}
