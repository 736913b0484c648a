package epcis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Document types.
const (
	TypeDocument      = "EPCISDocument"
	TypeQueryDocument = "EPCISQueryDocument"
)

// A Document is a decoded EPCISDocument.
type Document struct {
	Type          string
	SchemaVersion string
	CreationDate  time.Time
	// Context is @context as sent; Prefixes the namespace prefixes it
	// declares (the standard's own included) with their IRIs.
	Context  json.RawMessage
	Prefixes map[string]string
	// Members are the document's top-level members in order, as sent.
	Members []Member
	Events  []Event
}

var documentMembers = []string{"@context", "id", "type", "schemaVersion", "creationDate", "instanceIdentifier", "sender", "receiver", "epcisHeader", "epcisBody"}

// standardContext maps the standard context's prefixes to their IRIs.
var standardContext = map[string]string{
	"epcis": "https://ref.gs1.org/epcis/", "cbv": "https://ref.gs1.org/cbv/", "cbvmda": "urn:epcglobal:cbv:mda:",
	"gs1": "https://gs1.org/voc/", "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "owl": "http://www.w3.org/2002/07/owl#",
	"xsd": "http://www.w3.org/2001/XMLSchema#", "dcterms": "http://purl.org/dc/terms/",
}

// StandardPrefixes returns the prefixes the standard's context declares,
// with their IRIs.
func StandardPrefixes() map[string]string { return maps.Clone(standardContext) }

// Decode reads an EPCISDocument (or EPCISQueryDocument) in JSON or JSON-LD
// and checks it and each of its events against the standard's schema rules.
// A failure is a Problems list naming each event by its index.
func Decode(data []byte) (*Document, error) {
	doc := &Document{Prefixes: map[string]string{}}
	docProblem := func(field, format string, args ...any) error {
		return Problems{{Event: -1, Field: field, Msg: fmt.Sprintf(format, args...)}}
	}
	ms, err := objectMembers(data)
	if err != nil {
		return nil, docProblem("", "not a JSON object: %v", err)
	}
	doc.Members = ms
	top := map[string]json.RawMessage{}
	for _, m := range ms {
		top[m.Name] = m.Value
	}
	for k, v := range standardContext {
		doc.Prefixes[k] = v
	}
	var ps Problems
	add := func(field, format string, args ...any) {
		ps = append(ps, &Problem{Event: -1, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if ctx, ok := top["@context"]; !ok {
		add("@context", "is required")
	} else {
		doc.Context = ctx
		if err := readContext(ctx, doc.Prefixes); err != nil {
			add("@context", "%v", err)
		}
	}
	prefixes := map[string]bool{}
	for k := range doc.Prefixes {
		prefixes[k] = true
	}
	c := &checker{event: -1, prefixes: prefixes}
	for _, m := range ms {
		if !contains(documentMembers, m.Name) && !c.extensionName(m.Name) {
			add(m.Name, "is not a member of an EPCIS document; a user extension needs a namespace prefix")
		}
	}
	if err := json.Unmarshal(top["type"], &doc.Type); err != nil || (doc.Type != TypeDocument && doc.Type != TypeQueryDocument) {
		add("type", "must be EPCISDocument or EPCISQueryDocument")
	}
	if err := json.Unmarshal(top["schemaVersion"], &doc.SchemaVersion); err != nil || !versionRE.MatchString(doc.SchemaVersion) {
		add("schemaVersion", "is required: a version such as \"2.0\"")
	}
	var created string
	if err := json.Unmarshal(top["creationDate"], &created); err != nil {
		add("creationDate", "is required: an RFC 3339 date-time")
	} else if doc.CreationDate, err = parseTime(created); err != nil {
		add("creationDate", "%v", err)
	}
	for _, k := range []string{"id"} {
		if v, ok := top[k]; ok {
			var s string
			if json.Unmarshal(v, &s) != nil || !IsURI(s) {
				add(k, "must be a URI")
			}
		}
	}
	for _, k := range []string{"instanceIdentifier", "sender", "receiver"} {
		if v, ok := top[k]; ok {
			var s string
			if json.Unmarshal(v, &s) != nil {
				add(k, "must be a string")
			}
		}
	}
	if v, ok := top["epcisHeader"]; ok {
		var h map[string]json.RawMessage
		if json.Unmarshal(v, &h) != nil {
			add("epcisHeader", "must be an object")
		}
	}
	list, path, err := eventList(top["epcisBody"], doc.Type)
	if err != nil {
		add(path, "%v", err)
	}
	if len(ps) > 0 {
		return nil, ps
	}
	for i, raw := range list {
		e, err := ParseEvent(raw, i, prefixes)
		if err != nil {
			ps = append(ps, err.(Problems)...)
			continue
		}
		doc.Events = append(doc.Events, e)
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return doc, nil
}

func eventList(body json.RawMessage, typ string) ([]json.RawMessage, string, error) {
	if body == nil {
		return nil, "epcisBody", fmt.Errorf("is required")
	}
	var b struct {
		EventList    *[]json.RawMessage `json:"eventList"`
		QueryResults *struct {
			ResultsBody struct {
				EventList *[]json.RawMessage `json:"eventList"`
			} `json:"resultsBody"`
		} `json:"queryResults"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, "epcisBody", fmt.Errorf("must be an object with an eventList array")
	}
	if typ == TypeQueryDocument {
		if b.QueryResults == nil || b.QueryResults.ResultsBody.EventList == nil {
			return nil, "epcisBody.queryResults.resultsBody.eventList", fmt.Errorf("is required")
		}
		return *b.QueryResults.ResultsBody.EventList, "", nil
	}
	if b.EventList == nil {
		return nil, "epcisBody.eventList", fmt.Errorf("is required")
	}
	return *b.EventList, "", nil
}

// readContext reads the prefixes @context declares: a URI, an object of
// prefix definitions, or a list of those.
func readContext(raw json.RawMessage, into map[string]string) error {
	var v any
	if err := decodeJSON(raw, &v); err != nil {
		return err
	}
	items, isList := v.([]any)
	if !isList {
		items = []any{v}
	}
	seen := map[string]bool{}
	for _, it := range items {
		switch x := it.(type) {
		case string:
			if !IsURI(x) {
				return fmt.Errorf("%q is not a URI", x)
			}
			if seen[x] {
				return fmt.Errorf("%q appears twice", x)
			}
			seen[x] = true
		case map[string]any:
			for k, iri := range x {
				if s, ok := iri.(string); ok && !strings.HasPrefix(k, "@") {
					into[k] = s
				}
			}
		default:
			return fmt.Errorf("must be a URI, an object or a list of them")
		}
	}
	return nil
}

// A Header is what Encode writes around the events.
type Header struct {
	// Prefixes are the namespaces of the user extensions the events use,
	// written into @context beside the standard context.
	Prefixes map[string]string
	// InstanceIdentifier names the document, if not "".
	InstanceIdentifier string
	Sender, Receiver   string
	// QueryName, if set, makes the document an EPCISQueryDocument that
	// answers the query of that name (SimpleEventQuery for the events
	// resource).
	QueryName string
	// SubscriptionID names the subscription an EPCISQueryDocument is
	// delivered to, if not "".
	SubscriptionID string
}

// Encode writes an EPCISDocument (or, with h.QueryName, an
// EPCISQueryDocument) of the events, created at the given time.
func Encode(created time.Time, h Header, events []Event) ([]byte, error) {
	ctx := []any{Context}
	if len(h.Prefixes) > 0 {
		ctx = append(ctx, h.Prefixes)
	}
	var b bytes.Buffer
	b.WriteString("{")
	write := func(name string, v any) error {
		if b.Len() > 1 {
			b.WriteString(",")
		}
		n, _ := json.Marshal(name)
		b.Write(n)
		b.WriteString(":")
		val, err := json.Marshal(v)
		b.Write(val)
		return err
	}
	write("@context", ctx)
	if h.QueryName != "" {
		write("type", TypeQueryDocument)
	} else {
		write("type", TypeDocument)
	}
	write("schemaVersion", "2.0")
	write("creationDate", created.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	if h.InstanceIdentifier != "" {
		write("instanceIdentifier", h.InstanceIdentifier)
	}
	if h.Sender != "" {
		write("sender", h.Sender)
	}
	if h.Receiver != "" {
		write("receiver", h.Receiver)
	}
	if h.QueryName != "" {
		n, _ := json.Marshal(h.QueryName)
		b.WriteString(`,"epcisBody":{"queryResults":{"queryName":`)
		b.Write(n)
		if h.SubscriptionID != "" {
			id, _ := json.Marshal(h.SubscriptionID)
			b.WriteString(`,"subscriptionID":`)
			b.Write(id)
		}
		b.WriteString(`,"resultsBody":{"eventList":[`)
	} else {
		b.WriteString(`,"epcisBody":{"eventList":[`)
	}
	for i, e := range events {
		if e.raw == nil {
			return nil, fmt.Errorf("event %d: zero Event", i)
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.Write(e.raw)
	}
	b.WriteString("]}}")
	if h.QueryName != "" {
		b.WriteString("}}")
	}
	return b.Bytes(), nil
}
