package ledger

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"coldtrace/ledger/fault"
)

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
		var fe fault.Fields
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
