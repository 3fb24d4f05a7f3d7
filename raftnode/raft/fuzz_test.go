package raft

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzStep drives one core with arbitrary ticks, messages, proposals,
// reads, Readys and Advances decoded from data, acting as its caller: it
// persists each Ready's entries to the core's storage. Step must never
// panic; a refused message must change nothing; the term must never go
// back and the vote never change within a term; a term, vote or log change
// must be marked MustSync; committed entries must never change; committed
// entries come out once each, in order. Messages may carry a snapshot
// (MsgSnap, or malformed ones), and the caller may compact its log at the
// applied index before a message, so the core also sends snapshots; a
// Ready's snapshot is installed (ApplySnapshot) before its entries are
// appended, and the state machine jumps to it. Seeds are in
// testdata/fuzz/FuzzStep.
func FuzzStep(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{data: data}
		r := newTestRaft(t, three, withPreVote, withCheckQuorum, withLog(1, 1, 2), func(c *Config) {
			c.Rand = rand.New(rand.NewPCG(uint64(in.byte()), 0))
			c.MaxInflight, c.MaxMsgBytes = 2, 2*EntryOverhead
		})
		storage := r.log.storage.(*MemoryLogStorage)
		c := fuzzChecker{t: t, r: r, persisted: r.hardState()}
		pending := false // a Ready was taken and not advanced
		for !in.empty() {
			before := r.Status()
			switch op := in.byte() % 8; op {
			case 0:
				r.Tick()
			case 1:
				if _, _, err := r.Propose([]byte{in.byte()}); err != nil {
					c.refused("Propose", err, before)
				}
			case 2:
				if err := r.ReadIndex(uint64(in.byte())); err != nil {
					c.refused("ReadIndex", err, before)
				}
			case 3:
				if pending || !r.HasReady() {
					continue
				}
				rd := r.Ready()
				c.ready(rd)
				if !rd.Snapshot.IsEmpty() {
					if !rd.MustSync || rd.Snapshot.Index <= c.applied {
						t.Fatalf("snapshot %+v with MustSync %v, applied %d", rd.Snapshot, rd.MustSync, c.applied)
					}
					storage.ApplySnapshot(rd.Snapshot)
				}
				if err := storage.Append(rd.Entries); err != nil {
					t.Fatalf("Ready.Entries %v do not fit the durable log: %v", rd.Entries, err)
				}
				if len(rd.Entries) > 0 || !rd.Snapshot.IsEmpty() {
					if !r.StableTo(rd.Mark) {
						t.Fatalf("StableTo(%+v) of a synchronous write refused", rd.Mark)
					}
				}
				pending = true
			case 4:
				if pending {
					r.Advance()
					c.applied = c.handedApplied
					pending = false
				}
			default:
				m := in.message()
				if in.compact && c.applied > 0 && !pending {
					// Compaction at the applied index, as the runtime
					// does in the background between calls.
					if err := storage.Compact(c.applied, c.applied); err != nil {
						t.Fatalf("compact at applied %d: %v", c.applied, err)
					}
					before = r.Status()
				}
				if err := r.Step(m); err != nil && !statusEqual(before, r.Status()) {
					t.Fatalf("refused %s (%v) but changed the core", m, err)
				}
			}
			c.check(before)
		}
	})
}

// fuzzChecker checks a fuzzed core after every operation.
type fuzzChecker struct {
	t             *testing.T
	r             *Raft
	persisted     HardState // as of the last Ready that changed it
	committed     []uint64  // terms of the entries seen committed, from index 1
	applied       uint64    // the last committed entry handed out and advanced
	handedApplied uint64    // the last committed entry handed out
}

// refused checks a refused Propose or ReadIndex: only a leader may be
// refused, then only for want of one, and nothing changes.
func (c *fuzzChecker) refused(op string, err error, before Status) {
	if !errors.Is(err, ErrNotLeader) || before.Role == RoleLeader {
		c.t.Fatalf("%s refused as %s: %v", op, before.Role, err)
	}
	if !statusEqual(before, c.r.Status()) {
		c.t.Fatalf("refused %s changed the core", op)
	}
}

// ready checks what a Ready hands out.
func (c *fuzzChecker) ready(rd Ready) {
	t := c.t
	changed := rd.HardState.Term != c.persisted.Term || rd.HardState.Vote != c.persisted.Vote
	if !rd.HardState.IsEmpty() {
		if changed && !rd.MustSync {
			t.Fatalf("hard state %+v after %+v without MustSync", rd.HardState, c.persisted)
		}
		c.persisted = rd.HardState
	}
	if len(rd.Entries) > 0 && !rd.MustSync {
		t.Fatalf("entries %v without MustSync", rd.Entries)
	}
	next := c.applied + 1
	if !rd.Snapshot.IsEmpty() {
		if len(rd.CommittedEntries) > 0 {
			t.Fatalf("committed entries %v handed out with snapshot %+v", rd.CommittedEntries, rd.Snapshot)
		}
		next = rd.Snapshot.Index + 1 // the state machine is the snapshot's
	}
	for _, e := range rd.CommittedEntries {
		if e.Index != next {
			t.Fatalf("committed entry %d handed out after %d", e.Index, next-1)
		}
		next++
	}
	c.handedApplied = next - 1
	for _, rs := range rd.ReadStates {
		if rs.Index > c.r.commit {
			t.Fatalf("read state %+v beyond commit %d", rs, c.r.commit)
		}
	}
}

// check checks the core after an operation.
func (c *fuzzChecker) check(before Status) {
	t := c.t
	after := c.r.Status()
	if after.Term < before.Term {
		t.Fatalf("term went back from %d to %d", before.Term, after.Term)
	}
	if after.Term == before.Term && before.Vote != "" && after.Vote != before.Vote {
		t.Fatalf("vote changed from %q to %q in term %d", before.Vote, after.Vote, after.Term)
	}
	if (after.Role == RoleLeader) != (after.Leader == "n1") || (after.Role == RoleLeader) != (after.Progress != nil) {
		t.Fatalf("inconsistent status %+v", after)
	}
	if after.Applied > after.Commit || after.Commit > after.LastIndex || after.Commit < before.Commit {
		t.Fatalf("applied %d, commit %d (was %d), last index %d", after.Applied, after.Commit, before.Commit, after.LastIndex)
	}
	compacted := c.r.log.firstIndex() - 1 // before it, in a snapshot
	for i, want := range c.committed {
		if uint64(i)+1 < compacted {
			continue
		}
		if got, ok := c.r.log.term(uint64(i) + 1); !ok || got != want {
			t.Fatalf("committed entry %d changed from term %d to %d", i+1, want, got)
		}
	}
	for i := uint64(len(c.committed)) + 1; i <= after.Commit; i++ {
		tm, _ := c.r.log.term(i)
		c.committed = append(c.committed, tm)
	}
}

// fuzzInput decodes fuzz data into steps; past the end it reads zeros.
type fuzzInput struct {
	data []byte // what is left
	// compact: the last message read asks the caller to compact its log
	// before stepping it.
	compact bool
}

func (in *fuzzInput) empty() bool { return len(in.data) == 0 }

func (in *fuzzInput) byte() byte {
	if len(in.data) == 0 {
		return 0
	}
	b := in.data[0]
	in.data = in.data[1:]
	return b
}

// term reads a small term, or one at the edge of the range.
func (in *fuzzInput) term() uint64 {
	switch b := in.byte(); b {
	case 255:
		return math.MaxUint64
	case 254:
		return math.MaxUint64 - 1
	default:
		return uint64(b % 6)
	}
}

// message reads a message, mostly plausible, sometimes not.
func (in *fuzzInput) message() Message {
	ids := []string{"n1", "n2", "n3", "n9", ""}
	m := Message{
		Type: MsgType(in.byte() % 8),
		From: ids[in.byte()%5],
		To:   "n1",
	}
	if in.byte() == 7 {
		m.To = "n2"
	}
	m.Term = in.term()
	m.LogTerm = in.term()
	m.Index = uint64(in.byte() % 8)
	m.Commit = uint64(in.byte() % 8)
	flags := in.byte()
	m.Reject = flags&1 != 0
	if flags&2 != 0 {
		m.Reason = "fuzz"
	}
	if flags&4 != 0 {
		m.ReadCtx = uint64(in.byte() % 4)
	}
	if flags&8 != 0 {
		m.ConflictTerm, m.ConflictIndex = in.term(), uint64(in.byte()%8)
	}
	if flags&64 != 0 {
		m.Snapshot = SnapshotMeta{Index: uint64(in.byte() % 12), Term: in.term()}
	}
	in.compact = flags&128 != 0
	for i := range uint64(flags>>4) % 4 {
		e := Entry{Term: in.term(), Index: m.Index + 1 + i, Type: EntryType(in.byte() % 3)}
		if e.Type == EntryNormal {
			e.Data = []byte{in.byte()}
		}
		m.Entries = append(m.Entries, e)
	}
	return m
}
