package vlog

import (
	"math/bits"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// A HashCache keeps stored hashes in memory for the proofs, which read
// about 50 of them each (one store lookup per hash without it). A stored
// hash never changes once committed, so the cache needs no invalidation: an
// entry is what the store holds at its index for good.
//
// It keeps every hash it read at the tree's upper levels, from level Low
// up, by index (Warm reads the top ones at the start, the proofs the
// others as they go); a proof then reads from the store only its leaf and
// its siblings below Low, a handful of keys next to each other. Below Low it keeps the hashes read most recently, in
// two generations of at most RecentHashes each (a hit in the older one
// moves the hash to the newer): the hashes of the newest tree's right edge,
// which every proof at the current size reads, stay. When the tree grows
// past what maxBytes holds, Low rises by a level and that level's hashes
// go. It is safe for concurrent use.
type HashCache struct {
	max int64

	mu     sync.Mutex
	low    int
	levels []levelHashes // levels[i] holds level low+i
	upper  int64         // bytes of levels
	recent map[int64]tlog.Hash
	old    map[int64]tlog.Hash
}

// levelHashes are the hashes of one level by n, and which n were read.
type levelHashes struct {
	hash []tlog.Hash
	read []uint64 // bitset over n
}

// grow makes room for the hashes of n up to size.
func (lv *levelHashes) grow(size int64) {
	if size > int64(len(lv.hash)) {
		lv.hash = append(lv.hash, make([]tlog.Hash, size-int64(len(lv.hash)))...)
		lv.read = append(lv.read, make([]uint64, (size+63)/64-int64(len(lv.read)))...)
	}
}

// bytes is the memory the level takes.
func (lv *levelHashes) bytes() int64 {
	return int64(len(lv.hash))*tlog.HashSize + int64(len(lv.read))*8
}

// RecentHashes is the size of one generation of the hashes kept below
// Low.
const RecentHashes = 4096

// recentBytes estimates a kept recent hash: index, hash and the map's
// share.
const recentBytes = 64

// NewHashCache returns an empty cache of about maxBytes that keeps all the
// hashes it reads at levels minLow and above, or at a higher level once
// the tree is too big for maxBytes (Warm chooses).
func NewHashCache(maxBytes int64, minLow int) *HashCache {
	return &HashCache{max: maxBytes, low: minLow, recent: map[int64]tlog.Hash{}}
}

// Low returns the lowest level of which the cache keeps every hash read.
func (c *HashCache) Low() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.low
}

// Bytes returns the memory the cache holds, about.
func (c *HashCache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.upper + int64(len(c.recent)+len(c.old))*recentBytes
}

// upperBytes is the memory of every hash at levels low and above in a tree
// of size records.
func upperBytes(size int64, low int) int64 {
	var n int64
	for l := low; size>>l > 0; l++ {
		n += size >> l
	}
	return n * (tlog.HashSize + 1) // and a bit, rounded up per level below
}

// Reader returns a tlog.HashReader that reads from the cache and, for the
// hashes it lacks, from tx (as HashReader(tx), whose errors it returns),
// and keeps what it read.
func (c *HashCache) Reader(tx Tx) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		var missing []int64
		var at []int
		c.mu.Lock()
		for i, idx := range indexes {
			if h, ok := c.get(idx); ok {
				out[i] = h
			} else {
				missing, at = append(missing, idx), append(at, i)
			}
		}
		c.mu.Unlock()
		if len(missing) == 0 {
			return out, nil
		}
		hs, err := HashReader(tx).ReadHashes(missing)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		for i, idx := range missing {
			c.put(idx, hs[i])
			out[at[i]] = hs[i]
		}
		c.mu.Unlock()
		return out, nil
	})
}

// get returns the hash at idx if the cache has it (c.mu held).
func (c *HashCache) get(idx int64) (tlog.Hash, bool) {
	level, n := tlog.SplitStoredHashIndex(idx)
	if level >= c.low {
		if i := level - c.low; i < len(c.levels) && n < int64(len(c.levels[i].hash)) && c.levels[i].read[n/64]&(1<<(n%64)) != 0 {
			return c.levels[i].hash[n], true
		}
		return tlog.Hash{}, false
	}
	if h, ok := c.recent[idx]; ok {
		return h, true
	}
	h, ok := c.old[idx]
	if ok {
		c.putRecent(idx, h)
	}
	return h, ok
}

// put keeps the hash at idx (c.mu held).
func (c *HashCache) put(idx int64, h tlog.Hash) {
	level, n := tlog.SplitStoredHashIndex(idx)
	if level < c.low {
		c.putRecent(idx, h)
		return
	}
	i := level - c.low
	for len(c.levels) <= i {
		c.levels = append(c.levels, levelHashes{})
	}
	lv := &c.levels[i]
	if before := lv.bytes(); n >= int64(len(lv.hash)) {
		lv.grow(max(n+1, int64(len(lv.hash))*5/4))
		c.upper += lv.bytes() - before
	}
	lv.hash[n] = h
	lv.read[n/64] |= 1 << (n % 64)
	for c.upper > c.max && len(c.levels) > 1 {
		c.raise()
	}
}

// raise drops the lowest level kept in full (c.mu held).
func (c *HashCache) raise() {
	c.upper -= c.levels[0].bytes()
	c.levels = c.levels[1:]
	c.low++
}

// putRecent keeps a hash below low in the newer generation (c.mu held).
func (c *HashCache) putRecent(idx int64, h tlog.Hash) {
	if len(c.recent) >= RecentHashes {
		c.old, c.recent = c.recent, make(map[int64]tlog.Hash, RecentHashes)
	}
	c.recent[idx] = h
}

// WarmHashes is the most hashes Warm reads: on a big tree it reads the
// levels from the top down to where they hold that many, and the levels
// below, down to Low, fill as proofs read them. A warm-up read lands on a
// table block of its own, so more would fault in a good part of the
// hashes' tables, bringing on releases of the mapped tables
// (cmd/coldtrace/memory/mapped) while the first queries run.
const WarmHashes = 8192

// Warm reads into the cache the stored hashes at the upper levels of the
// tree of size records: first it raises Low until those fit in a half of
// maxBytes (the rest leaves room for the tree to grow) and makes room for
// them, then it reads the levels from the top down to Low, or to the
// level where they hold WarmHashes hashes. It reads through view, which
// runs fn in a read transaction, a chunk of hashes per transaction, and
// stops early, without error, when stop is closed.
func (c *HashCache) Warm(view func(fn func(tx Tx) error) error, size int64, stop <-chan struct{}) error {
	c.mu.Lock()
	for upperBytes(size, c.low) > c.max/2 && size>>c.low > 0 {
		if len(c.levels) > 0 {
			c.raise()
		} else {
			c.low++
		}
	}
	low := c.low
	for level := low; size>>level > 0; level++ {
		for len(c.levels) <= level-low {
			c.levels = append(c.levels, levelHashes{})
		}
		lv := &c.levels[level-low]
		before := lv.bytes()
		lv.grow(size >> level)
		c.upper += lv.bytes() - before
	}
	c.mu.Unlock()
	for low < 62 && upperBytes(size, low) > WarmHashes*(tlog.HashSize+1) {
		low++
	}
	const chunk = 256
	var batch []int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := view(func(tx Tx) error {
			_, err := c.Reader(tx).ReadHashes(batch)
			return err
		})
		batch = batch[:0]
		return err
	}
	for level := bits.Len64(uint64(size)) - 1; level >= low; level-- { // the top level with a hash
		for n := int64(0); n < size>>level; n++ {
			select {
			case <-stop:
				return nil
			default:
			}
			if batch = append(batch, tlog.StoredHashIndex(level, n)); len(batch) == chunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}
