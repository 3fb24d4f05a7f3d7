package netlink

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

// DefaultMaxFrameSize is the largest frame body (without its length prefix)
// a reader accepts unless told otherwise, and the largest WriteFrame sends.
const DefaultMaxFrameSize = 4 << 20

// ErrFrameTooLarge is returned (wrapped) for a frame whose length prefix is
// over the limit, on reading, or whose encoding is, on writing.
var ErrFrameTooLarge = errors.New("frame too large")

// WriteFrame writes m to w as one frame: its encoded length as a base-128
// varint, then the encoding. A message over DefaultMaxFrameSize is refused
// with ErrFrameTooLarge before anything is written, because every reader
// would refuse it and drop the connection.
func WriteFrame(w io.Writer, m *pb.RaftKvMessage) error {
	body, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	if len(body) > DefaultMaxFrameSize {
		return fmt.Errorf("%w: %d bytes, max %d", ErrFrameTooLarge, len(body), DefaultMaxFrameSize)
	}
	var prefix [binary.MaxVarintLen64]byte
	if _, err := w.Write(protowire.AppendVarint(prefix[:0], uint64(len(body)))); err != nil {
		return err
	}
	_, err = w.Write(body)
	return err
}

// ReadFrame reads one frame from r into m, replacing its contents. maxSize
// bounds the frame body (<= 0 means DefaultMaxFrameSize); the length prefix is
// checked against it before any buffer is allocated, so a hostile prefix
// costs nothing. It returns io.EOF, unwrapped, only when r ends cleanly
// before a frame starts; a frame cut short wraps io.ErrUnexpectedEOF.
func ReadFrame(r *bufio.Reader, maxSize int, m *pb.RaftKvMessage) error {
	if maxSize <= 0 {
		maxSize = DefaultMaxFrameSize
	}
	err := protodelim.UnmarshalOptions{MaxSize: int64(maxSize)}.UnmarshalFrom(r, m)
	if err == nil || err == io.EOF {
		return err
	}
	if tooLarge := (*protodelim.SizeTooLargeError)(nil); errors.As(err, &tooLarge) {
		return fmt.Errorf("%w: %d bytes, max %d", ErrFrameTooLarge, tooLarge.Size, maxSize)
	}
	return fmt.Errorf("read frame: %w", err)
}
