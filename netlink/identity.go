package netlink

import (
	"crypto/sha256"
	"crypto/subtle"

	"github.com/easykv/easykv/netlink/pb"
)

// Identity is who a side of a connection says it is in the handshake.
type Identity struct {
	Cluster   string // cluster name from cluster.yaml
	NodeID    string // node id (peers) or a client name like "easykv-ctl"
	AuthToken string // cluster auth_token, "" when none
}

// handshake builds the first frame a dialer sends.
func (id Identity) handshake(kind pb.Handshake_Kind) *pb.RaftKvMessage {
	return &pb.RaftKvMessage{
		Type:   pb.RaftKvMessage_HANDSHAKE,
		NodeId: id.NodeID,
		Handshake: &pb.Handshake{
			Cluster:   id.Cluster,
			NodeId:    id.NodeID,
			Kind:      kind,
			AuthToken: id.AuthToken,
		},
	}
}

// tokenMatches reports whether got is the cluster token want. Both are
// hashed first so that the comparison takes the same time whatever the
// length of the guess, which ConstantTimeCompare alone does not promise.
func tokenMatches(want, got string) bool {
	w := sha256.Sum256([]byte(want))
	g := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(w[:], g[:]) == 1
}
