package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/easykv/easykv/netlink"
)

// The chaos workload: a few clients over a handful of keys, so that their
// operations on each key interleave.
const (
	chaosNodes          = 5
	chaosClients        = 10
	chaosKeys           = 8
	chaosOpTimeout      = 2 * time.Second        // deadline of one operation, retries included
	chaosAttemptTimeout = 600 * time.Millisecond // one try at one node
	chaosPutPercent     = 45                     // of operations; deletes and gets share the rest
	chaosDeletePercent  = 5
)

// chaosClient is a cluster-aware client with its own session, closed with
// the test.
func (h *Harness) chaosClient(name string) *netlink.ClusterClient {
	h.t.Helper()
	return h.newClusterClient(netlink.ClusterConfig{
		Identity:       netlink.Identity{Cluster: clusterName, NodeID: name},
		Timeout:        chaosOpTimeout,
		AttemptTimeout: chaosAttemptTimeout,
	})
}

// chaosKey is the name of key number i.
func chaosKey(i int) string {
	return fmt.Sprintf("k%d", i)
}

// runChaosClient runs random operations one after another until ctx ends.
// Every put writes a value no other put writes: the client number and a
// counter. An operation under way when ctx ends runs to its own deadline.
func runChaosClient(ctx context.Context, client int, c *netlink.ClusterClient, rng *rand.Rand, hist *chaosHistory) {
	for seq := 1; ctx.Err() == nil; seq++ {
		op := chaosOp{client: client, key: chaosKey(rng.IntN(chaosKeys))}
		switch p := rng.IntN(100); {
		case p < chaosPutPercent:
			op.kind, op.value = chaosPut, fmt.Sprintf("c%d-%d", client, seq)
		case p < chaosPutPercent+chaosDeletePercent:
			op.kind = chaosDelete
		default:
			op.kind = chaosGet
		}
		hist.add(doChaosOp(c, op, hist))
	}
}

// doChaosOp runs op (kind, key and value filled in) with its own deadline
// and returns it with its times, outcome and result.
func doChaosOp(c *netlink.ClusterClient, op chaosOp, hist *chaosHistory) chaosOp {
	ctx, cancel := context.WithTimeout(context.Background(), chaosOpTimeout)
	defer cancel()
	var (
		res netlink.Result
		err error
	)
	op.call = hist.now()
	switch op.kind {
	case chaosPut:
		res, err = c.Put(ctx, op.key, op.value)
	case chaosDelete:
		res, err = c.Delete(ctx, op.key)
	default:
		res, err = c.Get(ctx, op.key, false)
	}
	op.ret = hist.now()
	op.outcome, op.err = classifyChaos(op.kind, err), err
	if err == nil {
		op.node = res.NodeID
		if op.kind == chaosGet {
			op.value, op.found = res.Value, res.Found
		}
	}
	return op
}
