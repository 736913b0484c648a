package api_test

import (
	"strings"
	"testing"
	"time"

	"coldtrace/ledger"
	"coldtrace/ledger/epcis"
)

// TestEPCISVehicleIdentifier: a shipment's vehicle may carry a GS1 GIAI
// (a bad one is refused naming vehicle.giai, and nothing is stored); the
// export names the vehicle by its GIAI's Digital Link, else by its plate's
// URI, in ct:vehicle's ct:id, and validates with epcis2.js; re-captured in
// a fresh coldtrace the shipments record the same vehicles, GIAI included;
// a ct:id that is neither is refused naming it.
func TestEPCISVehicleIdentifier(t *testing.T) {
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	when := t0.Add(20 * time.Hour)
	const giai = "6901234TRUCK/07"

	twin := newDemoWorld(t)
	troot, _ := twin.cleanLotInShanghai(t0)
	ship := func(at time.Time, vehicle map[string]any) map[string]any {
		return map[string]any{"kind": "shipped", "at": at.Format(time.RFC3339), "lot": troot, "to_org": twin.org("zj-market"), "to_site": "ZJ-MKT-GS",
			"quantity": kgs(1000), "vehicle": vehicle, "deadline": at.Add(24 * time.Hour).Format(time.RFC3339)}
	}
	size := twin.h.l.Size()
	for _, bad := range []string{"06A1TRUCK", "6901234 TRUCK", strings.Repeat("6", 31)} {
		twin.key("sh-warehouse").do("POST", "/v1/events", ship(when, map[string]any{"plate": "沪D12345", "giai": bad})).wantProblem(400, "invalid", "vehicle.giai")
	}
	if twin.h.l.Size() != size {
		t.Fatalf("refused shipments left %d records", twin.h.l.Size()-size)
	}
	twin.event("sh-warehouse", ship(when, map[string]any{"plate": "沪D12345", "carrier": twin.org("sh-carrier"), "giai": giai}))
	twin.event("sh-warehouse", ship(when.Add(time.Hour), map[string]any{"plate": "沪E54321"}))

	body := twin.h.admin.do("GET", "/v1/lots/"+troot+"/epcis", nil).want(200).Body
	export, err := epcis.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	var shipments []string
	for _, e := range export.Events {
		if raw, ok := e.Get("ct:vehicle"); ok && e.BizStep() == "shipping" {
			shipments = append(shipments, string(e.Raw()))
			if !strings.Contains(string(raw), `"ct:id"`) {
				t.Errorf("ct:vehicle without ct:id: %s", raw)
			}
		}
	}
	if len(shipments) != 2 ||
		!strings.Contains(shipments[0], `"ct:id":"https://id.gs1.org/8004/6901234TRUCK%2F07"`) ||
		!strings.Contains(shipments[1], `"ct:id":"`+ledger.VehiclePlateURI("沪E54321")+`"`) {
		t.Fatalf("the exported vehicles: %s", shipments)
	}
	for name, v := range epcisOracle(t, map[string][]byte{"vehicle-export": body}) {
		if !v.Success {
			t.Errorf("epcis2.js rejects %s: %v", name, v.Errors)
		}
	}

	w := newDemoWorld(t)
	root, _ := w.cleanLotInShanghai(t0)
	wh := w.key("sh-warehouse")
	local := func(ev string) string {
		ev = strings.ReplaceAll(ev, troot, root)
		for _, name := range []string{"sh-warehouse", "zj-market", "sh-carrier"} {
			ev = strings.ReplaceAll(ev, twin.org(name), w.org(name))
		}
		return ev
	}
	size = w.h.l.Size()
	for _, id := range []string{"https://id.gs1.org/8004/06A1", "https://coldtrace.example/v1/vehicles/x", ledger.VehiclePlateURI("沪A00000")} {
		bad := strings.Replace(local(shipments[1]), ledger.VehiclePlateURI("沪E54321"), id, 1)
		job := captureDoc(wh, ctDoc(bad))
		if job.Success || len(job.Errors) != 1 || job.Errors[0].Status != 400 || job.Errors[0].Errors[0].Field != "epcisBody.eventList[0].ct:vehicle.ct:id" {
			t.Fatalf("ct:id %s: %+v", id, job)
		}
	}
	if w.h.l.Size() != size {
		t.Fatalf("refused captures left %d records", w.h.l.Size()-size)
	}
	job := captureDoc(wh, ctDoc(local(shipments[0]), local(shipments[1])))
	if !job.Success || len(job.Events) != 2 {
		t.Fatalf("re-capture: %+v", job)
	}
	want := []ledger.Vehicle{{Plate: "沪D12345", Carrier: w.org("sh-carrier"), GIAI: giai}, {Plate: "沪E54321"}}
	for i, e := range job.Events {
		var rec ledger.Record
		if e.Effect == nil || e.Effect.Kind != "shipped" {
			t.Fatalf("event %d: %+v", i, e)
		}
		wh.do("GET", "/v1/events/"+itoa(e.Effect.Seq), nil).want(200).JSON(&rec)
		if rec.Vehicle == nil || *rec.Vehicle != want[i] {
			t.Errorf("shipment %d re-captured with vehicle %+v, want %+v", i, rec.Vehicle, want[i])
		}
	}
	sameLot(t, "shipping lot", w.lot("sh-warehouse", root), twin.lot("sh-warehouse", troot))
}
