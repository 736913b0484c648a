package ledger_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/fault"
	"coldtrace/storage/badgerkv"
)

// TestReportReadsTheIndexAsTheSummariesSay builds the reports of a
// generated ledger (every region, each province, each region, two
// provinces together) from the root-region index's summaries and from
// s/rsum/ as the reports read them before: the same rows in the same
// order. Then it empties the index's values, as ledgers before the index
// carried them stored it: verify still passes, the index alone no longer
// answers, and the next open fills it in, after which the reports answer
// the same bytes and verify and the query views' check pass.
func TestReportReadsTheIndexAsTheSummariesSay(t *testing.T) {
	ctx := context.Background()
	e := fixtures.OpenTestLedger(t, ledger.Options{})
	if _, err := fixtures.Generate(ctx, e.L, e.Admin, fixtures.Options{Lots: 120, Seed: 17}); err != nil {
		t.Fatal(err)
	}
	all, err := e.L.ClosureReport(ctx, e.Admin, ledger.ReportFilter{})
	if err != nil {
		t.Fatal(err)
	}
	filters := []ledger.ReportFilter{{}}
	scopes := [][]string{nil}
	var provinces []string
	for _, rt := range all.ByRegion {
		filters = append(filters, ledger.ReportFilter{Region: rt.Region})
		scopes = append(scopes, []string{rt.Region})
		if p := rt.Region[:2]; !slices.Contains(provinces, p) {
			provinces = append(provinces, p)
			filters = append(filters, ledger.ReportFilter{Region: p})
			scopes = append(scopes, []string{p})
		}
	}
	if len(provinces) < 2 {
		t.Fatalf("the generated ledger's batches are in %d provinces", len(provinces))
	}
	scopes = append(scopes, provinces[:2])
	filters = append(filters, ledger.ReportFilter{From: time.Unix(1, 0), To: time.Now().Add(24 * time.Hour)})
	compare := func(step string) {
		t.Helper()
		multi := false
		for _, sc := range scopes {
			fromIndex, fromSummaries, err := ledger.ReportBatchesBothWays(e.Store, sc)
			if err != nil {
				t.Fatalf("%s, scopes %q: %v", step, sc, err)
			}
			if len(fromIndex) == 0 || !reflect.DeepEqual(fromIndex, fromSummaries) {
				t.Fatalf("%s, scopes %q: %d batches from the index, %d from the summaries, or they differ", step, sc, len(fromIndex), len(fromSummaries))
			}
			for _, b := range fromIndex {
				multi = multi || len(b.Regions) > 1
			}
		}
		if !multi {
			t.Fatalf("%s: no batch of the generated ledger is in two regions", step)
		}
	}
	answers := func() [][]byte {
		t.Helper()
		var out [][]byte
		for _, f := range filters {
			rep, err := e.L.ClosureReport(ctx, e.Admin, f)
			if err != nil {
				t.Fatal(err)
			}
			rep.GeneratedAt = time.Time{}
			data, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, data)
		}
		return out
	}
	compare("written by this build")
	was := answers()

	e.Close()
	store, err := badgerkv.Open(filepath.Join(e.Dir, "db"), badgerkv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := ledger.StripRootRegionValues(store)
	if err != nil || n == 0 {
		t.Fatalf("emptied %d index entries: %v", n, err)
	}
	scratch, err := badgerkv.Open("", badgerkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.Verify(ctx, store, scratch, e.Key.Verifier, nil); err != nil {
		t.Fatalf("verify of the old layout: %v", err)
	}
	scratch.Close()
	if _, _, err := ledger.ReportBatchesBothWays(store, nil); fault.KindOf(err) != fault.Unavailable {
		t.Fatalf("the report from an index without summaries: %v, want unavailable", err)
	}
	store.Close()

	e.Reopen(t) // fills the index in
	compare("filled in at open")
	if now := answers(); !reflect.DeepEqual(now, was) {
		t.Fatal("the reports after the fill differ from the reports before")
	}
	e.Verify(t)
	if err := ledger.CheckQueryViews(e.Store); err != nil {
		t.Fatal(err)
	}

	// Once filled in, an entry without its summary is tampering.
	e.Close()
	store, err = badgerkv.Open(filepath.Join(e.Dir, "db"), badgerkv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := ledger.EmptyFirstRootRegionValue(store); err != nil {
		t.Fatal(err)
	}
	scratch, err = badgerkv.Open("", badgerkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	if _, err := ledger.Verify(ctx, store, scratch, e.Key.Verifier, nil); fault.KindOf(err) != fault.Tampered {
		t.Fatalf("verify of a filled index with an emptied entry: %v, want tampered", err)
	}
}
