package api_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"coldtrace/api"
	"coldtrace/ledger"
	"coldtrace/ledger/epcis"
)

// ctDoc is an EPCIS document of the given events (JSON objects) whose
// context declares coldtrace's vocabulary as ct.
func ctDoc(events ...string) []byte {
	return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld",{"ct":"` + ledger.EPCISVocab + `"}],` +
		`"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-01-01T00:00:00Z","epcisBody":{"eventList":[` + strings.Join(events, ",") + `]}}`)
}

// stepEvent is the start of an ObjectEvent (no closing brace) at when
// about epc with bizStep.
func stepEvent(when time.Time, bizStep, epc string) string {
	return fmt.Sprintf(`{"type":"ObjectEvent","eventTime":%q,"eventTimeZoneOffset":"+08:00","action":"OBSERVE","epcList":[%q],"bizStep":%q`,
		when.Format(time.RFC3339), epc, bizStep)
}

func lotURL(code string) string { return "https://coldtrace.example/t/" + code }

// sameLot fails unless lot got (of world w) and want (of the twin) have
// the same quantities, status and last test.
func sameLot(t *testing.T, what string, got, want lotView) {
	t.Helper()
	gt, wt := "", ""
	if got.LastTest != nil {
		gt = got.LastTest.Result
	}
	if want.LastTest != nil {
		wt = want.LastTest.Result
	}
	// A seal names the positive lot and its record, which differ between
	// the worlds (trace codes are random, captured records take seqs).
	status := func(s ledger.LotStatus) ledger.LotStatus {
		s.SealReason, _, _ = strings.Cut(s.SealReason, "：")
		s.SealSeq, s.PositiveSeq = min(s.SealSeq, 1), min(s.PositiveSeq, 1)
		return s
	}
	if !reflect.DeepEqual(got.Quantity, want.Quantity) || !reflect.DeepEqual(status(got.Status), status(want.Status)) || gt != wt {
		t.Errorf("%s after the capture: %+v %+v test %q\nafter /v1/events:  %+v %+v test %q", what, got.Quantity, got.Status, gt, want.Quantity, want.Status, wt)
	}
}

// TestEPCISErrorDeclarationVoids: an error declaration about a captured
// event that took effect voids the effect as the recorder's void through
// /v1/events does, by eventID or, sent without one, by event hash; another
// org may not; a declaration about an event without effect is kept with
// none; an error is declared once.
func TestEPCISErrorDeclarationVoids(t *testing.T) {
	if api.VocabNS != ledger.EPCISVocab {
		t.Fatalf("the export writes %s, the capture reads %s", api.VocabNS, ledger.EPCISVocab)
	}
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	when := t0.Add(20 * time.Hour)
	decl := when.Add(time.Hour).Format(time.RFC3339)

	twin := newDemoWorld(t)
	ta, tb, _ := twin.twoLotsAtHangzhou(t0)
	sale := twin.event("zj-market", map[string]any{"kind": "sold", "at": when.Format(time.RFC3339), "lot": ta, "quantity": kgs(4000), "channel": "retail"})
	twin.event("zj-market", map[string]any{"kind": "voided", "voids": sale.Seq, "reason": "EPCIS error declaration: incorrect_data"})
	d := twin.event("zj-market", map[string]any{"kind": "destroyed", "at": when.Add(time.Minute).Format(time.RFC3339), "lot": tb, "quantity": kgs(3000), "method": "other"})
	twin.event("zj-market", map[string]any{"kind": "voided", "voids": d.Seq, "reason": "录入错误"})

	w := newDemoWorld(t)
	a, b, _ := w.twoLotsAtHangzhou(t0)
	zj := w.key("zj-market")
	saleEv := stepEvent(when, "retail_selling", lotURL(a)) + `,"eventID":"urn:uuid:6d1c0b1e-0000-4000-8000-000000000001"`
	destroyEv := stepEvent(when.Add(time.Minute), "destroying", lotURL(b)) // no eventID: its event hash
	unknownEv := stepEvent(when, "destroying", lotURL("NOSUCHCODE0")) + `,"eventID":"urn:uuid:6d1c0b1e-0000-4000-8000-000000000002"`
	declared := func(ev, reason string) string {
		return ev + `,"errorDeclaration":{"declarationTime":"` + decl + `","reason":"incorrect_data"` + reason + `}}`
	}
	job := captureDoc(zj, ctDoc(saleEv+"}", destroyEv+"}", unknownEv+"}"))
	if !job.Success || len(job.Events) != 3 || job.Events[0].Effect == nil || job.Events[1].Effect == nil || job.Events[2].Effect != nil {
		t.Fatalf("capture: %+v", job)
	}
	effects := []int64{job.Events[0].Effect.Seq, job.Events[1].Effect.Seq}

	// Another org's key may not void zj-market's sale: nothing is stored.
	size := w.h.l.Size()
	job = captureDoc(w.key("sh-warehouse"), ctDoc(declared(saleEv, "")))
	if job.Success || len(job.Errors) != 1 || job.Errors[0].Status != 403 || job.Errors[0].Errors[0].Field != "epcisBody.eventList[0]" {
		t.Fatalf("a declaration by another org: %+v", job)
	}
	if w.h.l.Size() != size {
		t.Fatalf("a refused declaration left %d records", w.h.l.Size()-size)
	}

	// zj-market declares the errors: both effects are voided, as the
	// twin's voids did; the declaration about an unknown EPC is kept.
	job = captureDoc(zj, ctDoc(declared(saleEv, ""), declared(destroyEv, `,"ct:reason":"录入错误"`), declared(unknownEv, "")))
	if !job.Success || len(job.Events) != 3 || job.Events[2].Effect != nil {
		t.Fatalf("declarations: %+v", job)
	}
	for i, e := range job.Events[:2] {
		var rec ledger.Record
		zj.do("GET", "/v1/events/"+itoa(e.Seq+1), nil).want(200).JSON(&rec)
		if e.Effect == nil || e.Effect.Kind != "voided" || rec.Kind != ledger.Voided || rec.Voids != effects[i] || rec.EPCISSeq != e.Seq {
			t.Errorf("declaration %d (seq %d, effect %+v): record %s voiding %d citing %d, want voided %d", i, e.Seq, e.Effect, rec.Kind, rec.Voids, rec.EPCISSeq, effects[i])
		}
	}
	sameLot(t, "sold lot", w.lot("zj-market", a), twin.lot("zj-market", ta))
	sameLot(t, "destroyed lot", w.lot("zj-market", b), twin.lot("zj-market", tb))
	if q := w.lot("zj-market", a).Quantity; q.OnHand != 4000e3 || q.Sold != 0 {
		t.Errorf("the voided sale left %+v", q)
	}

	// An error is declared once, and an event captured once.
	size = w.h.l.Size()
	job = captureDoc(zj, ctDoc(declared(saleEv, "")))
	if job.Success || job.Errors[0].Status != 409 || job.Errors[0].Errors[0].Field != "epcisBody.eventList[0].errorDeclaration" {
		t.Errorf("a second declaration: %+v", job)
	}
	job = captureDoc(zj, ctDoc(saleEv+"}"))
	if job.Success || job.Errors[0].Status != 409 || job.Errors[0].Errors[0].Field != "epcisBody.eventList[0].eventID" {
		t.Errorf("a second capture: %+v", job)
	}
	if w.h.l.Size() != size {
		t.Errorf("refused captures left %d records", w.h.l.Size()-size)
	}
}

// TestEPCISInspectionTests: a lab's inspecting event with a conformant or
// non-conformant disposition and ct:nucleicAcidTest tests the lot as
// /v1/events does, and an export's test re-captured reproduces it; a key
// that is no lab's, or a test without samples, is refused naming the
// field, and nothing is stored.
func TestEPCISInspectionTests(t *testing.T) {
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	when := t0.Add(20 * time.Hour)

	twin := newDemoWorld(t)
	ta, tb, troot := twin.twoLotsAtHangzhou(t0)
	twin.event("zj-lab", map[string]any{"kind": "tested", "at": when.Format(time.RFC3339), "lot": ta, "samples": 12, "scope": []string{"goods", "packaging"}, "result": "negative"})
	twin.event("zj-lab", map[string]any{"kind": "tested", "at": when.Add(time.Minute).Format(time.RFC3339), "lot": tb, "samples": 3, "scope": []string{"goods"}, "result": "positive"})
	export, err := epcis.Decode(twin.h.admin.do("GET", "/v1/lots/"+ta+"/epcis", nil).want(200).Body)
	if err != nil {
		t.Fatal(err)
	}
	var exported string
	for _, e := range export.Events {
		if e.BizStep() == "inspecting" && e.Time().Equal(when.Truncate(time.Second)) {
			exported = string(e.Raw())
		}
	}
	if exported == "" {
		t.Fatal("the export has no inspecting event for the test")
	}

	w := newDemoWorld(t)
	a, b, root := w.twoLotsAtHangzhou(t0)
	retest := strings.ReplaceAll(exported, ta, a)
	positive := stepEvent(when.Add(time.Minute), "inspecting", lotURL(b)) + `,"disposition":"non_conformant"`
	lab := w.key("zj-lab")

	size := w.h.l.Size()
	job := captureDoc(w.key("zj-market"), ctDoc(retest))
	if job.Success || len(job.Errors) != 1 || job.Errors[0].Status != 403 {
		t.Fatalf("a test by a market: %+v", job)
	}
	job = captureDoc(lab, ctDoc(positive+`,"ct:nucleicAcidTest":{"ct:scope":["goods"]}}`))
	if job.Success || len(job.Errors) != 1 || job.Errors[0].Status != 400 || job.Errors[0].Errors[0].Field != "epcisBody.eventList[0].ct:nucleicAcidTest.ct:samples" {
		t.Fatalf("a test without samples: %+v", job)
	}
	job = captureDoc(lab, ctDoc(positive+`}`))
	if job.Success || job.Errors[0].Errors[0].Field != "epcisBody.eventList[0].ct:nucleicAcidTest" {
		t.Fatalf("a test without ct:nucleicAcidTest: %+v", job)
	}
	if w.h.l.Size() != size {
		t.Fatalf("refused tests left %d records", w.h.l.Size()-size)
	}

	job = captureDoc(lab, ctDoc(retest, positive+`,"ct:nucleicAcidTest":{"ct:samples":3,"ct:scope":["goods"]}}`))
	if !job.Success || len(job.Events) != 2 || job.Events[0].Effect == nil || job.Events[0].Effect.Kind != "tested" || job.Events[1].Effect == nil {
		t.Fatalf("tests: %+v", job)
	}
	sameLot(t, "tested lot", w.lot("zj-lab", a), twin.lot("zj-lab", ta))
	sameLot(t, "positive lot", w.lot("zj-lab", b), twin.lot("zj-lab", tb))
	sameLot(t, "their root", w.lot("sh-warehouse", root), twin.lot("sh-warehouse", troot))
	if l := w.lot("zj-lab", b); !l.Status.Positive {
		t.Errorf("the non-conformant lot is not positive: %+v", l.Status)
	}
}

// TestEPCISShippingShips: a shipping event with destinationList,
// ct:quantity, ct:vehicle, ct:deadline and a temperature ships a part of
// the lot as /v1/events does; a quantityList entry in KGM ships a part
// too; a shipment to no site, or by a key that does not hold the lot, is
// refused and nothing is stored.
func TestEPCISShippingShips(t *testing.T) {
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	when := t0.Add(20 * time.Hour)
	deadline := when.Add(24 * time.Hour)

	twin := newDemoWorld(t)
	troot, _ := twin.cleanLotInShanghai(t0)
	tc := twin.event("sh-warehouse", map[string]any{"kind": "shipped", "at": when.Format(time.RFC3339), "lot": troot, "to_org": twin.org("zj-market"), "to_site": "ZJ-MKT-GS",
		"quantity": kgs(2000), "vehicle": map[string]any{"plate": "沪D12345", "carrier": twin.org("sh-carrier")}, "deadline": deadline.Format(time.RFC3339), "temperature_c": -19.5}).CreatedLots[0].TraceCode

	w := newDemoWorld(t)
	root, _ := w.cleanLotInShanghai(t0)
	org := `{"type":"possessing_party","destination":"https://coldtrace.example/v1/orgs/` + w.org("zj-market") + `"}`
	site := `{"type":"location","destination":"https://coldtrace.example/v1/sites/ZJ-MKT-GS"}`
	ship := func(dest ...string) string {
		return stepEvent(when, "shipping", lotURL(root)) + `,"disposition":"in_transit","destinationList":[` + strings.Join(dest, ",") + `]`
	}
	ext := `,"sensorElementList":[{"sensorReport":[{"type":"Temperature","value":-19.5,"uom":"CEL"}]}],"ct:quantity":{"ct:grams":2000000},` +
		`"ct:vehicle":{"ct:plate":"沪D12345","ct:carrier":"` + w.org("sh-carrier") + `"},"ct:deadline":"` + deadline.Format(time.RFC3339) + `"}`

	size := w.h.l.Size()
	job := captureDoc(w.key("sh-warehouse"), ctDoc(ship(org)+ext))
	if job.Success || len(job.Errors) != 1 || job.Errors[0].Status != 400 || job.Errors[0].Errors[0].Field != "epcisBody.eventList[0].destinationList" {
		t.Fatalf("a shipment to no site: %+v", job)
	}
	job = captureDoc(w.key("zj-market"), ctDoc(ship(org, site)+ext))
	if job.Success || len(job.Errors) != 1 || job.Errors[0].Status != 403 {
		t.Fatalf("a shipment by a key that does not hold the lot: %+v", job)
	}
	if w.h.l.Size() != size {
		t.Fatalf("refused shipments left %d records", w.h.l.Size()-size)
	}

	wh := w.key("sh-warehouse")
	job = captureDoc(wh, ctDoc(ship(org, site)+ext))
	if !job.Success || len(job.Events) != 1 || job.Events[0].Effect == nil || job.Events[0].Effect.Kind != "shipped" {
		t.Fatalf("shipment: %+v", job)
	}
	var rec ledger.Record
	wh.do("GET", "/v1/events/"+itoa(job.Events[0].Effect.Seq), nil).want(200).JSON(&rec)
	if len(rec.CreatedLots) != 1 {
		t.Fatalf("the shipment of a part made no lot: %+v", rec)
	}
	c := rec.CreatedLots[0].TraceCode
	sameLot(t, "shipping lot", w.lot("sh-warehouse", root), twin.lot("sh-warehouse", troot))
	got, want := w.lot("sh-warehouse", c), twin.lot("sh-warehouse", tc)
	sameLot(t, "shipped lot", got, want)
	if g, x := got.Transit, want.Transit; g == nil || x == nil || g.ToOrg != x.ToOrg || g.ToSite != x.ToSite || g.Quantity != x.Quantity ||
		!g.Deadline.Equal(x.Deadline) || g.Plate != x.Plate || g.Carrier != x.Carrier {
		t.Errorf("transit %+v, want %+v", g, x)
	}
	if rec.TemperatureC == nil || *rec.TemperatureC != -19.5 {
		t.Errorf("temperature %v", rec.TemperatureC)
	}

	// A quantityList entry in KGM for the lot ships that part.
	before := w.lot("sh-warehouse", root).Quantity.OnHand
	job = captureDoc(wh, ctDoc(ship(org, site)+`,"quantityList":[{"epcClass":"`+lotURL(root)+`","quantity":1000,"uom":"KGM"}]}`))
	if !job.Success || job.Events[0].Effect == nil {
		t.Fatalf("shipment by quantityList: %+v", job)
	}
	if after := w.lot("sh-warehouse", root).Quantity.OnHand; before-after != 1000e3 {
		t.Errorf("the shipment of 1000 KGM took %d g", before-after)
	}
}

// TestEPCISLotsByLGTIN: a batch declared with a GTIN and batch number is
// named by its LGTIN (EPC URI or Digital Link): the declared lot while it
// is the only one; after a split, the lot at the event's site, or the one
// in transit to it; without a site, the name is ambiguous and refused.
func TestEPCISLotsByLGTIN(t *testing.T) {
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	at := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	body := "952123454321"
	cd, _ := epcis.CheckDigit(body)
	gtin := body + string(cd)
	id, err := epcis.LGTIN(gtin, "B-77", 7)
	if err != nil {
		t.Fatal(err)
	}
	urn, err := id.EPCURI()
	if err != nil {
		t.Fatal(err)
	}
	dl := id.DigitalLink()

	w := newDemoWorld(t)
	imp := w.key("sh-importer")
	declared := w.event("sh-importer", map[string]any{"kind": "declared", "at": at(0), "site": "SH-YS-PORT", "gtin": gtin, "batch": "B-77", "declaration_no": "224820269000000078",
		"containers": []map[string]any{{"number": "MSKU9070323"}},
		"product":    map[string]any{"name": "冷冻牛腩", "hs_code": "0202300090", "category": "frozen", "origin_country": "AR"},
		"quantity":   kgs(10000)})
	var rec ledger.Record
	imp.do("GET", "/v1/events/"+itoa(declared.Seq), nil).want(200).JSON(&rec)
	if rec.LGTIN != dl {
		t.Fatalf("the declaration records LGTIN %q, want %q", rec.LGTIN, dl)
	}
	// Only the ledger sets it.
	imp.do("POST", "/v1/events", map[string]any{"kind": "declared", "site": "SH-YS-PORT", "gtin": gtin, "batch": "B-78", "lgtin": dl, "declaration_no": "224820269000000079",
		"containers": []map[string]any{{"number": "MSKU9070323"}}, "quantity": kgs(1),
		"product": map[string]any{"name": "冷冻牛腩", "hs_code": "0202300090", "category": "frozen", "origin_country": "AR"}}).wantProblem(400, "invalid", "lgtin")
	code := declared.TraceCode
	destroy := func(when int, list string) string {
		return fmt.Sprintf(`{"type":"ObjectEvent","eventTime":%q,"eventTimeZoneOffset":"+08:00","action":"OBSERVE","bizStep":"destroying",%s}`, at(when), list)
	}

	// The only lot of the batch, by the EPC URI in quantityList.
	job := captureDoc(imp, ctDoc(destroy(1, `"epcList":[],"quantityList":[{"epcClass":"`+urn+`","quantity":100,"uom":"KGM"}]`)))
	if !job.Success || job.Events[0].Effect == nil {
		t.Fatalf("destruction by LGTIN: %+v", job)
	}
	if q := w.lot("sh-importer", code).Quantity; q.OnHand != 9900e3 || q.Destroyed != 100e3 {
		t.Fatalf("after destroying 100 kg: %+v", q)
	}

	// Split: 4 t on their way to the Minhang warehouse.
	child := w.event("sh-importer", map[string]any{"kind": "shipped", "at": at(2), "lot": code, "to_org": w.org("sh-warehouse"), "to_site": "SH-JGC-MH",
		"quantity": kgs(4000)}).CreatedLots[0].TraceCode

	size := w.h.l.Size()
	job = captureDoc(imp, ctDoc(destroy(3, `"epcList":["`+dl+`"]`)))
	if job.Success || job.Errors[0].Status != 400 || job.Errors[0].Errors[0].Field != "epcisBody.eventList[0].epcList" {
		t.Fatalf("an ambiguous LGTIN: %+v", job)
	}
	if w.h.l.Size() != size {
		t.Fatalf("a refused capture left %d records", w.h.l.Size()-size)
	}

	// At the port, the LGTIN is the lot still there.
	job = captureDoc(imp, ctDoc(destroy(3, `"bizLocation":{"id":"https://coldtrace.example/v1/sites/SH-YS-PORT"},"quantityList":[{"epcClass":"`+dl+`","quantity":500,"uom":"KGM"}]`)))
	if !job.Success || job.Events[0].Effect == nil {
		t.Fatalf("destruction at the port: %+v", job)
	}
	if q := w.lot("sh-importer", code).Quantity; q.OnHand != 5400e3 {
		t.Errorf("the declared lot after destroying 500 kg more: %+v", q)
	}
	// At the warehouse, it is the lot in transit to it.
	job = captureDoc(w.key("sh-warehouse"), ctDoc(fmt.Sprintf(`{"type":"ObjectEvent","eventTime":%q,"eventTimeZoneOffset":"+08:00","action":"OBSERVE","bizStep":"receiving","bizLocation":{"id":"https://coldtrace.example/v1/sites/SH-JGC-MH"},"epcList":[%q]}`, at(4), dl)))
	if !job.Success || job.Events[0].Effect == nil || job.Events[0].Effect.Kind != "received" {
		t.Fatalf("receipt by LGTIN: %+v", job)
	}
	if l := w.lot("sh-warehouse", child); l.Transit != nil || l.Quantity.OnHand != 4000e3 || l.Site != "SH-JGC-MH" {
		t.Errorf("the lot received by LGTIN: %+v %+v at %s", l.Quantity, l.Transit, l.Site)
	}
}

// TestEPCISTransformationProcesses: an export's TransformationEvent
// re-captured by the processor processes the lot as /v1/events did (the
// input taken, a new lot made of the output); a market's key is refused and nothing is stored; a TransformationEvent without
// coldtrace's ct:outputs is kept with no effect.
func TestEPCISTransformationProcesses(t *testing.T) {
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	at := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	toPlant := func(w *demoWorld) string {
		root, _ := w.cleanLotInShanghai(t0)
		c := w.event("sh-warehouse", map[string]any{"kind": "shipped", "at": at(8), "lot": root, "to_org": w.org("zj-processor"), "to_site": "ZJ-XW-PLANT",
			"quantity": kgs(5000)}).CreatedLots[0].TraceCode
		w.event("zj-processor", map[string]any{"kind": "received", "at": at(12), "lot": c, "site": "ZJ-XW-PLANT", "quantity": kgs(5000)})
		return c
	}
	twin := newDemoWorld(t)
	tc := toPlant(twin)
	tout := twin.event("zj-processor", map[string]any{"kind": "transformed", "at": at(14), "site": "ZJ-XW-PLANT",
		"inputs":      []map[string]any{{"lot": tc, "quantity": kgs(3000)}},
		"outputs":     []map[string]any{{"product": map[string]any{"name": "速冻牛肉丸", "hs_code": "1602501000", "category": "frozen"}, "quantity": kgs(3300)}},
		"added_grams": 300000}).CreatedLots[0].TraceCode
	export, err := epcis.Decode(twin.h.admin.do("GET", "/v1/lots/"+tc+"/epcis", nil).want(200).Body)
	if err != nil {
		t.Fatal(err)
	}
	var exported string
	for _, e := range export.Events {
		if e.Type() == epcis.TransformationEvent {
			exported = string(e.Raw())
		}
	}
	if exported == "" {
		t.Fatal("the export has no TransformationEvent")
	}

	w := newDemoWorld(t)
	c := toPlant(w)
	again := strings.ReplaceAll(exported, tc, c)
	size := w.h.l.Size()
	job := captureDoc(w.key("zj-market"), ctDoc(again))
	if job.Success || len(job.Errors) != 1 || job.Errors[0].Status != 403 {
		t.Fatalf("processing by a market: %+v", job)
	}
	if w.h.l.Size() != size {
		t.Fatalf("a refused processing left %d records", w.h.l.Size()-size)
	}
	proc := w.key("zj-processor")
	bare, _, _ := strings.Cut(again, `,"ilmd"`)
	job = captureDoc(proc, ctDoc(strings.Replace(bare+"}", "urn:uuid:", "urn:uuid:0", 1)))
	if !job.Success || job.Events[0].Effect != nil {
		t.Fatalf("a TransformationEvent without ct:outputs: %+v", job)
	}

	job = captureDoc(proc, ctDoc(again))
	if !job.Success || job.Events[0].Effect == nil || job.Events[0].Effect.Kind != "transformed" {
		t.Fatalf("processing: %+v", job)
	}
	var rec ledger.Record
	proc.do("GET", "/v1/events/"+itoa(job.Events[0].Effect.Seq), nil).want(200).JSON(&rec)
	if len(rec.CreatedLots) != 1 {
		t.Fatalf("the processing made %d lots", len(rec.CreatedLots))
	}
	sameLot(t, "input lot", w.lot("zj-processor", c), twin.lot("zj-processor", tc))
	got, want := w.lot("zj-processor", rec.CreatedLots[0].TraceCode), twin.lot("zj-processor", tout)
	sameLot(t, "output lot", got, want)
	if got.Product.Name != want.Product.Name || got.Product.HSCode != want.Product.HSCode {
		t.Errorf("output product %+v, want %+v", got.Product, want.Product)
	}
}
