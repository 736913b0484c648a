package ledger

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"sync"
	"testing"
)

// A lotCache keeps the sequencer's decoded lots, keyed by lot id, so that
// an event does not decode its lot three times (to check it, to change it,
// and to take its index entries out) and the next event on the lot does
// not decode it again. Like the queries' nodeCache it is not a second
// source of truth: the write path still reads every lot's bytes from its
// transaction and uses a cached lot only when those bytes are exactly the
// bytes the cached lot encodes to. A commit that fails, or a record that
// writes a lot's bytes without going through the cache (a void), needs no
// invalidation: the bytes no longer match and the lot is decoded again.
//
// Cached lots are shared: nothing may modify them. A change starts from a
// clone (lotTx.get), and the changed lot enters the cache only once it is
// written, when the record is done with it. Tests check on every hit that
// the cached lot still encodes to its bytes (see checkHits).
//
// Only the sequencer goroutine uses it. It holds two generations of at most
// lotCacheBytes/2 each, as nodeCache does.
type lotCache struct {
	cur, old map[string]*cachedLot
	curBytes int
	max      int // bytes; 0: lotCacheBytes
}

type cachedLot struct {
	raw []byte // the stored encoding; never modified
	lot *Lot
}

// lotCacheBytes bounds the memory of the lot cache (approximately: the
// encodings and the decoded lots).
const lotCacheBytes = 64 << 20

// checkHits says whether to check every cache hit: in test binaries,
// unless they measure (-test.bench). A cached lot modified in place would
// make the write path apply records to a state that is not the stored one.
var checkHits = sync.OnceValue(func() bool {
	if !testing.Testing() {
		return false
	}
	bench := flag.Lookup("test.bench")
	return bench == nil || bench.Value.String() == ""
})

// decode returns lot id, whose stored bytes are data, shared.
func (c *lotCache) decode(id string, data []byte) (*Lot, error) {
	if e := c.lookup(id, data); e != nil {
		return e.lot, nil
	}
	l, err := decodeLot(id, data)
	if err != nil {
		return nil, err
	}
	c.add(data, l)
	return l, nil
}

func (c *lotCache) lookup(id string, data []byte) *cachedLot {
	e := c.cur[id]
	if e == nil {
		if e = c.old[id]; e != nil && bytes.Equal(e.raw, data) {
			c.put(id, e)
		}
	}
	if e == nil || !bytes.Equal(e.raw, data) {
		return nil
	}
	if checkHits() {
		if now, err := json.Marshal(e.lot); err != nil || !bytes.Equal(now, e.raw) {
			panic(fmt.Sprintf("lot cache: cached lot %s was modified in place:\nwas %s\nnow %s", id, e.raw, now))
		}
	}
	return e
}

// add caches l, whose encoding is data. l must not be modified afterwards.
func (c *lotCache) add(data []byte, l *Lot) {
	c.put(l.ID, &cachedLot{raw: data, lot: l})
}

func (c *lotCache) put(id string, e *cachedLot) {
	limit := c.max
	if limit == 0 {
		limit = lotCacheBytes
	}
	if c.cur == nil || c.curBytes >= limit/2 {
		c.old, c.cur, c.curBytes = c.cur, make(map[string]*cachedLot, 1024), 0
	}
	if prev := c.cur[id]; prev != nil {
		c.curBytes -= lotCost(prev)
	}
	c.cur[id] = e
	c.curBytes += lotCost(e)
}

// decodeLot decodes the stored lot id.
func decodeLot(id string, data []byte) (*Lot, error) {
	l := new(Lot)
	if err := json.Unmarshal(data, l); err != nil {
		return nil, Wrap(Tampered, "stored lot does not decode", fmt.Errorf("lot %s: %w", id, err))
	}
	if l.ID != id {
		return nil, Errorf(Tampered, "stored lot %s names lot %s", id, l.ID)
	}
	return l, nil
}

// lotCost estimates the memory a cached lot takes: its encoding and,
// about as much again, the decoded lot.
func lotCost(e *cachedLot) int { return 2*len(e.raw) + 512 }
