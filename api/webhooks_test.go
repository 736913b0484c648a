package api_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/vlog"
	"coldtrace/storage/badgerkv"
	"coldtrace/storage/fsblob"
)

// A receiver is a webhook endpoint on loopback that checks every
// signature with its own implementation of Standard Webhooks.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	answer int                  // the status it answers with
	tries  map[string]int       // webhook-id -> attempts seen
	got    map[string]alertBody // webhook-id -> body, once delivered (2xx)
	order  []string             // webhook-ids in order of first 2xx
	bad    []string             // problems found
}

type alertBody struct {
	Type    string `json:"type"`
	Finding struct {
		ledger.Finding
		Severity string     `json:"severity"`
		Due      *time.Time `json:"due"`
	} `json:"finding"`
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, answer: 204, tries: map[string]int{}, got: map[string]alertBody{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// verify checks a Standard Webhooks signature, written here from the spec
// (not with api.Sign).
func verify(secret, id, ts string, body []byte, header string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, id+"."+ts+"."+string(body))
	want := mac.Sum(nil)
	for _, s := range strings.Fields(header) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(b, want) {
			return true
		}
	}
	return false
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secret == "" || !verify(r.secret, id, ts, body, req.Header.Get("webhook-signature")) {
		r.bad = append(r.bad, "bad signature on "+id)
		w.WriteHeader(400)
		return
	}
	if req.Method != "POST" || req.Header.Get("Content-Type") != "application/json" {
		r.bad = append(r.bad, "not a JSON POST: "+id)
	}
	r.tries[id]++
	if r.answer >= 300 {
		w.WriteHeader(r.answer)
		return
	}
	var b alertBody
	if err := json.Unmarshal(body, &b); err != nil {
		r.bad = append(r.bad, "body does not decode: "+err.Error())
	}
	if _, dup := r.got[id]; !dup {
		r.order = append(r.order, id)
	}
	r.got[id] = b
	w.WriteHeader(r.answer)
}

func (r *receiver) set(answer int) {
	r.mu.Lock()
	r.answer = answer
	r.mu.Unlock()
}

// snapshot returns the delivered events by webhook-id and attempts so far.
func (r *receiver) snapshot() (map[string]alertBody, map[string]int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	got, tries := map[string]alertBody{}, map[string]int{}
	for k, v := range r.got {
		got[k] = v
	}
	for k, v := range r.tries {
		tries[k] = v
	}
	return got, tries, append([]string(nil), r.bad...)
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// settledDeliveries lists a subscription's deliveries once at least n are
// listed and none is pending. A receiver counts a delivery when it answers;
// the deliverer records it only once the answer is back, so a list read
// right after the receiver saw it may still say pending.
func (w *demoWorld) settledDeliveries(actor, hook string, n int) (ds struct{ Deliveries []ledger.Delivery }) {
	w.h.t.Helper()
	waitFor(w.h.t, "deliveries recorded", func() bool {
		w.key(actor).do("GET", "/v1/webhooks/"+hook+"/deliveries?limit=50", nil).want(200).JSON(&ds)
		for _, d := range ds.Deliveries {
			if d.Status == "pending" {
				return false
			}
		}
		return len(ds.Deliveries) >= n
	})
	return ds
}

// startDeliverer runs a delivery worker with fast retries until the test
// ends (or stop is called).
func startDeliverer(t *testing.T, l *ledger.Ledger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	backoff := make([]time.Duration, 200)
	for i := range backoff {
		backoff[i] = 30 * time.Millisecond
	}
	d := api.NewDeliverer(l, api.DelivererOptions{Backoff: backoff, Poll: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// declareAtShekou declares a batch of 1 t at the Shekou port yard.
func (w *demoWorld) declareAtShekou(n int) ledger.Receipt {
	w.h.t.Helper()
	at := time.Now().Add(-time.Hour).UTC()
	return w.event("sz-importer", map[string]any{"kind": "declared", "at": at.Format(time.RFC3339), "site": "SZ-SK-PORT",
		"product":        map[string]any{"name": "冷冻带鱼", "hs_code": "0303890090", "category": "frozen", "origin_country": "NO", "spec": "10kg/箱", "production_date": "2026-09-01", "shelf_life_days": 540, "producer": "Test"},
		"declaration_no": fixtures.DeclarationNo("5316", 2026, 900000+n), "containers": []map[string]any{{"number": fixtures.Container("MSK", 800000+n), "seal": "NO1"}},
		"quantity": map[string]any{"grams": 1_000_000}})
}

// newPositiveInGuangdong declares a batch at the Shekou port and has it
// test positive: a positive_test and a positive_batch finding in 440305
// (and a contact finding for each other lot still on the yard).
func (w *demoWorld) newPositiveInGuangdong(n int) ledger.Receipt {
	w.h.t.Helper()
	r := w.declareAtShekou(n)
	rec := w.event("sz-lab", map[string]any{"kind": "tested", "at": time.Now().Add(-59 * time.Minute).UTC().Format(time.RFC3339), "lot": r.Lot, "samples": 5, "scope": []string{"goods"}, "result": "positive"})
	rules := map[string]bool{}
	for _, f := range rec.Findings {
		rules[f.Rule] = true
	}
	if !rules["positive_test"] || !rules["positive_batch"] {
		w.h.t.Fatalf("positive test opened %v, want positive_test and positive_batch", rules)
	}
	return rec
}

// TestContactsBecomeWorkOverHTTP: a lot that lay on the same yard at the
// same time as a batch that tests positive gets a contact finding in its
// region, which Guangdong sees and Shanghai does not.
func TestContactsBecomeWorkOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	neighbour := w.declareAtShekou(50)
	rec := w.newPositiveInGuangdong(51)
	var contact *ledger.Finding
	for i, f := range rec.Findings {
		if f.Rule == "contact" {
			if contact != nil {
				t.Fatalf("two contact findings: %+v", rec.Findings)
			}
			contact = &rec.Findings[i]
		}
	}
	if contact == nil || contact.Lot != neighbour.Lot || contact.Region != "440305" || !strings.Contains(contact.Detail, "SZ-SK-PORT") {
		t.Fatalf("contact finding %+v, want one on lot %s at SZ-SK-PORT", contact, neighbour.Lot)
	}
	fl := w.findings("gd-regulator", "rule=contact&open=true")
	if len(fl.Findings) != 1 || fl.Findings[0].ID != contact.ID {
		t.Errorf("Guangdong's contact findings: %+v", fl.Findings)
	}
	if fl := w.findings("sh-regulator", "rule=contact"); len(fl.Findings) != 0 {
		t.Errorf("Shanghai sees %d contact findings", len(fl.Findings))
	}
	// The recall of the positive batch lists the neighbour as a contact.
	var rc struct {
		Contacts []ledger.Contact `json:"contacts"`
	}
	w.key("gd-regulator").do("GET", "/v1/lots/"+rec.Lot+"/recall", nil).want(200).JSON(&rc)
	if len(rc.Contacts) != 1 || rc.Contacts[0].Lot != neighbour.Lot || rc.Contacts[0].Site != "SZ-SK-PORT" {
		t.Errorf("recall contacts: %+v", rc.Contacts)
	}
}

// TestWebhooksOverHTTP: a Guangdong subscription gets every finding event
// of Guangdong, signed, at least once with one webhook-id per event, also
// after the receiver was down; Shanghai's subscription gets none of them; a
// 410 disables a subscription.
func TestWebhooksOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	gd, sh := newReceiver(t), newReceiver(t)

	// Who may subscribe, and to what.
	w.key("sz-importer").do("POST", "/v1/webhooks", map[string]any{"url": gd.srv.URL}).wantProblem(403, "forbidden", "")
	w.key("gd-regulator").do("POST", "/v1/webhooks", map[string]any{"url": "ftp://127.0.0.1/x"}).wantProblem(400, "invalid", "url")
	w.key("gd-regulator").do("POST", "/v1/webhooks", map[string]any{"url": gd.srv.URL, "regions": []string{"31"}}).wantProblem(403, "forbidden", "")
	var hook struct{ ID, Secret string }
	w.key("gd-regulator").do("POST", "/v1/webhooks", map[string]any{"url": gd.srv.URL + "/hook", "regions": []string{"44"}}).want(201).JSON(&hook)
	if !strings.HasPrefix(hook.Secret, "whsec_") {
		t.Fatalf("secret %q", hook.Secret)
	}
	gd.secret = hook.Secret
	var shHook struct{ ID, Secret string }
	w.key("sh-regulator").do("POST", "/v1/webhooks", map[string]any{"url": sh.srv.URL, "rules": []string{"positive_test", "positive_batch"}}).want(201).JSON(&shHook)
	sh.secret = shHook.Secret
	var list struct{ Webhooks []ledger.Webhook }
	w.key("gd-regulator").do("GET", "/v1/webhooks", nil).want(200).JSON(&list)
	if len(list.Webhooks) != 1 || list.Webhooks[0].Secret != "" || list.Webhooks[0].ID != hook.ID {
		t.Fatalf("Guangdong's webhooks: %+v", list.Webhooks)
	}
	w.key("sh-regulator").do("GET", "/v1/webhooks/"+hook.ID+"/deliveries", nil).wantProblem(404, "not_found", "")
	w.key("sh-regulator").do("DELETE", "/v1/webhooks/"+hook.ID, nil).wantProblem(404, "not_found", "")

	stop := startDeliverer(t, w.h.l)

	// The receiver is down: the events are tried and kept.
	gd.set(503)
	w.newPositiveInGuangdong(1)
	var open []string
	for _, f := range w.findings("gd-regulator", "open=true&rule=positive_test").Findings {
		open = append(open, f.ID)
	}
	waitFor(t, "attempts while the receiver is down", func() bool {
		_, tries, _ := gd.snapshot()
		n := 0
		for _, c := range tries {
			if c >= 2 {
				n++
			}
		}
		return n >= 2
	})
	_, downTries, _ := gd.snapshot()
	gd.set(200)
	waitFor(t, "delivery once the receiver is up", func() bool { got, _, _ := gd.snapshot(); return len(got) >= 2 })
	got, tries, bad := gd.snapshot()
	if len(bad) > 0 {
		t.Fatalf("receiver found: %v", bad)
	}
	for id := range downTries {
		if _, ok := got[id]; !ok {
			t.Errorf("event %s was tried while the receiver was down but never delivered", id)
		}
		if tries[id] < 3 {
			t.Errorf("event %s: %d attempts, want retries under one webhook-id", id, tries[id])
		}
	}
	rules := map[string]bool{}
	for _, b := range got {
		if b.Type != "finding.opened" || !strings.HasPrefix(b.Finding.Region, "44") || b.Finding.Severity != "critical" || b.Finding.Due == nil {
			t.Errorf("unexpected event: %+v", b)
		}
		rules[b.Finding.Rule] = true
	}
	if !rules["positive_test"] || !rules["positive_batch"] {
		t.Errorf("Guangdong got %v, want positive_test and positive_batch", rules)
	}
	ds := w.settledDeliveries("gd-regulator", hook.ID, 2)
	if len(ds.Deliveries) != 2 {
		t.Fatalf("%d deliveries listed", len(ds.Deliveries))
	}
	for _, d := range ds.Deliveries {
		if d.Status != "delivered" || d.Attempts < 3 || d.LastStatus != 200 || d.Delivered == nil {
			t.Errorf("delivery %+v", d)
		}
	}

	// An acknowledgement is told, by a regulator of the region only, once.
	var batch string
	for _, f := range w.findings("gd-regulator", "open=true&rule=positive_batch").Findings {
		if f.Seq > 0 && batch == "" {
			batch = f.ID
		}
	}
	w.key("sh-regulator").do("POST", "/v1/events", map[string]any{"kind": "finding_acknowledged", "finding": batch}).wantProblem(403, "forbidden", "")
	w.event("gd-regulator", map[string]any{"kind": "finding_acknowledged", "finding": batch, "reason": "on call, sealing team sent"})
	w.key("gd-regulator").do("POST", "/v1/events", map[string]any{"kind": "finding_acknowledged", "finding": batch}).wantProblem(409, "conflict", "")
	waitFor(t, "finding.acknowledged", func() bool {
		got, _, _ := gd.snapshot()
		for _, b := range got {
			if b.Type == "finding.acknowledged" && b.Finding.ID == batch && b.Finding.AckBy == "44" && b.Finding.Open {
				return true
			}
		}
		return false
	})
	var one struct {
		Findings []struct {
			ID      string     `json:"id"`
			AckBy   string     `json:"ack_by"`
			Due     *time.Time `json:"due"`
			Overdue bool       `json:"overdue"`
		} `json:"findings"`
	}
	w.key("gd-regulator").do("GET", "/v1/findings?rule=positive_batch&open=true", nil).want(200).JSON(&one)
	for _, f := range one.Findings {
		if f.ID == batch && (f.AckBy != "44" || f.Due == nil || f.Overdue) {
			t.Errorf("acknowledged finding listed as %+v", f)
		}
	}

	// A closed finding is told too.
	if len(open) == 0 {
		t.Fatal("no open positive_test finding in Guangdong")
	} else {
		w.event("gd-regulator", map[string]any{"kind": "finding_closed", "finding": open[0], "reason": "rectified"})
		waitFor(t, "finding.closed", func() bool {
			got, _, _ := gd.snapshot()
			for _, b := range got {
				if b.Type == "finding.closed" && b.Finding.ID == open[0] && !b.Finding.Open {
					return true
				}
			}
			return false
		})
	}
	// Shanghai subscribed to positives in its own regions: nothing came.
	if got, tries, _ := sh.snapshot(); len(got)+len(tries) != 0 {
		t.Errorf("Shanghai's receiver got %d events", len(got)+len(tries))
	}

	// 410 Gone disables the subscription; later events are not sent.
	gd.set(410)
	w.newPositiveInGuangdong(2)
	waitFor(t, "the subscription disabled", func() bool {
		w.key("gd-regulator").do("GET", "/v1/webhooks", nil).want(200).JSON(&list)
		return len(list.Webhooks) == 1 && list.Webhooks[0].Disabled != ""
	})
	_, tries, _ = gd.snapshot()
	gd.set(200)
	w.newPositiveInGuangdong(3)
	time.Sleep(300 * time.Millisecond)
	if _, after, _ := gd.snapshot(); len(after) != len(tries) {
		t.Errorf("a disabled subscription got %d new events", len(after)-len(tries))
	}
	stop()
	w.key("gd-regulator").do("DELETE", "/v1/webhooks/"+hook.ID, nil).want(200)
	w.key("gd-regulator").do("GET", "/v1/webhooks/"+hook.ID+"/deliveries", nil).wantProblem(404, "not_found", "")
}

// openWorld opens (or reopens) a ledger on dir behind a real HTTP server.
func openWorld(t *testing.T, dir string, d *fixtures.Demo) (*demoWorld, func()) {
	loadSpec(t)
	key, err := testKeyIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	store, err := badgerkv.Open(filepath.Join(dir, "db"), badgerkv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.New(store, key, ledger.Options{Blobs: fsblob.New(filepath.Join(dir, "blobs")), SweepEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	admin := ledger.Principal{}
	if d == nil {
		if _, err := l.Bootstrap(context.Background(), adminSecret); err != nil {
			t.Fatal(err)
		}
		if admin, err = l.Authenticate(t.Context(), adminSecret); err != nil {
			t.Fatal(err)
		}
		if d, err = fixtures.LoadDemo(context.Background(), l, admin); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, l: l, srv: httptest.NewServer(api.New(l, api.Options{RatePerSecond: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))}
	h.admin = h.client(adminSecret)
	var once sync.Once
	closeAll := func() { once.Do(func() { h.srv.Close(); l.Close(); store.Close() }) }
	t.Cleanup(closeAll)
	return &demoWorld{h: h, demo: d}, closeAll
}

// TestWebhooksSurviveARestart: findings committed while no worker runs are
// delivered after the ledger is closed and reopened on the same data
// directory, each once delivered, under the webhook-id of its first try.
func TestWebhooksSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	w, closeW := openWorld(t, dir, nil)
	rcv := newReceiver(t)
	var hook struct{ ID, Secret string }
	w.key("gd-regulator").do("POST", "/v1/webhooks", map[string]any{"url": rcv.srv.URL, "rules": []string{"positive_batch", "positive_test"}}).want(201).JSON(&hook)
	rcv.secret = hook.Secret

	// A first event is tried (receiver down), then the ledger stops.
	rcv.set(500)
	stop := startDeliverer(t, w.h.l)
	w.newPositiveInGuangdong(1)
	waitFor(t, "a failed attempt", func() bool { _, tries, _ := rcv.snapshot(); return len(tries) == 2 })
	stop()
	// A second one is committed with no worker running at all.
	w.newPositiveInGuangdong(2)
	_, before, _ := rcv.snapshot()
	closeW()

	w2, _ := openWorld(t, dir, w.demo)
	rcv.set(200)
	startDeliverer(t, w2.h.l)
	waitFor(t, "all four events after the restart", func() bool { got, _, _ := rcv.snapshot(); return len(got) == 4 })
	got, tries, bad := rcv.snapshot()
	if len(bad) > 0 {
		t.Fatal(bad)
	}
	for id := range before {
		if _, ok := got[id]; !ok || tries[id] < 2 {
			t.Errorf("event %s tried before the restart: delivered %v after %d attempts", id, ok, tries[id])
		}
	}
	ds := w2.settledDeliveries("gd-regulator", hook.ID, 4)
	if len(ds.Deliveries) != 4 {
		t.Fatalf("%d deliveries", len(ds.Deliveries))
	}
	for _, d := range ds.Deliveries {
		if d.Status != "delivered" {
			t.Errorf("delivery %+v", d)
		}
	}
}

// TestFindingStreamOverHTTP: a regulator's open stream receives its
// region's new findings as server-sent events; another region's does not.
func TestFindingStreamOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	w.h.client("").do("GET", "/v1/findings/stream", nil).wantProblem(401, "unauthenticated", "")
	w.key("gd-regulator").do("GET", "/v1/findings/stream", nil, "Last-Event-ID", "zz").wantProblem(400, "invalid", "Last-Event-ID")
	open := func(name string) <-chan string {
		a, _ := w.demo.Actor(name)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, "GET", w.h.srv.URL+"/v1/findings/stream", nil)
		req.Header.Set("Authorization", "Bearer "+a.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		lines := make(chan string, 100)
		go func() {
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		return lines
	}
	gd, sh := open("gd-regulator"), open("sh-regulator")
	time.Sleep(100 * time.Millisecond)
	w.newPositiveInGuangdong(1)
	var events []string
	timeout := time.After(10 * time.Second)
	for len(events) < 2 {
		select {
		case line := <-gd:
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var b alertBody
				if err := json.Unmarshal([]byte(data), &b); err != nil {
					t.Fatal(err)
				}
				if b.Type != "finding.opened" || !strings.HasPrefix(b.Finding.Region, "44") {
					t.Errorf("event %+v", b)
				}
				events = append(events, b.Finding.Rule)
			}
		case <-timeout:
			t.Fatalf("stream gave %v", events)
		}
	}
	select {
	case line := <-sh:
		if strings.HasPrefix(line, "data: ") {
			t.Errorf("Shanghai's stream got %s", line)
		}
	case <-time.After(300 * time.Millisecond):
	}
}

// testKeyIn returns the log's signing key kept in dir, made on first use, so
// that a reopened ledger signs with the same key.
func testKeyIn(dir string) (*vlog.Key, error) {
	path := filepath.Join(dir, "log.key")
	if skey, err := os.ReadFile(path); err == nil {
		return vlog.ParseKey(string(skey))
	}
	skey, key, err := vlog.GenerateKey("test.example/log")
	if err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, []byte(skey), 0o600)
}
