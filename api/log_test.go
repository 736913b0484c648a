package api_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"coldtrace/api"
)

func TestLogOverHTTP(t *testing.T) {
	h := newHarness(t, api.Options{})
	for i := 1; i <= 9; i++ {
		h.admin.do("POST", "/v1/orgs", orgBody(i)).want(201)
	}
	pub := h.client("")
	vkey := strings.TrimSpace(string(pub.do("GET", "/v1/log/key", nil).want(200).Body))
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp := pub.do("GET", "/v1/log/checkpoint", nil).want(200)
	n, err := note.Open(cp.Body, note.VerifierList(v))
	if err != nil || !strings.HasPrefix(n.Text, "test.example/log\n10\n") {
		t.Fatalf("checkpoint %q: %v", cp.Body, err)
	}
	pub.do("GET", "/v1/log/checkpoint?size=5", nil).want(200)
	pub.do("GET", "/v1/log/checkpoint?size=500", nil).wantProblem(404, "not_found", "")
	pub.do("GET", "/v1/log/checkpoint?size=x", nil).wantProblem(400, "invalid", "size")

	recs := h.admin.do("GET", "/v1/log/records?start=2&end=5", nil).want(200)
	if lines := strings.Split(strings.TrimSuffix(string(recs.Body), "\n"), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], `{"seq":2,`) {
		t.Fatalf("records 2..5: %s", recs.Body)
	}
	if recs.Header.Get("X-Tree-Size") != "10" {
		t.Errorf("X-Tree-Size %q", recs.Header.Get("X-Tree-Size"))
	}
	all := h.admin.do("GET", "/v1/log/records", nil).want(200)
	if strings.Count(string(all.Body), "\n") != 10 {
		t.Fatalf("default range served %d records", strings.Count(string(all.Body), "\n"))
	}
	h.admin.do("GET", "/v1/log/records?start=11", nil).wantProblem(400, "invalid", "start")
	h.admin.do("GET", "/v1/log/records?start=3&end=2", nil).wantProblem(400, "invalid", "end")
	h.admin.do("GET", "/v1/log/records?start=-1", nil).wantProblem(400, "invalid", "start")

	var inc struct {
		Seq, Size int64
		Proof     []string
	}
	h.admin.do("GET", "/v1/log/proof/inclusion?seq=3&size=10", nil).want(200).JSON(&inc)
	if inc.Seq != 3 || inc.Size != 10 || len(inc.Proof) == 0 {
		t.Fatalf("inclusion %+v", inc)
	}
	h.admin.do("GET", "/v1/log/proof/inclusion", nil).wantProblem(400, "invalid", "seq")
	h.admin.do("GET", "/v1/log/proof/inclusion?seq=3&size=11", nil).wantProblem(400, "invalid", "size")
	h.admin.do("GET", "/v1/log/proof/inclusion?seq=10&size=10", nil).wantProblem(400, "invalid", "seq")
	pub.do("GET", "/v1/log/proof/consistency?from=4&to=10", nil).want(200)
	pub.do("GET", "/v1/log/proof/consistency?from=0&to=10", nil).wantProblem(400, "invalid", "from")
	pub.do("GET", fmt.Sprintf("/v1/log/proof/consistency?from=4&to=%d", 11), nil).wantProblem(400, "invalid", "to")
}

func TestOpsEndpoints(t *testing.T) {
	h := newHarness(t, api.Options{})
	pub := h.client("")
	pub.do("GET", "/healthz", nil).want(200)
	pub.do("GET", "/readyz", nil).want(200)
	h.admin.do("POST", "/v1/orgs", orgBody(1)).want(201)
	m := pub.do("GET", "/metrics", nil).want(200)
	for _, want := range []string{`coldtrace_http_requests_total{code="201",method="POST",route="/v1/orgs"} 1`, "coldtrace_log_size 2", "coldtrace_committed_records_total 2", "coldtrace_commit_groups_total 2", "go_goroutines"} {
		if !strings.Contains(string(m.Body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^coldtrace_syncs_total [1-9]`).Match(m.Body) {
		t.Error("metrics count no sync after two acknowledged records")
	}
	y := pub.do("GET", "/v1/openapi.yaml", nil).want(200)
	if !strings.HasPrefix(string(y.Body), "openapi: 3.0") {
		t.Errorf("openapi.yaml served as %q", y.Body[:20])
	}
}
