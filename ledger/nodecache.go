package ledger

import "sync"

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
// It holds two generations of at most nodeCacheBytes/2 each: when the
// current one is full it becomes the old one and the old one is dropped; a
// hit in the old generation moves the node to the current one. The write
// path does not use it.
type nodeCache struct {
	mu       sync.Mutex
	cur, old map[string]*lotNode
	curBytes int
	max      int // bytes; 0: nodeCacheBytes
}

// nodeCacheBytes bounds the memory of a nodeCache (approximately: the
// encodings and the decoded nodes).
const nodeCacheBytes = 96 << 20

// nodeCost estimates the memory a cached node takes: its encoding (which
// the decoded strings share), its decoded lists and the struct.
func nodeCost(n *lotNode) int { return 2*len(n.raw) + 640 }

// decode returns the node of lot id whose stored bytes are data.
func (c *nodeCache) decode(id string, data []byte) (*lotNode, error) {
	c.mu.Lock()
	n := c.cur[id]
	if n == nil {
		if n = c.old[id]; n != nil && n.raw == string(data) {
			c.addLocked(id, n)
		}
	}
	c.mu.Unlock()
	if n != nil && n.raw == string(data) {
		return n, nil
	}
	n, err := decodeNode(data)
	if err != nil {
		return nil, err
	}
	if n.ID != id {
		return nil, Errorf(Tampered, "stored lot node %s names lot %s", id, n.ID)
	}
	c.mu.Lock()
	c.addLocked(id, n)
	c.mu.Unlock()
	return n, nil
}

func (c *nodeCache) addLocked(id string, n *lotNode) {
	limit := c.max
	if limit == 0 {
		limit = nodeCacheBytes
	}
	if c.cur == nil || c.curBytes >= limit/2 {
		c.old, c.cur, c.curBytes = c.cur, make(map[string]*lotNode, 4096), 0
	}
	if prev := c.cur[id]; prev != nil {
		c.curBytes -= nodeCost(prev)
	}
	c.cur[id] = n
	c.curBytes += nodeCost(n)
}

// query is view for the queries: its state decodes nodes through the
// ledger's node cache.
func (l *Ledger) query(fn func(st *state) error) error {
	return l.store.View(func(tx Tx) error { return fn(&state{tx: tx, nodes: &l.nodes}) })
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
