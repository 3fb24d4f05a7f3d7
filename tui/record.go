package tui

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/easykv/easykv/netlink/pb"
)

// A recording is JSON lines: a header object, then one object per thing the
// dashboard received from a node, in the order received:
//
//	{"format":"easykv-tui-record","version":1,"cluster":"demo","start":"2026-11-26T00:43:58.123Z","status_interval_ms":100,"nodes":[{"id":"n1","addr":"127.0.0.1:7001"},…]}
//	{"t":"2026-11-26T00:43:58.125Z","node":0,"id":"n1","type":"dial"}
//	{"t":"2026-11-26T00:43:58.127Z","node":0,"id":"n1","type":"connected"}
//	{"t":"2026-11-26T00:43:58.130Z","node":0,"id":"n1","type":"event","event":{"kind":"STATUS",…}}
//	{"t":"2026-11-26T00:44:03.002Z","node":1,"id":"n2","type":"closed","error":"connection lost"}
//	{"t":"2026-11-26T00:44:04.310Z","node":-1,"id":"","type":"narration","lines":["scenario split-vote · step 2 of 4 · …",…]}
//
// A narration record is the guided scenario's narrator pane as it changed
// (no lines: the scenario ended), so that a replay shows it; it belongs
// to no node.
//
// node is the node's index in the header's list, or -1 for a member the
// dashboard learned from the cluster's configuration later, which a replay
// finds by id once a replayed status has named it;
// t is when the dashboard received it (the start plus the monotonic time
// since, so it never goes backwards); event is the pb.WatchEvent in
// protojson. Each line is written with one write call as it happens, so a
// dashboard that is killed leaves every line but perhaps a torn last one,
// which the reader ignores.
const (
	// RecordFormat names the file format in the header line.
	RecordFormat = "easykv-tui-record"
	// RecordVersion is the format version written; the reader accepts only it.
	RecordVersion = 1
)

// RecordKind says what a record of a recording is.
type RecordKind string

const (
	// RecordDial: the dashboard started dialling the node.
	RecordDial RecordKind = "dial"
	// RecordDown: the dial or the watch request failed; Err says why.
	RecordDown RecordKind = "down"
	// RecordConnected: the node's watch stream opened.
	RecordConnected RecordKind = "connected"
	// RecordEvent: an event arrived on the node's watch stream.
	RecordEvent RecordKind = "event"
	// RecordClosed: the node's watch stream ended; Err says why.
	RecordClosed RecordKind = "closed"
	// RecordNarration: a guided scenario's narrator pane changed; Lines
	// are its lines (none: the scenario ended).
	RecordNarration RecordKind = "narration"
)

// RecordHeader is a recording's first line.
type RecordHeader struct {
	// Format is RecordFormat.
	Format string `json:"format"`
	// Version is RecordVersion.
	Version int `json:"version"`
	// Cluster is the cluster's name.
	Cluster string `json:"cluster"`
	// Start is when recording began; records' offsets count from it.
	Start time.Time `json:"start"`
	// StatusIntervalMs is how often nodes were asked for a STATUS event.
	StatusIntervalMs int64 `json:"status_interval_ms"`
	// Nodes are the cluster's nodes; a record's Node indexes them.
	Nodes []RecordNode `json:"nodes"`
}

// RecordNode is one node in a recording's header.
type RecordNode struct {
	// ID is the node's id.
	ID string `json:"id"`
	// Addr is the address the dashboard dialled.
	Addr string `json:"addr"`
}

// recordLine is a record as it is written.
type recordLine struct {
	// T is the receive time.
	T time.Time `json:"t"`
	// Node is the node's index in the header.
	Node int `json:"node"`
	// ID is the node's id, for people reading the file.
	ID string `json:"id"`
	// Type is the record's kind.
	Type RecordKind `json:"type"`
	// Error is why, for down and closed.
	Error string `json:"error,omitempty"`
	// Event is the protojson of the event, for event.
	Event json.RawMessage `json:"event,omitempty"`
	// Lines are the narrator pane's lines, for narration.
	Lines []string `json:"lines,omitempty"`
}

// Recorder writes a recording of everything the dashboard receives. Wrap
// the dashboard's DialFunc with Dial; the Model does not know it is being
// recorded. It is safe for concurrent use.
type Recorder struct {
	// mu serialises writes, so lines never interleave and their times
	// never go backwards.
	mu sync.Mutex
	// w gets one Write per line.
	w io.Writer
	// start is the header's start time, with its monotonic reading.
	start time.Time
	// now is the clock.
	now func() time.Time
	// index finds a node's index in the header by id.
	index map[string]int
	// err is the first write failure; writing stops there.
	err error
	// closed says Close was called: later records are dropped.
	closed bool
}

// NewRecorder writes the header for the cluster's nodes to w and returns a
// recorder writing the rest. now is the clock; nil means time.Now.
func NewRecorder(w io.Writer, cluster string, nodes []Node, statusInterval time.Duration, now func() time.Time) (*Recorder, error) {
	if now == nil {
		now = time.Now
	}
	if statusInterval <= 0 {
		statusInterval = defaultStatusInterval
	}
	r := &Recorder{w: w, start: now(), now: now, index: make(map[string]int, len(nodes))}
	h := RecordHeader{
		Format: RecordFormat, Version: RecordVersion, Cluster: cluster,
		Start: r.start.Round(0), StatusIntervalMs: statusInterval.Milliseconds(),
	}
	for i, n := range nodes {
		h.Nodes = append(h.Nodes, RecordNode(n))
		r.index[n.ID] = i
	}
	line, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("record header: %w", err)
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("record header: %w", err)
	}
	return r, nil
}

// Err is the first write failure, if any: recording stopped there.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close stops recording: what arrives later is not written. It does not
// close the writer.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return r.err
}

// Narrate records the narrator pane's lines; give it as Options.Narrate.
func (r *Recorder) Narrate(lines []string) {
	r.writeLine(recordLine{Node: -1, Type: RecordNarration, Lines: lines})
}

// write appends one record for node; ev is marshalled for event records.
func (r *Recorder) write(node string, kind RecordKind, errText string, ev *pb.WatchEvent) {
	var raw json.RawMessage
	if ev != nil {
		b, err := protojson.Marshal(ev)
		if err != nil {
			r.fail(fmt.Errorf("record event: %w", err))
			return
		}
		raw = b
	}
	r.mu.Lock()
	idx, ok := r.index[node]
	r.mu.Unlock()
	if !ok {
		idx = -1 // a node not in the header, learned from the configuration: replayed by its id
	}
	r.writeLine(recordLine{Node: idx, ID: node, Type: kind, Error: errText, Event: raw})
}

// writeLine stamps l with the time and appends it.
func (r *Recorder) writeLine(l recordLine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.err != nil {
		return
	}
	// Start plus the monotonic time since: later lines never have earlier
	// times, whatever the wall clock does.
	l.T = r.start.Add(r.now().Sub(r.start)).Round(0)
	line, err := json.Marshal(l)
	if err != nil {
		r.err = fmt.Errorf("record: %w", err)
		return
	}
	if _, err := r.w.Write(append(line, '\n')); err != nil {
		r.err = fmt.Errorf("record: %w", err)
	}
}

// fail keeps err as the recorder's failure unless there already is one.
func (r *Recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil && !r.closed {
		r.err = err
	}
}

// Dial wraps dial so that every dial, connection, event and stream end of
// every node is recorded.
func (r *Recorder) Dial(dial DialFunc) DialFunc {
	return func(ctx context.Context, node Node) (NodeConn, error) {
		r.write(node.ID, RecordDial, "", nil)
		c, err := dial(ctx, node)
		if err != nil {
			r.write(node.ID, RecordDown, err.Error(), nil)
			return nil, err
		}
		return &recordConn{NodeConn: c, rec: r, node: node.ID}, nil
	}
}

// recordConn is a NodeConn whose watch stream is recorded on its way to the
// model; everything else goes straight to the wrapped connection.
type recordConn struct {
	NodeConn
	// rec gets the records.
	rec *Recorder
	// node is the node's id.
	node string
}

var _ NodeConn = (*recordConn)(nil)

// recordBuffer is the capacity of a recorded stream, so that the model
// still reads events in bursts rather than one at a time.
const recordBuffer = maxBatch

// Watch opens the wrapped connection's stream and hands out a copy of it,
// recording each event as it passes.
func (c *recordConn) Watch(ctx context.Context, statusInterval time.Duration) (<-chan *pb.WatchEvent, error) {
	in, err := c.NodeConn.Watch(ctx, statusInterval)
	if err != nil {
		c.rec.write(c.node, RecordDown, fmt.Sprintf("watch: %v", err), nil)
		return nil, err
	}
	c.rec.write(c.node, RecordConnected, "", nil)
	out := make(chan *pb.WatchEvent, recordBuffer)
	go c.forward(ctx, in, out)
	return out, nil
}

// forward records and passes on every event of in until in closes (the
// stream ended: recorded with the connection's reason) or ctx is done (the
// dashboard dropped the connection: nothing to record).
func (c *recordConn) forward(ctx context.Context, in <-chan *pb.WatchEvent, out chan<- *pb.WatchEvent) {
	defer close(out)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-in:
			if !ok {
				reason := errConnLost.Error()
				if err := c.NodeConn.Err(); err != nil {
					reason = err.Error()
				}
				c.rec.write(c.node, RecordClosed, reason, nil)
				return
			}
			c.rec.write(c.node, RecordEvent, "", ev)
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}
}

// Recording is a recording read back.
type Recording struct {
	// Header is its first line.
	Header RecordHeader
	// Records are the rest, in order, their times never going backwards.
	Records []Record
}

// Record is one thing the dashboard received.
type Record struct {
	// At is when the dashboard received it.
	At time.Time
	// Node is the node's index in the header; -1 for a node the dashboard
	// learned from the cluster's configuration after recording began,
	// which ID names.
	Node int
	// ID is the node's id.
	ID string
	// Kind says what it is.
	Kind RecordKind
	// Err says why, for RecordDown and RecordClosed.
	Err string
	// Event is the event, for RecordEvent.
	Event *pb.WatchEvent
	// Lines are the narrator pane's lines, for RecordNarration.
	Lines []string
}

// Duration is how long the recording lasts: from the start to the last
// record.
func (r *Recording) Duration() time.Duration {
	if len(r.Records) == 0 {
		return 0
	}
	return max(r.Records[len(r.Records)-1].At.Sub(r.Header.Start), 0)
}

// ErrBadRecording is wrapped by every error ReadRecording reports about the
// file's content.
var ErrBadRecording = errors.New("not an easykv-tui recording")

// maxRecordLine bounds one line of a recording (a STATUS event with its log
// tail and peers is a few kilobytes).
const maxRecordLine = 16 << 20

// ReadRecording reads a recording written by a Recorder. A torn last line
// (the dashboard was killed while writing it) is dropped; a bad line
// anywhere else is an error naming it. Records of nodes not in the header
// and of kinds it does not know (a newer writer's) are skipped.
func ReadRecording(rd io.Reader) (*Recording, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecordLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read recording: %w", err)
		}
		return nil, fmt.Errorf("%w: empty", ErrBadRecording)
	}
	var rec Recording
	h := &rec.Header
	if err := json.Unmarshal(sc.Bytes(), h); err != nil || h.Format != RecordFormat {
		return nil, fmt.Errorf("%w: no header line", ErrBadRecording)
	}
	if h.Version != RecordVersion {
		return nil, fmt.Errorf("%w: format version %d, want %d", ErrBadRecording, h.Version, RecordVersion)
	}
	if len(h.Nodes) == 0 {
		return nil, fmt.Errorf("%w: no nodes in the header", ErrBadRecording)
	}
	seen := make(map[string]bool, len(h.Nodes))
	for _, n := range h.Nodes {
		if n.ID == "" || seen[n.ID] {
			return nil, fmt.Errorf("%w: node id %q is empty or repeated", ErrBadRecording, n.ID)
		}
		seen[n.ID] = true
	}
	var bad error // a bad line: an error unless it turns out to be the last
	for n := 2; sc.Scan(); n++ {
		if bad != nil {
			return nil, bad
		}
		r, ok, err := parseRecord(sc.Bytes(), h)
		switch {
		case err != nil:
			bad = fmt.Errorf("%w: line %d: %v", ErrBadRecording, n, err)
		case ok:
			if len(rec.Records) > 0 && r.At.Before(rec.Records[len(rec.Records)-1].At) {
				return nil, fmt.Errorf("%w: line %d: time goes backwards", ErrBadRecording, n)
			}
			rec.Records = append(rec.Records, r)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read recording: %w", err)
	}
	return &rec, nil
}

// parseRecord decodes one record line; ok is false for a record to skip.
func parseRecord(line []byte, h *RecordHeader) (r Record, ok bool, err error) {
	var l recordLine
	if err := json.Unmarshal(line, &l); err != nil {
		return Record{}, false, err
	}
	if l.Type == RecordNarration {
		return Record{At: l.T, Node: -1, Kind: l.Type, Lines: l.Lines}, true, nil
	}
	learned := l.Node == -1 && l.ID != ""
	if !learned && (l.Node < 0 || l.Node >= len(h.Nodes) || h.Nodes[l.Node].ID != l.ID) {
		return Record{}, false, nil
	}
	r = Record{At: l.T, Node: l.Node, ID: l.ID, Kind: l.Type, Err: l.Error}
	switch l.Type {
	case RecordEvent:
		r.Event = new(pb.WatchEvent)
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(l.Event, r.Event); err != nil {
			return Record{}, false, fmt.Errorf("event: %w", err)
		}
	case RecordDial, RecordDown, RecordConnected, RecordClosed:
	default:
		return Record{}, false, nil
	}
	return r, true, nil
}
