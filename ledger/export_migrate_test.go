package ledger

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"coldtrace/ledger/fault"
)

// Hooks for the external tests of the root-region index's summaries.

// StripRootRegionValues writes s back to the layout of ledgers before the
// root-region index carried the batches' summaries: every entry's value
// empty and no fill marker. It returns how many entries it emptied.
func StripRootRegionValues(s Store) (int, error) {
	ctx := context.Background()
	var keys [][]byte
	err := s.View(ctx, func(tx Tx) error {
		return tx.Scan(idxRootRegion.within(""), nil, false, func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	err = s.Update(ctx, func(tx Tx) error {
		for _, k := range keys {
			if err := tx.Set(k, nil); err != nil {
				return err
			}
		}
		return tx.Delete(rootRegionFilledKey)
	})
	return len(keys), err
}

// EmptyFirstRootRegionValue empties the value of the first root-region
// entry and leaves the fill marker as it is: a tampered index, once the
// ledger is filled in.
func EmptyFirstRootRegionValue(s Store) error {
	var first []byte
	err := s.View(context.Background(), func(tx Tx) error {
		return tx.Scan(idxRootRegion.within(""), nil, false, func(k, _ []byte) error {
			first = bytes.Clone(k)
			return fault.ErrStop
		})
	})
	if err != nil || first == nil {
		return fmt.Errorf("no root-region entry: %v", err)
	}
	return s.Update(context.Background(), func(tx Tx) error { return tx.Set(first, nil) })
}

// ReportBatchesBothWays returns the batches of a report of scopes (all
// regions when empty) as reportBatches reads them from the root-region
// index's values, and as the index's keys and the summaries under s/rsum/
// give them (how the reports read them before): a sort of the entries, one
// point read of s/rsum/ per batch.
func ReportBatchesBothWays(s Store, scopes []string) (fromIndex, fromSummaries []*ReportBatch, err error) {
	err = s.View(context.Background(), func(tx Tx) error {
		st := &state{tx: tx}
		fromIndex, err = st.reportBatches(scopes, -1<<63, 1<<63-1)
		if err != nil {
			return err
		}
		fromSummaries, err = batchesFromSummaries(tx, scopes)
		return err
	})
	return fromIndex, fromSummaries, err
}

func batchesFromSummaries(tx Tx, scopes []string) ([]*ReportBatch, error) {
	base := idxRootRegion.within("")
	if len(scopes) == 0 {
		scopes = []string{""}
	}
	type hit struct{ suffix, region string }
	var hits []hit
	for _, sc := range scopes {
		err := tx.Scan(idxRootRegion.within(sc), nil, false, func(k, _ []byte) error {
			region, suffix, ok := strings.Cut(string(k[len(base):]), "\x00")
			if !ok {
				return fault.Errorf(fault.Tampered, "bad root-region index entry")
			}
			hits = append(hits, hit{suffix, region})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := strings.Compare(a.suffix, b.suffix); c != 0 {
			return c
		}
		return strings.Compare(a.region, b.region)
	})
	hits = slices.Compact(hits)
	var out []*ReportBatch
	for i, h := range hits {
		if i > 0 && hits[i-1].suffix == h.suffix {
			b := out[len(out)-1]
			b.Regions = append(b.Regions, h.region)
			continue
		}
		v, err := tx.Get(tabSummary.key(h.suffix))
		if err != nil {
			return nil, err
		}
		s, err := decodeSummary(v)
		if err != nil {
			return nil, err
		}
		b := &ReportBatch{}
		s.row(b)
		b.Regions = []string{h.region}
		out = append(out, b)
	}
	return out, nil
}
