package badgerkv

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// BenchmarkScanInUpdate is a bulk group's shape: one Update of 7,000
// writes in random key order, with a short prefix scan (a declaration's
// number looked up in an index) after every 14 writes, so the scans take
// in the pending writes 14 at a time and step through them.
func BenchmarkScanInUpdate(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		err := s.Update(context.Background(), func(tx ledger.Tx) error {
			for i := range 7000 {
				k := fmt.Appendf(nil, "i/%08d", (i*7919)%100003)
				if err := tx.Set(k, k); err != nil {
					return err
				}
				if i%14 == 13 {
					n := 0
					if err := tx.Scan(k[:6], k[:6], false, func(_, _ []byte) error {
						if n++; n == 8 {
							return fault.ErrStop
						}
						return nil
					}); err != nil {
						return err
					}
				}
			}
			return errRollbackBench
		})
		if !errors.Is(err, errRollbackBench) {
			b.Fatal(err)
		}
	}
}

var errRollbackBench = errors.New("rollback")
