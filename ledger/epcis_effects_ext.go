package ledger

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"time"

	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
)

// What a captured event's domain effect needs and no standard EPCIS field
// carries is read from coldtrace's extensions (EPCISVocab, prefix ct), as
// the export writes them (api/epcis.go): ct:nucleicAcidTest {ct:samples,
// ct:scope, ct:result}, ct:quantity {ct:grams, ct:pieces}, ct:vehicle
// {ct:plate, ct:carrier}, ct:deadline, ct:method, ct:channel. A member that
// is wrong, or missing where the effect needs it, refuses the event with a
// problem naming its path (ct:nucleicAcidTest.ct:samples).

// ctExt reads the coldtrace extensions of one captured event under the
// prefix its document declared, collecting problems by member path.
type ctExt struct {
	e  epcis.Event
	ct string
	fe fault.Fields
}

func (x *ctExt) term(t string) string { return x.ct + ":" + t }

// A ctObj is an extension object member, by path.
type ctObj struct {
	x    *ctExt
	path string
	m    map[string]json.RawMessage
}

// obj returns the extension object member t, nil when it is absent (a
// problem when required) or not an object (a problem).
func (x *ctExt) obj(t string, required bool) *ctObj {
	raw, ok := x.e.Get(x.term(t))
	return x.objOf(x.term(t), raw, ok, required)
}

func (x *ctExt) objOf(path string, raw json.RawMessage, ok, required bool) *ctObj {
	if !ok || string(raw) == "null" {
		if required {
			x.fe.Add(path, "is required: coldtrace's vocabulary (%s) says what it holds", EPCISVocab)
		}
		return nil
	}
	o := &ctObj{x: x, path: path}
	if json.Unmarshal(raw, &o.m) != nil {
		x.fe.Add(path, "must be an object")
		return nil
	}
	return o
}

// sub is the path of member t of o.
func (o *ctObj) sub(t string) string {
	if o.path == "" {
		return o.x.term(t)
	}
	return o.path + "." + o.x.term(t)
}

// root is the event itself as an object (members at the top have no path
// prefix).
func (x *ctExt) root() *ctObj {
	o := &ctObj{x: x, m: map[string]json.RawMessage{}}
	for _, m := range x.e.Members() {
		o.m[m.Name] = m.Value
	}
	return o
}

// obj returns the object member t of o (see ctExt.obj).
func (o *ctObj) obj(t string, required bool) *ctObj {
	raw, ok := o.m[o.x.term(t)]
	return o.x.objOf(o.sub(t), raw, ok, required)
}

// list returns the members of the list of objects t of o, nil when it is
// absent (a problem when required) or no list of objects (a problem).
func (o *ctObj) list(t string, required bool) []*ctObj {
	var raws []json.RawMessage
	if !o.get(t, &raws, required, "a list of objects") {
		return nil
	}
	if len(raws) == 0 && required {
		o.x.fe.Add(o.sub(t), "must not be empty")
	}
	out := make([]*ctObj, 0, len(raws))
	for i, raw := range raws {
		if e := o.x.objOf(indexField(o.sub(t), i), raw, true, true); e != nil {
			out = append(out, e)
		}
	}
	return out
}

// str returns the string member t of o ("" when absent; a problem when
// required or not a string).
func (o *ctObj) str(t string, required bool) string {
	var s string
	o.get(t, &s, required, "a string")
	return s
}

// int returns the whole-number member t of o.
func (o *ctObj) int(t string, required bool) (int64, bool) {
	var n json.Number
	if !o.get(t, &n, required, "a number") {
		return 0, false
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1e15 {
		o.x.fe.Add(o.sub(t), "must be a whole number")
		return 0, false
	}
	return int64(f), true
}

// get decodes member t of o into v; false when absent or wrong.
func (o *ctObj) get(t string, v any, required bool, what string) bool {
	path := o.sub(t)
	raw, ok := o.m[o.x.term(t)]
	if !ok || string(raw) == "null" {
		if required {
			o.x.fe.Add(path, "is required")
		}
		return false
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if d.Decode(v) != nil {
		o.x.fe.Add(path, "must be %s", what)
		return false
	}
	return true
}

// word returns extension member t, a word of set, or def when absent.
func (x *ctExt) word(t string, set []string, def string) string {
	raw, ok := x.e.Get(x.term(t))
	if !ok {
		return def
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		x.fe.Add(x.term(t), "must be a string")
		return def
	}
	checkOneOf(&x.fe, x.term(t), s, set, true)
	return s
}

// quantity returns the member ct:quantity of o, nil when it is absent
// (a problem when required).
func (o *ctObj) quantity(required bool) *Quantity {
	q := o.obj("quantity", required)
	if q == nil {
		return nil
	}
	g, ok := q.int("grams", true)
	if !ok {
		return nil
	}
	if g <= 0 || g > 1e12 {
		o.x.fe.Add(q.sub("grams"), "must be a whole number of grams above 0")
		return nil
	}
	p, _ := q.int("pieces", false)
	if p < 0 {
		o.x.fe.Add(q.sub("pieces"), "must not be negative")
	}
	return &Quantity{Grams: g, Pieces: p}
}

// test fills in a tested event's samples and scope from
// ct:nucleicAcidTest, whose ct:result, when present, must agree with the
// disposition.
func (x *ctExt) test(ev *Event) {
	o := x.obj("nucleicAcidTest", true)
	if o == nil {
		return
	}
	if n, ok := o.int("samples", true); ok {
		if n <= 0 || n > 100000 {
			x.fe.Add(o.sub("samples"), "must be the number of samples taken, at least 1")
		}
		ev.Samples = n
	}
	o.get("scope", &ev.Scope, false, "a list of words")
	checkSet(&x.fe, o.sub("scope"), ev.Scope, TestScopes, true)
	if r := o.str("result", false); r != "" && r != ev.Result {
		x.fe.Add(o.sub("result"), "is %s, but the disposition says %s", r, ev.Result)
	}
}

// temperature returns the first temperature in °C that sensorElementList
// reports (a Temperature report in CEL with a value), nil when none.
func (x *ctExt) temperature() *float64 {
	raw, ok := x.e.Get("sensorElementList")
	if !ok {
		return nil
	}
	var els []struct {
		SensorReport []struct {
			Type  string   `json:"type"`
			Value *float64 `json:"value"`
			UOM   string   `json:"uom"`
		} `json:"sensorReport"`
	}
	if json.Unmarshal(raw, &els) != nil {
		return nil
	}
	for _, el := range els {
		for _, r := range el.SensorReport {
			if strings.HasSuffix(r.Type, "Temperature") && r.UOM == "CEL" && r.Value != nil {
				checkTemp(&x.fe, "sensorElementList", r.Value)
				return r.Value
			}
		}
	}
	return nil
}

// shipment fills in a shipped event: the receiving org and site from
// destinationList, temperature, ct:vehicle and ct:deadline.
func (x *ctExt) shipment(ev *Event, find epcisLookup) error {
	for _, d := range x.e.Destinations() {
		switch epcis.SourceDestType.Short(d.Type) {
		case "possessing_party":
			if uscc, ok := urlRef(d.Value, "v1", "orgs"); ok {
				ev.ToOrg = uscc
			}
		case "owning_party":
			if uscc, ok := urlRef(d.Value, "v1", "orgs"); ok && ev.ToOrg == "" {
				ev.ToOrg = uscc
			}
		case "location":
			s, err := epcisSite(d.Value, find)
			if err != nil {
				return err
			}
			if s != nil {
				ev.ToSite = s.ID
			}
		}
	}
	var missing []string
	if !ident.USCCShapeOK(ev.ToOrg) {
		missing = append(missing, "the receiving org as possessing_party (or owning_party), {coldtrace URL}/v1/orgs/{unified social credit code}")
	}
	if ev.ToSite == "" {
		missing = append(missing, "the receiving coldtrace site as location, {coldtrace URL}/v1/sites/{id} or its GLN")
	}
	if len(missing) > 0 {
		x.fe.Add("destinationList", "must name %s", strings.Join(missing, ", and "))
	}
	ev.TemperatureC = x.temperature()
	if o := x.obj("vehicle", false); o != nil {
		ev.Vehicle = o.vehicle()
	}
	if raw, ok := x.e.Get(x.term("deadline")); ok {
		var s string
		t, err := time.Time{}, json.Unmarshal(raw, &s)
		if err == nil {
			t, err = time.Parse(time.RFC3339, s)
		}
		switch {
		case err != nil:
			x.fe.Add(x.term("deadline"), "must be a time as RFC 3339")
		case !t.After(ev.At):
			x.fe.Add(x.term("deadline"), "must be after eventTime")
		default:
			ev.Deadline = &t
		}
	}
	return nil
}

// vehicle reads ct:vehicle {ct:plate, ct:carrier, ct:id}: ct:id is the
// vehicle's EPCIS identifier as the export writes it, its GIAI (a GS1
// Digital Link /8004/{GIAI} on any domain, or urn:epc:id:giai:) or else
// the URI of its plate (VehiclePlateURI), which must name ct:plate.
func (o *ctObj) vehicle() *Vehicle {
	x := o.x
	v := &Vehicle{Plate: o.str("plate", true), Carrier: o.str("carrier", false)}
	if v.Plate != "" && !ident.ValidPlate(v.Plate) {
		x.fe.Add(o.sub("plate"), "is not a Chinese vehicle plate (such as 沪A12345 or 浙AD12345)")
	}
	if v.Carrier != "" && !ident.USCCShapeOK(v.Carrier) {
		x.fe.Add(o.sub("carrier"), "is not a unified social credit code")
	}
	id := o.str("id", false)
	if id == "" {
		return v
	}
	if gs1, err := epcis.ParseIdentifier(id); err == nil && gs1.AI == "8004" {
		v.GIAI = gs1.Key
	} else if id != VehiclePlateURI(v.Plate) {
		x.fe.Add(o.sub("id"), "must be the vehicle's GS1 GIAI (https://id.gs1.org/8004/{GIAI} or urn:epc:id:giai:…) or the URI of its plate, %s{plate}", vehiclePlateNS)
	}
	return v
}
