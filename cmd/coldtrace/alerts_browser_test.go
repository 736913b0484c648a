package main_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"coldtrace/fixtures"
)

// TestBrowserLiveAlert: the Guangdong regulator has the console open; a
// positive is recorded in Guangdong over the API; its alerts appear in the
// console without a reload, and acknowledging one there records
// finding_acknowledged.
func TestBrowserLiveAlert(t *testing.T) {
	chromiumPath(t)
	dir := t.TempDir()
	s := startServer(t, dir, "COLDTRACE_DEMO=true")
	d := readDemo(t, dir)
	p := newBrowser(t, s.URL, shotsDir(t, "alerts"))
	p.do(chromedp.Navigate(s.URL + "/ui/"))
	p.wait("the sign-in form", `location.hash === '#/signin' && !!document.querySelector('#key')`)
	p.do(chromedp.SendKeys(chromedp.ID("key"), d.keys["gd-regulator"]+"\r"))
	p.wait("the search view", `location.hash === '#/search' && !!document.querySelector('#q')`)
	p.do(chromedp.Evaluate[chromedp.Void](`window.__noReload = true`))
	time.Sleep(300 * time.Millisecond) // the stream is open

	at := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	var decl struct{ Lot string }
	if code := call(t, http.DefaultClient, "POST", s.URL+"/v1/events", d.keys["sz-importer"], map[string]any{"kind": "declared", "at": at, "site": "SZ-SK-PORT",
		"product":        map[string]any{"name": "冷冻带鱼", "hs_code": "0303890090", "category": "frozen", "origin_country": "NO", "spec": "10kg/箱", "production_date": "2026-09-01", "shelf_life_days": 540, "producer": "Test"},
		"declaration_no": fixtures.DeclarationNo("5316", 2026, 900031), "containers": []map[string]any{{"number": fixtures.Container("MSK", 800031), "seal": "NO1"}},
		"quantity": map[string]any{"grams": 1_000_000}}, &decl); code != 201 {
		t.Fatalf("declare: %d", code)
	}
	var rec struct{ Findings []struct{ ID, Rule string } }
	if code := call(t, http.DefaultClient, "POST", s.URL+"/v1/events", d.keys["sz-lab"], map[string]any{"kind": "tested", "at": at, "lot": decl.Lot, "samples": 5, "scope": []string{"goods"}, "result": "positive"}, &rec); code != 201 {
		t.Fatalf("positive test: %d", code)
	}
	var batch string
	for _, f := range rec.Findings {
		if f.Rule == "positive_batch" {
			batch = f.ID
		}
	}
	sel := "#alert-" + batch
	p.wait("the positive_batch alert", `!!document.querySelector('`+sel+` .alert-ack')`)
	if !eval[bool](p, `window.__noReload === true`) {
		t.Fatal("the page reloaded")
	}
	if txt := p.text(sel); !strings.Contains(txt, "positive_batch") || !strings.Contains(txt, "critical") {
		t.Errorf("alert text %q", txt)
	}
	p.shot("live-alert")
	p.do(chromedp.Click(chromedp.CSS(sel + ` .alert-ack`)))
	p.wait("the acknowledgement", `!!document.querySelector('`+sel+` .alert-acked')`)
	var list struct {
		Findings []struct {
			ID    string `json:"id"`
			AckBy string `json:"ack_by"`
		} `json:"findings"`
	}
	getJSON(t, s.URL, d.keys["gd-regulator"], "/v1/findings?rule=positive_batch&open=true", &list)
	acked := false
	for _, f := range list.Findings {
		acked = acked || (f.ID == batch && f.AckBy == "44")
	}
	if !acked {
		t.Errorf("finding %s not acknowledged by 44: %+v", batch, list.Findings)
	}
	p.wantQuiet()
	s.stop()
}
