package netlink

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/easykv/easykv/netlink/pb"
)

// TestDialErrorNamesTheAddressOnce: a refused dial says the address once,
// and still is the net package's error underneath.
func TestDialErrorNamesTheAddressOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = Dial(ctx, addr, Identity{Cluster: "demo", NodeID: "test"})
	if err == nil {
		t.Fatalf("dial of %s succeeded", addr)
	}
	if n := strings.Count(err.Error(), addr); n != 1 {
		t.Errorf("error %q names %s %d times, want once", err, addr, n)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error %q is not ECONNREFUSED", err)
	}
	// A name that cannot be resolved keeps the address given.
	if err := dialError("nohost.invalid:7701", errors.New("lookup failed")); err.Error() != "dial nohost.invalid:7701: lookup failed" {
		t.Errorf("dialError = %q", err)
	}
}

// TestAttemptErrorLeavesOutClientAdvice: a node's advice to client
// programs is not part of the error people read.
func TestAttemptErrorLeavesOutClientAdvice(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"leadership lost before the write was applied: it may or may not take effect; retry with the same sequence",
			"TIMEOUT: leadership lost before the write was applied: it may or may not take effect"},
		{"write overwritten by a new leader; retry", "TIMEOUT: write overwritten by a new leader"},
		{"", "TIMEOUT"},
	}
	for _, tt := range tests {
		e := &AttemptError{Node: "n1", Resp: &pb.KvResponse{Code: pb.ErrorCode_TIMEOUT, Message: tt.msg}}
		if got := e.Error(); got != tt.want {
			t.Errorf("AttemptError(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}
