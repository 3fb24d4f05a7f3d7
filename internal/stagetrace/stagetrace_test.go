package stagetrace

import (
	"testing"
	"time"
)

// startFake starts a trace whose clock reads whatever *now is.
func startFake(t *testing.T, now *time.Duration) *Trace {
	tr := Start()
	tr.since = func() time.Duration { return *now }
	t.Cleanup(tr.Stop)
	return tr
}

// TestFollowOnePut follows one put through a leader n1 and followers n2,
// n3 whose AppendEntries cover several entries at once: each stage is
// found by the first mark that covers the put's index, and the first ack
// picks the follower.
func TestFollowOnePut(t *testing.T) {
	var now time.Duration
	tr := startFake(t, &now)
	at := func(us int) { now = time.Duration(us) * time.Microsecond }
	key := Key(7, 3)

	at(10)
	Request(ClientStart, "", key)
	at(11)
	Request(ClientEncoded, "", key)
	at(20)
	Request(ServerDecoded, "n1", key)
	at(25)
	Request(LoopTook, "n1", key)
	Link(key, 42)
	at(26)
	Watermark(LeaderReady, "n1", 41) // an earlier Ready, not ours
	at(27)
	Watermark(LeaderReady, "n1", 43) // ours, with two more entries
	at(28)
	Watermark(AppSent, "n1", 43)
	at(40)
	Watermark(PeerFlushed, "n1", 43)
	for _, f := range []struct {
		id               string
		read, got, durab int
		ack              int
	}{{"n2", 50, 55, 300, 320}, {"n3", 45, 48, 250, 270}} {
		at(f.read)
		Watermark(PeerRead, f.id, 43)
		at(f.got)
		Watermark(FollowerGot, f.id, 43)
		at(f.durab)
		Watermark(Durable, f.id, 43)
		at(f.ack)
		Watermark(AckGot, f.id, 43)
	}
	at(280)
	Watermark(Durable, "n1", 43) // after n3's ack: commit waits for it
	at(290)
	Watermark(Committed, "n1", 42)
	at(292)
	Watermark(Applied, "n1", 42)
	at(330)
	Request(ClientDone, "", key)
	tr.Stop()
	Request(ClientStart, "", Key(8, 1)) // after Stop: not recorded

	puts := tr.Follow("n1")
	if len(puts) != 1 {
		t.Fatalf("Follow found %d puts, want 1", len(puts))
	}
	got := puts[0].Durations()
	want := []int{1, 9, 5, 2, 1, 253, 12, 5, 3, 202, 20, 10, 2, 38}
	if len(got) != len(Parts) || len(want) != len(Parts) {
		t.Fatalf("%d durations for %d parts", len(got), len(Parts))
	}
	for i, d := range got {
		if d != time.Duration(want[i])*time.Microsecond {
			t.Errorf("%s: %v, want %dµs", Parts[i].Name, d, want[i])
		}
	}
}

// TestFollowSkipsUnfinished leaves out a put some stage never reached,
// and one never linked to an index.
func TestFollowSkipsUnfinished(t *testing.T) {
	var now time.Duration
	tr := startFake(t, &now)
	for _, s := range requestStages {
		now += time.Microsecond
		Request(s, "n1", Key(1, 1))
		Request(s, "n1", Key(1, 2))
	}
	Link(Key(1, 1), 5)
	for _, s := range []Stage{LeaderReady, AppSent, PeerFlushed, Durable} {
		now += time.Microsecond
		Watermark(s, "n1", 5)
	}
	for _, s := range []Stage{PeerRead, FollowerGot, Durable, AckGot} {
		now += time.Microsecond
		Watermark(s, "n2", 5)
	}
	// Neither committed nor applied: the trace stopped first.
	if puts := tr.Follow("n1"); len(puts) != 0 {
		t.Fatalf("Follow found %d puts, want none", len(puts))
	}
	now += time.Microsecond
	Watermark(Committed, "n1", 5)
	Watermark(Applied, "n1", 5)
	puts := tr.Follow("n1")
	if len(puts) != 1 || puts[0].Index != 5 {
		t.Fatalf("Follow = %+v, want the put at index 5 alone", puts)
	}
}

// TestOffCostsNothing: without a trace the calls record nothing and need
// no lock.
func TestOffCostsNothing(t *testing.T) {
	if Enabled() {
		t.Fatal("a trace runs before Start")
	}
	if n := testing.AllocsPerRun(100, func() {
		Request(ClientStart, "n1", 1)
		Watermark(Durable, "n1", 1)
		Link(1, 1)
	}); n != 0 {
		t.Fatalf("%v allocations per call without a trace", n)
	}
}
