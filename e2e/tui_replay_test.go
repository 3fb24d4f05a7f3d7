package e2e

import (
	"context"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/tui"
)

// electionEvent says whether ev is part of an election's story: a role or
// a leader changing.
func electionEvent(ev *pb.WatchEvent) bool {
	k := ev.GetKind()
	return k == pb.WatchEvent_ROLE_CHANGED || k == pb.WatchEvent_LEADER_CHANGED
}

// eventKey is what is compared of an election event.
func eventKey(ev *pb.WatchEvent) string {
	return fmt.Sprintf("%s %s role=%s leader=%q term=%d", ev.GetNodeId(), ev.GetKind(), ev.GetRole(), ev.GetLeaderId(), ev.GetTerm())
}

// streamWatcher collects, per node, the election events the nodes report
// on watch streams of the test's own.
type streamWatcher struct {
	// mu guards events and statuses.
	mu sync.Mutex
	// events are eventKeys in stream order, per node id.
	events map[string][]string
	// statuses counts STATUS events per node id: above zero, the stream is
	// live.
	statuses map[string]int
}

// watchNodes opens a watch stream on every node of h until the test ends.
func watchNodes(t *testing.T, h *Harness) *streamWatcher {
	t.Helper()
	w := &streamWatcher{events: map[string][]string{}, statuses: map[string]int{}}
	watchEach(t, h, h.ids, 100*time.Millisecond, func(id string, ev *pb.WatchEvent) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if ev.GetKind() == pb.WatchEvent_STATUS {
			w.statuses[id]++
		} else if electionEvent(ev) {
			w.events[id] = append(w.events[id], eventKey(ev))
		}
	})
	return w
}

// watchEach opens a watch stream (statuses every interval) on each node
// of ids until the test ends, and calls each with every event, on one
// goroutine per node.
func watchEach(t *testing.T, h *Harness, ids []string, interval time.Duration, each func(id string, ev *pb.WatchEvent)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, id := range ids {
		dctx, dcancel := context.WithTimeout(ctx, statusTimeout)
		c, err := netlink.Dial(dctx, h.addrs[id], netlink.Identity{Cluster: clusterName, NodeID: clientID + "-watch"})
		dcancel()
		if err != nil {
			t.Fatalf("dial %s: %v", id, err)
		}
		ch, err := c.Watch(ctx, interval)
		if err != nil {
			c.Close()
			t.Fatalf("watch %s: %v", id, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			for ev := range ch {
				each(id, ev)
			}
		}()
	}
}

// snapshot returns a copy of the events seen so far per node.
func (w *streamWatcher) snapshot() map[string][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string][]string{}
	for id, evs := range w.events {
		out[id] = slices.Clone(evs)
	}
	return out
}

// live reports whether every node in ids has sent a status.
func (w *streamWatcher) live(ids []string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		if w.statuses[id] == 0 {
			return false
		}
	}
	return true
}

// readRecording reads the recording at path, as far as it is written.
func readRecording(path string) (*tui.Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return tui.ReadRecording(f)
}

// recordedElectionEvents are the election events in rec, as eventKeys per
// node id.
func recordedElectionEvents(rec *tui.Recording) map[string][]string {
	out := map[string][]string{}
	for _, r := range rec.Records {
		if r.Kind == tui.RecordEvent && electionEvent(r.Event) {
			id := rec.Header.Nodes[r.Node].ID
			out[id] = append(out[id], eventKey(r.Event))
		}
	}
	return out
}

// recordedLeaders is the story of the recording's STATUS snapshots: after
// each, the leader of the highest term any node reports (as the
// dashboard's header shows it), with repeats collapsed.
func recordedLeaders(rec *tui.Recording) []string {
	latest := map[int]*pb.NodeStatus{}
	var leaders []string
	for _, r := range rec.Records {
		if r.Kind != tui.RecordEvent || r.Event.GetKind() != pb.WatchEvent_STATUS {
			continue
		}
		latest[r.Node] = r.Event.GetStatus()
		var best *pb.NodeStatus
		for _, st := range latest {
			if st.GetRole() == pb.Role_ROLE_LEADER && (best == nil || st.GetTerm() > best.GetTerm()) {
				best = st
			}
		}
		if best == nil {
			continue
		}
		l := fmt.Sprintf("%s@%d", best.GetId(), best.GetTerm())
		if len(leaders) == 0 || leaders[len(leaders)-1] != l {
			leaders = append(leaders, l)
		}
	}
	return leaders
}

// recordedFollowing reports whether rec holds a status of node id, not
// paused, following leader in term.
func recordedFollowing(rec *tui.Recording, id, leader string, term int64) bool {
	for _, r := range rec.Records {
		st := r.Event.GetStatus()
		if r.Kind == tui.RecordEvent && r.Event.GetKind() == pb.WatchEvent_STATUS && st.GetId() == id &&
			st.GetRole() == pb.Role_ROLE_FOLLOWER && st.GetLeaderId() == leader && st.GetTerm() == term && !st.GetPaused() {
			return true
		}
	}
	return false
}

// replayPaused matches the replay's state on the title line when paused.
var replayPaused = regexp.MustCompile(`REPLAY \S+ [0-9:.]+(/[0-9:.]+)? ⏸`)

// TestTUIReplay records a real election with the dashboard (--record), then
// checks the recording against what the nodes reported on streams of the
// test's own, and plays it back (--replay) in a real terminal: the leaders
// appear in the order they were elected, the replay restarts, pauses, and
// refuses to write. On the way it checks, cell by cell, that the dashboard
// has colour (the leader's in another than the followers'), and none under
// NO_COLOR.
func TestTUIReplay(t *testing.T) {
	h := StartCluster(t, 3)
	old, oldTerm := h.waitLeader()
	watcher := watchNodes(t, h)
	recPath := filepath.Join(t.TempDir(), "election.jsonl")
	scr := startTUI(t, nil, "--cluster", h.cfgPath, "--record", recPath)
	scr.waitScreen("the leader in the header", func(screen string) bool {
		m := headerLeader.FindStringSubmatch(screen)
		return m != nil && m[1] == old && m[2] == fmt.Sprint(oldTerm)
	})
	if !scr.coloured() {
		t.Fatalf("the dashboard draws without colour though neither --no-color nor NO_COLOR is set:\n%s", scr.screen())
	}
	// Roles are told apart by colour too: the leader's star is drawn in
	// one, not the followers'.
	scr.waitScreen("the leader's and a follower's cards", func(screen string) bool {
		return strings.Contains(screen, "★ LEADER") && strings.Contains(screen, "● follower")
	})
	star, follower := glyphColour(t, scr, "★ LEADER"), glyphColour(t, scr, "● follower")
	if star == nil || follower == nil || sameColour(star, follower) {
		t.Fatalf("leader's ★ in %v, a follower's ● in %v: want two colours; screen:\n%s", star, follower, scr.screen())
	}
	h.waitFor("the test's own streams", func() (bool, string) {
		return watcher.live(h.ids), fmt.Sprint(watcher.snapshot())
	})

	// An election: the leader is paused, another is elected; once resumed
	// the old leader follows it.
	if res := h.Ctl("pause", old); res.code != 0 {
		t.Fatalf("easykv-ctl pause %s: exit %d, stderr %q", old, res.code, res.stderr)
	}
	leader, term := h.waitLeader(old)
	h.resumeToFollow(old, leader)

	// The recording, read while the dashboard still writes it, catches up
	// with what the nodes told the test: the same election events, node by
	// node, in the same order.
	h.waitFor("the recording to hold every election event the nodes reported", func() (bool, string) {
		want := watcher.snapshot()
		if len(want[leader]) == 0 || len(want[old]) == 0 {
			return false, fmt.Sprintf("the nodes reported %v", want)
		}
		rec, err := readRecording(recPath)
		if err != nil {
			return false, err.Error()
		}
		got := recordedElectionEvents(rec)
		for _, id := range h.ids {
			if !slices.Equal(got[id], want[id]) {
				return false, fmt.Sprintf("%s: recorded %q, reported %q", id, got[id], want[id])
			}
		}
		// The cards take roles from statuses: the replay ends with old
		// following only if a status saying so was recorded.
		if !recordedFollowing(rec, old, leader, term) {
			return false, fmt.Sprintf("no status of %s following %s in term %d recorded yet", old, leader, term)
		}
		return true, ""
	})
	scr.typeLine("quit")
	if code := scr.waitExit(); code != 0 {
		t.Fatalf("the recording dashboard exited %d after quit, want 0", code)
	}

	rec, err := readRecording(recPath)
	if err != nil {
		t.Fatalf("read the recording: %v", err)
	}
	if h := rec.Header; h.Cluster != clusterName || len(h.Nodes) != 3 || rec.Duration() <= 0 {
		t.Fatalf("recording header %+v lasting %v", h, rec.Duration())
	}
	if got := recordedElectionEvents(rec); !slices.Equal(got[leader], watcher.snapshot()[leader]) {
		t.Fatalf("final recording of %s: %q, reported %q", leader, got[leader], watcher.snapshot()[leader])
	}
	wantLeaders := []string{fmt.Sprintf("%s@%d", old, oldTerm), fmt.Sprintf("%s@%d", leader, term)}
	if got := recordedLeaders(rec); !slices.Equal(got, wantLeaders) {
		t.Fatalf("the recording's statuses tell of leaders %v, want %v", got, wantLeaders)
	}
	t.Logf("recorded %d records over %v; leaders %v", len(rec.Records), rec.Duration(), wantLeaders)

	// Played back in a real terminal, the dashboard shows the first leader,
	// then the second, as it did live.
	oldOnScreen := func(screen string) bool {
		m := headerLeader.FindStringSubmatch(screen)
		return m != nil && m[1] == old && m[2] == fmt.Sprint(oldTerm) && strings.Contains(screen, "REPLAY")
	}
	newOnScreen := func(screen string) bool {
		m := headerLeader.FindStringSubmatch(screen)
		return m != nil && m[1] == leader && m[2] == fmt.Sprint(term)
	}
	play := startTUI(t, []string{"NO_COLOR=1"}, "--replay", recPath)
	play.waitScreen(fmt.Sprintf("the replay of leader %s (term %d)", old, oldTerm), oldOnScreen)
	if play.coloured() {
		t.Fatalf("NO_COLOR=1, yet the replay draws in colour; screen:\n%s", play.screen())
	}
	play.waitScreen(fmt.Sprintf("the replay of the election of %s (term %d)", leader, term), newOnScreen)
	play.waitScreen(old+" following again, at the end", func(screen string) bool {
		return newOnScreen(screen) && strings.Count(screen, "★ LEADER") == 1 && !strings.Contains(screen, "⏸ PAUSED") &&
			strings.Contains(screen, "⏹ end")
	})

	// 0 restarts: the first leader again. Space pauses; . steps on.
	play.sendUntil("0", "the first leader after a restart", oldOnScreen)
	play.send(" ")
	paused := play.waitScreen("the replay paused", replayPaused.MatchString)
	play.send(".")
	// Paused, the screen is still; a step applies an event (maybe within
	// the same tenth of a second) and stays paused.
	play.waitScreen("a step from the paused screen", func(screen string) bool {
		return screen != paused && (replayPaused.MatchString(screen) || strings.Contains(screen, "⏹ end"))
	})
	play.typeLine("put user:1 alice")
	play.waitScreen("the replay refusing a write", func(screen string) bool {
		return strings.Contains(screen, "put: replay: read-only")
	})
	play.typeLine("quit")
	if code := play.waitExit(); code != 0 {
		t.Fatalf("the replay exited %d after quit, want 0", code)
	}
}

// glyphColour is the foreground colour of the first cell of text on tm's
// screen; the test fails if text is not there.
func glyphColour(t *testing.T, tm *terminal, text string) color.Color {
	t.Helper()
	x, y, ok := tm.find(text)
	if !ok {
		t.Fatalf("%q is not on the screen:\n%s", text, tm.screen())
	}
	return tm.fg(x, y)
}

// sameColour says whether a and b are the same colour.
func sameColour(a, b color.Color) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}
