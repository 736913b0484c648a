package kv

import (
	"bytes"

	"coldtrace/ledger/fault"
)

// ScanPrefixes calls fn(i, k, v) for every entry under each of prefixes
// (ascending, none a prefix of another, all under outer), in key order. It
// reads them as a merge: one scan that steps over at most maxSkip entries
// between two wanted ones before it seeks to the next prefix instead, so
// that many prefixes close together cost one sequential read, and sparse
// ones a seek each. An fault.ErrStop from fn ends the whole scan. alive is
// called before each seek (a query's look at its context); its error ends
// the scan.
func ScanPrefixes(tx Tx, outer []byte, prefixes [][]byte, maxSkip int, alive func() error, fn func(i int, k, v []byte) error) error {
	for i := 0; i < len(prefixes); {
		if err := alive(); err != nil {
			return err
		}
		skipped, seek := 0, false
		err := tx.Scan(outer, prefixes[i], false, func(k, v []byte) error {
			for {
				if bytes.HasPrefix(k, prefixes[i]) {
					skipped = 0
					return fn(i, k, v)
				}
				if bytes.Compare(k, prefixes[i]) < 0 { // between two prefixes
					if skipped++; skipped > maxSkip {
						seek = true
						return fault.ErrStop
					}
					return nil
				}
				if i++; i == len(prefixes) { // past the last prefix
					return fault.ErrStop
				}
			}
		})
		if err != nil || !seek {
			return err
		}
	}
	return nil
}

// MergeRuns sorts s, made of a few ascending runs, by merging neighbouring
// runs until one is left: O(n log runs) instead of a full sort.
func MergeRuns[T any](s []T, cmp func(a, b T) int) []T {
	var runs []int // start of each run
	for i := range s {
		if i == 0 || cmp(s[i-1], s[i]) > 0 {
			runs = append(runs, i)
		}
	}
	buf := make([]T, len(s))
	for len(runs) > 1 {
		var next []int
		for r := 0; r < len(runs); r += 2 {
			lo := runs[r]
			next = append(next, lo)
			if r+1 == len(runs) {
				copy(buf[lo:], s[lo:])
				break
			}
			mid, hi := runs[r+1], len(s)
			if r+2 < len(runs) {
				hi = runs[r+2]
			}
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				if cmp(s[j], s[i]) < 0 {
					buf[k] = s[j]
					j++
				} else {
					buf[k] = s[i]
					i++
				}
				k++
			}
			k += copy(buf[k:], s[i:mid])
			copy(buf[k:], s[j:hi])
		}
		s, buf, runs = buf, s, next
	}
	return s
}

// GetSorted calls fn(i, value) for each of keys (ascending, unique, all
// under outer) that is stored, in order, reading them as one merged scan
// that steps over at most maxSkip other entries before it seeks to the next
// key. Missing keys are skipped.
func GetSorted(tx Tx, outer []byte, keys [][]byte, maxSkip int, fn func(i int, v []byte) error) error {
	for i := 0; i < len(keys); {
		skipped, seek := 0, false
		err := tx.Scan(outer, keys[i], false, func(k, v []byte) error {
			for {
				switch c := bytes.Compare(k, keys[i]); {
				case c == 0:
					skipped = 0
					if err := fn(i, v); err != nil {
						return err
					}
					if i++; i == len(keys) {
						return fault.ErrStop
					}
					return nil
				case c < 0:
					if skipped++; skipped > maxSkip {
						seek = true
						return fault.ErrStop
					}
					return nil
				}
				if i++; i == len(keys) { // keys[i] is missing
					return fault.ErrStop
				}
			}
		})
		if err != nil || !seek {
			return err
		}
	}
	return nil
}
