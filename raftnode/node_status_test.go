package raftnode

import (
	"testing"

	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/raftnode/raft"
)

// TestTailToWire: the log tail names each entry as the dashboard shows it,
// a configuration entry by its members.
func TestTailToWire(t *testing.T) {
	conf := raft.EncodeMembership(raft.Membership{{ID: "n1"}, {ID: "n2"}, {ID: "n4", Learner: true}})
	put := kvmap.Command{Op: kvmap.OpPut, Key: "k", Value: "v"}
	entries := []raft.Entry{
		{Index: 1, Term: 1, Type: raft.EntryNoop},
		{Index: 2, Term: 1, Type: raft.EntryConfChange, Data: conf},
		{Index: 3, Term: 1, Type: raft.EntryNormal, Data: put.Encode()},
		{Index: 4, Term: 1, Type: raft.EntryConfChange, Data: []byte("{")},
		{Index: 5, Term: 1, Type: raft.EntryNormal, Data: []byte{0xff}},
	}
	want := []string{"(no-op)", "config n1 n2 ◇n4", put.String(), "(undecodable configuration)", "(undecodable)"}
	for i, w := range tailToWire(entries) {
		if w.GetCommand() != want[i] || w.GetIndex() != int64(i+1) {
			t.Errorf("entry %d: %q at %d, want %q", i+1, w.GetCommand(), w.GetIndex(), want[i])
		}
	}
}
