package main_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"coldtrace/fixtures"
)

// TestWebhookSurvivesKill9: a positive is committed while the receiver is
// down, coldtrace is killed with SIGKILL before it could deliver, and
// after the restart every finding event arrives, signed, under the
// webhook-id of its attempts before the kill.
func TestWebhookSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	dir := t.TempDir()
	s := startServerArgs(t, dir, []string{"--demo"})
	d := readDemo(t, dir)

	var mu sync.Mutex
	secret, answer := "", 503
	tries, delivered := map[string]int{}, map[string]string{}
	var bad []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
		mu.Lock()
		defer mu.Unlock()
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		m := hmac.New(sha256.New, key)
		io.WriteString(m, id+"."+ts+"."+string(body))
		if r.Header.Get("webhook-signature") != "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)) {
			bad = append(bad, id)
		}
		tries[id]++
		if answer == 200 {
			delivered[id] = string(body)
		}
		w.WriteHeader(answer)
	}))
	defer rcv.Close()

	var hook struct{ ID, Secret string }
	if code := call(t, http.DefaultClient, "POST", s.URL+"/v1/webhooks", d.keys["gd-regulator"], map[string]any{"url": rcv.URL, "rules": []string{"positive_test", "positive_batch"}}, &hook); code != 201 {
		t.Fatalf("subscribe: %d", code)
	}
	mu.Lock()
	secret = hook.Secret
	mu.Unlock()

	at := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	var decl struct{ Lot string }
	if code := call(t, http.DefaultClient, "POST", s.URL+"/v1/events", d.keys["sz-importer"], map[string]any{"kind": "declared", "at": at, "site": "SZ-SK-PORT",
		"product":        map[string]any{"name": "冷冻带鱼", "hs_code": "0303890090", "category": "frozen", "origin_country": "NO", "spec": "10kg/箱", "production_date": "2026-09-01", "shelf_life_days": 540, "producer": "Test"},
		"declaration_no": fixtures.DeclarationNo("5316", 2026, 900017), "containers": []map[string]any{{"number": fixtures.Container("MSK", 800017), "seal": "NO1"}},
		"quantity": map[string]any{"grams": 1_000_000}}, &decl); code != 201 {
		t.Fatalf("declare: %d", code)
	}
	var rec struct{ Findings []struct{ ID, Rule string } }
	if code := call(t, http.DefaultClient, "POST", s.URL+"/v1/events", d.keys["sz-lab"], map[string]any{"kind": "tested", "at": at, "lot": decl.Lot, "samples": 5, "scope": []string{"goods"}, "result": "positive"}, &rec); code != 201 {
		t.Fatalf("positive test: %d", code)
	}
	if len(rec.Findings) != 2 {
		t.Fatalf("findings %+v", rec.Findings)
	}
	// Let the worker try (and fail) at most once, then kill -9.
	time.Sleep(300 * time.Millisecond)
	s.kill()
	mu.Lock()
	before := map[string]int{}
	for k, v := range tries {
		before[k] = v
	}
	answer = 200
	mu.Unlock()

	s2 := startServer(t, dir)
	defer s2.stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(delivered)
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart %d of 2 events delivered (tries %v)", n, tries)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("bad signatures: %v", bad)
	}
	for id := range before {
		if _, ok := delivered[id]; !ok {
			t.Errorf("event %s tried before the kill was delivered under another id", id)
		}
	}
	for _, f := range rec.Findings {
		found := false
		for _, body := range delivered {
			found = found || strings.Contains(body, `"id":"`+f.ID+`"`)
		}
		if !found {
			t.Errorf("finding %s (%s) never arrived", f.ID, f.Rule)
		}
	}
	t.Logf("tried before the kill: %v; delivered after the restart: %d", before, len(delivered))
}
