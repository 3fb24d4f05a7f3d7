package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeWatcher is a cluster whose elections are scripted: trial i has
// leaders[i] as the healthy leader and elects another after took[i].
type fakeWatcher struct {
	leaders    []member        // healthyLeader's answer per trial
	took       []time.Duration // how long after the stop newLeader says another won
	healthyErr error           // healthyLeader's error, if any
	newErr     error           // newLeader's error, if any
	trial      int             // calls to healthyLeader so far
	stoppedFor []string        // old leaders newLeader was asked about
}

var _ electionWatcher = (*fakeWatcher)(nil)

func (f *fakeWatcher) healthyLeader(context.Context) (member, error) {
	if f.healthyErr != nil {
		return member{}, f.healthyErr
	}
	f.trial++
	return f.leaders[f.trial-1], nil
}

func (f *fakeWatcher) newLeader(_ context.Context, old member, since time.Time) (time.Time, error) {
	f.stoppedFor = append(f.stoppedFor, old.id)
	if f.newErr != nil {
		return time.Time{}, f.newErr
	}
	return since.Add(f.took[f.trial-1]), nil
}

// signals records the signals sent, as "STOP 11", and fails those listed.
type signals struct {
	sent []string        // in order
	fail map[string]bool // signals that fail
}

func (s *signals) kill(pid int, sig syscall.Signal) error {
	name := map[syscall.Signal]string{syscall.SIGSTOP: "STOP", syscall.SIGCONT: "CONT"}[sig]
	entry := fmt.Sprintf("%s %d", name, pid)
	s.sent = append(s.sent, entry)
	if s.fail[entry] {
		return errors.New("no such process")
	}
	return nil
}

func nolog(string, ...any) {}

func TestMeasureFailover(t *testing.T) {
	w := &fakeWatcher{
		leaders: []member{{id: "n1", pid: 11}, {id: "n2", pid: 12}, {id: "n1", pid: 11}},
		took:    []time.Duration{1200 * time.Millisecond, 1800 * time.Millisecond, 900 * time.Millisecond},
	}
	var s signals
	got, err := measureFailover(t.Context(), w, 3, s.kill, nolog)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, w.took) {
		t.Errorf("durations = %v, want %v", got, w.took)
	}
	if want := []string{"STOP 11", "CONT 11", "STOP 12", "CONT 12", "STOP 11", "CONT 11"}; !slices.Equal(s.sent, want) {
		t.Errorf("signals = %v, want %v", s.sent, want)
	}
	if want := []string{"n1", "n2", "n1"}; !slices.Equal(w.stoppedFor, want) {
		t.Errorf("newLeader asked about %v, want %v", w.stoppedFor, want)
	}
}

func TestMeasureFailoverErrors(t *testing.T) {
	leader := []member{{id: "n1", pid: 11}}
	tests := []struct {
		name     string
		w        *fakeWatcher
		fail     map[string]bool
		wantErr  string
		wantSent []string
	}{
		{
			name:    "no healthy leader",
			w:       &fakeWatcher{healthyErr: errors.New("nodes do not agree")},
			wantErr: "trial 1: nodes do not agree",
		},
		{
			name:     "no new leader: the old one is resumed anyway",
			w:        &fakeWatcher{leaders: leader, newErr: context.DeadlineExceeded},
			wantErr:  "deadline",
			wantSent: []string{"STOP 11", "CONT 11"},
		},
		{
			name:     "stop fails: nothing to resume",
			w:        &fakeWatcher{leaders: leader, took: []time.Duration{time.Second}},
			fail:     map[string]bool{"STOP 11": true},
			wantErr:  "stop leader n1",
			wantSent: []string{"STOP 11"},
		},
		{
			name:     "resume fails",
			w:        &fakeWatcher{leaders: leader, took: []time.Duration{time.Second}},
			fail:     map[string]bool{"CONT 11": true},
			wantErr:  "resume n1",
			wantSent: []string{"STOP 11", "CONT 11"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := signals{fail: tt.fail}
			got, err := measureFailover(t.Context(), tt.w, 1, s.kill, nolog)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("measureFailover = %v, %v; want an error containing %q", got, err, tt.wantErr)
			}
			if !slices.Equal(s.sent, tt.wantSent) {
				t.Errorf("signals = %v, want %v", s.sent, tt.wantSent)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	s := time.Second
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{3 * s}, 3 * s},
		{[]time.Duration{3 * s, 1 * s, 2 * s}, 2 * s},
		{[]time.Duration{4 * s, 1 * s, 2 * s, 3 * s}, 2500 * time.Millisecond},
		{[]time.Duration{5 * s, 1 * s, 9 * s, 2 * s, 2 * s}, 2 * s},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.in)
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
		if !slices.Equal(in, tt.in) {
			t.Errorf("median reordered its argument: %v", tt.in)
		}
	}
}
