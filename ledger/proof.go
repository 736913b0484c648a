package ledger

import (
	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
	"context"
)

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
		p, err = vlog.ProveRecord(tx, seq, size)
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
		p, err = vlog.ProveTree(tx, from, to)
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
