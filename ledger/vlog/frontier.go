package vlog

import (
	"golang.org/x/mod/sumdb/tlog"
)

// A Frontier keeps in memory the hashes of the complete subtrees that make
// up the committed tree (one per set bit of its size). Appending a record
// reads only such hashes (tlog.StoredHashes reads the left siblings the
// record completes), and so does the tree hash of the new size, so with the
// frontier the sequencer reads no stored hash from the Store. Stored hashes
// never change once committed; the frontier follows the committed size
// only, through Group. It belongs to the sequencer goroutine.
type Frontier struct {
	hashes map[int64]tlog.Hash // stored hash index -> hash
}

// A Group is a tlog.HashReader for one group's transaction: the hashes the
// group wrote, then the frontier, then the store.
type Group struct {
	f       *Frontier
	tx      Tx
	written map[int64]tlog.Hash // by this group, not yet committed
	read    map[int64]tlog.Hash // from the Store (a frontier that starts empty)
}

// Group starts the hashes of a group of appends in tx.
func (f *Frontier) Group(tx Tx) *Group {
	return &Group{f: f, tx: tx, written: map[int64]tlog.Hash{}, read: map[int64]tlog.Hash{}}
}

// ReadHashes implements tlog.HashReader.
func (g *Group) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var missing []int64
	for i, idx := range indexes {
		if h, ok := g.written[idx]; ok {
			out[i] = h
		} else if h, ok := g.f.hashes[idx]; ok {
			out[i] = h
		} else {
			missing = append(missing, idx)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	hs, err := HashReader(g.tx).ReadHashes(missing)
	if err != nil {
		return nil, err
	}
	for i, idx := range missing {
		g.read[idx] = hs[i]
	}
	for i, idx := range indexes {
		if h, ok := g.read[idx]; ok {
			out[i] = h
		}
	}
	return out, nil
}

// Commit makes f the frontier of the tree of size n that g's group
// committed.
func (f *Frontier) Commit(g *Group, n int64) {
	next := make(map[int64]tlog.Hash, 64)
	for _, idx := range subtreeIndexes(n) {
		for _, m := range []map[int64]tlog.Hash{g.written, g.read, f.hashes} {
			if h, ok := m[idx]; ok {
				next[idx] = h
				break
			}
		}
	}
	f.hashes = next
}

// subtreeIndexes returns the stored hash indexes of the complete subtrees
// that make up a tree of n records, largest first.
func subtreeIndexes(n int64) []int64 {
	var out []int64
	var start int64
	for level := 62; level >= 0; level-- {
		if size := int64(1) << level; n&size != 0 {
			out = append(out, tlog.StoredHashIndex(level, start>>level))
			start += size
		}
	}
	return out
}
