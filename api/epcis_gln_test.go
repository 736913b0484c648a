package api_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"coldtrace/ledger/epcis"
)

// TestEPCISExportNamesSitesByGLN: in a lot's export a site with a GLN is
// named by its GS1 Digital Link (read point, business location and the
// shipment's destination location), a site without one by its URL; the
// export validates with epcis2.js, and its receipt re-captured in a twin
// world where the same shipment is on its way receives the lot at the
// GLN's site, as the receipt through /v1/events did.
func TestEPCISExportNamesSitesByGLN(t *testing.T) {
	cd, _ := epcis.CheckDigit("693123400001")
	gln := "693123400001" + string(cd)
	dl := epcis.DigitalLinkHost + "/414/" + gln
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	at := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	// shipToGLNSite registers the GLN site and ships 2 t of a clean lot to it.
	shipToGLNSite := func(w *demoWorld) string {
		w.h.admin.do("POST", "/v1/sites", map[string]any{"id": "ZJ-MKT-GLN", "org": w.org("zj-market"), "name": "拱墅冻品二区",
			"type": "market", "region": "330105", "gln": gln}).want(201)
		root, _ := w.cleanLotInShanghai(t0)
		return w.event("sh-warehouse", map[string]any{"kind": "shipped", "at": at(8), "lot": root,
			"to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GLN", "quantity": kgs(2000)}).CreatedLots[0].TraceCode
	}
	w, twin := newDemoWorld(t), newDemoWorld(t)
	code, twinCode := shipToGLNSite(w), shipToGLNSite(twin)
	w.event("zj-market", map[string]any{"kind": "received", "at": at(10), "lot": code, "site": "ZJ-MKT-GLN", "quantity": kgs(2000)})

	export := w.h.admin.do("GET", "/v1/lots/"+code+"/epcis?family=true", nil).want(200).Body
	doc, err := epcis.Decode(export)
	if err != nil {
		t.Fatal(err)
	}
	var shipping, receiving string
	for _, e := range doc.Events {
		switch e.BizStep() {
		case "shipping":
			shipping = string(e.Raw())
		case "receiving":
			if strings.Contains(string(e.Raw()), code) {
				receiving = string(e.Raw())
			}
		}
	}
	if !strings.Contains(receiving, `"readPoint":{"id":"`+dl+`"}`) || !strings.Contains(receiving, `"bizLocation":{"id":"`+dl+`"}`) {
		t.Errorf("the receipt at the GLN site is not named by its GLN:\n%s", receiving)
	}
	if !strings.Contains(shipping, `"destination":"`+dl+`"`) {
		t.Errorf("the shipment's destination location is not the GLN:\n%s", shipping)
	}
	if !strings.Contains(string(export), `/v1/sites/SH-YS-PORT"}`) {
		t.Errorf("a site without a GLN is no longer named by its URL")
	}
	for name, v := range epcisOracle(t, map[string][]byte{"gln-export": export}) {
		if !v.Success {
			t.Errorf("epcis2.js rejects %s: %v", name, v.Errors)
		}
	}

	// The receipt re-captured by the market in the twin world (the twin's
	// lot named in place of this world's) takes effect at the GLN site. Only
	// the receipt: the export's shipment would take effect too, and the
	// market does not hold the lot it ships.
	before := twin.lot("zj-market", twinCode)
	job := captureDoc(twin.key("zj-market"), ctDoc(strings.ReplaceAll(receiving, code, twinCode)))
	if !job.Success {
		t.Fatalf("re-capture: %+v", job.Errors)
	}
	effects := 0
	for _, e := range job.Events {
		if e.Effect != nil {
			effects++
			if e.Effect.Kind != "received" {
				t.Errorf("effect %+v", e.Effect)
			}
		}
	}
	got, want := twin.lot("zj-market", twinCode), w.lot("zj-market", code)
	if effects != 1 || got.Site != "ZJ-MKT-GLN" || got.Site != want.Site || !reflect.DeepEqual(got.Quantity, want.Quantity) ||
		!reflect.DeepEqual(got.Status, want.Status) || reflect.DeepEqual(before.Quantity, got.Quantity) {
		t.Fatalf("after the re-capture (%d effects) the twin's lot is %+v at %s, the lot received through /v1/events %+v at %s",
			effects, got.Quantity, got.Site, want.Quantity, want.Site)
	}
}
