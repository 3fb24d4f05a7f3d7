package netlink

import (
	"context"
	"fmt"

	"github.com/easykv/easykv/netlink/pb"
)

// AdminRequest runs an admin command with its arguments (the peers of
// ISOLATE, the delay of DELAY) on the node. req is not modified.
func (c *Client) AdminRequest(ctx context.Context, req *pb.AdminRequest) (*pb.AdminResponse, error) {
	resp, err := c.call(ctx, &pb.RaftKvMessage{
		Type:         pb.RaftKvMessage_ADMIN_REQUEST,
		AdminRequest: req,
	}, pb.RaftKvMessage_ADMIN_RESPONSE)
	if err != nil {
		return nil, err
	}
	if resp.GetAdminResponse() == nil {
		return nil, fmt.Errorf("admin %v on %s: empty response", req.GetCommand(), c.addr)
	}
	return resp.GetAdminResponse(), nil
}
