package netlink

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/easykv/easykv/netlink/pb"
)

// appendRequest is a leader's MsgApp with n entries of size bytes each.
func appendRequest(n, size int) *pb.RaftKvMessage {
	req := &pb.AppendEntriesRequest{Term: 3, LeaderId: "n1", PrevLogIndex: 1000, PrevLogTerm: 3, LeaderCommit: 999}
	for i := range n {
		req.Entries = append(req.Entries, &pb.LogEntry{Term: 3, Index: int64(1001 + i), Data: bytes.Repeat([]byte{'v'}, size)})
	}
	return &pb.RaftKvMessage{Type: pb.RaftKvMessage_APPEND_ENTRIES_REQUEST, NodeId: "n1", To: "n2", AppendEntriesRequest: req}
}

// kvResponse is a node's answer to a put.
func kvResponse() *pb.RaftKvMessage {
	return &pb.RaftKvMessage{Type: pb.RaftKvMessage_KV_RESPONSE, NodeId: "n1", RequestId: 12345,
		KvResponse: &pb.KvResponse{Success: true, Index: 123456, RequestId: "c7-12345", NodeId: "n1"}}
}

// TestWriteFrameBuffered: frames written to a bufio.Writer, encoded in
// its buffer, with a flush when one does not fit, or around it when it is
// larger than the buffer, are the bytes written to any other writer.
func TestWriteFrameBuffered(t *testing.T) {
	msgs := []*pb.RaftKvMessage{kvResponse(), appendRequest(3, 40), kvResponse(), appendRequest(1, 500), kvResponse(),
		{Type: pb.RaftKvMessage_KV_REQUEST, KvRequest: &pb.KvRequest{Key: strings.Repeat("k", 200)}}}
	var want bytes.Buffer
	for _, m := range msgs {
		if err := WriteFrame(&want, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, size := range []int{16, 64, 256, 4096} {
		var got bytes.Buffer
		bw := bufio.NewWriterSize(&got, size)
		for _, m := range msgs {
			if err := WriteFrame(bw, m); err != nil {
				t.Fatal(err)
			}
		}
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("buffer of %d bytes: wrote % x, want % x", size, got.Bytes(), want.Bytes())
		}
	}
}

// BenchmarkWriteFrame: encoding a frame into a connection's write buffer,
// as peer links and the server's client connections do.
func BenchmarkWriteFrame(b *testing.B) {
	for _, tc := range []struct {
		name string
		m    *pb.RaftKvMessage
	}{
		{"append-64x256B", appendRequest(64, 256)},
		{"append-1x256B", appendRequest(1, 256)},
		{"kv-response", kvResponse()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			bw := bufio.NewWriterSize(io.Discard, peerWriteBuffer)
			b.SetBytes(int64(frameLen(b, tc.m)))
			b.ReportAllocs()
			for b.Loop() {
				if err := WriteFrame(bw, tc.m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadFrame: decoding frames from a connection's read buffer, as
// the server does for peers and clients.
func BenchmarkReadFrame(b *testing.B) {
	for _, tc := range []struct {
		name string
		m    *pb.RaftKvMessage
	}{
		{"append-64x256B", appendRequest(64, 256)},
		{"append-1x256B", appendRequest(1, 256)},
		{"kv-response", kvResponse()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var one bytes.Buffer
			if err := WriteFrame(&one, tc.m); err != nil {
				b.Fatal(err)
			}
			stream := bytes.Repeat(one.Bytes(), max(1, (1<<20)/one.Len()))
			r := bytes.NewReader(stream)
			br := bufio.NewReader(r)
			b.SetBytes(int64(one.Len()))
			b.ReportAllocs()
			for b.Loop() {
				m := new(pb.RaftKvMessage)
				err := ReadFrame(br, 0, m)
				if err == io.EOF {
					r.Reset(stream)
					br.Reset(r)
					err = ReadFrame(br, 0, m)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// frameLen is the length of m's frame.
func frameLen(b *testing.B, m *pb.RaftKvMessage) int {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, m); err != nil {
		b.Fatal(err)
	}
	return buf.Len()
}
