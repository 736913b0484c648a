package vlog

import (
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// ScanHashes calls fn with every stored Merkle hash in index order, with
// the index its key names; a malformed one is a fault.Tampered error. The
// hash is valid only during the call. Errors from fn end the scan as
// Tx.Scan says.
func ScanHashes(tx Tx, fn func(index int64, h []byte) error) error {
	return tx.Scan(prefixHash, nil, false, func(k, v []byte) error {
		idx := keyInt(k, prefixHash)
		if len(v) != tlog.HashSize {
			return fault.Errorf(fault.Tampered, "stored hash %d has %d bytes", idx, len(v))
		}
		return fn(idx, v)
	})
}

// ScanCheckpoints calls fn with every signed checkpoint in order of tree
// size. The bytes are valid only during the call.
func ScanCheckpoints(tx Tx, fn func(size int64, signed []byte) error) error {
	return tx.Scan(prefixCheckpoint, nil, false, func(k, v []byte) error {
		return fn(keyInt(k, prefixCheckpoint), v)
	})
}
