package netlink

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

// DefaultMaxFrameSize is the largest frame body (without its length prefix)
// a reader accepts unless told otherwise, and the largest WriteFrame sends.
const DefaultMaxFrameSize = 4 << 20

// firstChunk is how much of a frame body too long for the reader's buffer
// is allocated before any of it arrives. It is small because a connection
// that claims a large frame and stalls holds it until it closes: 8 KiB
// keeps hundreds of such connections cheap, and a real 4 MiB frame costs
// only a few more doublings.
const firstChunk = 8 << 10

// ErrFrameTooLarge is returned (wrapped) for a frame whose length prefix is
// over the limit, on reading, or whose encoding is, on writing.
var ErrFrameTooLarge = errors.New("frame too large")

// WriteFrame writes m to w as one frame: its encoded length as a base-128
// varint, then the encoding. A message over DefaultMaxFrameSize is refused
// with ErrFrameTooLarge before anything is written, because every reader
// would refuse it and drop the connection.
//
// Written to a *bufio.Writer, the frame is encoded straight into its
// buffer (flushing first if it does not fit what is left): no allocation,
// and many frames per write to the connection.
func WriteFrame(w io.Writer, m *pb.RaftKvMessage) error {
	size := proto.Size(m)
	if size > DefaultMaxFrameSize {
		return fmt.Errorf("%w: %d bytes, max %d", ErrFrameTooLarge, size, DefaultMaxFrameSize)
	}
	need := protowire.SizeVarint(uint64(size)) + size
	var buf []byte
	if bw, ok := w.(*bufio.Writer); ok && need <= bw.Size() {
		if need > bw.Available() {
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		buf = bw.AvailableBuffer()
	} else {
		buf = make([]byte, 0, need)
	}
	buf = protowire.AppendVarint(buf, uint64(size))
	// Size has just measured m and every message in it; the encoding
	// reuses those sizes instead of measuring again.
	buf, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(buf, m)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	if len(buf) != need {
		// m changed under us; a frame with a wrong length prefix would
		// desynchronize the reader.
		return fmt.Errorf("encode frame: %d bytes, measured %d", len(buf), need)
	}
	_, err = w.Write(buf)
	return err
}

// ReadFrame reads one frame from r into m, replacing its contents. maxSize
// bounds the frame body (<= 0 means DefaultMaxFrameSize); the length
// prefix is checked against it before any buffer is allocated, and a body
// longer than r's buffer is read into one that grows as its bytes arrive,
// so a hostile prefix costs at most firstChunk, or twice what its sender
// actually sends, not what it claims. It returns io.EOF, unwrapped, only
// when r ends cleanly before a frame starts; a frame cut short wraps
// io.ErrUnexpectedEOF.
func ReadFrame(r *bufio.Reader, maxSize int, m *pb.RaftKvMessage) error {
	if maxSize <= 0 {
		maxSize = DefaultMaxFrameSize
	}
	size, err := readLength(r)
	if err != nil {
		return err
	}
	if size > uint64(maxSize) {
		return fmt.Errorf("%w: %d bytes, max %d", ErrFrameTooLarge, size, maxSize)
	}
	n := int(size)
	if n <= r.Size() {
		// The body fits the reader's buffer: decode it in place.
		body, err := r.Peek(n)
		if err != nil {
			return fmt.Errorf("read frame: %w", unexpected(err))
		}
		defer r.Discard(n)
		return unmarshalFrame(body, m)
	}
	// One allocation up to firstChunk; beyond, the buffer doubles as the
	// bytes arrive.
	body := make([]byte, min(n, firstChunk))
	for filled := 0; ; {
		if _, err := io.ReadFull(r, body[filled:]); err != nil {
			return fmt.Errorf("read frame: %w", unexpected(err))
		}
		filled = len(body)
		if filled == n {
			return unmarshalFrame(body, m)
		}
		body = append(body, make([]byte, min(n-filled, filled))...)
	}
}

// readLength reads a frame's varint length prefix. It returns io.EOF,
// unwrapped, when r ends before the first byte.
func readLength(r *bufio.Reader) (uint64, error) {
	var buf [binary.MaxVarintLen64]byte
	n := 0
	for n < len(buf) {
		b, err := r.ReadByte()
		if err == io.EOF && n == 0 {
			return 0, io.EOF
		}
		if err != nil {
			return 0, fmt.Errorf("read frame: %w", unexpected(err))
		}
		buf[n] = b
		n++
		if b < 0x80 {
			break
		}
	}
	size, used := protowire.ConsumeVarint(buf[:n])
	if used < 0 {
		return 0, fmt.Errorf("read frame: length prefix: %w", protowire.ParseError(used))
	}
	return size, nil
}

func unmarshalFrame(body []byte, m *pb.RaftKvMessage) error {
	if decodeAppend(body, m) {
		return nil
	}
	if err := proto.Unmarshal(body, m); err != nil {
		return fmt.Errorf("read frame: %w", err)
	}
	return nil
}

// unexpected turns an end of input inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
