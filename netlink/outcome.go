package netlink

import "github.com/easykv/easykv/netlink/pb"

// Outcome is what the code of a node's KV answer says about the request:
// the one definition of a served, a certain and an uncertain failure,
// which ClusterClient and the dashboard share.
type Outcome int

const (
	// Served: OK or NOT_FOUND; the answer is final.
	Served Outcome = iota
	// Refused: NOT_LEADER or PAUSED. The node did not propose the request,
	// so a write was not applied by this attempt; another node, or this one
	// later, may serve it.
	Refused
	// Uncertain: TIMEOUT or UNAVAILABLE. The node may have proposed the
	// request: a write may or may not have been applied, and may still be.
	// Sending it again with its session and sequence applies it at most
	// once.
	Uncertain
	// Rejected: BAD_REQUEST or UNAUTHENTICATED. The request itself was
	// refused; sending it again changes nothing. A write was not applied.
	Rejected
	// Unknown: a code this build does not know (from a newer node). Final,
	// and a write must not be claimed not applied.
	Unknown
)

// CodeOutcome sorts a KV answer's code into its Outcome.
func CodeOutcome(code pb.ErrorCode) Outcome {
	switch code {
	case pb.ErrorCode_OK, pb.ErrorCode_NOT_FOUND:
		return Served
	case pb.ErrorCode_NOT_LEADER, pb.ErrorCode_PAUSED:
		return Refused
	case pb.ErrorCode_TIMEOUT, pb.ErrorCode_UNAVAILABLE:
		return Uncertain
	case pb.ErrorCode_BAD_REQUEST, pb.ErrorCode_UNAUTHENTICATED:
		return Rejected
	default:
		return Unknown
	}
}

// Retryable says another attempt, at another node or later, can succeed.
func (o Outcome) Retryable() bool { return o == Refused || o == Uncertain }

// MayHaveApplied says a write answered so may have been applied.
func (o Outcome) MayHaveApplied() bool { return o == Uncertain || o == Unknown }
