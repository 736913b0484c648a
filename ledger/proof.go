package ledger

import (
	"context"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// hashCacheBytes bounds the proofs' cache of stored hashes when
// Options.HashCacheBytes is 0.
const hashCacheBytes = 8 << 20

// hashCacheLevel is the lowest level of the tree whose every stored hash
// the proofs' cache keeps (vlog.HashCache): 1/128 of the records in
// hashes, 2.5 MB at 10 M records. A proof then reads from the store its
// leaf and its siblings below level 8, next to each other: 9 reads instead
// of about 50, and at 10 M records up to 4 more until the levels below
// the warm-up's fill (docs/decisions.md, issue 17).
const hashCacheLevel = 8

// HashCacheBytes returns the memory the proofs' cache of stored hashes
// holds, about.
func (l *Ledger) HashCacheBytes() int64 { return l.hashes.Bytes() }

// startHashCache makes the proofs' cache of stored hashes and starts its
// warm-up on the tree of size records, which Close waits for.
func (l *Ledger) startHashCache(bytes int, size int64) {
	if bytes <= 0 {
		bytes = hashCacheBytes
	}
	l.hashes = vlog.NewHashCache(int64(bytes), hashCacheLevel)
	l.warmed = make(chan struct{})
	go func() {
		defer close(l.warmed)
		view := func(fn func(vlog.Tx) error) error {
			return l.store.View(context.Background(), func(tx Tx) error { return fn(tx) })
		}
		t0 := time.Now()
		if err := l.hashes.Warm(view, size, l.quit); err != nil {
			l.log.Warn("the proofs' hash cache was not filled; proofs read the store", "err", err)
			return
		}
		l.log.Debug("the proofs' hash cache is filled", "from_level", l.hashes.Low(), "bytes", l.hashes.Bytes(), "took", time.Since(t0).Round(time.Millisecond).String())
	}()
}

// SignedCheckpoint returns the latest signed checkpoint note, or NotFound on
// an empty log.
func (l *Ledger) SignedCheckpoint() ([]byte, vlog.Checkpoint, error) {
	h := l.head.Load()
	if h.size == 0 {
		return nil, vlog.Checkpoint{}, fault.Errorf(fault.NotFound, "the log is empty")
	}
	return h.note, h.checkpoint, nil
}

// SignedCheckpointAt returns the signed checkpoint of tree size size, if the
// ledger signed one at that size (it signs one per commit).
func (l *Ledger) SignedCheckpointAt(ctx context.Context, size int64) (msg []byte, err error) {
	if size > l.Size() {
		return nil, fault.Errorf(fault.NotFound, "no checkpoint was signed at size %d", size)
	}
	err = l.store.View(ctx, func(tx Tx) error {
		msg, err = vlog.ReadCheckpoint(tx, size)
		if fault.KindOf(err) == fault.NotFound {
			return fault.Errorf(fault.NotFound, "no checkpoint was signed at size %d", size)
		}
		return err
	})
	return msg, err
}

// Record returns the stored bytes of record seq.
func (l *Ledger) Record(ctx context.Context, seq int64) (data []byte, err error) {
	if seq >= l.Size() {
		return nil, fault.Errorf(fault.NotFound, "no record %d", seq)
	}
	err = l.store.View(ctx, func(tx Tx) error {
		data, err = vlog.ReadRecord(tx, seq)
		return err
	})
	return data, err
}

// Records calls fn with the stored bytes of records start..end-1, in order,
// from one snapshot. The bytes are valid only during the call.
func (l *Ledger) Records(ctx context.Context, start, end int64, fn func(seq int64, data []byte) error) error {
	return l.store.View(ctx, func(tx Tx) error {
		return vlog.ScanRecords(tx, start, func(seq int64, v []byte) error {
			if seq >= end {
				return fault.ErrStop
			}
			return fn(seq, v)
		})
	})
}

// ProveInclusion proves record seq in the tree of size size (0 < size <=
// Size(), seq < size).
func (l *Ledger) ProveInclusion(ctx context.Context, seq, size int64) (p *vlog.InclusionProof, err error) {
	if err := l.checkSize(size); err != nil {
		return nil, err
	}
	if seq < 0 || seq >= size {
		return nil, fault.InvalidField("seq", "must be at least 0 and below size %d", size)
	}
	err = l.store.View(ctx, func(tx Tx) error {
		p, err = vlog.ProveRecord(l.hashes.Reader(tx), seq, size)
		return err
	})
	return p, err
}

// ProveConsistency proves the tree of size from a prefix of the tree of size
// to (0 < from <= to <= Size()).
func (l *Ledger) ProveConsistency(ctx context.Context, from, to int64) (p *vlog.ConsistencyProof, err error) {
	if n := l.Size(); to <= 0 || to > n {
		return nil, fault.InvalidField("to", "must be above 0 and at most the tree size %d", n)
	}
	if from <= 0 || from > to {
		return nil, fault.InvalidField("from", "must be above 0 and at most to (%d)", to)
	}
	err = l.store.View(ctx, func(tx Tx) error {
		p, err = vlog.ProveTree(l.hashes.Reader(tx), from, to)
		return err
	})
	return p, err
}

func (l *Ledger) checkSize(size int64) error {
	if n := l.Size(); size <= 0 || size > n {
		return fault.InvalidField("size", "must be above 0 and at most the tree size %d", n)
	}
	return nil
}
