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
// is told how many records have been read. Every problem is a Tampered
// error naming the lowest record (or checkpoint) it was found at.
func Verify(ctx context.Context, tx Tx, size int64, verifier note.Verifier, check func(seq int64, data []byte) error, progress func(done, total int64)) (checkpoints int64, err error) {
	if progress == nil {
		progress = func(int64, int64) {}
	}
	leaves, err := leafHashes(ctx, tx, size, check, progress)
	if err != nil {
		return 0, err
	}
	hashes, err := storedHashes(leaves)
	if err != nil {
		return 0, err
	}
	if err := compareHashes(tx, hashes, size); err != nil {
		return 0, err
	}
	checkpoints, err = checkCheckpoints(ctx, tx, size, hashes, verifier)
	progress(size, size)
	return checkpoints, err
}

func badRecord(seq int64, format string, args ...any) error {
	return fault.Errorf(fault.Tampered, "record %d: %s", seq, fmt.Sprintf(format, args...))
}

// The log check runs on every core: one goroutine reads the records in
// chunks, and workers decode each record, check its place and canonical
// encoding and hash it; then the stored hashes are computed from the leaf
// hashes (two SHA-256 of 65 bytes per record, in one pass) and compared
// with the stored ones in one scan, and the signed checkpoints are
// checked by workers against the recomputed tree.

// verifyChunk is how many records a worker checks at a time.
const verifyChunk = 1024

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
	if f.p == nil {
		return nil
	}
	return f.p.err
}

// leafHashes checks every record on every core with check and returns their leaf
// hashes.
func leafHashes(ctx context.Context, tx Tx, size int64, check func(seq int64, data []byte) error, progress func(done, total int64)) ([]tlog.Hash, error) {
	leaves := make([]tlog.Hash, size)
	var bad firstProblem
	type chunk struct {
		first int64
		recs  [][]byte
	}
	work := make(chan chunk, 2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if bad.before(c.first) {
					continue
				}
				for i, v := range c.recs {
					seq := c.first + int64(i)
					if err := check(seq, v); err != nil {
						bad.add(seq, err)
						break
					}
					leaves[seq] = tlog.RecordHash(v)
				}
			}
		}()
	}
	cur := chunk{}
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
		cur.recs = append(cur.recs, bytes.Clone(v))
		seq++
		if len(cur.recs) == verifyChunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			progress(seq, size)
			work <- cur
			cur = chunk{first: seq}
		}
		return nil
	})
	if len(cur.recs) > 0 {
		work <- cur
	}
	close(work)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	if seq != size {
		return nil, badRecord(seq, "missing (the signed tree has %d records)", size)
	}
	return leaves, nil
}

// storedHashes returns every hash the tree of the leaves stores, by
// stored-hash index.
func storedHashes(leaves []tlog.Hash) ([]tlog.Hash, error) {
	hashes := make([]tlog.Hash, 0, 2*len(leaves))
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for seq, leaf := range leaves {
		add, err := tlog.StoredHashesForRecordHash(int64(seq), leaf, hr)
		if err != nil {
			return nil, err
		}
		if base := tlog.StoredHashIndex(0, int64(seq)); base != int64(len(hashes)) {
			return nil, fmt.Errorf("internal: hash index %d, have %d", base, len(hashes))
		}
		hashes = append(hashes, add...)
	}
	return hashes, nil
}

// recordOfHash returns the record whose append stored hash index idx.
func recordOfHash(idx, size int64) int64 {
	return int64(sort.Search(int(size), func(seq int) bool { return tlog.StoredHashIndex(0, int64(seq)+1) > idx }))
}

// compareHashes compares the stored hashes of the tree of size records with
// the recomputed ones, in one scan.
func compareHashes(tx Tx, hashes []tlog.Hash, size int64) error {
	next := int64(0)
	err := ScanHashes(tx, func(idx int64, h []byte) error {
		if idx >= int64(len(hashes)) {
			return fault.ErrStop
		}
		if idx != next {
			return badRecord(recordOfHash(next, size), "stored hash %d is missing", next)
		}
		if !bytes.Equal(h, hashes[idx][:]) {
			return badRecord(recordOfHash(idx, size), "stored Merkle hash %d differs from the hash of the stored bytes", idx)
		}
		next++
		return nil
	})
	if err == nil && next < int64(len(hashes)) {
		err = badRecord(recordOfHash(next, size), "stored hash %d is missing", next)
	}
	return err
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
