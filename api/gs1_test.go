package api_test

import (
	"strings"
	"testing"
	"time"

	"coldtrace/ledger/epcis"
)

// TestGS1IdentitiesOverHTTP: a site registers with a GLN and a lot is
// declared with a GTIN and batch (both checked, 400 naming the field), and
// the lot's export names its LGTIN as the class of the goods, which the
// events query finds once the export is captured.
func TestGS1IdentitiesOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	site := map[string]any{"id": "SH-GLN-1", "org": w.org("sh-port"), "name": "洋山二号堆场", "type": "port_yard", "region": "310115", "gln": "0614141000013"}
	w.h.admin.do("POST", "/v1/sites", site).wantProblem(400, "invalid", "gln")
	cd, _ := epcis.CheckDigit("061414100001")
	site["gln"] = "061414100001" + string(cd)
	w.h.admin.do("POST", "/v1/sites", site).want(201)
	var got struct{ GLN string }
	w.h.admin.do("GET", "/v1/sites/SH-GLN-1", nil).want(200).JSON(&got)
	if got.GLN != site["gln"] {
		t.Fatalf("site GLN %q", got.GLN)
	}

	gd, _ := epcis.CheckDigit("0401234500001")
	gtin := "0401234500001" + string(gd)
	decl := map[string]any{"kind": "declared", "at": time.Now().Add(-time.Hour).Format(time.RFC3339), "site": "SH-YS-PORT", "declaration_no": "224820269000000091",
		"product":    map[string]any{"name": "冷冻牛腩", "hs_code": "0202300090", "category": "frozen", "origin_country": "AR"},
		"containers": []map[string]any{{"number": "MSKU9070323"}}, "quantity": kgs(12), "gtin": "04012345000010", "batch": "B-77"}
	imp := w.key("sh-importer")
	imp.do("POST", "/v1/events", decl).wantProblem(400, "invalid", "gtin")
	decl["gtin"] = gtin
	decl["batch"] = ""
	imp.do("POST", "/v1/events", decl).wantProblem(400, "invalid", "batch")
	decl["batch"] = "B-77"
	r := w.event("sh-importer", decl)

	export := imp.do("GET", "/v1/lots/"+r.TraceCode+"/epcis", nil).want(200).Body
	lgtin := epcis.DigitalLinkHost + "/01/" + gtin + "/10/B-77"
	if !strings.Contains(string(export), `"epcClass":"`+lgtin+`"`) {
		t.Fatalf("the export does not name the LGTIN %s:\n%s", lgtin, export)
	}
	captureDoc(imp, export)
	evs, _ := queryAll(imp, "MATCH_epcClass="+lgtin)
	if len(evs) != 1 || evs[0].BizStep() != "commissioning" {
		t.Fatalf("MATCH_epcClass found %d events", len(evs))
	}
}
