package epcis

import (
	"bytes"
	"os"
	"testing"
)

// FuzzDecode: Decode never panics; what it accepts encodes and decodes
// again to the same event bytes and the same hashes.
func FuzzDecode(f *testing.F) {
	if all, err := os.ReadFile("testdata/all_types.json"); err == nil {
		f.Add(all)
	}
	for _, tc := range decodeCases {
		f.Add([]byte(tc.doc))
	}
	if _, doc, err := newGen(7).document(5); err == nil {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Decode(data)
		if err != nil {
			if _, ok := err.(Problems); !ok {
				t.Fatalf("Decode returned %T, not Problems: %v", err, err)
			}
			return
		}
		own := map[string]string{}
		for k, v := range d.Prefixes {
			if standardContext[k] != v {
				own[k] = v
			}
		}
		out, err := Encode(d.CreationDate, Header{Prefixes: own}, d.Events)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := Decode(out)
		if err != nil {
			t.Fatalf("our own encoding does not decode: %v\n%s", err, out)
		}
		if len(d2.Events) != len(d.Events) {
			t.Fatalf("%d events became %d", len(d.Events), len(d2.Events))
		}
		for i, e := range d.Events {
			if !bytes.Equal(e.Raw(), d2.Events[i].Raw()) {
				t.Fatalf("event %d changed", i)
			}
			h1, err1 := HashID(e, d.Prefixes)
			h2, err2 := HashID(d2.Events[i], d2.Prefixes)
			if h1 != h2 || (err1 == nil) != (err2 == nil) {
				t.Fatalf("event %d: hash %s (%v) became %s (%v)", i, h1, err1, h2, err2)
			}
		}
	})
}

// FuzzParseIdentifier: what parses has a canonical Digital Link that parses
// to the same identifier.
func FuzzParseIdentifier(f *testing.F) {
	for _, s := range []string{
		"urn:epc:id:sgtin:0614141.812345.6789", "urn:epc:class:lgtin:4012345.012345.998877",
		"urn:epc:id:sscc:0614141.1234567890", "urn:epc:id:sgln:0614141.12345.5678", "urn:epc:id:pgln:0614141.12345",
		"https://example.com/01/09520123456788/21/ABC?17=201225", "https://id.gs1.org/01/09520123456788/22/V2/10/L1/21/S1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseIdentifier(s)
		if err != nil {
			return
		}
		dl := id.DigitalLink()
		back, err := ParseIdentifier(dl)
		if err != nil {
			t.Fatalf("%s -> %s does not parse: %v", s, dl, err)
		}
		back.PrefixLen = id.PrefixLen
		if back != id {
			t.Fatalf("%s -> %s -> %+v, want %+v", s, dl, back, id)
		}
		if id.PrefixLen > 0 {
			u, err := id.EPCURI()
			if err != nil {
				t.Fatalf("%+v: %v", id, err)
			}
			again, err := ParseIdentifier(u)
			if err != nil || again != id {
				t.Fatalf("%s -> %s -> %+v (%v), want %+v", s, u, again, err, id)
			}
		}
	})
}
