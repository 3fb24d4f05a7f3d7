package raftnode

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/easykv/easykv/netlink"
)

// MaxDiskStall bounds the SLOW_DISK fault: a stall is a slow disk, not a
// dead one. Clients check the same bound before they ask.
const MaxDiskStall = netlink.MaxDiskStall

// errStopped ends a write that was waiting out a disk stall when the node
// stopped; nothing of it was written.
var errStopped = errors.New("node stopping")

// diskStall is the SLOW_DISK fault: how long each of the node's disk
// syncs (entries, hard state) waits before it runs, as if the disk were
// slow. The admin call sets it and the persister waits on it, from
// different goroutines; the zero value is no stall.
type diskStall struct {
	mu      sync.Mutex
	d       time.Duration // the stall in effect
	changed chan struct{} // closed and replaced by set, so waits recompute
}

// set makes every sync from now on wait d, counted from when its wait
// began (a wait under way is cut short or stretched); 0 clears the fault.
func (s *diskStall) set(d time.Duration) error {
	if d < 0 || d > MaxDiskStall {
		return fmt.Errorf("disk stall %v is outside [0, %v]", d, MaxDiskStall)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = d
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
	return nil
}

// state returns the stall in effect and a channel closed when it changes.
func (s *diskStall) state() (time.Duration, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.d, s.changed
}

// get is the stall in effect.
func (s *diskStall) get() time.Duration {
	d, _ := s.state()
	return d
}

// wait waits out the stall in effect, or until stop is closed; it returns
// errStopped then.
func (s *diskStall) wait(stop <-chan struct{}) error {
	start := time.Now()
	for {
		d, changed := s.state()
		left := d - time.Since(start)
		if left <= 0 {
			return nil
		}
		t := time.NewTimer(left)
		select {
		case <-t.C:
			return nil
		case <-stop:
			t.Stop()
			return errStopped
		case <-changed:
			t.Stop()
		}
	}
}
