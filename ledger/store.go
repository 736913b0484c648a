package ledger

import "coldtrace/ledger/kv"

// A Store is the ordered key-value store the ledger keeps everything in:
// the records, the stored Merkle hashes, the signed checkpoints, the
// derived state and its indexes. Its contract is ledger/kv's; the ledger
// owns the key layout (keys.go).
type Store = kv.Store

// A Tx is a transaction on a Store (kv.Tx).
type Tx = kv.Tx

// ErrTxnFull is wrapped by the error of a Tx's Set or Delete (or of Update)
// when the transaction cannot take more writes (kv.ErrTxnFull).
var ErrTxnFull = kv.ErrTxnFull
