package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"coldtrace/api"
	"coldtrace/fixtures"
)

// TestAcceptLanguage: problems follow the client's Accept-Language — title,
// detail and errors[].message in Chinese when Chinese is preferred (by
// order or q-value), in English otherwise — with message_zh in both, and
// the answer says Content-Language and Vary: Accept-Language. Batch lines'
// problems follow it too.
func TestAcceptLanguage(t *testing.T) {
	h := newHarness(t, api.Options{})
	bad := map[string]any{"uscc": fixtures.USCC("330106", 1), "name": "x", "roles": []string{"importer"}, "region": "99"}
	type fieldErr struct {
		Field, Message string
		MessageZH      string `json:"message_zh"`
	}
	var zhMsg string
	for _, tc := range []struct {
		header string
		zh     bool
	}{
		{"", false},
		{"en", false},
		{"zh-CN", true},
		{"zh", true},
		{"zh-Hant-TW", true},
		{"en-US,zh;q=0.9", false},
		{"zh;q=0.9,en;q=0.8", true},
		{"en;q=0.5,zh-CN;q=0.8", true},
		{"fr,zh;q=0.7,en;q=0.3", true},
		{"zh;q=0,en", false},   // q=0: not Chinese
		{"fr, de", false},      // neither: English
		{"*", false},           //
		{"zh-CN;q=bad", false}, // unreadable: English
	} {
		r := h.admin.do("POST", "/v1/orgs", bad, "Accept-Language", tc.header)
		r.wantProblem(400, "invalid", "region")
		var p struct {
			Title, Detail string
			Errors        []fieldErr
		}
		r.JSON(&p)
		wantLang := map[bool]string{true: "zh", false: "en"}[tc.zh]
		if got := r.Header.Get("Content-Language"); got != wantLang {
			t.Errorf("Accept-Language %q: Content-Language %q, want %q", tc.header, got, wantLang)
		}
		if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Accept-Language") {
			t.Errorf("Accept-Language %q: Vary %q", tc.header, r.Header.Values("Vary"))
		}
		e := p.Errors[0]
		if e.MessageZH == "" || !hasHan(e.MessageZH) {
			t.Errorf("Accept-Language %q: message_zh %q", tc.header, e.MessageZH)
		}
		if tc.zh {
			zhMsg = e.Message
			if p.Title != "请求有误" || p.Detail != "字段 region 有误" || e.Message != e.MessageZH {
				t.Errorf("Accept-Language %q: not in Chinese: %s", tc.header, r.Body)
			}
		} else if p.Title != "Bad Request" || p.Detail != "invalid field region" || hasHan(e.Message) {
			t.Errorf("Accept-Language %q: not in English: %s", tc.header, r.Body)
		}
	}
	if zhMsg == "" {
		t.Fatal("no case asked for Chinese")
	}

	// Other statuses: 401 with a known detail, 404 with a detail no rule
	// knows (the kind in Chinese, then the English).
	anon := h.client("")
	p := anon.do("POST", "/v1/orgs", bad, "Accept-Language", "zh-CN").problem()
	if p.Title != "未认证" || !strings.Contains(p.Detail, "API 密钥") {
		t.Errorf("401 in Chinese: %+v", p)
	}
	p = h.admin.do("GET", "/v1/lots/NOPE-NOPE", nil, "Accept-Language", "zh").problem()
	if p.Title != "未找到" || !hasHan(p.Detail) {
		t.Errorf("404 in Chinese: %+v", p)
	}

	// A batch line's problem follows the header too.
	r := h.admin.do("POST", "/v1/events/batch", `{"kind":"site_disinfected","site":"NOPE"}`+"\n{\"kind\":1}",
		"Content-Type", "application/x-ndjson", "Accept-Language", "zh-CN,en;q=0.5").want(200)
	if r.Header.Get("Content-Language") != "zh" {
		t.Errorf("batch Content-Language %q", r.Header.Get("Content-Language"))
	}
	for _, line := range strings.Split(strings.TrimSpace(string(r.Body)), "\n") {
		var lp struct {
			Status int
			Title  string
			Errors []fieldErr
		}
		json.Unmarshal([]byte(line), &lp)
		if lp.Status < 400 || !hasHan(lp.Title) || (len(lp.Errors) > 0 && lp.Errors[0].Message != lp.Errors[0].MessageZH) {
			t.Errorf("batch line not in Chinese: %s", line)
		}
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}
