package netlink

import (
	"strings"

	"github.com/easykv/easykv/netlink/pb"
)

// RoleName is a Raft role as easykv-ctl and the dashboard word it:
// "leader", "follower", "candidate" or "precandidate". A role this build
// does not know (from a newer node) is its enum name, lower case, without
// the "ROLE_" prefix.
func RoleName(r pb.Role) string {
	switch r {
	case pb.Role_ROLE_FOLLOWER:
		return "follower"
	case pb.Role_ROLE_PRE_CANDIDATE:
		return "precandidate"
	case pb.Role_ROLE_CANDIDATE:
		return "candidate"
	case pb.Role_ROLE_LEADER:
		return "leader"
	default:
		return strings.ToLower(strings.TrimPrefix(r.String(), "ROLE_"))
	}
}
