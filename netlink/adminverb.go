package netlink

import (
	"strings"

	"github.com/easykv/easykv/netlink/pb"
)

// typedVerbs are the command-line words (easykv-ctl, the dashboard's
// prompt) of the admin commands whose wire name reads differently.
var typedVerbs = map[pb.AdminCommand]string{
	pb.AdminCommand_SLOW_MOTION:   "slow",
	pb.AdminCommand_FIRE_TIMER:    "timeout",
	pb.AdminCommand_HOLD_TIMER:    "hold",
	pb.AdminCommand_RELEASE_TIMER: "release",
}

// AdminVerb is cmd as a user types it: SLOW_DISK is slow-disk, FIRE_TIMER
// timeout.
func AdminVerb(cmd pb.AdminCommand) string {
	if v, ok := typedVerbs[cmd]; ok {
		return v
	}
	return strings.ReplaceAll(strings.ToLower(cmd.String()), "_", "-")
}
