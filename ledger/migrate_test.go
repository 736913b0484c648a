package ledger

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestFillRootRegionResumesAfterAStop fills a store in the old layout (more
// batch summaries than two fill transactions take, their root-region
// entries without values) and stops the first fill after one transaction
// (the process died): the entries of the first transaction's summaries
// are filled and the marker names the next summary. The next fill does the
// rest, every entry then holding its summary's bytes, and a third finds
// nothing to do and writes nothing.
func TestFillRootRegionResumesAfterAStop(t *testing.T) {
	s := &sortedStore{m: map[string][]byte{}, okCommits: 1}
	n := 2*fillBatch + 7
	var sums [][]byte // rsum keys, in key order
	for i := range n {
		sum := &rootSummary{Root: fmt.Sprintf("R%05d", i), DeclaredAt: time.Unix(int64(1e9+i), 0).UTC(), Lots: 1,
			Regions: []regionCount{{Region: "310101", Lots: 1}}}
		if i%3 == 0 {
			sum.Regions = append(sum.Regions, regionCount{Region: "320202", Lots: 1})
		}
		k := rsumKey(sum.DeclaredAt, sum.Root)
		s.m[string(k)] = sum.encode()
		sums = append(sums, k)
		for _, rc := range sum.Regions {
			s.m[string(rootRegionKey(rc.Region, sum.DeclaredAt, sum.Root))] = nil
		}
	}
	// filled counts the entries holding their summary, and fails on one
	// holding anything else.
	filled := func() int {
		t.Helper()
		c := 0
		for k, v := range s.m {
			if !strings.HasPrefix(k, string(idxRootRegion.within(""))) || len(v) == 0 {
				continue
			}
			sfx := k[strings.IndexByte(k, 0)+1:]
			if !bytes.Equal(v, s.m[string(tabSummary.key(sfx))]) {
				t.Fatalf("entry %q holds another batch's summary", k)
			}
			c++
		}
		return c
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := fillRootRegion(context.Background(), s, log); err == nil {
		t.Fatal("the stopped fill reported no error")
	}
	want := 0
	for i := range fillBatch {
		want += 1 + boolInt(i%3 == 0)
	}
	if got := filled(); got != want {
		t.Fatalf("%d entries filled by the first transaction, want %d", got, want)
	}
	if got := s.m[string(rootRegionFilledKey)]; !bytes.Equal(got, sums[fillBatch]) {
		t.Fatalf("the marker after the first transaction is %q, want %q", got, sums[fillBatch])
	}
	s.okCommits = -1
	if err := fillRootRegion(context.Background(), s, log); err != nil {
		t.Fatal(err)
	}
	if got, want := filled(), n+(n+2)/3; got != want {
		t.Fatalf("%d entries filled, want %d", got, want)
	}
	if got := s.m[string(rootRegionFilledKey)]; !bytes.Equal(got, rootRegionDone) {
		t.Fatalf("the marker after the fill is %q", got)
	}
	commits := s.commits
	if err := fillRootRegion(context.Background(), s, log); err != nil {
		t.Fatal(err)
	}
	if s.commits != commits {
		t.Errorf("a fill with nothing to do made %d commits", s.commits-commits)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
