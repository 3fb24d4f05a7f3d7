package main

import (
	"strings"
	"testing"

	"github.com/easykv/easykv/netlink/pb"
)

// agreeable is healthy() with every node carrying out admin commands.
func agreeable() *fakeNet {
	net := healthy()
	for _, n := range net.nodes {
		n.admin = &pb.AdminResponse{Ok: true}
	}
	return net
}

func TestSlow(t *testing.T) {
	cfg := writeCluster(t)
	net := agreeable()
	got := runCtl(t, net, "--cluster", cfg, "slow", "20")
	if got.code != exitOK || got.stdout != "n1: slow ×20\nn2: slow ×20\nn3: slow ×20\n" {
		t.Fatalf("exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}
	for _, addr := range []string{"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"} {
		reqs := net.admins[addr]
		if len(reqs) != 1 || reqs[0].GetCommand() != pb.AdminCommand_SLOW_MOTION || reqs[0].GetSlowFactor() != 20 {
			t.Errorf("%s got %v", addr, reqs)
		}
	}
	t.Run("a node not told", func(t *testing.T) {
		net := agreeable()
		delete(net.nodes, "127.0.0.1:7003")
		got := runCtl(t, net, "--cluster", cfg, "slow", "1")
		if got.code != exitFailed || !strings.Contains(got.stdout, "n3: not told") || !strings.Contains(got.stderr, "2 of 3 nodes told") {
			t.Errorf("exit %d\n%s%s", got.code, got.stdout, got.stderr)
		}
	})
	for _, bad := range []string{"0", "101", "fast", "1.5"} {
		if got := runCtl(t, healthy(), "--cluster", cfg, "slow", bad); got.code != exitUsage || !strings.Contains(got.stderr, "whole factor") {
			t.Errorf("slow %s: exit %d, stderr %q", bad, got.code, got.stderr)
		}
	}
}

func TestTimerCommands(t *testing.T) {
	cfg := writeCluster(t)
	for cmd, want := range map[string]pb.AdminCommand{"timeout": pb.AdminCommand_FIRE_TIMER, "hold": pb.AdminCommand_HOLD_TIMER, "release": pb.AdminCommand_RELEASE_TIMER} {
		net := agreeable()
		got := runCtl(t, net, "--cluster", cfg, cmd, "n2")
		if got.code != exitOK {
			t.Errorf("%s n2: exit %d %s", cmd, got.code, got.stderr)
		}
		if reqs := net.admins["127.0.0.1:7002"]; len(reqs) != 1 || reqs[0].GetCommand() != want {
			t.Errorf("%s n2 sent %v", cmd, reqs)
		}
	}
}
