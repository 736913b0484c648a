package epcis

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The CBV 2.0 event hash (the "EPCIS Event Hash ID" of CBV 2.0; the
// algorithm is the one described in the README of GS1's reference
// implementation, epcis-event-hash-generator). The pre-hash string is the
// event's values in the canonical property order, each "name=value", with
// no separators; lists sorted; CBV words, CURIEs and EPC URIs expanded to
// their Web URI and canonical GS1 Digital Link forms; timestamps in UTC with
// milliseconds; user extensions as "{namespace}local=value", sorted, last.
//
// Choices where the description leaves room, and where the two public
// implementations disagree:
//   - certificationInfo is not hashed (it is not in the canonical property
//     order; the Python reference leaves it out, epcis2.js hashes it);
//   - a sensor report's exception word expands to the GS1 Web Vocabulary
//     term https://gs1.org/voc/SensorAlertType-<WORD> (epcis2.js writes
//     https://gs1.org/voc/<WORD>);
//   - an empty list is left out, as rule 4 says (epcis2.js writes
//     "undefined").
// epcis2.js 2.7.3 also converts an SSCC EPC URI to a 19-digit Digital Link
// (the extension digit twice); this package writes the 18-digit SSCC of the
// Tag Data Standard; and it hashes as a timestamp any string that V8's
// lenient Date.parse reads as a date ("https://x.example/truck/ZJA12345"),
// where this package takes only RFC 3339 date-times. The tests compare HashID with epcis2.js's
// eventToHashedId on generated events that avoid these points.

// canonicalOrder is the canonical property order after eventType.
var canonicalOrder = []string{
	"eventTime", "eventTimeZoneOffset", "epcList", "parentID", "inputEPCList", "childEPCs",
	"quantityList", "childQuantityList", "inputQuantityList", "outputEPCList", "outputQuantityList",
	"action", "transformationID", "bizStep", "disposition", "persistentDisposition", "readPoint",
	"bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList", "ilmd",
}

// notHashed are the members the hash leaves out: those a repository adds or
// that do not describe what happened.
var notHashed = map[string]bool{"type": true, "recordTime": true, "eventID": true, "errorDeclaration": true, "@context": true, "certificationInfo": true}

var sensorMetadataOrder = []string{"time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules"}
var sensorReportOrder = []string{"type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time", "microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue", "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue", "uom", "coordinateReferenceSystem"}

// HashID returns the event's CBV 2.0 event hash ID,
// ni:///sha-256;<hex>?ver=CBV2.0. prefixes are the namespace prefixes of
// the event's document (Document.Prefixes); the standard's are always known.
func HashID(e Event, prefixes map[string]string) (string, error) {
	pre, err := PreHash(e, prefixes)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(pre))
	return "ni:///sha-256;" + hex.EncodeToString(sum[:]) + "?ver=CBV2.0", nil
}

// PreHash returns the canonical pre-hash string of the event.
func PreHash(e Event, prefixes map[string]string) (string, error) {
	h := hasher{ns: map[string]string{}}
	for k, v := range standardContext {
		h.ns[k] = v
	}
	for k, v := range prefixes {
		h.ns[k] = v
	}
	var b strings.Builder
	b.WriteString(h.field("eventType", e.m["type"]))
	var custom []string
	for _, k := range canonicalOrder {
		v, ok := e.m[k]
		if !ok {
			continue
		}
		s, cf := h.standard(k, v)
		b.WriteString(s)
		custom = append(custom, cf...)
	}
	for _, k := range sortedKeys(e.m) {
		if notHashed[k] || contains(canonicalOrder, k) {
			continue
		}
		custom = append(custom, h.custom(k, e.m[k]))
	}
	b.WriteString(sorted(custom))
	if h.err != nil {
		return "", h.err
	}
	return b.String(), nil
}

type hasher struct {
	ns  map[string]string
	err error
}

func sorted(l []string) string {
	sort.Strings(l)
	return strings.Join(l, "")
}

// value writes a scalar in its canonical form.
func (h *hasher) value(v any) string {
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if t, err := parseTime(s); err == nil {
			return t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
		}
		return expandURI(s)
	case json.Number:
		return jsNumber(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

// expandURI turns an EPC URI, an EPC class URI or a Digital Link into the
// constrained canonical Digital Link and a CBV URN into its Web URI.
func expandURI(s string) string {
	if strings.HasPrefix(s, "urn:epcglobal:cbv:") {
		for v := range vocabs {
			if x := Vocab(v).Expand(s); x != s {
				return x
			}
		}
		return s
	}
	return CanonicalEPC(s)
}

// jsNumber writes a number as ECMAScript's Number::toString does (no
// trailing zeros, no exponent between 1e-7 and 1e21).
func jsNumber(n json.Number) string {
	f, err := n.Float64()
	if err != nil {
		return n.String()
	}
	if f == 0 {
		return "0"
	}
	if a := math.Abs(f); a >= 1e21 || a < 1e-6 {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		e, _ := strconv.Atoi(exp)
		if e >= 0 {
			return mant + "e+" + strconv.Itoa(e)
		}
		return mant + "e-" + strconv.Itoa(-e)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func (h *hasher) field(name string, v any) string { return name + "=" + h.value(v) }

// ordered writes the members of o in the given order and returns the
// user extension strings of o apart.
func (h *hasher) ordered(o map[string]any, order []string, expand func(k string, v any) any) (string, []string) {
	var b strings.Builder
	for _, k := range order {
		if v, ok := o[k]; ok {
			if expand != nil {
				v = expand(k, v)
			}
			b.WriteString(h.field(k, v))
		}
	}
	var custom []string
	for _, k := range sortedKeys(o) {
		if !contains(order, k) {
			custom = append(custom, h.custom(k, o[k]))
		}
	}
	return b.String(), custom
}

func vocabExpander(voc Vocab, key string) func(string, any) any {
	return func(k string, v any) any {
		if s, ok := v.(string); ok && k == key {
			return voc.Expand(s)
		}
		return v
	}
}

// standard writes one member of the canonical order.
func (h *hasher) standard(k string, v any) (string, []string) {
	switch k {
	case "epcList", "inputEPCList", "childEPCs", "outputEPCList":
		l, _ := v.([]any)
		if len(l) == 0 {
			return "", nil
		}
		var items []string
		for _, x := range l {
			items = append(items, h.field("epc", x))
		}
		return k + sorted(items), nil
	case "quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList":
		l, _ := v.([]any)
		if len(l) == 0 {
			return "", nil
		}
		var items []string
		for _, x := range l {
			o, _ := x.(map[string]any)
			s, _ := h.ordered(o, []string{"epcClass", "quantity", "uom"}, nil)
			items = append(items, "quantityElement"+s)
		}
		return k + sorted(items), nil
	case "bizStep":
		return h.field(k, BizStep.Expand(v.(string))), nil
	case "disposition":
		return h.field(k, Disposition.Expand(v.(string))), nil
	case "persistentDisposition":
		o, _ := v.(map[string]any)
		s := k
		for _, sk := range []string{"set", "unset"} {
			var items []string
			for _, d := range strListAny(o[sk]) {
				items = append(items, h.field(sk, Disposition.Expand(d)))
			}
			s += sorted(items)
		}
		return s, nil
	case "readPoint", "bizLocation":
		o, _ := v.(map[string]any)
		s, custom := h.ordered(o, []string{"id"}, nil)
		if len(custom) > 0 {
			return k + s, []string{k + sorted(custom)}
		}
		return k + s, nil
	case "bizTransactionList", "sourceList", "destinationList":
		key, voc := "bizTransaction", BizTransactionType
		if k != "bizTransactionList" {
			key, voc = strings.TrimSuffix(k, "List"), SourceDestType
		}
		l, _ := v.([]any)
		if len(l) == 0 {
			return "", nil
		}
		var items []string
		for _, x := range l {
			o, _ := x.(map[string]any)
			s, _ := h.ordered(o, []string{"type", key}, vocabExpander(voc, "type"))
			items = append(items, s)
		}
		return k + sorted(items), nil
	case "sensorElementList":
		return h.sensorElements(v)
	case "ilmd":
		o, _ := v.(map[string]any)
		return "ilmd" + h.children(o), nil
	}
	return h.field(k, v), nil
}

func strListAny(v any) []string { return strList(v) }

func (h *hasher) sensorElements(v any) (string, []string) {
	l, _ := v.([]any)
	if len(l) == 0 {
		return "", nil
	}
	var items, listCustom []string
	for _, x := range l {
		el, _ := x.(map[string]any)
		var s strings.Builder
		var custom []string
		if md, ok := el["sensorMetadata"].(map[string]any); ok {
			ms, mc := h.ordered(md, sensorMetadataOrder, nil)
			s.WriteString("sensorMetadata" + ms)
			if len(mc) > 0 {
				custom = append(custom, "sensorMetadata"+sorted(mc))
			}
		}
		var reports []string
		for _, r := range anyList(el["sensorReport"]) {
			ro, _ := r.(map[string]any)
			rs, rc := h.ordered(ro, sensorReportOrder, expandReport)
			reports = append(reports, "sensorReport"+rs)
			if len(rc) > 0 {
				custom = append(custom, "sensorReport"+sorted(rc))
			}
		}
		s.WriteString(sorted(reports))
		for _, k := range sortedKeys(el) {
			if k != "sensorMetadata" && k != "sensorReport" {
				custom = append(custom, h.custom(k, el[k]))
			}
		}
		items = append(items, "sensorElement"+s.String())
		if len(custom) > 0 {
			listCustom = append(listCustom, "sensorElement"+sorted(custom))
		}
	}
	var out []string
	if len(listCustom) > 0 {
		out = []string{"sensorElementList" + sorted(listCustom)}
	}
	return "sensorElementList" + sorted(items), out
}

func anyList(v any) []any { l, _ := v.([]any); return l }

// expandReport expands the bare words of a sensor report.
func expandReport(k string, v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	switch k {
	case "type":
		if isWord(s) {
			return "https://gs1.org/voc/" + s
		}
	case "exception":
		if isWord(s) {
			return "https://gs1.org/voc/SensorAlertType-" + s
		}
	case "component":
		if contains(components, s) {
			return "https://ref.gs1.org/cbv/Comp-" + s
		}
	}
	if strings.HasPrefix(s, "gs1:") {
		return "https://gs1.org/voc/" + s[4:]
	}
	return v
}

// children writes the members of an extension object, sorted.
func (h *hasher) children(o map[string]any) string {
	var items []string
	for _, k := range sortedKeys(o) {
		items = append(items, h.custom(k, o[k]))
	}
	return sorted(items)
}

// custom writes one user extension member: "{namespace}local=value", an
// object as its name followed by its members, a list as one entry per item.
func (h *hasher) custom(k string, v any) string {
	if k == "rdfs:comment" || strings.HasPrefix(k, "@xmlns") {
		return ""
	}
	name := k
	if strings.HasPrefix(k, "#") {
		return "=" + h.value(v)
	}
	if i := strings.IndexByte(k, ':'); i > 0 {
		if strings.HasPrefix(k[i:], "://") {
			j := strings.LastIndexAny(k, "/#")
			name = "{" + k[:j+1] + "}" + k[j+1:]
		} else if ns, ok := h.ns[k[:i]]; ok {
			name = "{" + ns + "}" + k[i+1:]
		} else if h.err == nil {
			h.err = fmt.Errorf("%s: the namespace prefix %q is not declared", k, k[:i])
		}
	}
	switch x := v.(type) {
	case map[string]any:
		return name + h.children(x)
	case []any:
		var items []string
		for _, it := range x {
			if o, ok := it.(map[string]any); ok {
				items = append(items, name+h.children(o))
			} else {
				items = append(items, h.field(name, it))
			}
		}
		return sorted(items)
	}
	return h.field(name, v)
}
