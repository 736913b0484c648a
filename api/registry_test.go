package api_test

import (
	"strings"
	"testing"

	"coldtrace/api"
	"coldtrace/fixtures"
)

func orgBody(n int) map[string]any {
	return map[string]any{"uscc": fixtures.USCC("330106", n), "name": "杭州冷链进口有限公司", "roles": []string{"importer", "cold_store"}, "region": "330106"}
}

func TestRegistryOverHTTP(t *testing.T) {
	h := newHarness(t, api.Options{})
	a := h.admin
	var org struct {
		USCC string   `json:"uscc"`
		Name string   `json:"name"`
		Seq  int64    `json:"seq"`
		Role []string `json:"roles"`
	}
	r := a.do("POST", "/v1/orgs", orgBody(1)).want(201)
	r.JSON(&org)
	if org.USCC != fixtures.USCC("330106", 1) || org.Seq != 1 || r.Header.Get("Location") != "/v1/orgs/"+fixtures.USCC("330106", 1) {
		t.Fatalf("created %+v, Location %q", org, r.Header.Get("Location"))
	}
	a.do("GET", "/v1/orgs/"+fixtures.USCC("330106", 1), nil).want(200)
	a.do("GET", "/v1/orgs/"+fixtures.USCC("330106", 2), nil).wantProblem(404, "not_found", "")
	a.do("POST", "/v1/orgs", orgBody(1)).wantProblem(409, "conflict", "uscc")

	bad := orgBody(2)
	bad["uscc"] = fixtures.USCC("330106", 2)[:17] + "I"
	a.do("POST", "/v1/orgs", bad).wantProblem(400, "invalid", "uscc")
	bad = orgBody(2)
	bad["region"] = "12345"
	a.do("POST", "/v1/orgs", bad).wantProblem(400, "invalid", "region")
	bad = orgBody(2)
	bad["colour"] = "blue"
	a.do("POST", "/v1/orgs", bad).wantProblem(400, "invalid", "colour")
	bad = orgBody(2)
	bad["roles"] = "importer"
	a.do("POST", "/v1/orgs", bad).wantProblem(400, "invalid", "roles")
	a.do("POST", "/v1/orgs", `{"uscc":`).wantProblem(400, "invalid", "")
	a.do("POST", "/v1/orgs", `{} {}`).wantProblem(400, "invalid", "")
	a.do("POST", "/v1/orgs", `{"uscc":"x"}`, "Content-Type", "text/plain").wantProblem(400, "invalid", "Content-Type")
	if h.l.Size() != 2 {
		t.Fatalf("size %d after rejected requests, want 2", h.l.Size())
	}

	site := map[string]any{"id": "HZ-CS-01", "org": fixtures.USCC("330106", 1), "name": "杭州冷库一号", "type": "cold_store", "region": "330106", "address": "杭州市西湖区"}
	a.do("POST", "/v1/sites", site).want(201)
	a.do("GET", "/v1/sites/HZ-CS-01", nil).want(200)
	a.do("GET", "/v1/sites/nope", nil).wantProblem(404, "not_found", "")
	a.do("POST", "/v1/sites", site).wantProblem(409, "conflict", "id")
	site["id"], site["org"] = "HZ-CS-02", fixtures.USCC("330106", 7)
	a.do("POST", "/v1/sites", site).wantProblem(422, "rejected", "org")
	site["type"] = "igloo"
	a.do("POST", "/v1/sites", site).wantProblem(400, "invalid", "type")

	var key struct {
		ID, Key, Org, Role string
		Seq                int64
	}
	a.do("POST", "/v1/keys", map[string]any{"org": fixtures.USCC("330106", 1), "role": "importer"}).want(201).JSON(&key)
	if !strings.HasPrefix(key.Key, "ctk_") || key.ID == "" || key.Role != "importer" {
		t.Fatalf("key %+v", key)
	}
	a.do("POST", "/v1/keys", map[string]any{"org": fixtures.USCC("330106", 1), "role": "lab"}).wantProblem(422, "rejected", "role")
	a.do("POST", "/v1/keys", map[string]any{"org": fixtures.USCC("330106", 1), "role": "regulator"}).wantProblem(400, "invalid", "regions")
	a.do("POST", "/v1/keys", map[string]any{"org": fixtures.USCC("330106", 1), "role": "importer", "regions": []string{"33"}}).wantProblem(400, "invalid", "regions")

	imp := h.client(key.Key)
	imp.do("GET", "/v1/orgs/"+fixtures.USCC("330106", 1), nil).want(200)
	imp.do("POST", "/v1/orgs", orgBody(3)).wantProblem(403, "forbidden", "")
	imp.do("GET", "/v1/keys", nil).wantProblem(403, "forbidden", "")
	imp.do("DELETE", "/v1/keys/"+key.ID, nil).wantProblem(403, "forbidden", "")

	var list struct {
		Keys []struct {
			ID      string `json:"id"`
			Revoked bool   `json:"revoked"`
		} `json:"keys"`
	}
	a.do("GET", "/v1/keys", nil).want(200).JSON(&list)
	if len(list.Keys) != 2 || strings.Contains(string(a.do("GET", "/v1/keys", nil).Body), key.Key) {
		t.Fatalf("key list %+v (must not show secrets)", list)
	}
	a.do("DELETE", "/v1/keys/"+key.ID, nil).want(200)
	a.do("DELETE", "/v1/keys/"+key.ID, nil).wantProblem(409, "conflict", "")
	a.do("DELETE", "/v1/keys/no-such-key", nil).wantProblem(404, "not_found", "")
	imp.do("GET", "/v1/orgs/"+fixtures.USCC("330106", 1), nil).wantProblem(401, "unauthenticated", "")
}

func TestAuthentication(t *testing.T) {
	h := newHarness(t, api.Options{})
	r := h.client("").do("GET", "/v1/keys", nil)
	r.wantProblem(401, "unauthenticated", "")
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
	}
	h.client("ctk_wrong").do("POST", "/v1/orgs", orgBody(1)).wantProblem(401, "unauthenticated", "")
	if h.l.Size() != 1 {
		t.Fatal("an unauthenticated write was recorded")
	}
}

func TestIdempotencyKeyOverHTTP(t *testing.T) {
	h := newHarness(t, api.Options{})
	r1 := h.admin.do("POST", "/v1/orgs", orgBody(1), "Idempotency-Key", "abc").want(201)
	r2 := h.admin.do("POST", "/v1/orgs", orgBody(1), "Idempotency-Key", "abc").want(201)
	if string(r1.Body) != string(r2.Body) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry answered %s (replayed %q), first %s", r2.Body, r2.Header.Get("Idempotent-Replayed"), r1.Body)
	}
	h.admin.do("POST", "/v1/orgs", orgBody(2), "Idempotency-Key", "abc").wantProblem(409, "conflict", "")
	var k1, k2 struct{ ID, Key string }
	h.admin.do("POST", "/v1/keys", map[string]any{"org": fixtures.USCC("330106", 1), "role": "importer"}, "Idempotency-Key", "k").want(201).JSON(&k1)
	h.admin.do("POST", "/v1/keys", map[string]any{"org": fixtures.USCC("330106", 1), "role": "importer"}, "Idempotency-Key", "k").want(201).JSON(&k2)
	if k1.ID != k2.ID || k1.Key == "" || k2.Key != "" {
		t.Fatalf("key retry: %+v then %+v", k1, k2)
	}
	if h.l.Size() != 3 {
		t.Fatalf("size %d, want 3", h.l.Size())
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, api.Options{RatePerSecond: 0.01, RateBurst: 2})
	h.admin.do("GET", "/v1/orgs/"+fixtures.USCC("330106", 1), nil).want(404)
	h.admin.do("GET", "/v1/orgs/"+fixtures.USCC("330106", 1), nil).want(404)
	r := h.admin.do("POST", "/v1/orgs", orgBody(1))
	r.wantProblem(429, "rate_limited", "")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if h.l.Size() != 1 {
		t.Fatal("a rate-limited write was recorded")
	}
}

func TestBodyLimit(t *testing.T) {
	h := newHarness(t, api.Options{MaxBodyBytes: 512})
	big := orgBody(1)
	big["note"] = strings.Repeat("很", 400)
	h.admin.do("POST", "/v1/orgs", big).wantProblem(413, "too_large", "")
	if h.l.Size() != 1 {
		t.Fatal("an oversized request was recorded")
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	h := newHarness(t, api.Options{})
	h.admin.do("GET", "/v1/nothing-here", nil).wantProblem(404, "not_found", "")
	h.admin.do("PUT", "/v1/orgs", nil).wantProblem(405, "method_not_allowed", "")
}
