package epcis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// The event types of EPCIS 2.0.
const (
	ObjectEvent         = "ObjectEvent"
	AggregationEvent    = "AggregationEvent"
	TransformationEvent = "TransformationEvent"
	TransactionEvent    = "TransactionEvent"
	AssociationEvent    = "AssociationEvent"
)

// The actions of an event.
const (
	ActionAdd     = "ADD"
	ActionObserve = "OBSERVE"
	ActionDelete  = "DELETE"
)

// Context is the URL of the standard's JSON-LD context.
const Context = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

// A Member is one name and value of a JSON object, the value as raw JSON.
type Member struct {
	Name  string
	Value json.RawMessage
}

// Field returns a member whose value is v encoded as JSON; it panics if v
// cannot be encoded, which only a programming error causes.
func Field(name string, v any) Member {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("epcis.Field(%q): %v", name, err))
	}
	return Member{Name: name, Value: b}
}

// An Event is one EPCIS event: the bytes it was decoded from, its members
// in the order they came, and their decoded values for the accessors.
// The zero Event is not valid; get one from Decode, ParseEvent or NewEvent.
type Event struct {
	raw     json.RawMessage
	members []Member
	m       map[string]any // decoded with json.Number
}

// ParseEvent reads one event object and checks it against the schema rules;
// prefixes are the namespace prefixes its document's @context declares.
// A failure is a Problems list whose entries have the index i.
func ParseEvent(raw []byte, i int, prefixes map[string]bool) (Event, error) {
	e, err := parseEvent(raw)
	if err != nil {
		return Event{}, Problems{{Event: i, Msg: err.Error()}}
	}
	if ps := validateEvent(e.m, i, prefixes); len(ps) > 0 {
		return Event{}, ps
	}
	return e, nil
}

func parseEvent(raw []byte) (Event, error) {
	ms, err := objectMembers(raw)
	if err != nil {
		return Event{}, err
	}
	var m map[string]any
	if err := decodeJSON(raw, &m); err != nil {
		return Event{}, err
	}
	return Event{raw: append(json.RawMessage(nil), raw...), members: ms, m: m}, nil
}

// NewEvent builds an event from members in the order given and checks it
// against the schema rules, with no namespace prefix declared but the
// standard ones and those in prefixes.
func NewEvent(prefixes map[string]bool, members ...Member) (Event, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		n, _ := json.Marshal(m.Name)
		b.Write(n)
		b.WriteByte(':')
		b.Write(m.Value)
	}
	b.WriteByte('}')
	return ParseEvent(b.Bytes(), 0, prefixes)
}

func decodeJSON(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// objectMembers lists the members of a JSON object in order, rejecting
// duplicate names (the schema's JSON cannot say which one counts).
func objectMembers(raw []byte) ([]Member, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	if t != json.Delim('{') {
		return nil, errors.New("must be a JSON object")
	}
	var ms []Member
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		name := t.(string)
		if seen[name] {
			return nil, fmt.Errorf("member %q appears twice", name)
		}
		seen[name] = true
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, Member{Name: name, Value: v})
	}
	if _, err := d.Token(); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err == nil {
		return nil, errors.New("data after the JSON object")
	}
	return ms, nil
}

// Raw returns the event's bytes as decoded (or as built).
func (e Event) Raw() json.RawMessage { return e.raw }

// MarshalJSON returns the event's bytes.
func (e Event) MarshalJSON() ([]byte, error) {
	if e.raw == nil {
		return nil, errors.New("epcis: zero Event")
	}
	return e.raw, nil
}

// Members returns the event's members in their order.
func (e Event) Members() []Member { return e.members }

// Get returns the raw value of a member (a user extension, say).
func (e Event) Get(name string) (json.RawMessage, bool) {
	for _, m := range e.members {
		if m.Name == name {
			return m.Value, true
		}
	}
	return nil, false
}

// Extensions returns the user extension members (namespaced names).
func (e Event) Extensions() []Member {
	var out []Member
	for _, m := range e.members {
		if strings.Contains(m.Name, ":") && m.Name != "@context" {
			out = append(out, m)
		}
	}
	return out
}

func (e Event) str(name string) string {
	s, _ := e.m[name].(string)
	return s
}

func (e Event) obj(name string) map[string]any {
	o, _ := e.m[name].(map[string]any)
	return o
}

func strList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// Type returns the event type ("ObjectEvent"...).
func (e Event) Type() string { return e.str("type") }

// ID returns the eventID, "" if none.
func (e Event) ID() string { return e.str("eventID") }

// Action returns ADD, OBSERVE or DELETE ("" for a TransformationEvent).
func (e Event) Action() string { return e.str("action") }

// Time returns the eventTime.
func (e Event) Time() time.Time { t, _ := parseTime(e.str("eventTime")); return t }

// TimeZoneOffset returns the eventTimeZoneOffset ("+08:00").
func (e Event) TimeZoneOffset() string { return e.str("eventTimeZoneOffset") }

// RecordTime returns the recordTime, zero if the event has none.
func (e Event) RecordTime() time.Time { t, _ := parseTime(e.str("recordTime")); return t }

// BizStep returns the business step as sent ("" if none).
func (e Event) BizStep() string { return e.str("bizStep") }

// Disposition returns the disposition as sent ("" if none).
func (e Event) Disposition() string { return e.str("disposition") }

// ReadPoint returns the readPoint's id ("" if none).
func (e Event) ReadPoint() string { s, _ := e.obj("readPoint")["id"].(string); return s }

// BizLocation returns the bizLocation's id ("" if none).
func (e Event) BizLocation() string { s, _ := e.obj("bizLocation")["id"].(string); return s }

// ParentID returns the parentID ("" if none).
func (e Event) ParentID() string { return e.str("parentID") }

// EPCList returns epcList.
func (e Event) EPCList() []string { return strList(e.m["epcList"]) }

// ChildEPCs returns childEPCs.
func (e Event) ChildEPCs() []string { return strList(e.m["childEPCs"]) }

// InputEPCs returns inputEPCList.
func (e Event) InputEPCs() []string { return strList(e.m["inputEPCList"]) }

// OutputEPCs returns outputEPCList.
func (e Event) OutputEPCs() []string { return strList(e.m["outputEPCList"]) }

// A Quantity is one element of a quantity list.
type Quantity struct {
	EPCClass string   `json:"epcClass"`
	Quantity *float64 `json:"quantity,omitempty"`
	UOM      string   `json:"uom,omitempty"`
}

func quantities(v any) []Quantity {
	l, _ := v.([]any)
	var out []Quantity
	for _, x := range l {
		o, _ := x.(map[string]any)
		q := Quantity{}
		q.EPCClass, _ = o["epcClass"].(string)
		q.UOM, _ = o["uom"].(string)
		if n, ok := o["quantity"].(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				q.Quantity = &f
			}
		}
		out = append(out, q)
	}
	return out
}

// QuantityList returns quantityList.
func (e Event) QuantityList() []Quantity { return quantities(e.m["quantityList"]) }

// ChildQuantityList returns childQuantityList.
func (e Event) ChildQuantityList() []Quantity { return quantities(e.m["childQuantityList"]) }

// InputQuantityList returns inputQuantityList.
func (e Event) InputQuantityList() []Quantity { return quantities(e.m["inputQuantityList"]) }

// OutputQuantityList returns outputQuantityList.
func (e Event) OutputQuantityList() []Quantity { return quantities(e.m["outputQuantityList"]) }

// A Typed is an element of bizTransactionList, sourceList or destinationList:
// a value and its type.
type Typed struct {
	Type  string
	Value string
}

func typedList(v any, key string) []Typed {
	l, _ := v.([]any)
	var out []Typed
	for _, x := range l {
		o, _ := x.(map[string]any)
		t, _ := o["type"].(string)
		s, _ := o[key].(string)
		out = append(out, Typed{Type: t, Value: s})
	}
	return out
}

// BizTransactions returns bizTransactionList.
func (e Event) BizTransactions() []Typed {
	return typedList(e.m["bizTransactionList"], "bizTransaction")
}

// Sources returns sourceList.
func (e Event) Sources() []Typed { return typedList(e.m["sourceList"], "source") }

// Destinations returns destinationList.
func (e Event) Destinations() []Typed { return typedList(e.m["destinationList"], "destination") }

// CertificationInfo returns the certificationInfo URIs (one or a list).
func (e Event) CertificationInfo() []string {
	if s, ok := e.m["certificationInfo"].(string); ok {
		return []string{s}
	}
	return strList(e.m["certificationInfo"])
}

// HasErrorDeclaration reports whether the event declares an error.
func (e Event) HasErrorDeclaration() bool { return e.m["errorDeclaration"] != nil }

// CorrectiveEventIDs returns the errorDeclaration's correctiveEventIDs.
func (e Event) CorrectiveEventIDs() []string {
	return strList(e.obj("errorDeclaration")["correctiveEventIDs"])
}

// AllEPCs returns every instance-level identifier the event names: epcList,
// parentID, childEPCs, inputEPCList and outputEPCList.
func (e Event) AllEPCs() []string {
	var out []string
	out = append(out, e.EPCList()...)
	if p := e.ParentID(); p != "" {
		out = append(out, p)
	}
	out = append(out, e.ChildEPCs()...)
	out = append(out, e.InputEPCs()...)
	return append(out, e.OutputEPCs()...)
}

// AllEPCClasses returns the EPC classes of every quantity list.
func (e Event) AllEPCClasses() []string {
	var out []string
	for _, l := range [][]Quantity{e.QuantityList(), e.ChildQuantityList(), e.InputQuantityList(), e.OutputQuantityList()} {
		for _, q := range l {
			out = append(out, q.EPCClass)
		}
	}
	return out
}

// With returns a copy of the event with a member set (replaced in place, or
// appended at the end); the bytes of the other members are kept.
func (e Event) With(m Member) Event {
	ms := append([]Member(nil), e.members...)
	found := false
	for i := range ms {
		if ms[i].Name == m.Name {
			ms[i], found = m, true
		}
	}
	if !found {
		ms = append(ms, m)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		n, _ := json.Marshal(x.Name)
		b.Write(n)
		b.WriteByte(':')
		b.Write(x.Value)
	}
	b.WriteByte('}')
	out, err := parseEvent(b.Bytes())
	if err != nil {
		panic("epcis: With produced bad JSON: " + err.Error())
	}
	return out
}
