// Package kv is the ordered key-value store the ledger keeps everything
// in, as the ledger sees it: the Store and Tx contracts that storage
// adapters (storage/badgerkv) implement and storage/storagetest checks, and
// merged reads of many keys in one scan (ScanPrefixes, GetSorted,
// MergeRuns). It knows nothing of lots or of the key layout, and imports
// only coldtrace/ledger/fault.
package kv

import (
	"context"
	"errors"
)

// A Store is the ordered key-value store the ledger keeps everything in: the
// records, the stored Merkle hashes, the signed checkpoints, the derived state
// and its indexes. Keys and values are opaque bytes; the ledger owns the layout.
//
// Implementations translate their library's errors at the boundary: a missing
// key is a NotFound *fault.Error, an I/O failure an Unavailable one.
//
// As in golang.org/x/mod/sumdb/storage, every transaction takes the context
// of the caller: View and Update return ctx.Err() without running fn when
// ctx is already done, and a Tx's Scan checks ctx every so often and
// returns ctx.Err() (unwrapped, so errors.Is(err, context.Canceled) holds)
// once it is, so that a read whose client went away stops.
type Store interface {
	// View runs fn on a consistent read-only snapshot. It never waits for
	// Update. Errors returned by fn are returned unchanged.
	View(ctx context.Context, fn func(tx Tx) error) error
	// Update runs fn in a read-write transaction and commits it atomically:
	// later transactions see all of it or, if fn returns an error, none of
	// it. The commit need not be on stable storage until Sync returns.
	// Updates touch disjoint keys (the sequencer writes the log and state,
	// uploads write their own records), so they never conflict.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Sync returns once every Update that returned before it is on stable
	// storage. After a crash, the store holds a prefix of the committed
	// Updates that includes every synced one.
	Sync() error
	// Close releases the store. Pending transactions are lost.
	Close() error
}

// A Tx is a transaction on a Store. It sees its own writes.
type Tx interface {
	// Get returns a copy of the value stored at key, or a NotFound *fault.Error.
	Get(key []byte) ([]byte, error)
	// Set stores value at key. It returns a Forbidden *fault.Error in a
	// View.
	Set(key, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key []byte) error
	// Scan calls fn for each key with the given prefix in key order
	// (descending if reverse), starting at start if it is not nil (start
	// itself included when present). The key and value passed to fn are only
	// valid during the call. Scan stops early, without error, when fn
	// returns fault.ErrStop; any other error from fn is returned. It
	// returns the transaction's ctx.Err() once that context is done.
	Scan(prefix, start []byte, reverse bool, fn func(key, value []byte) error) error
}

// ErrTxnFull is wrapped by the error of a Tx's Set or Delete (or of Update)
// when the transaction cannot take more writes. The ledger's sequencer then
// commits the submissions before the one that filled it, and the rest in
// the next transaction.
var ErrTxnFull = errors.New("transaction full")
