package api_test

import (
	"context"
	"encoding/json"
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
	admin, err := h.l.Authenticate(adminSecret)
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

// cleanLotInShanghai declares 10 t of beef with its papers, tests,
// disinfects, takes it into Shanghai's supervision warehouse and releases
// it: a cleared lot at SH-JGC-MH (region 31). It returns the lot's trace
// code and the seq of its first negative test.
func (w *demoWorld) cleanLotInShanghai(t0 time.Time) (string, int64) {
	at := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	decl := w.event("sh-importer", map[string]any{"kind": "declared", "at": at(0), "site": "SH-YS-PORT", "declaration_no": "224820269000000077",
		"product":    map[string]any{"name": "冷冻牛腩", "hs_code": "0202300090", "category": "frozen", "origin_country": "AR"},
		"containers": []map[string]any{{"number": "MSKU9070323"}}, "quantity": kgs(10000),
		"attachments": []map[string]string{{"sha256": w.upload("sh-importer", "quarantine 77"), "type": "quarantine_certificate"}}})
	test := w.event("sh-lab", map[string]any{"kind": "tested", "at": at(1), "lot": decl.TraceCode, "samples": 20, "scope": []string{"goods", "packaging"}, "result": "negative",
		"attachments": []map[string]string{{"sha256": w.upload("sh-lab", "report 77"), "type": "test_report"}}})
	w.event("sh-disinfector", map[string]any{"kind": "disinfected", "at": at(2), "lot": decl.TraceCode, "scope": []string{"outer_packaging", "each_piece"}, "agent": "过氧乙酸"})
	w.event("sh-importer", map[string]any{"kind": "shipped", "at": at(3), "lot": decl.TraceCode, "to_org": w.org("sh-warehouse"), "to_site": "SH-JGC-MH", "quantity": kgs(10000)})
	w.event("sh-warehouse", map[string]any{"kind": "received", "at": at(5), "lot": decl.TraceCode, "site": "SH-JGC-MH", "quantity": kgs(10000)})
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
