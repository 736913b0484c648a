package epcis

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// A Problem is one way a document breaks the standard's rules: the event
// (its index in eventList, -1 for the document itself) and the field, as a
// path inside the event ("quantityList[1].uom"; "" for the whole event).
type Problem struct {
	Event int
	Field string
	Msg   string
}

func (p *Problem) Error() string {
	where := "document"
	if p.Event >= 0 {
		where = fmt.Sprintf("event %d", p.Event)
	}
	if p.Field != "" {
		where += ": " + p.Field
	}
	return where + ": " + p.Msg
}

// Problems is every problem found in a document, in document order.
type Problems []*Problem

func (ps Problems) Error() string {
	if len(ps) == 1 {
		return ps[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems: ", len(ps))
	for i, p := range ps {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Error())
	}
	return b.String()
}

// DefaultPrefixes are the namespace prefixes the standard's JSON-LD context
// declares.
var DefaultPrefixes = []string{"epcis", "cbv", "cbvmda", "gs1", "rdfs", "owl", "xsd", "dcterms"}

var (
	uriRE      = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20"<>\\^` + "`" + `{|}\x7f]+$`)
	dateTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$`)
	offsetRE   = regexp.MustCompile(`^[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)$`)
	uomRE      = regexp.MustCompile(`^[A-Z0-9]{2,3}$`)
	hexRE      = regexp.MustCompile(`^[A-Fa-f0-9]+$`)
	versionRE  = regexp.MustCompile(`^\d+(\.\d+)*$`)
	percentRE  = regexp.MustCompile(`%([^0-9A-Fa-f]|.[^0-9A-Fa-f]|.?$)`)
)

// IsURI reports whether s has the form of an absolute URI (RFC 3986).
func IsURI(s string) bool { return uriRE.MatchString(s) && !percentRE.MatchString(s) }

func parseTime(s string) (time.Time, error) {
	if !dateTimeRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date-time", s)
	}
	return time.Parse(time.RFC3339Nano, strings.ToUpper(s))
}

// otherVocabURI is a URI outside the standard vocabularies' URN and legacy
// namespaces: the form a user vocabulary term takes (JSON schema
// "vocab-other-uri").
func otherVocabURI(s string) bool {
	return IsURI(s) && !strings.HasPrefix(s, "urn:epcglobal:cbv") &&
		!strings.HasPrefix(s, "http://ns.gs1.org/cbv/") && !strings.HasPrefix(s, "https://ns.gs1.org/cbv/")
}

// checker collects the problems of one event.
type checker struct {
	event    int
	prefixes map[string]bool
	ps       Problems
}

func (c *checker) add(field, format string, args ...any) {
	c.ps = append(c.ps, &Problem{Event: c.event, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// extensionName reports whether name is a user extension: "prefix:local"
// with a declared prefix, or an absolute IRI.
func (c *checker) extensionName(name string) bool {
	i := strings.IndexByte(name, ':')
	if i <= 0 || i == len(name)-1 {
		return false
	}
	if strings.HasPrefix(name[i:], "://") {
		return IsURI(name)
	}
	return c.prefixes[name[:i]]
}

// names checks that every member of o is allowed or a user extension.
func (c *checker) names(path string, o map[string]any, allowed ...string) {
	for _, name := range sortedKeys(o) {
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		if ok || c.extensionName(name) {
			continue
		}
		if strings.Contains(name, ":") {
			c.add(join(path, name), "the namespace prefix is not declared in @context")
		} else {
			c.add(join(path, name), "is not a member of this object; a user extension needs a namespace prefix")
		}
	}
}

// closed checks that o has only the given members.
func (c *checker) closed(path string, o map[string]any, allowed ...string) {
	for _, name := range sortedKeys(o) {
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		if !ok {
			c.add(join(path, name), "is not a member of this object")
		}
	}
}

func (c *checker) uri(path string, v any) {
	s, ok := v.(string)
	if !ok {
		c.add(path, "must be a string")
	} else if !IsURI(s) {
		c.add(path, "%q is not an absolute URI", s)
	}
}

func (c *checker) time(path string, v any) {
	s, ok := v.(string)
	if !ok {
		c.add(path, "must be a string")
	} else if _, err := parseTime(s); err != nil {
		c.add(path, "%q is not an RFC 3339 date-time", s)
	}
}

func (c *checker) number(path string, v any) {
	if _, ok := v.(json.Number); !ok {
		c.add(path, "must be a number")
	}
}

func (c *checker) vocab(path string, v any, voc Vocab) {
	s, ok := v.(string)
	switch {
	case !ok:
		c.add(path, "must be a string")
	case voc.IsWord(s), otherVocabURI(s):
	default:
		c.add(path, "%q is neither a CBV 2.0 term nor a URI outside the CBV namespaces", s)
	}
}

func (c *checker) object(path string, v any) (map[string]any, bool) {
	o, ok := v.(map[string]any)
	if !ok {
		c.add(path, "must be an object")
	}
	return o, ok
}

func (c *checker) array(path string, v any) ([]any, bool) {
	l, ok := v.([]any)
	if !ok {
		c.add(path, "must be an array")
	}
	return l, ok
}

func (c *checker) uriList(path string, v any, unique bool) {
	l, ok := c.array(path, v)
	seen := map[string]bool{}
	for i, x := range l {
		p := fmt.Sprintf("%s[%d]", path, i)
		c.uri(p, x)
		if s, ok := x.(string); ok && unique {
			if seen[s] {
				c.add(p, "%q appears twice", s)
			}
			seen[s] = true
		}
	}
	_ = ok
}

func (c *checker) quantityList(path string, v any) {
	l, _ := c.array(path, v)
	for i, x := range l {
		p := fmt.Sprintf("%s[%d]", path, i)
		o, ok := c.object(p, x)
		if !ok {
			continue
		}
		c.closed(p, o, "epcClass", "quantity", "uom")
		if cl, ok := o["epcClass"]; ok {
			c.uri(p+".epcClass", cl)
		} else {
			c.add(p+".epcClass", "is required")
		}
		if q, ok := o["quantity"]; ok {
			c.number(p+".quantity", q)
		}
		if u, ok := o["uom"]; ok {
			if s, _ := u.(string); !uomRE.MatchString(s) {
				c.add(p+".uom", "must be a UN/CEFACT Rec. 20 code (2 or 3 capitals or digits)")
			}
		}
	}
}

func (c *checker) typedList(path string, v any, key string, voc Vocab, typeRequired bool) {
	l, _ := c.array(path, v)
	for i, x := range l {
		p := fmt.Sprintf("%s[%d]", path, i)
		o, ok := c.object(p, x)
		if !ok {
			continue
		}
		c.closed(p, o, "type", key)
		if t, ok := o["type"]; ok {
			c.vocab(p+".type", t, voc)
		} else if typeRequired {
			c.add(p+".type", "is required")
		}
		if s, ok := o[key]; ok {
			c.uri(p+"."+key, s)
		} else {
			c.add(p+"."+key, "is required")
		}
	}
}

func (c *checker) location(path string, v any) {
	o, ok := c.object(path, v)
	if !ok {
		return
	}
	c.names(path, o, "id")
	if id, ok := o["id"]; ok {
		c.uri(path+".id", id)
	} else {
		c.add(path+".id", "is required")
	}
}

var (
	metadataTimes = []string{"time", "startTime", "endTime"}
	metadataURIs  = []string{"deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules"}
	reportURIs    = []string{"deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "microorganism", "chemicalSubstance", "coordinateReferenceSystem", "uriValue"}
	reportNumbers = []string{"value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"}
	components    = []string{"x", "y", "z", "axial_distance", "azimuth", "height", "spherical_radius", "polar_angle", "elevation_angle", "easting", "northing", "latitude", "longitude", "altitude"}
)

func (c *checker) sensorElements(path string, v any) {
	l, _ := c.array(path, v)
	for i, x := range l {
		p := fmt.Sprintf("%s[%d]", path, i)
		o, ok := c.object(p, x)
		if !ok {
			continue
		}
		c.names(p, o, "sensorMetadata", "sensorReport")
		if md, ok := o["sensorMetadata"]; ok {
			mp := p + ".sensorMetadata"
			if mo, ok := c.object(mp, md); ok {
				c.names(mp, mo, append(append([]string{}, metadataTimes...), metadataURIs...)...)
				for _, k := range metadataTimes {
					if t, ok := mo[k]; ok {
						c.time(mp+"."+k, t)
					}
				}
				for _, k := range metadataURIs {
					if u, ok := mo[k]; ok {
						c.uri(mp+"."+k, u)
					}
				}
			}
		}
		reps, ok := o["sensorReport"]
		if !ok {
			c.add(p+".sensorReport", "is required")
			continue
		}
		rl, _ := c.array(p+".sensorReport", reps)
		if len(rl) == 0 {
			c.add(p+".sensorReport", "must have at least one report")
		}
		for j, r := range rl {
			rp := fmt.Sprintf("%s.sensorReport[%d]", p, j)
			ro, ok := c.object(rp, r)
			if !ok {
				continue
			}
			allowed := []string{"type", "exception", "time", "component", "stringValue", "booleanValue", "hexBinaryValue", "uom"}
			c.names(rp, ro, append(append(allowed, reportURIs...), reportNumbers...)...)
			for _, k := range reportURIs {
				if u, ok := ro[k]; ok {
					c.uri(rp+"."+k, u)
				}
			}
			for _, k := range reportNumbers {
				if n, ok := ro[k]; ok {
					c.number(rp+"."+k, n)
				}
			}
			if t, ok := ro["time"]; ok {
				c.time(rp+".time", t)
			}
			for _, k := range []string{"type", "exception"} {
				if t, ok := ro[k]; ok {
					s, _ := t.(string)
					// A bare word of the GS1 Web Vocabulary, or a URI outside it.
					if !(isWord(s) || (IsURI(s) && !strings.HasPrefix(s, "https://gs1.org/voc/") && !strings.HasPrefix(s, "http://gs1.org/voc/") && !strings.HasPrefix(s, "https://www.gs1.org/voc/") && !strings.HasPrefix(s, "http://www.gs1.org/voc/"))) {
						c.add(rp+"."+k, "%q is neither a GS1 vocabulary word nor a URI outside gs1.org/voc", s)
					}
				}
			}
			if comp, ok := ro["component"]; ok {
				s, _ := comp.(string)
				if !(contains(components, s) || otherVocabURI(s)) {
					c.add(rp+".component", "%q is neither a CBV component nor a URI", s)
				}
			}
			if s, ok := ro["stringValue"]; ok {
				if _, ok := s.(string); !ok {
					c.add(rp+".stringValue", "must be a string")
				}
			}
			if b, ok := ro["booleanValue"]; ok {
				if _, ok := b.(bool); !ok {
					c.add(rp+".booleanValue", "must be true or false")
				}
			}
			if h, ok := ro["hexBinaryValue"]; ok {
				if s, _ := h.(string); !hexRE.MatchString(s) {
					c.add(rp+".hexBinaryValue", "must be hexadecimal digits")
				}
			}
			if u, ok := ro["uom"]; ok {
				if s, _ := u.(string); !uomRE.MatchString(s) {
					c.add(rp+".uom", "must be a UN/CEFACT Rec. 20 code (2 or 3 capitals or digits)")
				}
			}
		}
	}
}

// isWord is a measurement type or alert type name of the GS1 Web
// Vocabulary as the schema lists them (ASCII letters and underscores).
func isWord(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '_') {
			return false
		}
	}
	return true
}

func sortedKeys(o map[string]any) []string {
	ks := make([]string, 0, len(o))
	for k := range o {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// eventMembers are the members each event type allows, past the common ones.
var eventMembers = map[string][]string{
	ObjectEvent:         {"action", "epcList", "quantityList", "bizStep", "disposition", "persistentDisposition", "readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList", "ilmd"},
	AggregationEvent:    {"parentID", "childEPCs", "childQuantityList", "action", "bizStep", "disposition", "persistentDisposition", "readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList"},
	TransactionEvent:    {"bizTransactionList", "parentID", "epcList", "quantityList", "action", "bizStep", "disposition", "persistentDisposition", "readPoint", "bizLocation", "sourceList", "destinationList", "sensorElementList"},
	TransformationEvent: {"inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList", "transformationID", "bizStep", "disposition", "persistentDisposition", "readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList", "ilmd"},
	AssociationEvent:    {"parentID", "childEPCs", "childQuantityList", "action", "bizStep", "disposition", "persistentDisposition", "readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList", "sensorElementList"},
}

var commonMembers = []string{"@context", "type", "eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "certificationInfo", "errorDeclaration"}

func nonEmpty(m map[string]any, k string) bool {
	l, ok := m[k].([]any)
	return ok && len(l) > 0
}

// validateEvent checks one decoded event against the schema rules.
func validateEvent(m map[string]any, i int, prefixes map[string]bool) Problems {
	c := &checker{event: i, prefixes: prefixes}
	typ, _ := m["type"].(string)
	own, ok := eventMembers[typ]
	if !ok {
		if _, present := m["type"]; !present {
			c.add("type", "is required")
		} else {
			c.add("type", "%v is not one of ObjectEvent, AggregationEvent, TransformationEvent, TransactionEvent, AssociationEvent", m["type"])
		}
		return c.ps
	}
	c.names("", m, append(append([]string{}, commonMembers...), own...)...)

	if t, ok := m["eventTime"]; ok {
		c.time("eventTime", t)
	} else {
		c.add("eventTime", "is required")
	}
	if o, ok := m["eventTimeZoneOffset"]; !ok {
		c.add("eventTimeZoneOffset", "is required")
	} else if s, _ := o.(string); !offsetRE.MatchString(s) {
		c.add("eventTimeZoneOffset", "must be an offset from -14:00 to +14:00 such as +08:00")
	}
	if t, ok := m["recordTime"]; ok {
		c.time("recordTime", t)
	}
	if id, ok := m["eventID"]; ok {
		c.uri("eventID", id)
	}
	if ci, ok := m["certificationInfo"]; ok {
		if _, isList := ci.([]any); isList {
			c.uriList("certificationInfo", ci, false)
		} else {
			c.uri("certificationInfo", ci)
		}
	}
	if ed, ok := m["errorDeclaration"]; ok {
		if o, ok := c.object("errorDeclaration", ed); ok {
			c.names("errorDeclaration", o, "declarationTime", "reason", "correctiveEventIDs")
			if t, ok := o["declarationTime"]; ok {
				c.time("errorDeclaration.declarationTime", t)
			} else {
				c.add("errorDeclaration.declarationTime", "is required")
			}
			if r, ok := o["reason"]; ok {
				c.vocab("errorDeclaration.reason", r, ErrorReason)
			}
			if l, ok := o["correctiveEventIDs"]; ok {
				c.uriList("errorDeclaration.correctiveEventIDs", l, false)
			}
		}
	}

	action, hasAction := m["action"]
	if hasAction {
		if s, _ := action.(string); s != ActionAdd && s != ActionObserve && s != ActionDelete {
			c.add("action", "must be ADD, OBSERVE or DELETE")
		}
	} else if typ != TransformationEvent {
		c.add("action", "is required")
	}
	for _, k := range []string{"epcList", "childEPCs", "inputEPCList", "outputEPCList"} {
		if l, ok := m[k]; ok {
			c.uriList(k, l, k != "childEPCs")
		}
	}
	for _, k := range []string{"parentID", "transformationID"} {
		if v, ok := m[k]; ok {
			c.uri(k, v)
		}
	}
	for _, k := range []string{"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"} {
		if l, ok := m[k]; ok {
			c.quantityList(k, l)
		}
	}
	if v, ok := m["bizStep"]; ok {
		c.vocab("bizStep", v, BizStep)
	}
	if v, ok := m["disposition"]; ok {
		c.vocab("disposition", v, Disposition)
	}
	if v, ok := m["persistentDisposition"]; ok {
		if o, ok := c.object("persistentDisposition", v); ok {
			c.closed("persistentDisposition", o, "set", "unset")
			if o["set"] == nil && o["unset"] == nil {
				c.add("persistentDisposition", "needs set or unset")
			}
			for _, k := range []string{"set", "unset"} {
				if l, ok := o[k]; ok {
					p := "persistentDisposition." + k
					ll, _ := c.array(p, l)
					if len(ll) == 0 {
						c.add(p, "must have at least one disposition")
					}
					seen := map[string]bool{}
					for j, d := range ll {
						c.vocab(fmt.Sprintf("%s[%d]", p, j), d, Disposition)
						if s, _ := d.(string); seen[s] {
							c.add(fmt.Sprintf("%s[%d]", p, j), "%q appears twice", s)
						} else {
							seen[s] = true
						}
					}
				}
			}
		}
	}
	for _, k := range []string{"readPoint", "bizLocation"} {
		if v, ok := m[k]; ok {
			c.location(k, v)
		}
	}
	if v, ok := m["bizTransactionList"]; ok {
		c.typedList("bizTransactionList", v, "bizTransaction", BizTransactionType, false)
	}
	if v, ok := m["sourceList"]; ok {
		c.typedList("sourceList", v, "source", SourceDestType, true)
	}
	if v, ok := m["destinationList"]; ok {
		c.typedList("destinationList", v, "destination", SourceDestType, true)
	}
	if v, ok := m["sensorElementList"]; ok {
		c.sensorElements("sensorElementList", v)
	}
	if v, ok := m["ilmd"]; ok {
		if o, ok := c.object("ilmd", v); ok {
			for _, k := range sortedKeys(o) {
				if !IsURI(k) {
					c.add("ilmd."+k, "an ILMD member must be namespaced")
				}
			}
		}
		if typ == ObjectEvent && action != ActionAdd {
			c.add("ilmd", "is only allowed with action ADD")
		}
	}

	// The schema's anyOf rules: what each event type must be about.
	_, hasEPCList := m["epcList"]
	switch typ {
	case ObjectEvent:
		if !hasEPCList && !nonEmpty(m, "quantityList") && !(nonEmpty(m, "sensorElementList") && m["readPoint"] != nil) {
			c.add("epcList", "an ObjectEvent needs epcList, a non-empty quantityList, or sensorElementList with readPoint")
		}
	case TransactionEvent:
		if !nonEmpty(m, "bizTransactionList") {
			c.add("bizTransactionList", "a TransactionEvent needs at least one business transaction")
		}
		if !hasEPCList && !nonEmpty(m, "quantityList") && action != ActionDelete {
			c.add("epcList", "a TransactionEvent needs epcList or a non-empty quantityList unless its action is DELETE")
		}
	case AggregationEvent, AssociationEvent:
		if typ == AssociationEvent && m["parentID"] == nil {
			c.add("parentID", "is required")
		}
		if !nonEmpty(m, "childEPCs") && !nonEmpty(m, "childQuantityList") && action != ActionDelete {
			c.add("childEPCs", "needs childEPCs or childQuantityList unless the action is DELETE")
		}
	case TransformationEvent:
		in := nonEmpty(m, "inputEPCList") || nonEmpty(m, "inputQuantityList")
		out := nonEmpty(m, "outputEPCList") || nonEmpty(m, "outputQuantityList")
		if !(in && out) && !((in || out) && m["transformationID"] != nil) {
			c.add("inputEPCList", "a TransformationEvent needs inputs and outputs, or either with a transformationID")
		}
	}
	return c.ps
}
