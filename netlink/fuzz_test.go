package netlink

import (
	"bufio"
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

// FuzzReadFrame feeds arbitrary bytes to ReadFrame, frame after frame: it
// must never panic, and whatever decodes must re-encode to a frame that
// decodes to the same message. Seeds are in testdata/fuzz/FuzzReadFrame.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		for {
			var m pb.RaftKvMessage
			// A small limit keeps each run cheap; sizes are tested elsewhere.
			if err := ReadFrame(br, 64<<10, &m); err != nil {
				return
			}
			var buf bytes.Buffer
			if err := WriteFrame(&buf, &m); err != nil {
				t.Fatalf("WriteFrame of a decoded frame: %v", err)
			}
			var again pb.RaftKvMessage
			if err := ReadFrame(bufio.NewReader(&buf), 0, &again); err != nil {
				t.Fatalf("ReadFrame of a re-encoded frame: %v", err)
			}
			if !proto.Equal(&m, &again) {
				t.Fatalf("re-encoded frame decodes to %v, want %v", &again, &m)
			}
		}
	})
}
