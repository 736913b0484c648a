package ledger

import (
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// treeSize returns the size of the tree of the latest signed checkpoint, which
// the sequencer writes in the same transaction as the records it covers.
func treeSize(tx Tx) (int64, error) {
	size := int64(0)
	err := tx.Scan(prefixCheckpoint, nil, true, func(k, _ []byte) error {
		size = int64(beUint(k[len(prefixCheckpoint):]))
		return ErrStop
	})
	return size, err
}

func beUint(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n
}

// hashReader reads stored Merkle hashes from tx.
func hashReader(tx Tx) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			v, err := tx.Get(hashKey(idx))
			if err != nil {
				if fault.KindOf(err) == fault.NotFound {
					return nil, fault.Errorf(fault.Tampered, "stored hash %d is missing", idx)
				}
				return nil, err
			}
			if len(v) != tlog.HashSize {
				return nil, fault.Errorf(fault.Tampered, "stored hash %d has %d bytes", idx, len(v))
			}
			copy(out[i][:], v)
		}
		return out, nil
	})
}

// appendRecord stores record seq and the Merkle hashes it adds to the tree,
// and tells g about them. The tree must have exactly seq records before the
// call.
func appendRecord(tx Tx, seq int64, data []byte, g *groupHashes) error {
	hashes, err := tlog.StoredHashes(seq, data, g)
	if err != nil {
		return err
	}
	if err := tx.Set(recordKey(seq), data); err != nil {
		return err
	}
	base := tlog.StoredHashIndex(0, seq)
	for i, h := range hashes {
		if err := tx.Set(hashKey(base+int64(i)), h[:]); err != nil {
			return err
		}
		g.written[base+int64(i)] = h
	}
	return nil
}

// readRecord returns the stored bytes of record seq.
func readRecord(tx Tx, seq int64) ([]byte, error) {
	v, err := tx.Get(recordKey(seq))
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.Errorf(fault.NotFound, "no record %d", seq)
	}
	return v, err
}
