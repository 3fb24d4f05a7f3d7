package raftnode

import (
	"testing"

	"github.com/easykv/easykv/raftnode/raft"
)

// TestEntryEncoderShares: the MsgApps of one Ready share the encoding of
// the entries they have in common, known by index and term; after reset,
// nothing is shared with the next Ready.
func TestEntryEncoderShares(t *testing.T) {
	var enc entryEncoder
	es := []raft.Entry{{Index: 5, Term: 2, Data: []byte("a")}, {Index: 6, Term: 2, Data: []byte("b")}, {Index: 7, Term: 2}}
	toN2 := toWire(raft.Message{Type: raft.MsgApp, From: "n1", To: "n2", Term: 2, Index: 4, LogTerm: 2, Entries: es}, &enc)
	toN3 := toWire(raft.Message{Type: raft.MsgApp, From: "n1", To: "n3", Term: 2, Index: 5, LogTerm: 2, Entries: es[1:]}, &enc)
	a, b := toN2.GetAppendEntriesRequest().GetEntries(), toN3.GetAppendEntriesRequest().GetEntries()
	if len(a) != 3 || len(b) != 2 || a[1] != b[0] || a[2] != b[1] {
		t.Fatalf("entries 6 and 7 encoded twice: %p %p, %p %p", a[1], b[0], a[2], b[1])
	}
	if string(a[0].GetData()) != "a" || a[0].GetIndex() != 5 || a[2].GetTerm() != 2 {
		t.Fatalf("encoded %v", a)
	}
	// The same index in another term is another entry.
	other := toWire(raft.Message{Type: raft.MsgApp, From: "n1", To: "n2", Term: 3, Index: 5, LogTerm: 2, Entries: []raft.Entry{{Index: 6, Term: 3}}}, &enc)
	if got := other.GetAppendEntriesRequest().GetEntries()[0]; got == a[1] || got.GetTerm() != 3 {
		t.Fatalf("entry 6 of term 3 encoded as %v", got)
	}
	enc.reset()
	again := toWire(raft.Message{Type: raft.MsgApp, From: "n1", To: "n2", Term: 2, Index: 4, LogTerm: 2, Entries: es}, &enc)
	if again.GetAppendEntriesRequest().GetEntries()[0] == a[0] {
		t.Fatal("shared across a reset")
	}
	// Entries before the first encoded, or far past the last, are encoded
	// but not kept.
	behind := toWire(raft.Message{Type: raft.MsgApp, From: "n1", To: "n3", Term: 2, Index: 1, LogTerm: 1, Entries: []raft.Entry{{Index: 2, Term: 1}}}, &enc)
	if got := behind.GetAppendEntriesRequest().GetEntries()[0]; got.GetIndex() != 2 || enc.get(raft.Entry{Index: 2, Term: 1}) != nil {
		t.Fatalf("an entry behind the first: %v, kept %v", got, enc.get(raft.Entry{Index: 2, Term: 1}))
	}
}
