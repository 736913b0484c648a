package epcis_test

import (
	"fmt"
	"net/url"

	"coldtrace/ledger/epcis"
)

func Example() {
	doc, err := epcis.Decode([]byte(`{
	  "@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
	  "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-11-30T12:00:00Z",
	  "epcisBody": {"eventList": [{
	    "type": "ObjectEvent", "action": "OBSERVE",
	    "eventTime": "2026-11-30T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
	    "epcList": ["urn:epc:id:sgtin:0614141.812345.6789"],
	    "bizStep": "shipping", "disposition": "in_transit"}]}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	e := doc.Events[0]
	id, _ := epcis.HashID(e, doc.Prefixes)
	fmt.Println(id)
	q, _ := epcis.ParseQuery(url.Values{"EQ_bizStep": {"urn:epcglobal:cbv:bizstep:shipping|receiving"}, "MATCH_epc": {"https://id.gs1.org/01/80614141123458/21/6789"}})
	fmt.Println(q.Match(e))
	// The hash is the one GS1's epcis2.js computes for the same event.
	// Output:
	// ni:///sha-256;51de1dd18ef2bf9162db1b55fe485f71ab8eca1bcf8e8f2652105b8941ff6200?ver=CBV2.0
	// true
}

func ExampleDecode_problems() {
	_, err := epcis.Decode([]byte(`{"@context":"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld","type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-30T12:00:00Z","epcisBody":{"eventList":[
	  {"type":"ObjectEvent","action":"ADD","eventTime":"2026-11-30T08:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sgtin:0614141.812345.6789"]},
	  {"type":"ObjectEvent","action":"ADD","eventTime":"2026-11-30T08:00:00Z","eventTimeZoneOffset":"+00:00","quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","uom":"kg"}]}]}}`))
	fmt.Println(err)
	// Output:
	// event 1: quantityList[0].uom: must be a UN/CEFACT Rec. 20 code (2 or 3 capitals or digits)
}

func ExampleLGTIN() {
	id, _ := epcis.LGTIN("4012345123456", "998877", 7)
	urn, _ := id.EPCURI()
	fmt.Println(urn)
	fmt.Println(id.DigitalLink())
	// Output:
	// urn:epc:class:lgtin:4012345.012345.998877
	// https://id.gs1.org/01/04012345123456/10/998877
}
