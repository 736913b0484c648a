package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// clearPath records a 10 t lot through Shanghai by the book — declared with
// its papers at the port, into the supervision warehouse, tested there with
// its report, disinfected piece by piece with its certificate, released —
// leaving out the part skip names ("papers", "test", "disinfection",
// "release"), then sends it to the Hangzhou market, which sells it retail.
// It returns the lot's trace code.
func (w *demoWorld) clearPath(n int, skip string, t0 time.Time) string {
	at := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	docs := []map[string]string{}
	if skip != "papers" {
		docs = []map[string]string{{"sha256": w.upload("sh-importer", fmt.Sprintf("quarantine %d", n)), "type": "quarantine_certificate"},
			{"sha256": w.upload("sh-importer", fmt.Sprintf("customs %d", n)), "type": "customs_declaration"}}
	}
	decl := w.event("sh-importer", map[string]any{"kind": "declared", "at": at(0), "site": "SH-YS-PORT", "declaration_no": fmt.Sprintf("2248202690000%05d", n),
		"product":    map[string]any{"name": "冷冻牛腩", "hs_code": "0202300090", "category": "frozen", "origin_country": "AR"},
		"containers": []map[string]any{{"number": fixtures.Container("TST", 100000+n)}}, "quantity": kgs(10000), "attachments": docs})
	code := decl.TraceCode
	w.event("sh-importer", map[string]any{"kind": "shipped", "at": at(1), "lot": code, "to_org": w.org("sh-warehouse"), "to_site": "SH-JGC-MH", "quantity": kgs(10000)})
	w.event("sh-warehouse", map[string]any{"kind": "received", "at": at(3), "lot": code, "site": "SH-JGC-MH", "quantity": kgs(10000)})
	if skip != "test" {
		w.event("sh-lab", map[string]any{"kind": "tested", "at": at(4), "lot": code, "samples": 10, "scope": []string{"goods", "packaging"}, "result": "negative",
			"attachments": []map[string]string{{"sha256": w.upload("sh-lab", fmt.Sprintf("report %d", n)), "type": "test_report"}}})
	}
	if skip != "disinfection" {
		w.event("sh-disinfector", map[string]any{"kind": "disinfected", "at": at(5), "lot": code, "scope": []string{"outer_packaging", "each_piece"}, "agent": "过氧乙酸 0.5%",
			"attachments": []map[string]string{{"sha256": w.upload("sh-disinfector", fmt.Sprintf("disinfection %d", n)), "type": "disinfection_certificate"}}})
	}
	if skip == "" || skip == "papers" {
		w.event("sh-warehouse", map[string]any{"kind": "released", "at": at(6), "lot": code,
			"attachments": []map[string]string{{"sha256": w.upload("sh-warehouse", fmt.Sprintf("release %d", n)), "type": "release_certificate"}}})
	}
	w.event("sh-warehouse", map[string]any{"kind": "shipped", "at": at(7), "lot": code, "to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(10000)})
	w.event("zj-market", map[string]any{"kind": "received", "at": at(12), "lot": code, "site": "ZJ-MKT-GS", "quantity": kgs(10000)})
	w.event("zj-market", map[string]any{"kind": "sold", "at": at(14), "lot": code, "quantity": kgs(10000), "channel": "retail"})
	return code
}

type clearanceView struct {
	lotView
	ClearedParts []struct {
		Part    string
		Met     bool
		Seq     int64
		Missing string
	} `json:"cleared_parts"`
}

func (w *demoWorld) clearance(name, ref string) clearanceView {
	w.h.t.Helper()
	var v clearanceView
	w.key(name).do("GET", "/v1/lots/"+ref, nil).want(200).JSON(&v)
	return v
}

// TestClearedByTheBookOverHTTP: the clean path clears and closes; the same
// path with any one part missing is not cleared and says which part.
func TestClearedByTheBookOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	t0 := time.Now().Add(-48 * time.Hour).UTC()
	clean := w.clearPath(1, "", t0)
	v := w.clearance("zj-regulator", clean)
	if !v.Status.Cleared || !v.Status.Closed || len(v.ClearedParts) != 4 {
		t.Fatalf("the clean path: cleared %v closed %v parts %+v findings %v", v.Status.Cleared, v.Status.Closed, v.ClearedParts, v.Findings)
	}
	for _, p := range v.ClearedParts {
		if !p.Met || p.Seq == 0 {
			t.Errorf("part %s of the clean path: %+v", p.Part, p)
		}
	}
	var pub struct {
		Status string
		Parts  []struct {
			Part string
			Met  bool
		}
	}
	w.h.client("").do("GET", "/t/"+clean+".json", nil).want(200).JSON(&pub)
	if pub.Status != "cleared" || len(pub.Parts) != 4 {
		t.Errorf("the consumer page of the clean lot: %+v", pub)
	}
	if page := string(w.h.client("").do("GET", "/t/"+clean, nil).want(200).Body); !strings.Contains(page, "上市放行所需条件") || strings.Contains(page, "check-missing") {
		t.Errorf("the consumer page of the clean lot does not show its parts all met")
	}
	for i, skip := range []string{"papers", "test", "disinfection", "release"} {
		code := w.clearPath(10+i, skip, t0)
		if page := string(w.h.client("").do("GET", "/t/"+code, nil).want(200).Body); !strings.Contains(page, "缺少") {
			t.Errorf("the consumer page of the lot without its %s does not say what is missing", skip)
		}
		v := w.clearance("zj-regulator", code)
		if v.Status.Cleared {
			t.Errorf("without its %s, the lot is cleared", skip)
		}
		var missing []string
		for _, p := range v.ClearedParts {
			if !p.Met {
				missing = append(missing, p.Part)
				if !strings.Contains(p.Missing, "缺少") || !strings.Contains(p.Missing, "missing") {
					t.Errorf("part %s says %q, want it in Chinese and English", p.Part, p.Missing)
				}
			}
		}
		want := []string{skip}
		if skip == "test" || skip == "disinfection" {
			want = []string{skip, "release"} // no release without them
		}
		if !slices.Equal(missing, want) {
			t.Errorf("without its %s, the lot misses %v, want %v", skip, missing, want)
		}
		if v.Status.Closed || !slices.ContainsFunc(v.Findings, func(f string) bool { return f != "" }) {
			t.Errorf("without its %s, sold at the market: closed %v, findings %v (want a four_no finding)", skip, v.Status.Closed, v.Findings)
		}
	}
	w.h.tl.Verify(t)
}

// TestBypassesRefusedOverHTTP reproduces each way one key could make a lot
// cleared or closed, and shows it refused or flagged.
func TestBypassesRefusedOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	now := time.Now().UTC()
	at := func(h float64) string { return now.Add(time.Duration(h * float64(time.Hour))).Format(time.RFC3339) }
	declare := func(n int, site string, extra map[string]any) *response {
		ev := map[string]any{"kind": "declared", "at": at(-40), "site": site, "declaration_no": fmt.Sprintf("2248202690001%05d", n),
			"product":    map[string]any{"name": "冷冻猪肉", "hs_code": "0203291000", "category": "frozen", "origin_country": "ES"},
			"containers": []map[string]any{{"number": fixtures.Container("BYP", 200000+n)}}, "quantity": kgs(5000)}
		for k, v := range extra {
			ev[k] = v
		}
		return w.key("sh-importer").do("POST", "/v1/events", ev)
	}
	var decl ledger.Receipt
	declare(1, "SH-YS-PORT", nil).want(201).JSON(&decl) // no papers at all
	code := decl.TraceCode

	// A release by another province's warehouse, and by this province's of a
	// lot at the port yard: not their custody. At its own site but before
	// any test: 422 saying what is missing.
	w.key("sz-warehouse").do("POST", "/v1/events", map[string]any{"kind": "released", "lot": code,
		"attachments": []map[string]string{{"sha256": w.upload("sz-warehouse", "release byp"), "type": "release_certificate"}}}).wantProblem(403, "forbidden", "")
	shRelease := []map[string]string{{"sha256": w.upload("sh-warehouse", "release byp"), "type": "release_certificate"}}
	w.key("sh-warehouse").do("POST", "/v1/events", map[string]any{"kind": "released", "lot": code, "attachments": shRelease}).wantProblem(403, "forbidden", "")
	w.event("sh-importer", map[string]any{"kind": "shipped", "at": at(-39), "lot": code, "to_org": w.org("sh-warehouse"), "to_site": "SH-JGC-MH", "quantity": kgs(5000)})
	w.event("sh-warehouse", map[string]any{"kind": "received", "at": at(-37), "lot": code, "site": "SH-JGC-MH", "quantity": kgs(5000)})
	r := w.key("sh-warehouse").do("POST", "/v1/events", map[string]any{"kind": "released", "lot": code, "attachments": shRelease})
	r.wantProblem(422, "rejected", "lot")
	if !strings.Contains(r.problem().Detail, "test") {
		t.Errorf("the refused release does not say what is missing: %s", r.Body)
	}
	// A "disinfection" by the holder with water, outer packaging only, and a
	// one-sample container-only test without a report are recorded but
	// count for nothing.
	w.event("sh-warehouse", map[string]any{"kind": "disinfected", "at": at(-36), "lot": code, "scope": []string{"outer_packaging"}, "agent": "water"})
	w.event("sh-lab", map[string]any{"kind": "tested", "at": at(-35), "lot": code, "samples": 1, "scope": []string{"container"}, "result": "negative"})
	v := w.clearance("sh-regulator", code)
	for _, p := range v.ClearedParts {
		if p.Met {
			t.Errorf("part %s is met by %d", p.Part, p.Seq)
		}
	}

	// Where the goods went: wholesale names its buyer; a buyer on the
	// ledger must be shipped to; an unknown buyer leaves the ledger and
	// keeps the batch open.
	sale := map[string]any{"kind": "sold", "at": at(-30), "lot": code, "quantity": kgs(1000), "channel": "wholesale"}
	w.key("sh-warehouse").do("POST", "/v1/events", sale).wantProblem(400, "invalid", "buyer")
	sale["buyer"] = map[string]any{"uscc": w.org("zj-market"), "name": "杭州农副产品物流中心"}
	w.key("sh-warehouse").do("POST", "/v1/events", sale).wantProblem(422, "rejected", "buyer.uscc")
	sale["buyer"] = map[string]any{"uscc": fixtures.USCC("310104", 8801), "name": "某冻品批发商"}
	var sold ledger.Receipt
	w.key("sh-warehouse").do("POST", "/v1/events", sale).want(201).JSON(&sold)
	if !slices.ContainsFunc(sold.Findings, func(f ledger.Finding) bool { return f.Rule == ledger.RuleLeftLedger }) {
		t.Errorf("a sale to a business off the ledger opened %+v, want left_ledger", sold.Findings)
	}

	// Sealed means stopped.
	w.event("sh-regulator", map[string]any{"kind": "sealed", "at": at(-29), "lot": code, "reason": "抽检"})
	before := w.h.l.Size()
	w.key("sh-warehouse").do("POST", "/v1/events", map[string]any{"kind": "sold", "at": at(-28), "lot": code, "quantity": kgs(100), "channel": "retail"}).wantProblem(409, "conflict", "lot")
	w.key("sh-warehouse").do("POST", "/v1/events", map[string]any{"kind": "shipped", "at": at(-28), "lot": code, "to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(100)}).wantProblem(409, "conflict", "lot")
	w.key("sh-warehouse").do("POST", "/v1/events", map[string]any{"kind": "destroyed", "at": at(-28), "lot": code, "quantity": kgs(100), "method": "incineration"}).wantProblem(409, "conflict", "lot")
	if w.h.l.Size() != before {
		t.Fatal("a refused move of a sealed lot was recorded")
	}
	w.event("sh-warehouse", map[string]any{"kind": "destroyed", "at": at(-27), "lot": code, "quantity": kgs(100), "method": "incineration", "order": "沪市监封〔2026〕3号"})

	// A positive batch: a negative retest of a sibling does not unseal the
	// Shenzhen cold store's lot.
	pos := w.lot("gd-regulator", w.demo.Positive)
	cs, sm := pos.Children[0], pos.Children[2]
	w.event("sz-disinfector", map[string]any{"kind": "disinfected", "lot": cs, "scope": []string{"outer_packaging", "each_piece"}, "agent": "过氧乙酸",
		"attachments": []map[string]string{{"sha256": w.upload("sz-disinfector", "after the positive"), "type": "disinfection_certificate"}}})
	w.event("sz-lab", map[string]any{"kind": "tested", "lot": sm, "samples": 10, "scope": []string{"goods", "packaging"}, "result": "negative",
		"attachments": []map[string]string{{"sha256": w.upload("sz-lab", "sibling retest"), "type": "test_report"}}})
	w.key("gd-regulator").do("POST", "/v1/events", map[string]any{"kind": "unsealed", "lot": cs, "reason": "复检阴性"}).wantProblem(422, "rejected", "lot")

	// Processing: only a processor at its own site; never more out than in.
	var mkt ledger.Receipt
	declare(2, "SH-YS-PORT", map[string]any{"at": at(-260)}).want(201).JSON(&mkt)
	w.event("sh-importer", map[string]any{"kind": "shipped", "at": at(-20), "lot": mkt.TraceCode, "to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(5000)})
	w.event("zj-market", map[string]any{"kind": "received", "at": at(-14), "lot": mkt.TraceCode, "site": "ZJ-MKT-GS", "quantity": kgs(5000)})
	transform := map[string]any{"kind": "transformed", "at": at(-10), "site": "ZJ-MKT-GS",
		"inputs":  []map[string]any{{"lot": mkt.TraceCode, "quantity": map[string]any{"grams": 1}}},
		"outputs": []map[string]any{{"product": map[string]any{"name": "肉丸", "hs_code": "1602491000", "category": "frozen"}, "quantity": map[string]any{"grams": 1_000_000_000_000}}}}
	w.key("zj-market").do("POST", "/v1/events", transform).wantProblem(400, "invalid", "outputs")
	transform["outputs"] = []map[string]any{{"product": map[string]any{"name": "肉丸", "hs_code": "1602491000", "category": "frozen"}, "quantity": map[string]any{"grams": 1}}}
	w.key("zj-market").do("POST", "/v1/events", transform).wantProblem(403, "forbidden", "")
	// The processor: one input into two products must say what each holds.
	balls := map[string]any{"product": map[string]any{"name": "肉丸", "hs_code": "1602491000", "category": "frozen"}, "quantity": map[string]any{"grams": 600_000}}
	scraps := map[string]any{"product": map[string]any{"name": "下脚料", "hs_code": "0206490000", "category": "frozen"}, "quantity": map[string]any{"grams": 300_000}}
	var proc ledger.Receipt
	declare(8, "SH-YS-PORT", nil).want(201).JSON(&proc)
	w.event("sh-importer", map[string]any{"kind": "shipped", "at": at(-38), "lot": proc.TraceCode, "to_org": w.org("zj-processor"), "to_site": "ZJ-XW-PLANT", "quantity": kgs(5000)})
	w.event("zj-processor", map[string]any{"kind": "received", "at": at(-30), "lot": proc.TraceCode, "site": "ZJ-XW-PLANT", "quantity": kgs(5000)})
	twoOut := map[string]any{"kind": "transformed", "at": at(-29), "site": "ZJ-XW-PLANT",
		"inputs": []map[string]any{{"lot": proc.TraceCode, "quantity": map[string]any{"grams": 1_000_000}}}, "outputs": []map[string]any{balls, scraps}}
	w.key("zj-processor").do("POST", "/v1/events", twoOut).wantProblem(400, "invalid", "outputs[0].shares")
	balls["shares"] = []map[string]any{{"input": 0, "grams": 700_000}}
	scraps["shares"] = []map[string]any{{"input": 0, "grams": 400_000}}
	w.key("zj-processor").do("POST", "/v1/events", twoOut).wantProblem(400, "invalid", "outputs[0].shares")
	balls["shares"] = []map[string]any{{"input": 0, "grams": 600_000}}
	scraps["shares"] = []map[string]any{{"input": 0, "grams": 300_000}}
	var made ledger.Receipt
	w.key("zj-processor").do("POST", "/v1/events", twoOut).want(201).JSON(&made)
	var madeRec ledger.Record
	w.key("zj-processor").do("GET", "/v1/events/"+itoa(made.Seq), nil).want(200).JSON(&madeRec)
	if len(madeRec.Outputs) != 2 || len(madeRec.Outputs[1].Shares) != 1 || madeRec.Outputs[1].Shares[0].Grams != 300_000 {
		t.Errorf("the processing record's shares: %+v", madeRec.Outputs)
	}

	// Times.
	w.key("zj-market").do("POST", "/v1/events", map[string]any{"kind": "sold", "at": at(-16), "lot": mkt.TraceCode, "quantity": kgs(1), "channel": "retail"}).wantProblem(422, "rejected", "at")
	declare(3, "SH-YS-PORT", map[string]any{"at": "1950-10-01T08:00:00+08:00"}).wantProblem(400, "invalid", "at")
	declare(4, "SH-YS-PORT", map[string]any{"at": "1969-12-31T08:00:00+08:00"}).wantProblem(400, "invalid", "at")
	declare(5, "SH-YS-PORT", map[string]any{"at": "1999-12-31T08:00:00+08:00"}).wantProblem(400, "invalid", "at")
	w.key("zj-market").do("POST", "/v1/events", map[string]any{"kind": "shipped", "at": at(-9), "lot": mkt.TraceCode, "to_org": w.org("hn-restaurant"), "to_site": "HN-JS-KITCHEN",
		"quantity": kgs(1), "deadline": "2999-01-01T00:00:00Z"}).wantProblem(400, "invalid", "deadline")
	var late ledger.Receipt
	w.key("zj-lab").do("POST", "/v1/events", map[string]any{"kind": "tested", "at": at(-240), "lot": mkt.TraceCode, "samples": 10, "scope": []string{"goods", "packaging"}, "result": "positive"}).want(201).JSON(&late)
	if !slices.ContainsFunc(late.Findings, func(f ledger.Finding) bool { return f.Rule == ledger.RuleLateReport }) {
		t.Errorf("a positive recorded days after it was found opened %+v, want late_report", late.Findings)
	}
	// Found ten days ago and never acknowledged: its worklist entry is overdue.
	var wl struct {
		Findings []struct {
			Rule    string `json:"rule"`
			Overdue bool   `json:"overdue"`
		} `json:"findings"`
	}
	w.key("zj-regulator").do("GET", "/v1/findings?rule=positive_test&open=true", nil).want(200).JSON(&wl)
	if len(wl.Findings) == 0 || !wl.Findings[0].Overdue {
		t.Errorf("the ten-day-old positive's finding: %+v, want overdue", wl.Findings)
	}
	w.key("sh-regulator").do("GET", "/v1/reports/closure?region=31", nil).want(200)

	// Declarations: once per declaration and container; at a first station
	// in the importer's province or a port yard.
	r = declare(1, "SH-JGC-MH", nil)
	r.wantProblem(409, "conflict", "declaration_no")
	if !strings.Contains(r.problem().Detail, code) {
		t.Errorf("the duplicate declaration does not name the lot: %s", r.Body)
	}
	declare(6, "ZJ-MKT-GS", nil).wantProblem(422, "rejected", "site")
	declare(7, "ZJ-HL-YH", nil).wantProblem(422, "rejected", "site")
	w.h.tl.Verify(t)
}

// TestPolicyOverHTTP: the policy in force is shown to every key and
// changed by an admin with a record; later records are judged under it.
func TestPolicyOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	var p ledger.Policy
	w.key("zj-market").do("GET", "/v1/policy", nil).want(200).JSON(&p)
	if p.Version != 1 || p.TransitDays != 7 || p.LateHours != 2 || len(p.ClearedParts["frozen"]) != 4 {
		t.Fatalf("the default policy: %+v", p)
	}
	p.TransitDays = 3
	w.key("zj-regulator").do("PUT", "/v1/policy", p).wantProblem(403, "forbidden", "")
	bad := p
	bad.TransitDays = 0
	w.h.admin.do("PUT", "/v1/policy", bad).wantProblem(400, "invalid", "policy.transit_days")
	var set struct{ Seq int64 }
	w.h.admin.do("PUT", "/v1/policy", p).want(200).JSON(&set)
	var rec ledger.Record
	w.h.admin.do("GET", "/v1/events/"+itoa(set.Seq), nil).want(200).JSON(&rec)
	if rec.Kind != ledger.PolicySet || rec.Policy == nil || rec.Policy.TransitDays != 3 {
		t.Errorf("the policy record: %+v", rec)
	}
	lots := w.lot("zj-market", w.demo.Violation)
	w.key("zj-market").do("POST", "/v1/events", map[string]any{"kind": "shipped", "lot": lots.TraceCode, "to_org": w.org("zj-coldstore"), "to_site": "ZJ-HL-YH",
		"quantity": kgs(10), "deadline": time.Now().Add(4 * 24 * time.Hour).UTC().Format(time.RFC3339)}).wantProblem(400, "invalid", "deadline")
	w.h.tl.Verify(t)
}

// TestPolicyVersion0OverHTTP: a ledger that records no policy answers the
// version-0 rules, with no parts of cleared, as the spec describes them.
func TestPolicyVersion0OverHTTP(t *testing.T) {
	w := newWorld(t)
	var p map[string]any
	w.keys["importer"].do("GET", "/v1/policy", nil).want(200).JSON(&p)
	if p["version"] != float64(0) || p["cleared_parts"] != nil || p["samples"] != nil {
		t.Fatalf("the policy of a ledger that records none: %v", p)
	}
}
