package raftnode

import (
	"errors"
	"fmt"

	"github.com/easykv/easykv/segmentlog"
)

// segmentStorage shows the durable segment log to the core as its Storage.
type segmentStorage struct {
	log *segmentlog.Log // the node's write-ahead log
}

var _ Storage = segmentStorage{}

func (s segmentStorage) FirstIndex() uint64 { return s.log.FirstIndex() }
func (s segmentStorage) LastIndex() uint64  { return s.log.LastIndex() }

func (s segmentStorage) Term(i uint64) (uint64, error) {
	if i == 0 {
		return 0, nil
	}
	t, err := s.log.Term(i)
	if errors.Is(err, segmentlog.ErrOutOfRange) {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return t, err
}

func (s segmentStorage) Entries(lo, hi, maxBytes uint64) ([]Entry, error) {
	es, err := s.log.Entries(lo, hi, maxBytes)
	if errors.Is(err, segmentlog.ErrOutOfRange) {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err != nil {
		return nil, err
	}
	// The segment log counts payload bytes only; the core also counts a
	// fixed overhead per entry, so that a run of empty no-ops stays bounded.
	out := make([]Entry, 0, len(es))
	var size uint64
	for _, e := range es {
		size += uint64(len(e.Data)) + EntryOverhead
		if len(out) > 0 && size > maxBytes {
			break
		}
		out = append(out, Entry{Term: e.Term, Index: e.Index, Type: EntryType(e.Type), Data: e.Data})
	}
	return out, nil
}

// persistEntries makes entries durable, first cutting off any conflicting
// suffix they replace (Ready contract, step 1).
func persistEntries(log *segmentlog.Log, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if first := entries[0].Index; first <= log.LastIndex() {
		if err := log.TruncateSuffix(first); err != nil {
			return err
		}
	}
	batch := make([]segmentlog.Entry, len(entries))
	for i, e := range entries {
		batch[i] = segmentlog.Entry{Term: e.Term, Index: e.Index, Type: uint8(e.Type), Data: e.Data}
	}
	if err := log.Append(batch); err != nil {
		return err
	}
	return log.Sync()
}
