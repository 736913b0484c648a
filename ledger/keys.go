package ledger

import (
	"encoding/binary"
)

// The key layout of the Store. Three namespaces:
//
//	l/  the log: records, stored Merkle hashes, signed checkpoints (package vlog)
//	s/  state derived from the records alone (replay rebuilds it exactly)
//	a/  auxiliary data that is not in the log (idempotency receipts, uploads)
//
// Integers in keys are 8-byte big-endian so that keys sort numerically.
var (
	prefixState   = []byte("s/")
	prefixIdem    = []byte("a/idem/")
	prefixKeyHash = []byte("a/keyhash/")
)

func be64(n int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return b[:]
}

func key(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func beUint(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n
}

// stateKey builds a key in the derived-state namespace: s/<table>/<id>.
func stateKey(table string, id string) []byte {
	return key(prefixState, []byte(table), []byte{'/'}, []byte(id))
}

// indexKey builds an index entry s/x/<index>/<value>\x00<seq-or-id>, so that
// entries of one value sort together and in order of the suffix.
func indexKey(index, value string, suffix []byte) []byte {
	return key(prefixState, []byte("x/"), []byte(index), []byte{'/'}, []byte(value), []byte{0}, suffix)
}

// indexPrefix is the prefix of all entries of one value in an index.
func indexPrefix(index, value string) []byte {
	return key(prefixState, []byte("x/"), []byte(index), []byte{'/'}, []byte(value), []byte{0})
}

func keyHashKey(sha string) []byte { return key(prefixKeyHash, []byte(sha)) }
