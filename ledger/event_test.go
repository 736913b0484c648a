package ledger

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestTraceCodes(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		c := newTraceCode()
		n, ok := NormalizeTraceCode(c)
		if !ok || FormatTraceCode(n) != c {
			t.Fatalf("code %s does not normalise back (%q, %v)", c, n, ok)
		}
		if seen[n] {
			t.Fatalf("code %s drawn twice in 2000", c)
		}
		seen[n] = true
		// As a person may type it.
		if m, ok := NormalizeTraceCode(strings.ToLower(strings.ReplaceAll(c, "-", " "))); !ok || m != n {
			t.Fatalf("lower case with spaces: %q", m)
		}
		// Every single-character change is caught by the check character.
		for pos := 0; pos < 12; pos++ {
			b := []byte(n)
			b[pos] = crockford[(strings.IndexByte(crockford, b[pos])+1+i%31)%32]
			if _, ok := NormalizeTraceCode(string(b)); ok {
				t.Fatalf("%s with position %d changed to %s passes the check", n, pos, b)
			}
		}
	}
	// I and L read as 1, O as 0.
	code := "1010-1010-101"
	code += string(luhn32(strings.ReplaceAll(code, "-", "")))
	if m, ok := NormalizeTraceCode(strings.NewReplacer("1", "I", "0", "O").Replace(code[:5]) + code[5:]); !ok || m != strings.ReplaceAll(code, "-", "") {
		t.Fatalf("look-alike letters not read as digits: %q %v", m, ok)
	}
	for _, bad := range []string{"", "ABC", "ABCD-EFGH-JKMU", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "中文中文-中文中文-中文中文"} {
		if _, ok := NormalizeTraceCode(bad); ok {
			t.Errorf("NormalizeTraceCode(%q) accepted", bad)
		}
	}
}

func FuzzNormalizeTraceCode(f *testing.F) {
	f.Add(newTraceCode())
	f.Add("0000-0000-0000")
	f.Add("il0o-IL0O-1234")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := NormalizeTraceCode(s)
		if !ok {
			return
		}
		if m, ok := NormalizeTraceCode(FormatTraceCode(n)); !ok || m != n {
			t.Fatalf("%q normalised to %q, whose display form normalises to %q", s, n, m)
		}
	})
}

// FuzzEventCheck feeds arbitrary JSON through the event decoder and the
// stateless checks of its kind: they must never panic, and an event that
// passes must survive an encode/decode round trip unchanged.
func FuzzEventCheck(f *testing.F) {
	f.Add([]byte(`{"kind":"declared","site":"S1","declaration_no":"224820261000000001","product":{"name":"牛肉","hs_code":"0202300090","category":"frozen","origin_country":"BR"},"containers":[{"number":"MSKU9070323"}],"quantity":{"grams":1000}}`))
	f.Add([]byte(`{"kind":"shipped","lot":"ABCD","to_org":"91330106MA00001006","to_site":"S","quantity":{"grams":1},"vehicle":{"plate":"浙A12345"},"temperature_c":-19}`))
	f.Add([]byte(`{"kind":"transformed","site":"P","inputs":[{"lot":"a","quantity":{"grams":5}}],"outputs":[{"product":{"name":"x","hs_code":"1602","category":"frozen"},"quantity":{"grams":4}}]}`))
	f.Add([]byte(`{"kind":"site_tested","site":"S","scope":["workers"],"samples":3,"positives":1}`))
	f.Add([]byte(`{"kind":"temperature_recorded","lot":"L","min_c":-20,"max_c":-18,"readings":3,"attachments":[{"sha256":"` + strings.Repeat("a", 64) + `","type":"temperature_log"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev Event
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if dec.Decode(&ev) != nil {
			return
		}
		spec, ok := kinds[ev.Kind]
		if !ok || spec.door != DoorEvents {
			return
		}
		var fe fieldErrors
		spec.check(&ev, &fe)
		for _, e := range fe {
			if e.Field == "" || e.Message == "" {
				t.Fatalf("a field error without field or message: %+v", e)
			}
		}
		if len(fe) > 0 {
			return
		}
		enc, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var again Event
		if err := json.Unmarshal(enc, &again); err != nil {
			t.Fatal(err)
		}
		enc2, _ := json.Marshal(again)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the event:\n%s\n%s", enc, enc2)
		}
	})
}
