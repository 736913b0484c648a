package api_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"coldtrace/ledger"
)

// twoLotsAtHangzhou clears a lot in Shanghai and ships 4 t and 3 t of it
// to the Hangzhou market, which receives both: it returns the two lots'
// trace codes (held by zj-market) and the root's (3 t held by
// sh-warehouse).
func (w *demoWorld) twoLotsAtHangzhou(t0 time.Time) (a, b, root string) {
	root, _ = w.cleanLotInShanghai(t0)
	at := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	for i, t := range []int64{4000, 3000} {
		ship := w.event("sh-warehouse", map[string]any{"kind": "shipped", "at": at(8 + i), "lot": root,
			"to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(t)})
		code := ship.CreatedLots[0].TraceCode
		w.event("zj-market", map[string]any{"kind": "received", "at": at(14 + i), "lot": code, "site": "ZJ-MKT-GS", "quantity": kgs(t)})
		if i == 0 {
			a = code
		} else {
			b = code
		}
	}
	return a, b, root
}

// stepDoc is an EPCIS document of ObjectEvents, each given as bizStep,
// the EPC it names and, optionally, its bizLocation.
func stepDoc(at time.Time, events ...[]string) []byte {
	list := ""
	for i, e := range events {
		if i > 0 {
			list += ","
		}
		loc := ""
		if len(e) > 2 {
			loc = fmt.Sprintf(`,"bizLocation":{"id":%q}`, e[2])
		}
		list += fmt.Sprintf(`{"type":"ObjectEvent","eventTime":%q,"eventTimeZoneOffset":"+08:00","action":"OBSERVE","epcList":[%q],"bizStep":%q%s}`,
			at.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), e[1], e[0], loc)
	}
	return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",` +
		`"creationDate":"2026-01-01T00:00:00Z","epcisBody":{"eventList":[` + list + `]}}`)
}

// TestEPCISCaptureTakesEffect: a captured retail sale and destruction of
// coldtrace lots change the lots as the same events sent to /v1/events do,
// in the same commit, each domain record citing its captured record; a key
// without the authority captures nothing under rollback; an event about
// an EPC coldtrace does not know is kept with no effect; proceed records
// the events whose effect the rules allow.
func TestEPCISCaptureTakesEffect(t *testing.T) {
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	when := t0.Add(20 * time.Hour)

	// The same sale and destruction through /v1/events, in a twin world.
	twin := newDemoWorld(t)
	ta, tb, troot := twin.twoLotsAtHangzhou(t0)
	twin.event("zj-market", map[string]any{"kind": "sold", "at": when.Format(time.RFC3339), "lot": ta, "quantity": kgs(4000), "channel": "retail"})
	twin.event("zj-market", map[string]any{"kind": "destroyed", "at": when.Add(time.Minute).Format(time.RFC3339), "lot": tb, "quantity": kgs(3000), "method": "other"})
	tc := twin.event("sh-warehouse", map[string]any{"kind": "shipped", "at": when.Format(time.RFC3339), "lot": troot,
		"to_org": twin.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(2000)}).CreatedLots[0].TraceCode
	twin.event("zj-market", map[string]any{"kind": "received", "at": when.Add(2 * time.Minute).Format(time.RFC3339), "lot": tc, "site": "ZJ-MKT-GS", "quantity": kgs(2000)})

	w := newDemoWorld(t)
	a, b, root := w.twoLotsAtHangzhou(t0)
	c := w.event("sh-warehouse", map[string]any{"kind": "shipped", "at": when.Format(time.RFC3339), "lot": root,
		"to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(2000)}).CreatedLots[0].TraceCode
	url := func(code string) string { return "https://coldtrace.example/t/" + code }
	before := map[string]lotView{a: w.lot("zj-market", a), b: w.lot("zj-market", b), c: w.lot("zj-market", c), root: w.lot("sh-warehouse", root)}
	unchanged := func(what string) {
		t.Helper()
		for code, l := range before {
			var now lotView
			w.h.admin.do("GET", "/v1/lots/"+code, nil).want(200).JSON(&now)
			if !reflect.DeepEqual(now.Quantity, l.Quantity) || !reflect.DeepEqual(now.Status, l.Status) {
				t.Errorf("%s: lot %s changed: %+v %+v", what, code, now.Quantity, now.Status)
			}
		}
	}
	zj := w.key("zj-market")

	// Another org's key (the warehouse that shipped the lots) may not sell
	// or destroy them: the document is refused whole, naming the event.
	job := captureDoc(w.key("sh-warehouse"), stepDoc(when, []string{"retail_selling", url(root)}, []string{"destroying", url(b)}))
	if job.Success || len(job.Events) != 0 || len(job.Errors) != 1 || job.Errors[0].Status != 403 ||
		len(job.Errors[0].Errors) != 1 || job.Errors[0].Errors[0].Field != "epcisBody.eventList[1]" {
		t.Fatalf("capture without the authority: %+v", job)
	}
	if n, _ := queryAll(w.h.admin, ""); len(n) != 0 {
		t.Fatalf("a refused document left %d captured events", len(n))
	}
	unchanged("refused document")

	// Events about EPCs coldtrace does not know are kept, with no effect.
	job = captureDoc(zj, stepDoc(when, []string{"destroying", "https://coldtrace.example/t/NOSUCHCODE0"},
		[]string{"retail_selling", "urn:epc:id:sgtin:0614141.107346.2017"}, []string{"loading", url(a)},
		[]string{"receiving", url(c), "urn:epc:id:sgln:0614141.00001.0"}, []string{"receiving", url(c)}))
	if !job.Success || len(job.Events) != 5 || job.Events[4].Effect != nil {
		t.Fatalf("capture of events with no effect: %+v", job)
	}
	unchanged("events without effect")

	// The sale, the destruction and the receipt take effect, as the twin's
	// /v1/events did.
	job = captureDoc(zj, stepDoc(when, []string{"retail_selling", url(a)}, []string{"https://ref.gs1.org/cbv/BizStep-destroying", "https://coldtrace.example/v1/lots/" + before[b].ID},
		[]string{"receiving", url(c), "https://coldtrace.example/v1/sites/ZJ-MKT-GS"}))
	if !job.Success || len(job.Events) != 3 {
		t.Fatalf("capture: %+v", job)
	}
	for _, p := range [][]string{{a, ta}, {b, tb}, {c, tc}} {
		got, want := w.lot("zj-market", p[0]), twin.lot("zj-market", p[1])
		if !reflect.DeepEqual(got.Quantity, want.Quantity) || !reflect.DeepEqual(got.Status, want.Status) {
			t.Errorf("lot %s after the capture: %+v %+v\nafter /v1/events:  %+v %+v", p[0], got.Quantity, got.Status, want.Quantity, want.Status)
		}
	}
	if q := w.lot("zj-market", a).Quantity; q.Sold != 4000e3 || q.OnHand != 0 {
		t.Errorf("sold lot: %+v", q)
	}
	// Each domain record follows its captured record and cites it.
	for i, e := range job.Events {
		var rec ledger.Record
		zj.do("GET", "/v1/events/"+itoa(e.Seq+1), nil).want(200).JSON(&rec)
		want := []ledger.EventKind{ledger.Sold, ledger.Destroyed, ledger.Received}[i]
		if e.Effect == nil || e.Effect.Seq != e.Seq+1 || e.Effect.Kind != string(want) {
			t.Errorf("the job reports the effect of event %d as %+v", i, e.Effect)
		}
		if rec.Kind != want || rec.EPCISSeq != e.Seq || rec.Actor.Org != w.org("zj-market") {
			t.Errorf("record after captured event %d (seq %d): %s citing %d by %s, want %s citing %d", i, e.Seq, rec.Kind, rec.EPCISSeq, rec.Actor.Org, want, e.Seq)
		}
	}

	// proceed: the event whose effect is refused (nothing left on hand to
	// sell) is refused alone; the other is captured.
	before = map[string]lotView{a: w.lot("zj-market", a), b: w.lot("zj-market", b), c: w.lot("zj-market", c), root: w.lot("sh-warehouse", root)}
	job = captureDoc(zj, stepDoc(when.Add(time.Hour), []string{"receiving", url(a)}, []string{"retail_selling", url(a)}), "GS1-Capture-Error-Behaviour", "proceed")
	if job.Success || len(job.Events) != 1 || len(job.Errors) != 1 || job.Errors[0].Status != 422 ||
		len(job.Errors[0].Errors) != 1 || job.Errors[0].Errors[0].Field != "epcisBody.eventList[1].epcList" {
		t.Fatalf("proceed: %+v", job)
	}
	unchanged("proceed")
	if n, _ := queryAll(zj, ""); len(n) != 9 {
		t.Errorf("%d captured events, want 9", len(n))
	}

	// A client may not claim an EPCIS origin on /v1/events.
	zj.do("POST", "/v1/events", map[string]any{"kind": "destroyed", "lot": root, "quantity": kgs(1), "method": "other", "epcis_seq": 3}).
		wantProblem(400, "invalid", "epcis_seq")
}
