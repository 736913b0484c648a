package api_test

import (
	"bytes"
	"slices"
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
	r := w.key("zj-regulator").do("GET", "/v1/lots/"+child+"/recall", nil).want(200)
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
	// Erasing the receipt's annex takes the person off that event.
	w.h.admin.do("DELETE", "/v1/events/"+itoa(recv.Seq)+"/annex", map[string]any{"reason": "保存期满"}).want(200)
	w.key("zj-regulator").do("GET", "/v1/lots/"+child+"/recall", nil).want(200).JSON(&rc)
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
