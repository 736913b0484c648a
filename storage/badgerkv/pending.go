package badgerkv

import (
	"bytes"
	"errors"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/btree"

	"coldtrace/ledger/fault"
)

// An Update's own writes, in order, and an index of them sorted by key
// that is built only when a Scan needs it.
//
// Badger answers an iterator in a read-write transaction by copying and
// sorting all of the transaction's pending writes, every time: the ledger's
// groups hold thousands of writes and scan an index for many of their
// records (a declaration looks up its number), which made those sorts half
// the CPU of a bulk load (docs/decisions.md, issue 17). Here a Scan in an
// Update reads the committed snapshot with a read-only iterator and merges
// the pending writes from this index, which takes in only the writes made
// since the last Scan.
type pending struct {
	log     []pendingWrite // every Set and Delete, in order
	indexed int            // log[:indexed] are in sorted
	sorted  *btree.BTreeG[pendingWrite]
}

type pendingWrite struct {
	k, v []byte
	del  bool
}

func byKey(a, b pendingWrite) bool { return bytes.Compare(a.k, b.k) < 0 }

func (p *pending) add(k, v []byte, del bool) {
	p.log = append(p.log, pendingWrite{k, v, del})
}

// index brings the sorted writes up to date with the log (a later write of
// a key replaces the earlier one) and returns them.
func (p *pending) index() *btree.BTreeG[pendingWrite] {
	if p.sorted == nil {
		p.sorted = btree.NewG(32, byKey)
	}
	for _, w := range p.log[p.indexed:] {
		p.sorted.ReplaceOrInsert(w)
	}
	p.indexed = len(p.log)
	return p.sorted
}

// firstFrom returns the first write whose key is >= k (after: > k).
func firstFrom(t *btree.BTreeG[pendingWrite], k []byte, after bool) (w pendingWrite, ok bool) {
	t.AscendGreaterOrEqual(pendingWrite{k: k}, func(x pendingWrite) bool {
		if after && bytes.Equal(x.k, k) {
			return true
		}
		w, ok = x, true
		return false
	})
	return w, ok
}

// lastTo returns the last write whose key is <= k (before: < k).
func lastTo(t *btree.BTreeG[pendingWrite], k []byte, before bool) (w pendingWrite, ok bool) {
	t.DescendLessOrEqual(pendingWrite{k: k}, func(x pendingWrite) bool {
		if before && bytes.Equal(x.k, k) {
			return true
		}
		w, ok = x, true
		return false
	})
	return w, ok
}

// An update is what an Update's transaction keeps besides badger's: its
// writes, and a read-only transaction at the same timestamp for Scans.
type update struct {
	db   *badger.DB
	ts   uint64
	w    pending
	read *badger.Txn
}

func (u *update) reader() *badger.Txn {
	if u.read == nil {
		u.read = u.db.NewTransactionAt(u.ts, false)
	}
	return u.read
}

func (u *update) close() {
	if u.read != nil {
		u.read.Discard()
	}
}

// mergedScan is Scan in an Update that has written: the committed keys
// from a read-only iterator and the transaction's own writes from its
// index, merged in order, a write replacing the committed value of its
// key and a delete hiding it.
func (t tx) mergedScan(prefix, seek []byte, reverse bool, fn func(k, v []byte) error) error {
	it := t.up.reader().NewIterator(iterOptions(prefix, reverse))
	defer it.Close()
	sorted := t.up.w.index()
	var p pendingWrite
	var pok bool
	if reverse {
		p, pok = lastTo(sorted, seek, false)
	} else {
		p, pok = firstFrom(sorted, seek, false)
	}
	next := func() {
		if reverse {
			p, pok = lastTo(sorted, p.k, true)
		} else {
			p, pok = firstFrom(sorted, p.k, true)
		}
	}
	n := 0
	for it.Seek(seek); ; {
		if n++; n%scanCheckEvery == 0 {
			if err := t.ctx.Err(); err != nil {
				return err
			}
		}
		cv, pv := it.ValidForPrefix(prefix), pok && bytes.HasPrefix(p.k, prefix)
		var c int // < 0: the committed key comes first, > 0: the written one
		switch {
		case !cv && !pv:
			return nil
		case !cv:
			c = 1
		case !pv:
			c = -1
		default:
			if c = bytes.Compare(it.Item().Key(), p.k); reverse {
				c = -c
			}
		}
		var err error
		if c < 0 {
			item := it.Item()
			err = item.Value(func(v []byte) error { return fn(item.Key(), v) })
			it.Next()
		} else {
			if !p.del {
				err = fn(p.k, p.v)
			}
			if c == 0 {
				it.Next()
			}
			next()
		}
		if errors.Is(err, fault.ErrStop) {
			return nil
		}
		if err != nil {
			return translate(err)
		}
	}
}
