package epcis

import (
	"errors"
	"strings"
	"testing"
)

const docHead = `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"ex":"https://ns.example.com/epcis/"}],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-30T12:00:00Z","epcisBody":{"eventList":[`
const docTail = `]}}`

const okObject = `{"type":"ObjectEvent","eventTime":"2026-11-30T08:00:00+08:00","eventTimeZoneOffset":"+08:00","epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"action":"OBSERVE"}`

func doc(events ...string) string { return docHead + strings.Join(events, ",") + docTail }

// withMember replaces the closing brace of an event with extra members.
func with(event, extra string) string { return strings.TrimSuffix(event, "}") + "," + extra + "}" }

var decodeCases = []struct {
	name       string
	doc        string
	event      int    // the index of the first problem; -1 the document
	field      string // "" for a valid document
	skipOracle bool   // epcis2.js cannot judge it (see the case)
}{
	{name: "valid", doc: doc(okObject)},
	{name: "valid quantity only", doc: doc(`{"type":"ObjectEvent","eventTime":"2026-11-30T08:00:00Z","eventTimeZoneOffset":"+00:00","quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":200,"uom":"KGM"}],"action":"ADD","ilmd":{"ex:bestBefore":"2027-01-01"}}`)},
	{name: "valid extension", doc: doc(with(okObject, `"ex:note":{"ex:a":"b"}`))},
	{name: "valid full bizStep URI", doc: doc(with(okObject, `"bizStep":"https://ref.gs1.org/cbv/BizStep-shipping"`))},
	{name: "valid user vocabulary", doc: doc(with(okObject, `"bizStep":"https://coldtrace.example/voc/disinfecting"`))},
	{name: "no context", doc: strings.Replace(doc(okObject), `"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"ex":"https://ns.example.com/epcis/"}],`, "", 1), event: -1, field: "@context"},
	{name: "no schemaVersion", doc: strings.Replace(doc(okObject), `"schemaVersion":"2.0",`, "", 1), event: -1, field: "schemaVersion"},
	{name: "bad creationDate", doc: strings.Replace(doc(okObject), `2026-11-30T12:00:00Z`, "yesterday", 1), event: -1, field: "creationDate"},
	{name: "unknown document member", doc: strings.Replace(doc(okObject), `"type":"EPCISDocument"`, `"type":"EPCISDocument","colour":"red"`, 1), event: -1, field: "colour"},
	{name: "no eventList", doc: strings.Replace(doc(okObject), `"eventList":[`+okObject+`]`, `"events":[]`, 1), event: -1, field: "epcisBody.eventList"},
	{name: "unknown type", doc: doc(okObject, strings.Replace(okObject, "ObjectEvent", "ThingEvent", 1)), event: 1, field: "type",
		skipOracle: true}, // epcis2.js takes an unknown type as an extended event
	{name: "no eventTime", doc: doc(okObject, strings.Replace(okObject, `"eventTime":"2026-11-30T08:00:00+08:00",`, "", 1)), event: 1, field: "eventTime"},
	{name: "bad eventTime", doc: doc(strings.Replace(okObject, `2026-11-30T08:00:00+08:00`, `2026-11-30 08:00`, 1)), event: 0, field: "eventTime"},
	{name: "bad offset", doc: doc(strings.Replace(okObject, `"+08:00"`, `"+8"`, 1)), event: 0, field: "eventTimeZoneOffset"},
	{name: "no action", doc: doc(strings.Replace(okObject, `,"action":"OBSERVE"`, "", 1)), event: 0, field: "action"},
	{name: "bad action", doc: doc(strings.Replace(okObject, `OBSERVE`, `LOOK`, 1)), event: 0, field: "action"},
	{name: "epc not a URI", doc: doc(okObject, strings.Replace(okObject, `urn:epc:id:sgtin:0614141.107346.2017`, `not a uri`, 1)), event: 1, field: "epcList[0]"},
	{name: "no objects", doc: doc(strings.Replace(okObject, `"epcList":["urn:epc:id:sgtin:0614141.107346.2017"],`, "", 1)), event: 0, field: "epcList"},
	{name: "bad uom", doc: doc(with(okObject, `"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":1},{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","uom":"kilo"}]`)), event: 0, field: "quantityList[1].uom"},
	{name: "quantity not a number", doc: doc(with(okObject, `"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":"7"}]`)), event: 0, field: "quantityList[0].quantity"},
	{name: "bizStep not CBV", doc: doc(with(okObject, `"bizStep":"teleporting"`)), event: 0, field: "bizStep"},
	{name: "bizStep URN", doc: doc(with(okObject, `"bizStep":"urn:epcglobal:cbv:bizstep:shipping"`)), event: 0, field: "bizStep"},
	{name: "disposition not CBV", doc: doc(with(okObject, `"disposition":"melted"`)), event: 0, field: "disposition"},
	{name: "readPoint without id", doc: doc(with(okObject, `"readPoint":{"ex:name":"gate"}`)), event: 0, field: "readPoint.id"},
	{name: "source without type", doc: doc(with(okObject, `"sourceList":[{"source":"urn:epc:id:sgln:0614141.07346.0"}]`)), event: 0, field: "sourceList[0].type"},
	{name: "bizTransaction extra member", doc: doc(with(okObject, `"bizTransactionList":[{"bizTransaction":"urn:epcglobal:cbv:bt:0614141073467:1152","note":"x"}]`)), event: 0, field: "bizTransactionList[0].note"},
	{name: "unknown member", doc: doc(with(okObject, `"colour":"red"`)), event: 0, field: "colour"},
	{name: "undeclared prefix", doc: doc(with(okObject, `"zz:colour":"red"`)), event: 0, field: "zz:colour"},
	{name: "ilmd with OBSERVE", doc: doc(with(okObject, `"ilmd":{"ex:bestBefore":"2027-01-01"}`)), event: 0, field: "ilmd"},
	{name: "errorDeclaration without time", doc: doc(with(okObject, `"errorDeclaration":{"reason":"incorrect_data"}`)), event: 0, field: "errorDeclaration.declarationTime"},
	{name: "sensor report empty", doc: doc(with(okObject, `"sensorElementList":[{"sensorReport":[]}]`)), event: 0, field: "sensorElementList[0].sensorReport"},
	{name: "sensor hex", doc: doc(with(okObject, `"sensorElementList":[{"sensorReport":[{"type":"Temperature","hexBinaryValue":"xyz"}]}]`)), event: 0, field: "sensorElementList[0].sensorReport[0].hexBinaryValue"},
	{name: "persistentDisposition empty", doc: doc(with(okObject, `"persistentDisposition":{}`)), event: 0, field: "persistentDisposition"},
	{name: "association without parent", doc: doc(`{"type":"AssociationEvent","eventTime":"2026-11-30T08:00:00Z","eventTimeZoneOffset":"+00:00","childEPCs":["urn:epc:id:sgtin:0614141.107346.2017"],"action":"ADD"}`), event: 0, field: "parentID"},
	{name: "transaction without transactions", doc: doc(`{"type":"TransactionEvent","eventTime":"2026-11-30T08:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"action":"ADD","bizTransactionList":[]}`), event: 0, field: "bizTransactionList"},
	{name: "transformation without outputs", doc: doc(`{"type":"TransformationEvent","eventTime":"2026-11-30T08:00:00Z","eventTimeZoneOffset":"+00:00","inputEPCList":["urn:epc:id:sgtin:0614141.107346.2017"]}`), event: 0, field: "inputEPCList"},
	{name: "duplicate epc", doc: doc(with(strings.Replace(okObject, `"action":"OBSERVE"`, `"action":"ADD"`, 1), `"childEPCs":[]`)), event: 0, field: "childEPCs"},
}

func TestDecodeProblems(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Decode([]byte(tc.doc))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want a valid document, got %v", err)
				}
				if len(d.Events) == 0 {
					t.Fatal("no events decoded")
				}
				return
			}
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("want problems, got %v", err)
			}
			if ps[0].Event != tc.event || ps[0].Field != tc.field {
				t.Fatalf("first problem is event %d field %q (%v), want event %d field %q", ps[0].Event, ps[0].Field, err, tc.event, tc.field)
			}
		})
	}
}
