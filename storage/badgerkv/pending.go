package badgerkv

import (
	"bytes"
	"errors"
	"math/rand/v2"

	"github.com/dgraph-io/badger/v4"

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
	indexed int            // log[:indexed] are in the skip list
	list    skipList
}

type pendingWrite struct {
	k, v []byte
	del  bool
}

func (p *pending) add(k, v []byte, del bool) {
	p.log = append(p.log, pendingWrite{k, v, del})
}

// index brings the skip list up to date with the log: a later write of a
// key replaces the earlier one.
func (p *pending) index() *skipList {
	for _, w := range p.log[p.indexed:] {
		p.list.put(w)
	}
	p.indexed = len(p.log)
	return &p.list
}

const skipLevels = 24

// A skipList is a sorted set of pending writes by key.
type skipList struct {
	head   skipNode // next has skipLevels entries
	levels int
	rnd    *rand.Rand
}

type skipNode struct {
	w    pendingWrite
	next []*skipNode
}

// put inserts w or replaces the write of the same key.
func (s *skipList) put(w pendingWrite) {
	if s.rnd == nil {
		s.rnd = rand.New(rand.NewPCG(1, 2))
		s.head.next = make([]*skipNode, skipLevels)
		s.levels = 1
	}
	var prev [skipLevels]*skipNode
	x := &s.head
	for i := s.levels - 1; i >= 0; i-- {
		for x.next[i] != nil && bytes.Compare(x.next[i].w.k, w.k) < 0 {
			x = x.next[i]
		}
		prev[i] = x
	}
	if n := x.next[0]; n != nil && bytes.Equal(n.w.k, w.k) {
		n.w = w
		return
	}
	lvl := 1
	for lvl < skipLevels && s.rnd.Uint32()&3 == 0 {
		lvl++
	}
	for ; s.levels < lvl; s.levels++ {
		prev[s.levels] = &s.head
	}
	n := &skipNode{w: w, next: make([]*skipNode, lvl)}
	for i := 0; i < lvl; i++ {
		n.next[i] = prev[i].next[i]
		prev[i].next[i] = n
	}
}

// seek returns the first node whose key is >= k (after: > k), or nil.
func (s *skipList) seek(k []byte, after bool) *skipNode {
	if s.levels == 0 {
		return nil
	}
	x := &s.head
	for i := s.levels - 1; i >= 0; i-- {
		for x.next[i] != nil && (bytes.Compare(x.next[i].w.k, k) < 0 || after && bytes.Equal(x.next[i].w.k, k)) {
			x = x.next[i]
		}
	}
	return x.next[0]
}

// seekBack returns the last node whose key is <= k (before: < k), or nil.
func (s *skipList) seekBack(k []byte, before bool) *skipNode {
	if s.levels == 0 {
		return nil
	}
	x := &s.head
	for i := s.levels - 1; i >= 0; i-- {
		for x.next[i] != nil {
			c := bytes.Compare(x.next[i].w.k, k)
			if c > 0 || before && c == 0 {
				break
			}
			x = x.next[i]
		}
	}
	if x == &s.head {
		return nil
	}
	return x
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
	list := t.up.w.index()
	var p *skipNode
	next := func() {
		if reverse {
			p = list.seekBack(p.w.k, true)
		} else {
			p = p.next[0]
		}
	}
	if reverse {
		p = list.seekBack(seek, false)
	} else {
		p = list.seek(seek, false)
	}
	n := 0
	for it.Seek(seek); ; {
		if n++; n%scanCheckEvery == 0 {
			if err := t.ctx.Err(); err != nil {
				return err
			}
		}
		cv, pv := it.ValidForPrefix(prefix), p != nil && bytes.HasPrefix(p.w.k, prefix)
		var c int // < 0: the committed key comes first, > 0: the written one
		switch {
		case !cv && !pv:
			return nil
		case !cv:
			c = 1
		case !pv:
			c = -1
		default:
			if c = bytes.Compare(it.Item().Key(), p.w.k); reverse {
				c = -c
			}
		}
		var err error
		if c < 0 {
			item := it.Item()
			err = item.Value(func(v []byte) error { return fn(item.Key(), v) })
			it.Next()
		} else {
			if !p.w.del {
				err = fn(p.w.k, p.w.v)
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
