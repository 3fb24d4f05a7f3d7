package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/easykv/easykv/netlink"
	"github.com/easykv/easykv/netlink/pb"
)

// Membership faults: the cluster is changed while clients run. Each
// needs a leader to take the change, so it is done alone (no other fault
// in force, none started while it is).
const (
	// chaosMemberWait bounds one membership step under chaos: a leader to
	// take the change, its commit, a learner's catch-up before promote.
	chaosMemberWait = 30 * time.Second
	// chaosMemberTry is one leader-admin call's time.
	chaosMemberTry = 5 * time.Second
)

// exclusive says kind changes the membership or the leadership on purpose,
// and so runs alone.
func (k chaosFaultKind) exclusive() bool {
	switch k.mechanism() {
	case mechTransfer, mechRejoin, mechReplace, mechSlowMotion:
		return true
	}
	return false
}

// leaderAdmin runs req on the leader, wherever it is, until it succeeds or
// is refused for a reason done accepts (a retry of a change that did take
// effect, as "n3 is already a member"); it fails the test after
// chaosMemberWait. Uncertain answers, refusals while another change
// commits and no-leader spells are retried.
func (n *chaosNemesis) leaderAdmin(req *pb.AdminRequest, done ...string) {
	n.h.t.Helper()
	what := fmt.Sprintf("%s %s", req.GetCommand(), req.GetMemberId())
	deadline := time.Now().Add(chaosMemberWait)
	for {
		err := n.h.leaderAdminOnce(req)
		if err == nil {
			n.h.t.Logf("chaos: %s: done", what)
			return
		}
		for _, d := range done {
			if errors.Is(err, netlink.ErrChangeRefused) && strings.Contains(err.Error(), d) {
				n.h.t.Logf("chaos: %s: done by an earlier attempt (%v)", what, err)
				return
			}
		}
		if time.Now().After(deadline) {
			n.h.t.Fatalf("chaos: %s not done within %s: %v", what, chaosMemberWait, err)
		}
		n.h.t.Logf("chaos: %s: %v; again", what, err)
		time.Sleep(100 * time.Millisecond) // a pause between attempts, not a wait for a condition
	}
}

// leaderAdminOnce runs req once on the leader of the harness's nodes.
func (h *Harness) leaderAdminOnce(req *pb.AdminRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), chaosMemberTry)
	defer cancel()
	var nodes []netlink.NodeAddr
	for _, id := range h.ids {
		nodes = append(nodes, netlink.NodeAddr{ID: id, Addr: h.addrs[id]})
	}
	_, err := netlink.LeaderAdmin(ctx, nodes, netlink.DialAdmin(netlink.Identity{Cluster: clusterName, NodeID: clientID}), req)
	return err
}

// transfer asks the leader to hand its leadership to id. A refusal or an
// abort is a possible outcome under chaos (the target may be lagging), so
// it is counted, not failed; the election-safety and linearizability
// checks judge the rest.
func (n *chaosNemesis) transfer(f *chaosFault, id string) {
	err := n.h.leaderAdminOnce(&pb.AdminRequest{Command: pb.AdminCommand_TRANSFER_LEADER, MemberId: id})
	if err != nil {
		f.outcome = "not done: " + err.Error()
		return
	}
	n.transfers++
	f.outcome = id + " leads"
}

// removeMember takes id out of the configuration and kills it; with wipe
// it also deletes its data, as a disk lost with its machine.
func (n *chaosNemesis) removeMember(id string, wipe bool) {
	n.leaderAdmin(&pb.AdminRequest{Command: pb.AdminCommand_MEMBER_REMOVE, MemberId: id}, "is not a member")
	n.h.KillNode(id)
	if wipe {
		if err := os.RemoveAll(filepath.Join(n.h.dir, "data", id)); err != nil {
			n.h.t.Fatal(err)
		}
	}
}

// addMember adds the node id, already started, as a learner, and promotes
// it once it has caught up.
func (n *chaosNemesis) addMember(id string) {
	n.leaderAdmin(&pb.AdminRequest{Command: pb.AdminCommand_MEMBER_ADD, MemberId: id, MemberAddr: n.h.addrs[id], Learner: true}, "is already a member")
	n.leaderAdmin(&pb.AdminRequest{Command: pb.AdminCommand_MEMBER_PROMOTE, MemberId: id}, "is not a learner")
}

// rejoin brings back id, removed and wiped: it starts empty with --join
// (and its --addr when cluster.yaml does not list it), and is added as a
// learner and promoted.
func (n *chaosNemesis) rejoin(id string) {
	if n.h.flags == nil {
		n.h.flags = map[string][]string{}
	}
	if !slices.Contains(n.h.flags[id], "--join") {
		// A member of cluster.yaml; one that joined later keeps its
		// --join --addr.
		n.h.flags[id] = []string{"--join"}
	}
	n.h.RestartNode(id)
	n.addMember(id)
	n.rejoined = append(n.rejoined, id)
}

// replace retires id from the harness (it was removed and killed) and
// brings in a new node under a new id in its place.
func (n *chaosNemesis) replace(old string) {
	n.h.ids = slices.DeleteFunc(n.h.ids, func(id string) bool { return id == old })
	id := fmt.Sprintf("n%d", chaosNodes+1+len(n.replaced))
	n.h.startJoining(id)
	n.watchNew(id)
	n.addMember(id)
	n.replaced = append(n.replaced, old+"→"+id)
}
