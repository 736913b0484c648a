package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
)

const adminSecret = fixtures.TestAdminSecret

// spec checks every response the tests receive against api/openapi.yaml and
// records which operations the tests exercised.
var spec struct {
	once    sync.Once
	doc     *openapi3.T
	router  routers.Router
	mu      sync.Mutex
	covered map[string]bool
}

func loadSpec(t testing.TB) {
	spec.once.Do(func() {
		data, err := os.ReadFile("openapi.yaml")
		if err != nil {
			panic(err)
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(data)
		if err != nil {
			panic(fmt.Sprintf("openapi.yaml: %v", err))
		}
		if err := doc.Validate(loader.Context); err != nil {
			panic(fmt.Sprintf("openapi.yaml is not valid OpenAPI: %v", err))
		}
		doc.Servers = nil // match requests on any host (the test server's port varies)
		openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
		spec.doc = doc
		spec.router, err = legacyrouter.NewRouter(doc)
		if err != nil {
			panic(err)
		}
		spec.covered = map[string]bool{}
	})
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	// With the whole suite run, every operation of the spec must have been
	// exercised and checked at least once.
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && spec.doc != nil {
		var missing []string
		for path, item := range spec.doc.Paths.Map() {
			for method := range item.Operations() {
				if !spec.covered[method+" "+path] {
					missing = append(missing, method+" "+path)
				}
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			fmt.Fprintf(os.Stderr, "operations of openapi.yaml no test exercised:\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// A harness is a ledger on real badger behind the real handler on a real
// loopback HTTP server.
type harness struct {
	t     *testing.T
	l     *ledger.Ledger
	tl    *fixtures.TestLedger // for Verify
	srv   *httptest.Server
	admin *client
}

func newHarness(t *testing.T, opts api.Options) *harness {
	t.Helper()
	return newHarnessUnder(t, opts, nil)
}

// newHarnessUnder is newHarness with a ledger that starts under policy pol
// (the default policy when nil).
func newHarnessUnder(t *testing.T, opts api.Options, pol *ledger.Policy) *harness {
	t.Helper()
	loadSpec(t)
	tl := fixtures.OpenTestLedger(t, ledger.Options{Policy: pol})
	l := tl.L
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.RatePerSecond == 0 {
		opts.RatePerSecond = -1
	}
	h := &harness{t: t, l: l, tl: tl, srv: httptest.NewServer(api.New(l, opts))}
	t.Cleanup(h.srv.Close)
	h.admin = h.client(adminSecret)
	return h
}

// A client sends requests with one API key and checks every answer against
// the spec.
type client struct {
	h   *harness
	key string
}

func (h *harness) client(key string) *client { return &client{h: h, key: key} }

// A response is a received answer.
type response struct {
	t      *testing.T
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *response) JSON(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		r.t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// problem decodes a problem document, checking its content type.
func (r *response) problem() (p struct {
	Type, Title, Detail, Code string
	Status                    int
	Errors                    []struct{ Field, Message string }
}) {
	r.t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		r.t.Fatalf("problem content type %q: %s", ct, r.Body)
	}
	r.JSON(&p)
	if p.Status != r.Status {
		r.t.Fatalf("problem status %d, response %d", p.Status, r.Status)
	}
	return p
}

// want fails the test unless the status is code.
func (r *response) want(code int) *response {
	r.t.Helper()
	if r.Status != code {
		r.t.Fatalf("status %d, want %d: %s", r.Status, code, r.Body)
	}
	return r
}

// wantProblem checks a problem answer: status, code and (if given) the first
// field named.
func (r *response) wantProblem(status int, code, field string) {
	r.t.Helper()
	r.want(status)
	p := r.problem()
	if p.Code != code {
		r.t.Fatalf("problem code %q, want %q: %s", p.Code, code, r.Body)
	}
	if field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != field) {
		r.t.Fatalf("problem names %+v, want field %q", p.Errors, field)
	}
}

// do sends a request; body is JSON-encoded unless it is []byte or a string.
func (c *client) do(method, path string, body any, header ...string) *response {
	t := c.h.t
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	req, err := http.NewRequest(method, c.h.srv.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	checkAgainstSpec(t, req, raw, resp, data)
	return &response{t: t, Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// checkAgainstSpec validates one exchange's response with kin-openapi.
func checkAgainstSpec(t *testing.T, req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	t.Helper()
	// Route the request as the spec sees it (the body is not needed).
	rq := req.Clone(context.Background())
	rq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := spec.router.FindRoute(rq)
	if err != nil {
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
			return // a path or method outside the API: nothing to check
		}
		t.Fatalf("%s %s answered %d but is not in openapi.yaml: %v", req.Method, req.URL.Path, resp.StatusCode, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: rq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Fatalf("%s %s: response %d does not match openapi.yaml: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	spec.mu.Lock()
	spec.covered[req.Method+" "+route.Path] = true
	spec.mu.Unlock()
}
