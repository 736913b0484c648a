package ledger

import (
	"bytes"
	"fmt"
	"sync/atomic"
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
// the cached lot still encodes to its bytes (Options.CheckLotCache).
//
// Only the sequencer goroutine uses it. It holds at most about
// lotCacheBytes (see generations).
type lotCache struct {
	lots generations[*cachedLot]
	max  int          // bytes; 0: lotCacheBytes (Options.LotCacheBytes)
	used atomic.Int64 // lots.bytes(), for other goroutines (Ledger.CacheBytes)
	// check re-encodes every hit and panics when a cached lot was modified
	// in place, which would make the write path apply records to a state
	// that is not the stored one (Options.CheckLotCache: tests).
	check bool
	// sites are the sites the sequencer decoded, by id, with the bytes
	// they were decoded from: a site is used only while its stored bytes
	// are the same (state.site). A Site holds no slice, so a copy of one
	// is its own.
	sites map[string]cachedSite
}

type cachedSite struct {
	raw  []byte
	site Site
}

// maxCachedSites bounds the sites the lot cache keeps: when full it starts
// again empty.
const maxCachedSites = 4096

func (c *lotCache) addSite(id string, raw []byte, s Site) {
	if c.sites == nil || len(c.sites) >= maxCachedSites {
		c.sites = make(map[string]cachedSite)
	}
	c.sites[id] = cachedSite{raw: raw, site: s}
}

type cachedLot struct {
	raw []byte // the stored encoding; never modified
	lot *Lot
}

// size estimates the memory a cached lot takes: its encoding and, about as
// much again, the decoded lot.
func (e *cachedLot) size() int { return 2*len(e.raw) + 512 }

// lotCacheBytes bounds the memory of the lot cache (approximately: the
// encodings and the decoded lots) when Options.LotCacheBytes is 0.
const lotCacheBytes = 64 << 20

// decode returns lot id, whose stored bytes are data, shared.
func (c *lotCache) decode(id string, data []byte) (*Lot, error) {
	e, ok := c.lots.get(id, func(e *cachedLot) bool { return bytes.Equal(e.raw, data) }, c.limit())
	if !ok {
		l, err := decodeLot(id, data)
		if err != nil {
			return nil, err
		}
		c.add(data, l)
		return l, nil
	}
	if c.check {
		if now := reencodeLot(e.lot, e.raw); !bytes.Equal(now, e.raw) {
			panic(fmt.Sprintf("lot cache: cached lot %s was modified in place:\nwas %s\nnow %s", id, e.raw, now))
		}
	}
	return e.lot, nil
}

// add caches l, whose encoding is data. l must not be modified afterwards.
func (c *lotCache) add(data []byte, l *Lot) {
	c.lots.put(l.ID, &cachedLot{raw: data, lot: l}, c.limit())
	c.used.Store(int64(c.lots.bytes()))
}

func (c *lotCache) limit() int {
	if c.max == 0 {
		return lotCacheBytes
	}
	return c.max
}
