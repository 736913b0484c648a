package ledger

import (
	"bytes"
	"context"
	"errors"
	"runtime"

	"coldtrace/ledger/vlog"
)

// The replay of Verify: the records are read and decoded ahead (checked
// to be in the canonical encoding, the costliest part of a record's check)
// on the cores the replay leaves, while one goroutine applies them in
// order to scratch, replayTxRecords records per transaction. The write
// path's caches (cachingStore, lotCache) and larger transactions were
// measured here and made it slower: more of the Go heap live under verify's
// memory limit, and longer waits for badger's flushes (docs/decisions.md,
// issue 17).
const (
	// replayChunk is how many records are read and decoded together.
	replayChunk = 256
	// replayTxRecords is how many records one scratch transaction takes
	// at most (fewer when the transaction fills first).
	replayTxRecords = 256
	// replayAhead is how many chunks are read and decoded ahead of the
	// record being applied.
	replayAhead = 16
)

// A decodedChunk is records first.. of the log, decoded: recs[i] is nil
// where errs[i] says what is wrong with the record. err is a failure to
// read the log after the chunk's records.
type decodedChunk struct {
	first int64
	recs  []*Record
	errs  []error
	err   error
	ready chan struct{} // closed once decoded
}

// decodeAhead reads the records of tx from 0 on and decodes them
// (checkRecord) on workers, and returns the chunks in log order, each to
// be waited for (ready) before it is read. It stops when ctx is done;
// wait returns once it no longer reads tx.
func decodeAhead(ctx context.Context, tx Tx, decode JSONDecoder) (chunks <-chan *decodedChunk, wait func()) {
	out := make(chan *decodedChunk, replayAhead)
	done := make(chan struct{})
	workers := max(1, runtime.GOMAXPROCS(0)-1)
	type job struct {
		c    *decodedChunk
		data [][]byte
	}
	jobs := make(chan job, replayAhead)
	for range workers {
		go func() {
			for j := range jobs {
				for i, data := range j.data {
					j.c.recs[i], j.c.errs[i] = checkRecord(j.c.first+int64(i), data, decode)
				}
				close(j.c.ready)
			}
		}()
	}
	go func() {
		defer close(done)
		defer close(out)
		defer close(jobs)
		data := make([][]byte, 0, replayChunk)
		seq := int64(0)
		send := func() bool {
			c := &decodedChunk{first: seq, recs: make([]*Record, len(data)), errs: make([]error, len(data)), ready: make(chan struct{})}
			seq += int64(len(data))
			select {
			case out <- c:
			case <-ctx.Done():
				return false
			}
			jobs <- job{c, data}
			data = make([][]byte, 0, replayChunk)
			return true
		}
		err := vlog.ScanRecords(tx, 0, func(_ int64, v []byte) error {
			data = append(data, bytes.Clone(v))
			if len(data) == replayChunk && !send() {
				return ctx.Err()
			}
			return nil
		})
		if err == nil && len(data) > 0 && !send() {
			return
		}
		if err != nil {
			c := &decodedChunk{first: seq, err: err, ready: make(chan struct{})}
			close(c.ready)
			select {
			case out <- c:
			case <-ctx.Done():
			}
		}
	}()
	return out, func() { <-done }
}

// replay checks every record (checkRecord: it decodes, is the record its
// place says and is in the canonical encoding; the log check hashes the
// bytes and does not decode them) and applies it to scratch, in order, up
// to replayTxRecords records per transaction. The first problem in log
// order is the one reported.
func replay(ctx context.Context, tx Tx, size int64, scratch Store, progress Progress, decode JSONDecoder) error {
	ctx, cancel := context.WithCancel(ctx)
	chunks, wait := decodeAhead(ctx, tx, decode)
	defer wait()
	defer cancel() // stops the reader when the replay stops early
	var cur *decodedChunk
	at := 0
	// next returns the next record and its error, or nil, nil at the end.
	next := func() (*Record, error) {
		for cur == nil || at == len(cur.recs) {
			c, ok := <-chunks
			if !ok {
				return nil, ctx.Err()
			}
			<-c.ready
			if c.err != nil {
				return nil, c.err
			}
			cur, at = c, 0
		}
		at++
		return cur.recs[at-1], cur.errs[at-1]
	}
	var buf []*Record // records read, not yet committed
	var bad error     // what is wrong with the record after buf
	seq := int64(0)
	for {
		for len(buf) < replayTxRecords && bad == nil {
			rec, err := next()
			if err != nil {
				bad = err
				break
			}
			if rec == nil {
				break
			}
			buf = append(buf, rec)
		}
		if len(buf) == 0 {
			return bad
		}
		n, err := applyRecords(ctx, scratch, buf)
		if err != nil {
			return err
		}
		buf = buf[n:]
		seq += int64(n)
		progress("replay", seq, size)
	}
}

// applyRecords applies recs in order in one transaction of scratch and
// reports how many: all of them, or those before the one that did not fit
// the transaction.
func applyRecords(ctx context.Context, scratch Store, recs []*Record) (int, error) {
	n := len(recs)
	for {
		full := -1
		err := scratch.Update(ctx, func(stx Tx) error {
			for i, rec := range recs[:n] {
				if _, err := applyRecord(stx, nil, rec); err != nil {
					if errors.Is(err, ErrTxnFull) && i > 0 {
						full = i
						return err
					}
					if cerr := ctx.Err(); cerr != nil {
						return cerr // stopped, not a problem of the record
					}
					return badRecord(rec.Seq, "does not apply to the state before it: %v", err)
				}
			}
			return nil
		})
		if full > 0 {
			n = full
			continue
		}
		return n, err
	}
}
