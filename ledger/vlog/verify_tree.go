package vlog

import (
	"bytes"
	"errors"
	"sync/atomic"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// treeHashes is the tree that Verify recomputes: every stored hash of a
// tree of size records, by stored-hash index, computed from the leaf
// hashes in order by one goroutine (build) while another compares the
// stored ones with them as they come (compareHashes).
type treeHashes struct {
	size   int64
	hashes []tlog.Hash
	// ready is how many of hashes are computed; hashes[:ready] no longer
	// change. over is set when build has returned, failed when it
	// stopped at a chunk that was not checked. wake is told after either
	// changes (a buffer of one: the waiter looks again after each wake).
	ready        atomic.Int64
	over, failed atomic.Bool
	wake         chan struct{}
}

func newTreeHashes(size int64) *treeHashes {
	return &treeHashes{size: size, hashes: make([]tlog.Hash, tlog.StoredHashCount(size)), wake: make(chan struct{}, 1)}
}

func (t *treeHashes) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// build computes the stored hashes from the leaf hashes of the chunks, in
// order, as each chunk's worker finishes with it, and tells progress how
// many records are done. At a chunk that was not checked it stops
// computing (a problem with a record is reported before any with a stored
// hash) but still takes every chunk.
func (t *treeHashes) build(ordered <-chan *chunk, progress func(done int64)) {
	defer func() {
		t.over.Store(true)
		t.signal()
	}()
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = t.hashes[x]
		}
		return out, nil
	})
	for c := range ordered {
		<-c.done
		if t.failed.Load() {
			continue
		}
		if !c.ok {
			t.failed.Store(true)
			t.signal()
			continue
		}
		n := t.ready.Load()
		for i, leaf := range c.leaves {
			add, err := tlog.StoredHashesForRecordHash(c.first+int64(i), leaf, hr)
			if err != nil { // only for a seq out of order: not from Verify
				panic(err)
			}
			n += int64(copy(t.hashes[n:], add))
		}
		t.ready.Store(n)
		t.signal()
		progress(c.first + int64(len(c.leaves)))
	}
}

// errTreeIncomplete ends the comparison when the recomputed tree stops
// short: a record was bad or missing, and that is what Verify reports.
var errTreeIncomplete = errors.New("vlog: the recomputed tree is incomplete")

// await waits until the stored hash idx is computed; false when it never
// will be.
func (t *treeHashes) await(idx int64) bool {
	for idx >= t.ready.Load() {
		if t.failed.Load() || t.over.Load() && idx >= t.ready.Load() {
			return false
		}
		<-t.wake
	}
	return true
}

// compareHashes compares the stored hashes of the tree with the
// recomputed ones, in one scan, as they are computed.
func compareHashes(tx Tx, t *treeHashes) error {
	next := int64(0)
	total := int64(len(t.hashes))
	err := ScanHashes(tx, func(idx int64, h []byte) error {
		if idx >= total {
			return fault.ErrStop
		}
		if idx != next {
			return badRecord(recordOfHash(next, t.size), "stored hash %d is missing", next)
		}
		if !t.await(idx) {
			return errTreeIncomplete
		}
		if !bytes.Equal(h, t.hashes[idx][:]) {
			return badRecord(recordOfHash(idx, t.size), "stored Merkle hash %d differs from the hash of the stored bytes", idx)
		}
		next++
		return nil
	})
	if err == nil && next < total {
		err = badRecord(recordOfHash(next, t.size), "stored hash %d is missing", next)
	}
	return err
}
