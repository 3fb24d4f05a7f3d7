package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told to; safe for the
// rolling restart's two goroutines.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeMover is a 3-node cluster whose transfers are scripted: trial i has
// leaders[i] as the healthy leader; after the transfer command the
// clock has moved by cmd[i], and each put moves it by putTook and is
// answered by answers[i] (one entry per put) — the target unless a put was
// answered by another node.
type fakeMover struct {
	clock       *fakeClock
	leaders     []string        // healthyLeader's answer per trial
	cmd         []time.Duration // how long each transfer command takes
	putTook     time.Duration   // how long each put takes
	answers     [][]string      // who answers each put of trial i; the target when empty
	healthyErr  error           // healthyLeader's error, if any
	transferErr error           // transfer's error, if any
	putErr      error           // put's error, if any

	trial     int      // calls to healthyLeader so far
	puts      int      // puts in this trial so far
	transfers []string // "n1→n2" per transfer command
	target    string   // the current trial's target
}

var _ leaderMover = (*fakeMover)(nil)

func (f *fakeMover) healthyLeader(context.Context) (member, error) {
	if f.healthyErr != nil {
		return member{}, f.healthyErr
	}
	f.trial++
	f.puts = 0
	return member{id: f.leaders[f.trial-1]}, nil
}

func (f *fakeMover) followers(leader member) []member {
	var fs []member
	for _, id := range []string{"n1", "n2", "n3"} {
		if id != leader.id {
			fs = append(fs, member{id: id})
		}
	}
	return fs
}

func (f *fakeMover) transfer(_ context.Context, leader member, to string) error {
	f.transfers = append(f.transfers, leader.id+"→"+to)
	f.target = to
	if f.transferErr != nil {
		return f.transferErr
	}
	f.clock.advance(f.cmd[f.trial-1])
	return nil
}

func (f *fakeMover) put(context.Context, string) (string, error) {
	if f.putErr != nil {
		return "", f.putErr
	}
	f.clock.advance(f.putTook)
	by := f.target
	if a := f.answers; f.trial-1 < len(a) && f.puts < len(a[f.trial-1]) {
		by = a[f.trial-1][f.puts]
	}
	f.puts++
	return by, nil
}

func TestMeasureTransfers(t *testing.T) {
	ms := time.Millisecond
	clock := newFakeClock()
	m := &fakeMover{
		clock:   clock,
		leaders: []string{"n1", "n2", "n3", "n1"},
		cmd:     []time.Duration{20 * ms, 30 * ms, 10 * ms, 40 * ms},
		putTook: 2 * ms,
		// Trial 3: leadership moved on before the first put; the second
		// put, answered by the target, is the one that counts.
		answers: [][]string{nil, nil, {"n2", "n1"}},
	}
	got, err := measureTransfers(t.Context(), m, 4, clock.now, nolog)
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{22 * ms, 32 * ms, 14 * ms, 42 * ms}; !slices.Equal(got, want) {
		t.Errorf("durations = %v, want %v", got, want)
	}
	// Followers alternate: the first of the two, then the second.
	if want := []string{"n1→n2", "n2→n3", "n3→n1", "n1→n3"}; !slices.Equal(m.transfers, want) {
		t.Errorf("transfers = %v, want %v", m.transfers, want)
	}
}

func TestMeasureTransfersErrors(t *testing.T) {
	tests := []struct {
		name    string
		m       *fakeMover
		wantErr string
	}{
		{"no healthy leader", &fakeMover{healthyErr: errors.New("nodes do not agree")}, "transfer trial 1: nodes do not agree"},
		{"refused", &fakeMover{leaders: []string{"n1"}, transferErr: errors.New("change refused")}, "transfer trial 1: transfer n1 → n2: change refused"},
		{"put fails", &fakeMover{leaders: []string{"n2"}, cmd: []time.Duration{0}, putErr: context.DeadlineExceeded}, "put after transfer to n1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.m.clock = newFakeClock()
			got, err := measureTransfers(t.Context(), tt.m, 1, tt.m.clock.now, nolog)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("measureTransfers = %v, %v; want an error containing %q", got, err, tt.wantErr)
			}
		})
	}
}

func TestLongestPause(t *testing.T) {
	ms := time.Millisecond
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ds ...time.Duration) []time.Time {
		var ts []time.Time
		for _, d := range ds {
			ts = append(ts, t0.Add(d))
		}
		return ts
	}
	tests := []struct {
		name string
		acks []time.Time
		end  time.Duration
		want time.Duration
	}{
		{"no acks: the whole pass", nil, 500 * ms, 500 * ms},
		{"gap in the middle", at(5*ms, 10*ms, 1210*ms, 1215*ms), 1220 * ms, 1200 * ms},
		{"gap before the first", at(300*ms, 310*ms), 320 * ms, 300 * ms},
		{"gap after the last", at(5*ms, 10*ms), 900 * ms, 890 * ms},
		{"unsorted and outside the pass", at(-50*ms, 40*ms, 20*ms, 2000*ms), 100 * ms, 60 * ms},
	}
	for _, tt := range tests {
		if got := longestPause(t0, tt.acks, t0.Add(tt.end)); got != tt.want {
			t.Errorf("%s: longestPause = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestWriteLoop(t *testing.T) {
	clock := newFakeClock()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var keys []string
	put := func(_ context.Context, key string) error {
		keys = append(keys, key)
		clock.advance(time.Millisecond)
		switch len(keys) {
		case 2, 3:
			return errors.New("no leader")
		case 5:
			cancel() // the pass ends while this put is under way
			return context.Canceled
		}
		return nil
	}
	acks := newAckLog()
	failed := writeLoop(ctx, put, clock.now, acks)
	if want := []string{"w-0", "w-1", "w-2", "w-3", "w-4"}; !slices.Equal(keys, want) {
		t.Errorf("keys = %v, want %v", keys, want)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if want := []time.Time{t0.Add(time.Millisecond), t0.Add(4 * time.Millisecond)}; !slices.EqualFunc(acks.times, want, time.Time.Equal) {
		t.Errorf("acks = %v, want %v", acks.times, want)
	}
	if failed != 2 {
		t.Errorf("failed = %d, want 2 (the put cut short by the end is not a failure)", failed)
	}
}

// fakeRestarter records its restarts, as "TERM 0", and fails those
// listed; each restart moves the clock by took.
type fakeRestarter struct {
	n     int
	clock *fakeClock
	took  time.Duration
	fail  map[string]bool
	mu    sync.Mutex
	done  []string
}

var _ restarter = (*fakeRestarter)(nil)

func (f *fakeRestarter) size() int { return f.n }

func (f *fakeRestarter) restart(_ context.Context, i int, sig syscall.Signal) error {
	name := map[syscall.Signal]string{syscall.SIGTERM: "TERM", syscall.SIGKILL: "KILL"}[sig]
	entry := fmt.Sprintf("%s %d", name, i)
	f.mu.Lock()
	f.done = append(f.done, entry)
	f.mu.Unlock()
	if f.fail[entry] {
		return errors.New("exited while catching up")
	}
	f.clock.advance(f.took)
	return nil
}

func TestRollingPause(t *testing.T) {
	clock := newFakeClock()
	// Each restart takes 1s of the fake clock, each put 1ms; the writer
	// must get a put through between restarts, so the longest pause is
	// one restart and the puts around it, however the two goroutines
	// interleave.
	r := &fakeRestarter{n: 3, clock: clock, took: time.Second}
	put := func(context.Context, string) error {
		clock.advance(time.Millisecond)
		return nil
	}
	pause, acked, failed, err := rollingPause(t.Context(), r, syscall.SIGKILL, put, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	if pause < time.Second || pause > 1100*time.Millisecond || acked < 3 || failed != 0 {
		t.Errorf("pause, acked, failed = %v, %d, %d; want about 1s, at least 3, 0", pause, acked, failed)
	}
	if want := []string{"KILL 0", "KILL 1", "KILL 2"}; !slices.Equal(r.done, want) {
		t.Errorf("restarts = %v, want %v", r.done, want)
	}
}

func TestAckLogWaitBeyond(t *testing.T) {
	l := newAckLog()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.waitBeyond(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("waitBeyond with no ack = %v, want context.Canceled", err)
	}
	done := make(chan error)
	go func() { done <- l.waitBeyond(t.Context(), 1) }()
	l.add(time.Time{})
	l.add(time.Time{})
	if err := <-done; err != nil {
		t.Errorf("waitBeyond(1) after 2 acks = %v", err)
	}
	if l.count() != 2 {
		t.Errorf("count = %d, want 2", l.count())
	}
}

func TestRollingPauseError(t *testing.T) {
	clock := newFakeClock()
	r := &fakeRestarter{n: 3, clock: clock, fail: map[string]bool{"TERM 1": true}}
	put := func(context.Context, string) error { return nil }
	_, _, _, err := rollingPause(t.Context(), r, syscall.SIGTERM, put, clock.now)
	if err == nil || !strings.Contains(err.Error(), "restart 2 of 3 (SIGTERM): exited while catching up") {
		t.Fatalf("rollingPause error = %v, want restart 2 of 3 to fail", err)
	}
	if want := []string{"TERM 0", "TERM 1"}; !slices.Equal(r.done, want) {
		t.Errorf("restarts = %v, want %v (none after the failure)", r.done, want)
	}
}

func TestSpread(t *testing.T) {
	s := time.Second
	if lo, hi := spread(nil); lo != 0 || hi != 0 {
		t.Errorf("spread(nil) = %v, %v", lo, hi)
	}
	if lo, hi := spread([]time.Duration{3 * s, 1 * s, 2 * s}); lo != s || hi != 3*s {
		t.Errorf("spread = %v, %v; want 1s, 3s", lo, hi)
	}
}

func TestShort(t *testing.T) {
	for d, want := range map[time.Duration]string{
		4491 * time.Microsecond: "4.5 ms",
		15 * time.Millisecond:   "15.0 ms",
		1682 * time.Millisecond: "1.682 s",
		time.Second:             "1.000 s",
	} {
		if got := short(d); got != want {
			t.Errorf("short(%v) = %q, want %q", d, got, want)
		}
	}
}
