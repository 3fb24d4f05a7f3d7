package raftnode

import (
	"fmt"
	"sync"

	"github.com/easykv/easykv/segmentlog"
)

// memLog is a LogStore in memory, for Node tests that need no disk: what
// it holds survives a Node's restart as long as the test keeps it, and
// Sync only counts.
type memLog struct {
	mu      sync.Mutex
	first   uint64             // index of entries[0]; 0 is taken as 1
	entries []segmentlog.Entry // index i at entries[i-first]
	syncs   int
}

var _ LogStore = (*memLog)(nil)

func (l *memLog) start() uint64 { return max(l.first, 1) }

func (l *memLog) FirstIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.start()
}

func (l *memLog) LastIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.start() + uint64(len(l.entries)) - 1
}

func (l *memLog) Term(i uint64) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i < l.start() || i >= l.start()+uint64(len(l.entries)) {
		return 0, fmt.Errorf("%w: term of %d, holding %d from %d", segmentlog.ErrOutOfRange, i, len(l.entries), l.start())
	}
	return l.entries[i-l.start()].Term, nil
}

// Entries counts payload bytes against maxBytes, as segmentlog does.
func (l *memLog) Entries(lo, hi, maxBytes uint64) ([]segmentlog.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first, end := l.start(), l.start()+uint64(len(l.entries))
	if lo > hi || (lo < hi && (lo < first || hi > end)) {
		return nil, fmt.Errorf("%w: [%d, %d) not within [%d, %d)", segmentlog.ErrOutOfRange, lo, hi, first, end)
	}
	var out []segmentlog.Entry
	var size uint64
	for _, e := range l.entries[lo-first : hi-first] {
		size += uint64(len(e.Data))
		if len(out) > 0 && size > maxBytes {
			break
		}
		out = append(out, e)
	}
	return out, nil
}

// Append copies the entries' data: the caller may reuse it.
func (l *memLog) Append(es []segmentlog.Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range es {
		if want := l.start() + uint64(len(l.entries)); e.Index != want {
			return fmt.Errorf("append index %d, want %d", e.Index, want)
		}
		e.Data = append([]byte(nil), e.Data...)
		l.entries = append(l.entries, e)
	}
	return nil
}

func (l *memLog) TruncateSuffix(from uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if from < l.start() || from > l.start()+uint64(len(l.entries)) {
		return fmt.Errorf("%w: truncate from %d, holding %d from %d", segmentlog.ErrOutOfRange, from, len(l.entries), l.start())
	}
	l.entries = l.entries[:from-l.start()]
	return nil
}

// TruncatePrefix drops the entries below below, keeping the last one, as
// if every entry had a segment of its own.
func (l *memLog) TruncatePrefix(below uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	drop := min(below-min(below, l.start()), uint64(max(len(l.entries)-1, 0)))
	l.entries = append([]segmentlog.Entry(nil), l.entries[drop:]...)
	l.first = l.start() + drop
	return nil
}

func (l *memLog) Reset(next uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries, l.first = nil, next
	return nil
}

func (l *memLog) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.syncs++
	return nil
}
