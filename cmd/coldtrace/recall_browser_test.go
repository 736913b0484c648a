package main_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"coldtrace/fixtures"
)

// TestBrowserRecallByRegion: Henan's regulator opens the recall of the
// demo's positive batch (found in Henan, most of it in Guangdong) and sees
// it by region: who holds what, sealed or not, and the progress of each
// region. Then a lot that rode the same truck as a new positive in
// Guangdong is listed among the contacts with the plate as the reason.
func TestBrowserRecallByRegion(t *testing.T) {
	chromiumPath(t)
	dir := t.TempDir()
	s := startServer(t, dir, "COLDTRACE_DEMO=true")
	d := readDemo(t, dir)
	p := newBrowser(t, s.URL, shotsDir(t, "recall"))
	signIn := func(name string) {
		p.do(chromedp.Navigate(s.URL + "/ui/#/signin"))
		p.wait("the sign-in form", `location.hash === '#/signin' && !!document.querySelector('#key')`)
		p.do(chromedp.SendKeys(chromedp.ID("key"), d.keys[name]+"\r"))
		p.wait("the search view", `location.hash === '#/search' && !!document.querySelector('#q')`)
	}
	openRecall := func(code string) {
		p.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = '#/lot/%s/recall'`, code)))
		p.wait("the recall view", `!!document.getElementById('recall-csv') && !!document.getElementById('recall-progress')`)
	}
	signIn("hn-regulator")
	openRecall(d.positive)
	rows := eval[[]string](p, `[...document.querySelectorAll('#recall-progress tbody tr')].map(r => r.innerText)`)
	var gd, hn bool
	for _, r := range rows {
		gd = gd || strings.HasPrefix(r, "44")
		hn = hn || strings.HasPrefix(r, "41")
		if !strings.Contains(r, "%") && !strings.Contains(r, "—") {
			t.Errorf("region row without progress: %q", r)
		}
	}
	if !gd || !hn {
		t.Errorf("progress by region %q: want rows for Guangdong (44) and Henan (41)", rows)
	}
	body := p.text("main")
	for _, want := range []string{"各地区进度", "已封存", "封存进度", "处置进度"} {
		if !strings.Contains(body, want) {
			t.Errorf("recall view lacks %q", want)
		}
	}
	p.wantAccessible("recall by region")
	p.shot("recall-by-region")

	// A same-truck contact, recorded over the API.
	t0 := time.Now().Add(-12 * time.Hour).UTC()
	at := func(h float64) string { return t0.Add(time.Duration(h * float64(time.Hour))).Format(time.RFC3339) }
	post := func(who string, ev map[string]any) map[string]any {
		var out map[string]any
		if code := call(t, http.DefaultClient, "POST", s.URL+"/v1/events", d.keys[who], ev, &out); code != 201 {
			t.Fatalf("%s by %s: %d %v", ev["kind"], who, code, out)
		}
		return out
	}
	orgOf := func(name string) string {
		var k struct{ Org string }
		getJSON(t, s.URL, d.keys[name], "/v1/me", &k)
		return k.Org
	}
	declare := func(n int, h float64) string {
		r := post("sz-importer", map[string]any{"kind": "declared", "at": at(h), "site": "SZ-SK-PORT",
			"product":        map[string]any{"name": "冷冻虾仁", "hs_code": "0306171990", "category": "frozen", "origin_country": "EC", "producer": "Test"},
			"declaration_no": fixtures.DeclarationNo("5316", 2026, 610000+n), "containers": []map[string]any{{"number": fixtures.Container("MSK", 610000+n)}},
			"quantity": map[string]any{"grams": 1_000_000}})
		return r["lot"].(string)
	}
	ship := func(lot, to, toName string, h float64) {
		post("sz-importer", map[string]any{"kind": "shipped", "at": at(h), "lot": lot, "to_org": orgOf(toName), "to_site": to,
			"quantity": map[string]any{"grams": 1_000_000}, "vehicle": map[string]any{"plate": "粤B54321"}})
		post(toName, map[string]any{"kind": "received", "at": at(h + 2), "lot": lot, "site": to, "quantity": map[string]any{"grams": 1_000_000}})
	}
	rider := declare(1, 0)
	ship(rider, "SZ-JGC-BA", "sz-warehouse", 1)
	positive := declare(2, 1.5)
	ship(positive, "SZ-YT-CS", "sz-coldstore", 2)
	post("sz-lab", map[string]any{"kind": "tested", "at": at(6), "lot": positive, "samples": 5, "scope": []string{"goods"}, "result": "positive"})
	var lot struct {
		TraceCode string `json:"trace_code"`
	}
	getJSON(t, s.URL, d.keys["gd-regulator"], "/v1/lots/"+positive, &lot)
	var riderLot struct {
		TraceCode string `json:"trace_code"`
	}
	getJSON(t, s.URL, d.keys["gd-regulator"], "/v1/lots/"+rider, &riderLot)

	signIn("gd-regulator")
	openRecall(lot.TraceCode)
	contacts := eval[[]string](p, `[...document.querySelectorAll('[aria-labelledby="rc-h"] tbody tr')].map(r => r.innerText)`)
	found := false
	for _, r := range contacts {
		found = found || (strings.Contains(r, riderLot.TraceCode) && strings.Contains(r, "同车 粤B54321"))
	}
	if !found {
		t.Errorf("contacts %q: want %s by the plate 粤B54321", contacts, riderLot.TraceCode)
	}
	p.shot("recall-contacts")
	p.wantQuiet()
	s.stop()
}
