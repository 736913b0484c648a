package ledger

import (
	"bytes"
	"context"
	"log/slog"
	"time"

	"coldtrace/ledger/fault"
)

// fillBatch bounds the summaries one transaction of fillRootRegion copies.
const fillBatch = 2048

// rootRegionDone is rootRegionFilledKey's value once every summary is in.
var rootRegionDone = []byte("done")

// fillRootRegion gives the root-region index entries of a ledger written
// before they carried their batch's summary (issue 17) that summary: each
// s/rsum/ entry, in key order, is copied into the entry of every region
// it lists, fillBatch summaries per transaction. Each transaction also
// stores the next s/rsum/ key in rootRegionFilledKey, and the last one
// "done", so that an open that stops midway (kill -9, a full disk)
// resumes where the last commit left off, a copy redone is the same
// bytes, and a ledger that is done costs one read. A new ledger is done at
// its first open (it has no summary yet, and the write path keeps the
// copies equal from then on).
func fillRootRegion(ctx context.Context, store Store, log *slog.Logger) error {
	var cursor []byte
	err := store.View(ctx, func(tx Tx) error {
		v, err := tx.Get(rootRegionFilledKey)
		if err == nil {
			cursor = bytes.Clone(v)
		} else if fault.KindOf(err) == fault.NotFound {
			err = nil
		}
		return err
	})
	if err != nil || bytes.Equal(cursor, rootRegionDone) {
		return err
	}
	started, total := time.Now(), 0
	for {
		var next []byte
		n := 0
		err := store.Update(ctx, func(tx Tx) error {
			type entry struct{ k, v []byte }
			var sets []entry
			var s rootSummary
			next, n = nil, 0
			err := tx.Scan(tabSummary.all(), cursor, false, func(k, v []byte) error {
				if n == fillBatch {
					next = bytes.Clone(k)
					return fault.ErrStop
				}
				if err := s.decode(v); err != nil {
					return err
				}
				v = bytes.Clone(v)
				for _, rc := range s.Regions {
					sets = append(sets, entry{rootRegionKey(rc.Region, s.DeclaredAt, s.Root), v})
				}
				n++
				return nil
			})
			if err != nil {
				return err
			}
			for _, e := range sets {
				if err := tx.Set(e.k, e.v); err != nil {
					return err
				}
			}
			if next == nil {
				return tx.Set(rootRegionFilledKey, rootRegionDone)
			}
			return tx.Set(rootRegionFilledKey, next)
		})
		if err != nil {
			return err
		}
		if total == 0 && n > 0 {
			log.Info("copying the batch summaries into the root-region index (once)")
		}
		total += n
		if next == nil {
			break
		}
		cursor = next
	}
	// Synced before the ledger writes: a copy lost to a power cut while
	// its marker said done would leave a report reading an empty entry.
	if err := store.Sync(); err != nil {
		return err
	}
	if total > 0 {
		log.Info("copied the batch summaries into the root-region index", "summaries", total, "took", time.Since(started).Round(time.Millisecond))
	}
	return nil
}

// rootRegionUnfilled reports whether the one-time copy of the summaries
// into the root-region index has not finished in the store tx reads.
func rootRegionUnfilled(tx Tx) (bool, error) {
	v, err := tx.Get(rootRegionFilledKey)
	if fault.KindOf(err) == fault.NotFound {
		return true, nil
	}
	return err == nil && !bytes.Equal(v, rootRegionDone), err
}

// unfilledRootRegion reports whether k, v is a root-region index entry as
// ledgers before issue 17 stored it, without its batch's summary: Verify
// accepts it while the copy has not finished (rootRegionUnfilled: a
// stopped server's directory is checked read-only, before an open could
// fill it in; the summary itself is checked under s/rsum/), and not after.
func unfilledRootRegion(k, v []byte) bool {
	return len(v) == 0 && bytes.HasPrefix(k, idxRootRegion.within(""))
}
