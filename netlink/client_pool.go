package netlink

import (
	"context"
	"slices"
	"sync"
)

// ClientPool shares a few connections per node among many callers in one
// process: Dial hands out Clients that take turns on up to size
// connections to the same address (and identity). Each caller keeps what
// is its own above the connection (a ClusterClient its session), and
// requests are paired with answers by request_id, so sharing changes
// nothing but the cost: with several calls in flight on a connection,
// their frames share writes both ways, as etcd's clients share gRPC
// connections (its benchmark's --conns). A Client from a pool cannot
// Watch; Close gives back its share, and a connection closes with its
// last share. It is safe for concurrent use.
type ClientPool struct {
	size int // connections per address and identity

	mu    sync.Mutex                // guards the fields below
	conns map[poolKey][]*pooledConn // live connections, in the order dialled
	next  map[poolKey]int           // the connection the next share goes to
}

// poolKey names the connections that may be shared.
type poolKey struct {
	addr string   // the node's address
	id   Identity // the handshake every share would present
}

// pooledConn is one connection of a pool and its shares.
type pooledConn struct {
	pool  *ClientPool // owner
	key   poolKey     // where it is listed
	owner *Client     // the Client that owns the connection
	refs  int         // shares handed out and not closed; guarded by pool.mu
}

// NewClientPool returns a pool of at most size connections per address
// and identity (at least 1).
func NewClientPool(size int) *ClientPool {
	return &ClientPool{size: max(size, 1), conns: map[poolKey][]*pooledConn{}, next: map[poolKey]int{}}
}

// Dial returns a share of a connection to addr as id: a new connection
// while the pool has fewer than size live ones there, else one of those,
// in turn. A broken connection is dropped from the pool (its shares see
// it broken and dial again).
func (p *ClientPool) Dial(ctx context.Context, addr string, id Identity) (*Client, error) {
	key := poolKey{addr: addr, id: id}
	p.mu.Lock()
	live := slices.DeleteFunc(p.conns[key], func(pc *pooledConn) bool { return pc.owner.failure() != nil })
	p.conns[key] = live
	if len(live) >= p.size {
		pc := live[p.next[key]%len(live)]
		p.next[key]++
		pc.refs++
		p.mu.Unlock()
		return &Client{connection: pc.owner.connection, pooled: pc}, nil
	}
	p.mu.Unlock()
	// Dial without the lock: a slow node holds up nobody else. Two calls
	// may both dial; the pool then briefly holds one connection more.
	owner, err := Dial(ctx, addr, id)
	if err != nil {
		return nil, err
	}
	pc := &pooledConn{pool: p, key: key, owner: owner, refs: 1}
	p.mu.Lock()
	p.conns[key] = append(p.conns[key], pc)
	p.mu.Unlock()
	return &Client{connection: owner.connection, pooled: pc}, nil
}

// release gives back one share; the last closes the connection.
func (pc *pooledConn) release() error {
	p := pc.pool
	p.mu.Lock()
	pc.refs--
	last := pc.refs == 0
	if last {
		p.conns[pc.key] = slices.DeleteFunc(p.conns[pc.key], func(o *pooledConn) bool { return o == pc })
		if len(p.conns[pc.key]) == 0 {
			delete(p.conns, pc.key)
			delete(p.next, pc.key)
		}
	}
	p.mu.Unlock()
	if !last {
		return nil
	}
	return pc.owner.Close()
}
