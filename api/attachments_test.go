package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
)

type env struct {
	t     *testing.T
	srv   *httptest.Server
	l     *ledger.Ledger
	blobs string // the blob folder
	keys  map[string]string
}

// newEnv serves a ledger on badger and a blob folder over real HTTP, with an
// importer and a lab registered and a key each.
func newEnv(t *testing.T, maxAttachment int64) *env {
	t.Helper()
	loadSpec(t)
	// The attachment and web stories were written for the rules before
	// policy version 1 (a release at the port yard); clearance by the book
	// is tested with the demo (authority_test.go, clearance_test.go).
	v0 := ledger.PolicyV0()
	tl := fixtures.OpenTestLedger(t, ledger.Options{MaxAttachmentBytes: maxAttachment, Policy: &v0})
	l := tl.L
	e := &env{t: t, blobs: filepath.Join(tl.Dir, "blobs"), keys: map[string]string{"admin": adminSecret}, l: l}
	e.srv = httptest.NewServer(api.New(l, api.Options{RatePerSecond: -1}))
	t.Cleanup(e.srv.Close)
	for _, o := range []struct{ name, uscc, role string }{
		{"importer", fixtures.USCCOf("91310000MA1FL0001"), ledger.RoleImporter},
		{"lab", fixtures.USCCOf("12330000470000001"), ledger.RoleLab},
	} {
		e.mustJSON("admin", "/v1/orgs", map[string]any{"uscc": o.uscc, "name": o.name, "roles": []string{o.role}, "region": "330100"})
		var k struct{ Key string }
		json.Unmarshal(e.mustJSON("admin", "/v1/keys", map[string]any{"org": o.uscc, "role": o.role}), &k)
		e.keys[o.name] = k.Key
	}
	return e
}

func (e *env) mustJSON(who, path string, v any) []byte {
	e.t.Helper()
	body, _ := json.Marshal(v)
	resp := e.do("POST", path, who, "application/json", bytes.NewReader(body), nil)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("POST %s: %s %s", path, resp.Status, data)
	}
	return data
}

func (e *env) do(method, path, who, ct string, body io.Reader, hdr http.Header) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+e.keys[who])
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		e.t.Fatal(err)
	}
	checkAgainstSpec(e.t, req, nil, resp, data)
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return resp
}

type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Field, Message string
	} `json:"errors"`
}

// expectProblem checks that resp is a problem document of status naming
// field (when not empty).
func expectProblem(t *testing.T, what string, resp *http.Response, status int, field string) {
	t.Helper()
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Errorf("%s: %s %s, want %d", what, resp.Status, data, status)
		return
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	var p problem
	if err := json.Unmarshal(data, &p); err != nil || p.Status != status || p.Code == "" {
		t.Errorf("%s: not a problem document: %s", what, data)
		return
	}
	if field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != field) {
		t.Errorf("%s: problem %s does not name field %q", what, data, field)
	}
}

type uploaded struct {
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
}

func expectCreated(t *testing.T, what string, resp *http.Response, data []byte, ct string) uploaded {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var u uploaded
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("%s: %s %s", what, resp.Status, body)
	}
	if err := json.Unmarshal(body, &u); err != nil {
		t.Fatalf("%s: %s: %v", what, body, err)
	}
	sum := sha256.Sum256(data)
	if u.SHA256 != hex.EncodeToString(sum[:]) || u.Size != int64(len(data)) || u.ContentType != ct {
		t.Fatalf("%s: answered %+v for %d bytes of %s", what, u, len(data), ct)
	}
	if loc := resp.Header.Get("Location"); loc != "/v1/attachments/"+u.SHA256 {
		t.Errorf("%s: Location %q", what, loc)
	}
	return u
}

func multipartBody(t *testing.T, field, ct string, data []byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("note", "ignored")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename="doc"`, field))
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	pw, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	pw.Write(data)
	w.Close()
	return w.FormDataContentType(), &buf
}

func samplePDF(n int) []byte {
	b := bytes.Repeat([]byte("0 0 m 10 10 l S\n"), n/16+1)[:n]
	copy(b, "%PDF-1.4\n")
	return b
}

var samplePNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0x42, 0}, 2000)...)

// chunked hides the length of a body so that it is sent chunked.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestUploadAndDownload(t *testing.T) {
	e := newEnv(t, 0)
	// Raw body, length known.
	u := expectCreated(t, "raw PNG", e.do("POST", "/v1/attachments", "importer", "image/png", bytes.NewReader(samplePNG), nil), samplePNG, "image/png")
	resp := e.do("GET", "/v1/attachments/"+u.SHA256, "importer", "", nil, nil)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, samplePNG) {
		t.Fatalf("download: %s, %d bytes, equal %v", resp.Status, len(got), bytes.Equal(got, samplePNG))
	}
	for h, want := range map[string]string{
		"Content-Type": "image/png", "ETag": `"` + u.SHA256 + `"`, "X-Content-Type-Options": "nosniff",
		"Content-Length": fmt.Sprint(len(samplePNG)),
	} {
		if v := resp.Header.Get(h); v != want {
			t.Errorf("download header %s = %q, want %q", h, v, want)
		}
	}
	resp = e.do("GET", "/v1/attachments/"+u.SHA256, "importer", "", nil, http.Header{"If-None-Match": {`"` + u.SHA256 + `"`}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional download: %s, want 304", resp.Status)
	}
	// ?redirect=true on a store that cannot presign serves the bytes.
	resp = e.do("GET", "/v1/attachments/"+u.SHA256+"?redirect=true", "admin", "", nil, nil)
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, samplePNG) {
		t.Errorf("download with redirect=true from a folder: %s", resp.Status)
	}

	// Chunked raw body.
	pdf := samplePDF(200_000)
	expectCreated(t, "chunked PDF", e.do("POST", "/v1/attachments", "importer", "application/pdf", chunked{bytes.NewReader(pdf)}, nil), pdf, "application/pdf")
	// Multipart, with the part's own type.
	csv := []byte("批次,温度\nA1,-18.5\n")
	ct, body := multipartBody(t, "file", "text/csv; charset=utf-8", csv)
	u = expectCreated(t, "multipart CSV", e.do("POST", "/v1/attachments", "lab", ct, body, nil), csv, "text/csv")
	resp = e.do("GET", "/v1/attachments/"+u.SHA256, "lab", "", nil, nil)
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, csv) {
		t.Fatal("the CSV came back different")
	}
	// The same bytes again: the same answer, stored once.
	expectCreated(t, "the same PNG again", e.do("POST", "/v1/attachments", "lab", "image/png", bytes.NewReader(samplePNG), nil), samplePNG, "image/png")
	if n := countObjects(t, e); n != 3 {
		t.Errorf("%d objects for 3 distinct attachments", n)
	}
}

func countObjects(t *testing.T, e *env) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(filepath.Join(e.blobs, "att"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestUploadRefused(t *testing.T) {
	const limit = 64 << 10
	e := newEnv(t, limit)
	big := samplePDF(limit + 1)
	mpBig, mpBigBody := multipartBody(t, "file", "application/pdf", big)
	mpWrong, mpWrongBody := multipartBody(t, "file", "image/jpeg", samplePNG)
	mpNoType, mpNoTypeBody := multipartBody(t, "file", "", samplePNG)
	mpNoFile, mpNoFileBody := multipartBody(t, "document", "image/png", samplePNG)
	for _, c := range []struct {
		name   string
		who    string
		ct     string
		body   io.Reader
		status int
		field  string
	}{
		{"no key", "", "image/png", bytes.NewReader(samplePNG), 401, ""},
		{"no Content-Type", "importer", "", bytes.NewReader(samplePNG), 400, "Content-Type"},
		{"a type not allowed", "importer", "application/zip", bytes.NewReader(samplePNG), 400, "Content-Type"},
		{"bytes not of the declared type", "importer", "application/pdf", bytes.NewReader(samplePNG), 400, "body"},
		{"binary declared as CSV", "importer", "text/csv", bytes.NewReader(samplePNG), 400, "body"},
		{"NUL deep inside a CSV", "importer", "text/csv", chunked{strings.NewReader(strings.Repeat("a,b\n", 5000) + "\x00")}, 400, "body"},
		{"empty", "importer", "application/pdf", bytes.NewReader(nil), 400, "body"},
		{"too large, length known", "importer", "application/pdf", bytes.NewReader(big), 413, ""},
		{"too large, chunked", "importer", "application/pdf", chunked{bytes.NewReader(big)}, 413, ""},
		{"too large, multipart", "importer", mpBig, mpBigBody, 413, ""},
		{"multipart of the wrong type", "importer", mpWrong, mpWrongBody, 400, "file"},
		{"multipart part without a type", "importer", mpNoType, mpNoTypeBody, 400, "file"},
		{"multipart without a file field", "importer", mpNoFile, mpNoFileBody, 400, "file"},
		{"multipart without a boundary", "importer", "multipart/form-data", bytes.NewReader(samplePNG), 400, "file"},
	} {
		expectProblem(t, c.name, e.do("POST", "/v1/attachments", c.who, c.ct, c.body, nil), c.status, c.field)
	}
	if n := countObjects(t, e); n != 0 {
		t.Errorf("refused uploads left %d objects", n)
	}
	for _, data := range [][]byte{samplePNG, big} {
		sum := sha256.Sum256(data)
		expectProblem(t, "an attachment that was refused", e.do("GET", "/v1/attachments/"+hex.EncodeToString(sum[:]), "admin", "", nil, nil), 404, "")
	}
	// The JSON limit still holds on the other routes.
	expectProblem(t, "a 2 MiB JSON body", e.do("POST", "/v1/orgs", "admin", "application/json", bytes.NewReader(bytes.Repeat([]byte(" "), 2<<20)), nil), 413, "")
}

func TestDownloadRefused(t *testing.T) {
	e := newEnv(t, 0)
	u := expectCreated(t, "upload", e.do("POST", "/v1/attachments", "importer", "image/png", bytes.NewReader(samplePNG), nil), samplePNG, "image/png")
	expectProblem(t, "a reader whose org did not upload it", e.do("GET", "/v1/attachments/"+u.SHA256, "lab", "", nil, nil), 403, "")
	expectProblem(t, "the same with redirect=true", e.do("GET", "/v1/attachments/"+u.SHA256+"?redirect=true", "lab", "", nil, nil), 403, "")
	expectProblem(t, "no key", e.do("GET", "/v1/attachments/"+u.SHA256, "", "", nil, nil), 401, "")
	expectProblem(t, "an unknown hash", e.do("GET", "/v1/attachments/"+strings.Repeat("0", 64), "admin", "", nil, nil), 404, "")
	expectProblem(t, "a malformed hash", e.do("GET", "/v1/attachments/not-a-hash", "admin", "", nil, nil), 400, "sha256")
	expectProblem(t, "an upper-case hash", e.do("GET", "/v1/attachments/"+strings.ToUpper(u.SHA256), "admin", "", nil, nil), 400, "sha256")
}

func TestReadyReportsBlobStore(t *testing.T) {
	e := newEnv(t, 0)
	resp := e.do("GET", "/readyz", "", "", nil, nil)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(data), `"blobs":"ok"`) {
		t.Fatalf("/readyz: %s %s", resp.Status, data)
	}
	// Break the blob folder: a file where the folder should be.
	if err := os.RemoveAll(e.blobs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.blobs, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	expectProblem(t, "/readyz with a broken blob store", e.do("GET", "/readyz", "", "", nil, nil), 503, "")
	expectProblem(t, "an upload into a broken blob store", e.do("POST", "/v1/attachments", "importer", "image/png", bytes.NewReader(samplePNG), nil), 503, "")
}
