// Package stagetrace follows puts through the stages of their way — client
// encode, socket, hand-off to the Raft loop, the leader's Ready, its
// AppendEntries, the followers' receipt, writes and acks, the commit, the
// apply and the reply — and says how long each stage took.
//
// The packages on the way call Request or Watermark at each stage. While no
// trace is running (always, outside benchmarks), a call costs one atomic
// load. It is a process-wide hook rather than a value threaded through
// every constructor because the stages span netlink, raftnode and five
// goroutines per node, and only a benchmark ever turns it on.
//
// Stages before the proposal are keyed by the request's session (client id
// and sequence); those after it by log index, as watermarks: a write that
// makes entries up to 40 durable covers every entry up to 40. Link ties a
// request to the index it was proposed at.
package stagetrace
