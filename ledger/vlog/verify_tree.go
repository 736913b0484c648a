package vlog

import (
	"bytes"
	"crypto/sha256"
	"hash"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// chunkLevel is the level of a chunk's subtree: a worker checks
// 1<<chunkLevel records at a time (tests lower it, to check the tree
// above the chunks on small logs).
var chunkLevel = 12

func chunkSize() int64 { return 1 << chunkLevel }

// A chunkResult is what the tree above the chunks needs of chunk k: the
// hash of its subtree (when it is complete) and the stored hashes above it
// that its last record's append stored, in index order.
type chunkResult struct {
	k     int64
	ok    bool // every record there and the stored hashes checked
	root  tlog.Hash
	above []storedHash
}

type storedHash struct {
	idx int64
	h   tlog.Hash
}

// A chunkWorker checks chunks of records, one at a time, with buffers it
// keeps from one chunk to the next.
type chunkWorker struct {
	tx      Tx
	size    int64
	explain func(seq int64, data []byte) error
	bad     *firstProblem

	leaf   hash.Hash   // SHA-256, reset for each record
	leaves []tlog.Hash // of the chunk's records
	want   []tlog.Hash // the chunk's stored hashes, recomputed
	starts []int       // want[starts[i]] is record i's leaf hash
	left   []tlog.Hash // by level, the last left child seen
}

// leafPrefix starts the input of a leaf hash (RFC 6962).
var leafPrefix = []byte{0}

func newChunkWorker(tx Tx, size int64, explain func(int64, []byte) error, bad *firstProblem) *chunkWorker {
	n := chunkSize()
	return &chunkWorker{tx: tx, size: size, explain: explain, bad: bad, leaf: sha256.New(),
		leaves: make([]tlog.Hash, 0, n), want: make([]tlog.Hash, 0, 2*n), starts: make([]int, 0, n),
		left: make([]tlog.Hash, chunkLevel+1)}
}

// check checks chunk k: it reads and hashes its records, recomputes the
// stored hashes within it and compares the stored ones with them. Problems
// go to the worker's firstProblem; the error is one of reading.
func (w *chunkWorker) check(k int64) (*chunkResult, error) {
	res := &chunkResult{k: k}
	first := k * chunkSize()
	last := min(first+chunkSize(), w.size) // records first..last-1
	if w.bad.before(rankRecord, first) {
		return res, nil
	}
	complete, err := w.hashRecords(first, last)
	if err != nil || !complete {
		return res, err
	}
	w.storedWithin()
	if last-first == chunkSize() {
		res.root = w.left[chunkLevel]
	}
	res.above, res.ok, err = w.compare(first, last)
	return res, err
}

// hashRecords reads records first..last-1 and computes their leaf hashes.
// It reports whether they are all there; a record missing, or one beyond
// the tree, is a problem.
func (w *chunkWorker) hashRecords(first, last int64) (complete bool, err error) {
	w.leaves = w.leaves[:0]
	seq := first
	err = ScanRecords(w.tx, first, func(got int64, v []byte) error {
		switch {
		case got >= w.size:
			w.bad.add(rankRecord, got, fault.Errorf(fault.Tampered, "record %d lies beyond the signed tree of size %d", got, w.size))
			return fault.ErrStop
		case got >= last:
			return fault.ErrStop
		case got != seq:
			w.bad.add(rankRecord, seq, badRecord(seq, "missing"))
			return fault.ErrStop
		}
		w.leaf.Reset()
		w.leaf.Write(leafPrefix)
		w.leaf.Write(v)
		var h tlog.Hash
		w.leaf.Sum(h[:0])
		w.leaves = append(w.leaves, h)
		seq++
		return nil
	})
	if err != nil {
		return false, err
	}
	if seq < last && !w.bad.before(rankRecord, seq) {
		w.bad.add(rankRecord, seq, badRecord(seq, "missing (the signed tree has %d records)", w.size))
	}
	return seq == last && !w.bad.before(rankRecord, last), nil
}

// storedWithin computes, from the leaf hashes of a chunk, the stored hashes
// that its records' appends stored up to the chunk's own level, in index
// order, and the chunk's subtree hash (in left[chunkLevel]) when it is
// complete. Record i of the chunk completes the subtrees of the levels
// below the lowest zero bit of i (the chunk starts at a multiple of its
// size, so i's low bits are its seq's).
func (w *chunkWorker) storedWithin() {
	w.want, w.starts = w.want[:0], w.starts[:0]
	for i, h := range w.leaves {
		w.starts = append(w.starts, len(w.want))
		w.want = append(w.want, h)
		j := 0
		for ; j < chunkLevel && i>>j&1 == 1; j++ {
			h = tlog.NodeHash(w.left[j], h)
			w.want = append(w.want, h)
		}
		w.left[j] = h
	}
}

// compare reads the stored hashes of the appends of records first..last-1
// and compares those within the chunk with the recomputed ones; it returns
// those above the chunk, and whether every one was there and matched.
func (w *chunkWorker) compare(first, last int64) (above []storedHash, ok bool, err error) {
	lo, hi := tlog.StoredHashIndex(0, first), tlog.StoredHashIndex(0, last)
	next, rec := lo, 0
	problem := false // a problem of a stored hash is known in this chunk
	hashProblem := func(seq int64, err error) {
		if !problem {
			w.bad.add(rankHash, seq, err)
			problem = true
		}
	}
	err = w.tx.Scan(prefixHash, HashKey(lo), false, func(k, v []byte) error {
		idx := keyInt(k, prefixHash)
		if idx >= hi {
			return fault.ErrStop
		}
		if idx != next {
			hashProblem(recordOfHash(next, w.size), badRecord(recordOfHash(next, w.size), "stored hash %d is missing", next))
		}
		next = idx + 1
		if len(v) != tlog.HashSize {
			hashProblem(recordOfHash(idx, w.size), fault.Errorf(fault.Tampered, "stored hash %d has %d bytes", idx, len(v)))
			return nil
		}
		p := int(idx - lo)
		if p >= len(w.want) {
			s := storedHash{idx: idx}
			copy(s.h[:], v)
			above = append(above, s)
			return nil
		}
		for rec+1 < len(w.starts) && w.starts[rec+1] <= p {
			rec++
		}
		if bytes.Equal(v, w.want[p][:]) {
			return nil
		}
		seq := first + int64(rec)
		if w.starts[rec] == p && w.explain != nil {
			data, err := ReadRecord(w.tx, seq)
			if err != nil {
				return err
			}
			if err := w.explain(seq, data); err != nil {
				w.bad.add(rankRecord, seq, err)
				problem = true
				return fault.ErrStop // a record's problem: nothing after it counts
			}
		}
		hashProblem(seq, badRecord(seq, "stored Merkle hash %d differs from the hash of the stored bytes", idx))
		return nil // a record further on may be the one to report
	})
	if err == nil && next < hi {
		hashProblem(recordOfHash(next, w.size), badRecord(recordOfHash(next, w.size), "stored hash %d is missing", next))
	}
	return above, err == nil && !problem, err
}

// upperTree computes the stored hashes above the chunks from their roots,
// chunk after chunk in order, and compares them with the stored ones. It
// keeps, by level, the last left child seen: one hash a level.
type upperTree struct {
	chunks int64       // chunks taken so far
	left   []tlog.Hash // by level above chunkLevel
	failed bool        // a chunk was not checked: the tree stops there
}

func newUpperTree() *upperTree { return &upperTree{} }

// add takes the result of the next chunk in order.
func (t *upperTree) add(r *chunkResult, size int64, bad *firstProblem) {
	k := t.chunks
	t.chunks++
	if t.failed || !r.ok {
		t.failed = true
		return
	}
	if (k+1)*chunkSize() > size {
		return // the last chunk, not complete: nothing above it
	}
	h, level := r.root, 0
	for ; k>>level&1 == 1; level++ {
		h = tlog.NodeHash(t.left[level], h)
		if level >= len(r.above) {
			continue // not stored: the chunk reported it
		}
		if s := r.above[level]; s.h != h {
			seq := recordOfHash(s.idx, size)
			bad.add(rankHash, seq, badRecord(seq, "stored Merkle hash %d differs from the hash of the stored bytes", s.idx))
		}
	}
	if level == len(t.left) {
		t.left = append(t.left, h)
	}
	t.left[level] = h
}
