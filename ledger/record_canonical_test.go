package ledger

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"
)

// TestDecodeCanonicalAgreesWithEncodingJSON checks decodeCanonical, the
// log check's fast path, with encoding/json's decoder and with goccy/go-json's
// (the one `coldtrace verify` gives it), against the definition it stands for (the bytes
// decode with DecodeRecord and encodeRecord gives them back): on a record
// using many field types and on variants of its bytes that decode to the
// same record but are not its encoding (space, key case, key order,
// escapes, a duplicate or unknown key, another spelling of a number or a
// time, trailing data), it must accept exactly the bytes the definition
// accepts, and return the record DecodeRecord returns.
func TestDecodeCanonicalAgreesWithEncodingJSON(t *testing.T) {
	temp, positives := -18.5, int64(0)
	deadline := time.Date(2026, 3, 4, 5, 6, 7, 800, time.FixedZone("", 8*3600))
	rec := &Record{
		Seq: 7, ID: "r-7", RecordedAt: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Actor: Actor{Org: "91310000MA1FL0000X", Key: "k1"},
		Event: Event{
			Kind: "tested", At: deadline, Lot: "L-1", Result: "negative", Scope: []string{"a", "b"},
			TemperatureC: &temp, Positives: &positives, Deadline: &deadline,
			Product:    &Product{Name: "冻牛肉 <A&B>", HSCode: "0202", Category: "meat", OriginCountry: "BR"},
			Containers: []Container{{Number: "MSCU1234567"}},
			Quantity:   &Quantity{Grams: 1000, Pieces: 3},
			Note:       "line\nbreak \u2028 \"quoted\"",
		},
		CreatedLots: []CreatedLot{{ID: "L-2", TraceCode: "ABCD-EFGH-JKLM", Quantity: Quantity{Grams: 5}}},
	}
	canon, err := encodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	s := string(canon)
	variants := map[string]string{
		"canonical":       s,
		"leading space":   " " + s,
		"trailing space":  s + " ",
		"trailing value":  s + "{}",
		"key case":        strings.Replace(s, `"seq":`, `"Seq":`, 1),
		"duplicate key":   strings.Replace(s, `"lot":"L-1"`, `"lot":"L-1","lot":"L-1"`, 1),
		"unknown key":     strings.Replace(s, `"lot":"L-1"`, `"lot":"L-1","lots_x":1`, 1),
		"key order":       strings.Replace(s, `"seq":7,"id":"r-7"`, `"id":"r-7","seq":7`, 1),
		"escaped letter":  strings.Replace(s, `"L-1"`, `"\u004c-1"`, 1),
		"html escape":     strings.Replace(s, `<A&B>`, `\u003cA\u0026B\u003e`, 1),
		"raw u2028":       strings.Replace(s, `\u2028`, "\u2028", 1),
		"number spelling": strings.Replace(s, `-18.5`, `-1.85e1`, 1),
		"zero spelling":   strings.Replace(s, `"positives":0`, `"positives":-0`, 1),
		"time spelling":   strings.Replace(s, `2026-03-04T05:06:07Z`, `2026-03-04T05:06:07+00:00`, 1),
		"explicit null":   strings.Replace(s, `"lot":"L-1"`, `"lot":"L-1","buyer":null`, 1),
		"empty omitted":   strings.Replace(s, `"lot":"L-1"`, `"lot":"L-1","region":""`, 1),
		"invalid utf-8":   strings.Replace(s, `L-1`, "L-\xff", 1),
		"truncated":       s[:len(s)-1],
	}
	for _, decode := range []JSONDecoder{nil, gojson.Unmarshal} {
		checkCanonicalVariants(t, decode, canon, variants)
	}
}

// checkCanonicalVariants checks decodeCanonical with decode on the
// variants of the canonical encoding canon.
func checkCanonicalVariants(t *testing.T, decode JSONDecoder, canon []byte, variants map[string]string) {
	s := string(canon)
	for name, v := range variants {
		if name != "canonical" && v == s {
			t.Fatalf("%s: the variant is the canonical encoding", name)
		}
		std, err := DecodeRecord([]byte(v))
		want := false
		if err == nil {
			enc, err := encodeRecord(std)
			want = err == nil && bytes.Equal(enc, []byte(v))
		}
		got, ok := decodeCanonical([]byte(v), decode)
		if ok != want {
			t.Errorf("%s: decodeCanonical ok=%v, encoding/json's check %v", name, ok, want)
		}
		if ok && !reflect.DeepEqual(got, std) {
			t.Errorf("%s: decodeCanonical returned\n%+v\nDecodeRecord\n%+v", name, got, std)
		}
	}
	if _, ok := decodeCanonical(canon, decode); !ok {
		t.Fatal("the canonical encoding is refused")
	}
}
