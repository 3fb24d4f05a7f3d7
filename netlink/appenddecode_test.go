package netlink

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

// TestDecodeAppendAgrees: the AppendEntries a leader sends decode as
// proto.Unmarshal decodes them; other messages, and the ones the fast
// path would get wrong, are left to proto.Unmarshal.
func TestDecodeAppendAgrees(t *testing.T) {
	withCommand := appendRequest(2, 10)
	withCommand.AppendEntriesRequest.Entries[1].Command = "PUT k v"
	withCommand.AppendEntriesRequest.Entries[1].Type = pb.EntryType_ENTRY_CONF_CHANGE
	withCommand.RequestId = 9
	heartbeat := appendRequest(0, 0)
	heartbeat.AppendEntriesRequest.ReadCtx = 77
	for _, tc := range []struct {
		name string
		m    *pb.RaftKvMessage
		fast bool
	}{
		{"64 entries", appendRequest(64, 256), true},
		{"empty data", appendRequest(3, 0), true},
		{"command, type, request id", withCommand, true},
		{"heartbeat", heartbeat, true},
		{"kv response", kvResponse(), false},
		{"vote", &pb.RaftKvMessage{Type: pb.RaftKvMessage_VOTE_REQUEST, VoteRequest: &pb.VoteRequest{Term: 4}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := proto.Marshal(tc.m)
			if err != nil {
				t.Fatal(err)
			}
			checkDecodeAppend(t, body, tc.fast)
		})
	}
	// Hand-made bodies the fast path must refuse.
	ae, _ := proto.Marshal(appendRequest(1, 4).AppendEntriesRequest)
	field := func(num protowire.Number, b []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
	}
	for name, body := range map[string][]byte{
		"append twice (merged)": append(field(7, ae), field(7, ae)...),
		"node id not UTF-8":     append(field(7, ae), field(2, []byte{0xff})...),
		"unknown entry field":   field(7, field(5, protowire.AppendVarint(protowire.AppendTag(nil, 9, protowire.VarintType), 1))),
		"entry cut short":       field(7, field(5, []byte{0x22, 0x05, 'a'})),
	} {
		t.Run(name, func(t *testing.T) { checkDecodeAppend(t, body, false) })
	}
}

// checkDecodeAppend decodes body both ways and compares.
func checkDecodeAppend(t *testing.T, body []byte, wantFast bool) {
	t.Helper()
	var fast, slow pb.RaftKvMessage
	ok := decodeAppend(body, &fast)
	if ok != wantFast {
		t.Fatalf("decodeAppend took the message: %v, want %v", ok, wantFast)
	}
	if !ok {
		return
	}
	if err := proto.Unmarshal(body, &slow); err != nil {
		t.Fatalf("decodeAppend took a message proto.Unmarshal refuses: %v", err)
	}
	if !proto.Equal(&fast, &slow) {
		t.Fatalf("decodeAppend: %v\nproto.Unmarshal: %v", &fast, &slow)
	}
}

// FuzzDecodeAppend: whatever decodeAppend takes, proto.Unmarshal takes
// too and decodes to the same message. Seeds are in
// testdata/fuzz/FuzzDecodeAppend and the ones added here.
func FuzzDecodeAppend(f *testing.F) {
	for _, m := range []*pb.RaftKvMessage{appendRequest(3, 5), appendRequest(0, 0), kvResponse()} {
		body, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast, slow pb.RaftKvMessage
		if !decodeAppend(body, &fast) {
			return
		}
		if err := proto.Unmarshal(body, &slow); err != nil {
			t.Fatalf("decodeAppend took a message proto.Unmarshal refuses: %v", err)
		}
		if !proto.Equal(&fast, &slow) {
			t.Fatalf("decodeAppend: %v\nproto.Unmarshal: %v", &fast, &slow)
		}
	})
}
