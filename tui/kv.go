package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

const (
	// maxRedirects is how many NOT_LEADER hints one command follows: enough
	// to cross an election, few enough that two nodes naming each other
	// cannot keep it going.
	maxRedirects = 3
	// maxEchoValue is how much of a put's value its result repeats.
	maxEchoValue = 24
	// maxShownValue is how much of a value read is shown; the rest is long
	// past the width of any terminal.
	maxShownValue = 256
	// promptNode stands in the event pane's node column for the results of
	// commands typed at the prompt.
	promptNode = ">"
	// kvPatience, maxKVRetries and kvRetryDelay bound how a patient model
	// (piped mode) waits out an election: a command is sent again every
	// kvRetryDelay, until kvPatience after it was run (by the model's
	// clock) or maxKVRetries times (by the wall clock's ticks).
	kvPatience   = 5 * time.Second
	maxKVRetries = 50
	kvRetryDelay = 100 * time.Millisecond
)

// errEmptyAnswer stands for a KV call that returned neither an answer nor
// an error.
var errEmptyAnswer = errors.New("empty answer")

// kvOp is one put, get or delete typed at the prompt, carried from node to
// node as it is redirected.
type kvOp struct {
	// echo is the command as its result repeats it, e.g. "put user:1 alice".
	echo string
	// req is sent unchanged to every node asked, so a redirected write keeps
	// its session and sequence number and is applied at most once.
	req *pb.KvRequest
	// start is when the command was run, by the model's clock.
	start time.Time
	// asked are the ids of the nodes asked so far, in order; the last one is
	// being asked now.
	asked []string
	// retries counts the times it was sent again after meeting an election
	// (patient mode only).
	retries int
}

// kvRetryMsg says a put, get or delete that met an election is to be sent
// again, to whichever node leads by then.
type kvRetryMsg struct {
	// op is the operation, its request unchanged.
	op kvOp
}

// put runs "put KEY VALUE"; VALUE is the rest of the line, spaces inside it
// kept.
func (m *Model) put(args string) tea.Cmd {
	key, value := splitWord(args)
	if key == "" || value == "" {
		m.setError("usage: put KEY VALUE")
		return nil
	}
	return m.write(kvOp{
		echo: "put " + key + " " + abbrev(value, maxEchoValue),
		req:  &pb.KvRequest{OpType: pb.KvRequest_PUT, Key: key, Value: value},
	})
}

// del runs "delete KEY" (or "del KEY").
func (m *Model) del(verb string, args []string) tea.Cmd {
	if len(args) != 1 {
		m.setError("usage: %s KEY", verb)
		return nil
	}
	return m.write(kvOp{
		echo: "delete " + args[0],
		req:  &pb.KvRequest{OpType: pb.KvRequest_DELETE, Key: args[0]},
	})
}

// get runs "get KEY", a linearizable read through the leader, or
// "get KEY @ID", a stale read of node ID's own state.
func (m *Model) get(args []string) tea.Cmd {
	switch {
	case len(args) == 1:
		op := kvOp{echo: "get " + args[0], req: &pb.KvRequest{OpType: pb.KvRequest_GET, Key: args[0]}}
		return m.route(op)
	case len(args) == 2 && strings.HasPrefix(args[1], "@"):
		id := args[1][1:]
		idx := m.nodeIndex(id)
		if idx < 0 {
			m.unknownNode("get", id)
			return nil
		}
		op := kvOp{
			echo:  "get " + args[0] + " @" + id,
			req:   &pb.KvRequest{OpType: pb.KvRequest_GET, Key: args[0], Stale: true},
			start: m.ctx.now,
		}
		if m.nodes[idx].conn == nil {
			m.finish(op, failed(id+" is not connected"))
			return nil
		}
		return m.send(idx, op)
	default:
		m.setError("usage: get KEY [@ID]")
		return nil
	}
}

// write sends a put or delete as the next write of the dashboard's session.
func (m *Model) write(op kvOp) tea.Cmd {
	m.sequence++
	op.req.ClientId, op.req.Sequence = m.opts.ClientID, m.sequence
	return m.route(op)
}

// route sends op to the node most likely to be the leader.
func (m *Model) route(op kvOp) tea.Cmd {
	op.start = m.ctx.now
	idx := m.kvTarget()
	if idx < 0 {
		m.finish(op, failed("no node is connected"))
		return nil
	}
	return m.send(idx, op)
}

// kvTarget is the node a put, delete or linearizable get goes to first:
// the leader (leaderOf) if it is connected; or else the first connected node
// that is not paused, or else the first connected one, which will say why it
// cannot serve. -1 when none is connected.
func (m *Model) kvTarget() int {
	if i := m.leaderIndex(); i >= 0 && m.nodes[i].conn != nil {
		return i
	}
	other, paused := -1, -1
	for i, n := range m.nodes {
		switch {
		case n.conn == nil:
		case n.status.GetPaused():
			if paused < 0 {
				paused = i
			}
		case other < 0:
			other = i
		}
	}
	if other >= 0 {
		return other
	}
	return paused
}

// send asks node idx to run op, and says so on the status line.
func (m *Model) send(idx int, op kvOp) tea.Cmd {
	n := m.nodes[idx]
	if len(op.asked) == 0 {
		m.setStatus("%s → sent to %s…", op.echo, n.node.ID)
	} else {
		m.setStatus("%s → %s redirected it to %s…", op.echo, op.asked[len(op.asked)-1], n.node.ID)
	}
	op.asked = append(slices.Clip(op.asked), n.node.ID)
	return kvCmd(idx, n.conn, op, m.opts.Now)
}

// kvDone takes a node's answer to op: it follows a NOT_LEADER hint, or shows
// the result.
func (m *Model) kvDone(msg kvDoneMsg) tea.Cmd {
	op := msg.op
	if msg.err == nil && msg.resp == nil {
		msg.err = errEmptyAnswer
	}
	if msg.err == nil && msg.resp.GetCode() == pb.ErrorCode_NOT_LEADER && !op.req.GetStale() {
		idx, why := m.redirect(op, msg.resp)
		if idx < 0 {
			if cmd := m.retryLater(op, why); cmd != nil {
				return cmd
			}
			m.finish(op, failed(why))
			return nil
		}
		return m.send(idx, op)
	}
	answer := kvResult(op, msg.resp, msg.err, msg.at.Sub(op.start))
	if msg.err == nil && retryable(msg.resp.GetCode()) {
		if cmd := m.retryLater(op, answer.text); cmd != nil {
			return cmd
		}
	}
	m.finish(op, answer)
	switch {
	case msg.err != nil:
	case msg.resp.GetCode() == pb.ErrorCode_NOT_FOUND:
		m.rememberKey(op.req.GetKey(), false)
	case msg.resp.GetCode() == pb.ErrorCode_OK:
		m.rememberKey(op.req.GetKey(), op.req.GetOpType() != pb.KvRequest_DELETE)
	}
	return nil
}

// retryable says an answer means the cluster is between leaders: the same
// request, sent again once one is elected, can succeed (netlink's
// definition, the one ClusterClient retries on). A write answered TIMEOUT or
// UNAVAILABLE may have been applied; sent again with its session and
// sequence number, it is applied at most once.
func retryable(code pb.ErrorCode) bool {
	return netlink.CodeOutcome(code).Retryable()
}

// retryLater schedules op to be sent again in a moment, when the model is
// patient (piped mode, where no one can type the command again) and op has
// not waited kvPatience or been retried maxKVRetries times; otherwise nil.
// why is the failure it waits out, for the status line.
func (m *Model) retryLater(op kvOp, why string) tea.Cmd {
	if !m.repl.patient || op.req.GetStale() || op.retries >= maxKVRetries || m.ctx.now.Sub(op.start) >= kvPatience {
		return nil
	}
	m.setStatus("%s → %s; trying again…", op.echo, why)
	op.retries++
	op.asked = nil // a fresh round of redirects
	return tea.Tick(kvRetryDelay, func(time.Time) tea.Msg { return kvRetryMsg{op: op} })
}

// kvRetry sends op again, to the node most likely to lead now.
func (m *Model) kvRetry(op kvOp) tea.Cmd {
	idx := m.kvTarget()
	if idx < 0 {
		if cmd := m.retryLater(op, "no node is connected"); cmd != nil {
			return cmd
		}
		m.finish(op, failed("no node is connected"))
		return nil
	}
	return m.send(idx, op)
}

// redirect is the node a NOT_LEADER answer to op points to, or -1 and why
// it cannot be followed.
func (m *Model) redirect(op kvOp, resp *pb.KvResponse) (int, string) {
	from := op.asked[len(op.asked)-1]
	id, addr := clean(resp.GetLeaderId()), clean(resp.GetLeaderAddr())
	switch {
	case id == "" && addr == "":
		return -1, from + " is not the leader and knows of none" + detail(resp)
	case len(op.asked) > maxRedirects:
		return -1, fmt.Sprintf("gave up after %d redirects (asked %s)", maxRedirects, strings.Join(op.asked, ", "))
	}
	idx := m.nodeIndex(id)
	if idx < 0 && addr != "" {
		idx = slices.IndexFunc(m.nodes, func(n *nodeState) bool { return n.node.Addr == addr })
	}
	if idx < 0 {
		return -1, fmt.Sprintf("%s says the leader is %s, which is not in the cluster file", from,
			strings.TrimSpace(id+" "+addr))
	}
	if m.nodes[idx].conn == nil {
		return -1, fmt.Sprintf("%s says the leader is %s, which is not connected", from, m.nodes[idx].node.ID)
	}
	return idx, ""
}

// kvAnswer is how a put, get or delete ended, worded for the dashboard and
// for piped mode.
type kvAnswer struct {
	// text follows the command and an arrow on the status line and in the
	// event pane: "OK at index 8 via n2 (3.2ms)".
	text string
	// plain is what piped mode prints, as redis-cli would: `OK (n2, 3.2ms)`,
	// `"alice"`, `(nil)`; empty for a failure, which prints text.
	plain string
	// isErr says the command failed.
	isErr bool
}

// failed is a failure worded as text.
func failed(text string) kvAnswer { return kvAnswer{text: text, isErr: true} }

// finish shows op's result on the status line and in the event pane, and
// hands it to piped mode.
func (m *Model) finish(op kvOp, a kvAnswer) {
	line := clean(op.echo + " → " + a.text)
	m.status = statusLine{text: line, isErr: a.isErr, at: m.ctx.now}
	m.events.add(eventLine{at: m.ctx.now, node: promptNode, text: line})
	switch {
	case a.isErr:
		m.emit("(error) " + clean(a.text))
	default:
		m.emit(a.plain)
	}
}

// kvResult words the last answer to op, which took took from when it was
// typed.
func kvResult(op kvOp, resp *pb.KvResponse, err error, took time.Duration) kvAnswer {
	node := op.asked[len(op.asked)-1]
	isWrite := op.req.GetOpType() != pb.KvRequest_GET
	const mayHaveApplied = "; the write may or may not have been applied"
	maybe := ""
	if isWrite && (err != nil || netlink.CodeOutcome(resp.GetCode()).MayHaveApplied()) {
		// A write whose answer was lost, or that the node may have
		// proposed, may be committed later all the same.
		maybe = mayHaveApplied
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return failed(fmt.Sprintf("no answer from %s within %v%s", node, kvTimeout, maybe))
		}
		return failed(fmt.Sprintf("%s: %v%s", node, err, maybe))
	}
	via := fmt.Sprintf("via %s (%s", node, latency(took))
	if len(op.asked) > 1 {
		via += ", redirected by " + strings.Join(op.asked[:len(op.asked)-1], ", ")
	}
	via += ")"
	ok := fmt.Sprintf("OK (%s, %s)", node, latency(took))
	switch resp.GetCode() {
	case pb.ErrorCode_OK:
		switch op.req.GetOpType() {
		case pb.KvRequest_GET:
			return kvAnswer{
				text:  strconv.Quote(abbrev(resp.GetValue(), maxShownValue)) + " " + via,
				plain: strconv.Quote(resp.GetValue()),
			}
		case pb.KvRequest_DELETE:
			return kvAnswer{text: "deleted" + atIndex(resp) + " " + via, plain: ok}
		default:
			return kvAnswer{text: "OK" + atIndex(resp) + " " + via, plain: ok}
		}
	case pb.ErrorCode_NOT_FOUND:
		return kvAnswer{text: "(not found) " + via, plain: "(nil)"}
	case pb.ErrorCode_PAUSED:
		return failed(node + " is paused" + detail(resp))
	case pb.ErrorCode_TIMEOUT:
		return failed("timed out on " + node + detail(resp) + maybe)
	case pb.ErrorCode_UNAVAILABLE:
		return failed(node + " is unavailable" + detail(resp) + maybe)
	case pb.ErrorCode_BAD_REQUEST:
		return failed(node + " rejected it" + detail(resp))
	case pb.ErrorCode_UNAUTHENTICATED:
		return failed(node + " refused it: not authenticated" + detail(resp))
	case pb.ErrorCode_NOT_LEADER:
		return failed(node + " is not the leader" + detail(resp))
	default:
		// A code from a newer node: do not claim a write was not applied.
		return failed(fmt.Sprintf("%s answered %v%s%s", node, resp.GetCode(), detail(resp), maybe))
	}
}

// detail is a node's own words about a failure, as ": words", or nothing.
func detail(resp *pb.KvResponse) string {
	if msg := resp.GetMessage(); msg != "" {
		return ": " + msg
	}
	return ""
}

// atIndex says where a write landed in the log, when the node said.
func atIndex(resp *pb.KvResponse) string {
	if i := resp.GetIndex(); i > 0 {
		return fmt.Sprintf(" at index %d", i)
	}
	return ""
}

// latency is a round trip as people read it: 0.8ms, 12ms, 1.25s.
func latency(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d.Round(100*time.Microsecond))/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond).Milliseconds())
	default:
		return fmt.Sprintf("%.2fs", d.Round(10*time.Millisecond).Seconds())
	}
}

// abbrev is s cut to at most n runes, the last one "…" when it was cut.
func abbrev(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
