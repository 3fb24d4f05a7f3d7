package testkit

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that records a Fatalf instead of ending the
// test, so that Poll's failure can be checked.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	panic(r)
}

// pollRecorded runs Poll on a recorder and returns what it failed with.
func pollRecorded(t *testing.T, timeout time.Duration, cond func() (bool, string)) (failed string) {
	r := &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
		failed = r.failed
	}()
	Poll(r, timeout, "the thing", cond)
	return ""
}

func TestPoll(t *testing.T) {
	calls := 0
	if failed := pollRecorded(t, time.Minute, func() (bool, string) { calls++; return calls == 3, "not yet" }); failed != "" || calls != 3 {
		t.Fatalf("failed %q after %d calls, want success on the 3rd", failed, calls)
	}
	failed := pollRecorded(t, 0, func() (bool, string) { return false, "still 7" })
	if !strings.Contains(failed, "waiting for the thing: still 7") {
		t.Fatalf("failure %q does not say what was awaited and why", failed)
	}
}
