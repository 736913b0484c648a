package epcis

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// TestQueryMatch runs each query over the six events of all_types.json and
// checks which ones match.
func TestQueryMatch(t *testing.T) {
	d, _ := readDoc(t, "all_types.json")
	// Event recordTime: the repository adds it; give two of them one.
	d.Events[1] = d.Events[1].With(Field("recordTime", "2026-11-03T11:00:00Z"))
	d.Events[2] = d.Events[2].With(Field("recordTime", "2026-11-20T00:00:00Z"))
	for _, tc := range []struct {
		query string
		want  string // indexes of the matching events
	}{
		{"", "012345"},
		{"eventType=ObjectEvent", "05"},
		{"eventType=AggregationEvent|TransactionEvent", "13"},
		{"EQ_bizStep=shipping", "3"},
		{"EQ_bizStep=https://ref.gs1.org/cbv/BizStep-shipping|urn:epcglobal:cbv:bizstep:packing", "13"},
		{"EQ_bizStep=repackaging", "2"},
		{"EQ_disposition=in_transit|non_conformant", "35"},
		{"EQ_disposition=urn:epcglobal:cbv:disp:active", "0"},
		{"MATCH_epc=https://coldtrace.example/t/CT7Q2K", "025"},
		{"MATCH_epc=urn:epc:id:sgtin:0614141.812345.6789", "13"},
		{"MATCH_epc=https://example.com/01/80614141123458/21/6790", "1"},
		{"MATCH_epc=urn:epc:idpat:sgtin:0614141.812345.*", "13"},
		{"MATCH_epc=urn:epc:idpat:sgtin:0614141.*.*", "13"},
		{"MATCH_epc=urn:epc:idpat:sgtin:0614142.*.*", ""},
		{"MATCH_epc=urn:epc:id:sscc:0614141.1234567890", ""},
		{"MATCH_parentID=https://id.gs1.org/00/106141412345678908", "13"},
		{"MATCH_anyEPC=urn:epc:id:sscc:0614141.1234567890", "13"},
		{"MATCH_anyEPC=urn:epc:idpat:sscc:0614141.*", "13"},
		{"MATCH_anyEPC=https://coldtrace.example/t/CT9X1A|https://coldtrace.example/vehicle/ZJAXK", "24"},
		{"MATCH_epcClass=https://id.gs1.org/01/04012345123456/10/998877", "012"},
		{"MATCH_epcClass=urn:epc:class:lgtin:4012345.012345.P-0411", "2"},
		{"EQ_readPoint=https://id.gs1.org/414/0614141123452", "04"},
		{"EQ_readPoint=urn:epc:id:sgln:0614141.12345.dock2", "1"},
		{"EQ_bizLocation=urn:epc:id:sgln:0614141.12345.0", "0"},
		{"GE_eventTime=2026-11-04T00:00:00Z", "234"},
		{"LT_eventTime=2026-11-02T00:00:00.001Z", "05"},
		{"GE_eventTime=2026-11-03T00:00:00Z&LT_eventTime=2026-11-05T17:00:00Z", "12"},
		{"LT_eventTime=2026-11-05T17:00:00.001Z&GE_eventTime=2026-11-05T17:00:00Z", "3"},
		{"GE_recordTime=2026-11-10T00:00:00+08:00", "2"},
		{"LT_recordTime=2026-11-10T00:00:00Z", "1"},
		{"LT_recordTime=2026-11-03T19:00:00.001%2B08:00", "1"},
		{"EQ_eventID=urn:uuid:6e4ad7c4-5c1f-4c55-9e7b-0d0f2bd3a001", "0"},
		{"EQ_eventID=urn:uuid:nothing", ""},
		{"EXISTS_errorDeclaration=", "5"},
		{"EXISTS_errorDeclaration=&EQ_bizStep=inspecting", "5"},
		{"EQ_action=OBSERVE", "5"},
		{"EQ_action=ADD&eventType=ObjectEvent", "0"},
		{"EQ_transformationID=urn:uuid:1b1e1f00-0000-4000-8000-000000000411", "2"},
		{"perPage=10&eventType=TransformationEvent", "2"},
	} {
		v, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParseQuery(v, "perPage", "nextPageToken")
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		var got strings.Builder
		for i, e := range d.Events {
			if q.Match(e) {
				got.WriteByte(byte('0' + i))
			}
		}
		if got.String() != tc.want {
			t.Errorf("%s matches events %q, want %q", tc.query, got.String(), tc.want)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	for query, param := range map[string]string{
		"EQ_colour=red":        "EQ_colour",
		"eventType=ThingEvent": "eventType",
		"eventType=ObjectEvent&eventType=AggregationEvent":        "eventType",
		"EQ_bizStep=shipping||receiving":                          "EQ_bizStep",
		"GE_eventTime=yesterday":                                  "GE_eventTime",
		"GE_eventTime=2026-11-04":                                 "GE_eventTime",
		"LT_recordTime=2026-11-04T00:00:00Z|2026-11-05T00:00:00Z": "LT_recordTime",
		"EQ_action=LOOK":                                          "EQ_action",
		"EXISTS_errorDeclaration=no":                              "EXISTS_errorDeclaration",
		"MATCH_epc=":                                              "MATCH_epc",
	} {
		v, _ := url.ParseQuery(query)
		_, err := ParseQuery(v)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != param {
			t.Errorf("%s: error %v, want one about %s", query, err, param)
		}
	}
}
