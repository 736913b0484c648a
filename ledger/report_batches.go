package ledger

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/kv"
)

// summarySkip is how many other batches' summaries the summaries' scan
// steps over before it seeks: at 10 M records region 31's summaries lie
// among eight times as many others, a seek costs about 28 steps (7.5 µs
// against 0.27), and the report's CPU was 912-944 ms at 32, 960-990 at 64
// and 1,149-1,170 at 16 (issue 17, docs/decisions.md).
const summarySkip = 32

// A batchHit is one root-region index entry of a report: the batch's
// summary key suffix (<declared ns><root>) as a range of the scan's
// arena, and the region.
type batchHit struct {
	start, end int
	region     string
}

// reportBatches reads the root batches whose families were in one of
// scopes (every batch when scopes is empty) and that were declared in
// [from, to): one row each, in the order of their summaries' keys
// (declaration time, root), with the regions of the scope the family was
// in. The rows share a few large allocations: no per-batch keys, strings
// of the index or slices of regions.
func (st *state) reportBatches(scopes []string, from, to int64) ([]*ReportBatch, error) {
	base := idxRootRegion.within("")
	prefixes := [][]byte{base}
	if len(scopes) > 0 {
		prefixes = prefixes[:0]
		for _, s := range scopes {
			prefixes = append(prefixes, append(slices.Clone(base), s...))
		}
	}
	var arena []byte
	var hits []batchHit
	regions := map[string]string{} // interned
	for _, prefix := range prefixes {
		err := st.tx.Scan(prefix, nil, false, func(k, _ []byte) error {
			sfx := k[len(base):]
			i := bytes.IndexByte(sfx, 0)
			if i < 0 || len(sfx) < i+9 {
				return fault.Errorf(fault.Tampered, "bad root-region index entry")
			}
			if at := int64(beUint(sfx[i+1 : i+9])); at < from || at >= to {
				return nil
			}
			region, ok := regions[string(sfx[:i])]
			if !ok {
				region = string(sfx[:i])
				regions[region] = region
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
			hits = append(hits, batchHit{start, len(arena), region})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// In the order of the summaries' keys (declaration time as unsigned
	// big-endian bytes, so a time before 1970 sorts after every later one;
	// then root), a batch's entries (one per region) side by side: no map
	// of 100,000 batches, and the summaries are read as a merge, not a
	// point read each. Each region's entries are in that order already:
	// merge the runs.
	key := func(h batchHit) []byte { return arena[h.start:h.end] }
	hits = kv.MergeRuns(hits, func(a, b batchHit) int {
		return cmp.Or(bytes.Compare(key(a), key(b)), strings.Compare(a.region, b.region))
	})
	sumPrefix := tabSummary.all()
	n, size := 0, 0
	for i, h := range hits {
		if i == 0 || !bytes.Equal(key(h), key(hits[i-1])) {
			n++
			size += len(sumPrefix) + h.end - h.start
		}
	}
	keys := make([]byte, 0, size)
	want := make([][]byte, 0, n)  // rsum keys, ascending
	bounds := make([]int, 0, n+1) // batch i's regions are batchRegions[bounds[i]:bounds[i+1]]
	batchRegions := make([]string, 0, len(hits))
	for i, h := range hits {
		if i == 0 || !bytes.Equal(key(h), key(hits[i-1])) {
			start := len(keys)
			keys = append(append(keys, sumPrefix...), key(h)...)
			want = append(want, keys[start:len(keys):len(keys)])
			bounds = append(bounds, len(batchRegions))
			batchRegions = append(batchRegions, h.region)
		} else if batchRegions[len(batchRegions)-1] != h.region {
			batchRegions = append(batchRegions, h.region)
		}
	}
	bounds = append(bounds, len(batchRegions))
	rows := make([]ReportBatch, n)
	batches := make([]*ReportBatch, n)
	err := st.summaries(want, func(i int, s *rootSummary) {
		b := &rows[i]
		s.row(b)
		b.Regions = batchRegions[bounds[i]:bounds[i+1]:bounds[i+1]]
		batches[i] = b
	})
	return batches, err
}

// row fills b with the batch s sums up (its regions aside).
func (s *rootSummary) row(b *ReportBatch) {
	*b = ReportBatch{Root: s.Root, TraceCode: s.TraceCode, Declaration: s.Declaration, Product: s.Product, Category: s.Category,
		Importer: s.Importer, DeclaredAt: s.DeclaredAt, Region: s.Region, Status: s.status(), Lots: s.Lots,
		Declared: rootDeclared(s), Produced: s.Produced, Outcome: s.Q.Outcome,
		Processed:    s.Q.Transformed,
		OpenFindings: s.OpenFindings, Positive: s.PositiveLots > 0, Regions: []string{}}
}

// summaries reads the root summaries under keys (rsum keys in ascending
// order) and calls fn(i, s) with the summary of keys[i], in that order, as
// one merged scan (kv.ScanPrefixes); s is valid only during the call. A
// missing summary is NotFound.
func (st *state) summaries(keys [][]byte, fn func(i int, s *rootSummary)) error {
	var s rootSummary
	found := 0
	err := kv.ScanPrefixes(st.tx, tabSummary.all(), keys, summarySkip, st.alive, func(i int, _, v []byte) error {
		if i != found {
			return fault.Wrap(fault.NotFound, "a batch summary is missing", errMissingSummary(keys[found]))
		}
		if err := s.decode(v); err != nil {
			return err
		}
		fn(i, &s)
		found++
		return nil
	})
	if err == nil && found < len(keys) {
		err = fault.Wrap(fault.NotFound, "a batch summary is missing", errMissingSummary(keys[found]))
	}
	return err
}

// errMissingSummary is the cause, logged and never shown, of a missing
// batch summary: its storage key.
func errMissingSummary(k []byte) error { return fmt.Errorf("no rsum key %x", k) }

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
