package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"

	"github.com/easykv/easykv/cluster"
	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// What a node is in the configuration, in status's MEMBER column and its
// "member" key.
const (
	memberVoter   = "voter"
	memberLearner = "learner"
	memberRemoved = "removed" // listed in cluster.yaml, not in the configuration
)

// survey asks every node for its status: cluster.yaml's nodes, then every
// member a node reports that the file does not list (added since it was
// written), until no answer names a new one. Rows come in that order, and
// say what each node is in the leader's configuration (markMembership).
func (a *app) survey(ctx context.Context, inv invocation) []statusRow {
	nodes := slices.Clone(inv.cfg.Nodes)
	known := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		known[n.ID] = true
	}
	var rows []statusRow
	for len(rows) < len(nodes) {
		batch := a.queryAll(ctx, nodes[len(rows):], inv.identity())
		rows = append(rows, batch...)
		for _, r := range batch {
			for _, m := range r.st.GetMembers() {
				if !known[m.GetId()] {
					known[m.GetId()] = true
					nodes = append(nodes, cluster.Node{ID: m.GetId(), Addr: m.GetAddr()})
				}
			}
		}
	}
	markMembership(rows)
	return rows
}

// queryAll asks nodes for their status at once; one row each, in order.
func (a *app) queryAll(ctx context.Context, nodes []cluster.Node, id netlink.Identity) []statusRow {
	rows := make([]statusRow, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { rows[i] = a.queryStatus(ctx, n, id) })
	}
	wg.Wait()
	return rows
}

// leaderRow is the row of the node that leads in the highest term, nil
// when no node that answered leads.
func leaderRow(rows []statusRow) *statusRow {
	var leader *statusRow
	for i, r := range rows {
		if r.st.GetRole() == pb.Role_ROLE_LEADER && (leader == nil || r.Term > leader.Term) {
			leader = &rows[i]
		}
	}
	return leader
}

// configSource is the row whose configuration counts: the leader's, else,
// with no leader, that of the node with the newest configuration; nil when
// no node reported one (no node answered, or all are too old to).
func configSource(rows []statusRow) (src *statusRow, isLeader bool) {
	if l := leaderRow(rows); l != nil && len(l.st.GetMembers()) > 0 {
		return l, true
	}
	for i, r := range rows {
		if len(r.st.GetMembers()) > 0 && (src == nil || r.st.GetConfigIndex() > src.st.GetConfigIndex()) {
			src = &rows[i]
		}
	}
	return src, false
}

// markMembership sets each row's Member from the leader's configuration:
// voter, learner, or removed when the leader's configuration leaves the
// node out. Without a leader, each node's own view counts, and a node
// that did not answer stays unknown ("").
func markMembership(rows []statusRow) {
	if src, isLeader := configSource(rows); isLeader {
		for i := range rows {
			rows[i].Member = memberKind(src.st.GetMembers(), rows[i].ID)
		}
		return
	}
	for i, r := range rows {
		switch {
		case !r.Reachable || len(r.st.GetMembers()) == 0:
		case r.st.GetRemoved():
			rows[i].Member = memberRemoved
		case r.st.GetLearner():
			rows[i].Member = memberLearner
		default:
			rows[i].Member = memberVoter
		}
	}
}

// memberKind is what id is in members.
func memberKind(members []*pb.Member, id string) string {
	for _, m := range members {
		if m.GetId() == id {
			if m.GetLearner() {
				return memberLearner
			}
			return memberVoter
		}
	}
	return memberRemoved
}

// currentMembers are the nodes of the configuration in effect, as survey
// finds them within --timeout: cluster.yaml's and those added since,
// without those removed. For clients that should reach the cluster as it
// is now (bench, whose ctx has no deadline of its own).
func (a *app) currentMembers(ctx context.Context, inv invocation) []netlink.NodeAddr {
	ctx, cancel := context.WithTimeout(ctx, inv.timeout)
	defer cancel()
	var nodes []netlink.NodeAddr
	for _, r := range a.survey(ctx, inv) {
		if r.Member != memberRemoved {
			nodes = append(nodes, netlink.NodeAddr{ID: r.ID, Addr: r.Addr})
		}
	}
	return nodes
}

// memberRow is one member in "member list"; its JSON keys are a contract.
type memberRow struct {
	ID        string `json:"id"`        // member id
	Addr      string `json:"addr"`      // its address, as the configuration has it
	Voter     bool   `json:"voter"`     // false: a learner
	Reachable bool   `json:"reachable"` // it answered a status request just now
	leader    bool   // it leads
}

// runMemberList prints the configuration: the leader's, or, with no
// leader, the newest any node reports (saying so on stderr).
func runMemberList(ctx context.Context, a *app, inv invocation) error {
	rows := a.survey(ctx, inv)
	src, isLeader := configSource(rows)
	if src == nil {
		return unreachable(fmt.Errorf("member list: no node reported its members (%d tried)", len(rows)))
	}
	if !isLeader {
		fmt.Fprintf(a.stderr, "easykv-ctl: no leader; members as %s reports them (configuration at index %d, may be out of date)\n",
			src.ID, src.st.GetConfigIndex())
	}
	members := membersOf(src.st.GetMembers(), rows)
	if err := writeMembers(a.stdout, inv.output, members); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// membersOf is the configuration's members with what rows found of them.
func membersOf(config []*pb.Member, rows []statusRow) []memberRow {
	out := make([]memberRow, 0, len(config))
	for _, m := range config {
		row := memberRow{ID: m.GetId(), Addr: m.GetAddr(), Voter: !m.GetLearner()}
		for _, r := range rows {
			if r.ID == m.GetId() {
				row.Reachable = r.Reachable
				row.leader = r.st.GetRole() == pb.Role_ROLE_LEADER
			}
		}
		out = append(out, row)
	}
	return out
}

// memberChangeFunc builds a membership or transfer request from the
// arguments and flags, and says in a line what its success did.
type memberChangeFunc func(args []string, f cmdFlags) (req *pb.AdminRequest, done string)

// memberChange returns the command that runs the request build makes on
// the leader, wherever it is: one line on success; exitFailed when the
// leader refuses (its reason on stderr); exitUnreachable when no leader
// answered in time, or the answer was lost and the change may or may not
// have happened.
func memberChange(build memberChangeFunc) func(ctx context.Context, a *app, inv invocation) error {
	return func(ctx context.Context, a *app, inv invocation) error {
		req, done := build(inv.args, inv.flags)
		verb := commandVerb(req.GetCommand())
		what := verb + " " + req.GetMemberId()
		dial := func(ctx context.Context, addr string) (netlink.AdminConn, error) {
			return a.dial(ctx, addr, inv.identity())
		}
		if _, err := netlink.LeaderAdmin(ctx, inv.clusterConfig().Nodes, dial, req); err != nil {
			return callError(what, err)
		}
		return a.writeResult(inv.output, changeResult{Command: verb, ID: req.GetMemberId(), Done: done}, done)
	}
}

// commandVerb is how a membership command reads in messages.
func commandVerb(c pb.AdminCommand) string {
	return map[pb.AdminCommand]string{
		pb.AdminCommand_MEMBER_ADD:      "member add",
		pb.AdminCommand_MEMBER_PROMOTE:  "member promote",
		pb.AdminCommand_MEMBER_REMOVE:   "member remove",
		pb.AdminCommand_TRANSFER_LEADER: "transfer",
	}[c]
}

func memberAddRequest(args []string, f cmdFlags) (*pb.AdminRequest, string) {
	role := memberVoter
	if f.learner {
		role = memberLearner
	}
	return &pb.AdminRequest{Command: pb.AdminCommand_MEMBER_ADD, MemberId: args[0], MemberAddr: args[1], Learner: f.learner},
		fmt.Sprintf("added %s (%s) as %s", args[0], args[1], role)
}

func memberPromoteRequest(args []string, _ cmdFlags) (*pb.AdminRequest, string) {
	return &pb.AdminRequest{Command: pb.AdminCommand_MEMBER_PROMOTE, MemberId: args[0]}, fmt.Sprintf("promoted %s to voter", args[0])
}

func memberRemoveRequest(args []string, _ cmdFlags) (*pb.AdminRequest, string) {
	return &pb.AdminRequest{Command: pb.AdminCommand_MEMBER_REMOVE, MemberId: args[0]}, fmt.Sprintf("removed %s", args[0])
}

func transferRequest(args []string, _ cmdFlags) (*pb.AdminRequest, string) {
	return &pb.AdminRequest{Command: pb.AdminCommand_TRANSFER_LEADER, MemberId: args[0]}, fmt.Sprintf("%s leads now", args[0])
}

// checkMemberAdd checks the new member's address: host:port with a host
// and a port number, as the other nodes will dial it.
func checkMemberAdd(args []string, _ *cmdFlags) error {
	host, port, err := net.SplitHostPort(args[1])
	if err != nil || host == "" {
		return usagef("member add: bad address %q (want HOST:PORT, e.g. 127.0.0.1:7004)", args[1])
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return usagef("member add: bad port in %q (want 1-65535)", args[1])
	}
	return nil
}
