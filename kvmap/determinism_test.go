package kvmap

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// entry is one entry of a generated log.
type entry struct {
	index uint64 // log index, increasing with occasional gaps
	data  []byte // payload: a command, a no-op or garbage
}

// genLog builds a reproducible log that exercises everything Apply does:
// session writes, retries of the last write, late retries, writes without a
// session, deletes, undecodable entries, no-ops and gaps in the indexes.
func genLog(seed uint64, n int) []entry {
	rng := rand.New(rand.NewPCG(seed, 0))
	seqs := make([]uint64, 12) // last seq issued per client id 1..11
	log := make([]entry, 0, n)
	index := uint64(0)
	for range n {
		index += 1 + uint64(rng.IntN(10)/9) // a gap now and then
		key := fmt.Sprintf("key-%02d", rng.IntN(40))
		value := fmt.Sprintf("v%d", rng.IntN(1000))
		op := OpPut
		if rng.IntN(3) == 0 {
			op = OpDelete
		}
		c := Command{Op: op, Key: key, Value: value}
		var data []byte
		switch k := rng.IntN(20); {
		case k == 0:
			// a no-op: data stays nil
		case k == 1:
			data = []byte{1, 9, 9} // does not decode
		case k < 5:
			data = c.Encode() // no session
		default:
			// Low client ids write often, high ones rarely enough to expire.
			c.ClientID = uint64(1 + rng.IntN(1+rng.IntN(len(seqs)-1)))
			last := seqs[c.ClientID]
			switch r := rng.IntN(10); {
			case r < 6 || last == 0:
				seqs[c.ClientID]++
				c.Seq = last + 1
			case r < 8:
				c.Seq = last // retry of the last write
			default:
				c.Seq = uint64(1 + rng.IntN(int(last))) // a late retry
			}
			data = c.Encode()
		}
		log = append(log, entry{index: index, data: data})
	}
	return log
}

// modelSession and model restate the semantics in the plainest way, with
// expiry by scanning every session, to check the ordered session list.
type modelSession struct {
	seq, lastIndex uint64
	existed        bool
}

type model struct {
	ttl      uint64
	data     map[string]string
	sessions map[uint64]*modelSession
}

func (m *model) apply(index uint64, data []byte) Result {
	for id, s := range m.sessions {
		if index-s.lastIndex > m.ttl {
			delete(m.sessions, id)
		}
	}
	if len(data) == 0 {
		return Result{}
	}
	c, err := DecodeCommand(data)
	if err != nil {
		return Result{Err: err}
	}
	s := m.sessions[c.ClientID]
	if s != nil {
		s.lastIndex = index
		if c.Seq == s.seq {
			return Result{Existed: s.existed, Duplicate: true}
		}
		if c.Seq < s.seq {
			return Result{Stale: true}
		}
	}
	_, existed := m.data[c.Key]
	if c.Op == OpPut {
		m.data[c.Key] = c.Value
	} else {
		delete(m.data, c.Key)
	}
	if c.ClientID != 0 {
		m.sessions[c.ClientID] = &modelSession{seq: c.Seq, lastIndex: index, existed: existed}
	}
	return Result{Existed: existed}
}

func snapshot(t *testing.T, m *Map) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := m.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sameResult(a, b Result) bool {
	return a.Existed == b.Existed && a.Duplicate == b.Duplicate && a.Stale == b.Stale &&
		(a.Err == nil) == (b.Err == nil) && (a.Err == nil || a.Err.Error() == b.Err.Error())
}

func TestApplyDeterministic(t *testing.T) {
	opts := Options{SessionTTL: 40}
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			log := genLog(seed, 3000)
			a, b := New(opts), New(opts)
			ref := &model{ttl: opts.SessionTTL, data: map[string]string{}, sessions: map[uint64]*modelSession{}}
			var mid []byte   // snapshot of a halfway through
			var kinds [5]int // results seen: err, duplicate, stale, existed, session expired
			for i, e := range log {
				before := a.Sessions()
				ra, rb, rm := a.Apply(e.index, e.data), b.Apply(e.index, e.data), ref.apply(e.index, e.data)
				if !sameResult(ra, rb) || !sameResult(ra, rm) {
					t.Fatalf("entry %d (index %d): results %+v and %+v, model %+v", i, e.index, ra, rb, rm)
				}
				if a.Sessions() < before {
					kinds[4]++
				}
				if a.Sessions() != len(ref.sessions) {
					t.Fatalf("entry %d: Sessions() = %d, model has %d", i, a.Sessions(), len(ref.sessions))
				}
				switch {
				case ra.Err != nil:
					kinds[0]++
				case ra.Duplicate:
					kinds[1]++
				case ra.Stale:
					kinds[2]++
				case ra.Existed:
					kinds[3]++
				}
				if i == len(log)/2 {
					mid = snapshot(t, a)
				}
			}
			for i, n := range kinds {
				if n == 0 {
					t.Fatalf("generated log never produced outcome %d: %v", i, kinds)
				}
			}
			sa, sb := snapshot(t, a), snapshot(t, a)
			if !bytes.Equal(sa, sb) || !bytes.Equal(sa, snapshot(t, b)) {
				t.Fatal("same applied log gave different snapshots")
			}
			if a.Len() != len(ref.data) {
				t.Fatalf("Len() = %d, model has %d", a.Len(), len(ref.data))
			}
			for k, v := range ref.data {
				wantValue(t, a, k, v, true)
			}

			// A node restored from the halfway snapshot that applies the rest
			// of the log must end byte-identical too.
			c, err := ReadSnapshot(bytes.NewReader(mid), opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range log[len(log)/2+1:] {
				c.Apply(e.index, e.data)
			}
			if !bytes.Equal(sa, snapshot(t, c)) {
				t.Fatal("restored map diverged from the one that applied the whole log")
			}
		})
	}
}
