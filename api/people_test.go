package api_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"coldtrace/ledger"
)

// TestPeopleInRecallOverHTTP: after a positive, the recall lists the
// pseudonymous people who handled the family's goods, the same person on
// two events under one pseudonym, and never their names or numbers.
func TestPeopleInRecallOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	at := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	root, _ := w.cleanLotInShanghai(t0)
	const porterID, driverPhone = "11010519491231002X", "13912345678"
	ship := w.event("sh-warehouse", map[string]any{"kind": "shipped", "at": at(8), "lot": root, "to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(4000),
		"people": []map[string]string{{"role": "porter", "name": "赵六", "id_number": porterID}, {"role": "driver", "name": "钱七", "phone": "139-1234-5678"}}})
	child := ship.CreatedLots[0].TraceCode
	recv := w.event("zj-market", map[string]any{"kind": "received", "at": at(14), "lot": child, "site": "ZJ-MKT-GS", "quantity": kgs(4000),
		"people": []map[string]string{{"role": "handler", "name": "赵六", "id_number": "11010519491231002x"}, {"role": "worker", "name": "孙八"}}})
	pos := w.event("zj-lab", map[string]any{"kind": "tested", "at": at(16), "lot": child, "samples": 10, "scope": []string{"goods"}, "result": "positive",
		"people": []map[string]string{{"role": "sampler", "name": "周九", "phone": driverPhone}}})

	var rc struct {
		People []ledger.RecallPerson
	}
	// The people across regions, as an admin (or auditor) reads them.
	r := w.h.admin.do("GET", "/v1/lots/"+child+"/recall", nil).want(200)
	r.JSON(&rc)
	for _, s := range []string{porterID, "11010519491231002x", driverPhone, "赵六", "钱七", "周九"} {
		if bytes.Contains(r.Body, []byte(s)) {
			t.Fatalf("the recall shows %q: %s", s, r.Body)
		}
	}
	events := map[int64]map[string]string{} // seq -> role -> pseudonym
	var porter *ledger.RecallPerson
	for i, p := range rc.People {
		for _, e := range p.Events {
			if events[e.Seq] == nil {
				events[e.Seq] = map[string]string{}
			}
			events[e.Seq][e.Role] = p.Pseudonym
		}
		if slices.Contains(p.Roles, "porter") {
			porter = &rc.People[i]
		}
	}
	// The porter of the shipment is the handler of the receipt: one
	// pseudonym (the ID number's x is normalised), two roles, two events.
	if porter == nil || events[ship.Seq]["porter"] != porter.Pseudonym || events[recv.Seq]["handler"] != porter.Pseudonym ||
		len(porter.Roles) != 2 {
		t.Fatalf("the porter is not one person on two events: %+v", rc.People)
	}
	// Without an ID number the mobile links: the same phone, written two
	// ways, is one pseudonym; a person with a name alone is not linked.
	if events[ship.Seq]["driver"] == "" || events[ship.Seq]["driver"] != events[pos.Seq]["sampler"] {
		t.Fatalf("driver and sampler with one phone: %+v", events)
	}
	if _, ok := events[recv.Seq]["worker"]; ok {
		t.Fatalf("a person with a name alone got a pseudonym: %+v", events)
	}
	// A regulator sees the people of the work done in its regions only:
	// Zhejiang the receipt and the test, Shanghai the shipment.
	seqsOf := func(name string) []int64 {
		var rc struct{ People []ledger.RecallPerson }
		w.key(name).do("GET", "/v1/lots/"+child+"/recall", nil).want(200).JSON(&rc)
		var seqs []int64
		for _, p := range rc.People {
			for _, e := range p.Events {
				if !slices.Contains(seqs, e.Seq) {
					seqs = append(seqs, e.Seq)
				}
			}
		}
		slices.Sort(seqs)
		return seqs
	}
	if got := seqsOf("zj-regulator"); !slices.Equal(got, []int64{recv.Seq, pos.Seq}) {
		t.Fatalf("Zhejiang sees the people of records %v", got)
	}
	if got := seqsOf("sh-regulator"); !slices.Equal(got, []int64{ship.Seq}) {
		t.Fatalf("Shanghai sees the people of records %v", got)
	}
	// The market holds the lot and reads its recall, but no people.
	if got := seqsOf("zj-market"); len(got) != 0 {
		t.Fatalf("an operator sees the people of records %v", got)
	}
	// Erasing the receipt's annex takes the person off that event.
	w.h.admin.do("DELETE", "/v1/events/"+itoa(recv.Seq)+"/annex", map[string]any{"reason": "保存期满"}).want(200)
	w.h.admin.do("GET", "/v1/lots/"+child+"/recall", nil).want(200).JSON(&rc)
	for _, p := range rc.People {
		for _, e := range p.Events {
			if e.Seq == recv.Seq {
				t.Fatalf("an erased annex's person is still in the recall: %+v", rc.People)
			}
		}
	}
	// An unrelated importer sees no people of a family it never held.
	w.key("sz-importer").do("GET", "/v1/lots/"+child+"/recall", nil).wantProblem(403, "forbidden", "")
}

// TestPeopleToTestOverHTTP: after a positive, each region where people
// worked on the batch gets one people_to_test finding naming their
// pseudonyms, roles and events, never their names or numbers; the alert
// carries them too; another region and the operators see nothing of it; an
// erased annex takes its people off the finding; the log still replays.
func TestPeopleToTestOverHTTP(t *testing.T) {
	w, env := newDemoWorldOnDisk(t)
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	at := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	root, _ := w.cleanLotInShanghai(t0)
	const porterID, driverPhone = "11010519491231002X", "13912345678"
	ship := w.event("sh-warehouse", map[string]any{"kind": "shipped", "at": at(8), "lot": root, "to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(4000),
		"people": []map[string]string{{"role": "porter", "name": "赵六", "id_number": porterID}, {"role": "driver", "name": "钱七", "phone": driverPhone}}})
	child := ship.CreatedLots[0].TraceCode
	recv := w.event("zj-market", map[string]any{"kind": "received", "at": at(14), "lot": child, "site": "ZJ-MKT-GS", "quantity": kgs(4000),
		"people": []map[string]string{{"role": "handler", "name": "赵六", "id_number": porterID}}})
	// No finding before the positive.
	if fl := w.findings("zj-regulator", "rule=people_to_test"); len(fl.Findings) != 0 {
		t.Fatalf("people_to_test before any positive: %+v", fl)
	}
	pos := w.event("zj-lab", map[string]any{"kind": "tested", "at": at(16), "lot": child, "samples": 10, "scope": []string{"goods"}, "result": "positive",
		"people": []map[string]string{{"role": "sampler", "name": "周九", "phone": "13700001111"}}})

	one := func(name, region string) ledger.Finding {
		t.Helper()
		r := w.key(name).do("GET", "/v1/findings?rule=people_to_test", nil).want(200)
		for _, s := range []string{porterID, driverPhone, "13700001111", "赵六", "钱七", "周九"} {
			if bytes.Contains(r.Body, []byte(s)) {
				t.Fatalf("%s's findings show %q: %s", name, s, r.Body)
			}
		}
		var fl findingList
		r.JSON(&fl)
		if len(fl.Findings) != 1 || fl.Findings[0].Region != region || fl.Findings[0].Seq != pos.Seq || !fl.Findings[0].Open {
			t.Fatalf("%s: want one open people_to_test finding in %s: %s", name, region, r.Body)
		}
		return fl.Findings[0].Finding
	}
	roles := func(f ledger.Finding) map[int64][]string { // seq -> roles of pseudonymous people
		out := map[int64][]string{}
		for _, p := range f.People {
			if !strings.HasPrefix(p.Pseudonym, "p_") {
				t.Fatalf("not a pseudonym: %+v", p)
			}
			for _, e := range p.Events {
				out[e.Seq] = append(out[e.Seq], e.Role)
			}
		}
		for _, rs := range out {
			slices.Sort(rs)
		}
		return out
	}
	// Shanghai: the shipment's porter and driver, where they loaded it.
	sh := one("sh-regulator", "310112")
	if !slices.Equal(sh.PeopleEvents, []int64{ship.Seq}) || !slices.Equal(roles(sh)[ship.Seq], []string{"driver", "porter"}) {
		t.Fatalf("Shanghai's finding: %+v", sh)
	}
	// Zhejiang: the receipt's handler (the same person as the porter, one
	// pseudonym across regions) and the positive test's sampler.
	zj := one("zj-regulator", "330105")
	if !slices.Equal(zj.PeopleEvents, []int64{recv.Seq, pos.Seq}) || !slices.Equal(roles(zj)[recv.Seq], []string{"handler"}) || !slices.Equal(roles(zj)[pos.Seq], []string{"sampler"}) {
		t.Fatalf("Zhejiang's finding: %+v", zj)
	}
	porter := func(f ledger.Finding, role string) string {
		for _, p := range f.People {
			if slices.Contains(p.Roles, role) {
				return p.Pseudonym
			}
		}
		return ""
	}
	if porter(sh, "porter") == "" || porter(sh, "porter") != porter(zj, "handler") {
		t.Fatalf("the porter is not one pseudonym in both regions: %+v / %+v", sh.People, zj.People)
	}
	// Another region's regulator and the operators see none of it.
	for _, name := range []string{"gd-regulator", "zj-market", "sh-warehouse", "zj-lab"} {
		if fl := w.findings(name, "rule=people_to_test"); len(fl.Findings) != 0 {
			t.Fatalf("%s sees %+v", name, fl)
		}
	}
	// The alert told to Zhejiang names the pseudonyms too.
	zjKey, _ := w.demo.Actor("zj-regulator")
	p, err := w.h.l.Authenticate(context.Background(), zjKey.Secret)
	if err != nil {
		t.Fatal(err)
	}
	alerts, _, err := w.h.l.Alerts(context.Background(), p, "", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	told := false
	for _, a := range alerts {
		if a.Rule == ledger.RulePeopleToTest {
			told = bytes.Contains(a.Payload, []byte(porter(zj, "handler"))) && bytes.Contains(a.Payload, []byte(porter(zj, "sampler"))) && !bytes.Contains(a.Payload, []byte("赵六"))
		}
	}
	if !told {
		t.Fatalf("no people_to_test alert naming the pseudonyms: %+v", alerts)
	}
	// An operator may not close it; the region's regulator takes it on.
	w.key("zj-market").do("POST", "/v1/events", map[string]any{"kind": "finding_acknowledged", "finding": zj.ID}).wantProblem(403, "forbidden", "")
	w.key("sh-regulator").do("POST", "/v1/events", map[string]any{"kind": "finding_acknowledged", "finding": zj.ID}).wantProblem(403, "forbidden", "")
	w.key("zj-regulator").do("POST", "/v1/events", map[string]any{"kind": "finding_acknowledged", "finding": zj.ID}).want(201)
	// Erasing the receipt's annex takes its handler off the finding; the
	// record stays named.
	w.h.admin.do("DELETE", "/v1/events/"+itoa(recv.Seq)+"/annex", map[string]any{"reason": "本人申请删除"}).want(200)
	zj = one("zj-regulator", "330105")
	if _, ok := roles(zj)[recv.Seq]; ok || !slices.Equal(zj.PeopleEvents, []int64{recv.Seq, pos.Seq}) {
		t.Fatalf("after erasure: %+v", zj)
	}
	env.Verify(t)
}

// TestSitePositivePeopleToTestOverHTTP: a positive environment test at a
// site opens, in the site's region, a people_to_test finding naming the
// pseudonyms of those who worked at the site or on the goods that were on
// it inside the window; a negative test opens none, and another region and
// the operators see nothing of it.
func TestSitePositivePeopleToTestOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	at := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	root, _ := w.cleanLotInShanghai(t0)
	ship := w.event("sh-warehouse", map[string]any{"kind": "shipped", "at": at(8), "lot": root, "to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(4000),
		"people": []map[string]string{{"role": "porter", "name": "赵六", "id_number": "11010519491231002X"}}})
	child := ship.CreatedLots[0].TraceCode
	recv := w.event("zj-market", map[string]any{"kind": "received", "at": at(14), "lot": child, "site": "ZJ-MKT-GS", "quantity": kgs(4000),
		"people": []map[string]string{{"role": "handler", "name": "孙八", "phone": "13611112222"}}})
	site := func(h, positives int) ledger.Receipt {
		return w.event("zj-lab", map[string]any{"kind": "site_tested", "site": "ZJ-MKT-GS", "at": at(h), "scope": []string{"environment"}, "samples": 5, "positives": positives,
			"people": []map[string]string{{"role": "sampler", "name": "周九", "phone": "13700001111"}}})
	}
	// A negative test opens nothing.
	neg := site(15, 0)
	var all findingList
	w.h.admin.do("GET", "/v1/findings?rule=people_to_test", nil).want(200).JSON(&all)
	if len(all.Findings) != 0 {
		t.Fatalf("people_to_test after a negative site test: %+v", all)
	}
	pos := site(16, 2)
	r := w.key("zj-regulator").do("GET", "/v1/findings?rule=people_to_test", nil).want(200)
	for _, s := range []string{"孙八", "周九", "13611112222", "13700001111"} {
		if bytes.Contains(r.Body, []byte(s)) {
			t.Fatalf("the finding shows %q: %s", s, r.Body)
		}
	}
	var fl findingList
	r.JSON(&fl)
	if len(fl.Findings) != 1 {
		t.Fatalf("want one people_to_test finding in Zhejiang: %s", r.Body)
	}
	f := fl.Findings[0]
	// The receipt's handler worked on goods that were on the site, the
	// samplers of both tests at the site; the Shanghai porter loaded the
	// parent lot elsewhere.
	if f.Region != "330105" || f.Seq != pos.Seq || !f.Open || !slices.Equal(f.PeopleEvents, []int64{recv.Seq, neg.Seq, pos.Seq}) {
		t.Fatalf("Zhejiang's finding: %+v", f)
	}
	roles := map[string]bool{}
	for _, p := range f.People {
		if !strings.HasPrefix(p.Pseudonym, "p_") {
			t.Fatalf("not a pseudonym: %+v", p)
		}
		for _, ro := range p.Roles {
			roles[ro] = true
		}
	}
	if !roles["handler"] || !roles["sampler"] || roles["porter"] {
		t.Fatalf("the finding's people: %+v", f.People)
	}
	for _, name := range []string{"sh-regulator", "gd-regulator", "zj-market", "zj-lab", "sh-warehouse"} {
		if fl := w.findings(name, "rule=people_to_test"); len(fl.Findings) != 0 {
			t.Fatalf("%s sees %+v", name, fl)
		}
	}
}

// TestSiteEventPeopleInRecallOverHTTP: the recall lists the people of the
// site tests at a family site while its goods were there (found through the
// index of site events), not those of a test there before the goods came nor
// of a test at another site, and a regulator of another region sees none.
func TestSiteEventPeopleInRecallOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	at := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	root, _ := w.cleanLotInShanghai(t0)
	site := func(h int, id, phone string) ledger.Receipt {
		return w.event("zj-lab", map[string]any{"kind": "site_tested", "site": id, "at": at(h), "scope": []string{"environment"}, "samples": 5, "positives": 0,
			"people": []map[string]string{{"role": "sampler", "name": "周九", "phone": phone}}})
	}
	before := site(7, "ZJ-MKT-GS", "13700001111")
	ship := w.event("sh-warehouse", map[string]any{"kind": "shipped", "at": at(8), "lot": root, "to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(4000),
		"people": []map[string]string{{"role": "porter", "name": "赵六", "id_number": "11010519491231002X"}}})
	child := ship.CreatedLots[0].TraceCode
	w.event("zj-market", map[string]any{"kind": "received", "at": at(14), "lot": child, "site": "ZJ-MKT-GS", "quantity": kgs(4000)})
	inside := site(15, "ZJ-MKT-GS", "13700002222")
	other := site(15, "ZJ-XW-PLANT", "13700003333")

	seqs := func(key, lot string) []int64 {
		var rc struct{ People []ledger.RecallPerson }
		w.key(key).do("GET", "/v1/lots/"+lot+"/recall", nil).want(200).JSON(&rc)
		var out []int64
		for _, p := range rc.People {
			for _, e := range p.Events {
				out = append(out, e.Seq)
			}
		}
		slices.Sort(out)
		return slices.Compact(out) // a shipment is an event of two lots
	}
	var rc struct{ People []ledger.RecallPerson }
	w.h.admin.do("GET", "/v1/lots/"+child+"/recall", nil).want(200).JSON(&rc)
	var got []int64
	for _, p := range rc.People {
		for _, e := range p.Events {
			got = append(got, e.Seq)
			if e.Seq == inside.Seq && (e.Kind != ledger.SiteTested || e.Site != "ZJ-MKT-GS" || e.Role != "sampler" || e.Lot != "") {
				t.Fatalf("the site test's event: %+v", e)
			}
		}
	}
	slices.Sort(got)
	got = slices.Compact(got)
	if want := []int64{ship.Seq, inside.Seq}; !slices.Equal(got, want) {
		t.Fatalf("the recall's people events are %v, want %v (site test before the goods: %d, at another site: %d)", got, want, before.Seq, other.Seq)
	}
	if got := seqs("zj-regulator", child); !slices.Equal(got, []int64{inside.Seq}) {
		t.Fatalf("Zhejiang sees the people of records %v, want [%d]", got, inside.Seq)
	}
	if got := seqs("sh-regulator", root); !slices.Equal(got, []int64{ship.Seq}) {
		t.Fatalf("Shanghai sees the people of records %v, want [%d]", got, ship.Seq)
	}
}
