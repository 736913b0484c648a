package epcis

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// A ParamError is a query parameter the standard's query language rejects
// (EPCIS 2.0 section 8.2.7; the binding answers it as a
// QueryParameterException).
type ParamError struct {
	Param string
	Msg   string
}

func (e *ParamError) Error() string { return "query parameter " + e.Param + ": " + e.Msg }

// A Query is a parsed set of the standard's event query parameters. Every
// parameter must hold (they are joined by AND); the values of one parameter
// are separated by "|" and any one of them may hold (OR).
type Query struct {
	conds []func(Event) bool
	// Names are the parameters given, sorted.
	Names []string
}

// QueryParams are the parameters ParseQuery knows.
var QueryParams = []string{
	"eventType", "EQ_action", "EQ_bizStep", "EQ_disposition", "EQ_readPoint", "EQ_bizLocation",
	"EQ_eventID", "EQ_transformationID", "MATCH_epc", "MATCH_parentID", "MATCH_anyEPC", "MATCH_epcClass",
	"GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime", "EXISTS_errorDeclaration",
}

// ParseQuery reads the query parameters of v. A name that is neither a
// known parameter nor one of ignore (the binding's paging parameters, say)
// is an error, as is a parameter given twice or a value of the wrong form.
func ParseQuery(v url.Values, ignore ...string) (*Query, error) {
	q := &Query{}
	names := make([]string, 0, len(v))
	for k := range v {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if contains(ignore, name) {
			continue
		}
		vals := v[name]
		if len(vals) > 1 {
			return nil, &ParamError{name, "is given twice; separate alternatives with |"}
		}
		val := vals[0]
		list := strings.Split(val, "|")
		if name != "EXISTS_errorDeclaration" {
			for _, x := range list {
				if x == "" {
					return nil, &ParamError{name, "has an empty value"}
				}
			}
		}
		var cond func(Event) bool
		switch name {
		case "eventType":
			for _, t := range list {
				if _, ok := eventMembers[t]; !ok {
					return nil, &ParamError{name, fmt.Sprintf("%q is not an event type", t)}
				}
			}
			cond = func(e Event) bool { return contains(list, e.Type()) }
		case "EQ_action":
			for _, a := range list {
				if a != ActionAdd && a != ActionObserve && a != ActionDelete {
					return nil, &ParamError{name, "must be ADD, OBSERVE or DELETE"}
				}
			}
			cond = func(e Event) bool { return contains(list, e.Action()) }
		case "EQ_bizStep":
			cond = vocabCond(list, BizStep, Event.BizStep)
		case "EQ_disposition":
			cond = vocabCond(list, Disposition, Event.Disposition)
		case "EQ_readPoint":
			cond = idCond(list, func(e Event) []string { return one(e.ReadPoint()) })
		case "EQ_bizLocation":
			cond = idCond(list, func(e Event) []string { return one(e.BizLocation()) })
		case "EQ_eventID":
			cond = func(e Event) bool { return e.ID() != "" && contains(list, e.ID()) }
		case "EQ_transformationID":
			cond = idCond(list, func(e Event) []string { return one(e.str("transformationID")) })
		case "MATCH_epc":
			cond = epcCond(list, func(e Event) []string {
				switch e.Type() {
				case AggregationEvent, AssociationEvent:
					return e.ChildEPCs()
				case TransformationEvent:
					return append(e.InputEPCs(), e.OutputEPCs()...)
				}
				return e.EPCList()
			})
		case "MATCH_parentID":
			cond = epcCond(list, func(e Event) []string { return one(e.ParentID()) })
		case "MATCH_anyEPC":
			cond = epcCond(list, Event.AllEPCs)
		case "MATCH_epcClass":
			cond = epcCond(list, Event.AllEPCClasses)
		case "GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime":
			if len(list) != 1 {
				return nil, &ParamError{name, "takes one time"}
			}
			// A "+" of an offset sent unescaped arrives as a space.
			if n := len(val); n > 6 && val[n-6] == ' ' {
				val = val[:n-6] + "+" + val[n-5:]
			}
			t, err := parseTime(val)
			if err != nil {
				return nil, &ParamError{name, "must be an RFC 3339 date-time with a time zone"}
			}
			get := Event.Time
			if strings.HasSuffix(name, "recordTime") {
				get = Event.RecordTime
			}
			if strings.HasPrefix(name, "GE_") {
				cond = func(e Event) bool { et := get(e); return !et.IsZero() && !et.Before(t) }
			} else {
				cond = func(e Event) bool { et := get(e); return !et.IsZero() && et.Before(t) }
			}
		case "EXISTS_errorDeclaration":
			if val != "" && val != "true" {
				return nil, &ParamError{name, "takes no value"}
			}
			cond = Event.HasErrorDeclaration
		default:
			return nil, &ParamError{name, "is not a query parameter this repository knows"}
		}
		q.conds = append(q.conds, cond)
		q.Names = append(q.Names, name)
	}
	return q, nil
}

// Match reports whether the event satisfies every parameter.
func (q *Query) Match(e Event) bool {
	for _, c := range q.conds {
		if !c(e) {
			return false
		}
	}
	return true
}

func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// vocabCond matches a CBV field; the bare word, the Web URI and the URN of
// a term are the same term.
func vocabCond(list []string, voc Vocab, get func(Event) string) func(Event) bool {
	want := map[string]bool{}
	for _, x := range list {
		want[voc.Expand(x)] = true
	}
	return func(e Event) bool {
		v := get(e)
		return v != "" && want[voc.Expand(v)]
	}
}

// idCond matches identifiers equal in their canonical form (an SGLN URN and
// its Digital Link are the same location).
func idCond(list []string, get func(Event) []string) func(Event) bool {
	want := map[string]bool{}
	for _, x := range list {
		want[CanonicalEPC(x)] = true
	}
	return func(e Event) bool {
		for _, v := range get(e) {
			if want[CanonicalEPC(v)] {
				return true
			}
		}
		return false
	}
}

// epcCond matches EPCs against values or EPC patterns: an exact EPC (URN or
// Digital Link), an EPC pattern URI (urn:epc:idpat:sgtin:CP.REF.* or
// CP.*.*, sscc:CP.*, sgln:CP.REF.* or CP.*.*), or "*" parts throughout.
func epcCond(list []string, get func(Event) []string) func(Event) bool {
	var ms []func(string) bool
	for _, x := range list {
		ms = append(ms, epcMatcher(x))
	}
	return func(e Event) bool {
		for _, v := range get(e) {
			for _, m := range ms {
				if m(v) {
					return true
				}
			}
		}
		return false
	}
}

func epcMatcher(pattern string) func(string) bool {
	if rest, ok := strings.CutPrefix(pattern, "urn:epc:idpat:"); ok {
		scheme, body, _ := strings.Cut(rest, ":")
		parts := strings.Split(body, ".")
		return func(v string) bool {
			id, err := ParseIdentifier(v)
			if err != nil {
				return false
			}
			return idpatMatch(scheme, parts, id)
		}
	}
	want := CanonicalEPC(pattern)
	return func(v string) bool { return CanonicalEPC(v) == want }
}

func idpatMatch(scheme string, parts []string, id Identifier) bool {
	if len(parts) == 0 {
		return false
	}
	cp := parts[0]
	star := func(i int) bool { return i >= len(parts) || parts[i] == "*" }
	switch scheme {
	case "sgtin":
		if id.AI != "01" || len(parts) != 3 {
			return false
		}
		if cp == "*" {
			return star(1)
		}
		if len(cp) > 12 || id.Key[1:1+len(cp)] != cp {
			return false
		}
		if !star(1) && parts[1] != id.Key[:1]+id.Key[1+len(cp):13] {
			return false
		}
		return star(2) || parts[2] == id.Serial
	case "sscc":
		return id.AI == "00" && len(parts) == 2 && star(1) && (cp == "*" || (len(cp) <= 16 && id.Key[1:1+len(cp)] == cp))
	case "sgln":
		if id.AI != "414" || len(parts) != 3 {
			return false
		}
		if cp == "*" {
			return star(1)
		}
		if len(cp) > 12 || id.Key[:len(cp)] != cp {
			return false
		}
		return (star(1) || parts[1] == id.Key[len(cp):12]) && star(2)
	}
	return false
}
