package api_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"coldtrace/ledger"
)

type workerTestsView struct {
	Site      string
	Schedules []ledger.WorkerTestSchedule
}

// TestWorkerTestsOverHTTP: the site's org schedules the tests of its
// high-risk workers (days 1, 3 and 5 after closed-loop work), a lab's
// worker tests fill days 1 and 3, and the sweep finds day 5 missed and opens
// a finding in the site's region, once. Others may neither schedule nor
// read; bad input is refused naming the field and nothing is stored.
func TestWorkerTestsOverHTTP(t *testing.T) {
	w, env := newDemoWorldOnDisk(t)
	const site = "SH-JGC-MH" // sh-warehouse's, in 310112
	ended := time.Now().Add(-6 * 24 * time.Hour).UTC().Truncate(time.Second)
	at := func(d time.Duration) string { return ended.Add(d).Format(time.RFC3339) }
	workers := []map[string]string{{"role": "porter", "name": "吴一", "id_number": "11010519491231002X"}, {"role": "worker", "name": "郑二", "phone": "13811112222"}}
	schedule := func(name string, ev map[string]any) *response {
		ev["kind"] = "worker_tests_scheduled"
		return w.key(name).do("POST", "/v1/events", ev)
	}

	// Refused, and nothing stored: no workers, a bad or unknown site, an
	// org that does not own the site, a lab, another region's regulator.
	size := w.h.l.Size()
	schedule("sh-warehouse", map[string]any{"site": site, "at": at(0)}).wantProblem(400, "invalid", "people")
	schedule("sh-warehouse", map[string]any{"site": "no such site!", "at": at(0), "people": workers}).wantProblem(400, "invalid", "site")
	schedule("sh-warehouse", map[string]any{"site": site, "at": at(0), "people": []map[string]string{{"role": "cook", "name": "吴一"}}}).wantProblem(400, "invalid", "people[0].role")
	schedule("sh-warehouse", map[string]any{"site": "SH-NOPE-01", "at": at(0), "people": workers}).wantProblem(422, "rejected", "site")
	schedule("zj-market", map[string]any{"site": site, "at": at(0), "people": workers}).wantProblem(403, "forbidden", "")
	schedule("sh-lab", map[string]any{"site": site, "at": at(0), "people": workers}).wantProblem(403, "forbidden", "")
	schedule("zj-regulator", map[string]any{"site": site, "at": at(0), "people": workers}).wantProblem(403, "forbidden", "")
	if w.h.l.Size() != size {
		t.Fatalf("refused schedules were recorded: size %d, was %d", w.h.l.Size(), size)
	}

	// The site's org schedules; the record names no worker.
	var sched ledger.Receipt
	schedule("sh-warehouse", map[string]any{"site": site, "at": at(0), "people": workers}).want(201).JSON(&sched)
	r := w.key("sh-regulator").do("GET", "/v1/events/"+itoa(sched.Seq), nil).want(200)
	for _, s := range []string{"吴一", "郑二", "11010519491231002X", "13811112222"} {
		if bytes.Contains(r.Body, []byte(s)) {
			t.Fatalf("the schedule record shows %q: %s", s, r.Body)
		}
	}
	// A regulator of the region schedules another crew that ended an hour ago.
	var recent ledger.Receipt
	schedule("sh-regulator", map[string]any{"site": site, "at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "people": workers[:1]}).want(201).JSON(&recent)

	// The lab tests the workers on day 1 and day 3 (an environment test on
	// day 5 is not a worker test).
	test := func(d time.Duration, scope string) ledger.Receipt {
		return w.event("sh-lab", map[string]any{"kind": "site_tested", "site": site, "at": at(d), "scope": []string{scope}, "samples": 2, "positives": 0,
			"people": []map[string]string{{"role": "worker", "name": "郑二", "phone": "13811112222"}}})
	}
	day1, day3 := test(2*time.Hour, "workers"), test(50*time.Hour, "workers")
	test(4*24*time.Hour+time.Hour, "environment")

	read := func(name string) workerTestsView {
		var v workerTestsView
		w.key(name).do("GET", "/v1/sites/"+site+"/worker-tests", nil).want(200).JSON(&v)
		return v
	}
	status := func(s ledger.WorkerTestSchedule) (out []string) {
		for _, d := range s.Days {
			out = append(out, d.Status)
		}
		return out
	}
	v := read("sh-regulator")
	if len(v.Schedules) != 2 || v.Schedules[0].Seq != sched.Seq || v.Schedules[0].Region != "310112" {
		t.Fatalf("schedules %+v", v)
	}
	old, now := v.Schedules[0], v.Schedules[1]
	if got := status(old); len(got) != 3 || got[0] != "done" || got[1] != "done" || got[2] != "overdue" || old.Days[0].TestSeq != day1.Seq || old.Days[1].TestSeq != day3.Seq {
		t.Fatalf("the old schedule: %v %+v", got, old.Days)
	}
	if got := status(now); got[0] != "due" || got[1] != "upcoming" || got[2] != "upcoming" {
		t.Fatalf("the recent schedule: %v", got)
	}
	if fl := w.findings("sh-regulator", "rule=worker_test_overdue"); len(fl.Findings) != 0 {
		t.Fatalf("a finding before the sweep: %+v", fl)
	}

	// The sweep finds day 5 missed: one finding in the site's region.
	rs, err := w.h.l.SweepWorkerTests(context.Background())
	if err != nil || len(rs) != 1 || len(rs[0].Findings) != 1 {
		t.Fatalf("sweep: %+v %v", rs, err)
	}
	f := rs[0].Findings[0]
	if f.Rule != ledger.RuleWorkerTestOverdue || f.Region != "310112" || f.Site != site {
		t.Fatalf("finding %+v", f)
	}
	if rs, err := w.h.l.SweepWorkerTests(context.Background()); err != nil || len(rs) != 0 {
		t.Fatalf("a second sweep wrote %+v %v", rs, err)
	}
	if fl := w.findings("sh-regulator", "rule=worker_test_overdue"); len(fl.Findings) != 1 || fl.Findings[0].ID != f.ID {
		t.Fatalf("Shanghai's findings: %+v", fl)
	}
	if fl := w.findings("zj-regulator", "rule=worker_test_overdue"); len(fl.Findings) != 0 {
		t.Fatalf("Zhejiang sees %+v", fl)
	}
	if d := read("sh-warehouse").Schedules[0].Days[2]; d.OverdueSeq != f.Seq || d.Finding != f.ID {
		t.Fatalf("day 5 after the sweep: %+v", d)
	}
	w.key("sh-regulator").do("POST", "/v1/events", map[string]any{"kind": "finding_acknowledged", "finding": f.ID}).want(201)

	// Reading: another region's regulator and another org may not; a bad
	// id names the field; an unknown site is 404; no key is 401.
	w.key("zj-regulator").do("GET", "/v1/sites/"+site+"/worker-tests", nil).wantProblem(403, "forbidden", "")
	w.key("zj-market").do("GET", "/v1/sites/"+site+"/worker-tests", nil).wantProblem(403, "forbidden", "")
	w.key("sh-regulator").do("GET", "/v1/sites/bad%20id/worker-tests", nil).wantProblem(400, "invalid", "id")
	w.key("sh-regulator").do("GET", "/v1/sites/SH-NOPE-01/worker-tests", nil).wantProblem(404, "not_found", "")
	w.h.client("").do("GET", "/v1/sites/"+site+"/worker-tests", nil).wantProblem(401, "unauthenticated", "")

	env.Verify(t)
}
