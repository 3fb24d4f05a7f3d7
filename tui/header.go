package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/easykv/easykv/netlink/pb"
)

// sparkSeconds is how many whole seconds of commits the header's sparkline
// shows.
const sparkSeconds = 30

const (
	// maxHeaderLines is the most lines the header wraps to; what does not
	// fit is cut.
	maxHeaderLines = 2
	// shortHeight is the height below which the header keeps to one line:
	// an 80x24 terminal needs its lines for the nodes.
	shortHeight = 30
)

// sparkLevels are the sparkline's bars, lowest first; a second without
// commits is the lowest.
var sparkLevels = []rune("▁▂▃▄▅▆▇█")

// clusterStats is what the header says beyond the cards: when the current
// leader was elected, and how fast the cluster commits.
type clusterStats struct {
	// electedAt is when the newest term's leader was elected; zero until
	// an election was seen.
	electedAt time.Time
	// electedTerm is that leader's term.
	electedTerm int64
	// commit is the highest commit index any node reported.
	commit int64
	// second is the Unix second the newest bucket counts.
	second int64
	// buckets count the commits of each second, the one of second s at
	// s % len(buckets); one more than shown, as the current second is not
	// over.
	buckets [sparkSeconds + 1]int64
}

// observe takes one watch event from a node, received at now: an election
// won (the leader's ROLE_CHANGED, or a follower's LEADER_CHANGED if that
// came first) or a status with a higher commit index.
func (s *clusterStats) observe(ev *pb.WatchEvent, now time.Time) {
	at := now
	if ms := ev.GetUnixMs(); ms > 0 {
		at = time.UnixMilli(ms).In(now.Location())
	}
	switch ev.GetKind() {
	case pb.WatchEvent_ROLE_CHANGED:
		if ev.GetRole() == pb.Role_ROLE_LEADER {
			s.elected(ev.GetTerm(), at)
		}
	case pb.WatchEvent_LEADER_CHANGED:
		if ev.GetLeaderId() != "" {
			s.elected(ev.GetTerm(), at)
		}
	case pb.WatchEvent_STATUS:
		s.committed(ev.GetStatus().GetCommitIndex(), now)
	}
}

// elected records an election won in term at at: the earliest report of
// the newest term, whichever node's stream brought it first.
func (s *clusterStats) elected(term int64, at time.Time) {
	if term > s.electedTerm || (term == s.electedTerm && at.Before(s.electedAt)) {
		s.electedTerm, s.electedAt = term, at
	}
}

// committed adds what commit moved the cluster's commit index by to the
// second of now. The first index heard is where counting starts, not a
// burst of commits.
func (s *clusterStats) committed(commit int64, now time.Time) {
	s.advance(now.Unix())
	if commit <= s.commit {
		return
	}
	if s.commit > 0 {
		s.buckets[s.second%int64(len(s.buckets))] += commit - s.commit
	}
	s.commit = commit
}

// advance moves the newest bucket to second, emptying the ones skipped.
func (s *clusterStats) advance(second int64) {
	if second <= s.second {
		return
	}
	n := int64(len(s.buckets))
	for sec := max(s.second+1, second-n+1); sec <= second; sec++ {
		s.buckets[sec%n] = 0
	}
	s.second = second
}

// perSecond returns the commits of each of the sparkSeconds whole seconds
// before now, oldest first.
func (s *clusterStats) perSecond(now time.Time) [sparkSeconds]int64 {
	var out [sparkSeconds]int64
	cur := now.Unix()
	n := int64(len(s.buckets))
	for i := range out {
		sec := cur - sparkSeconds + int64(i)
		if sec <= s.second && sec > s.second-n {
			out[i] = s.buckets[sec%n]
		}
	}
	return out
}

// sparkline draws counts as bars scaled to the largest.
func sparkline(counts []int64) string {
	var top int64
	for _, c := range counts {
		top = max(top, c)
	}
	var b strings.Builder
	for _, c := range counts {
		level := 0
		if c > 0 {
			level = 1 + int(int64(len(sparkLevels)-2)*c/top)
		}
		b.WriteRune(sparkLevels[level])
	}
	return b.String()
}

// sinceText is a duration as the header words it: "4.2s", "3m12s", "2h05m".
func sinceText(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// slowFactor is how many times slower than normal the cluster's time runs:
// the highest factor a shown node reports (slow motion goes to every node
// at once).
func (m *Model) slowFactor() int64 {
	f := int64(1)
	for _, n := range m.shownNodes() {
		f = max(f, n.status.GetSlowFactor())
	}
	return f
}

// viewHeader is the top of the frame: the cluster, how many nodes are up,
// down and paused, the leader and its term, the commit index, the time
// since the last election, the commits per second over the last half
// minute, and the clock; on as many lines as the width needs.
func (m *Model) viewHeader() []string {
	c := &m.ctx
	st := &c.styles
	title := "easykv"
	if m.opts.Cluster != "" {
		title += " · " + clean(m.opts.Cluster)
	}
	// Each field is placed by the width it may grow to, not the width it
	// has now, so that the header does not jump between one line and two
	// as "elected 9.9s ago" becomes "elected 10.0s ago".
	type field struct {
		text  string
		width int // the most it takes while the cluster stays as it is
	}
	fixed := func(text string) field { return field{text, lipgloss.Width(text)} }
	grows := func(text string, most int) field { return field{text, max(lipgloss.Width(text), most)} }
	shown := m.shownNodes()
	counts := fmt.Sprintf("%d nodes: %s", len(shown), countNodes(shown))
	fields := []field{fixed(st.Title.Render(title))}
	if f := m.slowFactor(); f > 1 {
		fields = append(fields, fixed(st.Title.Render(fmt.Sprintf("slow ×%d", f))))
	}
	fields = append(fields, fixed(counts), fixed(st.Title.Render(m.leaderSummary())))
	if m.stats.commit > 0 {
		// Room for an index of 8 digits before the line count changes.
		fields = append(fields, grows(label(st, "commit", fmt.Sprint(m.stats.commit)), lipgloss.Width(label(st, "commit", "00000000"))))
	}
	if !m.stats.electedAt.IsZero() {
		text := label(st, "elected", sinceText(c.now.Sub(m.stats.electedAt))+" ago")
		// sinceText takes at most 6 cells ("59.9s", "59m59s", "23h59m")
		// for a day.
		fields = append(fields, grows(text, lipgloss.Width(label(st, "elected", "00m00s ago"))))
	}
	rates := m.stats.perSecond(c.now)
	spark := label(st, "commits/s", st.Spark.Render(sparkline(rates[:]))+" "+fmt.Sprint(rates[len(rates)-1]))
	// Room for a rate of 6 digits.
	fields = append(fields, grows(spark, lipgloss.Width(spark)-len(fmt.Sprint(rates[len(rates)-1]))+6))
	clock := st.Clock.Render(c.now.Format("15:04:05"))

	// The first line keeps room for the clock at its right.
	var lines []string
	cur, curWidth, width := "", 0, c.width-lipgloss.Width(clock)-1
	for _, f := range fields {
		switch {
		case cur == "":
			cur, curWidth = f.text, f.width
		case curWidth+3+f.width <= width:
			cur += st.Faint.Render(" · ") + f.text
			curWidth += 3 + f.width
		default:
			lines = append(lines, cur)
			cur, curWidth, width = f.text, f.width, c.width
		}
	}
	lines = append(lines, cur)
	if gap := c.width - lipgloss.Width(lines[0]) - lipgloss.Width(clock); gap >= 1 {
		lines[0] += strings.Repeat(" ", gap) + clock
	}
	// A short terminal keeps one line for the header, a normal one two.
	keep := maxHeaderLines
	if c.height < shortHeight {
		keep = 1
	}
	lines = lines[:min(len(lines), keep)]
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, c.width, "…")
	}
	return lines
}
