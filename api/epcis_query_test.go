package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"coldtrace/api"
	"coldtrace/ledger/epcis"
)

// epcisDoc wraps events (JSON objects) in an EPCISDocument.
func epcisDoc(events ...string) []byte {
	return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"ex":"https://ns.example.com/epcis/"}],` +
		`"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-01-01T00:00:00Z","epcisBody":{"eventList":[` +
		strings.Join(events, ",") + `]}}`)
}

func objectEvent(id, bizStep, epc string) string {
	return fmt.Sprintf(`{"type":"ObjectEvent","eventID":"urn:uuid:%s","eventTime":"2026-01-01T00:00:00Z","eventTimeZoneOffset":"+08:00",`+
		`"action":"OBSERVE","epcList":["%s"],"bizStep":"%s"}`, id, epc, bizStep)
}

// TestEPCISCaptureRollback: under rollback one bad event leaves nothing,
// whether the schema rules refuse it (400, naming event and member) or the
// ledger does (a taken eventID: the job fails); under proceed the others
// are captured. Also 413, 415, a key that may not capture, a bad header.
func TestEPCISCaptureRollback(t *testing.T) {
	w := newDemoWorld(t)
	imp := w.key("sh-importer")
	count := func() int { n, _ := queryAll(imp, ""); return len(n) }
	size := w.h.l.Size()

	bad := epcisDoc(objectEvent("00000000-0000-4000-8000-000000000001", "shipping", "urn:epc:id:sgtin:0614141.107346.1"),
		`{"type":"ObjectEvent","eventTime":"2026-01-01T00:00:00Z","eventTimeZoneOffset":"+08:00","action":"OBSERVE","epcList":["urn:epc:id:sgtin:0614141.107346.2"],"bizStep":"not a step"}`)
	r := imp.do("POST", "/epcis/capture", bad, "Content-Type", "application/ld+json")
	r.wantProblem(400, "invalid", "epcisBody.eventList[1].bizStep")
	if p := r.problem(); p.Type != "epcisException:ValidationException" {
		t.Errorf("problem type %q", p.Type)
	}
	if w.h.l.Size() != size || count() != 0 {
		t.Fatal("a refused document left records")
	}

	captureDoc(imp, epcisDoc(objectEvent("00000000-0000-4000-8000-000000000002", "shipping", "urn:epc:id:sgtin:0614141.107346.2")))
	size = w.h.l.Size()
	clash := epcisDoc(objectEvent("00000000-0000-4000-8000-000000000003", "shipping", "urn:epc:id:sgtin:0614141.107346.3"),
		objectEvent("00000000-0000-4000-8000-000000000004", "receiving", "urn:epc:id:sgtin:0614141.107346.4"),
		objectEvent("00000000-0000-4000-8000-000000000002", "shipping", "urn:epc:id:sgtin:0614141.107346.2"))
	job := captureDoc(imp, clash)
	if job.Success || len(job.Errors) != 1 || job.Errors[0].Errors[0].Field != "epcisBody.eventList[2].eventID" || len(job.Events) != 0 {
		t.Fatalf("rollback job %+v", job)
	}
	if w.h.l.Size() != size || count() != 1 {
		t.Fatalf("rollback left records: size %d -> %d, %d events", size, w.h.l.Size(), count())
	}
	job = captureDoc(imp, clash, "GS1-Capture-Error-Behaviour", "proceed")
	if job.Success || job.CaptureErrorBehaviour != "proceed" || len(job.Errors) != 1 || len(job.Events) != 2 ||
		job.Errors[0].Errors[0].Field != "epcisBody.eventList[2].eventID" {
		t.Fatalf("proceed job %+v", job)
	}
	if count() != 3 {
		t.Fatalf("%d events after proceed, want 3", count())
	}

	imp.do("POST", "/epcis/capture", clash, "Content-Type", "text/plain").wantProblem(415, "unsupported_media_type", "")
	imp.do("POST", "/epcis/capture", clash, "Content-Type", "application/json", "GS1-Capture-Error-Behaviour", "maybe").
		wantProblem(400, "invalid", "GS1-Capture-Error-Behaviour")
	r = w.h.admin.do("POST", "/epcis/capture", clash, "Content-Type", "application/json")
	r.wantProblem(403, "forbidden", "")
	if p := r.problem(); p.Type != "epcisException:SecurityException" {
		t.Errorf("problem type %q", p.Type)
	}
	w.key("sh-lab").do("GET", "/epcis/capture/"+job.CaptureID, nil).wantProblem(404, "not_found", "")

	// The limits are advertised and kept.
	for _, path := range []string{"/epcis", "/epcis/capture", "/epcis/events"} {
		r := (&client{h: w.h}).do("OPTIONS", path, nil).want(204)
		if r.Header.Get("GS1-EPCIS-Version") != "2.0.0" || r.Header.Get("GS1-CBV-Version") != "2.0.0" || !strings.Contains(r.Header.Get("Allow"), "GET") {
			t.Errorf("OPTIONS %s: %v", path, r.Header)
		}
	}
	small := newHarness(t, api.Options{MaxBodyBytes: 1024})
	opt := (&client{h: small}).do("OPTIONS", "/epcis/capture", nil).want(204)
	if opt.Header.Get("GS1-EPCIS-Capture-File-Size-Limit") != "32768" || opt.Header.Get("GS1-EPCIS-Capture-Limit") != "10000" {
		t.Fatalf("limits %v", opt.Header)
	}
	var many []string
	for i := 0; i < 300; i++ {
		many = append(many, objectEvent(fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "shipping", "urn:epc:id:sgtin:0614141.107346.1"))
	}
	r = w.key("sh-importer").do("POST", "/epcis/capture", epcisDoc(many...), "Content-Type", "application/json")
	r.want(202) // 300 events of ~200 bytes fit the default limit
	r = small.client(adminSecret).do("POST", "/epcis/capture", epcisDoc(many...), "Content-Type", "application/json")
	r.wantProblem(413, "too_large", "")
	if p := r.problem(); p.Type != "epcisException:CaptureLimitExceededException" {
		t.Errorf("problem type %q", p.Type)
	}
}

// TestEPCISQueryParameters captures events that differ in each queried
// member and checks that every standard parameter selects what the
// standard says, pipe lists as OR and parameters as AND, across pages.
func TestEPCISQueryParameters(t *testing.T) {
	w := newDemoWorld(t)
	imp := w.key("sh-importer")
	rp, loc := "urn:epc:id:sgln:0614141.07346.1234", "urn:epc:id:sgln:0614141.07346.0"
	docs := epcisDoc(
		`{"type":"ObjectEvent","eventID":"urn:uuid:00000000-0000-4000-8000-0000000000e1","eventTime":"2024-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE",`+
			`"epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"bizStep":"shipping","disposition":"in_transit","readPoint":{"id":"`+rp+`"},"bizLocation":{"id":"`+loc+`"}}`,
		`{"type":"ObjectEvent","eventID":"urn:uuid:00000000-0000-4000-8000-0000000000e2","eventTime":"2024-02-01T00:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE",`+
			`"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":200,"uom":"KGM"}],"bizStep":"receiving","disposition":"in_progress"}`,
		`{"type":"AggregationEvent","eventID":"urn:uuid:00000000-0000-4000-8000-0000000000e3","eventTime":"2024-03-01T00:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD",`+
			`"parentID":"urn:epc:id:sscc:0614141.1234567890","childEPCs":["urn:epc:id:sgtin:0614141.107346.2018"],"bizStep":"packing"}`,
		`{"type":"ObjectEvent","eventID":"urn:uuid:00000000-0000-4000-8000-0000000000e4","eventTime":"2024-04-01T00:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE",`+
			`"epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"bizStep":"shipping","errorDeclaration":{"declarationTime":"2024-04-02T00:00:00Z","reason":"incorrect_data"}}`,
		`{"type":"TransformationEvent","eventID":"urn:uuid:00000000-0000-4000-8000-0000000000e5","eventTime":"2024-05-01T00:00:00Z","eventTimeZoneOffset":"+00:00",`+
			`"inputEPCList":["urn:epc:id:sgtin:0614141.107346.2017"],"outputEPCList":["urn:epc:id:sgtin:0614141.107346.3000"],"bizStep":"commissioning"}`)
	before := time.Now().UTC().Add(-time.Second).Format(time.RFC3339)
	captureDoc(imp, docs)
	after := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	// Another org's event, which no query of this key answers.
	captureDoc(w.key("sz-importer"), epcisDoc(objectEvent("00000000-0000-4000-8000-0000000000f1", "shipping", "urn:epc:id:sgtin:0614141.107346.2017")))

	cases := []struct {
		query string
		want  []int
	}{
		{"", []int{1, 2, 3, 4, 5}},
		{"eventType=AggregationEvent", []int{3}},
		{"eventType=ObjectEvent|TransformationEvent", []int{1, 2, 4, 5}},
		{"EQ_bizStep=shipping", []int{1, 4}},
		{"EQ_bizStep=https://ref.gs1.org/cbv/BizStep-shipping|packing", []int{1, 3, 4}},
		{"EQ_disposition=in_transit", []int{1}},
		{"MATCH_epc=urn:epc:id:sgtin:0614141.107346.2017", []int{1, 4, 5}},
		{"MATCH_epc=urn:epc:idpat:sgtin:0614141.107346.*", []int{1, 3, 4, 5}},
		{"MATCH_anyEPC=urn:epc:id:sscc:0614141.1234567890", []int{3}},
		{"MATCH_epcClass=urn:epc:class:lgtin:4012345.012345.998877", []int{2}},
		{"EQ_readPoint=" + rp, []int{1}},
		{"EQ_bizLocation=" + loc, []int{1}},
		{"GE_eventTime=2024-02-01T00:00:00Z", []int{2, 3, 4, 5}},
		{"LT_eventTime=2024-02-01T00:00:00Z", []int{1}},
		{"GE_eventTime=2024-02-01T08:00:00+08:00&LT_eventTime=2024-04-01T00:00:00Z", []int{2, 3}},
		{"GE_recordTime=" + before, []int{1, 2, 3, 4, 5}},
		{"GE_recordTime=" + after, nil},
		{"EQ_eventID=urn:uuid:00000000-0000-4000-8000-0000000000e1|urn:uuid:00000000-0000-4000-8000-0000000000e3", []int{1, 3}},
		{"EXISTS_errorDeclaration=", []int{4}},
		{"EQ_bizStep=shipping&EXISTS_errorDeclaration=", []int{4}},
		{"EQ_bizStep=shipping&perPage=1", []int{1, 4}},
	}
	for _, c := range cases {
		v, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		evs, pages := queryAll(imp, v.Encode())
		var got []int
		for _, e := range evs {
			var n int
			fmt.Sscanf(e.ID()[len(e.ID())-1:], "%d", &n)
			got = append(got, n)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: events %v, want %v", c.query, got, c.want)
		}
		if v.Get("perPage") == "1" && len(pages) != len(c.want) {
			t.Errorf("%s: %d pages", c.query, len(pages))
		}
	}
	for _, bad := range []struct{ query, field string }{
		{"EQ_nothing=1", "EQ_nothing"},
		{"eventType=Thing", "eventType"},
		{"GE_eventTime=yesterday", "GE_eventTime"},
		{"perPage=0", "perPage"},
		{"nextPageToken=zz", "nextPageToken"},
	} {
		r := imp.do("GET", "/epcis/events?"+bad.query, nil)
		r.wantProblem(400, "invalid", bad.field)
		if p := r.problem(); p.Type != "epcisException:QueryParameterException" {
			t.Errorf("%s: problem type %q", bad.query, p.Type)
		}
	}
	_ = epcis.QueryParams
}
