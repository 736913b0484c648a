package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// world is a registry with one org, site and key per role, all in Hangzhou.
type world struct {
	h     *harness
	orgs  map[string]string  // role -> uscc
	sites map[string]string  // role -> site id
	keys  map[string]*client // role -> a key of that org and role
	docs  map[string]string  // document type -> sha256 of an uploaded PDF
	// outside is a key of the regulator org for region 31, where none of
	// the world's goods ever are.
	outside *client
}

var allRoles = append([]string{ledger.RoleAdmin}, ledger.OrgRoles...)

func siteTypeOf(role string) string {
	switch role {
	case ledger.RoleSupervisionWarehouse:
		return "supervision_warehouse"
	case ledger.RoleRetailer, ledger.RoleWholesaler:
		return "market"
	case ledger.RoleProcessor:
		return "plant"
	case ledger.RoleCaterer:
		return "canteen"
	}
	return "cold_store"
}

// newWorld starts the world under the rules before policy version 1:
// authority does not depend on the policy, and no clearance precondition
// or one-declaration rule masks a cell of the matrix.
func newWorld(t *testing.T) *world {
	v0 := ledger.PolicyV0()
	h := newHarnessUnder(t, api.Options{}, &v0)
	w := &world{h: h, orgs: map[string]string{}, sites: map[string]string{}, keys: map[string]*client{"admin": h.admin}, docs: map[string]string{}}
	for i, role := range ledger.OrgRoles {
		uscc := fixtures.USCC("330106", 100+i)
		h.admin.do("POST", "/v1/orgs", map[string]any{"uscc": uscc, "name": "测试" + role, "roles": []string{role}, "region": "330106"}).want(201)
		site := "S-" + role
		h.admin.do("POST", "/v1/sites", map[string]any{"id": site, "org": uscc, "name": role + " site", "type": siteTypeOf(role), "region": "330106"}).want(201)
		body := map[string]any{"org": uscc, "role": role}
		if role == ledger.RoleRegulator {
			body["regions"] = []string{"33"}
		}
		var k struct{ Key string }
		h.admin.do("POST", "/v1/keys", body).want(201).JSON(&k)
		w.orgs[role], w.sites[role], w.keys[role] = uscc, site, h.client(k.Key)
	}
	var k struct{ Key string }
	h.admin.do("POST", "/v1/keys", map[string]any{"org": w.orgs[ledger.RoleRegulator], "role": "regulator", "regions": []string{"31"}}).want(201).JSON(&k)
	w.outside = h.client(k.Key)
	// Each document is uploaded by the orgs that issue it: a record cites
	// only its own org's uploads.
	issuers := map[string][]string{
		ledger.DocQuarantineCertificate: {ledger.RoleImporter},
		ledger.DocReleaseCertificate:    {ledger.RoleSupervisionWarehouse},
		ledger.DocTemperatureLog:        ledger.OrgRoles,
	}
	for d, roles := range issuers {
		var a struct{ SHA256 string }
		ct, body := "application/pdf", "%PDF-1.4\n% "+d+"\n"
		if d == ledger.DocTemperatureLog {
			ct, body = "text/csv", "time,temperature_c\n2026-11-01T00:00:00Z,-19\n"
		}
		for _, role := range roles {
			if role != ledger.RoleAuditor {
				w.keys[role].do("POST", "/v1/attachments", body, "Content-Type", ct).want(201).JSON(&a)
			}
		}
		w.docs[d] = a.SHA256
	}
	return w
}

func (w *world) ref(doc string) []map[string]string {
	return []map[string]string{{"sha256": w.docs[doc], "type": doc}}
}

// event posts an event as role and returns the receipt, failing the test on
// anything but 201.
func (w *world) event(role string, ev map[string]any) ledger.Receipt {
	w.h.t.Helper()
	var r ledger.Receipt
	w.keys[role].do("POST", "/v1/events", ev).want(201).JSON(&r)
	return r
}

func declaredEvent() map[string]any {
	return map[string]any{"kind": "declared", "site": "S-importer", "declaration_no": "224820261000000001",
		"product":    map[string]any{"name": "冷冻去骨牛肉", "hs_code": "0202300090", "category": "frozen", "origin_country": "BR"},
		"containers": []map[string]any{{"number": "MSKU9070323", "seal": "BR123"}},
		"quantity":   map[string]any{"grams": 10_000_000, "pieces": 500}}
}

// lotHeldBy declares a lot and moves it to role's org; it returns the trace
// code.
func (w *world) lotHeldBy(role string) string {
	ev := declaredEvent()
	ev["attachments"] = w.ref(ledger.DocQuarantineCertificate)
	code := w.event(ledger.RoleImporter, ev).TraceCode
	if role != ledger.RoleImporter && role != ledger.RoleAdmin {
		w.event(ledger.RoleImporter, map[string]any{"kind": "shipped", "lot": code, "to_org": w.orgs[role], "to_site": w.sites[role],
			"quantity": map[string]any{"grams": 10_000_000}})
		w.event(role, map[string]any{"kind": "received", "lot": code, "site": w.sites[role], "quantity": map[string]any{"grams": 10_000_000}})
	}
	return code
}

func (w *world) other(role string) string {
	if role == ledger.RoleColdStore {
		return ledger.RoleRetailer
	}
	return ledger.RoleColdStore
}

// TestAuthorityMatrix submits every event kind as every role, once as the
// holder (or named receiver, or the org that recorded, or the site's org;
// for regulators, with a key of the region where the goods are) and once
// not (for regulators, a key of another region), and checks the status of
// every cell against the rules as written in DESIGN.md and the issues.
func TestAuthorityMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the authority matrix records a few thousand events")
	}
	w := newWorld(t)
	type cell struct {
		prepare func(role string, holder bool) map[string]any
		// want returns the expected status for role, as holder or not.
		want func(role string, holder bool) int
	}
	onlyRole := func(r string) func(string, bool) int {
		return func(role string, _ bool) int {
			if role == r {
				return 201
			}
			return 403
		}
	}
	// operator reports whether role may hold goods.
	operator := func(role string) bool {
		return role != ledger.RoleAdmin && role != ledger.RoleAuditor && role != ledger.RoleRegulator
	}
	onlyHolder := func(role string, holder bool) int {
		if holder && operator(role) {
			return 201
		}
		return 403
	}
	regulatorHere := func(role string, holder bool) int {
		if role == ledger.RoleRegulator && holder {
			return 201
		}
		return 403
	}
	heldLot := func(role string, holder bool) string {
		if holder && operator(role) {
			return w.lotHeldBy(role)
		}
		return w.lotHeldBy(w.other(role))
	}
	qty := map[string]any{"grams": 1000}
	cells := map[string]cell{
		"declared": {func(role string, holder bool) map[string]any { return declaredEvent() }, onlyRole(ledger.RoleImporter)},
		"documents_added": {func(role string, holder bool) map[string]any {
			return map[string]any{"kind": "documents_added", "lot": heldLot(role, holder), "attachments": w.ref(ledger.DocQuarantineCertificate)}
		}, onlyRole(ledger.RoleImporter)}, // the importer that declared the batch, whoever holds it
		"tested": {func(role string, holder bool) map[string]any {
			return map[string]any{"kind": "tested", "lot": heldLot(role, holder), "samples": 3, "scope": []string{"goods"}, "result": "negative"}
		}, onlyRole(ledger.RoleLab)},
		"disinfected": {func(role string, holder bool) map[string]any {
			return map[string]any{"kind": "disinfected", "lot": heldLot(role, holder), "scope": []string{"container"}, "agent": "过氧乙酸"}
		}, func(role string, holder bool) int {
			if role == ledger.RoleDisinfector || (holder && operator(role)) {
				return 201
			}
			return 403
		}},
		"released": {func(role string, holder bool) map[string]any {
			return map[string]any{"kind": "released", "lot": heldLot(role, holder), "attachments": w.ref(ledger.DocReleaseCertificate)}
		}, func(role string, holder bool) int {
			if role == ledger.RoleSupervisionWarehouse && holder {
				return 201
			}
			return 403
		}},
		"shipped": {func(role string, holder bool) map[string]any {
			return map[string]any{"kind": "shipped", "lot": heldLot(role, holder), "to_org": w.orgs[ledger.RoleRetailer], "to_site": w.sites[ledger.RoleRetailer], "quantity": qty}
		}, onlyHolder},
		"received": {func(role string, holder bool) map[string]any {
			code := w.lotHeldBy(ledger.RoleImporter)
			to := role
			if !holder || !operator(role) || role == ledger.RoleImporter {
				to = w.other(role)
			}
			shipped := w.event(ledger.RoleImporter, map[string]any{"kind": "shipped", "lot": code, "to_org": w.orgs[to], "to_site": w.sites[to], "quantity": qty})
			code = shipped.CreatedLots[0].TraceCode
			site := w.sites[role]
			if !operator(role) {
				site = w.sites[to]
			}
			return map[string]any{"kind": "received", "lot": code, "site": site, "quantity": qty}
		}, func(role string, holder bool) int {
			if holder && operator(role) && role != ledger.RoleImporter {
				return 201
			}
			return 403
		}},
		"transformed": {func(role string, holder bool) map[string]any {
			site := w.sites[role]
			if !operator(role) {
				site = "S-importer"
			}
			return map[string]any{"kind": "transformed", "site": site,
				"inputs":  []map[string]any{{"lot": heldLot(role, holder), "quantity": qty}},
				"outputs": []map[string]any{{"product": map[string]any{"name": "牛肉丸", "hs_code": "1602501000", "category": "frozen"}, "quantity": qty}}}
		}, func(role string, holder bool) int {
			if role == ledger.RoleProcessor && holder {
				return 201
			}
			return 403
		}},
		"sold": {func(role string, holder bool) map[string]any {
			return map[string]any{"kind": "sold", "lot": heldLot(role, holder), "quantity": qty, "channel": "retail"}
		}, onlyHolder},
		"consumed": {func(role string, holder bool) map[string]any {
			return map[string]any{"kind": "consumed", "lot": heldLot(role, holder), "quantity": qty}
		}, onlyHolder},
		"destroyed": {func(role string, holder bool) map[string]any {
			return map[string]any{"kind": "destroyed", "lot": heldLot(role, holder), "quantity": qty, "method": "incineration"}
		}, onlyHolder},
		"sealed": {func(role string, holder bool) map[string]any {
			return map[string]any{"kind": "sealed", "lot": heldLot(role, holder), "reason": "抽检"}
		}, regulatorHere},
		"unsealed": {func(role string, holder bool) map[string]any {
			code := heldLot(role, holder)
			w.event(ledger.RoleRegulator, map[string]any{"kind": "sealed", "lot": code, "reason": "抽检"})
			return map[string]any{"kind": "unsealed", "lot": code, "reason": "复检合格"}
		}, regulatorHere},
		"temperature_recorded": {func(role string, holder bool) map[string]any {
			return map[string]any{"kind": "temperature_recorded", "lot": heldLot(role, holder), "min_c": -20, "max_c": -18.5, "readings": 10,
				"attachments": w.ref(ledger.DocTemperatureLog)}
		}, onlyHolder},
		"site_tested": {func(role string, holder bool) map[string]any {
			return map[string]any{"kind": "site_tested", "site": "S-cold_store", "scope": []string{"environment"}, "samples": 5, "positives": 0}
		}, onlyRole(ledger.RoleLab)},
		"site_disinfected": {func(role string, holder bool) map[string]any {
			site := "S-" + w.other(role)
			if holder && operator(role) {
				site = w.sites[role]
			}
			return map[string]any{"kind": "site_disinfected", "site": site, "agent": "过氧乙酸"}
		}, func(role string, holder bool) int {
			if role == ledger.RoleDisinfector || (holder && operator(role)) {
				return 201
			}
			return 403
		}},
		"worker_tests_scheduled": {func(role string, holder bool) map[string]any {
			site := "S-" + w.other(role)
			if holder && operator(role) {
				site = w.sites[role]
			}
			return map[string]any{"kind": "worker_tests_scheduled", "site": site, "people": []map[string]string{{"role": "porter", "name": "王五"}}}
		}, func(role string, holder bool) int {
			if holder && (operator(role) || role == ledger.RoleRegulator) {
				return 201
			}
			return 403
		}},
		"voided": {func(role string, holder bool) map[string]any {
			code := heldLot(role, holder) // its latest record is the holder's receipt (or declaration)
			var l ledger.Lot
			w.h.admin.do("GET", "/v1/lots/"+code, nil).want(200).JSON(&l)
			return map[string]any{"kind": "voided", "voids": l.LastSeq, "reason": "录入错误"}
		}, func(role string, holder bool) int {
			if holder && (operator(role) || role == ledger.RoleRegulator) {
				return 201
			}
			return 403
		}},
		"finding_closed": {func(role string, holder bool) map[string]any {
			r := w.event(ledger.RoleImporter, map[string]any{"kind": "sold", "lot": w.lotHeldBy(ledger.RoleImporter), "quantity": qty, "channel": "retail"})
			if len(r.Findings) == 0 {
				t.Fatal("selling an uncleared lot opened no finding")
			}
			return map[string]any{"kind": "finding_closed", "finding": r.Findings[0].ID, "reason": "已责令整改"}
		}, regulatorHere},
		"finding_acknowledged": {func(role string, holder bool) map[string]any {
			r := w.event(ledger.RoleImporter, map[string]any{"kind": "sold", "lot": w.lotHeldBy(ledger.RoleImporter), "quantity": qty, "channel": "retail"})
			if len(r.Findings) == 0 {
				t.Fatal("selling an uncleared lot opened no finding")
			}
			return map[string]any{"kind": "finding_acknowledged", "finding": r.Findings[0].ID}
		}, regulatorHere},
		"finding_assigned": {func(role string, holder bool) map[string]any {
			r := w.event(ledger.RoleImporter, map[string]any{"kind": "sold", "lot": w.lotHeldBy(ledger.RoleImporter), "quantity": qty, "channel": "retail"})
			if len(r.Findings) == 0 {
				t.Fatal("selling an uncleared lot opened no finding")
			}
			return map[string]any{"kind": "finding_assigned", "finding": r.Findings[0].ID, "region": "3301"}
		}, regulatorHere},
		"notice_issued": {func(role string, holder bool) map[string]any {
			r := w.event(ledger.RoleImporter, map[string]any{"kind": "sold", "lot": w.lotHeldBy(ledger.RoleImporter), "quantity": qty, "channel": "retail"})
			if len(r.Findings) == 0 {
				t.Fatal("selling an uncleared lot opened no finding")
			}
			var a struct{ SHA256 string }
			w.keys[ledger.RoleRegulator].do("POST", "/v1/attachments", "%PDF-1.4\n% notice "+r.Findings[0].ID+"\n", "Content-Type", "application/pdf").want(201).JSON(&a)
			return map[string]any{"kind": "notice_issued", "finding": r.Findings[0].ID, "deadline": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339),
				"attachments": []map[string]any{{"sha256": a.SHA256, "type": "rectification_notice"}}}
		}, regulatorHere},
	}
	captured := 0
	cells["epcis_captured"] = cell{func(string, bool) map[string]any {
		captured++
		return map[string]any{"kind": "epcis_captured", "epcis": map[string]any{"event": map[string]any{
			"type": "ObjectEvent", "eventTime": "2026-01-01T00:00:00Z", "eventTimeZoneOffset": "+08:00", "action": "OBSERVE",
			"epcList": []string{fmt.Sprintf("urn:epc:id:sgtin:0614141.107346.%d", captured)}}}}
	}, func(role string, _ bool) int {
		if role == ledger.RoleAdmin || role == ledger.RoleAuditor {
			return 403
		}
		return 201
	}}
	kinds := ledger.LotEventKinds()
	if len(kinds) != len(cells) {
		t.Fatalf("%d event kinds but %d in the matrix: every kind must be in it", len(kinds), len(cells))
	}
	var wrong []string
	for _, kind := range kinds {
		c, ok := cells[string(kind)]
		if !ok {
			t.Fatalf("kind %s is not in the matrix", kind)
		}
		for _, role := range allRoles {
			for _, holder := range []bool{true, false} {
				ev := c.prepare(role, holder)
				before := w.h.l.Size()
				key := w.keys[role]
				if role == ledger.RoleRegulator && !holder {
					key = w.outside
				}
				r := key.do("POST", "/v1/events", ev)
				want := c.want(role, holder)
				if r.Status != want {
					wrong = append(wrong, fmt.Sprintf("%s by %s (holder %v): %d, want %d: %s", kind, role, holder, r.Status, want, r.Body))
				}
				if r.Status != 201 && w.h.l.Size() != before {
					wrong = append(wrong, fmt.Sprintf("%s by %s (holder %v) was refused but recorded", kind, role, holder))
				}
			}
		}
	}
	if len(wrong) > 0 {
		t.Fatalf("%d cells of the authority matrix are wrong:\n%s", len(wrong), strings.Join(wrong, "\n"))
	}
}

func TestEventValidationNamesTheField(t *testing.T) {
	w := newWorld(t)
	imp := w.keys[ledger.RoleImporter]
	with := func(change func(ev map[string]any)) map[string]any {
		ev := declaredEvent()
		change(ev)
		return ev
	}
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"container check digit", with(func(ev map[string]any) { ev["containers"] = []map[string]any{{"number": "MSKU9070324"}} }), "containers[0].number"},
		{"declaration number", with(func(ev map[string]any) { ev["declaration_no"] = "12345" }), "declaration_no"},
		{"HS code", with(func(ev map[string]any) { ev["product"].(map[string]any)["hs_code"] = "99x" }), "product.hs_code"},
		{"origin country", with(func(ev map[string]any) { ev["product"].(map[string]any)["origin_country"] = "XX" }), "product.origin_country"},
		{"category", with(func(ev map[string]any) { ev["product"].(map[string]any)["category"] = "warm" }), "product.category"},
		{"grams", with(func(ev map[string]any) { ev["quantity"] = map[string]any{"grams": 0} }), "quantity.grams"},
		{"fractional grams", with(func(ev map[string]any) { ev["quantity"] = map[string]any{"grams": 1.5} }), "quantity.grams"},
		{"future", with(func(ev map[string]any) { ev["at"] = time.Now().Add(time.Hour).Format(time.RFC3339) }), "at"},
		{"not RFC 3339", with(func(ev map[string]any) { ev["at"] = "2026/11/01 10:00" }), "at"},
		{"field of another kind", with(func(ev map[string]any) { ev["samples"] = 3 }), "samples"},
		{"unknown field", with(func(ev map[string]any) { ev["price"] = 12 }), "price"},
		{"unknown kind", map[string]any{"kind": "teleported"}, "kind"},
		{"registry kind", map[string]any{"kind": "org_registered"}, "kind"},
		{"system kind", map[string]any{"kind": "transit_overdue"}, "kind"},
		{"plate", map[string]any{"kind": "shipped", "lot": "X", "to_org": w.orgs["retailer"], "to_site": "S-retailer", "quantity": map[string]any{"grams": 1}, "vehicle": map[string]any{"plate": "AB12345"}}, "vehicle.plate"},
		{"lot missing", map[string]any{"kind": "sold", "quantity": map[string]any{"grams": 1}, "channel": "retail"}, "lot"},
		{"attachment hash", with(func(ev map[string]any) { ev["attachments"] = []map[string]any{{"sha256": "abc", "type": "other"}} }), "attachments[0].sha256"},
		{"attachment type", with(func(ev map[string]any) {
			ev["attachments"] = []map[string]any{{"sha256": w.docs[ledger.DocQuarantineCertificate], "type": "love_letter"}}
		}), "attachments[0].type"},
	}
	before := w.h.l.Size()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			imp.do("POST", "/v1/events", c.body).wantProblem(400, "invalid", c.field)
		})
	}
	// Refused by state, not by shape: 422 naming the field.
	imp.do("POST", "/v1/events", with(func(ev map[string]any) { ev["site"] = "NO-SUCH-SITE" })).wantProblem(422, "rejected", "site")
	imp.do("POST", "/v1/events", with(func(ev map[string]any) {
		ev["attachments"] = []map[string]any{{"sha256": strings.Repeat("ab", 32), "type": "other"}}
	})).wantProblem(422, "rejected", "attachments[0].sha256")
	imp.do("POST", "/v1/events", map[string]any{"kind": "sold", "lot": "ZZZZ-ZZZZ-ZZZZ", "quantity": map[string]any{"grams": 1}, "channel": "retail"}).wantProblem(422, "rejected", "lot")
	if w.h.l.Size() != before {
		t.Fatalf("refused events were recorded: size %d, was %d", w.h.l.Size(), before)
	}
	code := w.lotHeldBy(ledger.RoleImporter)
	imp.do("POST", "/v1/events", map[string]any{"kind": "sold", "lot": code, "quantity": map[string]any{"grams": 10_000_001}, "channel": "retail"}).wantProblem(422, "rejected", "quantity.grams")
	// Receiving a lot not shipped to you is refused for authority, before
	// anything about the lot (that it is not in transit) is said.
	imp.do("POST", "/v1/events", map[string]any{"kind": "received", "lot": code, "site": "S-importer", "quantity": map[string]any{"grams": 1}}).wantProblem(403, "forbidden", "")
}

func TestEventsLotsFindingsOverHTTP(t *testing.T) {
	w := newWorld(t)
	imp, cs, reg := w.keys[ledger.RoleImporter], w.keys[ledger.RoleColdStore], w.keys[ledger.RoleRegulator]
	ev := declaredEvent()
	ev["attachments"] = w.ref(ledger.DocQuarantineCertificate)
	var r ledger.Receipt
	rr := imp.do("POST", "/v1/events", ev, "Idempotency-Key", "decl-1").want(201)
	rr.JSON(&r)
	if len(r.CreatedLots) != 1 || r.TraceCode == "" || r.Lot != r.CreatedLots[0].ID || r.Checkpoint.Size != r.Seq+1 {
		t.Fatalf("receipt %+v", r)
	}
	if rr.Header.Get("Location") != fmt.Sprintf("/v1/events/%d", r.Seq) {
		t.Errorf("Location %q", rr.Header.Get("Location"))
	}
	again := imp.do("POST", "/v1/events", ev, "Idempotency-Key", "decl-1").want(201)
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("retry not replayed")
	}
	// A partial shipment makes a child lot; the cold store receives less.
	var ship ledger.Receipt
	imp.do("POST", "/v1/events", map[string]any{"kind": "shipped", "lot": strings.ToLower(strings.ReplaceAll(r.TraceCode, "-", "")), "to_org": w.orgs["cold_store"], "to_site": "S-cold_store",
		"quantity": map[string]any{"grams": 4_000_000}, "vehicle": map[string]any{"plate": "浙A12345"}, "temperature_c": -19}).want(201).JSON(&ship)
	if len(ship.CreatedLots) != 1 {
		t.Fatalf("partial shipment created %d lots", len(ship.CreatedLots))
	}
	child := ship.CreatedLots[0].TraceCode
	var recv ledger.Receipt
	cs.do("POST", "/v1/events", map[string]any{"kind": "received", "lot": child, "site": "S-cold_store", "quantity": map[string]any{"grams": 3_990_000}, "temperature_c": -12}).want(201).JSON(&recv)
	if len(recv.Findings) != 2 {
		t.Fatalf("short and warm receipt opened %+v, want short_receipt and temperature_excursion", recv.Findings)
	}

	var parent, lot ledger.Lot
	imp.do("GET", "/v1/lots/"+r.TraceCode, nil).want(200).JSON(&parent)
	if parent.Quantity.OnHand != 6_000_000 || parent.Quantity.Split != 4_000_000 || len(parent.Children) != 1 {
		t.Errorf("parent after the split: %+v children %v", parent.Quantity, parent.Children)
	}
	cs.do("GET", "/v1/lots/"+child, nil).want(200).JSON(&lot)
	if lot.Quantity.OnHand != 3_990_000 || lot.Quantity.Lost != 10_000 || lot.Holder != w.orgs["cold_store"] || lot.Parents[0] != parent.ID {
		t.Errorf("child: %+v holder %s parents %v", lot.Quantity, lot.Holder, lot.Parents)
	}
	// The retailer never touched it.
	w.keys["retailer"].do("GET", "/v1/lots/"+child, nil).wantProblem(403, "forbidden", "")
	imp.do("GET", "/v1/lots/NOPE-NOPE-NOPE", nil).wantProblem(404, "not_found", "")

	var hist struct {
		Events []json.RawMessage `json:"events"`
	}
	cs.do("GET", "/v1/lots/"+child+"/events", nil).want(200).JSON(&hist)
	if len(hist.Events) != 2 {
		t.Fatalf("child history has %d records, want shipped and received", len(hist.Events))
	}
	cs.do("GET", fmt.Sprintf("/v1/events/%d", recv.Seq), nil).want(200)
	w.keys["retailer"].do("GET", fmt.Sprintf("/v1/events/%d", recv.Seq), nil).wantProblem(403, "forbidden", "")
	cs.do("GET", "/v1/events/99999", nil).wantProblem(404, "not_found", "")
	cs.do("GET", "/v1/events/x", nil).wantProblem(400, "invalid", "seq")

	var fs struct {
		Findings []struct {
			ledger.Finding
			Explanation string `json:"explanation"`
		} `json:"findings"`
		Next string `json:"next_cursor"`
	}
	reg.do("GET", "/v1/findings?region=33&open=true&limit=1", nil).want(200).JSON(&fs)
	if len(fs.Findings) != 1 || fs.Next == "" || fs.Findings[0].Explanation == "" {
		t.Fatalf("first page %+v", fs)
	}
	first := fs.Findings[0].ID
	reg.do("GET", "/v1/findings?region=33&cursor="+fs.Next, nil).want(200).JSON(&fs)
	if len(fs.Findings) != 1 || fs.Findings[0].ID == first {
		t.Fatalf("second page %+v", fs)
	}
	reg.do("GET", "/v1/findings?rule=short_receipt", nil).want(200).JSON(&fs)
	if len(fs.Findings) != 1 || fs.Findings[0].Rule != "short_receipt" {
		t.Fatalf("by rule: %+v", fs.Findings)
	}
	reg.do("GET", "/v1/findings?region=44", nil).wantProblem(403, "forbidden", "")
	reg.do("GET", "/v1/findings?rule=nonsense", nil).wantProblem(400, "invalid", "rule")
	reg.do("GET", "/v1/findings?open=maybe", nil).wantProblem(400, "invalid", "open")
	cs.do("GET", "/v1/findings", nil).want(200).JSON(&fs)
	if len(fs.Findings) != 2 {
		t.Errorf("the cold store sees %d findings about its lot, want 2", len(fs.Findings))
	}
	w.keys["retailer"].do("GET", "/v1/findings", nil).want(200).JSON(&fs)
	if len(fs.Findings) != 0 {
		t.Errorf("the retailer sees %d findings about others' lots", len(fs.Findings))
	}
}

func TestBatchOverHTTP(t *testing.T) {
	w := newWorld(t)
	code := w.lotHeldBy(ledger.RoleImporter)
	lines := []string{
		`{"kind":"tested","lot":"` + code + `","samples":3,"scope":["goods"],"result":"negative"}`,
		`{"kind":"sold","lot":"` + code + `","quantity":{"grams":1000},"channel":"nowhere"}`,
		`{"kind":"tested","lot":"` + code + `","samples":2,"scope":["packaging"],"result":"negative"}`,
		`{not json`,
	}
	r := w.keys[ledger.RoleLab].do("POST", "/v1/events/batch", strings.Join(lines, "\n")+"\n", "Content-Type", "application/x-ndjson").want(200)
	out := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	if len(out) != 4 {
		t.Fatalf("%d answer lines for 4 events: %s", len(out), r.Body)
	}
	var r0, r2 ledger.Receipt
	json.Unmarshal([]byte(out[0]), &r0)
	json.Unmarshal([]byte(out[2]), &r2)
	if r0.Seq == 0 || r2.Seq != r0.Seq+1 {
		t.Errorf("receipts out of order: %s / %s", out[0], out[2])
	}
	for _, i := range []int{1, 3} {
		var p struct{ Status int }
		json.Unmarshal([]byte(out[i]), &p)
		if p.Status != 400 && p.Status != 403 {
			t.Errorf("line %d: %s, want a problem", i, out[i])
		}
	}
}

// TestBatchIdempotency: a batch retried with its Idempotency-Key replays the
// recorded lines and records nothing; the same key with another body is a
// 409 that records nothing; a line's own idempotency_key is the same key as
// the header of a single event.
func TestBatchIdempotency(t *testing.T) {
	w := newWorld(t)
	code := w.lotHeldBy(ledger.RoleImporter)
	lab := w.keys[ledger.RoleLab]
	at := time.Now().Add(time.Minute).UTC().Format(time.RFC3339) // after the lot, within the clock skew allowed
	lines := []string{
		`{"kind":"tested","at":"` + at + `","lot":"` + code + `","samples":3,"scope":["goods"],"result":"negative"}`,
		`{"kind":"sold","lot":"` + code + `","quantity":{"grams":1000},"channel":"nowhere"}`,
		`{"kind":"tested","at":"` + at + `","lot":"` + code + `","samples":2,"scope":["packaging"],"result":"negative"}`,
	}
	body := strings.Join(lines, "\n") + "\n"
	post := func(body, key string) *response {
		return lab.do("POST", "/v1/events/batch", body, "Content-Type", "application/x-ndjson", "Idempotency-Key", key)
	}
	first := post(body, "b-1").want(200)
	size := w.h.l.Size()
	again := post(body, "b-1").want(200)
	if w.h.l.Size() != size {
		t.Fatalf("a retried batch was recorded again: size %d -> %d", size, w.h.l.Size())
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("a replayed batch does not say so")
	}
	a, b := strings.Split(strings.TrimSpace(string(first.Body)), "\n"), strings.Split(strings.TrimSpace(string(again.Body)), "\n")
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("answers: %s / %s", first.Body, again.Body)
	}
	for _, i := range []int{0, 2} {
		var r1, r2 ledger.Receipt
		json.Unmarshal([]byte(a[i]), &r1)
		json.Unmarshal([]byte(b[i]), &r2)
		if r1.Seq == 0 || r1.Seq != r2.Seq || r1.ID != r2.ID || r1.Checkpoint != r2.Checkpoint || !r2.Replayed {
			t.Errorf("line %d: first %s, retry %s", i, a[i], b[i])
		}
	}
	if a[1] != b[1] {
		t.Errorf("the refused line answers differently: %s / %s", a[1], b[1])
	}
	// The same key with another body: 409, nothing recorded.
	changed := strings.Replace(body, `"samples":3`, `"samples":4`, 1)
	post(changed, "b-1").wantProblem(409, "conflict", "")
	post(strings.Join(lines[:1], "\n"), "b-1").wantProblem(409, "conflict", "")
	if w.h.l.Size() != size {
		t.Fatalf("a conflicting batch was recorded: size %d -> %d", size, w.h.l.Size())
	}
	// Another key records the batch anew.
	post(body, "b-2").want(200)
	if w.h.l.Size() != size+2 {
		t.Fatalf("size %d after a new key, want %d", w.h.l.Size(), size+2)
	}

	// A line's own key is the key of the single event.
	size = w.h.l.Size()
	ev := `{"kind":"tested","at":"` + at + `","lot":"` + code + `","samples":5,"scope":["goods"],"result":"negative"}`
	keyed := strings.TrimSuffix(ev, "}") + `,"idempotency_key":"line-7"}`
	out := lab.do("POST", "/v1/events/batch", keyed+"\n", "Content-Type", "application/x-ndjson").want(200)
	var rb, rs ledger.Receipt
	json.Unmarshal(out.Body, &rb)
	single := lab.do("POST", "/v1/events", ev, "Idempotency-Key", "line-7").want(201)
	single.JSON(&rs)
	if rb.Seq == 0 || rs.Seq != rb.Seq || !rs.Replayed || w.h.l.Size() != size+1 {
		t.Fatalf("batch line %s, then the event alone with its key %s; size %d -> %d", out.Body, single.Body, size, w.h.l.Size())
	}
	lab.do("POST", "/v1/events", strings.Replace(ev, `"samples":5`, `"samples":6`, 1), "Idempotency-Key", "line-7").wantProblem(409, "conflict", "")
	// idempotency_key is a member of batch lines only.
	lab.do("POST", "/v1/events", keyed).wantProblem(400, "invalid", "idempotency_key")
}

// TestDuplicateKeysRefused: a JSON object naming a member twice is a 400
// naming it, in single requests and in batch lines, and nothing is recorded.
func TestDuplicateKeysRefused(t *testing.T) {
	w := newWorld(t)
	code := w.lotHeldBy(ledger.RoleImporter)
	size := w.h.l.Size()
	w.h.admin.do("POST", "/v1/orgs", `{"uscc":"`+fixtures.USCC("330106", 9)+`","name":"a","name":"b","roles":["importer"],"region":"330100"}`).
		wantProblem(400, "invalid", "name")
	imp := w.keys[ledger.RoleImporter]
	imp.do("POST", "/v1/events", `{"kind":"consumed","lot":"`+code+`","quantity":{"grams":1,"grams":1000000}}`).
		wantProblem(400, "invalid", "quantity.grams")
	out := imp.do("POST", "/v1/events/batch", `{"kind":"consumed","lot":"`+code+`","lot":"X","quantity":{"grams":1}}`+"\n",
		"Content-Type", "application/x-ndjson").want(200)
	if !strings.Contains(string(out.Body), `"field":"lot"`) || !strings.Contains(string(out.Body), `"status":400`) {
		t.Errorf("batch line with a duplicate key: %s", out.Body)
	}
	if w.h.l.Size() != size {
		t.Fatalf("a body with duplicate keys was recorded: size %d -> %d", size, w.h.l.Size())
	}
}

// fieldProblem decodes a problem's first field error with its Chinese.
func fieldProblem(t *testing.T, r *response, status int, field string) (msg, zh string) {
	t.Helper()
	r.wantProblem(status, map[int]string{400: "invalid", 409: "conflict"}[status], field)
	var p struct {
		RequestID string `json:"request_id"`
		Errors    []struct {
			Field, Message string
			MessageZH      string `json:"message_zh"`
		}
	}
	r.JSON(&p)
	if p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-Id") {
		t.Errorf("problem without the request id %q: %s", r.Header.Get("X-Request-Id"), r.Body)
	}
	if p.Errors[0].MessageZH == "" || strings.HasPrefix(p.Errors[0].MessageZH, "字段有误") {
		t.Errorf("field %s has no Chinese message of its own: %s", field, r.Body)
	}
	return p.Errors[0].Message, p.Errors[0].MessageZH
}

// TestStrictInput: deceptive text, look-alike ids, repeated list entries,
// foreign cursors and badly typed fields are refused with the field named
// in English and Chinese, and nothing is recorded.
func TestStrictInput(t *testing.T) {
	w := newWorld(t)
	admin, imp := w.h.admin, w.keys[ledger.RoleImporter]
	code := w.lotHeldBy(ledger.RoleImporter)
	size := w.h.l.Size()

	for _, name := range []string{"Good\u202eFood", "A\u200bB", "X\u0085Y", "\u2066Z"} {
		fieldProblem(t, admin.do("POST", "/v1/orgs", map[string]any{"uscc": fixtures.USCC("330106", 9), "name": name, "roles": []string{"importer"}, "region": "330106"}), 400, "name")
	}
	admin.do("POST", "/v1/sites", map[string]any{"id": "COLD-9", "org": w.orgs[ledger.RoleImporter], "name": "冷库", "type": "cold_store", "region": "330106"}).want(201)
	size++
	for _, id := range []string{"cold-9", "COLD-9.", "Cold-9-"} {
		fieldProblem(t, admin.do("POST", "/v1/sites", map[string]any{"id": id, "org": w.orgs[ledger.RoleImporter], "name": "冷库", "type": "cold_store", "region": "330106"}), 409, "id")
	}
	// 1,000 copies of one region are one region; 2,000 are refused.
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "33"
		}
		return out
	}
	var k struct{ Regions []string }
	admin.do("POST", "/v1/keys", map[string]any{"org": w.orgs[ledger.RoleRegulator], "role": "regulator", "regions": many(1000)}).want(201).JSON(&k)
	size++
	if len(k.Regions) != 1 {
		t.Errorf("regions stored as %v", k.Regions)
	}
	fieldProblem(t, admin.do("POST", "/v1/keys", map[string]any{"org": w.orgs[ledger.RoleRegulator], "role": "regulator", "regions": many(2000)}), 400, "regions")

	fieldProblem(t, admin.do("GET", "/v1/findings?cursor=zzz", nil), 400, "cursor")
	fieldProblem(t, admin.do("GET", "/v1/lots?cursor=garbage", nil), 400, "cursor")

	msg, zh := fieldProblem(t, imp.do("POST", "/v1/events", map[string]any{"kind": "shipped", "lot": code, "to_org": w.orgs[ledger.RoleColdStore],
		"to_site": w.sites[ledger.RoleColdStore], "quantity": map[string]any{"grams": 1000}, "deadline": "tomorrow"}), 400, "deadline")
	if !strings.Contains(msg, "RFC 3339") || !strings.Contains(zh, "RFC 3339") {
		t.Errorf("bad deadline: %q / %q", msg, zh)
	}
	ev := declaredEvent()
	ev["quantity"] = map[string]any{"grams": 1.5}
	msg, zh = fieldProblem(t, imp.do("POST", "/v1/events", ev), 400, "quantity.grams")
	if msg != "must be a whole number of grams" || !strings.Contains(zh, "整数") {
		t.Errorf("1.5 grams: %q / %q", msg, zh)
	}
	if w.h.l.Size() != size {
		t.Fatalf("refused input was recorded: size %d, want %d", w.h.l.Size(), size)
	}
}
