package main_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestBrowserRectificationNotice: Zhejiang's regulator issues a
// rectification notice on an operator's open violation from the findings
// view; the console then offers the notice's PDF, which downloads with the
// key and is served as application/pdf. A past deadline is refused in
// words. An importer's key sees findings but no button.
func TestBrowserRectificationNotice(t *testing.T) {
	chromiumPath(t)
	dir := t.TempDir()
	s := startServer(t, dir, "COLDTRACE_DEMO=true")
	d := readDemo(t, dir)
	p := newBrowser(t, s.URL, shotsDir(t, "notice"))
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads, EventsEnabled: new(true),
	}); err != nil {
		t.Fatal(err)
	}
	signIn := func(name string) {
		p.do(chromedp.Navigate(s.URL + "/ui/#/signin"))
		p.wait("the sign-in form", `location.hash === '#/signin' && !!document.querySelector('#key')`)
		p.do(chromedp.SendKeys(chromedp.ID("key"), d.keys[name]+"\r"))
		p.wait("the search view", `location.hash === '#/search' && !!document.querySelector('#q')`)
	}
	openFindings := func() {
		p.do(chromedp.Evaluate[chromedp.Void](`location.hash = '#/findings?rule=four_no&open=true'`))
		p.wait("the findings", `document.querySelectorAll('#findings-list li.finding').length > 0`)
	}
	signIn("zj-regulator")
	openFindings()
	form := `document.querySelector('.notice-form')`
	finding := eval[string](p, form+`?.dataset.finding || ''`)
	if finding == "" {
		t.Fatal("no notice form on Zhejiang's open four_no findings")
	}
	sel := `.notice-form[data-finding="` + finding + `"]`
	setDeadline := func(at time.Time) {
		p.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('` + sel + ` input').value = '` + at.Local().Format("2006-01-02T15:04") + `'`))
	}
	// A deadline already past: the server refuses it, the console says so
	// and stores nothing.
	setDeadline(time.Now().Add(-2 * time.Hour))
	p.do(chromedp.Click(chromedp.CSS(sel + ` button`)))
	p.wait("the refusal", `document.body.innerText.includes('deadline')`)
	type notice struct{ SHA256 string }
	notices := func() []notice {
		var fl struct {
			Findings []struct {
				ID      string   `json:"id"`
				Notices []notice `json:"notices"`
			} `json:"findings"`
		}
		getJSON(t, s.URL, d.keys["zj-regulator"], "/v1/findings?rule=four_no&open=true&limit=1000", &fl)
		for _, f := range fl.Findings {
			if f.ID == finding {
				return f.Notices
			}
		}
		t.Fatalf("finding %s is gone from the list", finding)
		return nil
	}
	if ns := notices(); len(ns) != 0 {
		t.Fatalf("a refused notice was attached: %+v", ns)
	}
	p.wantQuiet("must be in the future", "status of 422")

	setDeadline(time.Now().Add(7 * 24 * time.Hour))
	p.do(chromedp.Click(chromedp.CSS(sel + ` button`)))
	p.wait("the notice's link", `!!document.querySelector('.notice-done') && !!document.querySelector('.notice-pdf')`)
	p.wantAccessible("findings with a notice")
	p.shot("notice-issued")
	path := eval[string](p, `document.querySelector('.notice-pdf').dataset.path`)
	if ns := notices(); len(ns) != 1 || path != "/v1/attachments/"+ns[0].SHA256 {
		t.Fatalf("the finding's notices %+v, the console's link %q", ns, path)
	}
	p.do(chromedp.Click(chromedp.CSS(".notice-pdf")))
	if pdf := waitFile(t, downloads, "", ".pdf"); !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the download is not a PDF: %.20q", pdf)
	}
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+d.keys["zj-regulator"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/pdf") || !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Fatalf("GET %s: %d %s %.20q", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	p.wantQuiet()

	// An importer reads its open violations but issues no notice.
	var own struct {
		Findings []struct{ Org string } `json:"findings"`
	}
	getJSON(t, s.URL, d.keys["sh-importer"], "/v1/findings?open=true&limit=50", &own)
	if len(own.Findings) == 0 || own.Findings[0].Org == "" {
		t.Fatalf("the importer has no open finding about an operator: %+v", own.Findings)
	}
	signIn("sh-importer")
	p.do(chromedp.Evaluate[chromedp.Void](`location.hash = '#/findings?open=true'`))
	p.wait("the importer's findings", `document.querySelectorAll('#findings-list li.finding').length > 0`)
	if n := eval[int](p, `document.querySelectorAll('.notice-form').length`); n != 0 {
		t.Errorf("an importer sees %d notice forms", n)
	}
	p.wantQuiet()
	s.stop()
}
