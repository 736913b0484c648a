package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	qr "github.com/piglig/go-qr"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
)

func init() {
	// The consumer page is text/html; the spec checks it as a string.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

// webStory records, straight into the ledger of e, a cleared batch, a part
// of it shipped to a market stall, and a second batch sold without papers
// (a four_no finding). It returns the trace codes.
type webStory struct {
	cleared, child, violating string
	pr                        map[string]ledger.Principal
}

func newWebStory(t *testing.T, e *env) *webStory {
	t.Helper()
	ctx := context.Background()
	adm, err := e.l.Authenticate(t.Context(), adminSecret)
	if err != nil {
		t.Fatal(err)
	}
	st := &webStory{pr: map[string]ledger.Principal{}}
	sub := func(p ledger.Principal, ev ledger.Event) *ledger.Receipt {
		t.Helper()
		r, err := e.l.Submit(ctx, p, ev, "")
		if err != nil {
			t.Fatalf("%s: %v", ev.Kind, err)
		}
		return r
	}
	imp, lab := fixtures.USCCOf("91310000MA1FL0001"), fixtures.USCCOf("12330000470000001")
	dis, sw, ret := fixtures.USCCOf("91310000MA1FL0003"), fixtures.USCCOf("12310000MB0000004"), fixtures.USCCOf("92310000MA1FL0005")
	for _, o := range []struct{ uscc, name, role string }{
		{dis, "洋山消毒服务有限公司", ledger.RoleDisinfector},
		{sw, "浦东集中监管仓", ledger.RoleSupervisionWarehouse},
		{ret, "李四水产摊位", ledger.RoleRetailer},
	} {
		sub(adm, ledger.Event{Kind: ledger.OrgRegistered, USCC: o.uscc, Name: o.name, Roles: []string{o.role}, Region: "310115"})
	}
	for role, org := range map[string]string{ledger.RoleImporter: imp, ledger.RoleLab: lab, ledger.RoleDisinfector: dis,
		ledger.RoleSupervisionWarehouse: sw, ledger.RoleRetailer: ret} {
		st.pr[role] = ledger.Principal{Key: "k-" + role, Org: org, Role: role}
	}
	sub(adm, ledger.Event{Kind: ledger.SiteRegistered, Site: "YS-PORT", Org: imp, Name: "洋山港堆场", Type: "port_yard", Region: "310115"})
	sub(adm, ledger.Event{Kind: ledger.SiteRegistered, Site: "MKT-9", Org: ret, Name: "江阳市场 9 号摊", Type: "market", Region: "310113"})
	att := func(p ledger.Principal, typ string) []ledger.AttachmentRef {
		body := append([]byte("%PDF-1.7\n"), []byte(typ)...)
		a, err := e.l.PutAttachment(ctx, p, "application/pdf", bytes.NewReader(body), -1)
		if err != nil {
			t.Fatal(err)
		}
		return []ledger.AttachmentRef{{SHA256: a.SHA256, Type: typ}}
	}
	at := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	product := &ledger.Product{Name: "冻带骨牛肉", HSCode: "0202200000", Category: "frozen", OriginCountry: "AR",
		Spec: "20kg/箱", ProductionDate: "2026-08-15", ShelfLifeDays: 540, Producer: "Frigorífico 1234"}
	r := sub(st.pr[ledger.RoleImporter], ledger.Event{Kind: ledger.Declared, At: at, Site: "YS-PORT", Product: product,
		DeclarationNo: "222020261000654321", Containers: []ledger.Container{{Number: "CSQU3054383"}},
		Quantity: &ledger.Quantity{Grams: 10_000_000}, Attachments: att(st.pr[ledger.RoleImporter], ledger.DocQuarantineCertificate)})
	st.cleared = r.CreatedLots[0].TraceCode
	sub(st.pr[ledger.RoleLab], ledger.Event{Kind: ledger.Tested, At: at.Add(time.Hour), Lot: st.cleared, Samples: 6, Scope: []string{"goods"}, Result: "negative"})
	sub(st.pr[ledger.RoleDisinfector], ledger.Event{Kind: ledger.Disinfected, At: at.Add(2 * time.Hour), Lot: st.cleared, Scope: []string{"container"}, Agent: "含氯消毒剂"})
	sub(st.pr[ledger.RoleSupervisionWarehouse], ledger.Event{Kind: ledger.Released, At: at.Add(3 * time.Hour), Lot: st.cleared,
		Attachments: att(st.pr[ledger.RoleSupervisionWarehouse], ledger.DocReleaseCertificate)})
	r = sub(st.pr[ledger.RoleImporter], ledger.Event{Kind: ledger.Shipped, At: at.Add(4 * time.Hour), Lot: st.cleared, ToOrg: ret, ToSite: "MKT-9",
		Quantity: &ledger.Quantity{Grams: 200_000}, Vehicle: &ledger.Vehicle{Plate: "沪B54321"}})
	st.child = r.CreatedLots[0].TraceCode

	r = sub(st.pr[ledger.RoleImporter], ledger.Event{Kind: ledger.Declared, At: at, Site: "YS-PORT", Product: product,
		DeclarationNo: "222020261000654322", Quantity: &ledger.Quantity{Grams: 1_000_000}})
	st.violating = r.CreatedLots[0].TraceCode
	sub(st.pr[ledger.RoleImporter], ledger.Event{Kind: ledger.Shipped, At: at.Add(time.Hour), Lot: st.violating, ToOrg: ret, ToSite: "MKT-9",
		Quantity: &ledger.Quantity{Grams: 1_000_000}})
	return st
}

// get fetches a page outside the API (not checked against the spec).
func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1] // the client sends req.Host, not the header
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(data)
}

func wantPageHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("%s: Content-Security-Policy %q", what, csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") == "" {
		t.Errorf("%s: headers %v", what, resp.Header)
	}
}

func decodeQR(t *testing.T, data []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("QR PNG does not decode: %v", err)
	}
	text, err := qr.Decode(img)
	if err != nil {
		t.Fatalf("QR code does not read back: %v", err)
	}
	return text
}

func TestPublicLotOverHTTP(t *testing.T) {
	e := newEnv(t, 0)
	st := newWebStory(t, e)

	// JSON: the public view, under the request's origin.
	resp := e.do("GET", "/t/"+st.cleared+".json", "", "", nil, nil)
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("json: %s %s", resp.Status, data)
	}
	var pl struct {
		ledger.PublicLot
		URL string `json:"url"`
	}
	json.Unmarshal(data, &pl)
	if pl.Status != "cleared" || pl.Importer.Name != "importer" || pl.URL != e.srv.URL+"/t/"+st.cleared {
		t.Errorf("json: %s", data)
	}
	for _, secret := range []string{"李四", "MKT-9", "沪B54321", "Frigorífico", "CSQU3054383", "10000000"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("the public JSON shows %q: %s", secret, data)
		}
	}
	// A code typed in lower case without hyphens names the same lot, and the
	// QR code holds the canonical URL.
	typed := strings.ToLower(strings.ReplaceAll(st.child, "-", ""))
	resp = e.do("GET", "/t/"+typed+".png", "", "", nil, nil)
	data, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("png: %s", resp.Status)
	}
	if got, want := decodeQR(t, data), e.srv.URL+"/t/"+st.child; got != want {
		t.Errorf("QR code reads %q, want %q", got, want)
	}

	// A Host the client chose never reaches the URL or the QR code: both use
	// the address the server listens on, and caches are told they vary.
	for _, f := range []string{".json", ".png"} {
		r, body := get(t, e.srv.URL+"/t/"+st.cleared+f, "Host", "evil.example")
		if r.StatusCode != 200 || r.Header.Get("Vary") != "Host" {
			t.Fatalf("%s with a forged Host: %s Vary %q", f, r.Status, r.Header.Get("Vary"))
		}
		if f == ".png" {
			body = decodeQR(t, []byte(body))
		}
		if strings.Contains(body, "evil") || !strings.Contains(body, e.srv.URL+"/t/"+st.cleared) {
			t.Errorf("%s with Host: evil.example: %s", f, body)
		}
	}

	expectProblem(t, "unknown code json", e.do("GET", "/t/ABCD-EFGH-JKMY.json", "", "", nil, nil), 404, "")
	expectProblem(t, "bad code png", e.do("GET", "/t/hello.png", "", "", nil, nil), 404, "")
	if r, _ := get(t, e.srv.URL+"/t/"+st.cleared+".txt"); r.StatusCode != 404 {
		t.Errorf(".txt: %s", r.Status)
	}

	// The page, in Chinese by default, with both languages in it (checked
	// against the spec once, then read).
	if r := e.do("GET", "/t/"+st.cleared, "", "", nil, nil); r.StatusCode != 200 {
		t.Fatalf("page: %s", r.Status)
	}
	if r := e.do("GET", "/t/ABCD-EFGH-JKMY", "", "", nil, nil); r.StatusCode != 404 {
		t.Fatalf("unknown page: %s", r.Status)
	}
	r, body := get(t, e.srv.URL+"/t/"+st.cleared)
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %s %s", r.Status, body)
	}
	wantPageHeaders(t, "consumer page", r)
	for _, want := range []string{`data-lang="zh"`, "已放行", "Cleared", "冻带骨牛肉", "阿根廷", "Argentina", "importer",
		"2026-08-15", "540 天", "2028-02-06", "阴性", "已消毒", st.cleared} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, secret := range []string{"李四", "MKT-9", "沪B54321", "Frigorífico", "CSQU3054383", "<script>"} {
		if strings.Contains(body, secret) {
			t.Errorf("page shows %q", secret)
		}
	}
	if _, body := get(t, e.srv.URL+"/t/"+st.cleared+"?lang=en"); !strings.Contains(body, `data-lang="en"`) {
		t.Error("?lang=en does not start in English")
	}
	r, body = get(t, e.srv.URL+"/t/abcd-efgh-jkmy") // valid, but no lot has it
	if r.StatusCode != 404 || !strings.Contains(body, "未找到该追溯码") || !strings.Contains(body, "No goods have this trace code") {
		t.Errorf("unknown code page: %s %s", r.Status, body)
	}
	r, body = get(t, e.srv.URL+"/t/%3Cscript%3Ealert(1)%3C")
	if r.StatusCode != 404 || !strings.Contains(body, "这不是有效的追溯码") || strings.Contains(body, "<script>alert") {
		t.Errorf("invalid code page: %s %s", r.Status, body)
	}

	// A positive test of the child seals the batch: the page says so.
	if _, err := e.l.Submit(context.Background(), st.pr[ledger.RoleLab], ledger.Event{Kind: ledger.Tested, At: time.Now().Add(-time.Minute),
		Lot: st.child, Samples: 2, Scope: []string{"packaging"}, Result: "positive"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, e.srv.URL+"/t/"+st.cleared); !strings.Contains(body, "已封存") || !strings.Contains(body, "status-sealed") {
		t.Error("the page of a sealed lot does not say sealed")
	}
	if _, body := get(t, e.srv.URL+"/t/"+st.violating); !strings.Contains(body, "未放行") {
		t.Error("the page of a lot without papers does not say not cleared")
	}
}

func TestPublicURLOption(t *testing.T) {
	e := newEnv(t, 0)
	st := newWebStory(t, e)
	base, err := api.ValidatePublicURL("https://trace.example.cn/")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(e.l, api.Options{RatePerSecond: -1, PublicURL: base}))
	defer srv.Close()
	r, body := get(t, srv.URL+"/t/"+st.cleared+".png")
	if r.StatusCode != 200 {
		t.Fatal(r.Status)
	}
	if got := decodeQR(t, []byte(body)); got != "https://trace.example.cn/t/"+st.cleared {
		t.Errorf("QR code with a public URL reads %q", got)
	}
	// Without a public URL, an allowed Host is used; another is not.
	srv2 := httptest.NewServer(api.New(e.l, api.Options{RatePerSecond: -1, AllowedHosts: []string{"Trace.Example.cn:8443"}}))
	defer srv2.Close()
	_, body = get(t, srv2.URL+"/t/"+st.cleared+".png", "Host", "trace.example.cn:8443")
	if got := decodeQR(t, []byte(body)); got != "http://trace.example.cn:8443/t/"+st.cleared {
		t.Errorf("QR code under an allowed Host reads %q", got)
	}
	_, body = get(t, srv2.URL+"/t/"+st.cleared+".json", "Host", "evil.example")
	if strings.Contains(body, "evil") || !strings.Contains(body, srv2.URL) {
		t.Errorf("JSON under a Host not allowed: %s", body)
	}
	for _, bad := range []string{"trace.example.cn", "ftp://x", "https://例子.cn", "https://x/?a=1", "https://u:p@x"} {
		if _, err := api.ValidatePublicURL(bad); err == nil {
			t.Errorf("ValidatePublicURL(%q) accepted", bad)
		}
	}
}

func TestConsoleFiles(t *testing.T) {
	e := newEnv(t, 0)
	for _, p := range []string{"/", "/ui"} {
		if r, _ := get(t, e.srv.URL+p); r.StatusCode != 302 || r.Header.Get("Location") != "/ui/" {
			t.Errorf("%s: %s -> %q", p, r.Status, r.Header.Get("Location"))
		}
	}
	r, body := get(t, e.srv.URL+"/ui/")
	if r.StatusCode != 200 || !strings.Contains(body, `<html lang="zh-CN"`) || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/ui/: %s %.200s", r.Status, body)
	}
	wantPageHeaders(t, "console", r)
	if strings.Contains(body, "<script>") || strings.Contains(body, "style=") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("index.html has inline script or style, or loads from another origin")
	}
	etag := r.Header.Get("ETag")
	if r, _ := get(t, e.srv.URL+"/ui/", "If-None-Match", etag); etag == "" || r.StatusCode != 304 {
		t.Errorf("revalidation with ETag %q: %s", etag, r.Status)
	}
	for _, f := range []string{"/ui/app.js", "/ui/vendor/cytoscape.min.js", "/ui/vendor/cytoscape-dagre.min.js"} {
		r, _ := get(t, e.srv.URL+f)
		if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("%s: %s %s", f, r.Status, r.Header.Get("Content-Type"))
		}
	}
	for _, f := range []string{"/ui/vendor/", "/ui/nope.js", "/ui/../api.go", "/ui/index.html/x"} {
		if r, _ := get(t, e.srv.URL+f); r.StatusCode != 404 {
			t.Errorf("%s: %s, want 404", f, r.Status)
		}
	}
}

func TestMeAndLotFindings(t *testing.T) {
	e := newEnv(t, 0)
	st := newWebStory(t, e)
	resp := e.do("GET", "/v1/me", "importer", "", nil, nil)
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"org_name":"importer"`) || !strings.Contains(string(data), `"role":"importer"`) {
		t.Errorf("me: %s %s", resp.Status, data)
	}
	resp = e.do("GET", "/v1/me", "admin", "", nil, nil)
	data, _ = io.ReadAll(resp.Body)
	if !strings.Contains(string(data), `"role":"admin"`) {
		t.Errorf("me (admin): %s", data)
	}
	expectProblem(t, "me without a key", e.do("GET", "/v1/me", "", "", nil, nil), 401, "")

	resp = e.do("GET", "/v1/lots/"+st.violating+"/findings", "admin", "", nil, nil)
	var got struct {
		Findings []struct {
			Rule, Explanation string
			ExplanationEN     string `json:"explanation_en"`
			Open              bool
		}
	}
	data, _ = io.ReadAll(resp.Body)
	json.Unmarshal(data, &got)
	if resp.StatusCode != 200 || len(got.Findings) == 0 || got.Findings[0].Rule != ledger.RuleFourNo ||
		!strings.Contains(got.Findings[0].Explanation, "四不") || got.Findings[0].ExplanationEN == "" || !got.Findings[0].Open {
		t.Errorf("lot findings: %s %s", resp.Status, data)
	}
	resp = e.do("GET", "/v1/lots/"+st.cleared+"/findings", "importer", "", nil, nil)
	data, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(bytes.TrimSpace(data)) != `{"findings":[]}` {
		t.Errorf("findings of a clean lot: %s %s", resp.Status, data)
	}
	expectProblem(t, "findings of an unseen lot", e.do("GET", "/v1/lots/"+st.violating+"/findings", "lab", "", nil, nil), 403, "")
	expectProblem(t, "findings of no lot", e.do("GET", "/v1/lots/ABCD-EFGH-JKMY/findings", "admin", "", nil, nil), 404, "")
}

// TestPublicPageUnavailable: when the ledger cannot be read, the page says
// so in words (503), and the JSON is a problem document.
func TestPublicPageUnavailable(t *testing.T) {
	loadSpec(t)
	tl := fixtures.OpenTestLedger(t, ledger.Options{})
	srv := httptest.NewServer(api.New(tl.L, api.Options{RatePerSecond: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	defer srv.Close()
	tl.Close()
	r, body := get(t, srv.URL+"/t/ABCD-EFGH-JKMY")
	if r.StatusCode != 503 || !strings.Contains(body, "追溯服务暂时不可用") || !strings.Contains(body, "unavailable") || r.Header.Get("Retry-After") == "" {
		t.Errorf("page with the ledger down: %s %s", r.Status, body)
	}
	if r, body := get(t, srv.URL+"/t/ABCD-EFGH-JKMY.json"); r.StatusCode != 503 || !strings.Contains(body, `"code":"unavailable"`) {
		t.Errorf("json with the ledger down: %s %s", r.Status, body)
	}
}
