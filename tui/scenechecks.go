package tui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/easykv/easykv/netlink/pb"
)

// sceneFacts are what the nodes' streams said since a step began, for
// the checks that ask what happened rather than how things are.
type sceneFacts struct {
	// candidacies are the terms each node campaigned in.
	candidacies map[string][]int64
	// leaders is who became leader in each term.
	leaders map[int64]string
	// votes are the vote answers given: voter, candidate, granted.
	votes []voteFact
	// rejects counts the AppendEntries each node refused.
	rejects map[string]int64
	// snapshotsTo is the snapshot index last sent to each node.
	snapshotsTo map[string]int64
}

// voteFact is one vote answer.
type voteFact struct {
	voter, candidate string
	granted, preVote bool
	term             int64
	reason           string
}

func newSceneFacts() *sceneFacts {
	return &sceneFacts{candidacies: map[string][]int64{}, leaders: map[int64]string{}, rejects: map[string]int64{}, snapshotsTo: map[string]int64{}}
}

// observe takes one event of node id.
func (f *sceneFacts) observe(id string, ev *pb.WatchEvent) {
	switch ev.GetKind() {
	case pb.WatchEvent_ROLE_CHANGED:
		switch ev.GetRole() {
		case pb.Role_ROLE_CANDIDATE:
			if !slices.Contains(f.candidacies[id], ev.GetTerm()) {
				f.candidacies[id] = append(f.candidacies[id], ev.GetTerm())
			}
		case pb.Role_ROLE_LEADER:
			f.leaders[ev.GetTerm()] = id
		}
	case pb.WatchEvent_STATUS:
		if st := ev.GetStatus(); st.GetRole() == pb.Role_ROLE_LEADER {
			f.leaders[st.GetTerm()] = id
		}
	case pb.WatchEvent_VOTE_GRANTED, pb.WatchEvent_VOTE_DENIED:
		f.votes = append(f.votes, voteFact{voter: id, candidate: ev.GetPeer(), granted: ev.GetKind() == pb.WatchEvent_VOTE_GRANTED,
			preVote: ev.GetPreVote(), term: ev.GetTerm(), reason: ev.GetReason()})
	case pb.WatchEvent_SNAPSHOT_SENT:
		if ev.GetReason() == "" {
			f.snapshotsTo[ev.GetPeer()] = ev.GetIndex()
		}
	case pb.WatchEvent_MESSAGES, pb.WatchEvent_MESSAGE:
		for _, t := range ev.GetTraffic() {
			// Counted by the sender only, so that no refusal counts twice.
			if t.GetKind() == pb.Traffic_APPEND_REJECT && t.GetSent() {
				f.rejects[t.GetFrom()] += t.GetCount()
			}
		}
	}
}

// refusedVote says voter refused candidate its real vote in term.
func (f *sceneFacts) refusedVote(voter, candidate string, term int64) bool {
	return slices.ContainsFunc(f.votes, func(v voteFact) bool {
		return v.voter == voter && v.candidate == candidate && !v.granted && !v.preVote && v.term == term
	})
}

// evalCheck says whether c holds now, and in words what it found: the
// success, or what is so instead.
func (m *Model) evalCheck(run *sceneRun, c *checkState) (bool, string) {
	a := c.args
	f := run.facts
	num := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	li := m.leaderIndex()
	leaderText := func() string {
		if li < 0 {
			return "no node leads"
		}
		return fmt.Sprintf("%s leads (term %d)", m.nodes[li].node.ID, m.nodes[li].status.GetTerm())
	}
	status := func(id string) *pb.NodeStatus {
		if i := m.nodeIndex(id); i >= 0 {
			return m.nodes[i].status
		}
		return nil
	}
	switch c.check.Name {
	case "leader":
		return li >= 0 && m.nodes[li].node.ID == a[0], leaderText()
	case "leader-not":
		return li >= 0 && m.nodes[li].node.ID != a[0], leaderText() + notText(li >= 0 && m.nodes[li].node.ID != a[0], a[0])
	case "no-leader":
		return li < 0, leaderText()
	case "term-above":
		return li >= 0 && m.nodes[li].status.GetTerm() > num(a[0]), leaderText()
	case "split":
		// Both campaigned in one term and each refused the other its
		// vote (it had voted for itself): with a third of the votes each
		// and the last voter paused, nobody can win that term.
		for _, t := range f.candidacies[a[0]] {
			if slices.Contains(f.candidacies[a[1]], t) && f.leaders[t] == "" && f.refusedVote(a[0], a[1], t) && f.refusedVote(a[1], a[0], t) {
				return true, fmt.Sprintf("%s and %s both campaigned in term %d and each refused the other its vote: the votes are split, and term %d elects nobody", a[0], a[1], t, t)
			}
		}
		return false, fmt.Sprintf("%s campaigned in terms %v, %s in %v; leaders by term %v", a[0], f.candidacies[a[0]], a[1], f.candidacies[a[1]], f.leaders)
	case "candidate":
		if ts := f.candidacies[a[0]]; len(ts) > 0 {
			return true, fmt.Sprintf("%s campaigned in term %d", a[0], ts[len(ts)-1])
		}
		return false, fmt.Sprintf("%s did not campaign", a[0])
	case "denied", "granted":
		want := c.check.Name == "granted"
		for _, v := range f.votes {
			if v.voter == a[0] && v.candidate == a[1] && v.granted == want {
				return true, voteText(v)
			}
		}
		for _, v := range f.votes {
			if v.voter == a[0] && v.candidate == a[1] {
				return false, voteText(v)
			}
		}
		return false, fmt.Sprintf("%s gave %s no answer it reported", a[0], a[1])
	case "uncommitted":
		st := status(a[0])
		ok := st.GetLastIndex() >= num(a[1]) && st.GetCommitIndex() < num(a[1])
		return ok, fmt.Sprintf("%s holds entries up to %d (term %d) and has committed up to %d", a[0], st.GetLastIndex(), st.GetLastTerm(), st.GetCommitIndex())
	case "committed":
		st := status(a[0])
		return st.GetCommitIndex() >= num(a[1]), fmt.Sprintf("%s has committed up to %d", a[0], st.GetCommitIndex())
	case "behind":
		for _, v := range f.votes {
			if v.voter == a[0] && v.candidate == a[1] && !v.granted && strings.Contains(v.reason, "log is behind") {
				return true, voteText(v)
			}
		}
		return false, fmt.Sprintf("%s did not refuse %s for a log behind its own", a[0], a[1])
	case "commit-skips":
		c := status(a[0]).GetCommitIndex()
		return c < num(a[1]) || c >= num(a[2]), fmt.Sprintf("%s's commit index is %d (entries %s to %s wait for %s)", a[0], c, a[1], a[2], a[2])
	case "isolated":
		peers := status(a[0]).GetIsolatedFrom()
		return len(peers) > 0, fmt.Sprintf("%s is cut off from %s", a[0], listOrNone(peers))
	case "replaced":
		st := status(a[0])
		at := num(a[1])
		t, known := termAt(st, at)
		if !known {
			return false, fmt.Sprintf("%s's log does not say what entry %d is", a[0], at)
		}
		if t == 0 {
			return true, fmt.Sprintf("%s's entry %d (term %s) is gone: its log ends at %d", a[0], at, a[2], st.GetLastIndex())
		}
		return t != num(a[2]), fmt.Sprintf("%s's entry %d is of term %d (it was of term %s)", a[0], at, t, a[2])
	case "on-nodes":
		var on []string
		for _, n := range m.shownNodes() {
			if t, ok := termAt(n.status, num(a[0])); ok && t == num(a[1]) {
				on = append(on, n.node.ID)
			}
		}
		return int64(len(on)) >= num(a[2]), fmt.Sprintf("entry %s of term %s is on %s", a[0], a[1], listOrNone(on))
	case "converged":
		return m.converged()
	case "term-unchanged":
		return m.maxTerm() <= num(a[0]), fmt.Sprintf("the highest term is %d (it was %s)", m.maxTerm(), a[0])
	case "caught-up":
		st := status(a[0])
		if li < 0 {
			return false, "no node leads"
		}
		// By its own status and by the leader's: a promotion is judged by
		// the leader's record of what it acknowledged.
		ls := m.nodes[li].status
		var match int64
		for _, p := range ls.GetPeers() {
			if p.GetId() == a[0] {
				match = p.GetMatchIndex()
			}
		}
		ok := st.GetLastIndex() == ls.GetLastIndex() && st.GetCommitIndex() == ls.GetCommitIndex() && match == ls.GetLastIndex()
		return ok, fmt.Sprintf("%s holds up to %d, committed %d, acknowledged %d; the leader %s holds up to %d, committed %d",
			a[0], st.GetLastIndex(), st.GetCommitIndex(), match, m.nodes[li].node.ID, ls.GetLastIndex(), ls.GetCommitIndex())
	case "compacted":
		if li < 0 {
			return false, "no node leads"
		}
		ls, st := m.nodes[li].status, status(a[0])
		return ls.GetFirstIndex() > st.GetLastIndex()+1, fmt.Sprintf("the leader %s's log starts at %d (snapshot at %d); %s's ends at %d",
			m.nodes[li].node.ID, ls.GetFirstIndex(), ls.GetSnapshotIndex(), a[0], st.GetLastIndex())
	case "rejected":
		n := f.rejects[a[0]]
		return n > 0, fmt.Sprintf("%s refused %d AppendEntries whose previous entry did not match its log", a[0], n)
	case "snapshot-sent":
		idx, ok := f.snapshotsTo[a[0]]
		if ok {
			return true, fmt.Sprintf("the leader sent %s its snapshot at index %d", a[0], idx)
		}
		return false, fmt.Sprintf("no snapshot was sent to %s", a[0])
	case "learner", "voter", "removed":
		return m.memberCheck(c.check.Name, a[0], li)
	case "paused":
		return status(a[0]).GetPaused(), fmt.Sprintf("%s paused: %v", a[0], status(a[0]).GetPaused())
	case "partitioned":
		return status(a[0]).GetPartitioned(), fmt.Sprintf("%s partitioned: %v", a[0], status(a[0]).GetPartitioned())
	case "leader-committed":
		if li < 0 {
			return false, "no node leads"
		}
		ls := m.nodes[li].status
		t, _ := termAt(ls, ls.GetCommitIndex())
		return t == ls.GetTerm(), fmt.Sprintf("the leader %s (term %d) has committed up to %d, an entry of term %d", m.nodes[li].node.ID, ls.GetTerm(), ls.GetCommitIndex(), t)
	}
	return false, "unknown check " + c.check.Name
}

// notText adds ", not X" when the leader is someone else.
func notText(other bool, x string) string {
	if other {
		return ", not " + x
	}
	return ""
}

// voteText says what a vote answer was.
func voteText(v voteFact) string {
	kind := "vote"
	if v.preVote {
		kind = "pre-vote"
	}
	if v.granted {
		return fmt.Sprintf("%s granted %s its %s (term %d)", v.voter, v.candidate, kind, v.term)
	}
	s := fmt.Sprintf("%s refused %s its %s (term %d)", v.voter, v.candidate, kind, v.term)
	if v.reason != "" {
		s += ": " + v.reason
	}
	return s
}

// listOrNone is ids joined, or "no node".
func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "no node"
	}
	return strings.Join(ids, ", ")
}

// maxTerm is the highest term a node reports.
func (m *Model) maxTerm() int64 {
	var t int64
	for _, n := range m.nodes {
		t = max(t, n.status.GetTerm())
	}
	return t
}

// converged says every live node holds the same log, all committed.
func (m *Model) converged() (bool, string) {
	var ids []string
	var last, term int64 = -1, -1
	ok := true
	for _, n := range m.shownNodes() {
		if !n.live() {
			continue
		}
		st := n.status
		ids = append(ids, n.node.ID)
		if last < 0 {
			last, term = st.GetLastIndex(), st.GetLastTerm()
		}
		if st.GetLastIndex() != last || st.GetLastTerm() != term || st.GetCommitIndex() != st.GetLastIndex() {
			ok = false
		}
	}
	if ok && len(ids) > 0 {
		return true, fmt.Sprintf("%s all hold entries up to %d (term %d), all committed", strings.Join(ids, ", "), last, term)
	}
	var parts []string
	for _, n := range m.shownNodes() {
		if n.live() {
			parts = append(parts, fmt.Sprintf("%s last %d (term %d) commit %d", n.node.ID, n.status.GetLastIndex(), n.status.GetLastTerm(), n.status.GetCommitIndex()))
		}
	}
	return false, strings.Join(parts, "; ")
}

// memberCheck is the learner, voter and removed checks, by the leader's
// configuration.
func (m *Model) memberCheck(name, id string, li int) (bool, string) {
	if li < 0 {
		return false, "no node leads"
	}
	var member *pb.Member
	for _, mb := range m.nodes[li].status.GetMembers() {
		if mb.GetId() == id {
			member = mb
		}
	}
	what := "not a member"
	switch {
	case member == nil:
	case member.GetLearner():
		what = "a learner"
	default:
		what = "a voter"
	}
	text := fmt.Sprintf("%s is %s in %s's configuration", id, what, m.nodes[li].node.ID)
	switch name {
	case "learner":
		return member != nil && member.GetLearner(), text
	case "voter":
		return member != nil && !member.GetLearner(), text
	}
	return member == nil, text
}

// termAt is the term of st's entry at index from its log_terms: 0 when
// its log ends before index; known is false when index is below the
// terms it reports.
func termAt(st *pb.NodeStatus, index int64) (term int64, known bool) {
	if index > st.GetLastIndex() {
		return 0, true
	}
	runs := st.GetLogTerms()
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].GetFirstIndex() <= index {
			return runs[i].GetTerm(), true
		}
	}
	return 0, false
}
