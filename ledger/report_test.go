package ledger_test

import (
	"encoding/json"
	"testing"
	"time"

	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// TestReportReadInPartsIsTheSame checks that a closure report whose
// summaries and families are read in parts, side by side, is the report
// read in one: the same batches in the same order, with the same regions,
// reasons and totals.
func TestReportReadInPartsIsTheSame(t *testing.T) {
	e := newQueryEnv(t)
	if _, err := fixtures.Generate(t.Context(), e.l, e.admin, fixtures.Options{Lots: 60, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	report := func() []byte {
		t.Helper()
		rep, err := e.l.ClosureReport(t.Context(), e.admin, ledger.ReportFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Totals.Batches < 8 || rep.Totals.Closed == rep.Totals.Batches {
			t.Fatalf("the generated ledger's report has %d batches, %d closed: too few to split, or none explained", rep.Totals.Batches, rep.Totals.Closed)
		}
		rep.GeneratedAt = time.Time{}
		data, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	whole := report()
	defer ledger.SetReadParts(3, 1)()
	if parts := report(); string(parts) != string(whole) {
		t.Fatalf("the report read in parts differs:\n%s\nin one read:\n%s", parts, whole)
	}
}
