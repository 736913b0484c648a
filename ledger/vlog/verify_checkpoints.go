package vlog

import (
	"bytes"
	"context"
	"runtime"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// checkCheckpoints checks every signed checkpoint, on every core: its
// signature, and its root against the tree. It runs once every stored hash
// of the tree of size records has been compared with the recomputed one,
// so the roots are computed from the stored hashes (a few reads each, by
// tlog.TreeHash) and no tree is kept in memory. It returns how many it
// checked.
func checkCheckpoints(ctx context.Context, tx Tx, size int64, verifier note.Verifier) (int64, error) {
	type signed struct {
		size int64
		msg  []byte
	}
	work := make(chan signed, 4*runtime.GOMAXPROCS(0))
	var bad firstProblem
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hr := HashReader(tx)
			for c := range work {
				if ctx.Err() != nil || bad.before(rankCheckpoint, c.size) {
					continue
				}
				if err := checkCheckpoint(c.size, c.msg, hr, verifier); err != nil {
					bad.add(rankCheckpoint, c.size, err)
				}
			}
		}()
	}
	var n int64
	err := ScanCheckpoints(tx, func(cs int64, msg []byte) error {
		if cs > size {
			return fault.Errorf(fault.Tampered, "checkpoint at size %d lies beyond the log", cs)
		}
		n++
		work <- signed{cs, bytes.Clone(msg)}
		return nil
	})
	close(work)
	wg.Wait()
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return n, bad.err()
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
