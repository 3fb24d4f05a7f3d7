package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// statusRow is one node's line of "status"; its JSON form is a contract
// with scripts, so keys are only ever added.
type statusRow struct {
	ID        string `json:"id"`        // node id from cluster.yaml
	Addr      string `json:"addr"`      // address from cluster.yaml
	Reachable bool   `json:"reachable"` // the node answered the status request
	Role      string `json:"role"`      // leader, follower, candidate, precandidate; "" when unreachable
	// Member is what the node is in the leader's configuration: voter,
	// learner, or removed (listed in cluster.yaml, no longer a member);
	// without a leader, in its own; "" when unknown (unreachable, or a
	// node too old to report its configuration).
	Member       string   `json:"member"`
	Term         int64    `json:"term"`           // current term
	VotedFor     string   `json:"voted_for"`      // vote in the current term, "" if none
	Leader       string   `json:"leader"`         // id of the leader this node knows, "" if none
	CommitIndex  int64    `json:"commit_index"`   // highest index known committed
	AppliedIndex int64    `json:"applied_index"`  // highest index applied to the state machine
	LastIndex    int64    `json:"last_index"`     // index of the last log entry
	Paused       bool     `json:"paused"`         // paused by an admin command
	Partitioned  bool     `json:"partitioned"`    // cut off from every peer by partition
	IsolatedFrom []string `json:"isolated_from"`  // peers cut off by isolate, sorted; [] when none
	DelayMs      int64    `json:"delay_ms"`       // outbound delay set by delay, 0 when none
	DiskStallMs  int64    `json:"disk_stall_ms"`  // stall of each disk sync set by slow-disk, 0 when none
	StateDigest  string   `json:"state_digest"`   // hex digest of the keys and values as of applied_index, "" if the node does not report one
	SnapIndex    int64    `json:"snapshot_index"` // the newest snapshot's last applied index, 0 without one
	SnapTerm     int64    `json:"snapshot_term"`  // its term, 0 without one
	FirstIndex   int64    `json:"first_index"`    // the first entry still in the log (those before it are compacted); 0 if the node does not report it
	// Transfers are the InstallSnapshot transfers under way on the node,
	// sent or received; the key is left out when there are none.
	Transfers []snapshotTransfer `json:"snapshot_transfers,omitempty"`
	Error     string             `json:"error,omitempty"` // why the node could not be reached
	refused   bool               // the node answered but refused the handshake
	st        *pb.NodeStatus     // the node's answer; nil when unreachable
}

// snapshotTransfer is one InstallSnapshot under way, in status -o json.
type snapshotTransfer struct {
	Peer           string `json:"peer"`             // the receiver when sending, the sender when receiving
	Sending        bool   `json:"sending"`          // true: this node sends the snapshot; false: it receives it
	SnapshotIndex  int64  `json:"snapshot_index"`   // the last index the snapshot covers
	BytesDone      int64  `json:"bytes_done"`       // acknowledged (sender) or received and kept (receiver)
	TotalBytes     int64  `json:"total_bytes"`      // the snapshot's size
	BytesPerSecond int64  `json:"bytes_per_second"` // since the transfer started
}

// statusRowOf fills a row from a node's answer; id and addr come from
// cluster.yaml (or the configuration that listed the node) so rows line up
// with it even if a node misreports.
func statusRowOf(n cluster.Node, st *pb.NodeStatus) statusRow {
	return statusRow{
		ID:           n.ID,
		Addr:         n.Addr,
		Reachable:    true,
		Role:         netlink.RoleName(st.GetRole()),
		Term:         st.GetTerm(),
		VotedFor:     st.GetVotedFor(),
		Leader:       st.GetLeaderId(),
		CommitIndex:  st.GetCommitIndex(),
		AppliedIndex: st.GetAppliedIndex(),
		LastIndex:    st.GetLastIndex(),
		Paused:       st.GetPaused(),
		Partitioned:  st.GetPartitioned(),
		IsolatedFrom: append([]string{}, st.GetIsolatedFrom()...),
		DelayMs:      st.GetDelayMs(),
		DiskStallMs:  st.GetDiskStallMs(),
		StateDigest:  st.GetStateDigest(),
		SnapIndex:    st.GetSnapshotIndex(),
		SnapTerm:     st.GetSnapshotTerm(),
		FirstIndex:   st.GetFirstIndex(),
		Transfers:    transfersOf(st.GetSnapshotTransfers()),
		st:           st,
	}
}

// transfersOf copies a status's snapshot transfers for JSON; nil for none.
func transfersOf(ts []*pb.SnapshotTransfer) []snapshotTransfer {
	var out []snapshotTransfer
	for _, t := range ts {
		out = append(out, snapshotTransfer{Peer: t.GetPeer(), Sending: t.GetSending(), SnapshotIndex: t.GetSnapshotIndex(),
			BytesDone: t.GetBytesDone(), TotalBytes: t.GetTotalBytes(), BytesPerSecond: t.GetBytesPerSecond()})
	}
	return out
}

// snap words a row's snapshot for the table: "INDEX@TERM", or "-" without
// one.
func (r statusRow) snap() string {
	if r.SnapIndex <= 0 {
		return "-"
	}
	return fmt.Sprintf("%d@%d", r.SnapIndex, r.SnapTerm)
}

// first is a row's first log index for the table, "-" from a node that
// does not report it.
func (r statusRow) first() string {
	if r.FirstIndex <= 0 {
		return "-"
	}
	return fmt.Sprint(r.FirstIndex)
}

// unreachableRow is the row of a node that did not answer.
func unreachableRow(n cluster.Node, err error) statusRow {
	return statusRow{ID: n.ID, Addr: n.Addr, IsolatedFrom: []string{}, Error: err.Error()}
}

// faults words a row's network and disk faults for the table:
// "partitioned", "isolated n2,n3", "delay 200ms", "disk stall 1.5s", joined
// by "; " when several are set, or "-" for none.
func (r statusRow) faults() string {
	var parts []string
	if r.Partitioned {
		parts = append(parts, "partitioned")
	}
	if len(r.IsolatedFrom) > 0 {
		parts = append(parts, "isolated "+strings.Join(r.IsolatedFrom, ","))
	}
	if r.DelayMs > 0 {
		parts = append(parts, "delay "+(time.Duration(r.DelayMs)*time.Millisecond).String())
	}
	if r.DiskStallMs > 0 {
		parts = append(parts, "disk stall "+(time.Duration(r.DiskStallMs)*time.Millisecond).String())
	}
	return dash(strings.Join(parts, "; "))
}

// writeStatus prints rows as a table or a JSON array.
func writeStatus(w io.Writer, format string, rows []statusRow) error {
	if format == "json" {
		return writeJSON(w, rows)
	}
	return writeStatusTable(w, rows)
}

// writeStatusTable prints rows in a boxed table like `etcdctl endpoint
// status -w table`, one node per line, with "-" for values an unreachable
// node could not give. DIGEST is the state digest as of APPLIED, cut to
// its first digestShown characters: enough to see at a glance whether
// nodes at the same index agree. SNAP is the newest snapshot as
// INDEX@TERM and FIRST the first index still in the log (the entries
// before it are compacted); the log holds FIRST..LAST.
func writeStatusTable(w io.Writer, rows []statusRow) error {
	header := []string{"ID", "ADDRESS", "REACHABLE", "ROLE", "MEMBER", "TERM", "LEADER", "COMMIT", "APPLIED", "DIGEST", "SNAP", "FIRST", "LAST", "PAUSED", "FAULTS"}
	cells := make([][]string, 0, len(rows))
	for _, r := range rows {
		if !r.Reachable {
			cells = append(cells, []string{r.ID, r.Addr, "false", "-", dash(r.Member), "-", "-", "-", "-", "-", "-", "-", "-", "-", "-"})
			continue
		}
		cells = append(cells, []string{r.ID, r.Addr, "true", dash(r.Role), dash(r.Member), fmt.Sprint(r.Term), dash(r.Leader),
			fmt.Sprint(r.CommitIndex), fmt.Sprint(r.AppliedIndex), dash(shortDigest(r.StateDigest)), r.snap(), r.first(), fmt.Sprint(r.LastIndex),
			fmt.Sprint(r.Paused), r.faults()})
	}
	return writeBoxed(w, header, cells)
}

// digestShown is how many characters of a state digest the table shows.
const digestShown = 8

// shortDigest cuts a state digest to its first digestShown characters.
func shortDigest(d string) string {
	if utf8.RuneCountInString(d) <= digestShown {
		return d
	}
	return string([]rune(d)[:digestShown])
}

// writeBoxed draws header and rows with +---+ rules and | separators, each
// column as wide as its widest cell.
func writeBoxed(w io.Writer, header []string, rows [][]string) error {
	widths := make([]int, len(header))
	for _, row := range append([][]string{header}, rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	rule := func() {
		for _, wd := range widths {
			b.WriteString("+" + strings.Repeat("-", wd+2))
		}
		b.WriteString("+\n")
	}
	line := func(row []string) {
		for i, c := range row {
			fmt.Fprintf(&b, "| %s%s ", c, strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
		}
		b.WriteString("|\n")
	}
	rule()
	line(header)
	rule()
	for _, row := range rows {
		line(row)
	}
	rule()
	_, err := io.WriteString(w, b.String())
	return err
}

// writeAdmin prints the outcome of an admin command: "OK" or a JSON object.
// A refusal prints nothing in table form; the error line says it all.
func writeAdmin(w io.Writer, format string, res adminResult) error {
	if format == "json" {
		return writeJSON(w, res)
	}
	if !res.OK {
		return nil
	}
	_, err := fmt.Fprintln(w, "OK")
	return err
}

// changeResult is the outcome of a membership change or a transfer.
type changeResult struct {
	Command string `json:"command"` // member add, member promote, member remove or transfer
	ID      string `json:"id"`      // the member it was about
	Done    string `json:"done"`    // what happened, as the table form's line says it
}

// writeMembers prints members as a table (ROLE voter or learner,
// REACHABLE and LEADER yes or no) or a JSON array.
func writeMembers(w io.Writer, format string, members []memberRow) error {
	if format == "json" {
		return writeJSON(w, members)
	}
	cells := make([][]string, 0, len(members))
	for _, m := range members {
		role := memberVoter
		if !m.Voter {
			role = memberLearner
		}
		cells = append(cells, []string{m.ID, m.Addr, role, yesNo(m.Reachable), yesNo(m.leader)})
	}
	return writeBoxed(w, []string{"ID", "ADDR", "ROLE", "REACHABLE", "LEADER"}, cells)
}

// yesNo words a flag for a table.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// writeJSON prints v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// dash stands in for an empty cell so columns stay readable.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
