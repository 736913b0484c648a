package epcis

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// gen makes random valid events of every type with every optional field,
// for the oracle and fuzz tests. It stays inside what both public hash
// implementations agree on (see hash.go): no certificationInfo, no sensor
// exception, no empty list, no value that only looks like a number, no
// SSCC as an EPC URI.
type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rand.New(rand.NewPCG(seed, 18))} }

func (g *gen) digits(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(byte('0' + g.r.IntN(10)))
	}
	return b.String()
}

func (g *gen) word() string {
	const letters = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
	n := 1 + g.r.IntN(8)
	var b strings.Builder
	b.WriteByte(letters[g.r.IntN(len(letters))])
	for i := 1; i < n; i++ {
		b.WriteByte("abcdefghijkmnopqrstuvwxyz0123456789"[g.r.IntN(35)])
	}
	return b.String()
}

func (g *gen) pick(l ...string) string { return l[g.r.IntN(len(l))] }

// gtin returns a valid GTIN-14 and a company prefix length.
func (g *gen) gtin() (string, int) {
	body := g.digits(13)
	c, _ := CheckDigit(body)
	return body + string(c), 6 + g.r.IntN(7)
}

func (g *gen) gln() (string, int) {
	body := g.digits(12)
	c, _ := CheckDigit(body)
	return body + string(c), 6 + g.r.IntN(7)
}

// epc returns an instance identifier in one of its forms.
func (g *gen) epc() string {
	switch g.r.IntN(4) {
	case 0:
		k, p := g.gtin()
		s, _ := Identifier{AI: "01", Key: k, Serial: g.word(), PrefixLen: p}.EPCURI()
		return s
	case 1:
		k, _ := g.gtin()
		return g.pick("https://id.gs1.org", "https://example.com", "https://dl.example.org/some/path") + "/01/" + k + "/21/" + g.word()
	case 2:
		body := g.digits(17)
		c, _ := CheckDigit(body)
		// The Digital Link form only: epcis2.js 2.7.3 converts an SSCC
		// EPC URI wrongly (the extension digit twice, 19 digits).
		return Identifier{AI: "00", Key: body + string(c)}.DigitalLink()
	}
	return "https://coldtrace.example/t/" + g.word()
}

func (g *gen) class() string {
	k, p := g.gtin()
	if g.r.IntN(2) == 0 {
		s, _ := Identifier{AI: "01", Key: k, Lot: g.word(), PrefixLen: p}.EPCURI()
		return s
	}
	return "https://id.gs1.org/01/" + k + "/10/" + g.word()
}

func (g *gen) location() string {
	k, p := g.gln()
	id := Identifier{AI: "414", Key: k, PrefixLen: p}
	if g.r.IntN(2) == 0 {
		id.Ext = g.word()
	}
	if g.r.IntN(2) == 0 {
		s, _ := id.EPCURI()
		return s
	}
	return id.DigitalLink()
}

func (g *gen) time() (string, string) {
	t := time.Date(2020+g.r.IntN(6), time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60), g.r.IntN(1000)*int(time.Millisecond), time.UTC)
	off := g.pick("+08:00", "-05:00", "+00:00", "+05:30")
	h, m := 0, 0
	fmt.Sscanf(off[1:], "%d:%d", &h, &m)
	sec := (h*60 + m) * 60
	if off[0] == '-' {
		sec = -sec
	}
	layout := g.pick("2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.9Z07:00")
	return t.In(time.FixedZone("", sec)).Format(layout), off
}

func (g *gen) list(n int, f func() string) []string {
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		if s := f(); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (g *gen) quantities() []map[string]any {
	var out []map[string]any
	for i := 0; i <= g.r.IntN(3); i++ {
		q := map[string]any{"epcClass": g.class()}
		if g.r.IntN(4) > 0 {
			q["quantity"] = float64(g.r.IntN(100000)) / float64([]int{1, 10, 100, 4}[g.r.IntN(4)])
			if g.r.IntN(2) == 0 {
				q["uom"] = g.pick("KGM", "LTR", "CT", "H87")
			}
		}
		out = append(out, q)
	}
	return out
}

var genPrefixes = map[string]string{"ex": "https://ns.example.com/epcis/", "ct": "https://coldtrace.example/voc/"}

// event returns the members of a random event of the given type.
func (g *gen) event(typ string) []Member {
	t, off := g.time()
	ms := []Member{Field("type", typ), Field("eventTime", t), Field("eventTimeZoneOffset", off)}
	maybe := func(name string, f func() any) {
		if g.r.IntN(3) > 0 {
			ms = append(ms, Field(name, f()))
		}
	}
	if g.r.IntN(3) == 0 {
		ms = append(ms, Field("eventID", "urn:uuid:"+fmt.Sprintf("%08x-0000-4000-8000-%012x", g.r.Uint32(), g.r.Uint64()>>16)))
	}
	action := g.pick(ActionAdd, ActionObserve, ActionDelete)
	epcs := func(name string) { ms = append(ms, Field(name, g.list(1+g.r.IntN(3), g.epc))) }
	switch typ {
	case ObjectEvent:
		ms = append(ms, Field("action", action))
		epcs("epcList")
		maybe("quantityList", func() any { return g.quantities() })
	case AggregationEvent, AssociationEvent:
		ms = append(ms, Field("action", action), Field("parentID", g.epc()))
		epcs("childEPCs")
		maybe("childQuantityList", func() any { return g.quantities() })
	case TransactionEvent:
		ms = append(ms, Field("action", action))
		maybe("parentID", func() any { return g.epc() })
		epcs("epcList")
		maybe("quantityList", func() any { return g.quantities() })
	case TransformationEvent:
		epcs("inputEPCList")
		maybe("inputQuantityList", func() any { return g.quantities() })
		epcs("outputEPCList")
		maybe("outputQuantityList", func() any { return g.quantities() })
		maybe("transformationID", func() any { return "urn:uuid:" + g.digits(8) + "-1111-4111-8111-" + g.digits(12) })
	}
	maybe("bizStep", func() any {
		return g.pick("shipping", "receiving", "inspecting", "https://ref.gs1.org/cbv/BizStep-storing", "https://coldtrace.example/voc/disinfecting")
	})
	maybe("disposition", func() any {
		return g.pick("in_transit", "conformant", "non_conformant", "https://ref.gs1.org/cbv/Disp-recalled", "https://coldtrace.example/voc/released")
	})
	if typ != AggregationEvent && typ != AssociationEvent && typ != TransactionEvent {
		maybe("persistentDisposition", func() any {
			return map[string]any{"set": []string{g.pick("completeness_inferred", "recalled")}, "unset": []string{"in_transit"}}
		})
	}
	maybe("readPoint", func() any { return map[string]any{"id": g.location()} })
	maybe("bizLocation", func() any {
		l := map[string]any{"id": g.location()}
		return l
	})
	if typ != TransactionEvent {
		maybe("bizTransactionList", func() any {
			return []map[string]any{{"type": g.pick("po", "inv", "https://coldtrace.example/voc/customs"), "bizTransaction": "urn:epcglobal:cbv:bt:" + g.digits(13) + ":" + g.word()}}
		})
	} else {
		ms = append(ms, Field("bizTransactionList", []map[string]any{{"type": "po", "bizTransaction": "https://coldtrace.example/po/" + g.word()}, {"bizTransaction": "https://coldtrace.example/inv/" + g.word()}}))
	}
	maybe("sourceList", func() any {
		return []map[string]any{{"type": "owning_party", "source": g.location()}, {"type": "location", "source": g.location()}}
	})
	maybe("destinationList", func() any {
		return []map[string]any{{"type": "possessing_party", "destination": g.location()}}
	})
	maybe("sensorElementList", func() any {
		st, _ := g.time()
		return []map[string]any{{
			"sensorMetadata": map[string]any{"time": st, "deviceID": "https://coldtrace.example/device/" + g.word(), "dataProcessingMethod": "https://example.com/method"},
			"sensorReport": []map[string]any{
				{"type": "Temperature", "value": float64(g.r.IntN(400)-300) / 10, "uom": "CEL"},
				{"type": "RelativeHumidity", "minValue": 12.5, "maxValue": 13, "meanValue": 12.75, "uom": "A93", "component": "x"},
				{"type": "Pressure", "stringValue": g.word(), "booleanValue": g.r.IntN(2) == 0, "hexBinaryValue": "0aff"},
			},
			"ex:sensorNote": g.word(),
		}}
	})
	if (typ == ObjectEvent && action == ActionAdd) || typ == TransformationEvent {
		maybe("ilmd", func() any {
			return map[string]any{"ex:bestBefore": "2027-01-01T00:00:00Z", "ex:origin": map[string]any{"ex:country": g.pick("BR", "AR", "NZ"), "ex:plant": g.word()}}
		})
	}
	maybe("ex:temperatureLog", func() any { return map[string]any{"ex:min": -20.5, "ex:max": -18, "ex:unit": "CEL"} })
	maybe("ct:declaration", func() any { return g.word() })
	maybe("ex:tags", func() any { return []any{g.word(), g.word(), 3.25} })
	return ms
}

var eventTypes = []string{ObjectEvent, AggregationEvent, TransformationEvent, TransactionEvent, AssociationEvent}

// document returns n random events and their EPCISDocument.
func (g *gen) document(n int) ([]Event, []byte, error) {
	prefixes := map[string]bool{}
	for k := range genPrefixes {
		prefixes[k] = true
	}
	var evs []Event
	for i := 0; i < n; i++ {
		e, err := NewEvent(prefixes, g.event(eventTypes[i%len(eventTypes)])...)
		if err != nil {
			return nil, nil, fmt.Errorf("generated event %d: %w", i, err)
		}
		evs = append(evs, e)
	}
	doc, err := Encode(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), Header{Prefixes: genPrefixes}, evs)
	return evs, doc, err
}
