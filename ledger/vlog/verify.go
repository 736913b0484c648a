package vlog

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// Verify checks the log of size records from their bytes alone, on every
// core: every record is hashed, the tree is recomputed from the leaf
// hashes and every stored hash compared with it, and every signed
// checkpoint is checked with verifier and against the tree. It returns how
// many checkpoints it checked. explain, if not nil, is called on the bytes
// of a record whose leaf hash is not the stored one, and the error it
// returns, if any, is reported in place of the hash's (it says what is
// wrong with the record; records whose hashes match are not given to it).
// progress, if not nil, is told how many records have been checked. Every
// problem is a Tampered error naming the lowest record (or checkpoint) it
// was found at. tx is read by several goroutines at once.
//
// Its memory does not grow with the log: each worker holds the hashes of
// one chunk of records, and the tree above the chunks is kept as the
// hashes of its complete subtrees, one per level.
func Verify(ctx context.Context, tx Tx, size int64, verifier note.Verifier, explain func(seq int64, data []byte) error, progress func(done, total int64)) (checkpoints int64, err error) {
	if progress == nil {
		progress = func(int64, int64) {}
	}
	workers := runtime.GOMAXPROCS(0)
	chunks := (size + chunkSize() - 1) / chunkSize()
	if size == 0 {
		chunks = 1 // still looks for records beyond the tree
	}
	var bad firstProblem
	results := make(chan *chunkResult, workers)
	// tokens bounds the chunks done ahead of the one the tree waits for.
	tokens := make(chan struct{}, 4*workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	var ctxErr atomic.Value
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cw := newChunkWorker(tx, size, explain, &bad)
			for {
				tokens <- struct{}{}
				k := next.Add(1) - 1
				if k >= chunks {
					<-tokens
					return
				}
				if err := ctx.Err(); err != nil {
					ctxErr.CompareAndSwap(nil, err)
					results <- &chunkResult{k: k}
					continue
				}
				res, err := cw.check(k)
				if err != nil {
					ctxErr.CompareAndSwap(nil, err)
					res = &chunkResult{k: k}
				}
				results <- res
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	top := newUpperTree()
	pending := map[int64]*chunkResult{}
	for res := range results {
		pending[res.k] = res
		for {
			r, ok := pending[top.chunks]
			if !ok {
				break
			}
			delete(pending, top.chunks)
			<-tokens
			top.add(r, size, &bad)
			if r.ok {
				progress(min(size, (top.chunks)*chunkSize()), size)
			}
		}
	}
	if err, _ := ctxErr.Load().(error); err != nil {
		return 0, err
	}
	if err := bad.err(); err != nil {
		return 0, err
	}
	checkpoints, err = checkCheckpoints(ctx, tx, size, verifier)
	progress(size, size)
	return checkpoints, err
}

func badRecord(seq int64, format string, args ...any) error {
	return fault.Errorf(fault.Tampered, "record %d: %s", seq, fmt.Sprintf(format, args...))
}

// The log check runs on every core: the records are cut in chunks of
// chunkSize (aligned on multiples of it), and each worker reads the
// records of a chunk and hashes them, computes the stored hashes that lie
// within the chunk (the levels up to the chunk's own subtree), reads the
// stored hashes of the chunk's records and compares them
// (chunkWorker.check). One goroutine takes the chunks' roots in order and
// computes the few stored hashes above the chunks (upperTree.add). Last,
// the signed checkpoints are checked by workers against the stored
// hashes, all of which were compared with the recomputed tree by then.
// Problems are reported in the order of a check done one step after the
// other: a bad or missing record (the lowest), then a stored hash (the
// first in index order), then a checkpoint (the lowest).

// Problems rank by the step of the check that finds them.
const (
	rankRecord = iota
	rankHash
	rankCheckpoint
)

// logProblem is a problem found at record seq (a checkpoint's size for a
// checkpoint); the lowest rank, then the lowest seq, is reported.
type logProblem struct {
	rank int
	seq  int64
	err  error
}

// firstProblem keeps the problem that is reported.
type firstProblem struct {
	mu sync.Mutex
	p  *logProblem
}

func (f *firstProblem) add(rank int, seq int64, err error) {
	f.mu.Lock()
	if f.p == nil || rank < f.p.rank || rank == f.p.rank && seq < f.p.seq {
		f.p = &logProblem{rank, seq, err}
	}
	f.mu.Unlock()
}

// before reports whether a problem of a rank at most rank and below seq
// is already known: one at seq or later would not be reported.
func (f *firstProblem) before(rank int, seq int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.p != nil && (f.p.rank < rank || f.p.rank == rank && f.p.seq < seq)
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
