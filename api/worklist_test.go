package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// positiveAtShekouAt declares a batch at the Shekou port yard at t0 and has
// it test positive an hour later; it returns the receipt of the test.
func (w *demoWorld) positiveAtShekouAt(n int, t0 time.Time) ledger.Receipt {
	w.h.t.Helper()
	r := w.event("sz-importer", map[string]any{"kind": "declared", "at": t0.UTC().Format(time.RFC3339), "site": "SZ-SK-PORT",
		"product":        map[string]any{"name": "冷冻鱿鱼", "hs_code": "0307430000", "category": "frozen", "origin_country": "AR", "producer": "Test"},
		"declaration_no": fixtures.DeclarationNo("5316", 2026, 700000+n), "containers": []map[string]any{{"number": fixtures.Container("MSK", 700000+n)}},
		"quantity": map[string]any{"grams": 2_000_000}})
	return w.event("sz-lab", map[string]any{"kind": "tested", "at": t0.Add(time.Hour).UTC().Format(time.RFC3339), "lot": r.Lot, "samples": 5, "scope": []string{"goods"}, "result": "positive"})
}

// findingOf returns the finding of rule among a receipt's findings.
func findingOf(t *testing.T, r ledger.Receipt, rule string) ledger.Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.Rule == rule {
			return f
		}
	}
	t.Fatalf("record %d opened no %s finding: %+v", r.Seq, rule, r.Findings)
	return ledger.Finding{}
}

// TestOverdueOverHTTP: a positive nobody acknowledged within its 2 hours is
// told to a real receiver as finding.overdue, signed, once; a finding
// acknowledged in time and one not yet due are not; the stream tells it too.
func TestOverdueOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	rcv := newReceiver(t)
	var hook struct{ ID, Secret string }
	w.key("gd-regulator").do("POST", "/v1/webhooks", map[string]any{"url": rcv.srv.URL, "rules": []string{"positive_test", "positive_batch"}, "regions": []string{"44"}}).want(201).JSON(&hook)
	rcv.secret = hook.Secret
	startDeliverer(t, w.h.l)

	old := w.positiveAtShekouAt(1, time.Now().Add(-4*time.Hour)) // found 3 h ago: past the 2 h
	late := findingOf(t, old, "positive_test")
	acked := findingOf(t, old, "positive_batch")
	w.event("gd-regulator", map[string]any{"kind": "finding_acknowledged", "finding": acked.ID, "reason": "team sent"})
	fresh := findingOf(t, w.newPositiveInGuangdong(2), "positive_test") // found 59 min ago

	// Nobody may write the sweep's record.
	w.key("gd-regulator").do("POST", "/v1/events", map[string]any{"kind": "findings_overdue", "findings": []string{late.ID}}).wantProblem(400, "invalid", "kind")

	lines := w.stream("gd-regulator")
	r, err := w.h.l.SweepFindings(context.Background())
	if err != nil || r == nil {
		t.Fatalf("sweep: %v, %v", r, err)
	}
	waitFor(t, "finding.overdue", func() bool {
		got, _, _ := rcv.snapshot()
		for _, b := range got {
			if b.Type == "finding.overdue" && b.Finding.ID == late.ID {
				return true
			}
		}
		return false
	})
	// Once: the next sweep finds nothing new.
	if again, err := w.h.l.SweepFindings(context.Background()); err != nil || again != nil {
		t.Errorf("second sweep: %+v, %v; want nothing", again, err)
	}
	time.Sleep(200 * time.Millisecond)
	got, tries, bad := rcv.snapshot()
	if len(bad) > 0 {
		t.Fatalf("receiver found: %v", bad)
	}
	for id, b := range got {
		if b.Type != "finding.overdue" {
			continue
		}
		switch {
		case b.Finding.ID != late.ID:
			t.Errorf("finding %s (%s) told overdue; only %s is", b.Finding.ID, b.Finding.Rule, late.ID)
		case id != "msg_"+strconv.FormatInt(r.Seq, 10)+"_"+late.ID+"_overdue" || tries[id] != 1:
			t.Errorf("overdue event %s tried %d times", id, tries[id])
		case b.Finding.OverdueSeq != r.Seq || !b.Finding.Open || b.Finding.Severity != "critical":
			t.Errorf("overdue payload %+v", b.Finding)
		}
	}
	for _, f := range w.findings("gd-regulator", "rule=positive_test&open=true").Findings {
		switch f.ID {
		case late.ID:
			if f.OverdueSeq != r.Seq || f.OverdueAt == nil {
				t.Errorf("overdue finding listed as %+v", f.Finding)
			}
		case fresh.ID, acked.ID:
			if f.OverdueSeq != 0 {
				t.Errorf("finding %s marked overdue", f.ID)
			}
		}
	}
	var ds struct{ Deliveries []ledger.Delivery }
	w.key("gd-regulator").do("GET", "/v1/webhooks/"+hook.ID+"/deliveries?limit=100", nil).want(200).JSON(&ds)
	n := 0
	for _, d := range ds.Deliveries {
		if d.Type == ledger.AlertOverdue {
			n++
			if d.Finding != late.ID || d.Status != "delivered" {
				t.Errorf("overdue delivery %+v", d)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d overdue deliveries listed, want 1", n)
	}

	// The stream (opened before the sweep) told it too.
	timeout := time.After(10 * time.Second)
	for seen := false; !seen; {
		select {
		case data := <-lines:
			var b alertBody
			if err := json.Unmarshal([]byte(data), &b); err != nil {
				t.Fatal(err)
			}
			seen = b.Type == ledger.AlertOverdue && b.Finding.ID == late.ID
		case <-timeout:
			t.Fatal("the stream did not tell finding.overdue")
		}
	}
}

// stream opens the finding stream as the named actor and returns its data
// lines.
func (w *demoWorld) stream(name string) <-chan string {
	t := w.h.t
	a, _ := w.demo.Actor(name)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", w.h.srv.URL+"/v1/findings/stream", nil)
	req.Header.Set("Authorization", "Bearer "+a.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	lines := make(chan string, 1000)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				lines <- data
			}
		}
		close(lines)
	}()
	time.Sleep(100 * time.Millisecond)
	return lines
}

// TestAssignAndCloseWithEvidenceOverHTTP: Guangdong hands a positive found
// in Shenzhen to a city bureau inside Guangdong; that bureau, which saw
// nothing of it before, gets it on its list and its webhook, and closes it
// with evidence its org uploaded, which the holder of the lot may then
// read and Shanghai may not.
func TestAssignAndCloseWithEvidenceOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	gz := w.delegate("gd-regulator", "gd-regulator", []string{"4401"})
	rcv := newReceiver(t)
	var hook struct{ ID, Secret string }
	gz.do("POST", "/v1/webhooks", map[string]any{"url": rcv.srv.URL}).want(201).JSON(&hook)
	rcv.secret = hook.Secret
	startDeliverer(t, w.h.l)

	f := findingOf(t, w.newPositiveInGuangdong(1), "positive_test") // in 440305
	list := func(c *client) map[string]ledger.Finding {
		var fl findingList
		c.do("GET", "/v1/findings?rule=positive_test", nil).want(200).JSON(&fl)
		out := map[string]ledger.Finding{}
		for _, x := range fl.Findings {
			out[x.ID] = x.Finding
		}
		return out
	}
	if _, ok := list(gz)[f.ID]; ok {
		t.Fatal("Guangzhou sees a Shenzhen finding before it is assigned")
	}
	gz.do("POST", "/v1/events", map[string]any{"kind": "finding_acknowledged", "finding": f.ID}).wantProblem(403, "forbidden", "")

	// Refusals change nothing.
	gd := w.key("gd-regulator")
	gd.do("POST", "/v1/events", map[string]any{"kind": "finding_assigned", "finding": f.ID, "region": "44x"}).wantProblem(400, "invalid", "region")
	gd.do("POST", "/v1/events", map[string]any{"kind": "finding_assigned", "finding": f.ID}).wantProblem(400, "invalid", "region")
	gd.do("POST", "/v1/events", map[string]any{"kind": "finding_assigned", "finding": f.ID, "region": "44"}).wantProblem(403, "forbidden", "")
	gd.do("POST", "/v1/events", map[string]any{"kind": "finding_assigned", "finding": f.ID, "region": "3101"}).wantProblem(403, "forbidden", "")
	w.key("sh-regulator").do("POST", "/v1/events", map[string]any{"kind": "finding_assigned", "finding": f.ID, "region": "3101"}).wantProblem(403, "forbidden", "")
	w.key("sz-importer").do("POST", "/v1/events", map[string]any{"kind": "finding_assigned", "finding": f.ID, "region": "4403"}).wantProblem(403, "forbidden", "")
	if got := list(gd)[f.ID]; got.AssignedTo != "" || got.AssignedSeq != 0 {
		t.Fatalf("a refused assignment changed the finding: %+v", got)
	}

	r := w.event("gd-regulator", map[string]any{"kind": "finding_assigned", "finding": f.ID, "region": "4401", "reason": "广州市局牵头"})
	gd.do("POST", "/v1/events", map[string]any{"kind": "finding_assigned", "finding": f.ID, "region": "4401"}).wantProblem(409, "conflict", "")
	got, ok := list(gz)[f.ID]
	if !ok || got.AssignedTo != "4401" || got.AssignedSeq != r.Seq {
		t.Fatalf("Guangzhou's list after the assignment: %+v (%v)", got, ok)
	}
	if _, ok := list(w.key("sh-regulator"))[f.ID]; ok {
		t.Error("Shanghai sees the assigned finding")
	}
	// The assignee assigns further only inside its own region.
	gz.do("POST", "/v1/events", map[string]any{"kind": "finding_assigned", "finding": f.ID, "region": "4403"}).wantProblem(403, "forbidden", "")

	// Evidence: only the closing regulator's own upload, only as evidence on a closing.
	ev := func(c *client, text string) string {
		var a struct{ SHA256 string }
		c.do("POST", "/v1/attachments", "%PDF-1.4\n% "+text+"\n", "Content-Type", "application/pdf").want(201).JSON(&a)
		return a.SHA256
	}
	mine, theirs := ev(gz, "现场处置记录"), ev(w.key("sz-importer"), "自查报告")
	closing := func(sha, typ string) map[string]any {
		return map[string]any{"kind": "finding_closed", "finding": f.ID, "reason": "已封存并消毒，复检阴性", "attachments": []map[string]any{{"sha256": sha, "type": typ}}}
	}
	gz.do("POST", "/v1/events", closing(theirs, "evidence")).wantProblem(422, "rejected", "attachments[0].sha256")
	gz.do("POST", "/v1/events", closing(mine, "test_report")).wantProblem(422, "rejected", "attachments[0].type")
	w.key("sz-importer").do("POST", "/v1/events", closing(theirs, "evidence")).wantProblem(403, "forbidden", "")
	w.key("sz-importer").do("GET", "/v1/attachments/"+mine, nil).wantProblem(403, "forbidden", "")
	if got := list(gd)[f.ID]; !got.Open || len(got.Evidence) != 0 {
		t.Fatalf("a refused closing changed the finding: %+v", got)
	}
	gz.do("POST", "/v1/events", closing(mine, "evidence")).want(201)
	got = list(gd)[f.ID]
	if got.Open || len(got.Evidence) != 1 || got.Evidence[0].SHA256 != mine || got.ClosedReason != "已封存并消毒，复检阴性" {
		t.Fatalf("closed finding: %+v", got)
	}
	w.key("sz-importer").do("GET", "/v1/attachments/"+mine, nil).want(200) // the finding is about its lot
	w.key("sh-regulator").do("GET", "/v1/attachments/"+mine, nil).wantProblem(403, "forbidden", "")

	// Guangzhou's webhook was told of the assignment and of the closing.
	waitFor(t, "finding.assigned and finding.closed at Guangzhou", func() bool {
		got, _, _ := rcv.snapshot()
		seen := map[string]bool{}
		for _, b := range got {
			if b.Finding.ID == f.ID {
				seen[b.Type] = true
			}
		}
		return seen[ledger.AlertAssigned] && seen[ledger.AlertClosed]
	})
	if _, _, bad := rcv.snapshot(); len(bad) > 0 {
		t.Fatalf("receiver found: %v", bad)
	}
}

// TestSameTruckContactOverHTTP: a lot that rode the same truck as a lot of
// a positive batch, at an overlapping time, and shared no site with it, is
// a contact with a finding in its region and in the recall, with the plate
// as the reason; a lot on the same truck at another time is not.
func TestSameTruckContactOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	t0 := time.Now().Add(-12 * time.Hour).UTC()
	at := func(h float64) string { return t0.Add(time.Duration(h * float64(time.Hour))).Format(time.RFC3339) }
	declare := func(n int, h float64) string {
		r := w.event("sz-importer", map[string]any{"kind": "declared", "at": at(h), "site": "SZ-SK-PORT",
			"product":        map[string]any{"name": "冷冻虾仁", "hs_code": "0306171990", "category": "frozen", "origin_country": "EC", "producer": "Test"},
			"declaration_no": fixtures.DeclarationNo("5316", 2026, 600000+n), "containers": []map[string]any{{"number": fixtures.Container("MSK", 600000+n)}},
			"quantity": map[string]any{"grams": 1_000_000}})
		return r.Lot
	}
	ship := func(lot, to string, h float64) {
		toOrg := map[string]string{"SZ-JGC-BA": "sz-warehouse", "SZ-YT-CS": "sz-coldstore"}[to]
		w.event("sz-importer", map[string]any{"kind": "shipped", "at": at(h), "lot": lot, "to_org": w.org(toOrg), "to_site": to,
			"quantity": map[string]any{"grams": 1_000_000}, "vehicle": map[string]any{"plate": "粤B12345"}})
		w.event(toOrg, map[string]any{"kind": "received", "at": at(h + 2), "lot": lot, "site": to, "quantity": map[string]any{"grams": 1_000_000}})
	}
	rider := declare(1, 0)
	ship(rider, "SZ-JGC-BA", 1)   // on the truck from hour 1 to 3
	positive := declare(2, 1.5)   // on the yard after the rider left it
	ship(positive, "SZ-YT-CS", 2) // on the truck from hour 2 to 4: with the rider
	later := declare(3, 4.5)
	ship(later, "SZ-JGC-BA", 6) // the same truck, hours 6 to 8
	rec := w.event("sz-lab", map[string]any{"kind": "tested", "at": at(10), "lot": positive, "samples": 5, "scope": []string{"goods"}, "result": "positive"})

	contacts := map[string]ledger.Finding{}
	for _, f := range rec.Findings {
		if f.Rule == "contact" {
			contacts[f.Lot] = f
		}
	}
	c, ok := contacts[rider]
	if _, bad := contacts[later]; !ok || bad || c.Region != "440306" || !strings.Contains(c.Detail, "粤B12345") {
		t.Fatalf("contact findings %+v; want one on the rider (%s) in 440306 naming the plate, none on %s", contacts, rider, later)
	}
	if fl := w.findings("gd-regulator", "rule=contact&open=true"); !slices.ContainsFunc(fl.Findings, func(f struct{ ledger.Finding }) bool { return f.ID == c.ID }) {
		t.Error("Guangdong's list lacks the contact finding")
	}
	var rc struct {
		Contacts []ledger.Contact `json:"contacts"`
	}
	w.key("gd-regulator").do("GET", "/v1/lots/"+positive+"/recall", nil).want(200).JSON(&rc)
	var plates []string
	for _, x := range rc.Contacts {
		if x.Lot == later {
			t.Errorf("the lot on the truck at another time is a contact: %+v", x)
		}
		if x.Lot == rider {
			plates = append(plates, x.Plate)
		}
	}
	if len(plates) != 1 || plates[0] != "粤B12345" {
		t.Errorf("recall contacts %+v; want the rider once, by plate", rc.Contacts)
	}
}

// TestRectificationNoticeOverHTTP: Zhejiang's regulator issues a
// rectification notice on an operator's violation; the PDF names the
// operator, its findings, the deadline and the legal basis, is attached to
// the finding, and is read by the operator and not by Shanghai. Refusals
// store nothing.
func TestRectificationNoticeOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	var f *ledger.Finding
	for _, x := range w.findings("zj-regulator", "open=true&rule=four_no").Findings {
		if x.Org != "" && f == nil {
			f = &x.Finding
		}
	}
	if f == nil {
		t.Fatal("no open four_no finding about an operator in the demo's Zhejiang")
	}
	var operator string
	for _, name := range []string{"zj-market", "zj-coldstore", "zj-processor", "sh-warehouse", "sh-importer"} {
		if w.org(name) == f.Org {
			operator = name
		}
	}
	if operator == "" {
		t.Fatalf("no demo actor holds finding %+v", f)
	}
	deadline := time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Minute)
	path := "/v1/findings/" + f.ID + "/notice"
	zj := w.key("zj-regulator")
	zj.do("POST", path, map[string]any{}).wantProblem(400, "invalid", "deadline")
	zj.do("POST", path, map[string]any{"deadline": "soon"}).wantProblem(400, "invalid", "")
	zj.do("POST", path, map[string]any{"deadline": time.Now().Add(-time.Hour).Format(time.RFC3339)}).wantProblem(422, "rejected", "deadline")
	w.key("sh-regulator").do("POST", path, map[string]any{"deadline": deadline}).wantProblem(404, "not_found", "")
	w.key(operator).do("POST", path, map[string]any{"deadline": deadline}).wantProblem(403, "forbidden", "")
	zj.do("POST", "/v1/findings/999999-0/notice", map[string]any{"deadline": deadline}).wantProblem(404, "not_found", "")
	for _, x := range w.findings("zj-regulator", "rule=four_no").Findings {
		if x.ID == f.ID && len(x.Notices) != 0 {
			t.Fatalf("a refused notice was attached: %+v", x.Notices)
		}
	}

	var out struct {
		Receipt ledger.Receipt `json:"receipt"`
		SHA256  string         `json:"sha256"`
	}
	zj.do("POST", path, map[string]any{"deadline": deadline}).want(201).JSON(&out)
	var got *ledger.Finding
	for _, x := range w.findings("zj-regulator", "rule=four_no").Findings {
		if x.ID == f.ID {
			got = &x.Finding
		}
	}
	if got == nil || len(got.Notices) != 1 || got.Notices[0].SHA256 != out.SHA256 || !got.Notices[0].Deadline.Equal(deadline) || got.Notices[0].Seq != out.Receipt.Seq {
		t.Fatalf("notice on the finding: %+v", got)
	}
	pdf := w.key(operator).do("GET", "/v1/attachments/"+out.SHA256, nil).want(200).Body
	w.key("sh-regulator").do("GET", "/v1/attachments/"+out.SHA256, nil).wantProblem(403, "forbidden", "")
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the notice is not a PDF: %.40q", pdf)
	}
	src := filepath.Join(t.TempDir(), "notice.pdf")
	if err := os.WriteFile(src, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	txt, err := exec.Command("pdftotext", src, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (make report-deps installs it): %v", err)
	}
	var org struct{ Name string }
	w.h.admin.do("GET", "/v1/orgs/"+f.Org, nil).want(200).JSON(&org)
	text := strings.Join(strings.Fields(string(txt)), "")
	for _, want := range []string{"整改通知书", org.Name, f.ID, deadline.In(time.FixedZone("CST", 8*3600)).Format("2006年01月02日15:04"), "食品安全法》第五十三条"} {
		if !strings.Contains(text, want) {
			t.Errorf("the notice's text lacks %q:\n%s", want, txt)
		}
	}
}
