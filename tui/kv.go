package tui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

const (
	// maxEchoValue is how much of a put's value its result repeats.
	maxEchoValue = 24
	// maxShownValue is how much of a value read is shown; the rest is long
	// past the width of any terminal.
	maxShownValue = 256
	// promptNode stands in the event pane's node column for the results of
	// commands typed at the prompt.
	promptNode = ">"
	// mayHaveApplied ends the failure of a write that may have been applied.
	mayHaveApplied = "; the write may or may not have been applied"
)

// errNotConnected is a node's failure, to the dashboard's ClusterClient,
// while the dashboard has no connection to it.
var errNotConnected = errors.New("not connected")

// kvOp is one put, get or delete typed at the prompt.
type kvOp struct {
	// echo is the command as its result repeats it, e.g. "put user:1 alice".
	echo string
	// req is the request. A put, delete or linearizable get goes to the
	// dashboard's ClusterClient, which stamps a write's session and
	// sequence; a stale get goes to its node as it is.
	req *pb.KvRequest
	// start is when the command was run, by the model's clock.
	start time.Time
	// first is the id of the node asked first.
	first string
}

// put runs "put KEY VALUE": args is the line after "put", split as
// redis-cli splits it (splitArgs). VALUE is every argument after KEY,
// joined by single spaces, as redis-cli would: `put k hello   world` stores
// "hello world"; a quoted VALUE is kept exactly, `put k "  a  b "` and
// `put k ""` included.
func (m *Model) put(args string) tea.Cmd {
	toks, err := splitArgs(args)
	if err != nil {
		m.setError("put: %v", err)
		return nil
	}
	if len(toks) < 2 {
		m.setError("usage: put KEY VALUE")
		return nil
	}
	key := toks[0].text
	if key == "" {
		m.setError("put: the key is empty")
		return nil
	}
	value := strings.Join(tokenValues(toks[1:]), " ")
	return m.route(kvOp{
		echo: "put " + quoteArg(key) + " " + abbrev(value, maxEchoValue),
		req:  &pb.KvRequest{OpType: pb.KvRequest_PUT, Key: key, Value: value},
	})
}

// del runs "delete KEY" (or "del KEY").
func (m *Model) del(verb string, args []string) tea.Cmd {
	if len(args) != 1 {
		m.setError("usage: %s KEY", verb)
		return nil
	}
	if args[0] == "" {
		m.setError("%s: the key is empty", verb)
		return nil
	}
	return m.route(kvOp{
		echo: "delete " + quoteArg(args[0]),
		req:  &pb.KvRequest{OpType: pb.KvRequest_DELETE, Key: args[0]},
	})
}

// get runs "get KEY", a linearizable read through the leader, or
// "get KEY @ID", a stale read of node ID's own state. @ID names a node only
// unquoted: get '@n1' reads the key "@n1", and get @n1 alone is a usage
// error that says so.
func (m *Model) get(args []string) tea.Cmd {
	toks := m.argTokens(args)
	isNode := func(t token) bool { return !t.quoted && strings.HasPrefix(t.text, "@") }
	switch {
	case len(toks) == 1 && isNode(toks[0]):
		m.setError("usage: get KEY [@ID]; %s names a node: to read the key %s, quote it: get '%s'",
			toks[0].text, quoteArg(toks[0].text), toks[0].text)
		return nil
	case len(toks) >= 1 && toks[0].text == "":
		m.setError("get: the key is empty")
		return nil
	case len(toks) == 1:
		key := toks[0].text
		op := kvOp{echo: "get " + quoteArg(key), req: &pb.KvRequest{OpType: pb.KvRequest_GET, Key: key}}
		return m.route(op)
	case len(toks) == 2 && isNode(toks[1]):
		key, id := toks[0].text, toks[1].text[1:]
		idx := m.nodeIndex(id)
		if idx < 0 {
			m.unknownNode("get", id)
			return nil
		}
		op := kvOp{
			echo:  "get " + quoteArg(key) + " @" + id,
			req:   &pb.KvRequest{OpType: pb.KvRequest_GET, Key: key, Stale: true},
			start: m.ctx.now,
			first: id,
		}
		n := m.nodes[idx]
		if n.conn == nil {
			m.finish(op, failed(id+" is not connected"))
			return nil
		}
		m.setStatus("%s → sent to %s…", op.echo, id)
		// The user asked for this node's own copy: one request, to it
		// alone, never retried elsewhere.
		return staleGetCmd(n.conn, op, m.opts.KVTimeout, m.opts.Now)
	default:
		m.setError("usage: get KEY [@ID]")
		return nil
	}
}

// route runs a put, delete or linearizable get through the dashboard's
// ClusterClient, which retries it, by netlink's one policy, until a node
// serves it or the call's time (Options.KVTimeout) runs out. It starts at
// the node most likely to lead (kvTarget).
func (m *Model) route(op kvOp) tea.Cmd {
	op.start = m.ctx.now
	idx := m.kvTarget()
	if idx < 0 {
		m.finish(op, failed("no node is connected"))
		return nil
	}
	op.first = m.nodes[idx].node.ID
	m.setStatus("%s → sent to %s…", op.echo, op.first)
	return kvCmd(m.kv, op, m.opts.Now)
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

// kvDone shows how a put, get or delete ended.
func (m *Model) kvDone(msg kvDoneMsg) tea.Cmd {
	op := msg.op
	if msg.err != nil {
		m.finish(op, kvFailure(op, msg.err, m.opts.KVTimeout))
		return nil
	}
	m.finish(op, kvResult(op, msg.res, msg.at.Sub(op.start)))
	if i := m.nodeIndex(msg.res.NodeID); i >= 0 && m.nodes[i].status != nil {
		m.heard(m.nodes[i]) // it answered: it is not silent
	}
	switch op.req.GetOpType() {
	case pb.KvRequest_GET:
		m.rememberKey(op.req.GetKey(), msg.res.Found)
	case pb.KvRequest_DELETE:
		m.rememberKey(op.req.GetKey(), false)
	default:
		m.rememberKey(op.req.GetKey(), true)
	}
	return nil
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
	// full is text with a value read in whole, where text cuts it; empty
	// when text is whole.
	full string
}

// failed is a failure worded as text.
func failed(text string) kvAnswer { return kvAnswer{text: text, isErr: true} }

// finish shows op's result on the status line and in the event pane, and
// hands it to piped mode.
func (m *Model) finish(op kvOp, a kvAnswer) {
	line := clean(op.echo + " → " + a.text)
	m.status = statusLine{text: line, isErr: a.isErr}
	m.keepResult(line)
	if a.full != "" {
		m.keepResult(clean(op.echo + " → " + a.full))
	}
	m.events.add(eventLine{at: m.ctx.now, node: promptNode, text: line})
	switch {
	case a.isErr:
		m.emitFailure(clean(a.text))
	default:
		m.emit(a.plain)
	}
}

// kvResult words a served put, get or delete, which took took from when
// it was typed: the node that answered, the nodes tried before it, and the
// latency.
func kvResult(op kvOp, res netlink.Result, took time.Duration) kvAnswer {
	node := res.NodeID
	if len(res.Asked) > 0 {
		node = res.Asked[len(res.Asked)-1]
	}
	via := fmt.Sprintf("via %s (%s", node, latency(took))
	if len(res.Asked) > 1 {
		via += ", after asking " + strings.Join(res.Asked[:len(res.Asked)-1], ", ")
	}
	via += ")"
	ok := fmt.Sprintf("OK (%s, %s)", node, latency(took))
	switch op.req.GetOpType() {
	case pb.KvRequest_GET:
		if !res.Found {
			return kvAnswer{text: "(not found) " + via, plain: "(nil)"}
		}
		a := kvAnswer{
			text:  strconv.Quote(abbrev(res.Value, maxShownValue)) + " " + via,
			plain: strconv.Quote(res.Value),
		}
		if len(res.Value) > maxShownValue {
			a.full = strconv.Quote(res.Value) + " " + via
		}
		return a
	case pb.KvRequest_DELETE:
		// As redis-cli's DEL: (integer) 1 when the key existed, 0 if not.
		if !res.Found {
			index := ""
			if res.Index > 0 {
				index = fmt.Sprintf(" (index %d)", res.Index)
			}
			return kvAnswer{text: "no such key" + index + " " + via, plain: "(integer) 0"}
		}
		return kvAnswer{text: "deleted" + atIndex(res.Index) + " " + via, plain: "(integer) 1"}
	default:
		return kvAnswer{text: "OK" + atIndex(res.Index) + " " + via, plain: ok}
	}
}

// kvFailure words a failed put, get or delete from its error. Whether a
// write may have been applied is netlink's call (ErrUncertain), and so is
// when to stop retrying; the last attempt's node and answer come from the
// netlink.AttemptError the error wraps. timeout is the call's limit.
func kvFailure(op kvOp, err error, timeout time.Duration) kvAnswer {
	maybe := ""
	if op.req.GetOpType() != pb.KvRequest_GET && errors.Is(err, netlink.ErrUncertain) {
		maybe = mayHaveApplied
	}
	var ae *netlink.AttemptError
	if !errors.As(err, &ae) {
		return failed(err.Error() + maybe)
	}
	what := attemptText(ae)
	if strings.Contains(what, "may or may not") {
		maybe = "" // the node said so already
	}
	if !errors.Is(err, netlink.ErrRejected) && (errors.Is(err, netlink.ErrNoLeader) || errors.Is(err, netlink.ErrUncertain)) {
		// Retried until the time ran out: say so, and what the last try met.
		what = fmt.Sprintf("no node served it within %v; last try: %s", timeout, what)
	}
	return failed(what + maybe)
}

// attemptText words how one attempt failed.
func attemptText(ae *netlink.AttemptError) string {
	node, resp := ae.Node, ae.Resp
	if resp == nil {
		return fmt.Sprintf("%s: %v", node, ae.Err)
	}
	switch resp.GetCode() {
	case pb.ErrorCode_PAUSED:
		return node + " is paused" + detail(resp)
	case pb.ErrorCode_TIMEOUT:
		return "timed out on " + node + detail(resp)
	case pb.ErrorCode_UNAVAILABLE:
		return node + " is unavailable" + detail(resp)
	case pb.ErrorCode_BAD_REQUEST:
		return node + " rejected it" + detail(resp)
	case pb.ErrorCode_UNAUTHENTICATED:
		return node + " refused it: not authenticated" + detail(resp)
	case pb.ErrorCode_NOT_LEADER:
		if clean(resp.GetLeaderId()) == "" && clean(resp.GetLeaderAddr()) == "" {
			return node + " is not the leader and knows of none" + detail(resp)
		}
		return node + " is not the leader" + detail(resp)
	default:
		return fmt.Sprintf("%s answered %v%s", node, resp.GetCode(), detail(resp))
	}
}

// detail is a node's own words about a failure, as ": words", or nothing:
// without what only restates the code (PAUSED "node paused", NOT_LEADER
// "not the leader", TIMEOUT "timed out: …"), and without advice meant for
// a client program ("; retry", "; retry with the same sequence"), which the
// dashboard's client has followed already.
func detail(resp *pb.KvResponse) string {
	msg := nodeWords(resp.GetCode(), resp.GetMessage())
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// nodeWords is a node's message about a failure with code, as detail
// words it, without the leading ": ".
func nodeWords(code pb.ErrorCode, msg string) string {
	msg = strings.TrimSpace(msg)
	for _, advice := range []string{"; retry with the same sequence", "; retry"} {
		msg = strings.TrimSuffix(msg, advice)
	}
	restates := map[pb.ErrorCode]string{
		pb.ErrorCode_PAUSED:     "node paused",
		pb.ErrorCode_NOT_LEADER: "not the leader",
		pb.ErrorCode_TIMEOUT:    "timed out",
	}
	if r, ok := restates[code]; ok {
		if strings.EqualFold(msg, r) {
			return ""
		}
		msg = strings.TrimPrefix(msg, r+": ")
	}
	return msg
}

// atIndex says where a write landed in the log, when the node said.
func atIndex(i int64) string {
	if i > 0 {
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
