package vlog

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// TestVerifyChunks runs TestVerify with chunks of 2 and 16 records, so
// that its log spans many chunks and the stored hashes above them (which
// the tree of chunk roots recomputes) are checked too, and checks what the
// chunks change: a hash above every chunk, a record beyond the tree, and
// that explain is given only the records whose hash differs.
func TestVerifyChunks(t *testing.T) {
	for _, level := range []int{1, 4, 12} {
		t.Run(fmt.Sprintf("level%d", level), func(t *testing.T) {
			old := chunkLevel
			chunkLevel = level
			t.Cleanup(func() { chunkLevel = old })
			if level == 4 {
				TestVerify(t)
			}
			const size = 2500
			log, key := testLog(t, size)
			tx := &sortedTx{mapTx: log.mapTx}
			tx.sort()
			var explained atomic.Int64
			explain := func(seq int64, data []byte) error {
				explained.Add(1)
				if string(data) != fmt.Sprintf("record %d", seq) {
					return fault.Errorf(fault.Tampered, "record %d: not what it says", seq)
				}
				return nil
			}
			if n, err := Verify(context.Background(), tx, size, key.Verifier, explain, nil); err != nil || n != 5 || explained.Load() != 0 {
				t.Fatalf("Verify of an untouched log: %d checkpoints, %d records explained, %v", n, explained.Load(), err)
			}
			flip := func(v []byte) []byte { w := bytes.Clone(v); w[0] ^= 1; return w }
			for _, c := range []struct {
				name    string
				key     []byte
				change  func([]byte) []byte // nil deletes
				explain func(int64, []byte) error
				want    string
			}{
				// Record 2047 completes the subtree of records 0-2047,
				// level 11: its append stored hashes of levels 0 to 11.
				{"hash of level 11", HashKey(tlog.StoredHashIndex(0, 2047) + 11), flip, explain, "record 2047: stored Merkle hash"},
				{"hash of level 9", HashKey(tlog.StoredHashIndex(0, 1535) + 9), flip, explain, "record 1535: stored Merkle hash"},
				{"record bytes, no explanation", RecordKey(1717), func([]byte) []byte { return []byte("record 1718") }, nil, "record 1717: stored Merkle hash"},
				{"record bytes explained", RecordKey(16), func([]byte) []byte { return []byte("record 17") }, explain, "record 16: not what it says"},
				{"record beyond the tree", RecordKey(size), func([]byte) []byte { return []byte("record 2500") }, explain, "record 2500 lies beyond the signed tree of size 2500"},
				{"first record missing", RecordKey(0), nil, explain, "record 0: missing"},
				{"last record missing", RecordKey(size - 1), nil, explain, "record 2499: missing"},
				{"last hash missing", HashKey(tlog.StoredHashCount(size) - 1), nil, explain, "record 2499: stored hash"},
				{"short hash", HashKey(tlog.StoredHashIndex(0, 700)), func(v []byte) []byte { return v[:31] }, explain, "stored hash 1394 has 31 bytes"},
			} {
				old, had := tx.mapTx[string(c.key)]
				if c.change == nil {
					delete(tx.mapTx, string(c.key))
				} else {
					tx.mapTx[string(c.key)] = c.change(old)
				}
				tx.sort()
				_, err := Verify(context.Background(), tx, size, key.Verifier, c.explain, nil)
				if fault.KindOf(err) != fault.Tampered || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: Verify = %v, want Tampered naming %q", c.name, err, c.want)
				}
				if had {
					tx.mapTx[string(c.key)] = old
				} else {
					delete(tx.mapTx, string(c.key))
				}
				tx.sort()
			}
			if _, err := Verify(context.Background(), tx, size, key.Verifier, explain, nil); err != nil {
				t.Fatalf("Verify once put back: %v", err)
			}
		})
	}
}

// sortedTx is a mapTx whose Scan walks its keys in order, from a sorted
// list of them made by sort after each change (scanTx sorts at each Scan,
// too slow for a Verify of hundreds of chunks).
type sortedTx struct {
	mapTx
	keys []string
}

func (s *sortedTx) sort() {
	s.keys = s.keys[:0]
	for k := range s.mapTx {
		s.keys = append(s.keys, k)
	}
	slices.Sort(s.keys)
}

func (s *sortedTx) Scan(prefix, start []byte, _ bool, fn func(k, v []byte) error) error {
	from := string(prefix)
	if string(start) > from {
		from = string(start)
	}
	for _, k := range s.keys[sort.SearchStrings(s.keys, from):] {
		if !strings.HasPrefix(k, string(prefix)) {
			return nil
		}
		if err := fn([]byte(k), s.mapTx[k]); err == fault.ErrStop {
			return nil
		} else if err != nil {
			return err
		}
	}
	return nil
}
