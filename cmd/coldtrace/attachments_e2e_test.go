package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"coldtrace/fixtures"
	"coldtrace/storage/storagetest"
)

// End-to-end tests of attachments: the real coldtrace binary, serving over
// real HTTP, storing in a real MinIO server (or the default blob folder),
// started by the package's shared harness (e2e_test.go).

// attS3Env is the environment that points serve and verify at m.
func attS3Env(m *storagetest.MinIO, bucket string) []string {
	return []string{
		"COLDTRACE_S3_ENDPOINT=" + m.Endpoint, "COLDTRACE_S3_ACCESS_KEY=" + m.AccessKey,
		"COLDTRACE_S3_SECRET_KEY=" + m.SecretKey, "COLDTRACE_S3_BUCKET=" + bucket, "COLDTRACE_S3_SECURE=false",
	}
}

// want reads resp and checks its status (and, for problems, its media type
// and code).
func attWant(t testing.TB, what string, resp *http.Response, status int, code string) []byte {
	t.Helper()
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status {
		t.Fatalf("%s: %s %s, want %d", what, resp.Status, data, status)
	}
	if code != "" {
		var p struct{ Code string }
		if resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(data, &p) != nil || p.Code != code {
			t.Fatalf("%s: %s is not a %q problem", what, data, code)
		}
	}
	return data
}

func attSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func attPDF(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	copy(b, "%PDF-1.7\n")
	return b
}

// TestAttachmentsOnMinIO is the end-to-end test of attachments on S3: upload,
// download (streamed and presigned), refusals, an object-store outage in the
// middle of the run, and an object altered behind the server's back that
// `coldtrace verify` finds.
func TestAttachmentsOnMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	m := storagetest.StartMinIO(t)
	dir := t.TempDir()
	env := attS3Env(m, "coldtrace-e2e")
	s := startServerArgs(t, dir, []string{"--max-attachment", "4194304"}, env...)
	attWant(t, "readyz", s.do("GET", "/readyz", "", "", nil), 200, "")

	// Upload and download: byte-equal, streamed and through a presigned URL.
	doc := attPDF(3<<20, 1)
	body := attWant(t, "upload", s.do("POST", "/v1/attachments", adminKey, "application/pdf", bytes.NewReader(doc)), 201, "")
	var up struct {
		SHA256      string `json:"sha256"`
		Size        int64  `json:"size"`
		ContentType string `json:"content_type"`
	}
	if err := json.Unmarshal(body, &up); err != nil || up.SHA256 != attSHA(doc) || up.Size != int64(len(doc)) || up.ContentType != "application/pdf" {
		t.Fatalf("upload answered %s", body)
	}
	got := attWant(t, "download", s.do("GET", "/v1/attachments/"+up.SHA256, adminKey, "", nil), 200, "")
	if !bytes.Equal(got, doc) {
		t.Fatal("the downloaded bytes differ from the uploaded ones")
	}
	resp := s.do("GET", "/v1/attachments/"+up.SHA256+"?redirect=true", adminKey, "", nil)
	attWant(t, "presigned redirect", resp, 302, "")
	loc := resp.Header.Get("Location")
	if !strings.Contains(loc, m.Endpoint) || !strings.Contains(loc, "X-Amz-Signature") {
		t.Fatalf("redirect to %q, want a presigned URL of the MinIO server", loc)
	}
	presigned, err := http.Get(loc) // no Authorization header: the URL is the credential
	if err != nil {
		t.Fatal(err)
	}
	if got := attWant(t, "GET of the presigned URL", presigned, 200, ""); !bytes.Equal(got, doc) {
		t.Fatal("the presigned download differs from the uploaded bytes")
	}

	// Refusals.
	org := fixtures.USCCOf("91310000MA1FL0002")
	attWant(t, "register an org", s.do("POST", "/v1/orgs", adminKey, "application/json",
		strings.NewReader(`{"uscc":"`+org+`","name":"冷库","roles":["cold_store"],"region":"310115"}`)), 201, "")
	var k struct{ Key string }
	_ = json.Unmarshal(attWant(t, "create a key", s.do("POST", "/v1/keys", adminKey, "application/json",
		strings.NewReader(`{"org":"`+org+`","role":"cold_store"}`)), 201, ""), &k)
	attWant(t, "unauthorised reader", s.do("GET", "/v1/attachments/"+up.SHA256, k.Key, "", nil), 403, "forbidden")
	attWant(t, "unknown hash", s.do("GET", "/v1/attachments/"+strings.Repeat("e", 64), adminKey, "", nil), 404, "not_found")
	attWant(t, "wrong type", s.do("POST", "/v1/attachments", k.Key, "image/jpeg", bytes.NewReader(doc[:1000])), 400, "invalid")
	attWant(t, "oversize", s.do("POST", "/v1/attachments", k.Key, "application/pdf", bytes.NewReader(attPDF(5<<20, 2))), 413, "too_large")
	own := attPDF(10_000, 3)
	attWant(t, "upload by the cold store", s.do("POST", "/v1/attachments", k.Key, "application/pdf", bytes.NewReader(own)), 201, "")
	attWant(t, "the uploader reads its own", s.do("GET", "/v1/attachments/"+attSHA(own), k.Key, "", nil), 200, "")

	// The object store goes away in the middle of the run...
	m.Stop(t)
	later := attPDF(20_000, 4)
	attWant(t, "upload while MinIO is down", s.do("POST", "/v1/attachments", adminKey, "application/pdf", bytes.NewReader(later)), 503, "unavailable")
	attWant(t, "download while MinIO is down", s.do("GET", "/v1/attachments/"+up.SHA256, adminKey, "", nil), 503, "unavailable")
	attWant(t, "readyz while MinIO is down", s.do("GET", "/readyz", "", "", nil), 503, "unavailable")
	attWant(t, "the ledger still answers", s.do("GET", "/v1/log/checkpoint", "", "", nil), 200, "")
	// ...and comes back: the server recovers without a restart.
	m.Start(t)
	deadline := time.Now().Add(time.Minute)
	for {
		resp := s.do("GET", "/readyz", "", "", nil)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not recover after MinIO came back: %s", resp.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	attWant(t, "upload after MinIO is back", s.do("POST", "/v1/attachments", adminKey, "application/pdf", bytes.NewReader(later)), 201, "")
	if got := attWant(t, "download after MinIO is back", s.do("GET", "/v1/attachments/"+up.SHA256, adminKey, "", nil), 200, ""); !bytes.Equal(got, doc) {
		t.Fatal("bytes differ after the outage")
	}
	s.stop()

	// verify passes, then finds an object altered behind the server.
	if out, code := runCLIEnv(t, env, "verify", "--data", dir); code != 0 || !strings.Contains(out, "3 attachments") {
		t.Fatalf("verify of an intact store: exit %d\n%s", code, out)
	}
	mc, err := minio.New(m.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	altered := false
	for obj := range mc.ListObjects(ctx, "coldtrace-e2e", minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		if obj.Size != int64(len(doc)) {
			continue
		}
		bad := bytes.Clone(doc)
		bad[len(bad)/2] ^= 0xff
		if _, err := mc.PutObject(ctx, "coldtrace-e2e", obj.Key, bytes.NewReader(bad), int64(len(bad)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		altered = true
	}
	if !altered {
		t.Fatal("found no object to alter")
	}
	out, code := runCLIEnv(t, env, "verify", "--data", dir)
	if code == 0 || !strings.Contains(out, up.SHA256) || !strings.Contains(out, "altered") {
		t.Fatalf("verify of an altered object: exit %d\n%s", code, out)
	}
	t.Logf("verify of an altered object, exit %d:\n%s", code, out)
}

// TestAttachmentsInDataFolder runs the default store (<data>/blobs): upload,
// download, and verify finding a file changed on disk.
func TestAttachmentsInDataFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	dir := t.TempDir()
	s := startServer(t, dir)
	csv := []byte("lot,min_c,max_c\nA1,-19.5,-17.0\n")
	attWant(t, "upload", s.do("POST", "/v1/attachments", adminKey, "text/csv", bytes.NewReader(csv)), 201, "")
	if got := attWant(t, "download", s.do("GET", "/v1/attachments/"+attSHA(csv), adminKey, "", nil), 200, ""); !bytes.Equal(got, csv) {
		t.Fatal("bytes differ")
	}
	s.stop()
	if out, code := runCLIEnv(t, nil, "verify", "--data", dir); code != 0 {
		t.Fatalf("verify of an intact folder: exit %d\n%s", code, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "blobs", "att", "*"))
	if len(files) != 1 {
		t.Fatalf("objects in the folder: %v", files)
	}
	if err := os.WriteFile(files[0], []byte("lot,min_c,max_c\nA1,-19.5,-7.0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runCLIEnv(t, nil, "verify", "--data", dir)
	if code == 0 || !strings.Contains(out, attSHA(csv)) {
		t.Fatalf("verify of a changed file: exit %d\n%s", code, out)
	}
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	if out, code := runCLIEnv(t, nil, "verify", "--data", dir); code == 0 || !strings.Contains(out, "missing") {
		t.Fatalf("verify of a deleted file: exit %d\n%s", code, out)
	}
}

// TestMinIOStoppedMidUpload stops MinIO while an upload streams through the
// server: the upload answers 503 and stores nothing; once MinIO is back the
// same upload succeeds and reads back whole, and verify passes.
func TestMinIOStoppedMidUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	m := storagetest.StartMinIO(t)
	dir := t.TempDir()
	env := attS3Env(m, "coldtrace-midupload")
	s := startServerArgs(t, dir, []string{"--max-attachment", "8388608"}, env...)
	attWant(t, "readyz", s.do("GET", "/readyz", "", "", nil), 200, "")

	doc := attPDF(6<<20, 7)
	pr, pw := io.Pipe()
	go func() {
		pw.Write(doc[:2<<20])
		time.Sleep(300 * time.Millisecond) // the server is streaming to MinIO
		m.Stop(t)
		pw.Write(doc[2<<20:])
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", s.URL+"/v1/attachments", pr)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/pdf")
	req.ContentLength = int64(len(doc))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("upload during the outage: %v", err)
	}
	attWant(t, "upload cut by the outage", resp, 503, "unavailable")

	m.Start(t)
	deadline := time.Now().Add(time.Minute)
	for {
		resp := s.do("GET", "/readyz", "", "", nil)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not recover after MinIO came back: %s", resp.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	attWant(t, "no attachment from the cut upload", s.do("GET", "/v1/attachments/"+attSHA(doc), adminKey, "", nil), 404, "not_found")
	attWant(t, "the upload again", s.do("POST", "/v1/attachments", adminKey, "application/pdf", bytes.NewReader(doc)), 201, "")
	if got := attWant(t, "download", s.do("GET", "/v1/attachments/"+attSHA(doc), adminKey, "", nil), 200, ""); !bytes.Equal(got, doc) {
		t.Fatal("the attachment uploaded after the outage reads back different")
	}
	s.stop()
	if out, code := runCLIEnv(t, env, "verify", "--data", dir); code != 0 {
		t.Fatalf("verify after the outage: exit %d\n%s", code, out)
	}
}
