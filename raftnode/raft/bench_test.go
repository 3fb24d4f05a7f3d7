package raft

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// windowStorage keeps only the last entries appended, so that a long
// benchmark measures the core rather than an ever-growing slice.
type windowStorage struct {
	entries []Entry // the kept entries, consecutive
	first   uint64  // index of entries[0]
}

var _ LogStorage = (*windowStorage)(nil)

// windowKeep is how many entries windowStorage keeps at least.
const windowKeep = 1024

func newWindowStorage() *windowStorage { return &windowStorage{first: 1} }

func (s *windowStorage) FirstIndex() uint64 { return s.first }
func (s *windowStorage) LastIndex() uint64  { return s.first + uint64(len(s.entries)) - 1 }

// Snapshot is none: the benchmarks' followers keep up, so no leader
// needs the entries it forgot.
func (s *windowStorage) Snapshot() SnapshotMeta { return SnapshotMeta{} }

func (s *windowStorage) Term(i uint64) (uint64, error) {
	switch {
	case i == s.first-1 && i == 0:
		return 0, nil
	case i < s.first:
		return 0, ErrCompacted
	case i > s.LastIndex():
		return 0, ErrUnavailable
	}
	return s.entries[i-s.first].Term, nil
}

func (s *windowStorage) Entries(lo, hi, maxBytes uint64) ([]Entry, error) {
	if lo < s.first || hi > s.LastIndex()+1 || lo > hi {
		return nil, fmt.Errorf("entries [%d, %d) of [%d, %d]: %w", lo, hi, s.first, s.LastIndex(), ErrUnavailable)
	}
	es := s.entries[lo-s.first : hi-s.first : hi-s.first]
	return LimitSize(es, maxBytes, true), nil
}

// Append adds es, which must follow the last entry, and forgets old ones.
func (s *windowStorage) Append(es []Entry) error {
	if len(es) > 0 && es[0].Index != s.LastIndex()+1 {
		return fmt.Errorf("append at %d after %d", es[0].Index, s.LastIndex())
	}
	if len(s.entries) >= 2*windowKeep {
		drop := len(s.entries) - windowKeep
		s.entries = append([]Entry(nil), s.entries[drop:]...)
		s.first += uint64(drop)
	}
	s.entries = append(s.entries, es...)
	return nil
}

// benchCluster is a few cores joined by a lossless, in-order queue, with
// each Ready carried out at once: the cost of the core alone.
type benchCluster struct {
	nodes map[string]*Raft // by id
	ids   []string         // sorted
	queue []Message        // sent, not yet stepped
}

func newBenchCluster(b *testing.B, ids ...string) *benchCluster {
	c := &benchCluster{nodes: map[string]*Raft{}, ids: ids}
	for i, id := range ids {
		r, err := New(Config{
			ID: id, Peers: ids, ElectionTicks: 10, HeartbeatTicks: 1,
			Rand: rand.New(rand.NewPCG(uint64(i), 1)),
			Log:  newWindowStorage(),
		})
		if err != nil {
			b.Fatal(err)
		}
		c.nodes[id] = r
	}
	leader := c.nodes[ids[0]]
	leader.becomeCandidate("bench", false)
	c.pump(b)
	if leader.role != RoleLeader || leader.commit != 1 {
		b.Fatalf("no leader: %s commit %d", leader.role, leader.commit)
	}
	return c
}

// pump carries out Readys and delivers messages until nothing is left.
func (c *benchCluster) pump(b *testing.B) {
	for {
		busy := false
		for _, id := range c.ids {
			r := c.nodes[id]
			if !r.HasReady() {
				continue
			}
			busy = true
			rd := r.Ready()
			if err := r.log.storage.(*windowStorage).Append(rd.Entries); err != nil {
				b.Fatal(err)
			}
			stableReady(r, rd)
			c.queue = append(c.queue, rd.Messages...)
			r.Advance()
		}
		for len(c.queue) > 0 {
			busy = true
			m := c.queue[0]
			c.queue = c.queue[1:]
			if err := c.nodes[m.To].Step(m); err != nil {
				b.Fatal(err)
			}
		}
		if !busy {
			return
		}
	}
}

// BenchmarkProposeCommit: one 128-byte proposal on a three-node cluster,
// from Propose until every node has applied it: the leader's append,
// replication, the followers' appends and acknowledgements, the commit.
func BenchmarkProposeCommit(b *testing.B) {
	c := newBenchCluster(b, "n1", "n2", "n3")
	leader := c.nodes["n1"]
	data := make([]byte, 128)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		index, _, err := leader.Propose(data)
		if err != nil {
			b.Fatal(err)
		}
		c.pump(b)
		if leader.log.applied != index {
			b.Fatalf("applied %d, want %d", leader.log.applied, index)
		}
	}
}

// BenchmarkStepAppend: a follower takes a MsgApp of 64 entries of 128
// bytes and carries out the Ready that persists and acknowledges them.
func BenchmarkStepAppend(b *testing.B) {
	r, err := New(Config{
		ID: "n1", Peers: three, ElectionTicks: 10, HeartbeatTicks: 1,
		Rand: rand.New(rand.NewPCG(1, 1)), Log: newWindowStorage(), HardState: HardState{Term: 1},
	})
	if err != nil {
		b.Fatal(err)
	}
	storage := r.log.storage.(*windowStorage)
	data := make([]byte, 128)
	b.SetBytes(64 * int64(len(data)))
	b.ReportAllocs()
	var last uint64
	for b.Loop() {
		es := make([]Entry, 64)
		for i := range es {
			es[i] = Entry{Term: 1, Index: last + uint64(i) + 1, Data: data}
		}
		m := Message{Type: MsgApp, From: "n2", To: "n1", Term: 1, Index: last, Commit: last, Entries: es}
		if last > 0 {
			m.LogTerm = 1
		}
		if err := r.Step(m); err != nil {
			b.Fatal(err)
		}
		rd := r.Ready()
		if err := storage.Append(rd.Entries); err != nil {
			b.Fatal(err)
		}
		stableReady(r, rd)
		if len(rd.Messages) != 1 || rd.Messages[0].Index != last+64 {
			b.Fatalf("answered %v", rd.Messages)
		}
		r.Advance()
		last += 64
	}
}
