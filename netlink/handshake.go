package netlink

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/easykv/easykv/netlink/pb"
)

// Identity is who a side of a connection says it is in the handshake.
type Identity struct {
	Cluster   string // cluster name from cluster.yaml
	NodeID    string // node id (peers) or a client name like "easykv-ctl"
	AuthToken string // cluster auth_token, "" when none
	Addr      string // peers: this node's listen address, told to the nodes it dials
	// TLS, when set, makes every connection this identity dials TLS.
	TLS TLSDialer
}

// TLSDialer gives the TLS configuration for dialling addr;
// *tlsconf.Source is one. (An interface rather than a func keeps
// Identity comparable: ClientPool keys its connections by it.)
type TLSDialer interface {
	Client(addr string) *tls.Config
}

// startTLS runs the client side of a TLS handshake on conn when id asks
// for TLS, and returns the connection to use from then on.
func startTLS(ctx context.Context, conn net.Conn, addr string, id Identity) (net.Conn, error) {
	if id.TLS == nil {
		return conn, nil
	}
	tc := tls.Client(conn, id.TLS.Client(addr))
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("tls handshake with %s: %w (is the node running with cluster.yaml's tls section?)", addr, err)
	}
	return tc, nil
}

// closedInHandshake words the end of a plain connection during the
// handshake: a node that requires TLS closes it on the first bytes.
func closedInHandshake(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("%w (the node closed the connection: it may require TLS, and cluster.yaml here has no tls section)", err)
	}
	return err
}

// ErrRefused is returned, wrapped with the node's reason, when a node
// refuses a handshake.
var ErrRefused = errors.New("handshake refused")

// handshake is the dialer's side: it sends our HANDSHAKE of the given kind
// and reads the answer. It returns the listener's node id. The caller sets
// and clears the connection's deadline.
func handshake(conn net.Conn, br *bufio.Reader, id Identity, kind pb.Handshake_Kind) (string, error) {
	var buf bytes.Buffer
	err := WriteFrame(&buf, &pb.RaftKvMessage{
		Type:   pb.RaftKvMessage_HANDSHAKE,
		NodeId: id.NodeID,
		Handshake: &pb.Handshake{
			Cluster:   id.Cluster,
			NodeId:    id.NodeID,
			Kind:      kind,
			AuthToken: id.AuthToken,
			Addr:      id.Addr,
		},
	})
	if err != nil {
		return "", err
	}
	if _, err := conn.Write(buf.Bytes()); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	var m pb.RaftKvMessage
	if err := ReadFrame(br, handshakeMaxFrame, &m); err != nil {
		return "", err
	}
	resp := m.GetHandshakeResponse()
	if m.GetType() != pb.RaftKvMessage_HANDSHAKE_RESPONSE || resp == nil {
		return "", fmt.Errorf("expected HANDSHAKE_RESPONSE, got %v", m.GetType())
	}
	if !resp.GetOk() {
		return "", fmt.Errorf("%w: %s", ErrRefused, resp.GetError())
	}
	return resp.GetNodeId(), nil
}

// tokenMatches reports whether got is the cluster token want. Both are
// hashed first so that the comparison takes the same time whatever the
// length of the guess, which ConstantTimeCompare alone does not promise.
func tokenMatches(want, got string) bool {
	w := sha256.Sum256([]byte(want))
	g := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(w[:], g[:]) == 1
}
