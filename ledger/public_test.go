package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// publicStory records a cleared batch and a partial shipment of it to a
// market stall, and returns the batch's and the child's trace codes.
func publicStory(t *testing.T, f *fixture) (root, child string, pr map[string]ledger.Principal) {
	t.Helper()
	ctx := context.Background()
	adm := ledger.Principal{Key: "k-admin", Role: ledger.RoleAdmin}
	pr = map[string]ledger.Principal{}
	orgs := []struct {
		n          int
		name, role string
	}{
		{1, "上海冷链进口有限公司", ledger.RoleImporter},
		{2, "上海海关技术中心", ledger.RoleLab},
		{3, "洋山消毒服务有限公司", ledger.RoleDisinfector},
		{4, "浦东集中监管仓", ledger.RoleSupervisionWarehouse},
		{5, "张三水产摊位", ledger.RoleRetailer},
	}
	for _, o := range orgs {
		sub(t, f, adm, ledger.Event{Kind: ledger.OrgRegistered, USCC: uscc(o.n), Name: o.name, Roles: []string{o.role}, Region: "310115"})
		pr[o.role] = ledger.Principal{Key: "k-" + o.role, Org: uscc(o.n), Role: o.role}
	}
	sub(t, f, adm, ledger.Event{Kind: ledger.SiteRegistered, Site: "YS-PORT", Org: uscc(1), Name: "洋山港堆场", Type: "port_yard", Region: "310115"})
	sub(t, f, adm, ledger.Event{Kind: ledger.SiteRegistered, Site: "PD-SW", Org: uscc(4), Name: "浦东监管仓", Type: "supervision_warehouse", Region: "310115"})
	sub(t, f, adm, ledger.Event{Kind: ledger.SiteRegistered, Site: "MKT-7", Org: uscc(5), Name: "铜川路市场 7 号摊", Type: "market", Region: "310107"})

	att := func(p ledger.Principal, typ string, n int) []ledger.AttachmentRef {
		a, err := f.l.PutAttachment(ctx, p, "application/pdf", bytes.NewReader(pdf(n)), -1)
		if err != nil {
			t.Fatal(err)
		}
		return []ledger.AttachmentRef{{SHA256: a.SHA256, Type: typ}}
	}
	at := time.Now().Add(-72 * time.Hour).UTC().Truncate(time.Second)
	r := sub(t, f, pr[ledger.RoleImporter], ledger.Event{Kind: ledger.Declared, At: at, Site: "YS-PORT",
		Product: &ledger.Product{Name: "冻牛肉", HSCode: "0202300090", Category: "frozen", OriginCountry: "BR",
			Spec: "25kg/箱", ProductionDate: "2026-09-01", ShelfLifeDays: 365, Producer: "SIF 4400"},
		DeclarationNo: "222020261000123456", Containers: []ledger.Container{{Number: "CSQU3054383", Seal: "SL123"}},
		Quantity: &ledger.Quantity{Grams: 20_000_000, Pieces: 800}, Attachments: att(pr[ledger.RoleImporter], ledger.DocQuarantineCertificate, 600)})
	root = r.CreatedLots[0].TraceCode
	sub(t, f, pr[ledger.RoleLab], ledger.Event{Kind: ledger.Tested, At: at.Add(time.Hour), Lot: root, Samples: 10, Scope: []string{"goods", "packaging"}, Result: "negative"})
	sub(t, f, pr[ledger.RoleDisinfector], ledger.Event{Kind: ledger.Disinfected, At: at.Add(2 * time.Hour), Lot: root, Scope: []string{"container", "outer_packaging"}, Agent: "过氧乙酸"})
	sub(t, f, pr[ledger.RoleSupervisionWarehouse], ledger.Event{Kind: ledger.Released, At: at.Add(3 * time.Hour), Lot: root,
		Attachments: att(pr[ledger.RoleSupervisionWarehouse], ledger.DocReleaseCertificate, 700)})
	r = sub(t, f, pr[ledger.RoleImporter], ledger.Event{Kind: ledger.Shipped, At: at.Add(4 * time.Hour), Lot: root, ToOrg: uscc(5), ToSite: "MKT-7",
		Quantity: &ledger.Quantity{Grams: 500_000}, Vehicle: &ledger.Vehicle{Plate: "沪A12345"}})
	child = r.CreatedLots[0].TraceCode
	sub(t, f, pr[ledger.RoleRetailer], ledger.Event{Kind: ledger.Received, At: at.Add(6 * time.Hour), Lot: child, Site: "MKT-7", Quantity: &ledger.Quantity{Grams: 500_000}})
	return root, child, pr
}

func sub(t *testing.T, f *fixture, p ledger.Principal, ev ledger.Event) *ledger.Receipt {
	t.Helper()
	if ev.At.IsZero() {
		ev.At = time.Now().Add(-time.Minute)
	}
	r, err := f.l.Submit(context.Background(), p, ev, "")
	if err != nil {
		t.Fatalf("%s: %v", ev.Kind, err)
	}
	return r
}

func TestPublicLot(t *testing.T) {
	f := newLedger(t, nil, 0)
	root, child, pr := publicStory(t, f)

	for _, code := range []string{root, child, strings.ToLower(strings.ReplaceAll(child, "-", ""))} {
		pl, err := f.l.PublicLot(t.Context(), code)
		if err != nil {
			t.Fatalf("PublicLot(%s): %v", code, err)
		}
		if pl.Status != ledger.PublicCleared || !pl.Cleared || pl.Sealed {
			t.Errorf("%s: status %q cleared %v sealed %v, want cleared", code, pl.Status, pl.Cleared, pl.Sealed)
		}
		if pl.Importer.Name != "上海冷链进口有限公司" || pl.Product.OriginCountry != "BR" || pl.Product.BestBefore != "2027-09-01" {
			t.Errorf("%s: %+v", code, pl)
		}
		if pl.Test == nil || pl.Test.Result != "negative" || pl.Disinfection == nil || pl.DeclaredAt.IsZero() {
			t.Errorf("%s: test %+v disinfection %+v declared %v", code, pl.Test, pl.Disinfection, pl.DeclaredAt)
		}
		// Nothing below the first station, no quantities, no vehicles.
		data, _ := json.Marshal(pl)
		for _, secret := range []string{"张三", uscc(5), "MKT-7", "YS-PORT", "沪A12345", "500000", "20000000", "SIF 4400", "CSQU3054383", "222020261000123456"} {
			if strings.Contains(string(data), secret) {
				t.Errorf("public view of %s shows %q: %s", code, secret, data)
			}
		}
	}

	// A positive test seals the batch and its child, and the public view says so.
	sub(t, f, pr[ledger.RoleLab], ledger.Event{Kind: ledger.Tested, Lot: child, Samples: 3, Scope: []string{"packaging"}, Result: "positive"})
	for _, code := range []string{root, child} {
		pl, err := f.l.PublicLot(t.Context(), code)
		if err != nil {
			t.Fatal(err)
		}
		if pl.Status != ledger.PublicSealed || !pl.Sealed {
			t.Errorf("%s after a positive test: %+v", code, pl)
		}
	}
	pl, _ := f.l.PublicLot(t.Context(), child)
	if pl.Test.Result != "positive" {
		t.Errorf("child's test %+v, want positive", pl.Test)
	}

	lot, err := f.l.Lot(t.Context(), ledger.Principal{Role: ledger.RoleAdmin}, root)
	if err != nil {
		t.Fatal(err)
	}
	typo := root[:len(root)-1] + "0" // a wrong check character
	if root[len(root)-1] == '0' {
		typo = root[:len(root)-1] + "1"
	}
	for _, ref := range []string{"", "nope", "ABCD-EFGH-JKMN", lot.ID, typo} {
		if _, err := f.l.PublicLot(t.Context(), ref); fault.KindOf(err) != fault.NotFound {
			t.Errorf("PublicLot(%q) = %v, want NotFound", ref, err)
		}
	}
}

func TestPublicLotPending(t *testing.T) {
	f := newLedger(t, nil, 0)
	adm := ledger.Principal{Key: "k-admin", Role: ledger.RoleAdmin}
	imp := ledger.Principal{Key: "k-imp", Org: uscc(1), Role: ledger.RoleImporter}
	sub(t, f, adm, ledger.Event{Kind: ledger.OrgRegistered, USCC: uscc(1), Name: "宁波进口", Roles: []string{"importer"}, Region: "330206"})
	sub(t, f, adm, ledger.Event{Kind: ledger.SiteRegistered, Site: "NB-CS", Org: uscc(1), Name: "北仑冷库", Type: "cold_store", Region: "330206"})
	r := sub(t, f, imp, ledger.Event{Kind: ledger.Declared, Site: "NB-CS",
		Product:       &ledger.Product{Name: "冻虾仁", HSCode: "0306171990", Category: "frozen", OriginCountry: "EC"},
		DeclarationNo: "310120261000000001", Quantity: &ledger.Quantity{Grams: 1000}})
	pl, err := f.l.PublicLot(t.Context(), r.CreatedLots[0].TraceCode)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Status != ledger.PublicPending || pl.Test != nil || pl.Disinfection != nil || pl.Product.BestBefore != "" {
		t.Errorf("%+v", pl)
	}
}

// TestPublicLotFields pins what the public may see. A field added to
// PublicLot must be added here on purpose, after checking that it shows no
// price, person, site or counterparty below the first station.
func TestPublicLotFields(t *testing.T) {
	want := []string{
		"cleared", "declared_at", "disinfection", "disinfection.at", "importer", "importer.name", "parts",
		"product", "product.best_before", "product.category", "product.name", "product.origin_country",
		"product.production_date", "product.shelf_life_days", "product.spec",
		"sealed", "status", "test", "test.at", "test.result", "trace_code",
	}
	var got []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			got = append(got, prefix+name)
			ft := t.Field(i).Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Time]() {
				walk(prefix+name+".", ft)
			}
		}
	}
	walk("", reflect.TypeFor[ledger.PublicLot]())
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("PublicLot fields\n got %v\nwant %v", got, want)
	}
}
