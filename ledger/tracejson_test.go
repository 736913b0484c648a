package ledger

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestTraceJSONKnowsEveryField fails when a field is added to a type that
// Trace.AppendJSON writes: the encoder must then be taught it.
func TestTraceJSONKnowsEveryField(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{Trace{}, "root roots lot trace_code direction lots edges truncated hidden"},
		{TraceEdge{}, "from to kind seq"},
		{TraceLot{}, "id trace_code hidden,omitempty depth parents children root,omitempty product,omitempty created_by,omitempty created_seq created_at,omitempty holder,omitempty site,omitempty region,omitempty quantity,omitempty status,omitempty open_findings custody,omitempty vehicles,omitempty transit,omitempty"},
		{TraceProduct{}, "name category"},
		{LotFlags{}, "cleared sealed positive closed"},
		{LotQuantity{}, "declared on_hand in_transit sold consumed destroyed returned lost split transformed"},
		{Stay{}, "org site region from to,omitempty seq"},
		{VehicleUse{}, "plate carrier,omitempty from to,omitempty seq"},
		{Transit{}, "seq from from_site from_region to_org to_site to_region since deadline quantity plate,omitempty carrier,omitempty overdue,omitempty"},
	} {
		typ := reflect.TypeOf(c.v)
		var tags []string
		for i := 0; i < typ.NumField(); i++ {
			tags = append(tags, typ.Field(i).Tag.Get("json"))
		}
		if got := strings.Join(tags, " "); got != c.want {
			t.Errorf("%s has the JSON fields %q; Trace.AppendJSON writes %q: teach it the change", typ.Name(), got, c.want)
		}
	}
}

// TestAppendJSONString compares the string encoding with encoding/json's
// on awkward strings.
func TestAppendJSONString(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pieces := []string{"a", "冷冻鸡爪", "\"", "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1f", "\x7f", "<>&", "\u2028", "\u2029", "\xff", "\xe4\xb8", "é", "😀", " "}
	for n := 0; n < 2000; n++ {
		var sb strings.Builder
		for k := r.IntN(8); k >= 0; k-- {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		s := sb.String()
		if got, want := appendJSONString(nil, s), encodingJSON(t, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: %s, encoding/json %s", s, got, want)
		}
	}
}

func encodingJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// TestTraceAppendJSONMatchesEncodingJSON compares whole answers, with
// every optional field present and absent.
func TestTraceAppendJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 25, 13, 36, 41, 120_000_000, time.UTC)
	later := at.Add(90 * time.Minute)
	full := TraceLot{ID: "a", TraceCode: "AAAA-BBBB-CCCC", Depth: -2, Parents: []string{"p"}, Children: []string{}, Root: "r",
		Product: &TraceProduct{Name: "冷冻鸡爪 \"A\"", Category: "frozen"}, CreatedBy: Shipped, CreatedSeq: 7, CreatedAt: &at,
		Holder: "h", Site: "s", Region: "310101", Quantity: &LotQuantity{Declared: 1, OnHand: 2, InTransit: 3, Sold: 4, Consumed: 5, Destroyed: 6, Returned: 7, Lost: 8, Split: 9, Transformed: 10},
		Status: &LotFlags{Cleared: true, Positive: true}, OpenFindings: 3,
		Custody:  []Stay{{Org: "o", Site: "s", Region: "310101", From: at, To: &later, Seq: 3}, {Org: "o2", Site: "s2", Region: "320101", From: later, Seq: 9}},
		Vehicles: []VehicleUse{{Plate: "沪A12345", Carrier: "c", From: at, To: &later, Seq: 4}, {Plate: "x", From: later, Seq: 5}},
		Transit: &Transit{Seq: 1, From: "f", FromSite: "fs", FromRegion: "fr", ToOrg: "to", ToSite: "ts", ToRegion: "tr", Since: at, Deadline: later,
			Quantity: 5, Plate: "p", Carrier: "c", Overdue: true}}
	bare := TraceLot{ID: "b", TraceCode: "X", Hidden: true, Parents: []string{}, Children: []string{"c", "d"}, Transit: &Transit{}}
	for _, tr := range []*Trace{
		{Root: "r", Roots: []string{"r", "s"}, Lot: "a", TraceCode: "AAAA", Direction: TraceBoth, Lots: []TraceLot{full, bare, {}},
			Edges: []TraceEdge{{From: "r", To: "a", Kind: Transformed, Seq: 4}}, Truncated: true, Hidden: 1},
		{Lots: []TraceLot{}, Edges: []TraceEdge{}},
		{},
	} {
		if got, want := tr.AppendJSON(nil), encodingJSON(t, tr); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON:\n%s\nencoding/json:\n%s", got, want)
		}
	}
}
