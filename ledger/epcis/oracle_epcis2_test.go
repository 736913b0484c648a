package epcis

import (
	"fmt"
	"os"
	"testing"
)

// TestOracleValidatesGeneratedDocuments: every document this package
// encodes from generated events of all five types, with every optional
// field, and the hand-written testdata/all_types.json pass epcis2.js's validateEpcisDocument (schema and extension
// checks) as well as our own Decode.
func TestOracleValidatesGeneratedDocuments(t *testing.T) {
	docs := map[string][]byte{}
	for seed := uint64(1); seed <= 40; seed++ {
		_, doc, err := newGen(seed).document(10)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(doc); err != nil {
			t.Fatalf("seed %d: our decoder rejects our own document: %v", seed, err)
		}
		docs[fmt.Sprintf("gen%d", seed)] = doc
	}
	all, err := os.ReadFile("testdata/all_types.json")
	if err != nil {
		t.Fatal(err)
	}
	docs["all_types"] = all
	for name, v := range oracleValidate(t, docs) {
		if !v.Success {
			t.Errorf("%s: epcis2.js rejects it: %v\n%s", name, v.Errors, docs[name])
		}
	}
}

// TestOracleAgreesOnInvalidDocuments: documents our decoder rejects are
// rejected by epcis2.js too, and the valid ones of the table are accepted
// by both.
func TestOracleAgreesOnInvalidDocuments(t *testing.T) {
	docs := map[string][]byte{}
	want := map[string]bool{}
	for i, tc := range decodeCases {
		name := fmt.Sprintf("case%d", i)
		docs[name] = []byte(tc.doc)
		_, err := Decode([]byte(tc.doc))
		want[name] = err == nil
		if tc.skipOracle {
			delete(docs, name)
		}
	}
	for name, v := range oracleValidate(t, docs) {
		if v.Success != want[name] {
			t.Errorf("%s: epcis2.js success=%v, ours %v (%v)\n%s", name, v.Success, want[name], v.Errors, docs[name])
		}
	}
}

// TestOracleEventHashes compares HashID with epcis2.js's eventToHashedId
// on 500 generated events of the five types.
func TestOracleEventHashes(t *testing.T) {
	evs, doc, err := newGen(100).document(500)
	if err != nil {
		t.Fatal(err)
	}
	theirs := oracleHashes(t, doc)
	if len(theirs) != len(evs) {
		t.Fatalf("the oracle hashed %d events of %d", len(theirs), len(evs))
	}
	d, err := Decode(doc)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, e := range d.Events {
		ours, err := HashID(e, d.Prefixes)
		if err != nil {
			t.Fatal(err)
		}
		if ours != theirs[i] {
			pre, _ := PreHash(e, d.Prefixes)
			t.Errorf("event %d: ours %s, epcis2.js %s\nevent %s\nour pre-hash %s", i, ours, theirs[i], e.Raw(), pre)
		}
		seen[ours] = true
	}
	if len(seen) != len(evs) {
		t.Fatalf("%d distinct hashes for %d distinct events", len(seen), len(evs))
	}
}
