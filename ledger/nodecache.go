package ledger

import (
	"context"
	"sync"

	"coldtrace/ledger/fault"
)

// A nodeCache keeps decoded lot nodes for the queries (trace, recall,
// closure, reports, lists), keyed by lot id. It is not a second source of
// truth: a query still reads every node's bytes from its own snapshot, and
// uses a cached node only when those bytes are exactly the bytes the cached
// node was decoded from. So a cached node is what decoding would have
// returned, whatever was committed since, and nothing has to invalidate it;
// an entry whose lot changed is simply replaced on the next read. Reading
// the bytes is a third of a family trace and decoding them the rest
// (docs/decisions.md).
//
// Cached nodes are shared between queries: they must not be modified, and
// answers copy what they take from them (slices, Transit).
//
// It holds at most about nodeCacheBytes (see generations). The write path
// does not use it.
type nodeCache struct {
	mu    sync.Mutex
	nodes generations[*lotNode]
	max   int // bytes; 0: nodeCacheBytes (Options.NodeCacheBytes)
}

// nodeCacheBytes bounds the memory of a nodeCache (approximately: the
// encodings and the decoded nodes) when Options.NodeCacheBytes is 0.
const nodeCacheBytes = 96 << 20

// size estimates the memory a cached node takes: its encoding (which the
// decoded strings share), its decoded lists and the struct.
func (n *lotNode) size() int { return 2*len(n.raw) + 640 }

// decode returns the node of lot id whose stored bytes are data.
func (c *nodeCache) decode(id string, data []byte) (*lotNode, error) {
	fresh := func(n *lotNode) bool { return n.raw == string(data) }
	c.mu.Lock()
	n, ok := c.nodes.get(id, fresh, c.limit())
	c.mu.Unlock()
	if ok {
		return n, nil
	}
	n, err := decodeNode(data)
	if err != nil {
		return nil, err
	}
	if n.ID != id {
		return nil, fault.Errorf(fault.Tampered, "stored lot node %s names lot %s", id, n.ID)
	}
	c.mu.Lock()
	c.nodes.put(id, n, c.limit())
	c.mu.Unlock()
	return n, nil
}

// used returns the estimated bytes the cache holds.
func (c *nodeCache) used() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(c.nodes.bytes())
}

func (c *nodeCache) limit() int {
	if c.max == 0 {
		return nodeCacheBytes
	}
	return c.max
}

// query is view for the queries: its state decodes nodes through the
// ledger's node cache.
func (l *Ledger) query(ctx context.Context, fn func(st *state) error) error {
	return l.store.View(ctx, func(tx Tx) error { return fn(&state{tx: tx, ctx: ctx, nodes: &l.nodes}) })
}

// famNode decodes the node v of a family entry whose key ends with sfx
// (<created seq><lot id>).
func (st *state) famNode(sfx, v []byte) (*lotNode, error) {
	if st.nodes == nil || len(sfx) <= 8 {
		return decodeNode(v)
	}
	return st.nodes.decode(string(sfx[8:]), v)
}

// clone copies a transit (nil stays nil), so that an answer does not share
// a cached node's.
func (t *Transit) clone() *Transit {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
