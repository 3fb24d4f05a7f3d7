package main

import (
	"slices"
	"testing"
	"time"
)

func TestParseStatTicks(t *testing.T) {
	// A command name with a space and a parenthesis, as a process may name
	// itself; utime 1234 and stime 56 are fields 14 and 15.
	stat := "4242 (easy kv) node) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1234 56 0 0 20 0 9 0 100 1000000 500 18446744073709551615\n"
	got, err := parseStatTicks(stat)
	if err != nil {
		t.Fatal(err)
	}
	if got != 1290 {
		t.Errorf("parseStatTicks = %d, want 1290", got)
	}
	for _, bad := range []string{"", "4242 (x) S 1 2", "4242 (x) S 1 4242 4242 0 -1 0 0 0 0 0 abc 56 0"} {
		if _, err := parseStatTicks(bad); err == nil {
			t.Errorf("parseStatTicks(%q): no error", bad)
		}
	}
}

func TestCPUPerOp(t *testing.T) {
	u := cpuUse{leader: 300 * time.Millisecond, followers: 450 * time.Millisecond, loadgen: 250 * time.Millisecond}
	got := u.perOp(4000)
	want := cpuPerOp{Total: 250, Leader: 75, Followers: 112.5, Loadgen: 62.5}
	if got != want {
		t.Errorf("perOp(4000) = %+v, want %+v", got, want)
	}
	if got := u.perOp(0); got != (cpuPerOp{}) {
		t.Errorf("perOp(0) = %+v, want zeros", got)
	}
	if got := succeeded(result{Total: 4003, Errors: 3}); got != 4000 {
		t.Errorf("succeeded = %d, want 4000", got)
	}
}

func TestSplitServers(t *testing.T) {
	sv, err := splitServers(20, []string{"10", "20", "30"})
	if err != nil {
		t.Fatal(err)
	}
	if sv.leader != 20 || !slices.Equal(sv.followers, []int{10, 30}) {
		t.Errorf("splitServers = %+v", sv)
	}
	if _, err := splitServers(40, []string{"10", "20"}); err == nil {
		t.Error("a leader not among the pids: no error")
	}
	if _, err := splitServers(10, []string{"10", "x"}); err == nil {
		t.Error("a bad pid: no error")
	}
}
