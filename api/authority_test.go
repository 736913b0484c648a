package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// demoWorld is the demo data set (Shanghai, Zhejiang, Guangdong, Henan)
// behind a real server.
type demoWorld struct {
	h    *harness
	demo *fixtures.Demo
}

func newDemoWorld(t *testing.T) *demoWorld {
	h := newHarness(t, api.Options{})
	admin, err := h.l.Authenticate(t.Context(), adminSecret)
	if err != nil {
		t.Fatal(err)
	}
	d, err := fixtures.LoadDemo(context.Background(), h.l, admin)
	if err != nil {
		t.Fatal(err)
	}
	return &demoWorld{h: h, demo: d}
}

func (w *demoWorld) key(name string) *client {
	a, ok := w.demo.Actor(name)
	if !ok {
		w.h.t.Fatalf("no demo actor %s", name)
	}
	return w.h.client(a.Secret)
}

func (w *demoWorld) org(name string) string {
	a, _ := w.demo.Actor(name)
	return a.Org
}

// upload uploads a PDF as the named actor and returns its SHA-256.
func (w *demoWorld) upload(name, text string) string {
	var a struct{ SHA256 string }
	w.key(name).do("POST", "/v1/attachments", "%PDF-1.4\n% "+text+"\n", "Content-Type", "application/pdf").want(201).JSON(&a)
	return a.SHA256
}

func (w *demoWorld) event(name string, ev map[string]any) ledger.Receipt {
	w.h.t.Helper()
	var r ledger.Receipt
	w.key(name).do("POST", "/v1/events", ev).want(201).JSON(&r)
	return r
}

type lotView struct {
	ledger.Lot
	Papers []ledger.Paper `json:"papers"`
}

func (w *demoWorld) lot(name, ref string) lotView {
	w.h.t.Helper()
	var l lotView
	w.key(name).do("GET", "/v1/lots/"+ref, nil).want(200).JSON(&l)
	return l
}

func kgs(n int64) map[string]any { return map[string]any{"grams": n * 1000} }

// cleanLotInShanghai declares 10 t of beef with its papers, disinfects
// each piece, takes it into Shanghai's supervision warehouse, tests it there
// and releases it: a lot cleared by the book at SH-JGC-MH (region 31). It
// returns the lot's trace code and the seq of the test that counts.
func (w *demoWorld) cleanLotInShanghai(t0 time.Time) (string, int64) {
	at := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	decl := w.event("sh-importer", map[string]any{"kind": "declared", "at": at(0), "site": "SH-YS-PORT", "declaration_no": "224820269000000077",
		"product":    map[string]any{"name": "冷冻牛腩", "hs_code": "0202300090", "category": "frozen", "origin_country": "AR"},
		"containers": []map[string]any{{"number": "MSKU9070323"}}, "quantity": kgs(10000),
		"attachments": []map[string]string{{"sha256": w.upload("sh-importer", "quarantine 77"), "type": "quarantine_certificate"},
			{"sha256": w.upload("sh-importer", "customs 77"), "type": "customs_declaration"}}})
	w.event("sh-disinfector", map[string]any{"kind": "disinfected", "at": at(1), "lot": decl.TraceCode, "scope": []string{"outer_packaging", "each_piece"}, "agent": "过氧乙酸",
		"attachments": []map[string]string{{"sha256": w.upload("sh-disinfector", "disinfection 77"), "type": "disinfection_certificate"}}})
	w.event("sh-importer", map[string]any{"kind": "shipped", "at": at(2), "lot": decl.TraceCode, "to_org": w.org("sh-warehouse"), "to_site": "SH-JGC-MH", "quantity": kgs(10000)})
	w.event("sh-warehouse", map[string]any{"kind": "received", "at": at(4), "lot": decl.TraceCode, "site": "SH-JGC-MH", "quantity": kgs(10000)})
	test := w.event("sh-lab", map[string]any{"kind": "tested", "at": at(5), "lot": decl.TraceCode, "samples": 10, "scope": []string{"goods", "packaging"}, "result": "negative",
		"attachments": []map[string]string{{"sha256": w.upload("sh-lab", "report 77"), "type": "test_report"}}})
	w.event("sh-warehouse", map[string]any{"kind": "released", "at": at(6), "lot": decl.TraceCode,
		"attachments": []map[string]string{{"sha256": w.upload("sh-warehouse", "release 77"), "type": "release_certificate"}}})
	return decl.TraceCode, test.Seq
}

// TestJurisdictionOverHTTP: a regulator acts only where the goods are, a
// seal is lifted only by its region or above, and a finding is closed by its
// region or the lot's.
func TestJurisdictionOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	root, _ := w.cleanLotInShanghai(t0)
	// 4 t to the Hangzhou market (330105) as a child lot.
	ship := w.event("sh-warehouse", map[string]any{"kind": "shipped", "at": t0.Add(8 * time.Hour).Format(time.RFC3339), "lot": root,
		"to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(4000)})
	child := ship.CreatedLots[0].TraceCode

	// In transit: both ends answer for it; Guangdong does not.
	w.key("gd-regulator").do("POST", "/v1/events", map[string]any{"kind": "sealed", "lot": child, "reason": "协查"}).wantProblem(403, "forbidden", "")
	w.event("sh-regulator", map[string]any{"kind": "sealed", "lot": child, "reason": "在途抽检"})
	// The seal is Shanghai's: Zhejiang, the other end, may not lift it.
	w.key("zj-regulator").do("POST", "/v1/events", map[string]any{"kind": "unsealed", "lot": child, "reason": "x"}).wantProblem(403, "forbidden", "")
	w.event("sh-regulator", map[string]any{"kind": "unsealed", "lot": child, "reason": "抽检合格"})
	if w.lot("zj-regulator", child).Status.Sealed {
		t.Fatal("the unseal did not lift the seal")
	}

	w.event("zj-market", map[string]any{"kind": "received", "at": t0.Add(14 * time.Hour).Format(time.RFC3339), "lot": child, "site": "ZJ-MKT-GS", "quantity": kgs(4000)})

	// At the Hangzhou market: Shanghai, where it came from, no longer acts.
	r := w.key("sh-regulator").do("POST", "/v1/events", map[string]any{"kind": "sealed", "lot": child, "reason": "抽检"})
	r.wantProblem(403, "forbidden", "")
	if p := r.problem(); !strings.Contains(p.Detail, "330105") {
		t.Errorf("the refusal does not say which region would be needed: %s", p.Detail)
	}
	seal := w.event("zj-regulator", map[string]any{"kind": "sealed", "lot": child, "reason": "抽检"})
	var rec ledger.Record
	w.key("zj-regulator").do("GET", "/v1/events/"+itoa(seal.Seq), nil).want(200).JSON(&rec)
	if rec.Region != "33" {
		t.Errorf("the seal records region %q, want 33", rec.Region)
	}
	// A city key (made by the province) may not lift the province's seal.
	hz := w.delegate("zj-regulator", "zj-regulator", []string{"3301"})
	hz.do("POST", "/v1/events", map[string]any{"kind": "unsealed", "lot": child, "reason": "x"}).wantProblem(403, "forbidden", "")
	w.key("sh-regulator").do("POST", "/v1/events", map[string]any{"kind": "unsealed", "lot": child, "reason": "x"}).wantProblem(403, "forbidden", "")
	w.event("zj-regulator", map[string]any{"kind": "unsealed", "lot": child, "reason": "复检合格"})
	// The city's own seal is lifted by the city or the province above it.
	hz.do("POST", "/v1/events", map[string]any{"kind": "sealed", "lot": child, "reason": "市局抽检"}).want(201)
	w.event("zj-regulator", map[string]any{"kind": "unsealed", "lot": child, "reason": "省局复核"})

	// Voids: only the region where the goods are.
	sale := w.event("zj-market", map[string]any{"kind": "sold", "lot": child, "quantity": kgs(1000), "channel": "retail"})
	w.key("sh-regulator").do("POST", "/v1/events", map[string]any{"kind": "voided", "voids": sale.Seq, "reason": "x"}).wantProblem(403, "forbidden", "")
	w.key("gd-regulator").do("POST", "/v1/events", map[string]any{"kind": "voided", "voids": sale.Seq, "reason": "x"}).wantProblem(403, "forbidden", "")
	w.event("zj-regulator", map[string]any{"kind": "voided", "voids": sale.Seq, "reason": "重复录入"})

	// A finding filed in Shanghai about a lot now in Zhejiang: closed by
	// either, not by Guangdong.
	var fs struct{ Findings []ledger.Finding }
	w.key("sh-regulator").do("GET", "/v1/findings?open=true&region=31", nil).want(200).JSON(&fs)
	if len(fs.Findings) == 0 {
		t.Fatal("no open finding in Shanghai")
	}
	f := fs.Findings[0]
	w.key("gd-regulator").do("POST", "/v1/events", map[string]any{"kind": "finding_closed", "finding": f.ID, "reason": "x"}).wantProblem(403, "forbidden", "")
	w.event("sh-regulator", map[string]any{"kind": "finding_closed", "finding": f.ID, "reason": "已整改"})
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// delegate makes a regulator key for org (an actor's) with regions, created
// by the named regulator; it returns a client of the new key.
func (w *demoWorld) delegate(by, org string, regions []string) *client {
	w.h.t.Helper()
	var k struct{ Key string }
	w.key(by).do("POST", "/v1/keys", map[string]any{"org": w.org(org), "role": "regulator", "regions": regions}).want(201).JSON(&k)
	return w.h.client(k.Key)
}

// TestVoidsAndCorrectionsOverHTTP: a lab may not void its own positive; a
// regulator of the region where the goods are voids an older record, and
// the lots' status follows.
func TestVoidsAndCorrectionsOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	// The demo's positive: Henan's lab found it.
	var evs struct{ Events []ledger.Record }
	w.key("hn-regulator").do("GET", "/v1/events?kind=tested&org="+w.org("hn-lab"), nil).want(200).JSON(&evs)
	var positive *ledger.Record
	for i := range evs.Events {
		if evs.Events[i].Result == "positive" {
			positive = &evs.Events[i]
		}
	}
	if positive == nil {
		t.Fatal("no positive test by Henan's lab in the demo")
	}
	if positive.Region != "410104" {
		t.Errorf("the positive records region %q, want the cold store's 410104", positive.Region)
	}
	before := w.h.l.Size()
	w.key("hn-lab").do("POST", "/v1/events", map[string]any{"kind": "voided", "voids": positive.Seq, "reason": "样本污染"}).wantProblem(403, "forbidden", "")
	if w.h.l.Size() != before {
		t.Fatal("a refused void was recorded")
	}
	// The positive batch stays sealed in Guangdong.
	if !w.lot("gd-regulator", w.demo.Positive).Status.Sealed {
		t.Fatal("the positive batch is no longer sealed")
	}

	// A falsified negative test, under later records: the region where the
	// goods are voids it, and the lot and its child lose the test.
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	root, test := w.cleanLotInShanghai(t0)
	ship := w.event("sh-warehouse", map[string]any{"kind": "shipped", "at": t0.Add(8 * time.Hour).Format(time.RFC3339), "lot": root,
		"to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(4000)})
	child := ship.CreatedLots[0].TraceCode
	w.event("zj-market", map[string]any{"kind": "received", "at": t0.Add(12 * time.Hour).Format(time.RFC3339), "lot": child, "site": "ZJ-MKT-GS", "quantity": kgs(4000)})
	if l := w.lot("sh-regulator", root); !l.Status.Cleared || l.LastTest == nil || l.LastTest.Seq != test {
		t.Fatalf("the clean lot before the correction: cleared %v, last test %+v", l.Status.Cleared, l.LastTest)
	}
	if !w.lot("zj-regulator", child).Status.Cleared {
		t.Fatal("the child is not cleared before the correction")
	}
	// Not the lab (not its latest), not Zhejiang (the test's lot lies in Shanghai).
	w.key("sh-lab").do("POST", "/v1/events", map[string]any{"kind": "voided", "voids": test, "reason": "x"}).wantProblem(422, "rejected", "voids")
	w.key("zj-regulator").do("POST", "/v1/events", map[string]any{"kind": "voided", "voids": test, "reason": "x"}).wantProblem(403, "forbidden", "")
	// A shipment under later records is not voided out of order.
	w.key("sh-regulator").do("POST", "/v1/events", map[string]any{"kind": "voided", "voids": ship.Seq, "reason": "x"}).wantProblem(422, "rejected", "voids")
	void := w.event("sh-regulator", map[string]any{"kind": "voided", "voids": test, "reason": "检测报告系伪造"})
	var findings []string
	for _, f := range void.Findings {
		findings = append(findings, f.Rule)
	}
	if len(findings) != 1 || findings[0] != ledger.RuleVoidedRecord || !strings.Contains(void.Findings[0].Detail, itoa(ship.Seq)) {
		t.Errorf("the correction opened %+v, want a voided_record finding naming the shipment %d", void.Findings, ship.Seq)
	}
	for name, ref := range map[string]string{"sh-regulator": root, "zj-regulator": child} {
		l := w.lot(name, ref)
		if l.Status.Cleared || l.LastTest != nil {
			t.Errorf("%s after the correction: cleared %v, last test %+v", ref, l.Status.Cleared, l.LastTest)
		}
		for _, p := range l.Papers {
			if p.Type == ledger.DocTestReport {
				t.Errorf("%s still lists the voided test's report: %+v", ref, p)
			}
		}
	}
	var hist struct {
		VoidedBy map[string]int64 `json:"voided_by"`
	}
	w.key("sh-regulator").do("GET", "/v1/lots/"+root+"/events", nil).want(200).JSON(&hist)
	if hist.VoidedBy[itoa(test)] != void.Seq {
		t.Errorf("the lot's history does not show the void: %v", hist.VoidedBy)
	}
	// A new negative test clears the lot again.
	w.event("sh-lab", map[string]any{"kind": "tested", "lot": root, "samples": 20, "scope": []string{"goods", "packaging"}, "result": "negative",
		"attachments": []map[string]string{{"sha256": w.upload("sh-lab", "report 78"), "type": "test_report"}}})
	if !w.lot("sh-regulator", root).Status.Cleared {
		t.Error("a real negative test after the correction did not clear the lot")
	}
	if err := w.h.l.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestPapersFollowTheGoodsOverHTTP: a record cites only its own org's
// uploads and only the documents its role issues on its kind; holding goods
// grants their papers down the family, citing grants nothing.
func TestPapersFollowTheGoodsOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	happy := w.lot("sh-importer", w.demo.Happy)
	var cert ledger.Paper
	for _, p := range happy.Papers {
		if p.Type == ledger.DocQuarantineCertificate {
			cert = p
		}
	}
	if cert.SHA256 == "" || cert.Issuer != w.org("sh-importer") || !cert.CanOpen {
		t.Fatalf("the clean batch's quarantine certificate: %+v", cert)
	}
	// The beef balls: made by the processor from a lot three shipments below
	// the import (port -> warehouse -> Hangzhou cold store -> processor).
	var lots struct{ Lots []ledger.LotItem }
	w.key("zj-processor").do("GET", "/v1/lots?holder="+w.org("zj-market"), nil).want(200).JSON(&lots)
	var balls string
	for _, l := range lots.Lots {
		if strings.Contains(l.Product.Name, "牛肉丸") {
			balls = l.TraceCode
		}
	}
	if balls == "" {
		t.Fatalf("the processor sees no beef balls of its making at the market: %+v", lots.Lots)
	}
	ballLot := w.lot("zj-processor", balls)
	found := false
	for _, p := range ballLot.Papers {
		if p.SHA256 == cert.SHA256 {
			found = true
			if !p.CanOpen || p.Lot != happy.ID {
				t.Errorf("the balls' inherited certificate: %+v", p)
			}
		}
	}
	if !found {
		t.Fatalf("the beef balls do not list their batch's quarantine certificate: %+v", ballLot.Papers)
	}
	w.key("zj-processor").do("GET", "/v1/attachments/"+cert.SHA256, nil).want(200)
	// An unrelated org may not open it.
	w.key("sz-importer").do("GET", "/v1/attachments/"+cert.SHA256, nil).wantProblem(403, "forbidden", "")

	// Citing: the Hangzhou market cites the importer's certificate, or its
	// own PDF as a quarantine certificate, on its sale: both refused.
	mkt := w.lot("zj-regulator", w.demo.Violation) // 6.8 t at the Hangzhou market
	before := w.h.l.Size()
	sale := map[string]any{"kind": "sold", "lot": mkt.TraceCode, "quantity": kgs(100), "channel": "retail"}
	sale["attachments"] = []map[string]string{{"sha256": cert.SHA256, "type": "other"}}
	w.key("zj-market").do("POST", "/v1/events", sale).wantProblem(422, "rejected", "attachments[0].sha256")
	sale["attachments"] = []map[string]string{{"sha256": w.upload("zj-market", "our own certificate"), "type": "quarantine_certificate"}}
	w.key("zj-market").do("POST", "/v1/events", sale).wantProblem(422, "rejected", "attachments[0].type")
	if w.h.l.Size() != before {
		t.Fatal("a refused citation was recorded")
	}
	if l := w.lot("zj-regulator", mkt.TraceCode); l.Status.Cleared || slices.Contains(l.Documents, ledger.DocReleaseCertificate) {
		t.Fatalf("the violation lot became cleared: %+v", l.Status)
	}
	// Citing did not grant the market the clean batch's certificate...
	// except that it holds goods of that batch: the market bought 4 t of
	// it, so it may open it. Guangdong's supermarket never held any.
	w.key("zj-market").do("GET", "/v1/attachments/"+cert.SHA256, nil).want(200)
	w.key("sz-supermarket").do("GET", "/v1/attachments/"+cert.SHA256, nil).wantProblem(403, "forbidden", "")
	// The importer adds a late paper to its own lot; nobody else may.
	late := w.upload("sh-importer", "customs declaration, late")
	w.key("zj-market").do("POST", "/v1/events", map[string]any{"kind": "documents_added", "lot": mkt.TraceCode,
		"attachments": []map[string]string{{"sha256": late, "type": "customs_declaration"}}}).wantProblem(403, "forbidden", "")
	w.event("sh-importer", map[string]any{"kind": "documents_added", "lot": mkt.TraceCode,
		"attachments": []map[string]string{{"sha256": late, "type": "customs_declaration"}}})
	if l := w.lot("zj-market", mkt.TraceCode); !slices.Contains(l.Documents, ledger.DocCustomsDeclaration) {
		t.Errorf("documents after documents_added: %v", l.Documents)
	}
}

// TestDelegatedKeysOverHTTP: a province gives keys to its cities and
// counties, never wider, and revokes what it gave; an auditor reads all and
// writes nothing.
func TestDelegatedKeysOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	zj := w.key("zj-regulator")
	gongshu := fixtures.USCC("330106", 991) // the Gongshu district's market regulator
	w.h.admin.do("POST", "/v1/orgs", map[string]any{"uscc": gongshu, "name": "杭州市拱墅区市场监督管理局", "roles": []string{"regulator"}, "region": "330105"}).want(201)
	var county struct {
		ID        string
		Key       string
		CreatedBy string `json:"created_by"`
	}
	zj.do("POST", "/v1/keys", map[string]any{"org": gongshu, "role": "regulator", "regions": []string{"330105"}}).want(201).JSON(&county)
	var zjKey ledger.APIKey
	for _, a := range w.demo.Actors {
		if a.Name == "zj-regulator" {
			zjKey.ID = a.Principal.Key
		}
	}
	if county.CreatedBy != zjKey.ID {
		t.Errorf("the county key says it was created by %q, want the province's key %q", county.CreatedBy, zjKey.ID)
	}
	// Never wider than its own regions, never another role, never another
	// province's org.
	zj.do("POST", "/v1/keys", map[string]any{"org": w.org("zj-regulator"), "role": "regulator", "regions": []string{"31"}}).wantProblem(403, "forbidden", "regions[0]")
	zj.do("POST", "/v1/keys", map[string]any{"org": w.org("sh-regulator"), "role": "regulator", "regions": []string{"3301"}}).wantProblem(403, "forbidden", "org")
	zj.do("POST", "/v1/keys", map[string]any{"org": w.org("zj-market"), "role": "retailer"}).wantProblem(403, "forbidden", "role")
	w.key("zj-market").do("POST", "/v1/keys", map[string]any{"org": w.org("zj-market"), "role": "retailer"}).wantProblem(403, "forbidden", "")
	// The county key sees its county only: the Hangzhou market (330105),
	// not the Yuhang plant (330110).
	ck := w.h.client(county.Key)
	ck.do("GET", "/v1/lots/"+w.demo.Violation, nil).want(200)
	var lots struct{ Lots []ledger.LotItem }
	w.key("zj-regulator").do("GET", "/v1/lots?site=ZJ-XW-PLANT", nil).want(200).JSON(&lots)
	if len(lots.Lots) == 0 {
		t.Fatal("no lot at the Yuhang plant")
	}
	ck.do("GET", "/v1/lots/"+lots.Lots[0].TraceCode, nil).wantProblem(403, "forbidden", "")
	// The county makes a key for itself below; the province lists both,
	// Shanghai none of them.
	var sub struct{ ID, Key string }
	ck.do("POST", "/v1/keys", map[string]any{"org": gongshu, "role": "regulator", "regions": []string{"330105"}}).want(201).JSON(&sub)
	ck.do("POST", "/v1/keys", map[string]any{"org": gongshu, "role": "regulator", "regions": []string{"33"}}).wantProblem(403, "forbidden", "regions[0]")
	var listed struct{ Keys []ledger.APIKey }
	zj.do("GET", "/v1/keys", nil).want(200).JSON(&listed)
	if len(listed.Keys) != 2 || listed.Keys[0].ID != county.ID || listed.Keys[1].ID != sub.ID || listed.Keys[1].CreatedBy != county.ID {
		t.Errorf("the province lists %+v", listed.Keys)
	}
	w.key("sh-regulator").do("GET", "/v1/keys", nil).want(200).JSON(&listed)
	if len(listed.Keys) != 0 {
		t.Errorf("Shanghai lists %+v", listed.Keys)
	}
	w.key("sh-regulator").do("DELETE", "/v1/keys/"+sub.ID, nil).wantProblem(403, "forbidden", "")
	zj.do("DELETE", "/v1/keys/"+sub.ID, nil).want(200)
	w.h.client(sub.Key).do("GET", "/v1/lots/"+w.demo.Violation, nil).want(401)

	// An auditor reads every region and records nothing.
	w.h.admin.do("POST", "/v1/orgs", map[string]any{"uscc": fixtures.USCC("330106", 990), "name": "审计署驻地办", "roles": []string{"auditor"}, "region": "110101"}).want(201)
	var ak struct{ Key string }
	w.h.admin.do("POST", "/v1/keys", map[string]any{"org": fixtures.USCC("330106", 990), "role": "auditor"}).want(201).JSON(&ak)
	aud := w.h.client(ak.Key)
	for _, code := range []string{w.demo.Happy, w.demo.Positive, w.demo.Violation} {
		aud.do("GET", "/v1/lots/"+code, nil).want(200)
	}
	aud.do("GET", "/v1/reports/closure?region=44", nil).want(200)
	aud.do("POST", "/v1/events", map[string]any{"kind": "sealed", "lot": w.demo.Violation, "reason": "x"}).wantProblem(403, "forbidden", "")
	aud.do("POST", "/v1/keys", map[string]any{"org": fixtures.USCC("330106", 990), "role": "auditor"}).wantProblem(403, "forbidden", "")
}
