package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"coldtrace/api"
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

func newWorld(t *testing.T) *world {
	h := newHarness(t, api.Options{})
	w := &world{h: h, orgs: map[string]string{}, sites: map[string]string{}, keys: map[string]*client{"admin": h.admin}, docs: map[string]string{}}
	for i, role := range ledger.OrgRoles {
		uscc := testUSCC(100 + i)
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
		}, onlyHolder},
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
	}
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
