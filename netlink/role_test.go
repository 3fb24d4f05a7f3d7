package netlink

import (
	"testing"

	"github.com/easykv/easykv/netlink/pb"
)

func TestRoleName(t *testing.T) {
	for r, want := range map[pb.Role]string{
		pb.Role_ROLE_FOLLOWER:      "follower",
		pb.Role_ROLE_PRE_CANDIDATE: "precandidate",
		pb.Role_ROLE_CANDIDATE:     "candidate",
		pb.Role_ROLE_LEADER:        "leader",
		pb.Role(42):                "42",
	} {
		if got := RoleName(r); got != want {
			t.Errorf("RoleName(%v) = %q, want %q", r, got, want)
		}
	}
}
