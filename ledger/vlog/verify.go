package vlog

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// Verify checks the log of size records from their bytes alone, on every
// core: check is called on each record's bytes (from several goroutines;
// the caller decides what a well-formed record is), the tree is recomputed
// from the leaf hashes and every stored hash compared with it, and every
// signed checkpoint is checked with verifier and against the recomputed
// tree. It returns how many checkpoints it checked. progress, if not nil,
// is told how many records have been checked. Every problem is a Tampered
// error naming the lowest record (or checkpoint) it was found at.
func Verify(ctx context.Context, tx Tx, size int64, verifier note.Verifier, check func(seq int64, data []byte) error, progress func(done, total int64)) (checkpoints int64, err error) {
	if progress == nil {
		progress = func(int64, int64) {}
	}
	tree := newTreeHashes(size)
	var bad firstProblem
	work := make(chan *chunk, 2*runtime.GOMAXPROCS(0))
	ordered := make(chan *chunk, 4*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				c.hash(check, &bad)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tree.build(ordered, func(done int64) { progress(done, size) })
	}()
	seq, err := readRecords(ctx, tx, size, &bad, work, ordered)
	close(work)
	close(ordered)
	var compareErr error
	if err == nil && seq == size {
		compareErr = compareHashes(tx, tree)
	}
	wg.Wait()
	switch {
	case err != nil:
		return 0, err
	case bad.err() != nil:
		return 0, bad.err()
	case seq != size:
		return 0, badRecord(seq, "missing (the signed tree has %d records)", size)
	case compareErr != nil:
		return 0, compareErr
	}
	checkpoints, err = checkCheckpoints(ctx, tx, size, tree.hashes, verifier)
	progress(size, size)
	return checkpoints, err
}

func badRecord(seq int64, format string, args ...any) error {
	return fault.Errorf(fault.Tampered, "record %d: %s", seq, fmt.Sprintf(format, args...))
}

// The log check runs on every core, in a pipeline: one goroutine reads the
// records in chunks (readRecords), then the stored hashes (compareHashes);
// workers decode each record of a chunk, check its place and canonical
// encoding and hash it (chunk.hash); one goroutine computes the stored
// hashes from the leaf hashes, chunk after chunk in order (two SHA-256 of
// 65 bytes per record; treeHashes.build), while the stored ones are
// compared with them as they come. Last, the signed checkpoints are checked
// by workers against the recomputed tree. Problems are reported in the
// order of a check done one step after the other: a bad or missing record
// (the lowest), then a stored hash (the first in index order), then a
// checkpoint (the lowest).

// verifyChunk is how many records a worker checks at a time.
const verifyChunk = 1024

// A chunk is a run of records read together, checked and hashed by one
// worker: record first+i is data[ends[i-1]:ends[i]].
type chunk struct {
	first  int64
	data   []byte
	ends   []int
	leaves []tlog.Hash
	ok     bool          // every record checked and hashed
	done   chan struct{} // closed when the worker is done with it
}

// newChunk returns an empty chunk from record first on, with room for
// bytes bytes of records.
func newChunk(first int64, bytes int) *chunk {
	return &chunk{first: first, data: make([]byte, 0, bytes), ends: make([]int, 0, verifyChunk), done: make(chan struct{})}
}

// hash checks every record of c with check and computes their leaf
// hashes, unless a problem at an earlier record is known.
func (c *chunk) hash(check func(seq int64, data []byte) error, bad *firstProblem) {
	defer close(c.done)
	if bad.before(c.first) {
		return
	}
	c.leaves = make([]tlog.Hash, len(c.ends))
	start := 0
	for i, end := range c.ends {
		v := c.data[start:end:end]
		start = end
		seq := c.first + int64(i)
		if err := check(seq, v); err != nil {
			bad.add(seq, err)
			return
		}
		c.leaves[i] = tlog.RecordHash(v)
	}
	c.ok = true
}

// readRecords reads the records of the tree of size records in order, in
// chunks, each sent to the workers (work) and, in order, to the tree
// (ordered). It returns the seq after the last record read in order: size
// when every record is there; a record missing or beyond the tree is added
// to bad.
func readRecords(ctx context.Context, tx Tx, size int64, bad *firstProblem, work, ordered chan<- *chunk) (int64, error) {
	cur := newChunk(0, 0)
	send := func() {
		work <- cur
		ordered <- cur
	}
	seq := int64(0)
	err := ScanRecords(tx, 0, func(got int64, v []byte) error {
		switch {
		case got >= size:
			bad.add(got, fault.Errorf(fault.Tampered, "record %d lies beyond the signed tree of size %d", got, size))
			return fault.ErrStop
		case got != seq:
			bad.add(seq, badRecord(seq, "missing"))
			return fault.ErrStop
		}
		cur.data = append(cur.data, v...)
		cur.ends = append(cur.ends, len(cur.data))
		seq++
		if len(cur.ends) == verifyChunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			send()
			cur = newChunk(seq, cap(cur.data)) // chunks are about the same size
		}
		return nil
	})
	if len(cur.ends) > 0 {
		send()
	}
	return seq, err
}

// logProblem is a problem found at record seq; the lowest seq is reported.
type logProblem struct {
	seq int64
	err error
}

// firstProblem keeps the problem of the lowest record.
type firstProblem struct {
	mu sync.Mutex
	p  *logProblem
}

func (f *firstProblem) add(seq int64, err error) {
	f.mu.Lock()
	if f.p == nil || seq < f.p.seq {
		f.p = &logProblem{seq, err}
	}
	f.mu.Unlock()
}

// before reports whether a problem below seq is already known.
func (f *firstProblem) before(seq int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.p != nil && f.p.seq < seq
}

func (f *firstProblem) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.p == nil {
		return nil
	}
	return f.p.err
}

// recordOfHash returns the record whose append stored hash index idx.
func recordOfHash(idx, size int64) int64 {
	return int64(sort.Search(int(size), func(seq int) bool { return tlog.StoredHashIndex(0, int64(seq)+1) > idx }))
}

// checkCheckpoints checks every signed checkpoint, on every core: its
// signature, and its root against the tree the records give. It returns
// how many it checked.
func checkCheckpoints(ctx context.Context, tx Tx, size int64, hashes []tlog.Hash, verifier note.Verifier) (int64, error) {
	type signed struct {
		size int64
		msg  []byte
	}
	var all []signed
	err := ScanCheckpoints(tx, func(n int64, msg []byte) error {
		if n > size {
			return fault.Errorf(fault.Tampered, "checkpoint at size %d lies beyond the log", n)
		}
		all = append(all, signed{n, bytes.Clone(msg)})
		return nil
	})
	if err != nil {
		return 0, err
	}
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	var bad firstProblem
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				next.Lock()
				j := i
				i++
				next.Unlock()
				if j >= len(all) || bad.before(all[j].size) {
					return
				}
				if err := checkCheckpoint(all[j].size, all[j].msg, hr, verifier); err != nil {
					bad.add(all[j].size, err)
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return int64(len(all)), bad.err()
}

func checkCheckpoint(n int64, msg []byte, hr tlog.HashReader, verifier note.Verifier) error {
	cp, err := OpenCheckpoint(msg, verifier)
	if err != nil {
		return fault.Errorf(fault.Tampered, "checkpoint at size %d: %v", n, err)
	}
	root, err := tlog.TreeHash(n, hr)
	if err != nil {
		return err
	}
	if cp.Size != n || cp.Root != root {
		return fault.Errorf(fault.Tampered, "checkpoint at size %d: signed root differs from the root the records give; a record below index %d was altered", n, n)
	}
	return nil
}
