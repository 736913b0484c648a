package main_test

import (
	"bytes"
	"context"
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
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
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

// A demo is what `coldtrace serve --demo` loaded: the actors' API keys and
// the three stories (fixtures.LoadDemo), as demo-keys.txt lists them.
type demo struct {
	keys                                map[string]string // by actor name
	clean, positive, violation          string            // root trace codes
	cleanBox, positiveBox, violationBox string            // a container of each
}

// readDemo parses <data>/demo-keys.txt.
func readDemo(t *testing.T, dir string) *demo {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "demo-keys.txt"))
	if err != nil {
		t.Fatalf("the demo data set did not load: %v", err)
	}
	d := &demo{keys: map[string]string{}}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && strings.HasPrefix(f[2], "ctk_"):
			d.keys[f[0]] = f[2]
		case len(f) == 10 && f[0] == "stories:":
			d.clean, d.positive, d.violation = f[2], f[4], f[6]
			d.cleanBox = strings.Trim(f[8], "(,")
			d.positiveBox = strings.Trim(f[9], ",")
		case len(f) == 11 && f[0] == "stories:":
			d.clean, d.positive, d.violation = f[2], f[4], f[6]
			d.cleanBox, d.positiveBox, d.violationBox = strings.Trim(f[8], "(,"), strings.Trim(f[9], ","), strings.Trim(f[10], ")")
		}
	}
	if d.positive == "" || d.positiveBox == "" || d.keys["gd-regulator"] == "" {
		t.Fatalf("demo-keys.txt not understood:\n%s", data)
	}
	return d
}

// getJSON fetches an API path with a key.
func getJSON(t *testing.T, base, key, path string, out any) {
	t.Helper()
	if code := call(t, http.DefaultClient, "GET", base+path, key, nil, out); code != 200 {
		t.Fatalf("GET %s: %d", path, code)
	}
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

// shotOf saves a screenshot of the element sel as NN-name.png.
func (p *browserPage) shotOf(name, sel string) {
	p.t.Helper()
	p.n++
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		p.t.Errorf("screenshot of %s: %v", sel, err)
		return
	}
	if err := os.WriteFile(filepath.Join(p.dir, fmt.Sprintf("%02d-%s.png", p.n, name)), buf, 0o644); err != nil {
		p.t.Error(err)
	}
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
	dir := t.TempDir()
	s := startServer(t, dir, "COLDTRACE_DEMO=true")
	d := readDemo(t, dir)
	gd, sh := d.keys["gd-regulator"], d.keys["sh-regulator"]
	t.Logf("server with the demo data ready in %s", time.Since(start).Round(time.Millisecond))

	// What the graph must show, as the API answers it for the Guangdong
	// regulator: every lot of the positive batch (those outside Guangdong
	// without details) and the holder of each lot it may see.
	var root struct{ ID string }
	getJSON(t, s.URL, gd, "/v1/lots/"+d.positive, &root)
	var trace struct {
		Lots []struct {
			TraceCode string `json:"trace_code"`
			Hidden    bool   `json:"hidden"`
			Holder    string `json:"holder"`
		} `json:"lots"`
	}
	getJSON(t, s.URL, gd, "/v1/lots/"+root.ID+"/trace?direction=both", &trace)
	holders := map[string]bool{}
	var child string
	for _, l := range trace.Lots {
		if !l.Hidden && l.Holder != "" {
			holders[l.Holder] = true
		}
		if !l.Hidden && l.TraceCode != d.positive && child == "" {
			child = l.TraceCode
		}
	}
	wantNodes := len(trace.Lots) + len(holders)
	if len(trace.Lots) < 3 || child == "" {
		t.Fatalf("the positive batch's trace has %d lots", len(trace.Lots))
	}

	p := newBrowser(t, s.URL, shots)
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads, EventsEnabled: new(true),
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("chromium started at %s", time.Since(start).Round(time.Millisecond))

	// Sign in: a wrong key is told in words; the right one opens the search.
	p.do(chromedp.Navigate(s.URL + "/ui/"))
	p.wait("the sign-in form", `location.hash === '#/signin' && !!document.querySelector('#key')`)
	p.wantAccessible("sign-in")
	// The checker itself finds an unlabelled input and pale text.
	p.do(chromedp.Evaluate[chromedp.Void](`(() => { const d = document.createElement('div'); d.id = 'a11y-probe';
		const i = document.createElement('input'); const q = document.createElement('p'); q.textContent = 'pale'; q.style.color = '#bbbbbb';
		d.append(i, q); document.querySelector('main').append(d); })()`))
	if got := eval[[]string](p, a11yCheck); len(got) != 2 {
		t.Errorf("the accessibility check found %q in a probe with two problems", got)
	}
	p.do(chromedp.Evaluate[chromedp.Void](`document.getElementById('a11y-probe').remove()`))
	p.shot("signin")
	p.do(chromedp.SendKeys(chromedp.ID("key"), "ctk_not_a_real_key\r"))
	p.wait("the wrong-key message", `!document.getElementById('msg').hidden`)
	if msg := p.text("#msg"); !strings.Contains(msg, "API 密钥无效") {
		t.Errorf("wrong key message %q", msg)
	}
	p.shot("signin-wrong-key")
	p.wantQuiet("401")
	p.do(chromedp.Clear(chromedp.ID("key")), chromedp.SendKeys(chromedp.ID("key"), gd+"\r"))
	p.wait("the search view", `location.hash === '#/search' && !!document.querySelector('#q')`)
	if who := p.text("#who"); !strings.Contains(who, "广东省市场监督管理局") || !strings.Contains(who, "44") {
		t.Errorf("signed in as %q", who)
	}
	if strings.Contains(eval[string](p, `location.href`), gd) {
		t.Fatal("the API key is in the URL")
	}
	p.wantAccessible("search")

	// Keyboard only: Tab from the top of the page reaches the search box,
	// Enter searches the positive batch's container, the first result has
	// the focus, Enter opens it.
	p.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); window.scrollTo(0, 0)`))
	for tabs := 0; tabs < 15 && eval[string](p, `document.activeElement.id`) != "q"; tabs++ {
		p.keys("\t")
	}
	if eval[string](p, `document.activeElement.id`) != "q" {
		t.Fatalf("Tab never reached the search box (focus on %s)", eval[string](p, `document.activeElement.outerHTML.slice(0, 80)`))
	}
	p.keys(d.positiveBox + "\r")
	p.wait("the search results", `document.querySelectorAll('#results a').length > 0`)
	p.shot("search-container")
	if got := eval[string](p, `document.activeElement.textContent`); got != d.positive {
		t.Errorf("focus after searching is on %q, want the result %s", got, d.positive)
	}
	p.keys("\r")
	p.wait("the lot page", fmt.Sprintf(`location.hash === '#/lot/%s' && !!document.querySelector('#graph[data-drawn="true"]')`, d.positive))

	// The lot page: state, documents, findings, timeline and the graph.
	body := p.text("main")
	for _, want := range []string{"冷冻南美白虾", d.positive, "已封存", d.positiveBox, "检验检疫证明", "出仓证明", "报关申报", "发货",
		"深圳前海海鲜进口贸易有限公司", "事件时间线", "追溯图"} {
		if !strings.Contains(body, want) {
			t.Errorf("lot page lacks %q", want)
		}
	}
	if n := eval[int](p, `window.coldtraceGraph.nodes().length`); n != wantNodes {
		t.Errorf("graph has %d nodes, want %d (%d lots, %d holders)", n, wantNodes, len(trace.Lots), len(holders))
	}
	if n := eval[string](p, `document.getElementById('graph').dataset.nodes`); n != fmt.Sprint(wantNodes) {
		t.Errorf("graph says %s nodes, want %d", n, wantNodes)
	}
	if n := eval[int](p, `window.coldtraceGraph.nodes('.lot.sealed, .lot.positive').length`); n < 3 {
		t.Errorf("%d lots drawn sealed or positive", n)
	}
	p.wantAccessible("lot page")
	p.shot("lot")
	p.shotOf("lot-graph", "#graph")

	// A document downloads with the key (never in a URL).
	p.do(chromedp.Click(chromedp.CSS(".docs button")))
	waitFile(t, downloads, "", ".pdf")

	// Clicking a lot in the graph opens it.
	p.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.coldtraceGraph.nodes('.lot').filter(n => n.data('code') === %q).emit('tap'); undefined`, child)))
	p.wait("a child lot's page", fmt.Sprintf(`location.hash === '#/lot/%s' && !!document.querySelector('#graph[data-drawn="true"]')`, child))
	if body := p.text("main"); !strings.Contains(body, "已封存") {
		t.Errorf("child lot page: %.400s", body)
	}
	p.shot("lot-child")

	// The recall view of the positive batch, and its CSV.
	p.do(chromedp.Click(chromedp.ID("recall-link")))
	p.wait("the recall view", `!!document.getElementById('recall-csv')`)
	body = p.text("main")
	for _, want := range []string{"保持封存", "地区 44", "深圳", "粤B7D890"} {
		if !strings.Contains(body, want) {
			t.Errorf("recall view lacks %q", want)
		}
	}
	if strings.Contains(body, "没有阳性检测结果") {
		t.Error("the recall view of a positive batch says nothing tested positive")
	}
	p.wantAccessible("recall")
	p.shot("recall")
	p.do(chromedp.Click(chromedp.ID("recall-csv")))
	csv := waitFile(t, downloads, "recall-", ".csv")
	if !bytes.HasPrefix(csv, []byte("\ufeff")) || !bytes.Contains(csv, []byte(d.positive)) || !bytes.Contains(csv, []byte(`"keep_sealed"`)) {
		t.Errorf("recall CSV:\n%s", csv)
	}

	// The closure dashboard of Guangdong.
	p.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/closure"]`)))
	p.wait("the closure dashboard", `!!document.querySelector('#report-csv') && !document.querySelector('main .loading')`)
	p.wantAccessible("closure")
	p.shot("closure-gd")
	for _, f := range []string{"csv", "xlsx", "pdf"} {
		p.do(chromedp.Click(chromedp.ID("report-" + f)))
		if data := waitFile(t, downloads, "closure-", "."+f); len(data) < 100 {
			t.Errorf("closure report %s: %d bytes", f, len(data))
		}
	}

	// Sign out; the Shanghai regulator sees the violation story's findings.
	p.do(chromedp.Click(chromedp.ID("signout")))
	p.wait("the sign-in form", `location.hash === '#/signin' && !!document.querySelector('#key')`)
	if eval[string](p, `sessionStorage.getItem('coldtrace.key') || ''`) != "" {
		t.Error("the key is still in session storage after signing out")
	}
	p.do(chromedp.SendKeys(chromedp.ID("key"), sh+"\r"))
	p.wait("the search view", `location.hash === '#/search'`)
	p.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/findings"]`)))
	p.wait("the findings", `document.querySelectorAll('#findings-list li').length >= 2`)
	body = p.text("main")
	for _, want := range []string{"“四不”违规", "缺少检验检疫证明", "温度超标"} {
		if !strings.Contains(body, want) {
			t.Errorf("findings lack %q", want)
		}
	}
	p.wantAccessible("findings")
	p.shot("findings")
	p.do(chromedp.Click(chromedp.CSS(`#nav a[href="#/closure"]`)))
	p.wait("the closure dashboard", `!!document.querySelector('#report-csv') && !document.querySelector('main .loading')`)
	if body := p.text("main"); !strings.Contains(body, "违规批次 (1)") || !strings.Contains(body, d.violation) || !strings.Contains(body, "“四不”违规") {
		t.Errorf("Shanghai closure dashboard: %.600s", body)
	}
	p.shot("closure-sh")

	// English.
	p.do(chromedp.Click(chromedp.ID("lang")))
	p.wait("English", `document.documentElement.lang === 'en' && document.getElementById('view-title').textContent === 'Closure dashboard'`)
	p.do(chromedp.Navigate(s.URL + "/ui/#/lot/" + d.violation))
	p.wait("the lot page in English", `!!document.querySelector('#graph[data-drawn="true"]') && document.body.innerText.includes('Trace graph')`)
	p.shot("lot-english")
	p.shotOf("lot-english-graph", "#graph")
	p.do(chromedp.Click(chromedp.ID("lang")))
	p.wantQuiet()

	// The consumer page on a phone.
	p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)))
	for _, c := range []struct{ name, code, want string }{
		{"consumer-sealed", child, "已封存"},
		{"consumer-cleared", d.clean, "已放行"},
		{"consumer-not-cleared", d.violation, "未放行"},
		{"consumer-unknown", "ABCD-EFGH-JKMY", "未找到该追溯码"},
	} {
		p.do(chromedp.Navigate(s.URL + "/t/" + c.code))
		p.wait(c.name, `document.readyState === 'complete'`)
		body := p.text("body")
		if !strings.Contains(body, c.want) {
			t.Errorf("%s: page lacks %q: %.300s", c.name, c.want, body)
		}
		for _, secret := range []string{"超市", "冷库", "监管仓", "粤B", "Empacadora", d.positiveBox} {
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
	p.do(chromedp.Navigate(s.URL + "/t/" + d.clean))
	p.do(chromedp.Click(chromedp.ID("lang-switch")))
	p.wait("the consumer page in English", `document.documentElement.dataset.lang === 'en'`)
	if body := p.text("body"); !strings.Contains(body, "Cleared") || !strings.Contains(body, "Brazil") {
		t.Errorf("English consumer page: %.300s", body)
	}
	p.shot("consumer-english")
	p.do(chromedp.Navigate(s.URL + "/t/" + d.clean))
	if lang := eval[string](p, `document.documentElement.dataset.lang`); lang != "en" {
		t.Errorf("the language choice was not kept (%s)", lang)
	}
	p.do(chromedp.Click(chromedp.ID("lang-switch")))

	// The QR code decodes back to the page's URL.
	checkQR(t, s.URL, d.clean, shots)

	// Server gone: the console says so in words.
	p.do(chromedp.EmulateViewport(1280, 900))
	p.do(chromedp.Navigate(s.URL + "/ui/#/search"))
	p.wait("the search view", `!!document.querySelector('#q')`)
	s.kill()
	p.do(chromedp.SendKeys(chromedp.ID("q"), d.clean+"\r"))
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
