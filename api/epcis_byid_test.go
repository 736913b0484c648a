package api_test

import (
	"bytes"
	"net/url"
	"testing"
	"time"

	"coldtrace/ledger/epcis"
)

// TestEPCISEventByIDWithItsCorrection: GET /epcis/events/{eventID} of an
// event whose error was declared answers both captures of the eventID, the
// event and then its declaration, as the query with EQ_eventID does; an
// event without one answers itself alone; another org gets a 404 either
// way.
func TestEPCISEventByIDWithItsCorrection(t *testing.T) {
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	when := t0.Add(20 * time.Hour)
	w := newDemoWorld(t)
	a, _, _ := w.twoLotsAtHangzhou(t0)
	zj := w.key("zj-market")
	const saleID, otherID = "urn:uuid:6d1c0b1e-0000-4000-8000-0000000000b1", "urn:uuid:6d1c0b1e-0000-4000-8000-0000000000b2"
	sale := stepEvent(when, "retail_selling", lotURL(a)) + `,"eventID":"` + saleID + `"`
	other := stepEvent(when, "destroying", lotURL("NOSUCHCODE0")) + `,"eventID":"` + otherID + `"}`
	declared := sale + `,"errorDeclaration":{"declarationTime":"` + when.Add(time.Hour).Format(time.RFC3339) + `","reason":"incorrect_data"}}`
	if job := captureDoc(zj, ctDoc(sale+"}", other)); !job.Success {
		t.Fatalf("capture: %+v", job)
	}
	if job := captureDoc(zj, ctDoc(declared)); !job.Success || job.Events[0].Effect == nil || job.Events[0].Effect.Kind != "voided" {
		t.Fatalf("declaration: %+v", job)
	}

	byID := func(id string) []epcis.Event {
		t.Helper()
		r := zj.do("GET", "/epcis/events/"+url.PathEscape(id), nil).want(200)
		d, err := epcis.Decode(r.Body)
		if err != nil || d.Type != epcis.TypeQueryDocument {
			t.Fatalf("%s: %v\n%s", id, err, r.Body)
		}
		return d.Events
	}
	got := byID(saleID)
	if len(got) != 2 || got[0].ID() != saleID || got[1].ID() != saleID || got[0].HasErrorDeclaration() || !got[1].HasErrorDeclaration() {
		t.Fatalf("the corrected sale by id: %d events", len(got))
	}
	queried, _ := queryAll(zj, "EQ_eventID="+url.QueryEscape(saleID))
	if len(queried) != len(got) {
		t.Fatalf("EQ_eventID answers %d events, the event by id %d", len(queried), len(got))
	}
	for i := range got {
		if !bytes.Equal(got[i].Raw(), queried[i].Raw()) {
			t.Errorf("event %d by id:\n%s\nby EQ_eventID:\n%s", i, got[i].Raw(), queried[i].Raw())
		}
	}
	if got := byID(otherID); len(got) != 1 || got[0].ID() != otherID || got[0].HasErrorDeclaration() {
		t.Errorf("an event without declaration by id: %d events", len(got))
	}
	for _, id := range []string{saleID, otherID} {
		w.key("sh-warehouse").do("GET", "/epcis/events/"+url.PathEscape(id), nil).wantProblem(404, "not_found", "")
	}
}
