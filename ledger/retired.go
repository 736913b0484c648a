package ledger

import (
	"bytes"
	"context"
	"log/slog"

	"coldtrace/ledger/fault"
)

// retiredBatch bounds the entries one cleanup transaction deletes.
const retiredBatch = 4096

// retired reports whether k lies under a retired prefix (keys.go).
func retired(k []byte) bool {
	for _, p := range retiredPrefixes {
		if bytes.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// dropRetired deletes every entry under the retired prefixes, retiredBatch
// entries per transaction: a data directory written before they retired
// is cleaned once, at its first open. Each transaction commits on its own,
// so an open that stops midway leaves the rest to the next one; a
// directory with nothing left costs one read of each prefix.
func dropRetired(ctx context.Context, store Store, log *slog.Logger) error {
	for _, p := range retiredPrefixes {
		left := false
		err := store.View(ctx, func(tx Tx) error {
			return tx.Scan(p, nil, false, func(_, _ []byte) error { left = true; return fault.ErrStop })
		})
		if err != nil {
			return err
		}
		if !left {
			continue
		}
		log.Info("deleting retired state entries", "prefix", string(p))
		total := 0
		for {
			n := 0
			err := store.Update(ctx, func(tx Tx) error {
				var ks [][]byte
				err := tx.Scan(p, nil, false, func(k, _ []byte) error {
					ks = append(ks, bytes.Clone(k))
					if len(ks) == retiredBatch {
						return fault.ErrStop
					}
					return nil
				})
				if err != nil {
					return err
				}
				for _, k := range ks {
					if err := tx.Delete(k); err != nil {
						return err
					}
				}
				n = len(ks)
				return nil
			})
			if err != nil {
				return err
			}
			if n == 0 {
				break
			}
			total += n
		}
		log.Info("deleted retired state entries", "prefix", string(p), "entries", total)
	}
	return nil
}
