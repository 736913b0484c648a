package ledger

import (
	"errors"
	"testing"

	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
)

// TestEPCISToEvent checks the mapping of captured events to domain events
// against in-memory lots and sites (the real ledger's are exercised over
// HTTP by api's TestEPCISCaptureTakesEffect).
func TestEPCISToEvent(t *testing.T) {
	gln, err := epcis.ParseIdentifier("urn:epc:id:sgln:0614141.00001.0")
	if err != nil {
		t.Fatal(err)
	}
	lots := map[string]*Lot{
		"AAAA-AAAA-AAAA": {ID: "lot-a", TraceCode: "AAAA-AAAA-AAAA", Quantity: LotQuantity{Outcome: Outcome{OnHand: 5000}}},
		"lot-a":          {ID: "lot-a", TraceCode: "AAAA-AAAA-AAAA", Quantity: LotQuantity{Outcome: Outcome{OnHand: 5000}}},
		"BBBB-BBBB-BBBB": {ID: "lot-b", TraceCode: "BBBB-BBBB-BBBB", Transit: &Transit{Quantity: 700}},
	}
	find := epcisLookup{
		lot: func(ref string) (*Lot, error) {
			if l, ok := lots[ref]; ok {
				return l, nil
			}
			return nil, fault.Errorf(fault.NotFound, "no lot %s", ref)
		},
		site: func(id, g string) (*Site, error) {
			if id == "S-1" || (id == "" && g == gln.Key) {
				return &Site{ID: "S-1"}, nil
			}
			return nil, fault.Errorf(fault.NotFound, "no site")
		},
	}
	prefixes := map[string]bool{}
	for k := range epcis.StandardPrefixes() {
		prefixes[k] = true
	}
	cases := []struct {
		name, event string
		want        *Event // nil: no effect
		field       string // a refusal naming this field
	}{
		{"sale by trace-code URL", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"retail_selling","epcList":["https://x.example/t/AAAA-AAAA-AAAA"]`,
			&Event{Kind: Sold, Lot: "lot-a", Channel: "retail", Quantity: &Quantity{Grams: 5000}}, ""},
		{"destruction by lot URL, Web URI step", `"type":"ObjectEvent","action":"DELETE","bizStep":"https://ref.gs1.org/cbv/BizStep-destroying","epcList":["urn:epc:id:sgtin:0614141.107346.1","http://x.example/v1/lots/lot-a"]`,
			&Event{Kind: Destroyed, Lot: "lot-a", Method: "other", Quantity: &Quantity{Grams: 5000}}, ""},
		{"receipt at a GLN", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","bizLocation":{"id":"urn:epc:id:sgln:0614141.00001.0"},"epcList":["https://x.example/t/BBBB-BBBB-BBBB"]`,
			&Event{Kind: Received, Lot: "lot-b", Site: "S-1", Quantity: &Quantity{Grams: 700}}, ""},
		{"receipt at a GLN as Digital Link", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","bizLocation":{"id":"https://id.gs1.org/414/` + gln.Key + `"},"epcList":["https://x.example/t/BBBB-BBBB-BBBB"]`,
			&Event{Kind: Received, Lot: "lot-b", Site: "S-1", Quantity: &Quantity{Grams: 700}}, ""},
		{"receipt at a site URL, nothing in transit", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","bizLocation":{"id":"https://x.example/v1/sites/S-1"},"epcList":["https://x.example/t/AAAA-AAAA-AAAA"]`,
			nil, "epcList"},
		{"sale with nothing on hand", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"retail_selling","epcList":["https://x.example/t/BBBB-BBBB-BBBB"]`,
			nil, "epcList"},
		{"two lots", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"destroying","epcList":["https://x.example/t/AAAA-AAAA-AAAA","https://x.example/t/BBBB-BBBB-BBBB"]`,
			nil, "epcList"},
		{"receipt at an unknown place", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","bizLocation":{"id":"https://id.gs1.org/414/9521234000013"},"epcList":["https://x.example/t/BBBB-BBBB-BBBB"]`, nil, ""},
		{"unknown lot", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"destroying","epcList":["https://x.example/t/ZZZZ-ZZZZ-ZZZZ"]`, nil, ""},
		{"unmapped step", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","epcList":["https://x.example/t/AAAA-AAAA-AAAA"]`, nil, ""},
		{"error declaration", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"destroying","epcList":["https://x.example/t/AAAA-AAAA-AAAA"],"errorDeclaration":{"declarationTime":"2026-01-02T00:00:00Z"}`, nil, ""},
		{"aggregation", `"type":"AggregationEvent","action":"ADD","bizStep":"destroying","parentID":"https://x.example/t/AAAA-AAAA-AAAA","childEPCs":["urn:epc:id:sgtin:0614141.107346.1"]`, nil, ""},
		{"a query string is no trace-code URL", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"destroying","epcList":["https://x.example/t/AAAA-AAAA-AAAA?x=1"]`, nil, ""},
	}
	for _, c := range cases {
		e, err := epcis.ParseEvent([]byte(`{"eventTime":"2026-01-01T00:00:00Z","eventTimeZoneOffset":"+08:00",`+c.event+`}`), 0, prefixes)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ev, ok, err := epcisToEvent(e, find)
		switch {
		case c.field != "":
			var fe *fault.Error
			if ok || err == nil || !errors.As(err, &fe) || len(fe.Fields) != 1 || fe.Fields[0].Field != c.field {
				t.Errorf("%s: %+v %v %v, want a refusal of %s", c.name, ev, ok, err, c.field)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == nil && ok:
			t.Errorf("%s: took effect as %+v", c.name, ev)
		case c.want != nil:
			c.want.At = e.Time()
			if !ok || eventHash(ev) != eventHash(*c.want) {
				t.Errorf("%s: %+v (%v), want %+v", c.name, ev, ok, *c.want)
			}
		}
	}
}
