package ledger

import (
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// SignedCheckpoint returns the latest signed checkpoint note, or NotFound on
// an empty log.
func (l *Ledger) SignedCheckpoint() ([]byte, Checkpoint, error) {
	h := l.head.Load()
	if h.size == 0 {
		return nil, Checkpoint{}, fault.Errorf(fault.NotFound, "the log is empty")
	}
	return h.note, h.checkpoint, nil
}

// SignedCheckpointAt returns the signed checkpoint of tree size size, if the
// ledger signed one at that size (it signs one per commit).
func (l *Ledger) SignedCheckpointAt(size int64) (msg []byte, err error) {
	if size > l.Size() {
		return nil, fault.Errorf(fault.NotFound, "no checkpoint was signed at size %d", size)
	}
	err = l.store.View(func(tx Tx) error {
		msg, err = tx.Get(checkpointKey(size))
		if fault.KindOf(err) == fault.NotFound {
			return fault.Errorf(fault.NotFound, "no checkpoint was signed at size %d", size)
		}
		return err
	})
	return msg, err
}

// Record returns the stored bytes of record seq.
func (l *Ledger) Record(seq int64) (data []byte, err error) {
	if seq >= l.Size() {
		return nil, fault.Errorf(fault.NotFound, "no record %d", seq)
	}
	err = l.store.View(func(tx Tx) error {
		data, err = readRecord(tx, seq)
		return err
	})
	return data, err
}

// Records calls fn with the stored bytes of records start..end-1, in order,
// from one snapshot. The bytes are valid only during the call.
func (l *Ledger) Records(start, end int64, fn func(seq int64, data []byte) error) error {
	return l.store.View(func(tx Tx) error {
		seq := start
		return tx.Scan(prefixRecord, recordKey(start), false, func(_, v []byte) error {
			if seq >= end {
				return ErrStop
			}
			if err := fn(seq, v); err != nil {
				return err
			}
			seq++
			return nil
		})
	})
}

// An InclusionProof proves that a record is in the tree of a given size.
type InclusionProof struct {
	Seq        int64
	Size       int64
	RecordHash tlog.Hash
	Root       tlog.Hash
	Proof      tlog.RecordProof
}

// ProveInclusion proves record seq in the tree of size size (0 < size <=
// Size(), seq < size).
func (l *Ledger) ProveInclusion(seq, size int64) (*InclusionProof, error) {
	if err := l.checkSize(size); err != nil {
		return nil, err
	}
	if seq < 0 || seq >= size {
		return nil, fault.InvalidField("seq", "must be at least 0 and below size %d", size)
	}
	p := &InclusionProof{Seq: seq, Size: size}
	err := l.store.View(func(tx Tx) error {
		// The record's hash is its leaf, stored with the tree: reading it
		// there spares a read of the record, which lies far from the hashes
		// (verify checks every leaf against its record).
		hr := hashReader(tx)
		leaf, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, seq)})
		if err != nil {
			return err
		}
		p.RecordHash = leaf[0]
		if p.Proof, err = tlog.ProveRecord(size, seq, hr); err != nil {
			return err
		}
		p.Root, err = tlog.TreeHash(size, hr)
		return err
	})
	return p, err
}

// A ConsistencyProof proves that the tree of size From is a prefix of the
// tree of size To.
type ConsistencyProof struct {
	From, To         int64
	FromRoot, ToRoot tlog.Hash
	Proof            tlog.TreeProof
}

// ProveConsistency proves the tree of size from a prefix of the tree of size
// to (0 < from <= to <= Size()).
func (l *Ledger) ProveConsistency(from, to int64) (*ConsistencyProof, error) {
	if n := l.Size(); to <= 0 || to > n {
		return nil, fault.InvalidField("to", "must be above 0 and at most the tree size %d", n)
	}
	if from <= 0 || from > to {
		return nil, fault.InvalidField("from", "must be above 0 and at most to (%d)", to)
	}
	p := &ConsistencyProof{From: from, To: to}
	err := l.store.View(func(tx Tx) error {
		hr := hashReader(tx)
		var err error
		if p.Proof, err = tlog.ProveTree(to, from, hr); err != nil {
			return err
		}
		if p.FromRoot, err = tlog.TreeHash(from, hr); err != nil {
			return err
		}
		p.ToRoot, err = tlog.TreeHash(to, hr)
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
