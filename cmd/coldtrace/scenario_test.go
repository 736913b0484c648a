package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// restRecorder records the fixtures' stories over the REST API of a running
// server, so that the same stories that `make run` loads are told end to end.
type restRecorder struct {
	t    *testing.T
	base string
	c    *http.Client
}

var _ fixtures.Recorder = restRecorder{}

// send posts body (JSON unless raw) with key and decodes a 201 answer.
func (r restRecorder) send(path, key, contentType string, body []byte, out any) error {
	req, _ := http.NewRequest("POST", r.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", contentType)
	resp, err := r.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (r restRecorder) json(path, key string, v, out any) error {
	b, _ := json.Marshal(v)
	return r.send(path, key, "application/json", b, out)
}

func (r restRecorder) Org(_ context.Context, uscc, name, region string, roles []string) error {
	return r.json("/v1/orgs", adminKey, map[string]any{"uscc": uscc, "name": name, "region": region, "roles": roles}, nil)
}

func (r restRecorder) Site(_ context.Context, id, org, name, typ, region, address string) error {
	return r.json("/v1/sites", adminKey, map[string]any{"id": id, "org": org, "name": name, "type": typ, "region": region, "address": address}, nil)
}

func (r restRecorder) Key(_ context.Context, org, role string, regions []string) (ledger.Principal, string, error) {
	var k struct {
		ID, Org, Role, Key string
		Regions            []string
	}
	err := r.json("/v1/keys", adminKey, map[string]any{"org": org, "role": role, "regions": regions}, &k)
	return ledger.Principal{Key: k.ID, Org: k.Org, Role: k.Role, Regions: k.Regions}, k.Key, err
}

func (r restRecorder) Upload(_ context.Context, a fixtures.Actor, contentType string, data []byte) (string, error) {
	var att struct{ SHA256 string }
	err := r.send("/v1/attachments", a.Secret, contentType, data, &att)
	return att.SHA256, err
}

func (r restRecorder) Event(_ context.Context, a fixtures.Actor, ev ledger.Event) (*ledger.Receipt, error) {
	var rc ledger.Receipt
	err := r.json("/v1/events", a.Secret, ev, &rc)
	return &rc, err
}

// get fetches path with key and decodes the JSON answer; it returns the
// status.
func (r restRecorder) get(path, key string, out any) int {
	r.t.Helper()
	req, _ := http.NewRequest("GET", r.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := r.c.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			r.t.Fatalf("GET %s: %v: %s", path, err, data)
		}
	}
	return resp.StatusCode
}

func (r restRecorder) download(sha, key string) ([]byte, int) {
	r.t.Helper()
	req, _ := http.NewRequest("GET", r.base+"/v1/attachments/"+sha, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := r.c.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return data, resp.StatusCode
}

func (r restRecorder) lot(code, key string) *ledger.Lot {
	r.t.Helper()
	var l ledger.Lot
	if st := r.get("/v1/lots/"+code, key, &l); st != 200 {
		r.t.Fatalf("GET lot %s: %d", code, st)
	}
	return &l
}

// TestStoriesOverREST tells the demo's three stories through the REST API
// of a real server and checks what a regulator then sees.
func TestStoriesOverREST(t *testing.T) {
	s := startServer(t, t.TempDir(), "COLDTRACE_SWEEP_EVERY=300ms")
	r := restRecorder{t: t, base: s.URL, c: &http.Client{Timeout: 30 * time.Second}}
	d, err := fixtures.RecordDemo(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	key := func(name string) string {
		a, ok := d.Actor(name)
		if !ok {
			t.Fatalf("no actor %s", name)
		}
		return a.Secret
	}

	// The clean loop: every gram sold, nothing open, in Hangzhou's view too.
	happy := r.lot(d.Happy, key("zj-regulator"))
	if !happy.Status.Closed || happy.Quantity.Sold+happy.Quantity.Split != happy.Quantity.Declared {
		t.Errorf("clean batch: closed %v, quantity %+v", happy.Status.Closed, happy.Quantity)
	}
	// The batch's certificates download byte-exact for the regulators of its
	// regions, not for others.
	var hist struct {
		Events []ledger.Record `json:"events"`
	}
	r.get("/v1/lots/"+d.Happy+"/events", key("zj-regulator"), &hist)
	var shas []string
	for _, e := range hist.Events {
		for _, a := range e.Attachments {
			shas = append(shas, a.SHA256)
		}
	}
	if len(shas) < 4 {
		t.Fatalf("the clean batch's history references %d attachments, want its papers", len(shas))
	}
	for _, sha := range shas {
		data, st := r.download(sha, key("zj-regulator"))
		if st != 200 || fmt.Sprintf("%x", sha256.Sum256(data)) != sha {
			t.Errorf("download %s: %d, %d bytes not matching their hash", sha, st, len(data))
		}
		if _, st := r.download(sha, key("hn-regulator")); st != http.StatusForbidden {
			t.Errorf("Henan's regulator downloading %s: %d, want 403", sha, st)
		}
	}
	// Henan's regulator never had it in its region.
	if st := r.get("/v1/lots/"+d.Happy, key("hn-regulator"), nil); st != http.StatusForbidden {
		t.Errorf("Henan regulator reading a Shanghai-Zhejiang batch: %d, want 403", st)
	}

	// The positive batch: sealed wherever its lots are.
	pos := r.lot(d.Positive, key("gd-regulator"))
	if !pos.Status.Sealed || len(pos.Children) != 3 {
		t.Fatalf("positive batch: sealed %v, %d children", pos.Status.Sealed, len(pos.Children))
	}
	var henan *ledger.Lot
	for _, c := range pos.Children {
		child := r.lot(c, key("sz-importer")) // the importer sees its batch's lots
		if !child.Status.Sealed && !child.Status.Closed {
			t.Errorf("lot %s of the positive batch is not sealed", child.TraceCode)
		}
		if child.Status.Positive {
			henan = child
		}
	}
	if henan == nil {
		t.Fatal("no lot of the positive batch is marked positive")
	}
	// Sealed means stopped: selling a sealed lot is refused (409), and
	// nothing is recorded.
	before := r.lot(pos.Children[2], key("sz-supermarket"))
	sale := map[string]any{"kind": "sold", "lot": pos.Children[2], "quantity": map[string]any{"grams": 1000}, "channel": "retail"}
	if err := r.json("/v1/events", key("sz-supermarket"), sale, nil); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("selling a sealed lot: %v, want 409", err)
	}
	after := r.lot(pos.Children[2], key("sz-supermarket"))
	if after.Quantity.Sold != before.Quantity.Sold || after.LastSeq != before.LastSeq {
		t.Errorf("a refused sale changed the lot: sold %d (before %d), last record %d (before %d)", after.Quantity.Sold, before.Quantity.Sold, after.LastSeq, before.LastSeq)
	}
	// Unsealing the Shenzhen cold store's lot needs a negative retest of the
	// batch and a disinfection after the positive.
	cs := pos.Children[0]
	unseal := map[string]any{"kind": "unsealed", "lot": cs, "reason": "retest negative"}
	if err := r.json("/v1/events", key("gd-regulator"), unseal, nil); err == nil {
		t.Fatal("unsealed a lot of a positive batch without retest or disinfection")
	}
	actor := func(name string) fixtures.Actor { a, _ := d.Actor(name); return a }
	doc := func(name, text string) []map[string]string {
		sha, err := r.Upload(context.Background(), actor(name), "application/pdf", fixtures.PDF(text))
		if err != nil {
			t.Fatal(err)
		}
		return []map[string]string{{"sha256": sha, "type": map[string]string{"sz-disinfector": "disinfection_certificate", "sz-lab": "test_report"}[name]}}
	}
	if err := r.json("/v1/events", key("sz-disinfector"), map[string]any{"kind": "disinfected", "lot": cs, "scope": []string{"outer_packaging", "each_piece"}, "agent": "过氧乙酸",
		"attachments": doc("sz-disinfector", "Disinfection certificate, Yantian, after the positive")}, nil); err != nil {
		t.Fatal(err)
	}
	// A retest of this very lot (a sibling's would not count), with its report.
	if err := r.json("/v1/events", key("sz-lab"), map[string]any{"kind": "tested", "lot": cs, "samples": 12, "scope": []string{"goods", "packaging"}, "result": "negative",
		"attachments": doc("sz-lab", "Nucleic acid retest report, Yantian")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.json("/v1/events", key("sh-regulator"), unseal, nil); err == nil {
		t.Fatal("Shanghai's regulator unsealed a lot that is not in Shanghai and whose positive was not found there")
	}
	if err := r.json("/v1/events", key("gd-regulator"), unseal, nil); err != nil {
		t.Fatalf("unseal after disinfection and negative retest: %v", err)
	}
	if l := r.lot(cs, key("gd-regulator")); l.Status.Sealed {
		t.Error("the lot is still sealed")
	}

	// The violations, found by the Zhejiang regulator's findings.
	rules := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for !rules[ledger.RuleTransitOverdue] && time.Now().Before(deadline) {
		var fs struct{ Findings []ledger.Finding }
		r.get("/v1/findings?region=33&open=true&limit=1000", key("zj-regulator"), &fs)
		for _, f := range fs.Findings {
			rules[f.Rule] = true
		}
		var sh struct{ Findings []ledger.Finding }
		r.get("/v1/findings?open=true", key("sh-regulator"), &sh)
		for _, f := range sh.Findings {
			rules[f.Rule] = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{ledger.RuleFourNo, ledger.RuleTemperatureExcursion, ledger.RuleShortReceipt, ledger.RuleTransitOverdue} {
		if !rules[want] {
			t.Errorf("no open %s finding seen by the Shanghai and Zhejiang regulators (saw %v)", want, rules)
		}
	}
	vio := r.lot(d.Violation, key("zj-regulator"))
	if vio.Status.Cleared || vio.Quantity.Lost != 200_000 || vio.OpenFindings == 0 {
		t.Errorf("violation batch: cleared %v, lost %d, open findings %d", vio.Status.Cleared, vio.Quantity.Lost, vio.OpenFindings)
	}

	s.stop()
	if out, code := runCLI(t, "verify", "--data", s.Dir); code != 0 {
		t.Fatalf("verify after the stories: exit %d\n%s", code, out)
	}
}
