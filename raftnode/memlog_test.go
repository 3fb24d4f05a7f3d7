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
	entries []segmentlog.Entry // index i at entries[i-1]
	syncs   int
}

var _ LogStore = (*memLog)(nil)

func (l *memLog) FirstIndex() uint64 { return 1 }

func (l *memLog) LastIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(len(l.entries))
}

func (l *memLog) Term(i uint64) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i < 1 || i > uint64(len(l.entries)) {
		return 0, fmt.Errorf("%w: term of %d, last %d", segmentlog.ErrOutOfRange, i, len(l.entries))
	}
	return l.entries[i-1].Term, nil
}

// Entries counts payload bytes against maxBytes, as segmentlog does.
func (l *memLog) Entries(lo, hi, maxBytes uint64) ([]segmentlog.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lo > hi || (lo < hi && (lo < 1 || hi-1 > uint64(len(l.entries)))) {
		return nil, fmt.Errorf("%w: [%d, %d) not within [1, %d]", segmentlog.ErrOutOfRange, lo, hi, len(l.entries))
	}
	var out []segmentlog.Entry
	var size uint64
	for _, e := range l.entries[lo-1 : hi-1] {
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
		if want := uint64(len(l.entries)) + 1; e.Index != want {
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
	if from < 1 || from > uint64(len(l.entries))+1 {
		return fmt.Errorf("%w: truncate from %d, last %d", segmentlog.ErrOutOfRange, from, len(l.entries))
	}
	l.entries = l.entries[:from-1]
	return nil
}

func (l *memLog) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.syncs++
	return nil
}
