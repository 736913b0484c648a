package ledger

import (
	"errors"
	"strings"
	"testing"
	"time"

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
		"BBBB-BBBB-BBBB": {ID: "lot-b", TraceCode: "BBBB-BBBB-BBBB", Transit: &Transit{Quantity: 700, ToSite: "S-1"}},
	}
	// Batch L1 of gtin was split: lot-a (on hand at S-2) and lot-b (in
	// transit to S-1); batch L2 is one lot.
	body := "0952123454321"
	c, _ := epcis.CheckDigit(body)
	gtin := body + string(c)
	split := []*Lot{{ID: "lot-a", Site: "S-2", Quantity: LotQuantity{Outcome: Outcome{OnHand: 5000}}}, lots["BBBB-BBBB-BBBB"]}
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
			if id == "S-2" {
				return &Site{ID: "S-2"}, nil
			}
			return nil, fault.Errorf(fault.NotFound, "no site")
		},
		lgtin: func(g, batch string) ([]*Lot, error) {
			switch {
			case g != gtin:
				return nil, nil
			case batch == "L1":
				return split, nil
			case batch == "L2":
				return []*Lot{lots["lot-a"]}, nil
			}
			return nil, nil
		},
		effect: func(id string, seq int64) (int64, error) {
			if id == "urn:uuid:took-effect" && seq == 9 {
				return 8, nil
			}
			return 0, nil
		},
	}
	dl := "https://id.gs1.org/01/" + gtin + "/10/"
	l2, err := epcis.LGTIN(gtin, "L2", 7)
	if err != nil {
		t.Fatal(err)
	}
	l2URI, err := l2.EPCURI()
	if err != nil {
		t.Fatal(err)
	}
	test := func(disp, ext string) string {
		return `"type":"ObjectEvent","action":"OBSERVE","bizStep":"inspecting","disposition":"` + disp + `","epcList":["https://x.example/t/AAAA-AAAA-AAAA"]` + ext
	}
	ship := func(dest, ext string) string {
		return `"type":"ObjectEvent","action":"OBSERVE","bizStep":"shipping","epcList":["https://x.example/t/AAAA-AAAA-AAAA"],"destinationList":[` + dest + `]` + ext
	}
	toS1 := `{"type":"possessing_party","destination":"https://x.example/v1/orgs/91310000MA1FL0000X"},{"type":"https://ref.gs1.org/cbv/SDT-location","destination":"urn:epc:id:sgln:0614141.00001.0"}`
	plate := "沪D12345"
	transform := func(where, in, out, ext string) string {
		ilmd := ""
		if out != "" {
			ilmd = `,"ilmd":{"ct:outputs":[` + out + `]}`
		}
		return `"type":"TransformationEvent","bizStep":"https://w3id.org/coldtrace/voc#BizStep-processing",` + where +
			`,"inputEPCList":["https://x.example/t/AAAA-AAAA-AAAA"],"outputEPCList":["https://y.example/t/NEWC-ODEX-XXXX"]` + in + ilmd + ext
	}
	in1 := `,"ct:inputs":[{"ct:lot":"https://x.example/t/AAAA-AAAA-AAAA","ct:quantity":{"ct:grams":3000}}]`
	out1 := `{"ct:product":{"ct:name":"牛肉丸","ct:hsCode":"1602501000","ct:category":"frozen"},"ct:quantity":{"ct:grams":3300},"ct:shares":[{"ct:input":0,"ct:grams":3000}]}`
	deadline := time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)
	prefixes := map[string]bool{}
	for k := range epcis.StandardPrefixes() {
		prefixes[k] = true
	}
	prefixes["ct"] = true
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
		{"unmapped step", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"loading","epcList":["https://x.example/t/AAAA-AAAA-AAAA"]`, nil, ""},
		{"sale of a part, method and channel from ct:", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"retail_selling","epcList":["https://x.example/t/AAAA-AAAA-AAAA"],"ct:channel":"online","ct:quantity":{"ct:grams":1200,"ct:pieces":3}`,
			&Event{Kind: Sold, Lot: "lot-a", Channel: "online", Quantity: &Quantity{Grams: 1200, Pieces: 3}}, ""},
		{"an unknown channel", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"retail_selling","epcList":["https://x.example/t/AAAA-AAAA-AAAA"],"ct:channel":"barter"`, nil, "ct:channel"},
		{"grams that are not whole", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"destroying","epcList":["https://x.example/t/AAAA-AAAA-AAAA"],"ct:quantity":{"ct:grams":1.5}`, nil, "ct:quantity.ct:grams"},

		{"error declaration of an event that took effect", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"destroying","epcList":["https://x.example/t/AAAA-AAAA-AAAA"],"eventID":"urn:uuid:took-effect","errorDeclaration":{"declarationTime":"2026-01-02T00:00:00Z","reason":"incorrect_data"}`,
			&Event{Kind: Voided, Voids: 8, Reason: "EPCIS error declaration: incorrect_data", At: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}, ""},
		{"error declaration with the coldtrace reason", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"destroying","epcList":["https://x.example/t/AAAA-AAAA-AAAA"],"eventID":"urn:uuid:took-effect","errorDeclaration":{"declarationTime":"2026-01-02T00:00:00Z","ct:reason":"录入错误"}`,
			&Event{Kind: Voided, Voids: 8, Reason: "录入错误", At: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}, ""},
		{"error declaration of an event without effect", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"destroying","epcList":["https://x.example/t/AAAA-AAAA-AAAA"],"eventID":"urn:uuid:no-effect","errorDeclaration":{"declarationTime":"2026-01-02T00:00:00Z"}`, nil, ""},

		{"conformant inspection", test("conformant", `,"ct:nucleicAcidTest":{"ct:samples":12,"ct:scope":["goods","packaging"]}`),
			&Event{Kind: Tested, Lot: "lot-a", Result: "negative", Samples: 12, Scope: []string{"goods", "packaging"}}, ""},
		{"non-conformant inspection, Web URI disposition", test("https://ref.gs1.org/cbv/Disp-non_conformant", `,"ct:nucleicAcidTest":{"ct:result":"positive","ct:samples":3,"ct:scope":["goods"]}`),
			&Event{Kind: Tested, Lot: "lot-a", Result: "positive", Samples: 3, Scope: []string{"goods"}}, ""},
		{"inspection without samples", test("conformant", `,"ct:nucleicAcidTest":{"ct:scope":["goods"]}`), nil, "ct:nucleicAcidTest.ct:samples"},
		{"inspection without the test", test("conformant", ``), nil, "ct:nucleicAcidTest"},
		{"inspection whose result contradicts it", test("conformant", `,"ct:nucleicAcidTest":{"ct:result":"positive","ct:samples":3,"ct:scope":["goods"]}`), nil, "ct:nucleicAcidTest.ct:result"},
		{"inspection of an unknown scope", test("conformant", `,"ct:nucleicAcidTest":{"ct:samples":3,"ct:scope":["air"]}`), nil, "ct:nucleicAcidTest.ct:scope[0]"},
		{"inspection without a result", test("active", ``), nil, ""},

		{"shipment of a part to a GLN", ship(toS1, `,"ct:quantity":{"ct:grams":2000},"ct:vehicle":{"ct:plate":"`+plate+`"},"ct:deadline":"2026-01-03T00:00:00Z","sensorElementList":[{"sensorReport":[{"type":"gs1:Temperature","value":-19.5,"uom":"CEL"}]}]`),
			&Event{Kind: Shipped, Lot: "lot-a", ToOrg: "91310000MA1FL0000X", ToSite: "S-1", Quantity: &Quantity{Grams: 2000}, Vehicle: &Vehicle{Plate: plate}, Deadline: &deadline, TemperatureC: ptr(-19.5)}, ""},
		{"shipment of all on hand", ship(toS1, ``),
			&Event{Kind: Shipped, Lot: "lot-a", ToOrg: "91310000MA1FL0000X", ToSite: "S-1", Quantity: &Quantity{Grams: 5000}}, ""},
		{"shipment of a part in quantityList", ship(toS1, `,"quantityList":[{"epcClass":"https://x.example/t/AAAA-AAAA-AAAA","quantity":1.25,"uom":"KGM"}]`),
			&Event{Kind: Shipped, Lot: "lot-a", ToOrg: "91310000MA1FL0000X", ToSite: "S-1", Quantity: &Quantity{Grams: 1250}}, ""},
		{"shipment in pounds", ship(toS1, `,"quantityList":[{"epcClass":"https://x.example/t/AAAA-AAAA-AAAA","quantity":1,"uom":"LBR"}]`), nil, "quantityList[0].uom"},
		{"shipment to no one", ship(``, ``), nil, "destinationList"},
		{"shipment to a place that is no site", ship(`{"type":"possessing_party","destination":"https://x.example/v1/orgs/91310000MA1FL0000X"},{"type":"location","destination":"https://id.gs1.org/414/9521234000013"}`, ``), nil, "destinationList"},
		{"shipment on a bad plate", ship(toS1, `,"ct:vehicle":{"ct:plate":"XYZ"}`), nil, "ct:vehicle.ct:plate"},
		{"shipment due before it left", ship(toS1, `,"ct:deadline":"2025-01-01T00:00:00Z"`), nil, "ct:deadline"},

		{"processing", transform(`"bizLocation":{"id":"https://x.example/v1/sites/S-1"}`, in1, out1, `,"ct:addedGrams":300`),
			&Event{Kind: Transformed, Site: "S-1", Inputs: []LotAmount{{Lot: "lot-a", Quantity: Quantity{Grams: 3000}}},
				Outputs: []Output{{Product: Product{Name: "牛肉丸", HSCode: "1602501000", Category: "frozen"}, Quantity: Quantity{Grams: 3300}, Shares: []Share{{Input: 0, Grams: 3000}}}}, AddedGrams: 300}, ""},
		{"processing without ct:outputs", transform(`"bizLocation":{"id":"https://x.example/v1/sites/S-1"}`, in1, ``, ``), nil, ""},
		{"processing of lots coldtrace does not know", strings.ReplaceAll(transform(`"bizLocation":{"id":"https://x.example/v1/sites/S-1"}`, in1, out1, ``), "AAAA-AAAA-AAAA", "ZZZZ-ZZZZ-ZZZZ"), nil, ""},
		{"processing of an output without HS code", transform(`"bizLocation":{"id":"https://x.example/v1/sites/S-1"}`, in1, strings.Replace(out1, `"ct:hsCode":"1602501000",`, ``, 1), ``), nil, "ilmd.ct:outputs[0].ct:product.ct:hsCode"},
		{"processing at no site", transform(`"readPoint":{"id":"https://x.example/v1/sites/S-9"}`, in1, out1, ``), nil, "bizLocation"},
		{"sale of the one lot of an LGTIN", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"retail_selling","epcList":["` + l2URI + `"]`,
			&Event{Kind: Sold, Lot: "lot-a", Channel: "retail", Quantity: &Quantity{Grams: 5000}}, ""},
		{"sale of a part of a split LGTIN at a site", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"retail_selling","bizLocation":{"id":"https://x.example/v1/sites/S-2"},"quantityList":[{"epcClass":"` + dl + `L1","quantity":700,"uom":"GRM"}]`,
			&Event{Kind: Sold, Lot: "lot-a", Channel: "retail", Quantity: &Quantity{Grams: 700}}, ""},
		{"receipt of a split LGTIN in transit to a site", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"receiving","bizLocation":{"id":"https://x.example/v1/sites/S-1"},"epcList":["` + dl + `L1"]`,
			&Event{Kind: Received, Lot: "lot-b", Site: "S-1", Quantity: &Quantity{Grams: 700}}, ""},
		{"a split LGTIN and no site", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"retail_selling","epcList":["` + dl + `L1"]`, nil, "epcList"},
		{"a split LGTIN in quantityList and no site", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"retail_selling","quantityList":[{"epcClass":"` + dl + `L1","quantity":1,"uom":"KGM"}]`, nil, "quantityList[0]"},
		{"an LGTIN coldtrace does not know", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"retail_selling","epcList":["` + dl + `L9"]`, nil, ""},
		{"error declaration", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"destroying","epcList":["https://x.example/t/AAAA-AAAA-AAAA"],"errorDeclaration":{"declarationTime":"2026-01-02T00:00:00Z"}`, nil, ""},
		{"aggregation", `"type":"AggregationEvent","action":"ADD","bizStep":"destroying","parentID":"https://x.example/t/AAAA-AAAA-AAAA","childEPCs":["urn:epc:id:sgtin:0614141.107346.1"]`, nil, ""},
		{"a query string is no trace-code URL", `"type":"ObjectEvent","action":"OBSERVE","bizStep":"destroying","epcList":["https://x.example/t/AAAA-AAAA-AAAA?x=1"]`, nil, ""},
	}
	for _, c := range cases {
		e, err := epcis.ParseEvent([]byte(`{"eventTime":"2026-01-01T00:00:00Z","eventTimeZoneOffset":"+08:00",`+c.event+`}`), 0, prefixes)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ev, ok, err := epcisToEvent(epcisSubject{Event: e, id: e.ID(), seq: 9, ct: "ct"}, find)
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
			if c.want.At.IsZero() {
				c.want.At = e.Time()
			}
			if !ok || eventHash(ev) != eventHash(*c.want) {
				t.Errorf("%s: %+v (%v), want %+v", c.name, ev, ok, *c.want)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestMayTakeEffect: the cheap test that spares most captured events a
// second decoding lets through every event that could take effect.
func TestMayTakeEffect(t *testing.T) {
	for raw, want := range map[string]bool{
		`{"bizStep":"shipping","epcList":["urn:epc:id:sgtin:0614141.107346.1"]}`:                         false,
		`{"bizStep":"commissioning","epcList":["https://x.example/t/AAAA-AAAA-AAAA"]}`:                   false,
		`{"bizStep":"shipping","epcList":["https://x.example/t/AAAA-AAAA-AAAA"]}`:                        true,
		`{"bizStep":"loading","errorDeclaration":{},"epcList":["https://x.example/v1/lots/lot-a"]}`:      true,
		`{"bizStep":"destroying","quantityList":[{"epcClass":"urn:epc:class:lgtin:9521234.054321.L2"}]}`: true,
		`{"bizStep":"receiving","epcList":["https://id.gs1.org/01/09521234543213/10/L1"]}`:               true,
		`{"type":"TransformationEvent","inputEPCList":["https://x.example/t/AAAA-AAAA-AAAA"]}`:           true,
	} {
		if got := mayTakeEffect([]byte(raw)); got != want {
			t.Errorf("mayTakeEffect(%s) = %v", raw, got)
		}
	}
}
