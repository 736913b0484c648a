package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// domain is a ledger with a clock the test moves, an org and a site for each
// role, and documents to attach.
type domain struct {
	*env
	now   time.Time
	p     map[string]ledger.Principal // by role
	site  map[string]string           // by role
	docs  map[string]ledger.AttachmentRef
	start time.Time
}

// newDomain is a world of one org, site and key per role under the rules
// before policy version 1 (the rules these tests were written for).
func newDomain(t *testing.T) *domain {
	t.Helper()
	return newDomainUnder(t, ledger.PolicyV0())
}

func newDomainUnder(t *testing.T, pol ledger.Policy) *domain {
	t.Helper()
	d := &domain{p: map[string]ledger.Principal{}, site: map[string]string{}, docs: map[string]ledger.AttachmentRef{}}
	d.start = time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)
	d.now = d.start
	tl := fixtures.OpenTestLedger(t, ledger.Options{Now: func() time.Time { return d.now }, Policy: &pol})
	d.env = &env{t: t, tl: tl, dir: tl.Dir, store: tl.Store, key: tl.Key, l: tl.L, admin: tl.Admin}
	ctx := context.Background()
	types := map[string]string{ledger.RoleSupervisionWarehouse: "supervision_warehouse", ledger.RoleRetailer: "market", ledger.RoleProcessor: "plant"}
	for i, role := range ledger.OrgRoles {
		u := uscc(500 + i)
		d.submit(d.admin, ledger.Event{Kind: ledger.OrgRegistered, USCC: u, Name: role, Roles: []string{role}, Region: "330106"})
		typ := types[role]
		if typ == "" {
			typ = "cold_store"
		}
		d.site[role] = "S-" + role
		d.submit(d.admin, ledger.Event{Kind: ledger.SiteRegistered, Site: d.site[role], Org: u, Name: role, Type: typ, Region: "330106"})
		var regions []string
		if role == ledger.RoleRegulator {
			regions = []string{"33"}
		}
		rc, secret, err := d.l.CreateKey(ctx, d.admin, ledger.Event{Org: u, Role: role, Regions: regions}, "")
		if err != nil {
			t.Fatal(err)
		}
		_ = rc
		d.p[role], _ = d.l.Authenticate(t.Context(), secret)
	}
	d.submit(d.admin, ledger.Event{Kind: ledger.SiteRegistered, Site: "PORT", Org: d.p[ledger.RoleColdStore].Org, Name: "port", Type: "port_yard", Region: "330206"})
	// Each document is uploaded by the org that issues it.
	for doc, issuer := range map[string]string{ledger.DocQuarantineCertificate: ledger.RoleImporter, ledger.DocReleaseCertificate: ledger.RoleSupervisionWarehouse} {
		a, err := d.l.PutAttachment(ctx, d.p[issuer], "application/pdf", bytes.NewReader([]byte("%PDF-1.4 "+doc)), -1)
		if err != nil {
			t.Fatal(err)
		}
		d.docs[doc] = ledger.AttachmentRef{SHA256: a.SHA256, Type: doc}
	}
	return d
}

// rec records ev as role one hour after the previous event.
func (d *domain) rec(role string, ev ledger.Event) *ledger.Receipt {
	d.t.Helper()
	d.now = d.now.Add(time.Hour)
	ev.At = d.now
	r, err := d.l.Submit(context.Background(), d.p[role], ev, "")
	if err != nil {
		d.t.Fatalf("%s by %s: %v", ev.Kind, role, err)
	}
	return r
}

func (d *domain) lot(id string) *ledger.Lot {
	d.t.Helper()
	l, err := d.l.Lot(context.Background(), d.admin, id)
	if err != nil {
		d.t.Fatal(err)
	}
	return l.Lot
}

func g(n int64) *ledger.Quantity { return &ledger.Quantity{Grams: n} }
func temp(c float64) *float64    { return &c }

// declare records a frozen lot of 1 t at the port, with its quarantine
// certificate; cleared adds the test, disinfection and release.
func (d *domain) declare(cleared bool) string {
	r := d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Declared, Site: "PORT", DeclarationNo: "310120261000000001",
		Product:  &ledger.Product{Name: "冷冻鸡爪", HSCode: "0207142200", Category: ledger.CategoryFrozen, OriginCountry: "BR"},
		Quantity: g(1_000_000), Attachments: []ledger.AttachmentRef{d.docs[ledger.DocQuarantineCertificate]}})
	if cleared {
		d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.Tested, Lot: r.Lot, Samples: 5, Scope: []string{"goods"}, Result: "negative"})
		d.rec(ledger.RoleDisinfector, ledger.Event{Kind: ledger.Disinfected, Lot: r.Lot, Scope: []string{"container"}, Agent: "过氧乙酸"})
		d.rec(ledger.RoleSupervisionWarehouse, ledger.Event{Kind: ledger.Released, Lot: r.Lot, Attachments: []ledger.AttachmentRef{d.docs[ledger.DocReleaseCertificate]}})
	}
	return r.Lot
}

// move ships q grams of lot from its holder (role from) to role to, and
// receives got grams; it returns the lot that moved.
func (d *domain) move(lot, from, to string, q, got int64) string {
	r := d.rec(from, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: d.p[to].Org, ToSite: d.site[to], Quantity: g(q), TemperatureC: temp(-19)})
	moved := lot
	if len(r.CreatedLots) > 0 {
		moved = r.CreatedLots[0].ID
	}
	d.rec(to, ledger.Event{Kind: ledger.Received, Lot: moved, Site: d.site[to], Quantity: g(got), TemperatureC: temp(-19)})
	return moved
}

func rules(fs []ledger.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	slices.Sort(out)
	return out
}

func TestPolicyRules(t *testing.T) {
	cases := []struct {
		name string
		run  func(d *domain) *ledger.Receipt
		want []string
	}{
		{"cleared lot sold: nothing", func(d *domain) *ledger.Receipt {
			return d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Sold, Lot: d.declare(true), Quantity: g(1000), Channel: "retail"})
		}, nil},
		{"四不: sold without disinfection and release", func(d *domain) *ledger.Receipt {
			lot := d.declare(false)
			d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.Tested, Lot: lot, Samples: 5, Scope: []string{"goods"}, Result: "negative"})
			return d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Sold, Lot: lot, Quantity: g(1000), Channel: "retail"})
		}, []string{ledger.RuleFourNo}},
		{"四不: shipped to a market uncleared", func(d *domain) *ledger.Receipt {
			return d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Shipped, Lot: d.declare(false), ToOrg: d.p[ledger.RoleRetailer].Org,
				ToSite: d.site[ledger.RoleRetailer], Quantity: g(1000)})
		}, []string{ledger.RuleFourNo}},
		{"uncleared to a cold store: allowed", func(d *domain) *ledger.Receipt {
			return d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Shipped, Lot: d.declare(false), ToOrg: d.p[ledger.RoleColdStore].Org,
				ToSite: d.site[ledger.RoleColdStore], Quantity: g(1000)})
		}, nil},
		{"sealed lot moved", func(d *domain) *ledger.Receipt {
			lot := d.declare(true)
			d.rec(ledger.RoleRegulator, ledger.Event{Kind: ledger.Sealed, Lot: lot, Reason: "抽检"})
			return d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: d.p[ledger.RoleColdStore].Org, ToSite: d.site[ledger.RoleColdStore], Quantity: g(1000)})
		}, []string{ledger.RuleSealedMoved}},
		{"sealed lot destroyed: expected, no finding", func(d *domain) *ledger.Receipt {
			lot := d.declare(true)
			d.rec(ledger.RoleRegulator, ledger.Event{Kind: ledger.Sealed, Lot: lot, Reason: "抽检"})
			return d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Destroyed, Lot: lot, Quantity: g(1_000_000), Method: "incineration"})
		}, nil},
		{"short receipt", func(d *domain) *ledger.Receipt {
			lot := d.declare(true)
			d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: d.p[ledger.RoleColdStore].Org, ToSite: d.site[ledger.RoleColdStore], Quantity: g(1_000_000)})
			return d.rec(ledger.RoleColdStore, ledger.Event{Kind: ledger.Received, Lot: lot, Site: d.site[ledger.RoleColdStore], Quantity: g(999_000)})
		}, []string{ledger.RuleShortReceipt}},
		{"too warm in transit and on receipt", func(d *domain) *ledger.Receipt {
			lot := d.declare(true)
			d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: d.p[ledger.RoleColdStore].Org, ToSite: d.site[ledger.RoleColdStore], Quantity: g(1_000_000), TemperatureC: temp(-17.9)})
			return d.rec(ledger.RoleColdStore, ledger.Event{Kind: ledger.Received, Lot: lot, Site: d.site[ledger.RoleColdStore], Quantity: g(1_000_000), TemperatureC: temp(-10)})
		}, []string{ledger.RuleTemperatureExcursion}},
		{"-18 °C is within the frozen limit", func(d *domain) *ledger.Receipt {
			lot := d.declare(true)
			return d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: d.p[ledger.RoleColdStore].Org, ToSite: d.site[ledger.RoleColdStore], Quantity: g(1_000_000), TemperatureC: temp(-18)})
		}, nil},
		{"received after the deadline", func(d *domain) *ledger.Receipt {
			lot := d.declare(true)
			d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: d.p[ledger.RoleColdStore].Org, ToSite: d.site[ledger.RoleColdStore], Quantity: g(1_000_000)})
			d.now = d.now.Add(49 * time.Hour)
			return d.rec(ledger.RoleColdStore, ledger.Event{Kind: ledger.Received, Lot: lot, Site: d.site[ledger.RoleColdStore], Quantity: g(1_000_000)})
		}, []string{ledger.RuleTransitOverdue}},
		{"left a cold store without the arrival test", func(d *domain) *ledger.Receipt {
			lot := d.move(d.declare(true), ledger.RoleImporter, ledger.RoleColdStore, 1_000_000, 1_000_000)
			return d.rec(ledger.RoleColdStore, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: d.p[ledger.RoleProcessor].Org, ToSite: d.site[ledger.RoleProcessor], Quantity: g(500_000)})
		}, []string{ledger.RuleUntestedAfterArrival}},
		{"tested after arrival: nothing", func(d *domain) *ledger.Receipt {
			lot := d.move(d.declare(true), ledger.RoleImporter, ledger.RoleColdStore, 1_000_000, 1_000_000)
			d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.Tested, Lot: lot, Samples: 3, Scope: []string{"goods"}, Result: "negative"})
			return d.rec(ledger.RoleColdStore, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: d.p[ledger.RoleProcessor].Org, ToSite: d.site[ledger.RoleProcessor], Quantity: g(500_000)})
		}, nil},
		{"positive test", func(d *domain) *ledger.Receipt {
			return d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.Tested, Lot: d.declare(true), Samples: 5, Scope: []string{"packaging"}, Result: "positive"})
		}, []string{ledger.RulePositiveBatch, ledger.RulePositiveTest}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDomain(t)
			r := c.run(d)
			if got := rules(r.Findings); fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("findings %v, want %v", got, c.want)
			}
			for _, f := range r.Findings {
				if !f.Open || f.Region == "" || f.Lot == "" || f.Detail == "" || f.Seq != r.Seq {
					t.Errorf("finding %+v is incomplete", f)
				}
			}
			d.verify()
		})
	}
}

func TestPositiveSealsTheWholeBatch(t *testing.T) {
	d := newDomain(t)
	root := d.declare(true)
	a := d.move(root, ledger.RoleImporter, ledger.RoleColdStore, 400_000, 400_000)
	b := d.move(root, ledger.RoleImporter, ledger.RoleRetailer, 300_000, 300_000)
	d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.Tested, Lot: a, Samples: 3, Scope: []string{"goods"}, Result: "negative"})
	aa := d.move(a, ledger.RoleColdStore, ledger.RoleCaterer, 100_000, 100_000)
	sold := d.move(root, ledger.RoleImporter, ledger.RoleWholesaler, 100_000, 100_000)
	d.rec(ledger.RoleWholesaler, ledger.Event{Kind: ledger.Sold, Lot: sold, Quantity: g(100_000), Channel: "wholesale"})
	// The caterer's lot tests positive: everything of the batch is sealed.
	r := d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.Tested, Lot: aa, Samples: 3, Scope: []string{"goods"}, Result: "positive"})
	for _, id := range []string{root, a, b, aa} {
		l := d.lot(id)
		if !l.Status.Sealed || l.Status.PositiveSeq != r.Seq {
			t.Errorf("lot %s: sealed %v positive seq %d", l.TraceCode, l.Status.Sealed, l.Status.PositiveSeq)
		}
	}
	if l := d.lot(sold); l.Status.Sealed {
		t.Error("a lot with nothing left was sealed")
	}
	if !d.lot(aa).Status.Positive || d.lot(b).Status.Positive {
		t.Error("positive marks the tested lot only")
	}
	// Unsealing b needs a disinfection of b and a negative retest of the batch.
	_, err := d.l.Submit(context.Background(), d.p[ledger.RoleRegulator], ledger.Event{Kind: ledger.Unsealed, Lot: b, Reason: "x", At: d.now}, "")
	if fault.KindOf(err) != fault.Rejected {
		t.Fatalf("unseal without retest: %v", err)
	}
	d.rec(ledger.RoleDisinfector, ledger.Event{Kind: ledger.Disinfected, Lot: b, Scope: []string{"each_piece"}, Agent: "含氯"})
	d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.Tested, Lot: aa, Samples: 6, Scope: []string{"goods"}, Result: "negative", RetestOf: r.Seq})
	d.rec(ledger.RoleRegulator, ledger.Event{Kind: ledger.Unsealed, Lot: b, Reason: "复检阴性，已消毒"})
	if d.lot(b).Status.Sealed || !d.lot(a).Status.Sealed {
		t.Error("unseal must free b only")
	}
	d.verify()
}

func TestSitePositiveFindsLotsInTheWindow(t *testing.T) {
	d := newDomain(t)
	early := d.move(d.declare(true), ledger.RoleImporter, ledger.RoleColdStore, 1_000_000, 1_000_000)
	d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.Tested, Lot: early, Samples: 1, Scope: []string{"goods"}, Result: "negative"})
	d.rec(ledger.RoleColdStore, ledger.Event{Kind: ledger.Shipped, Lot: early, ToOrg: d.p[ledger.RoleRetailer].Org, ToSite: d.site[ledger.RoleRetailer], Quantity: g(1_000_000)})
	d.now = d.now.Add(20 * 24 * time.Hour) // early left the cold store 20 days ago
	recent := d.move(d.declare(true), ledger.RoleImporter, ledger.RoleColdStore, 1_000_000, 1_000_000)
	d.move(d.declare(true), ledger.RoleImporter, ledger.RoleProcessor, 1_000_000, 1_000_000) // at another site
	// Part of recent leaves the cold store inside the window as a child lot.
	d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.Tested, Lot: recent, Samples: 1, Scope: []string{"goods"}, Result: "negative"})
	sr := d.rec(ledger.RoleColdStore, ledger.Event{Kind: ledger.Shipped, Lot: recent, ToOrg: d.p[ledger.RoleRetailer].Org, ToSite: d.site[ledger.RoleRetailer], Quantity: g(400_000)})
	if len(sr.CreatedLots) != 1 {
		t.Fatalf("a partial shipment created %d lots", len(sr.CreatedLots))
	}
	child := sr.CreatedLots[0].ID
	r := d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.SiteTested, Site: d.site[ledger.RoleColdStore], Scope: []string{"environment"}, Samples: 10, Positives: new(int64(2))})
	// The lot there, the child that left, and the site itself for its region.
	if len(r.Findings) != 3 || r.Findings[0].Rule != ledger.RuleSitePositive || r.Findings[0].Lot != recent ||
		r.Findings[1].Lot != child || r.Findings[2].Lot != "" || r.Findings[2].Site != d.site[ledger.RoleColdStore] || r.Findings[2].Region == "" {
		t.Fatalf("site positive findings %+v: want the lot there in the last 14 days, the child that left and the site", r.Findings)
	}
	if l := d.lot(recent); !l.Status.Sealed || l.Status.SealSeq != r.Seq {
		t.Errorf("the stock on the positive site is not sealed: %+v", l.Status)
	}
	if d.lot(child).Status.Sealed {
		t.Error("the child that left was sealed where it is; it is told, not sealed")
	}
	// A positive site with nothing in the window still raises an alert.
	r = d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.SiteTested, Site: d.site[ledger.RoleLab], Scope: []string{"workers"}, Samples: 4, Positives: new(int64(1))})
	if len(r.Findings) != 1 || r.Findings[0].Lot != "" || r.Findings[0].Site != d.site[ledger.RoleLab] {
		t.Fatalf("empty site positive: %+v", r.Findings)
	}
	d.verify()
}

func TestSweepFlagsOverdueShipments(t *testing.T) {
	d := newDomain(t)
	lot := d.declare(true)
	d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: d.p[ledger.RoleColdStore].Org, ToSite: d.site[ledger.RoleColdStore], Quantity: g(1_000_000)})
	if r, err := d.l.Sweep(context.Background()); err != nil || r != nil {
		t.Fatalf("sweep before the deadline: %+v, %v", r, err)
	}
	d.now = d.now.Add(48*time.Hour + time.Minute)
	r, err := d.l.Sweep(context.Background())
	if err != nil || r == nil || len(r.Findings) != 1 || r.Findings[0].Rule != ledger.RuleTransitOverdue {
		t.Fatalf("sweep after the deadline: %+v, %v", r, err)
	}
	if r, _ := d.l.Sweep(context.Background()); r != nil {
		t.Fatal("a shipment was flagged twice")
	}
	// Received late after being flagged: no second finding.
	rc := d.rec(ledger.RoleColdStore, ledger.Event{Kind: ledger.Received, Lot: lot, Site: d.site[ledger.RoleColdStore], Quantity: g(1_000_000)})
	if len(rc.Findings) != 0 {
		t.Fatalf("late receipt of a flagged shipment: %+v", rc.Findings)
	}
	d.verify()
}

// A receipt dated within the deadline but recorded after the sweep flagged
// the shipment closes the overdue finding: the goods arrived in time.
func TestLateRecordedReceiptClosesTheOverdueFinding(t *testing.T) {
	d := newDomain(t)
	lot := d.declare(true)
	shipped := d.now
	d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: d.p[ledger.RoleColdStore].Org, ToSite: d.site[ledger.RoleColdStore], Quantity: g(1_000_000)})
	d.now = d.now.Add(72 * time.Hour)
	r, err := d.l.Sweep(context.Background())
	if err != nil || r == nil || len(r.Findings) != 1 {
		t.Fatalf("sweep after the deadline: %+v, %v", r, err)
	}
	if d.lot(lot).OpenFindings != 1 {
		t.Fatalf("open findings after the sweep: %d", d.lot(lot).OpenFindings)
	}
	rc := ledger.Event{Kind: ledger.Received, At: shipped.Add(20 * time.Hour), Lot: lot, Site: d.site[ledger.RoleColdStore], Quantity: g(1_000_000)}
	if _, err := d.l.Submit(context.Background(), d.p[ledger.RoleColdStore], rc, ""); err != nil {
		t.Fatal(err)
	}
	if n := d.lot(lot).OpenFindings; n != 0 {
		t.Fatalf("open findings after a receipt within the deadline: %d", n)
	}
	fs, err := d.l.LotFindings(t.Context(), d.p[ledger.RoleRegulator], lot)
	if err != nil || len(fs) != 1 || fs[0].Open || !strings.Contains(fs[0].ClosedReason, "recorded late") {
		t.Fatalf("the overdue finding: %+v, %v", fs, err)
	}
	d.verify()
}

func TestClosureAndFindingClosed(t *testing.T) {
	d := newDomain(t)
	root := d.declare(true)
	child := d.move(root, ledger.RoleImporter, ledger.RoleRetailer, 400_000, 399_000) // short: a finding
	d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Sold, Lot: root, Quantity: g(600_000), Channel: "wholesale"})
	d.rec(ledger.RoleRetailer, ledger.Event{Kind: ledger.Sold, Lot: child, Quantity: g(399_000), Channel: "retail"})
	if d.lot(root).Status.Closed || d.lot(child).Status.Closed {
		t.Fatal("a lot with an open finding is closed")
	}
	l := d.lot(child)
	d.rec(ledger.RoleRegulator, ledger.Event{Kind: ledger.FindingClosed, Finding: l.Findings[0], Reason: "损耗已核实"})
	if !d.lot(child).Status.Closed || !d.lot(root).Status.Closed {
		t.Fatal("closing the last finding did not close the child and its parent")
	}
	if q := d.lot(root).Quantity; q.Accounted() != q.Declared {
		t.Fatalf("root accounting %+v", q)
	}
	d.verify()
}

func TestVoidRestoresTheLots(t *testing.T) {
	d := newDomain(t)
	root := d.declare(true)
	before := d.lot(root)
	r := d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Shipped, Lot: root, ToOrg: d.p[ledger.RoleRetailer].Org, ToSite: d.site[ledger.RoleRetailer], Quantity: g(100_000)})
	child := r.CreatedLots[0].ID
	d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Voided, Voids: r.Seq, Reason: "wrong lot"})
	after := d.lot(root)
	if after.Quantity != before.Quantity || len(after.Children) != 0 {
		t.Fatalf("after void: %+v children %v; before %+v", after.Quantity, after.Children, before.Quantity)
	}
	if _, err := d.l.Lot(t.Context(), d.admin, child); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("the child of a voided split still exists: %v", err)
	}
	if _, err := d.l.Lot(t.Context(), d.admin, r.CreatedLots[0].TraceCode); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("the child's trace code still resolves: %v", err)
	}
	// Only the latest record of a lot can be voided, once.
	sale := d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Sold, Lot: root, Quantity: g(1000), Channel: "retail"})
	d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Sold, Lot: root, Quantity: g(1000), Channel: "retail"})
	for _, c := range []struct {
		voids int64
		kind  fault.Kind
		who   string
	}{
		{sale.Seq, fault.Rejected, ledger.RoleImporter}, // not the latest
		{r.Seq, fault.Conflict, ledger.RoleImporter},    // already voided
		{sale.Seq + 1, fault.Forbidden, ledger.RoleLab}, // another org
		{1, fault.Rejected, ledger.RoleImporter},        // a registry record
		{99999, fault.Rejected, ledger.RoleImporter},    // no such record
	} {
		_, err := d.l.Submit(context.Background(), d.p[c.who], ledger.Event{Kind: ledger.Voided, Voids: c.voids, Reason: "x", At: d.now}, "")
		if fault.KindOf(err) != c.kind {
			t.Errorf("void %d by %s: %v, want %v", c.voids, c.who, err, c.kind)
		}
	}
	d.verify()
}

func TestTransformAccountsAndInherits(t *testing.T) {
	d := newDomain(t)
	a := d.move(d.declare(true), ledger.RoleImporter, ledger.RoleProcessor, 1_000_000, 1_000_000)
	b := d.move(d.declare(true), ledger.RoleImporter, ledger.RoleProcessor, 1_000_000, 1_000_000)
	d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.Tested, Lot: a, Samples: 1, Scope: []string{"goods"}, Result: "negative"})
	d.rec(ledger.RoleLab, ledger.Event{Kind: ledger.Tested, Lot: b, Samples: 1, Scope: []string{"goods"}, Result: "negative"})
	r := d.rec(ledger.RoleProcessor, ledger.Event{Kind: ledger.Transformed, Site: d.site[ledger.RoleProcessor],
		Inputs: []ledger.LotAmount{{Lot: a, Quantity: ledger.Quantity{Grams: 1_000_000}}, {Lot: b, Quantity: ledger.Quantity{Grams: 500_000}}},
		Outputs: []ledger.Output{
			{Product: ledger.Product{Name: "鸡爪罐头", HSCode: "1602329100", Category: ledger.CategoryNonColdChain}, Quantity: ledger.Quantity{Grams: 1_200_000}},
			{Product: ledger.Product{Name: "下脚料", HSCode: "0207149900", Category: ledger.CategoryFrozen}, Quantity: ledger.Quantity{Grams: 200_000}},
		}})
	if len(r.CreatedLots) != 2 {
		t.Fatalf("%d outputs", len(r.CreatedLots))
	}
	out := d.lot(r.CreatedLots[0].ID)
	if len(out.Parents) != 2 || len(out.Roots) != 2 || out.Product.OriginCountry != "BR" || !out.Status.Cleared {
		t.Errorf("output: parents %v roots %v origin %q cleared %v", out.Parents, out.Roots, out.Product.OriginCountry, out.Status.Cleared)
	}
	if q := d.lot(a).Quantity; q.Transformed != 1_000_000 || q.OnHand != 0 {
		t.Errorf("input a: %+v", q)
	}
	if q := d.lot(b).Quantity; q.Transformed != 500_000 || q.OnHand != 500_000 {
		t.Errorf("input b: %+v", q)
	}
	_, err := d.l.Submit(context.Background(), d.p[ledger.RoleProcessor], ledger.Event{Kind: ledger.Transformed, At: d.now, Site: d.site[ledger.RoleProcessor],
		Inputs:  []ledger.LotAmount{{Lot: b, Quantity: ledger.Quantity{Grams: 500_001}}},
		Outputs: []ledger.Output{{Product: ledger.Product{Name: "x", HSCode: "1602329100", Category: ledger.CategoryFrozen}, Quantity: ledger.Quantity{Grams: 1}}}}, "")
	if fault.KindOf(err) != fault.Rejected {
		t.Fatalf("transforming more than on hand: %v", err)
	}
	d.verify()
}

// A ledger written before the time checks holds declarations dated 1969 and
// 1999; its closure report still answers, with every batch.
func TestReportOnOldDataWithPre1970Declarations(t *testing.T) {
	d := newDomain(t) // the rules of such a ledger: no minimum time
	for _, at := range []time.Time{time.Date(1969, 12, 31, 8, 0, 0, 0, time.UTC), time.Date(1999, 6, 1, 8, 0, 0, 0, time.UTC), d.now} {
		ev := ledger.Event{Kind: ledger.Declared, At: at, Site: "PORT", DeclarationNo: "310120261000000009",
			Product:  &ledger.Product{Name: "冷冻鸡爪", HSCode: "0207142200", Category: ledger.CategoryFrozen, OriginCountry: "BR"},
			Quantity: g(1_000_000)}
		if _, err := d.l.Submit(context.Background(), d.p[ledger.RoleImporter], ev, ""); err != nil {
			t.Fatalf("declaration at %s: %v", at, err)
		}
	}
	for _, region := range []string{"", "33", "330206"} {
		rep, err := d.l.ClosureReport(t.Context(), d.admin, ledger.ReportFilter{Region: region})
		if err != nil {
			t.Fatalf("report of region %q: %v", region, err)
		}
		if len(rep.Batches) != 3 {
			t.Errorf("report of region %q lists %d batches, want 3", region, len(rep.Batches))
		}
	}
	d.verify()
}
