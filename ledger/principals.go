package ledger

import (
	"sync"
	"sync/atomic"
)

// principalCache remembers the principals of keys that authenticated, by
// the SHA-256 of their secret, so that a request does not read the store.
// Any record that changes a key (created or revoked) bumps the generation,
// which invalidates every entry; unknown secrets are never cached.
//
// An entry is valid only when its generation is the current one. A lookup
// reads the generation before its snapshot, and the sequencer bumps it after
// committing a key change, so a snapshot that predates the change can only
// be cached under a generation that is already stale.
type principalCache struct {
	gen atomic.Uint64
	m   sync.Map // secret hash -> cachedPrincipal
}

type cachedPrincipal struct {
	gen uint64
	p   Principal
}

// get returns the cached principal of a secret's hash.
func (c *principalCache) get(hash string) (Principal, bool) {
	v, ok := c.m.Load(hash)
	if !ok {
		return Principal{}, false
	}
	e := v.(cachedPrincipal)
	if e.gen != c.gen.Load() {
		c.m.Delete(hash)
		return Principal{}, false
	}
	return e.p, true
}

// put caches p as read from a snapshot taken after generation gen was read.
func (c *principalCache) put(hash string, gen uint64, p Principal) {
	c.m.Store(hash, cachedPrincipal{gen: gen, p: p})
}

// invalidate drops every entry; the sequencer calls it after committing a
// change to any key.
func (c *principalCache) invalidate() {
	c.gen.Add(1)
	c.m.Clear()
}
