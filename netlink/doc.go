// Package netlink is everything easykv puts on the wire: framing, the
// listener that serves a node, the outbound links between peers and the
// client used by easykv-ctl and easykv-tui. The schema and its generated
// code live in the pb subpackage.
//
// # Frames
//
// Every frame is one pb.RaftKvMessage preceded by its encoded length as a
// base-128 varint, the framing of Netty's ProtobufVarint32FrameDecoder that
// the original easy-kv used (WriteFrame, ReadFrame). A reader checks the
// length against its maximum (DefaultMaxFrameSize unless configured) before
// it allocates anything, and a frame over the limit, a frame that does not
// decode, or a frame of a type the connection does not expect closes that
// connection, with one log line, and nothing else.
//
// # Connections and the handshake
//
// A node listens on one TCP port for two kinds of connection. The dialer
// always speaks first with a HANDSHAKE frame:
//
//	Handshake{cluster, node_id, kind, auth_token}
//
// The listener checks that the cluster name is its own, that the auth token
// equals the cluster's (when the cluster has one; compared in constant time),
// and, for kind PEER, that node_id is set and is not its own. Any other
// peer id is accepted: the configuration changes (a member added later has
// an id no file lists), and which peers are members is for Raft to decide. It answers HANDSHAKE_RESPONSE{ok, error, node_id} either way; on
// refusal it logs the reason and closes the connection. A connection that
// sends no handshake within ServerConfig.HandshakeTimeout is closed.
//
// PEER connections (Peers, one per peer, kept open and redialled with
// jittered backoff) carry Raft messages one way only: the dialer writes
// VOTE_*, PRE_VOTE_*, APPEND_ENTRIES_*, INSTALL_SNAPSHOT* and TIMEOUT_NOW
// frames, and the listener hands them to Handler.StepPeer with node_id set
// to the handshaken peer. Answers travel back on the answering node's own
// link, so between two nodes there are two connections, one per direction. Sends go through a bounded queue
// per peer and are dropped, never blocked on, when it is full: Raft
// tolerates loss. Peers.SetAddrs follows configuration changes: links
// start for new members and stop for removed ones.
//
// CLIENT connections (Client) are request/response, paired by request_id,
// and served concurrently: STATUS_REQUEST, ADMIN_REQUEST and KV_REQUEST
// each get one answer of the matching type. WATCH_REQUEST turns on a stream
// of WATCH_EVENT frames carrying the watch's request_id: every event of the
// node plus a STATUS event every status_interval_ms, with at most one
// MESSAGES event (Raft traffic, merged when the node publishes more often)
// between two STATUS events. Requests still work on a watching connection,
// so the dashboard needs one connection per node.
//
// # The cluster client
//
// ClusterClient runs puts, gets and deletes against the whole cluster: it
// finds the leader, follows NOT_LEADER hints and retries on other nodes. A
// write keeps its session (client id, sequence) across its retries, so the
// cluster applies it once, but only while the session lives: nodes forget a
// session SessionLifetime (1,000,000) log entries after they last applied
// one of its writes, and a retry arriving later is applied again. So a
// write stops retrying, whatever its ctx allows, WriteRetryWindow (30 s)
// after its first attempt, and, once an attempt may have been applied,
// as soon as the node it would retry at reports a log more than
// WriteRetryEntries (100,000) entries past where its retries began (it asks
// that node for its status before each such retry). The write then fails
// with ErrUncertain (it may or may not have been applied), or ErrNoLeader
// when no attempt can have been, with ErrRetryWindow as the cause. Reads
// have no session and are retried until ctx ends.
//
// netlink does not import the packages that use it (raftnode, cluster,
// tui); the node is reached through the Handler interface.
package netlink
