package netlink

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

func TestFrameRoundTrip(t *testing.T) {
	msgs := []*pb.RaftKvMessage{
		{},
		{Type: pb.RaftKvMessage_VOTE_REQUEST, NodeId: "n1", To: "n2",
			VoteRequest: &pb.VoteRequest{Term: 7, CandidateId: "n1", LastLogIndex: 12, LastLogTerm: 6}},
		{Type: pb.RaftKvMessage_APPEND_ENTRIES_REQUEST, NodeId: "n1",
			AppendEntriesRequest: &pb.AppendEntriesRequest{Term: 3, LeaderId: "n1", LeaderCommit: 2, Entries: []*pb.LogEntry{
				{Term: 3, Index: 1, Command: "PUT k v", Data: []byte{0, 1, 2, 0xff}},
				{Term: 3, Index: 2, Type: pb.EntryType_ENTRY_NOOP},
			}}},
		{Type: pb.RaftKvMessage_KV_REQUEST, RequestId: 1 << 40,
			KvRequest: &pb.KvRequest{OpType: pb.KvRequest_PUT, Key: "ключ", Value: strings.Repeat("v", 5000)}},
	}
	var buf bytes.Buffer
	for _, m := range msgs {
		if err := WriteFrame(&buf, m); err != nil {
			t.Fatalf("WriteFrame: %v", err)
		}
	}
	br := bufio.NewReader(&buf)
	for i, want := range msgs {
		var got pb.RaftKvMessage
		if err := ReadFrame(br, 0, &got); err != nil {
			t.Fatalf("ReadFrame #%d: %v", i, err)
		}
		if !proto.Equal(&got, want) {
			t.Errorf("frame #%d = %v, want %v", i, &got, want)
		}
	}
	var m pb.RaftKvMessage
	if err := ReadFrame(br, 0, &m); err != io.EOF {
		t.Errorf("ReadFrame at end = %v, want io.EOF", err)
	}
}

// TestFrameNettyCompatible checks frames built byte by byte the way Netty's
// ProtobufVarint32LengthFieldPrepender frames them: one-byte and two-byte
// length prefixes.
func TestFrameNettyCompatible(t *testing.T) {
	long := strings.Repeat("a", 298)
	tests := []struct {
		name  string
		bytes []byte
		want  *pb.RaftKvMessage
	}{
		{
			name: "one-byte prefix",
			bytes: []byte{
				0x0d,       // length 13
				0x08, 0x01, // type = KV_REQUEST
				0x12, 0x02, 'n', '1', // node_id = "n1"
				0x1a, 0x05, // kv_request, 5 bytes:
				0x08, 0x01, //   op_type = GET
				0x12, 0x01, 'k', //   key = "k"
			},
			want: &pb.RaftKvMessage{Type: pb.RaftKvMessage_KV_REQUEST, NodeId: "n1",
				KvRequest: &pb.KvRequest{OpType: pb.KvRequest_GET, Key: "k"}},
		},
		{
			name: "two-byte prefix",
			bytes: append([]byte{
				0xad, 0x02, // length 301
				0x12, 0xaa, 0x02, // node_id, 298 bytes:
			}, long...),
			want: &pb.RaftKvMessage{NodeId: long},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got pb.RaftKvMessage
			if err := ReadFrame(bufio.NewReader(bytes.NewReader(tt.bytes)), 0, &got); err != nil {
				t.Fatalf("ReadFrame: %v", err)
			}
			if !proto.Equal(&got, tt.want) {
				t.Errorf("decoded %v, want %v", &got, tt.want)
			}
			var buf bytes.Buffer
			if err := WriteFrame(&buf, tt.want); err != nil {
				t.Fatalf("WriteFrame: %v", err)
			}
			if !bytes.Equal(buf.Bytes(), tt.bytes) {
				t.Errorf("WriteFrame = % x, want % x", buf.Bytes(), tt.bytes)
			}
		})
	}
}

func TestReadFrameErrors(t *testing.T) {
	frame := func(body ...byte) []byte { return append(protowire.AppendVarint(nil, uint64(len(body))), body...) }
	tests := []struct {
		name    string
		input   []byte
		maxSize int
		want    error // matched with errors.Is; nil means any error but io.EOF and ErrFrameTooLarge
	}{
		{"empty input", nil, 0, io.EOF},
		{"3 GB length prefix", protowire.AppendVarint(nil, 3<<30), 0, ErrFrameTooLarge},
		{"max uint64 length prefix", protowire.AppendVarint(nil, 1<<64-1), 0, ErrFrameTooLarge},
		{"one byte over a small max", append(protowire.AppendVarint(nil, 101), make([]byte, 101)...), 100, ErrFrameTooLarge},
		{"over-long varint", bytes.Repeat([]byte{0xff}, 11), 0, nil},
		{"truncated varint", []byte{0x80}, 0, io.ErrUnexpectedEOF},
		{"truncated body", append([]byte{10}, 0x08, 0x01, 0x12), 0, io.ErrUnexpectedEOF},
		{"garbage body", frame(0xff, 0xff, 0xff, 0xff, 0xff), 0, nil},
		{"bad wire type", frame(0x0f, 0x01), 0, nil},
		{"invalid UTF-8 string", frame(0x12, 0x02, 0xc3, 0x28), 0, nil},
		{"field length past the body", frame(0x12, 0x7f, 'a'), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m pb.RaftKvMessage
			err := ReadFrame(bufio.NewReader(bytes.NewReader(tt.input)), tt.maxSize, &m)
			switch {
			case err == nil:
				t.Fatalf("ReadFrame(% x) = nil, want an error", tt.input)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("ReadFrame = %v, want %v", err, tt.want)
			case tt.want == nil && (err == io.EOF || errors.Is(err, ErrFrameTooLarge)):
				t.Errorf("ReadFrame = %v, want a decode error", err)
			}
		})
	}
}

// TestReadFrameHugePrefixDoesNotAllocate checks the size is refused before
// a buffer of that size exists.
func TestReadFrameHugePrefixDoesNotAllocate(t *testing.T) {
	input := append(protowire.AppendVarint(nil, 3<<30), 1, 2, 3)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var m pb.RaftKvMessage
	err := ReadFrame(bufio.NewReader(bytes.NewReader(input)), 0, &m)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("ReadFrame = %v, want ErrFrameTooLarge", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("ReadFrame allocated %d bytes for a refused frame", grew)
	}
}

func TestWriteFrameTooLarge(t *testing.T) {
	m := &pb.RaftKvMessage{KvRequest: &pb.KvRequest{Value: strings.Repeat("x", DefaultMaxFrameSize)}}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, m); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("WriteFrame = %v, want ErrFrameTooLarge", err)
	}
	if buf.Len() != 0 {
		t.Errorf("WriteFrame wrote %d bytes of a refused frame", buf.Len())
	}
}
