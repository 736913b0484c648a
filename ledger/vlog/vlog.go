// Package vlog is the verifiable log of coldtrace, and knows nothing of
// lots: records stored as opaque bytes at their index (seq, from 0), the
// stored Merkle hashes of RFC 6962 (golang.org/x/mod/sumdb/tlog), the
// sequencer's in-memory frontier of them, the signed C2SP checkpoints
// (golang.org/x/mod/sumdb/note, Ed25519) and inclusion and consistency
// proofs, which read the stored hashes through a cache (HashCache). It works on a small Get/Set/Scan interface, Tx, that a ledger
// transaction satisfies, and can be read and tested alone, the way tlog
// can. Its keys are the l/ namespace of the store:
//
//	l/r/<seq>   the bytes of record seq
//	l/h/<index> a stored hash (tlog.StoredHashIndex)
//	l/c/<size>  the signed checkpoint of the tree of that size
//
// Integers in keys are 8-byte big-endian so that keys sort numerically. It
// imports only the standard library, golang.org/x/mod and
// coldtrace/ledger/fault.
package vlog

import (
	"encoding/binary"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// A Tx is what the log needs of a store transaction.
type Tx interface {
	// Get returns the value stored at key, or a fault.NotFound error.
	Get(key []byte) ([]byte, error)
	// Set stores value at key.
	Set(key, value []byte) error
	// Scan calls fn for each key with the given prefix in key order
	// (descending if reverse), starting at start if it is not nil. It
	// stops early, without error, when fn returns fault.ErrStop; any other
	// error from fn is returned.
	Scan(prefix, start []byte, reverse bool, fn func(key, value []byte) error) error
}

var (
	prefixRecord     = []byte("l/r/")
	prefixHash       = []byte("l/h/")
	prefixCheckpoint = []byte("l/c/")
)

func key(prefix []byte, n int64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, len(prefix)+8), prefix...), uint64(n))
}

// RecordKey returns the key of record seq.
func RecordKey(seq int64) []byte { return key(prefixRecord, seq) }

// HashKey returns the key of the stored hash at index.
func HashKey(index int64) []byte { return key(prefixHash, index) }

// CheckpointKey returns the key of the signed checkpoint of a tree of size
// records.
func CheckpointKey(size int64) []byte { return key(prefixCheckpoint, size) }

func keyInt(k, prefix []byte) int64 { return int64(binary.BigEndian.Uint64(k[len(prefix):])) }

// TreeSize returns the size of the tree of the latest signed checkpoint,
// which is written in the same transaction as the records it covers.
func TreeSize(tx Tx) (int64, error) {
	size := int64(0)
	err := tx.Scan(prefixCheckpoint, nil, true, func(k, _ []byte) error {
		size = keyInt(k, prefixCheckpoint)
		return fault.ErrStop
	})
	return size, err
}

// Checkpoints returns the tree sizes of every signed checkpoint, in order.
func Checkpoints(tx Tx) ([]int64, error) {
	var out []int64
	err := tx.Scan(prefixCheckpoint, nil, false, func(k, _ []byte) error {
		out = append(out, keyInt(k, prefixCheckpoint))
		return nil
	})
	return out, err
}

// HashReader reads stored Merkle hashes from tx; a missing or malformed
// hash is a fault.Tampered error.
func HashReader(tx Tx) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			v, err := tx.Get(HashKey(idx))
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

// Append stores record seq and the Merkle hashes it adds to the tree, and
// tells g about them. The tree must have exactly seq records before the
// call.
func Append(tx Tx, seq int64, data []byte, g *Group) error {
	hashes, err := tlog.StoredHashes(seq, data, g)
	if err != nil {
		return err
	}
	if err := tx.Set(RecordKey(seq), data); err != nil {
		return err
	}
	base := tlog.StoredHashIndex(0, seq)
	for i, h := range hashes {
		if err := tx.Set(HashKey(base+int64(i)), h[:]); err != nil {
			return err
		}
		g.written[base+int64(i)] = h
	}
	return nil
}

// ReadRecord returns the stored bytes of record seq, or a fault.NotFound
// error.
func ReadRecord(tx Tx, seq int64) ([]byte, error) {
	v, err := tx.Get(RecordKey(seq))
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.Errorf(fault.NotFound, "no record %d", seq)
	}
	return v, err
}

// ScanRecords calls fn with every stored record from seq from on, in order,
// and the index its key names. The bytes are valid only during the call.
// Errors from fn end the scan as Tx.Scan says.
func ScanRecords(tx Tx, from int64, fn func(seq int64, data []byte) error) error {
	var start []byte
	if from > 0 {
		start = RecordKey(from)
	}
	return tx.Scan(prefixRecord, start, false, func(k, v []byte) error {
		return fn(keyInt(k, prefixRecord), v)
	})
}

// ReadCheckpoint returns the signed checkpoint of the tree of size records,
// or a fault.NotFound error.
func ReadCheckpoint(tx Tx, size int64) ([]byte, error) { return tx.Get(CheckpointKey(size)) }

// PutCheckpoint stores the signed checkpoint of the tree of size records.
func PutCheckpoint(tx Tx, size int64, signed []byte) error {
	return tx.Set(CheckpointKey(size), signed)
}
