package e2e

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/easykv/easykv/netlink/pb"
)

const authToken = "open-sesame"

// authHarness is a Harness whose cluster.yaml sets auth_token; its Status
// and waitLeader present the token.
type authHarness struct {
	*Harness
}

// startAuthCluster is StartCluster with auth_token in cluster.yaml.
func startAuthCluster(t *testing.T, n int) *authHarness {
	t.Helper()
	return &authHarness{StartCluster(t, n, withAuthToken(authToken))}
}

// ctlWith runs easykv-ctl with the cluster file at path.
func (a *authHarness) ctlWith(path string, args ...string) cmdResult {
	a.t.Helper()
	return runBinary(a.t, bins.ctl, append([]string{"--cluster", path}, args...)...)
}

// TestAuthToken runs a cluster whose cluster.yaml sets auth_token: the
// nodes, presenting it to each other, elect a leader; easykv-ctl with the
// file works; with a copy of the file that has a wrong token or none, every
// command is refused with a message about the token, and the cluster does
// not notice. A peer with a wrong token can neither handshake by hand nor,
// as a real node, join.
func TestAuthToken(t *testing.T) {
	a := startAuthCluster(t, 3)
	leader, term := a.waitLeader()
	follower := a.others(leader)[0]

	// The right token: everything works.
	res := a.Ctl("status", "-o", "json")
	var rows []map[string]any
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &rows) != nil || len(rows) != 3 {
		t.Fatalf("status with the token: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, r := range rows {
		if r["reachable"] != true {
			t.Errorf("status with the token: %v", r)
		}
	}
	if res := a.Ctl("put", "k", "v1"); res.code != 0 || strings.TrimSpace(res.stdout) != "OK" {
		t.Fatalf("put with the token: exit %d %q %q", res.code, res.stdout, res.stderr)
	}
	if res := a.Ctl("get", "k"); res.code != 0 || strings.TrimSpace(res.stdout) != "v1" {
		t.Fatalf("get with the token: exit %d %q %q", res.code, res.stdout, res.stderr)
	}
	for _, cmd := range []string{"pause", "resume"} {
		if res := a.Ctl(cmd, follower); res.code != 0 {
			t.Fatalf("%s %s with the token: exit %d %q", cmd, follower, res.code, res.stderr)
		}
	}
	if st, err := a.statusWith(follower, authToken); err != nil || st.GetPaused() {
		t.Fatalf("%s after pause and resume: %v, %v", follower, st, err)
	}

	// A wrong token or none: refused, saying why.
	for _, tc := range []struct{ name, extra string }{
		{"wrong token", "auth_token: open-sesame!\n"},
		{"no token", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := a.writeConfigAs(filepath.Join(a.dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml"), tc.extra)
			for _, c := range []struct {
				args  []string
				codes []int // exit statuses accepted
			}{
				// A refused handshake is exit 1 ("the node refused").
				{[]string{"status"}, []int{1}},
				{[]string{"status", "-o", "json"}, []int{1}},
				{[]string{"put", "k", "stolen"}, []int{1}},
				{[]string{"get", "k"}, []int{1}},
				{[]string{"get", "--stale", "k"}, []int{1}},
				{[]string{"delete", "k"}, []int{1}},
				{[]string{"pause", leader}, []int{1}},
				{[]string{"resume", follower}, []int{1}},
				{[]string{"slow-disk", leader, "3s"}, []int{1}},
				{[]string{"partition", follower}, []int{1}},
			} {
				args := c.args
				res := a.ctlWith(path, args...)
				out := res.stdout + res.stderr
				if !slices.Contains(c.codes, res.code) || !strings.Contains(out, "bad auth token") {
					t.Errorf("easykv-ctl %s with a %s: exit %d, want %v and a refusal mentioning the token\nstdout: %s\nstderr: %s",
						strings.Join(args, " "), tc.name, res.code, c.codes, res.stdout, res.stderr)
				}
				if strings.Contains(res.stdout, "stolen") || strings.TrimSpace(res.stdout) == "v1" {
					t.Errorf("easykv-ctl %s with a %s printed data: %q", strings.Join(args, " "), tc.name, res.stdout)
				}
			}
			// The nodes log every refusal.
			a.waitNodeLog(leader, "handshake refused", "bad auth token")
		})
	}

	// The cluster did not notice: same leader and term, nothing paused,
	// nothing written.
	if l, tm := a.waitLeader(); l != leader || tm != term {
		t.Errorf("leader %s in term %d after the refusals, want %s in term %d", l, tm, leader, term)
	}
	for _, id := range a.ids {
		if st, err := a.statusWith(id, authToken); err != nil || st.GetPaused() || st.GetDiskStallMs() != 0 || st.GetPartitioned() {
			t.Errorf("%s after the refusals: %v, %v", id, st, err)
		}
	}
	if res := a.Ctl("get", "k"); res.code != 0 || strings.TrimSpace(res.stdout) != "v1" {
		t.Errorf("get after the refusals: exit %d %q %q, want v1", res.code, res.stdout, res.stderr)
	}

	t.Run("peer handshake with a wrong token", func(t *testing.T) {
		for _, token := range []string{"", "open-sesame!", authToken[:4]} {
			c := dialNode(t, a.addrs[leader])
			resp := c.handshake(t, &pb.Handshake{Cluster: clusterName, NodeId: follower, Kind: pb.Handshake_PEER, AuthToken: token})
			if resp.GetOk() || !strings.Contains(resp.GetError(), "bad auth token") {
				t.Fatalf("peer handshake as %s with token %q = ok %v %q, want refused", follower, token, resp.GetOk(), resp.GetError())
			}
			c.waitClosed(t)
			a.waitNodeLog(leader, "handshake refused", "remote="+c.LocalAddr().String(), "bad auth token", "kind=PEER")
		}
		// The right token gets in: the refusals were about the token.
		c := dialNode(t, a.addrs[leader])
		if resp := c.handshake(t, &pb.Handshake{Cluster: clusterName, NodeId: follower, Kind: pb.Handshake_PEER, AuthToken: authToken}); !resp.GetOk() {
			t.Fatalf("peer handshake with the token refused: %s", resp.GetError())
		}
	})

	t.Run("node with a wrong token", func(t *testing.T) {
		// Restart a follower under a file with another token: it cannot
		// reach its peers, nor they it, so it hears no leader and its
		// election timer fires, while the other two carry on untroubled.
		// It is the last follower in the file: the ctl client tries nodes
		// in file order and gives up at the first that refuses its
		// handshake, so an outsider listed first would fail the put below
		// although the leader would take it.
		followers := a.others(leader)
		outsider := followers[len(followers)-1]
		a.StopNode(outsider, syscall.SIGTERM)
		good := a.cfgPath
		a.cfgPath = a.writeConfigAs(filepath.Join(a.dir, "outsider.yaml"), "auth_token: not-"+authToken+"\n")
		a.startNode(outsider, "wrong token")
		a.cfgPath = good
		a.waitFor(outsider+" to give up on hearing a leader", func() (bool, string) {
			st, err := a.statusWith(outsider, "not-"+authToken)
			if err != nil {
				return false, err.Error()
			}
			role := st.GetRole()
			return (role == pb.Role_ROLE_PRE_CANDIDATE || role == pb.Role_ROLE_CANDIDATE) && st.GetLeaderId() == "", role.String()
		})
		a.waitNodeLog(leader, "handshake refused", "bad auth token", "kind=PEER", "node_id="+outsider)
		if l, tm := a.waitLeader(outsider); l != leader || tm != term {
			t.Errorf("leader %s in term %d with %s outside, want %s in term %d", l, tm, outsider, leader, term)
		}
		if res := a.Ctl("put", "k", "v2"); res.code != 0 {
			t.Errorf("put with %s outside: exit %d %q", outsider, res.code, res.stderr)
		}

		// Back under the cluster's file, it rejoins the same leader.
		a.StopNode(outsider, syscall.SIGTERM)
		a.startNode(outsider, "right token")
		// Until it answers, it may not have its SIGTERM handler yet: the
		// cleanup's SIGTERM would kill it mid-start.
		if err := a.waitReachable(outsider); err != nil {
			t.Fatal(err)
		}
		if l, tm := a.waitLeader(); l != leader || tm != term {
			t.Errorf("leader %s in term %d after %s rejoined, want %s in term %d", l, tm, outsider, leader, term)
		}
	})
}
