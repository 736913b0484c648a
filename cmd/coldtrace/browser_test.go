package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	qr "github.com/piglig/go-qr"
)

// The browser tests drive Debian's chromium (installed by `make test`)
// against a real coldtrace server: the regulator console and the consumer
// page, as a person would use them. Screenshots of each step go to
// testout/ui/ at the top of the repository.

// chromiumPath returns the browser to drive. Without one the test is
// skipped, except in CI (CI=true), where a missing browser fails the run.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("COLDTRACE_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/chromium-headless-shell"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium: `make test` installs Debian's chromium (apt-get install -y chromium); CI never skips the browser tests")
	}
	t.Skip("no chromium (apt-get install -y chromium, or set COLDTRACE_CHROMIUM); skipping the browser tests")
	return ""
}

// shotsDir returns testout/ui/<name>, emptied.
func shotsDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testout", "ui", name))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A demo is the data the browser test works on, seeded through the API.
type demo struct {
	keys map[string]string // by role
	// root is the batch that later tests positive in a child; child1 went to
	// a cold store (and tested positive there), child2 to a market stall.
	root, child1, child2 string
	container, decl      string
	cleared, pending     string // a cleared batch; a batch sold without papers
}

// seedDemo registers orgs, sites and keys and records three stories: a
// batch split and tested positive downstream, a cleared batch, and a batch
// shipped to market without papers.
func seedDemo(t *testing.T, base string) *demo {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	d := &demo{keys: map[string]string{}, container: "CSQU3054383", decl: "222020261000123456"}
	post := func(key, path string, body any) map[string]any {
		t.Helper()
		var out map[string]any
		if code := call(t, c, "POST", base+path, key, body, &out); code != 201 {
			t.Fatalf("POST %s %v: %d %v", path, body, code, out)
		}
		return out
	}
	orgs := []struct {
		n            int
		name, role   string
		region       string
		keyRegions   []string
		keyForRole   bool
		siteID, site string
		siteType     string
		siteRegion   string
	}{
		{1, "上海冷链进口有限公司", "importer", "310115", nil, true, "YS-PORT", "洋山港集装箱堆场", "port_yard", "310115"},
		{2, "上海海关技术中心实验室", "lab", "310115", nil, true, "", "", "", ""},
		{3, "洋山消毒服务有限公司", "disinfector", "310115", nil, true, "", "", "", ""},
		{4, "浦东新区集中监管仓", "supervision_warehouse", "310115", nil, true, "PD-SW", "浦东集中监管仓一号库", "supervision_warehouse", "310115"},
		{5, "闵行冷库有限公司", "cold_store", "310112", nil, true, "MH-CS", "闵行冷库二号", "cold_store", "310112"},
		{6, "静安生鲜市场经营部", "retailer", "310106", nil, true, "JA-MKT", "静安生鲜市场 12 号摊", "market", "310106"},
		{7, "上海市市场监督管理局", "regulator", "310000", []string{"31"}, true, "", "", "", ""},
	}
	uscc := map[string]string{}
	for _, o := range orgs {
		u := testUSCC(31, o.n)
		uscc[o.role] = u
		post(adminKey, "/v1/orgs", map[string]any{"uscc": u, "name": o.name, "roles": []string{o.role}, "region": o.region})
		if o.siteID != "" {
			post(adminKey, "/v1/sites", map[string]any{"id": o.siteID, "org": u, "name": o.site, "type": o.siteType, "region": o.siteRegion})
		}
		body := map[string]any{"org": u, "role": o.role}
		if o.keyRegions != nil {
			body["regions"] = o.keyRegions
		}
		d.keys[o.role] = post(adminKey, "/v1/keys", body)["key"].(string)
	}
	upload := func(role, typ string, seed byte) map[string]any {
		t.Helper()
		body := append([]byte("%PDF-1.7\n% coldtrace browser test "), []byte(typ)...)
		body = append(body, seed)
		req, _ := http.NewRequest("POST", base+"/v1/attachments", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/pdf")
		req.Header.Set("Authorization", "Bearer "+d.keys[role])
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a map[string]any
		json.NewDecoder(resp.Body).Decode(&a)
		if resp.StatusCode != 201 {
			t.Fatalf("upload: %d %v", resp.StatusCode, a)
		}
		return map[string]any{"sha256": a["sha256"], "type": typ}
	}
	at0 := time.Now().Add(-96 * time.Hour).UTC().Truncate(time.Minute)
	step := 0
	at := func() string { step++; return at0.Add(time.Duration(step) * 30 * time.Minute).Format(time.RFC3339) }
	ev := func(role string, body map[string]any) map[string]any {
		t.Helper()
		body["at"] = at()
		return post(d.keys[role], "/v1/events", body)
	}
	created := func(r map[string]any) string {
		return r["created_lots"].([]any)[0].(map[string]any)["trace_code"].(string)
	}
	product := func(name, hs, origin, spec, prod string, days int) map[string]any {
		return map[string]any{"name": name, "hs_code": hs, "category": "frozen", "origin_country": origin, "spec": spec,
			"production_date": prod, "shelf_life_days": days, "producer": "SIF 4400"}
	}
	clear := func(code string, seed byte) {
		ev("lab", map[string]any{"kind": "tested", "lot": code, "samples": 8, "scope": []string{"goods", "packaging"}, "result": "negative",
			"attachments": []any{upload("lab", "test_report", seed)}})
		ev("disinfector", map[string]any{"kind": "disinfected", "lot": code, "scope": []string{"container", "outer_packaging"}, "agent": "过氧乙酸",
			"attachments": []any{upload("disinfector", "disinfection_certificate", seed)}})
		ev("supervision_warehouse", map[string]any{"kind": "released", "lot": code, "attachments": []any{upload("supervision_warehouse", "release_certificate", seed)}})
	}

	// Story 1: a Brazilian beef batch, cleared, split to a cold store and a
	// market stall; the cold store's part tests positive.
	r := ev("importer", map[string]any{"kind": "declared", "site": "YS-PORT", "product": product("冷冻去骨牛肉", "0202300090", "BR", "25kg/箱", "2026-08-01", 720),
		"declaration_no": d.decl, "containers": []any{map[string]any{"number": d.container, "seal": "BR778812"}},
		"quantity": map[string]any{"grams": 24_000_000, "pieces": 960}, "attachments": []any{upload("importer", "quarantine_certificate", 1)}})
	d.root = created(r)
	clear(d.root, 1)
	r = ev("importer", map[string]any{"kind": "shipped", "lot": d.root, "to_org": uscc["cold_store"], "to_site": "MH-CS",
		"quantity": map[string]any{"grams": 8_000_000}, "vehicle": map[string]any{"plate": "沪D12345"}, "temperature_c": -19.5})
	d.child1 = created(r)
	ev("cold_store", map[string]any{"kind": "received", "lot": d.child1, "site": "MH-CS", "quantity": map[string]any{"grams": 8_000_000}, "temperature_c": -19})
	ev("lab", map[string]any{"kind": "tested", "lot": d.child1, "samples": 4, "scope": []string{"goods"}, "result": "negative"})
	r = ev("importer", map[string]any{"kind": "shipped", "lot": d.root, "to_org": uscc["retailer"], "to_site": "JA-MKT",
		"quantity": map[string]any{"grams": 500_000}, "vehicle": map[string]any{"plate": "沪E67890"}, "temperature_c": -18.5})
	d.child2 = created(r)
	ev("retailer", map[string]any{"kind": "received", "lot": d.child2, "site": "JA-MKT", "quantity": map[string]any{"grams": 500_000}, "temperature_c": -18})
	ev("retailer", map[string]any{"kind": "sold", "lot": d.child2, "quantity": map[string]any{"grams": 120_000}, "channel": "retail"})
	ev("lab", map[string]any{"kind": "tested", "lot": d.child1, "samples": 6, "scope": []string{"packaging"}, "result": "positive"})

	// Story 2: a cleared batch of New Zealand lamb.
	r = ev("importer", map[string]any{"kind": "declared", "site": "YS-PORT", "product": product("冷冻羊排", "0204430090", "NZ", "10kg/箱", "2026-09-10", 540),
		"declaration_no": "222020261000123457", "quantity": map[string]any{"grams": 6_000_000}, "attachments": []any{upload("importer", "quarantine_certificate", 2)}})
	d.cleared = created(r)
	clear(d.cleared, 2)

	// Story 3: Ecuadorian shrimp shipped to a market stall without papers.
	r = ev("importer", map[string]any{"kind": "declared", "site": "YS-PORT", "product": product("冻南美白虾", "0306171990", "EC", "2kg/盒", "2026-09-20", 365),
		"declaration_no": "222020261000123458", "quantity": map[string]any{"grams": 2_000_000}})
	d.pending = created(r)
	ev("importer", map[string]any{"kind": "shipped", "lot": d.pending, "to_org": uscc["retailer"], "to_site": "JA-MKT", "quantity": map[string]any{"grams": 2_000_000}})
	return d
}

// A page is one browser tab on the server, with helpers that fail the test.
type browserPage struct {
	t    *testing.T
	ctx  context.Context
	dir  string // screenshots
	n    int
	base string
	mu   sync.Mutex
	logs []string // console errors, exceptions and CSP violations
}

func (p *browserPage) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.shot("failed")
		p.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](p *browserPage, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// wait polls a JavaScript expression until it is truthy.
func (p *browserPage) wait(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		p.shot("timeout")
		msg, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById('msg')?.innerText || ''`))
		main, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`(document.querySelector('main')||document.body).innerText.slice(0, 600)`))
		p.t.Fatalf("waiting for %s (%s): %v\nmessage: %q\npage: %q\nconsole: %q", what, expr, err, msg, main, p.logs)
	}
}

// shot saves a full-page screenshot as NN-name.png.
func (p *browserPage) shot(name string) string {
	p.n++
	buf, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(p.dir, fmt.Sprintf("%02d-%s.png", p.n, name))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		p.t.Error(err)
	}
	return path
}

func (p *browserPage) text(sel string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ''`, sel))
}

// keys sends key presses to the focused element.
func (p *browserPage) keys(s string) { p.t.Helper(); p.do(chromedp.KeyEvent(s)) }

func (p *browserPage) problems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.logs)
}

// newBrowser starts chromium with a fresh profile and returns a tab.
func newBrowser(t *testing.T, base, shots string) *browserPage {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	p := &browserPage{t: t, ctx: ctx, dir: shots, base: base}
	// The first Do starts the browser and binds it to its context: no
	// timeout here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// Record every CSP violation (the scripts run before the page's own).
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));`,
	}); err != nil {
		t.Fatal(err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" || m.Type == "assert" {
				p.mu.Lock()
				p.logs = append(p.logs, string(m.Type)+": "+m.Text+" @ "+m.URL)
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// wantQuiet fails on console errors other than the expected ones (failed
// requests whose answer the page shows in words).
func (p *browserPage) wantQuiet(allowed ...string) {
	p.t.Helper()
	for _, l := range p.problems() {
		if !slices.ContainsFunc(allowed, func(a string) bool { return strings.Contains(l, a) }) {
			p.t.Errorf("browser console: %s", l)
		}
	}
	p.mu.Lock()
	p.logs = nil
	p.mu.Unlock()
}

// a11yCheck returns the inputs without a label and the text whose contrast
// with its background is below WCAG AA (4.5:1, 3:1 for large text).
const a11yCheck = `(() => {
  const problems = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || el.hidden) continue;
    const named = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!named) problems.push('no label: ' + el.outerHTML.slice(0, 120));
  }
  const rgb = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null; const v = m[1].split(',').map(Number); return { r: v[0], g: v[1], b: v[2], a: v.length > 3 ? v[3] : 1 }; };
  const lum = (c) => { const f = (x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bgOf = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || seen.has(el) || !n.textContent.trim()) continue;
    seen.add(el);
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || el.offsetParent === null && cs.position !== 'fixed') continue;
    if (el.closest('canvas, .graph')) continue;
    const fg = rgb(cs.color); if (!fg) continue;
    const bg = bgOf(el);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) problems.push('contrast ' + ratio.toFixed(2) + ' < ' + need + ': ' + n.textContent.trim().slice(0, 40));
  }
  return problems;
})()`

func (p *browserPage) wantAccessible(where string) {
	p.t.Helper()
	for _, problem := range eval[[]string](p, a11yCheck) {
		p.t.Errorf("%s: %s", where, problem)
	}
}

func TestBrowserConsoleAndConsumerPage(t *testing.T) {
	start := time.Now()
	chromiumPath(t) // skip or fail before starting anything
	shots := shotsDir(t, "")
	s := startServer(t, t.TempDir())
	d := seedDemo(t, s.URL)
	t.Logf("server and demo data ready in %s", time.Since(start).Round(time.Millisecond))

	p := newBrowser(t, s.URL, shots)
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads, EventsEnabled: new(true),
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("chromium started in %s", time.Since(start).Round(time.Millisecond))

	// Sign in: a wrong key is told in words; the right one opens the search.
	p.do(chromedp.Navigate(s.URL + "/ui/"))
	p.wait("the sign-in form", `location.hash === '#/signin' && !!document.querySelector('#key')`)
	p.wantAccessible("sign-in")
	p.shot("signin")
	p.do(chromedp.SendKeys(chromedp.ID("key"), "ctk_not_a_real_key\r"))
	p.wait("the wrong-key message", `!document.getElementById('msg').hidden`)
	if msg := p.text("#msg"); !strings.Contains(msg, "API 密钥无效") {
		t.Errorf("wrong key message %q", msg)
	}
	p.shot("signin-wrong-key")
	p.wantQuiet("401")
	p.do(chromedp.Clear(chromedp.ID("key")), chromedp.SendKeys(chromedp.ID("key"), d.keys["regulator"]+"\r"))
	p.wait("the search view", `location.hash === '#/search' && !!document.querySelector('#q')`)
	if who := p.text("#who"); !strings.Contains(who, "上海市市场监督管理局") || !strings.Contains(who, "31") {
		t.Errorf("signed in as %q", who)
	}
	if strings.Contains(eval[string](p, `location.href`), d.keys["regulator"]) {
		t.Fatal("the API key is in the URL")
	}
	p.wantAccessible("search")

	// Keyboard only: Tab from the top of the page reaches the search box,
	// Enter searches, the first result has the focus, Enter opens it.
	p.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); window.scrollTo(0, 0)`))
	tabs := 0
	for ; tabs < 15 && eval[string](p, `document.activeElement.id`) != "q"; tabs++ {
		p.keys("\t")
	}
	if eval[string](p, `document.activeElement.id`) != "q" {
		t.Fatalf("Tab never reached the search box (focus on %s)", eval[string](p, `document.activeElement.outerHTML.slice(0, 80)`))
	}
	p.keys(d.container + "\r")
	p.wait("the search results", `document.querySelectorAll('#results a').length > 0`)
	p.shot("search-container")
	if got := eval[string](p, `document.activeElement.textContent`); got != d.root {
		t.Errorf("focus after searching is on %q, want the result %s", got, d.root)
	}
	p.keys("\r")
	p.wait("the lot page", fmt.Sprintf(`location.hash === '#/lot/%s' && !!document.querySelector('#graph[data-drawn="true"]')`, d.root))

	// The lot page: state, documents, findings, timeline and the graph:
	// three lots (the batch and its two parts) and three holders.
	body := p.text("main")
	for _, want := range []string{"冷冻去骨牛肉", d.root, "已封存", "阳性", d.decl, d.container, "检验检疫证明", "出仓证明", "报关申报", "发货", "上海冷链进口有限公司"} {
		if !strings.Contains(body, want) {
			t.Errorf("lot page lacks %q", want)
		}
	}
	if n := eval[int](p, `window.coldtraceGraph.nodes().length`); n != 6 {
		t.Errorf("graph has %d nodes, want 6 (3 lots, 3 holders)", n)
	}
	if n := eval[string](p, `document.getElementById('graph').dataset.nodes`); n != "6" {
		t.Errorf("graph says %s nodes", n)
	}
	if n := eval[int](p, `window.coldtraceGraph.nodes('.lot.sealed, .lot.positive').length`); n != 3 {
		t.Errorf("%d lots drawn sealed or positive, want 3", n)
	}
	p.wantAccessible("lot page")
	p.shot("lot")
	p.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('graph').scrollIntoView()`))
	p.do(chromedp.ScrollIntoView(chromedp.ID("graph")))
	p.shot("lot-graph")

	// A document downloads with the key (not in a URL).
	p.do(chromedp.Click(chromedp.CSS(".docs button")))
	waitFile(t, downloads, "quarantine_certificate-", ".pdf")

	// Clicking a lot in the graph opens it.
	p.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.coldtraceGraph.nodes('.lot').filter(n => n.data('code') === %q).emit('tap')`, d.child1)))
	p.wait("the positive child's page", fmt.Sprintf(`location.hash === '#/lot/%s' && !!document.querySelector('#graph[data-drawn="true"]')`, d.child1))
	if body := p.text("main"); !strings.Contains(body, "核酸阳性") || !strings.Contains(body, "闵行冷库") {
		t.Errorf("positive lot page: %.400s", body)
	}
	p.shot("lot-positive")

	// The recall view of the positive batch, and its CSV.
	p.do(chromedp.Click(chromedp.ID("recall-link")))
	p.wait("the recall view", `!!document.getElementById('recall-csv')`)
	body = p.text("main")
	for _, want := range []string{"就地封存", "310112", "310106", "闵行冷库二号", "静安生鲜市场 12 号摊", "沪D12345"} {
		if !strings.Contains(body, want) {
			t.Errorf("recall view lacks %q", want)
		}
	}
	p.wantAccessible("recall")
	p.shot("recall")
	p.do(chromedp.Click(chromedp.ID("recall-csv")))
	csv := waitFile(t, downloads, "recall-", ".csv")
	if !bytes.HasPrefix(csv, []byte("\ufeff")) || !bytes.Contains(csv, []byte(d.child1)) || !bytes.Contains(csv, []byte(`"seal"`)) {
		t.Errorf("recall CSV:\n%s", csv)
	}

	// Findings, newest first, with the rule in plain words.
	p.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/findings"]`)))
	p.wait("the findings", `document.querySelectorAll('#findings-list li').length >= 2`)
	body = p.text("main")
	for _, want := range []string{"“四不”违规", "核酸阳性", "缺少检验检疫证明"} {
		if !strings.Contains(body, want) {
			t.Errorf("findings lack %q", want)
		}
	}
	p.wantAccessible("findings")
	p.shot("findings")

	// The closure dashboard.
	p.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/closure"]`)))
	p.wait("the closure dashboard", `!!document.querySelector('#report-csv') && !document.querySelector('main .loading')`)
	p.shot("closure")

	// English.
	p.do(chromedp.Click(chromedp.ID("lang")))
	p.wait("English", `document.documentElement.lang === 'en' && document.getElementById('view-title').textContent === 'Closure dashboard'`)
	p.do(chromedp.Navigate(s.URL + "/ui/#/lot/" + d.child2))
	p.wait("the lot page in English", `!!document.querySelector('#graph[data-drawn="true"]') && document.body.innerText.includes('Trace graph')`)
	p.shot("lot-english")
	p.do(chromedp.Click(chromedp.ID("lang")))
	p.wantQuiet()

	// The consumer page on a phone.
	p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)))
	for _, c := range []struct{ name, code, want string }{
		{"consumer-sealed", d.child2, "已封存"},
		{"consumer-cleared", d.cleared, "已放行"},
		{"consumer-pending", d.pending, "未放行"},
		{"consumer-unknown", "ABCD-EFGH-JKMY", "未找到该追溯码"},
	} {
		p.do(chromedp.Navigate(s.URL + "/t/" + c.code))
		p.wait(c.name, `document.readyState === 'complete'`)
		body := p.text("body")
		if !strings.Contains(body, c.want) {
			t.Errorf("%s: page lacks %q: %.300s", c.name, c.want, body)
		}
		for _, secret := range []string{"静安生鲜市场", "闵行冷库", "沪D", "JA-MKT", "SIF 4400"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s: the consumer page shows %q", c.name, secret)
			}
		}
		if w := eval[int](p, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("%s: the page is %dpx wide on a 390px phone", c.name, w)
		}
		p.wantAccessible(c.name)
		p.shot(c.name)
	}
	p.wantQuiet("404")
	p.do(chromedp.Navigate(s.URL + "/t/" + d.cleared))
	p.do(chromedp.Click(chromedp.ID("lang-switch")))
	p.wait("the consumer page in English", `document.documentElement.dataset.lang === 'en'`)
	if body := p.text("body"); !strings.Contains(body, "Cleared") || !strings.Contains(body, "New Zealand") {
		t.Errorf("English consumer page: %.300s", body)
	}
	p.shot("consumer-english")
	p.do(chromedp.Navigate(s.URL + "/t/" + d.cleared))
	if lang := eval[string](p, `document.documentElement.dataset.lang`); lang != "en" {
		t.Errorf("the language choice was not kept (%s)", lang)
	}
	p.do(chromedp.Click(chromedp.ID("lang-switch")))

	// The QR code decodes back to the page's URL.
	checkQR(t, s.URL, d.cleared, shots)

	// Server gone: the console says so in words.
	p.do(chromedp.EmulateViewport(1280, 900))
	p.do(chromedp.Navigate(s.URL + "/ui/#/search"))
	p.wait("the search view", `!!document.querySelector('#q')`)
	s.kill()
	p.do(chromedp.SendKeys(chromedp.ID("q"), d.cleared+"\r"))
	p.wait("the unavailable message", `!document.getElementById('msg').hidden`)
	if msg := p.text("#msg"); !strings.Contains(msg, "无法连接到 coldtrace 服务器") {
		t.Errorf("server-down message %q", msg)
	}
	p.shot("server-unavailable")
	t.Logf("browser test done in %s; screenshots in %s", time.Since(start).Round(time.Millisecond), shots)
}

// waitFile waits for a finished download whose name has prefix and suffix
// and returns its bytes.
func waitFile(t *testing.T, dir, prefix, suffix string) []byte {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) && strings.HasSuffix(e.Name(), suffix) {
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err == nil && len(data) > 0 {
					return data
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	entries, _ := os.ReadDir(dir)
	t.Fatalf("no download %s*%s in %v", prefix, suffix, entries)
	return nil
}

// checkQR fetches the QR code of a lot's page and reads it back with
// zbarimg (Debian's zbar-tools; required in CI) and with go-qr's decoder.
func checkQR(t *testing.T, base, code, dir string) {
	t.Helper()
	resp, err := http.Get(base + "/t/" + code + ".png")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := base + "/t/" + code
	file := filepath.Join(dir, "qr-"+code+".png")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("QR PNG: %v", err)
	}
	if got, err := qr.Decode(img); err != nil || got != want {
		t.Errorf("go-qr reads %q (%v), want %q", got, err, want)
	}
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no zbarimg: `make test` installs zbar-tools; CI never skips this check")
		}
		t.Log("no zbarimg (apt-get install -y zbar-tools): the QR code was read by go-qr only")
		return
	}
	out, err := exec.Command(zbar, "--raw", "-q", file).Output()
	if err != nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("zbarimg reads %q (%v), want %q", out, err, want)
	}
}
