package testkit

import (
	"testing"
	"time"
)

// Interval is how often Poll checks its condition again.
const Interval = 5 * time.Millisecond

// Poll calls cond until it reports true, every Interval, and fails t if it
// has not after timeout: "timed out after TIMEOUT waiting for WHAT: WHY",
// with the reason cond gave last.
func Poll(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, why string)) {
	t.Helper()
	PollEvery(t, Interval, timeout, what, cond)
}

// PollEvery is Poll that checks every interval: for conditions that cost
// a request to a server.
func PollEvery(t testing.TB, interval, timeout time.Duration, what string, cond func() (ok bool, why string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, why)
		}
		time.Sleep(interval)
	}
}
