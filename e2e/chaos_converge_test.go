package e2e

import (
	"fmt"
	"strings"
	"time"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink/pb"
)

// chaosConvergeWait bounds how long the healed cluster may take to bring
// every node to the same applied index: a node restarted late in the run
// may have a few thousand entries to catch up on, under -race.
const chaosConvergeWait = 30 * time.Second

// chaosConvergence is the cluster's state once every node applied the
// same index.
type chaosConvergence struct {
	ids      []string                  // the nodes, in cluster.yaml order
	applied  int64                     // the applied index every node reported
	digest   string                    // the state digest, when every node reported the same
	statuses map[string]*pb.NodeStatus // each node's status, from the round that agreed
	problems []string                  // what is wrong: digests that differ or are missing, faults left
}

// chaosConverge polls every node's status until all report the same
// applied index, then checks that they report the same non-empty state
// digest (kvmap.Map.Digest as of that index: nodes that applied the same
// log hold the same keys and values) and that no fault is still in
// force. It fails the test if the nodes do not agree on an applied index
// within chaosConvergeWait; other problems are returned for the caller to
// report with the run's artifacts.
func chaosConverge(h *Harness) chaosConvergence {
	h.t.Helper()
	var statuses map[string]*pb.NodeStatus
	testkit.PollEvery(h.t, pollInterval, chaosConvergeWait, "chaos: every node at the same applied index", func() (bool, string) {
		var why string
		statuses, why = chaosSameApplied(h)
		return statuses != nil, why
	})
	return chaosCheckDigests(h.ids, statuses)
}

// chaosSameApplied asks every node for its status and returns the
// statuses when all answered with the same applied index, or nil and why
// not.
func chaosSameApplied(h *Harness) (map[string]*pb.NodeStatus, string) {
	statuses := map[string]*pb.NodeStatus{}
	for _, id := range h.ids {
		st, err := h.Status(id)
		if err != nil {
			return nil, fmt.Sprintf("%s: %v", id, err)
		}
		statuses[id] = st
	}
	for _, id := range h.ids[1:] {
		if statuses[id].GetAppliedIndex() != statuses[h.ids[0]].GetAppliedIndex() {
			return nil, "applied " + chaosAppliedDigests(h.ids, statuses)
		}
	}
	return statuses, ""
}

// chaosCheckDigests checks statuses of nodes ids, all at one applied
// index: every node reports a state digest, the same one, and no fault.
func chaosCheckDigests(ids []string, statuses map[string]*pb.NodeStatus) chaosConvergence {
	c := chaosConvergence{ids: ids, applied: statuses[ids[0]].GetAppliedIndex(), statuses: statuses}
	same := true
	for _, id := range ids {
		st := statuses[id]
		if st.GetStateDigest() == "" {
			c.problems = append(c.problems, fmt.Sprintf("%s reports no state digest at applied index %d", id, st.GetAppliedIndex()))
		}
		same = same && st.GetStateDigest() == statuses[ids[0]].GetStateDigest()
		if st.GetPaused() || st.GetPartitioned() || len(st.GetIsolatedFrom()) > 0 || st.GetDelayMs() > 0 || st.GetDiskStallMs() > 0 || st.GetSlowFactor() > 1 {
			c.problems = append(c.problems, fmt.Sprintf("%s still has a fault after the final heal: paused=%t partitioned=%t isolated_from=%v delay_ms=%d disk_stall_ms=%d slow_factor=%d",
				id, st.GetPaused(), st.GetPartitioned(), st.GetIsolatedFrom(), st.GetDelayMs(), st.GetDiskStallMs(), st.GetSlowFactor()))
		}
	}
	switch {
	case !same:
		c.problems = append(c.problems, "state digests differ at the same applied index: "+chaosAppliedDigests(ids, statuses))
	case statuses[ids[0]].GetStateDigest() != "":
		c.digest = statuses[ids[0]].GetStateDigest()
	}
	return c
}

// chaosAppliedDigests lists each node's id, applied index and state
// digest, for failure messages.
func chaosAppliedDigests(ids []string, statuses map[string]*pb.NodeStatus) string {
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		st := statuses[id]
		digest := st.GetStateDigest()
		if digest == "" {
			digest = `""`
		}
		parts = append(parts, fmt.Sprintf("%s applied_index=%d state_digest=%s", id, st.GetAppliedIndex(), digest))
	}
	return strings.Join(parts, "; ")
}

// String is the summary line's account of the final state.
func (c chaosConvergence) String() string {
	if c.digest == "" {
		return fmt.Sprintf("no common digest at applied index %d (%s)", c.applied, chaosAppliedDigests(c.ids, c.statuses))
	}
	return fmt.Sprintf("%s on all %d nodes at applied index %d", c.digest, len(c.statuses), c.applied)
}
