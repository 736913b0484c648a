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
