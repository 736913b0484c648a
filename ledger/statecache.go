package ledger

import (
	"bytes"
	"context"
	"sync"
)

// A cachingStore is the ledger's Store with a cache of the latest committed
// value of the state entries every event reads (its lot, the lot's node and
// family copy, its batch's summary, the site, the policy, the org) for the
// transactions of Update. Badger answers a Get of a key that is rewritten
// often by searching every table that holds an older version of it, which
// was a quarter of the write path's CPU for a lab's `tested`
// (docs/decisions.md, issue 17).
//
// The cache is the store's own latest value, not a second source of truth:
// every Update of the ledger goes through it, a key an Update writes is
// dropped from the cache before the Update commits and takes its new value
// only once the commit succeeded, and a value read from the store inside
// an Update (which reads the newest commit, one Update at a time) is the
// committed one. Views (the queries, which read snapshots) do not use it.
// A write to the Store that bypasses the ledger while it is open is not
// seen, as it would not be by the ledger's other caches of principals.
type cachingStore struct {
	Store
	c stateCache
}

// PurgeKey implements Purger when the store does (EraseAnnex).
func (s *cachingStore) PurgeKey(k []byte) error {
	if pg, ok := s.Store.(Purger); ok {
		return pg.PurgeKey(k)
	}
	return nil
}

// Update runs fn in an Update of the store through a cacheTx and, when it
// committed, puts what it wrote to cached tables into the cache.
func (s *cachingStore) Update(ctx context.Context, fn func(Tx) error) error {
	var ct *cacheTx
	err := s.Store.Update(ctx, func(tx Tx) error {
		ct = &cacheTx{Tx: tx, c: &s.c}
		return fn(ct)
	})
	if err == nil && ct != nil {
		s.c.commit(ct.written)
	}
	return err
}

// cached reports whether k is an entry of a table the cache keeps: those
// read for every lot event, and the small registry tables the rules read.
// It looks at the table's name only (every Get and Set of the write path
// asks).
func cached(k []byte) bool {
	if len(k) < len(prefixState)+2 || k[0] != prefixState[0] || k[1] != prefixState[1] {
		return false
	}
	name := k[len(prefixState):]
	end := bytes.IndexByte(name, '/')
	if end < 0 {
		return false
	}
	switch table(name[:end]) {
	case tabLot, tabNode, tabFamily, tabSummary, tabSite, tabPolicy, tabOrg, tabCode:
		return true
	}
	return false
}

// A cacheTx is a transaction of Update: it answers Gets of cached tables
// from the cache and remembers what it writes to them.
type cacheTx struct {
	Tx
	c       *stateCache
	written map[string][]byte // key -> new value; nil: deleted
}

func (t *cacheTx) Get(k []byte) ([]byte, error) {
	if !cached(k) {
		return t.Tx.Get(k)
	}
	if v, mine := t.written[string(k)]; mine {
		if v != nil {
			return bytes.Clone(v), nil // the transaction's own write, as Set kept it
		}
		return t.Tx.Get(k) // deleted (or set to nil) by this transaction
	}
	if v, ok := t.c.get(k); ok {
		return bytes.Clone(v), nil
	}
	v, err := t.Tx.Get(k)
	if err == nil {
		t.c.put(k, bytes.Clone(v))
	}
	return v, err
}

func (t *cacheTx) Set(k, v []byte) error {
	if !cached(k) {
		return t.Tx.Set(k, v)
	}
	t.c.drop(k)
	if err := t.Tx.Set(k, v); err != nil {
		return err
	}
	t.write(k, bytes.Clone(v))
	return nil
}

func (t *cacheTx) Delete(k []byte) error {
	if !cached(k) {
		return t.Tx.Delete(k)
	}
	t.c.drop(k)
	if err := t.Tx.Delete(k); err != nil {
		return err
	}
	t.write(k, nil)
	return nil
}

func (t *cacheTx) write(k, v []byte) {
	if t.written == nil {
		t.written = make(map[string][]byte)
	}
	t.written[string(k)] = v
}

// A stateCache holds committed values by key within about stateCacheBytes.
type stateCache struct {
	mu   sync.Mutex
	vals generations[cachedValue]
	max  int // bytes; 0: stateCacheBytes
}

type cachedValue struct {
	v    []byte
	klen int
}

func (e cachedValue) size() int { return e.klen + len(e.v) + 96 }

// stateCacheBytes bounds the memory of the state cache (approximately:
// keys, values and the maps' overhead).
const stateCacheBytes = 32 << 20

func (c *stateCache) limit() int {
	if c.max == 0 {
		return stateCacheBytes
	}
	return c.max
}

func (c *stateCache) get(k []byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.vals.get(string(k), func(cachedValue) bool { return true }, c.limit())
	return e.v, ok
}

func (c *stateCache) put(k, v []byte) {
	c.mu.Lock()
	c.vals.put(string(k), cachedValue{v: v, klen: len(k)}, c.limit())
	c.mu.Unlock()
}

// used returns the estimated bytes the cache holds.
func (c *stateCache) used() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(c.vals.bytes())
}

func (c *stateCache) drop(k []byte) {
	c.mu.Lock()
	c.vals.remove(string(k))
	c.mu.Unlock()
}

// commit records the values a committed transaction wrote (nil: deleted).
func (c *stateCache) commit(written map[string][]byte) {
	if len(written) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, v := range written {
		if v == nil {
			c.vals.remove(k)
			continue
		}
		c.vals.put(k, cachedValue{v: v, klen: len(k)}, c.limit())
	}
}
