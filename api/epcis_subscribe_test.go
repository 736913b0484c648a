package api_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"coldtrace/ledger/epcis"
)

// TestNamedQueriesOverHTTP: a named query is stored for its org only,
// answers what GET /epcis/events answers for the same parameters, pages
// the same way, and refuses bad parameters (naming them) and a taken name
// while storing nothing.
func TestNamedQueriesOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	imp, other := w.key("sh-importer"), w.key("sz-importer")
	r := imp.do("POST", "/epcis/queries", map[string]any{"name": "ships", "query": map[string]any{
		"EQ_bizStep": []string{"shipping", "packing"}, "eventType": "ObjectEvent", "EXISTS_errorDeclaration": nil}})
	r.wantProblem(400, "invalid", "query.EXISTS_errorDeclaration")
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "x", "query": map[string]any{"EQ_nothing": "1"}}, "query.EQ_nothing"},
		{map[string]any{"name": "x", "query": map[string]any{"GE_eventTime": "yesterday"}}, "query.GE_eventTime"},
		{map[string]any{"name": "x", "query": map[string]any{"eventType": []string{"Thing"}}}, "query.eventType"},
		{map[string]any{"name": "x", "query": "EQ_bizStep=shipping"}, "query"},
		{map[string]any{"name": "a/b", "query": map[string]any{}}, "name"},
		{map[string]any{"name": "", "query": map[string]any{}}, "name"},
	} {
		r := imp.do("POST", "/epcis/queries", bad.body)
		r.wantProblem(400, "invalid", bad.field)
		if p := r.problem(); p.Type != "epcisException:QueryParameterException" {
			t.Errorf("%v: problem type %q", bad.body, p.Type)
		}
	}
	var list []struct{ Name string }
	if imp.do("GET", "/epcis/queries", nil).want(200).JSON(&list); len(list) != 0 {
		t.Fatalf("refused queries were stored: %+v", list)
	}

	r = imp.do("POST", "/epcis/queries", map[string]any{"name": "ships", "query": map[string]any{
		"EQ_bizStep": []string{"shipping", "packing"}, "eventType": "ObjectEvent"}}).want(201)
	if r.Header.Get("Location") != "/epcis/queries/ships" {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
	r = imp.do("POST", "/epcis/queries", map[string]any{"name": "ships", "query": map[string]any{}})
	r.wantProblem(409, "conflict", "name")
	if p := r.problem(); p.Type != "epcisException:ResourceAlreadyExistsException" {
		t.Errorf("409 problem type %q", p.Type)
	}
	// Another org may use the name for its own query; it sees not ours.
	other.do("POST", "/epcis/queries", map[string]any{"name": "ships", "query": map[string]any{"EQ_bizStep": "receiving"}}).want(201)

	captureDoc(imp, epcisDoc(
		objectEvent("00000000-0000-4000-8000-0000000000a1", "shipping", "urn:epc:id:sgtin:0614141.107346.1"),
		objectEvent("00000000-0000-4000-8000-0000000000a2", "receiving", "urn:epc:id:sgtin:0614141.107346.1"),
		objectEvent("00000000-0000-4000-8000-0000000000a3", "packing", "urn:epc:id:sgtin:0614141.107346.1")))
	captureDoc(other, epcisDoc(objectEvent("00000000-0000-4000-8000-0000000000a4", "shipping", "urn:epc:id:sgtin:0614141.107346.1"),
		objectEvent("00000000-0000-4000-8000-0000000000a5", "receiving", "urn:epc:id:sgtin:0614141.107346.1")))

	ids := func(evs []epcis.Event) (out []string) {
		for _, e := range evs {
			out = append(out, e.ID()[len(e.ID())-2:])
		}
		return out
	}
	named, pages := namedQueryAll(imp, "ships", "perPage=1")
	direct, _ := queryAll(imp, "EQ_bizStep=shipping|packing&eventType=ObjectEvent")
	if got := ids(named); !slices.Equal(got, []string{"a1", "a3"}) || !slices.Equal(got, ids(direct)) || len(pages) != 2 {
		t.Fatalf("named query answered %v in %d pages; the events query %v", got, len(pages), ids(direct))
	}
	if !strings.Contains(string(pages[0]), `"queryName":"ships"`) {
		t.Errorf("the answer does not name the query: %s", pages[0])
	}
	if got, _ := namedQueryAll(other, "ships", ""); !slices.Equal(ids(got), []string{"a5"}) {
		t.Errorf("the other org's query of the same name answered %v", ids(got))
	}
	imp.do("GET", "/epcis/queries/ships/events?EQ_bizStep=receiving", nil).wantProblem(400, "invalid", "EQ_bizStep")

	var q struct {
		Name  string
		Query map[string]any
	}
	imp.do("GET", "/epcis/queries/ships", nil).want(200).JSON(&q)
	if q.Name != "ships" || q.Query["eventType"] != "ObjectEvent" {
		t.Fatalf("query %+v", q)
	}
	w.key("sh-lab").do("GET", "/epcis/queries/ships/events", nil).wantProblem(404, "not_found", "")
	w.key("sh-lab").do("DELETE", "/epcis/queries/ships", nil).wantProblem(404, "not_found", "")
	imp.do("DELETE", "/epcis/queries/ships", nil).want(204)
	imp.do("GET", "/epcis/queries/ships", nil).wantProblem(404, "not_found", "")
	if got, _ := namedQueryAll(other, "ships", ""); len(got) != 1 {
		t.Error("deleting one org's query touched another's")
	}
}

// namedQueryAll follows the pages of a named query.
func namedQueryAll(c *client, name, query string) (events []epcis.Event, docs [][]byte) {
	c.h.t.Helper()
	path := "/epcis/queries/" + name + "/events?" + query
	for path != "" {
		r := c.do("GET", path, nil).want(200)
		d, err := epcis.Decode(r.Body)
		if err != nil || d.Type != epcis.TypeQueryDocument {
			c.h.t.Fatalf("answer does not decode as an EPCISQueryDocument: %v\n%s", err, r.Body)
		}
		events = append(events, d.Events...)
		docs = append(docs, r.Body)
		path = ""
		if link := r.Header.Get("Link"); link != "" {
			path = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
		}
	}
	return events, docs
}

// An epcisReceiver is a subscriber's endpoint: it records every POST and
// answers with a status the test sets.
type epcisReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	posts  []epcisPost
}

type epcisPost struct {
	body      []byte
	signature string
	status    int
}

func newEPCISReceiver(t *testing.T) *epcisReceiver {
	r := &epcisReceiver{status: 204}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		st := r.status
		r.posts = append(r.posts, epcisPost{body, req.Header.Get("GS1-Signature"), st})
		r.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *epcisReceiver) set(status int) { r.mu.Lock(); r.status = status; r.mu.Unlock() }

// delivered returns the eventIDs of the deliveries the receiver accepted,
// checking each body's signature against token as the binding describes
// it: base64 of HMAC-SHA256 of the body keyed with the signatureToken.
func (r *epcisReceiver) delivered(t *testing.T, token, subID, queryName string) (ids []string, tries int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.posts {
		m := hmac.New(sha256.New, []byte(token))
		m.Write(p.body)
		if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); token != "" && p.signature != want {
			t.Fatalf("GS1-Signature %q, want %q", p.signature, want)
		}
		if token == "" && p.signature != "" {
			t.Fatalf("an unsigned subscription's delivery carries GS1-Signature %q", p.signature)
		}
		var doc struct {
			Type      string
			EPCISBody struct {
				QueryResults struct {
					QueryName, SubscriptionID string
					ResultsBody               struct{ EventList []struct{ EventID string } }
				}
			}
		}
		if err := json.Unmarshal(p.body, &doc); err != nil || doc.Type != "EPCISQueryDocument" ||
			doc.EPCISBody.QueryResults.QueryName != queryName || doc.EPCISBody.QueryResults.SubscriptionID != subID {
			t.Fatalf("delivery %s (%v)", p.body, err)
		}
		tries++
		if p.status < 300 {
			for _, e := range doc.EPCISBody.QueryResults.ResultsBody.EventList {
				ids = append(ids, e.EventID[len(e.EventID)-2:])
			}
		}
	}
	return ids, tries
}

// TestSubscriptionsOverHTTP: a subscriber receives the new events its
// named query selects and its key may read, signed with its token, after
// its receiver was down; not the events the query does not select, not
// another org's, and nothing once unsubscribed.
func TestSubscriptionsOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	imp, other := w.key("sh-importer"), w.key("sz-importer")
	imp.do("POST", "/epcis/queries", map[string]any{"name": "ships", "query": map[string]any{"EQ_bizStep": "shipping"}}).want(201)
	rcv, rcv2 := newEPCISReceiver(t), newEPCISReceiver(t)
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"dest": "ftp://example.com/x", "stream": true}, "dest"},
		{map[string]any{"dest": rcv.srv.URL, "stream": false}, "stream"},
		{map[string]any{"dest": rcv.srv.URL, "stream": true, "schedule": map[string]any{"hour": "1"}}, "schedule"},
	} {
		r := imp.do("POST", "/epcis/queries/ships/subscriptions", bad.body)
		r.wantProblem(400, "invalid", bad.field)
		if p := r.problem(); p.Type != "epcisException:ValidationException" {
			t.Errorf("problem type %q", p.Type)
		}
	}
	imp.do("POST", "/epcis/queries/nothing/subscriptions", map[string]any{"dest": rcv.srv.URL, "stream": true}).wantProblem(404, "not_found", "")
	var subs []struct{ SubscriptionID string }
	if imp.do("GET", "/epcis/queries/ships/subscriptions", nil).want(200).JSON(&subs); len(subs) != 0 {
		t.Fatalf("refused subscriptions were stored: %+v", subs)
	}

	const token = "a-token-the-client-made"
	var sub, sub2 struct {
		SubscriptionID, QueryName string
		Signed, Stream            bool
	}
	r := imp.do("POST", "/epcis/queries/ships/subscriptions", map[string]any{"dest": rcv.srv.URL, "signatureToken": token, "stream": true}).want(201)
	r.JSON(&sub)
	if !sub.Signed || !sub.Stream || r.Header.Get("Location") != "/epcis/queries/ships/subscriptions/"+sub.SubscriptionID || strings.Contains(string(r.Body), token) {
		t.Fatalf("subscription %s at %q", r.Body, r.Header.Get("Location"))
	}
	imp.do("POST", "/epcis/queries/ships/subscriptions", map[string]any{"dest": rcv2.srv.URL, "stream": true}).want(201).JSON(&sub2)
	imp.do("GET", "/epcis/queries/ships/subscriptions/"+sub.SubscriptionID, nil).want(200)
	other.do("GET", "/epcis/queries/ships/subscriptions/"+sub.SubscriptionID, nil).wantProblem(404, "not_found", "")
	other.do("DELETE", "/epcis/queries/ships/subscriptions/"+sub.SubscriptionID, nil).wantProblem(404, "not_found", "")

	// Another org subscribes to its own query of the same name.
	rcv3 := newEPCISReceiver(t)
	var sub3 struct{ SubscriptionID string }
	other.do("POST", "/epcis/queries", map[string]any{"name": "ships", "query": map[string]any{"EQ_bizStep": "shipping"}}).want(201)
	other.do("POST", "/epcis/queries/ships/subscriptions", map[string]any{"dest": rcv3.srv.URL, "stream": true}).want(201).JSON(&sub3)

	rcv.set(503) // the first receiver is down
	startDeliverer(t, w.h.l)
	captureDoc(imp, epcisDoc(
		objectEvent("00000000-0000-4000-8000-0000000000b1", "shipping", "urn:epc:id:sgtin:0614141.107346.1"),
		objectEvent("00000000-0000-4000-8000-0000000000b2", "receiving", "urn:epc:id:sgtin:0614141.107346.1")))
	captureDoc(other, epcisDoc(objectEvent("00000000-0000-4000-8000-0000000000b3", "shipping", "urn:epc:id:sgtin:0614141.107346.1")))
	captureDoc(imp, epcisDoc(objectEvent("00000000-0000-4000-8000-0000000000b4", "shipping", "urn:epc:id:sgtin:0614141.107346.1")))
	waitFor(t, "failed attempts", func() bool { _, n := rcv.delivered(t, token, sub.SubscriptionID, "ships"); return n >= 2 })
	rcv.set(200)
	want := []string{"b1", "b4"}
	waitFor(t, "the deliveries once the receiver is up", func() bool {
		got, _ := rcv.delivered(t, token, sub.SubscriptionID, "ships")
		return len(got) >= len(want)
	})
	waitFor(t, "the second subscriber's deliveries", func() bool {
		got, _ := rcv2.delivered(t, "", sub2.SubscriptionID, "ships")
		return len(got) >= len(want)
	})
	waitFor(t, "the other org's delivery", func() bool {
		got, _ := rcv3.delivered(t, "", sub3.SubscriptionID, "ships")
		return len(got) >= 1
	})
	for _, x := range []struct {
		r     *epcisReceiver
		token string
		id    string
		want  []string
	}{{rcv, token, sub.SubscriptionID, want}, {rcv2, "", sub2.SubscriptionID, want}, {rcv3, "", sub3.SubscriptionID, []string{"b3"}}} {
		// Each delivery is retried on its own schedule, so a later event may
		// arrive before an earlier one whose first try failed: compare sets.
		got, _ := x.r.delivered(t, x.token, x.id, "ships")
		if slices.Sort(got); !slices.Equal(got, x.want) {
			t.Fatalf("subscription %s received %v, want %v", x.id, got, x.want)
		}
	}

	// Unsubscribed, the first receives nothing more; the second still does.
	imp.do("DELETE", "/epcis/queries/ships/subscriptions/"+sub.SubscriptionID, nil).want(204)
	imp.do("GET", "/epcis/queries/ships/subscriptions/"+sub.SubscriptionID, nil).wantProblem(404, "not_found", "")
	_, before := rcv.delivered(t, token, sub.SubscriptionID, "ships")
	captureDoc(imp, epcisDoc(objectEvent("00000000-0000-4000-8000-0000000000b5", "shipping", "urn:epc:id:sgtin:0614141.107346.1")))
	waitFor(t, "the remaining subscriber's delivery", func() bool {
		got, _ := rcv2.delivered(t, "", sub2.SubscriptionID, "ships")
		return len(got) == 3
	})
	time.Sleep(100 * time.Millisecond)
	if _, after := rcv.delivered(t, token, sub.SubscriptionID, "ships"); after != before {
		t.Fatalf("an unsubscribed receiver got %d more posts", after-before)
	}
	// Deleting the query ends its subscriptions.
	imp.do("DELETE", "/epcis/queries/ships", nil).want(204)
	imp.do("GET", "/epcis/queries/ships/subscriptions", nil).wantProblem(404, "not_found", "")
}

// TestSubscriptionSurvivesARestart: events captured while no delivery
// worker runs are delivered after the ledger is reopened on the same data
// directory.
func TestSubscriptionSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	w, closeW := openWorld(t, dir, nil)
	imp := w.key("sh-importer")
	rcv := newEPCISReceiver(t)
	imp.do("POST", "/epcis/queries", map[string]any{"name": "all", "query": map[string]any{}}).want(201)
	var sub struct{ SubscriptionID string }
	imp.do("POST", "/epcis/queries/all/subscriptions", map[string]any{"dest": rcv.srv.URL, "signatureToken": "t", "stream": true}).want(201).JSON(&sub)
	captureDoc(imp, epcisDoc(objectEvent("00000000-0000-4000-8000-0000000000c1", "shipping", "urn:epc:id:sgtin:0614141.107346.1"),
		objectEvent("00000000-0000-4000-8000-0000000000c2", "receiving", "urn:epc:id:sgtin:0614141.107346.1")))
	closeW()

	w2, _ := openWorld(t, dir, w.demo)
	startDeliverer(t, w2.h.l)
	waitFor(t, "the events captured before the restart", func() bool { got, _ := rcv.delivered(t, "t", sub.SubscriptionID, "all"); return len(got) == 2 })
	if got, _ := rcv.delivered(t, "t", sub.SubscriptionID, "all"); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Fatalf("received %v", got)
	}
}

// TestEPCISVersionNegotiation: a request asking for an EPCIS or CBV
// version this repository does not speak is a 406 NotAcceptableException;
// one asking for ours is answered, with the version.
func TestEPCISVersionNegotiation(t *testing.T) {
	w := newDemoWorld(t)
	imp := w.key("sh-importer")
	for _, h := range [][]string{
		{"GS1-EPCIS-Version", "1.2.0"}, {"GS1-CBV-Version", "2.1"}, {"GS1-EPCIS-Min", "2.1.0"}, {"GS1-EPCIS-Max", "1.2"}, {"GS1-CBV-Max", "1.2"},
	} {
		r := imp.do("GET", "/epcis/events", nil, h...)
		r.wantProblem(406, "not_acceptable", "")
		if p := r.problem(); p.Type != "epcisException:NotAcceptableException" {
			t.Errorf("%v: problem type %q", h, p.Type)
		}
	}
	for _, h := range [][]string{
		{"GS1-EPCIS-Version", "2.0.0"}, {"GS1-EPCIS-Version", "2.0"}, {"GS1-CBV-Version", "2.0.0"}, {"GS1-EPCIS-Min", "1.2", "GS1-EPCIS-Max", "2.0.0"},
	} {
		r := imp.do("GET", "/epcis/events", nil, h...).want(200)
		if r.Header.Get("GS1-EPCIS-Version") != "2.0.0" || r.Header.Get("GS1-CBV-Version") != "2.0.0" {
			t.Errorf("%v: answered %v", h, r.Header)
		}
	}
}

// TestSubscriptionRechecksReadersAtDelivery: what a subscriber may read is
// checked again when a delivery is sent, so a delivery pending when the
// subscribing key is revoked is never sent; a subscription asking
// reportIfEmpty gets it as an empty document instead.
func TestSubscriptionRechecksReadersAtDelivery(t *testing.T) {
	w := newDemoWorld(t)
	imp := w.key("sh-importer")
	var k struct{ ID, Key string }
	w.h.admin.do("POST", "/v1/keys", map[string]any{"org": w.org("sh-importer"), "role": "importer"}).want(201).JSON(&k)
	sub := w.h.client(k.Key)
	sub.do("POST", "/epcis/queries", map[string]any{"name": "all", "query": map[string]any{}}).want(201)
	quiet, loud := newEPCISReceiver(t), newEPCISReceiver(t)
	var s1, s2 struct{ SubscriptionID string }
	sub.do("POST", "/epcis/queries/all/subscriptions", map[string]any{"dest": quiet.srv.URL, "stream": true}).want(201).JSON(&s1)
	sub.do("POST", "/epcis/queries/all/subscriptions", map[string]any{"dest": loud.srv.URL, "stream": true, "reportIfEmpty": true}).want(201).JSON(&s2)
	quiet.set(503)
	loud.set(503)
	startDeliverer(t, w.h.l)
	captureDoc(imp, epcisDoc(objectEvent("00000000-0000-4000-8000-0000000000d1", "shipping", "urn:epc:id:sgtin:0614141.107346.1")))
	waitFor(t, "failed attempts", func() bool {
		_, a := quiet.delivered(t, "", s1.SubscriptionID, "all")
		_, b := loud.delivered(t, "", s2.SubscriptionID, "all")
		return a > 0 && b > 0
	})
	w.h.admin.do("DELETE", "/v1/keys/"+k.ID, nil).want(200)
	quiet.set(200)
	loud.set(200)
	waitFor(t, "the empty report", func() bool {
		loud.mu.Lock()
		defer loud.mu.Unlock()
		return loud.posts[len(loud.posts)-1].status == 200
	})
	if got, _ := loud.delivered(t, "", s2.SubscriptionID, "all"); len(got) != 0 {
		t.Fatalf("a revoked key's subscription was sent %v", got)
	}
	_, before := quiet.delivered(t, "", s1.SubscriptionID, "all")
	time.Sleep(300 * time.Millisecond) // ten retry periods of the test's deliverer
	if got, after := quiet.delivered(t, "", s1.SubscriptionID, "all"); len(got) != 0 || after != before {
		t.Fatalf("a revoked key's delivery was sent: %v, %d posts after %d", got, after, before)
	}
}
