package main_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"coldtrace/fixtures"
)

// TestBrowserPeopleOnlyToThoseWhoMay: a positive lot's porter and sampler
// are in its annexes. The Guangdong regulator's recall view shows their
// pseudonyms and roles, never their names, until it opens an annex, which
// the access log then shows; the lot view offers the annex too. The
// importer, which reads the same recall and lot, sees nothing of them;
// another region's regulator is refused the lot.
func TestBrowserPeopleOnlyToThoseWhoMay(t *testing.T) {
	chromiumPath(t)
	dir := t.TempDir()
	s := startServer(t, dir, "COLDTRACE_DEMO=true")
	d := readDemo(t, dir)
	const porter, porterID, sampler, samplerPhone = "赵六", "11010519491231002X", "周九", "13912345678"
	at := func(h time.Duration) string { return time.Now().Add(-3*time.Hour + h).UTC().Format(time.RFC3339) }
	var decl struct {
		Lot       string
		TraceCode string `json:"trace_code"`
	}
	if code := call(t, http.DefaultClient, "POST", s.URL+"/v1/events", d.keys["sz-importer"], map[string]any{"kind": "declared", "at": at(0), "site": "SZ-SK-PORT",
		"product":        map[string]any{"name": "冷冻带鱼", "hs_code": "0303890090", "category": "frozen", "origin_country": "NO", "spec": "10kg/箱", "production_date": "2026-09-01", "shelf_life_days": 540, "producer": "Test"},
		"declaration_no": fixtures.DeclarationNo("5316", 2026, 900041), "containers": []map[string]any{{"number": fixtures.Container("MSK", 800041), "seal": "NO1"}},
		"quantity": map[string]any{"grams": 1_000_000}}, &decl); code != 201 {
		t.Fatalf("declare: %d", code)
	}
	if code := call(t, http.DefaultClient, "POST", s.URL+"/v1/events", d.keys["sz-disinfector"], map[string]any{"kind": "disinfected", "at": at(time.Hour), "lot": decl.Lot,
		"scope": []string{"container"}, "agent": "过氧乙酸", "people": []map[string]string{{"role": "porter", "name": porter, "id_number": porterID}}}, nil); code != 201 {
		t.Fatalf("disinfected: %d", code)
	}
	if code := call(t, http.DefaultClient, "POST", s.URL+"/v1/events", d.keys["sz-lab"], map[string]any{"kind": "tested", "at": at(2 * time.Hour), "lot": decl.Lot,
		"samples": 5, "scope": []string{"goods"}, "result": "positive", "people": []map[string]string{{"role": "sampler", "name": sampler, "phone": samplerPhone}}}, nil); code != 201 {
		t.Fatalf("positive test: %d", code)
	}
	secret := []string{porter, porterID, sampler, samplerPhone}
	mainText := func(p *browserPage) string { return p.text("main") }

	p := newBrowser(t, s.URL, shotsDir(t, "people"))
	signIn := func(name string) {
		p.do(chromedp.Navigate(s.URL + "/ui/#/signin"))
		p.do(chromedp.Evaluate[chromedp.Void](`sessionStorage.clear()`))
		p.do(chromedp.Navigate(s.URL + "/ui/#/signin"))
		p.wait("the sign-in form", `location.hash === '#/signin' && !!document.querySelector('#key')`)
		p.do(chromedp.SendKeys(chromedp.ID("key"), d.keys[name]+"\r"))
		p.wait("the search view", `location.hash === '#/search' && !!document.querySelector('#q')`)
	}

	// The regulator of the region: pseudonyms and roles, no names.
	signIn("gd-regulator")
	p.do(chromedp.Navigate(s.URL + "/ui/#/lot/" + decl.TraceCode + "/recall"))
	p.wait("the people of the recall", `document.querySelectorAll('#people .person').length === 2`)
	txt := mainText(p)
	for _, s := range secret {
		if strings.Contains(txt, s) {
			t.Fatalf("the recall view shows %q before any annex was opened", s)
		}
	}
	if n := strings.Count(p.text("#people"), "p_"); n < 2 {
		t.Fatalf("the people section shows %d pseudonyms: %q", n, p.text("#people"))
	}
	p.shot("recall-people")
	var reads []struct{ Seq int64 }
	getJSON(t, s.URL, adminKey, "/v1/annex-reads", &struct {
		Reads *[]struct{ Seq int64 } `json:"reads"`
	}{&reads})
	before := len(reads)
	// An explicit open shows the names, and the access log has the read.
	p.do(chromedp.Click(chromedp.CSS(`#people .annex-open`)))
	p.wait("the opened annex", `[...document.querySelectorAll('#people .annex-person')].some((e) => e.innerText.includes('`+porter+`') || e.innerText.includes('`+sampler+`'))`)
	p.shot("annex-opened")
	getJSON(t, s.URL, adminKey, "/v1/annex-reads", &struct {
		Reads *[]struct{ Seq int64 } `json:"reads"`
	}{&reads})
	if len(reads) != before+1 {
		t.Fatalf("annex reads %d, was %d: the open is not logged", len(reads), before)
	}
	// The lot view offers the annexes of its records.
	p.do(chromedp.Navigate(s.URL + "/ui/#/lot/" + decl.TraceCode))
	p.wait("the lot's annex lines", `document.querySelectorAll('.annex-line .annex-open').length >= 2`)
	p.wantQuiet()

	// The importer reads the same recall and lot, and sees no one.
	signIn("sz-importer")
	p.do(chromedp.Navigate(s.URL + "/ui/#/lot/" + decl.TraceCode + "/recall"))
	p.wait("the importer's recall", `!!document.querySelector('#recall-csv')`)
	if eval[bool](p, `!!document.querySelector('#people, .annex-open')`) || strings.Contains(mainText(p), "p_") {
		t.Fatalf("the importer's recall view shows people: %q", mainText(p))
	}
	p.do(chromedp.Navigate(s.URL + "/ui/#/lot/" + decl.TraceCode))
	p.wait("the importer's lot view", `!!document.querySelector('.timeline')`)
	if eval[bool](p, `!!document.querySelector('.annex-line, .annex-open')`) {
		t.Fatal("the importer's lot view offers annexes")
	}
	txt = mainText(p)
	for _, s := range secret {
		if strings.Contains(txt, s) {
			t.Fatalf("the importer's lot view shows %q", s)
		}
	}
	p.shot("importer-lot")
	p.wantQuiet()

	// Another region's regulator is refused the lot and its recall.
	signIn("sh-regulator")
	p.do(chromedp.Navigate(s.URL + "/ui/#/lot/" + decl.TraceCode + "/recall"))
	p.wait("the refusal", `!!document.querySelector('main .empty')`)
	if eval[bool](p, `!!document.querySelector('#people, .annex-open')`) || strings.Contains(mainText(p), "p_") {
		t.Fatalf("another region's regulator sees people: %q", mainText(p))
	}
	s.stop()
}
