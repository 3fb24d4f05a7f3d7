package netlink

import (
	"testing"

	"github.com/easykv/easykv/netlink/pb"
)

func TestCodeOutcome(t *testing.T) {
	tests := []struct {
		code           pb.ErrorCode
		want           Outcome
		retry, applied bool
	}{
		{pb.ErrorCode_OK, Served, false, false},
		{pb.ErrorCode_NOT_FOUND, Served, false, false},
		{pb.ErrorCode_NOT_LEADER, Refused, true, false},
		{pb.ErrorCode_PAUSED, Refused, true, false},
		{pb.ErrorCode_TIMEOUT, Uncertain, true, true},
		{pb.ErrorCode_UNAVAILABLE, Uncertain, true, true},
		{pb.ErrorCode_BAD_REQUEST, Rejected, false, false},
		{pb.ErrorCode_UNAUTHENTICATED, Rejected, false, false},
		{pb.ErrorCode(999), Unknown, false, true},
	}
	for _, tt := range tests {
		o := CodeOutcome(tt.code)
		if o != tt.want || o.Retryable() != tt.retry || o.MayHaveApplied() != tt.applied {
			t.Errorf("%v: outcome %d retryable %v may have applied %v, want %d %v %v",
				tt.code, o, o.Retryable(), o.MayHaveApplied(), tt.want, tt.retry, tt.applied)
		}
	}
}
