package raftnode

import (
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzStep drives one core with arbitrary ticks, messages and Ready calls
// decoded from data. Step must never panic, a refused message must change
// nothing, the term must never go back, the vote must never change within a
// term, and a term or vote change must always be marked MustSync. Seeds
// are in testdata/fuzz/FuzzStep.
func FuzzStep(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{data: data}
		r := newTestRaft(t, three, withPreVote, withCheckQuorum, withLog(1, 1, 2), func(c *Config) {
			c.Rand = rand.New(rand.NewPCG(uint64(in.byte()), 0))
		})
		persisted := r.hardState()
		for !in.empty() {
			before := r.Status()
			var err error
			if op := in.byte(); op%4 == 0 {
				r.Tick()
			} else {
				m := in.message()
				if err = r.Step(m); err != nil && !statusEqual(before, r.Status()) {
					t.Fatalf("refused %s (%v) but changed the core", m, err)
				}
			}
			after := r.Status()
			if after.Term < before.Term {
				t.Fatalf("term went back from %d to %d", before.Term, after.Term)
			}
			if after.Term == before.Term && before.Vote != "" && after.Vote != before.Vote {
				t.Fatalf("vote changed from %q to %q in term %d", before.Vote, after.Vote, after.Term)
			}
			if (after.Role == RoleLeader) != (after.Leader == "n1") || (after.Role == RoleLeader) != (after.Progress != nil) {
				t.Fatalf("inconsistent status %+v", after)
			}
			if in.byte()%2 == 0 && r.HasReady() {
				rd := r.Ready()
				changed := rd.HardState.Term != persisted.Term || rd.HardState.Vote != persisted.Vote
				if !rd.HardState.IsEmpty() && changed != rd.MustSync {
					t.Fatalf("hard state %+v after %+v with MustSync %v", rd.HardState, persisted, rd.MustSync)
				}
				if !rd.HardState.IsEmpty() {
					persisted = rd.HardState
				}
				r.Advance()
			}
		}
	})
}

// fuzzInput decodes fuzz data into steps; past the end it reads zeros.
type fuzzInput struct {
	data []byte // what is left
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
	m.Index = uint64(in.byte() % 5)
	m.Commit = uint64(in.byte() % 5)
	flags := in.byte()
	m.Reject = flags&1 != 0
	if flags&2 != 0 {
		m.Reason = "fuzz"
	}
	for i := range uint64(flags >> 2 % 3) {
		m.Entries = append(m.Entries, Entry{Term: in.term(), Index: m.Index + 1 + i, Type: EntryType(in.byte() % 3)})
	}
	return m
}
