package ledger

import (
	"bytes"
	"cmp"
	"slices"
	"strings"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/kv"
)

// A batchHit is one root-region index entry of a report: the batch's key
// suffix (<declared ns><root>) as a range of the scan's arena, the region,
// and the row the entry's summary was read into (nil for the batch's other
// entries in the scope).
type batchHit struct {
	start, end int
	region     string
	row        *ReportBatch
}

// reportBatches reads the root batches whose families were in one of
// scopes (every batch when scopes is empty) and that were declared in
// [from, to): one row each, in the order of their keys (declaration time,
// root), with the regions of the scope the family was in. Each root-region
// entry holds its batch's summary, so the report reads its scopes' entries
// and nothing else (a batch in two regions of the scope is read twice,
// decoded once and listed once: firstInScope). The rows share a few large allocations: no per-batch keys,
// strings of the index or slices of regions.
func (st *state) reportBatches(scopes []string, from, to int64) ([]*ReportBatch, error) {
	base := idxRootRegion.within("")
	prefixes := [][]byte{base}
	var scoped [][]byte // the regions' prefixes of the scopes
	if len(scopes) > 0 {
		prefixes = prefixes[:0]
		for _, s := range scopes {
			prefixes = append(prefixes, append(slices.Clone(base), s...))
			scoped = append(scoped, prefixes[len(prefixes)-1][len(base):])
		}
	}
	var arena []byte
	var hits []batchHit
	var slab []ReportBatch         // the rows, in chunks that never move
	regions := map[string]string{} // interned
	var s rootSummary
	for _, prefix := range prefixes {
		err := st.tx.Scan(prefix, nil, false, func(k, v []byte) error {
			sfx := k[len(base):]
			i := bytes.IndexByte(sfx, 0)
			if i < 0 || len(sfx) < i+9 {
				return fault.Errorf(fault.Tampered, "bad root-region index entry")
			}
			if at := int64(beUint(sfx[i+1 : i+9])); at < from || at >= to {
				return nil
			}
			if len(v) == 0 {
				return fault.Errorf(fault.Unavailable, "the batches' index is not filled in yet (it is at the ledger's next open)")
			}
			region, ok := regions[string(sfx[:i])]
			if !ok {
				region = string(sfx[:i])
				regions[region] = region
			}
			var row *ReportBatch
			if firstInScope(v, sfx[:i], scoped) {
				if err := s.decode(v); err != nil {
					return err
				}
				if len(slab) == cap(slab) {
					slab = make([]ReportBatch, 0, min(max(2*cap(slab), 256), 1<<14))
				}
				slab = slab[:len(slab)+1]
				row = &slab[len(slab)-1]
				s.row(row)
			}
			// Grown by doubling: append grows large slices by a quarter,
			// which copied five times the final size (two fifths of a
			// report's allocations, and so of its collections).
			if len(arena)+len(sfx) > cap(arena) {
				arena = slices.Grow(arena, max(len(arena), 1<<12))
			}
			if len(hits) == cap(hits) {
				hits = slices.Grow(hits, max(len(hits), 1<<8))
			}
			start := len(arena)
			arena = append(arena, sfx[i+1:]...)
			hits = append(hits, batchHit{start, len(arena), region, row})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// In key order (declaration time as unsigned big-endian bytes, so a
	// time before 1970 sorts after every later one; then root), a batch's
	// entries (one per region) side by side, with no map of 100,000
	// batches. Each region's entries are in that order already: merge the
	// runs.
	key := func(h batchHit) []byte { return arena[h.start:h.end] }
	hits = kv.MergeRuns(hits, func(a, b batchHit) int {
		return cmp.Or(bytes.Compare(key(a), key(b)), strings.Compare(a.region, b.region))
	})
	n := 0
	for i, h := range hits {
		if i == 0 || !bytes.Equal(key(h), key(hits[i-1])) {
			n++
		}
	}
	batches := make([]*ReportBatch, 0, n)
	batchRegions := make([]string, 0, len(hits))
	first := 0 // the last batch's regions are batchRegions[first:]
	done := func() error {
		b := batches[len(batches)-1]
		if b == nil {
			return fault.Errorf(fault.Tampered, "a batch's root-region entries disagree with its summary's regions")
		}
		b.Regions = batchRegions[first:len(batchRegions):len(batchRegions)]
		return nil
	}
	for i, h := range hits {
		if i == 0 || !bytes.Equal(key(h), key(hits[i-1])) {
			if i > 0 {
				if err := done(); err != nil {
					return nil, err
				}
			}
			first = len(batchRegions)
			batches = append(batches, h.row)
			batchRegions = append(batchRegions, h.region)
			continue
		}
		if batches[len(batches)-1] == nil {
			batches[len(batches)-1] = h.row
		}
		if batchRegions[len(batchRegions)-1] != h.region {
			batchRegions = append(batchRegions, h.region)
		}
	}
	if len(batches) > 0 {
		if err := done(); err != nil {
			return nil, err
		}
	}
	return batches, nil
}

// row fills b with the batch s sums up (its regions aside).
func (s *rootSummary) row(b *ReportBatch) {
	*b = ReportBatch{Root: s.Root, TraceCode: s.TraceCode, Declaration: s.Declaration, Product: s.Product, Category: s.Category,
		Importer: s.Importer, DeclaredAt: s.DeclaredAt, Region: s.Region, Status: s.status(), Lots: s.Lots,
		Declared: rootDeclared(s), Produced: s.Produced, Outcome: s.Q.Outcome,
		Processed:    s.Q.Transformed,
		OpenFindings: s.OpenFindings, Positive: s.PositiveLots > 0, Regions: []string{}}
}

// families reads the nodes of the families of roots (ascending), at most
// MaxAnswerLots each, in key order: families are about 25 node copies
// apart here, so stepping over them is no cheaper than a seek (tried: 64
// steps 150 ms, 4 steps or none 110 ms for region 31); in key order the
// seeks find their blocks cached more often.
func (st *state) families(roots []string) ([][]*lotNode, error) {
	prefixes := make([][]byte, len(roots))
	for i, r := range roots {
		prefixes[i] = famPrefix(r)
	}
	out := make([][]*lotNode, len(roots))
	err := kv.ScanPrefixes(st.tx, tabFamily.all(), prefixes, 4, st.alive, func(i int, k, v []byte) error {
		if len(out[i]) >= MaxAnswerLots {
			return nil
		}
		n, err := st.famNode(k[len(prefixes[i]):], v)
		if err != nil {
			return err
		}
		out[i] = append(out[i], n)
		return nil
	})
	return out, err
}
