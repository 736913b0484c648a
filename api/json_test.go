package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"coldtrace/api/report"
	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// TestWriteJSONMatchesEncodingJSON checks that writeJSON (goccy/go-json)
// writes exactly what encoding/json writes, on the largest answers the API
// gives: the trace, recall and closure of every lot of a generated ledger,
// and a closure report.
func TestWriteJSONMatchesEncodingJSON(t *testing.T) {
	tl := fixtures.OpenTestLedger(t, ledger.Options{})
	admin, err := tl.L.Authenticate(t.Context(), fixtures.TestAdminSecret)
	if err != nil {
		t.Fatal(err)
	}
	g, err := fixtures.Generate(context.Background(), tl.L, admin, fixtures.Options{Lots: 12, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	same := func(what string, v any) {
		t.Helper()
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		got := httptest.NewRecorder()
		if err := writeJSON(got, v); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Body.Bytes(), want.Bytes()) {
			t.Fatalf("%s: writeJSON wrote\n%s\nencoding/json\n%s", what, got.Body, want.Bytes())
		}
	}
	// An admin sees every lot; a regulator's answers hide the lots outside
	// its regions.
	principals := []ledger.Principal{admin}
	for _, a := range g.Actors {
		if a.Principal.Role == ledger.RoleRegulator {
			principals = append(principals, a.Principal)
			break
		}
	}
	if len(principals) < 2 {
		t.Fatal("the generated ledger has no regulator")
	}
	lots, hidden := 0, 0
	for _, root := range g.Roots {
		for _, p := range principals {
			for _, dir := range []string{ledger.TraceDown, ledger.TraceUp, ledger.TraceBoth} {
				tr, err := tl.L.Trace(t.Context(), p, root, dir, ledger.MaxAnswerLots)
				if fault.KindOf(err) == fault.Forbidden {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				same("trace "+dir+" of "+root+" for "+p.Role, tr)
				if dir == ledger.TraceDown && p.Role == ledger.RoleAdmin {
					lots += len(tr.Lots)
				}
				hidden += tr.Hidden
			}
		}
		r, err := tl.L.Recall(t.Context(), admin, root)
		if err != nil {
			t.Fatal(err)
		}
		same("recall of "+root, r)
		c, err := tl.L.Closure(t.Context(), admin, root)
		if err != nil {
			t.Fatal(err)
		}
		same("closure of "+root, c)
	}
	for _, p := range principals {
		rep, err := tl.L.ClosureReport(t.Context(), p, ledger.ReportFilter{})
		if err != nil {
			t.Fatal(err)
		}
		same("closure report for "+p.Role, report.JSONView(rep))
	}
	if lots <= len(g.Roots) || hidden == 0 {
		t.Fatalf("the generated ledger has %d lots under %d roots, %d hidden from the regulator: too small to compare", lots, len(g.Roots), hidden)
	}
}
