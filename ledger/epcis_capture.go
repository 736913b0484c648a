package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
)

// EPCIS 2.0 capture. Every event captured through the EPCIS REST binding
// (api/epcis_capture.go) is a record of the log of kind epcis_captured,
// holding the event as sent, its eventID (the CBV 2.0 event hash when it
// came without one) and the namespace prefixes its document declared. The
// record is read by the capturing org, the regulators of that org's region
// and auditors (state.recordVisible). An eventID is captured once: a
// second capture of it is a Conflict.

// EPCISCaptured is the kind of a captured EPCIS event.
const EPCISCaptured EventKind = "epcis_captured"

// An EPCISEvent is a captured EPCIS event as its record keeps it.
type EPCISEvent struct {
	// ID is the event's eventID, or its CBV 2.0 event hash
	// (ni:///sha-256;...?ver=CBV2.0) when it was sent without one.
	ID string `json:"event_id,omitempty"`
	// Event is the event object as sent (compacted).
	Event json.RawMessage `json:"event"`
	// Prefixes are the namespace prefixes its document declared besides
	// the standard's, with their IRIs.
	Prefixes map[string]string `json:"prefixes,omitempty"`
}

// NewEPCISEvent returns the event to submit to capture e, an event of a
// document whose @context declares prefixes (epcis.Document.Prefixes; the
// standard's are left out of the record).
func NewEPCISEvent(e epcis.Event, prefixes map[string]string) Event {
	own := map[string]string{}
	std := epcis.StandardPrefixes()
	for k, v := range prefixes {
		if _, ok := std[k]; !ok {
			own[k] = v
		}
	}
	if len(own) == 0 {
		own = nil
	}
	return Event{Kind: EPCISCaptured, EPCIS: &EPCISEvent{Event: e.Raw(), Prefixes: own}}
}

// Parse decodes the captured event.
func (c *EPCISEvent) Parse() (epcis.Event, error) {
	return epcis.ParseEvent(c.Event, 0, c.prefixSet())
}

func (c *EPCISEvent) prefixSet() map[string]bool {
	set := map[string]bool{}
	for k := range epcis.StandardPrefixes() {
		set[k] = true
	}
	for k := range c.Prefixes {
		set[k] = true
	}
	return set
}

// hashID returns the id the event is captured under: its eventID, or its
// CBV 2.0 event hash.
func (c *EPCISEvent) hashID(e epcis.Event) (string, error) {
	if id := e.ID(); id != "" {
		return id, nil
	}
	return epcis.HashID(e, c.Prefixes)
}

func checkEPCISCaptured(ev *Event, fe *fault.Fields) {
	checkOnlyFields(ev, []string{"epcis"}, fe)
	if len(ev.Attachments) > 0 || ev.Note != "" || len(ev.People) > 0 {
		fe.Add("epcis", "an EPCIS event carries no note, people or attachments")
	}
	c := ev.EPCIS
	if c == nil || len(c.Event) == 0 {
		fe.Add("epcis.event", "is required: an EPCIS 2.0 event object")
		return
	}
	for k, v := range c.Prefixes {
		if k == "" || strings.ContainsAny(k, ":/#") || !epcis.IsURI(v) {
			fe.Add("epcis.prefixes."+k, "must map a namespace prefix to an IRI")
		}
	}
	e, err := c.Parse()
	if err != nil {
		addProblems(fe, "epcis.event", err)
		return
	}
	if c.ID == "" {
		return // prepare fills it in
	}
	if want, err := c.hashID(e); err != nil || c.ID != want {
		fe.Add("epcis.event_id", "must be the event's eventID or, without one, its CBV 2.0 event hash")
	}
}

// addProblems adds the problems of a failed epcis decoding of one event
// as field errors under path.
func addProblems(fe *fault.Fields, path string, err error) {
	var ps epcis.Problems
	if !errors.As(err, &ps) {
		fe.Add(path, "%v", err)
		return
	}
	for _, p := range ps {
		f := path
		if p.Field != "" {
			f += "." + p.Field
		}
		fe.Add(f, "%s", p.Msg)
	}
}

// EPCISProblems turns the problems of a failed epcis.Decode into an
// Invalid error whose fields name each event under list
// ("epcisBody.eventList[2].bizStep") or the document's member.
func EPCISProblems(err error, list string) error {
	var ps epcis.Problems
	if !errors.As(err, &ps) {
		return fault.Wrap(fault.Invalid, "the document is not EPCIS 2.0", err)
	}
	var fe fault.Fields
	for _, p := range ps {
		f := p.Field
		if p.Event >= 0 {
			f = list + "[" + strconv.Itoa(p.Event) + "]"
			if p.Field != "" {
				f += "." + p.Field
			}
		}
		fe.Add(f, "%s", p.Msg)
	}
	out := fe.Err().(*fault.Error)
	out.Msg = "the document breaks the EPCIS 2.0 schema rules"
	return out
}

// MayCapture refuses a key that may not capture EPCIS events: any
// operator's or regulator's key may, with its org; admins and auditors
// record nothing.
func MayCapture(p Principal) error {
	if err := gate(EPCISCaptured, p); err != nil {
		return err
	}
	if p.Org == "" {
		return forbid("an EPCIS event is captured by an org's key")
	}
	return nil
}

func epcisIDKey(id string) []byte { return tabEPCISID.key(id) }

func prepareEPCISCaptured(st *state, p Principal, rec *Record) error {
	if err := MayCapture(p); err != nil {
		return err
	}
	c := *rec.EPCIS
	e, err := c.Parse()
	if err != nil {
		return err
	}
	if c.ID, err = c.hashID(e); err != nil {
		return err
	}
	rec.EPCIS = &c
	v, err := st.get(epcisIDKey(c.ID))
	if fault.KindOf(err) == fault.NotFound {
		return nil
	} else if err != nil {
		return err
	}
	if !e.HasErrorDeclaration() {
		return &fault.Error{Kind: fault.Conflict, Msg: "this eventID was captured already, as record " + strconv.FormatUint(beUint(v), 10),
			Fields: []fault.FieldError{{Field: "eventID", Message: "was captured already"}}}
	}
	// An error declaration is captured beside the event it corrects, once
	// (epcis_effects_void.go).
	if d, err := st.get(tabEPCISDeclared.key(c.ID)); err == nil {
		return &fault.Error{Kind: fault.Conflict, Msg: "an error was declared already for this eventID, as record " + strconv.FormatUint(beUint(d), 10),
			Fields: []fault.FieldError{{Field: "errorDeclaration", Message: "was declared already for this eventID"}}}
	} else if fault.KindOf(err) != fault.NotFound {
		return err
	}
	return nil
}

// applyEPCISCaptured names the record by its eventID or, when the eventID
// was captured already (only an error declaration passes prepare then), as
// the declaration of an error about it.
func applyEPCISCaptured(st *state, rec *Record, _ *effects) error {
	k := epcisIDKey(rec.EPCIS.ID)
	if _, err := st.get(k); err == nil {
		k = tabEPCISDeclared.key(rec.EPCIS.ID)
	} else if fault.KindOf(err) != fault.NotFound {
		return err
	}
	if err := st.tx.Set(k, be64(rec.Seq)); err != nil {
		return err
	}
	return indexRecord(st, rec)
}

// epcisVisible says who reads a captured event: its org (checked by
// recordVisible) and the regulators of that org's region.
func epcisVisible(st *state, p Principal, rec *Record) (bool, error) {
	if p.Role != RoleRegulator {
		return false, nil
	}
	o, err := st.org(rec.Actor.Org)
	if fault.KindOf(err) == fault.NotFound {
		return false, nil
	}
	return err == nil && covers(p.Regions, o.Region), err
}

// CaptureAll records the events of one EPCIS document for p, all or
// nothing: either every event is recorded, in order and in one commit, or
// none is and the error names the first event refused ("eventList[i]").
// A document too large for one transaction is a TooLarge error.
func (l *Ledger) CaptureAll(ctx context.Context, p Principal, evs []Event) ([]*Receipt, error) {
	doc := &submission{p: p}
	for i, ev := range evs {
		if ev.Kind != EPCISCaptured {
			return nil, fault.InvalidField(eventPath(i), "is not an EPCIS event")
		}
		s, err := l.newSubmission(p, ev, "")
		if err != nil {
			return nil, AtEPCISEvent(i, err)
		}
		doc.parts = append(doc.parts, s)
	}
	doc.done = make(chan result, 1)
	if err := l.send(ctx, doc); err != nil {
		return nil, err
	}
	r := l.wait(doc)
	return r.receipts, r.err
}

func eventPath(i int) string { return "epcisBody.eventList[" + strconv.Itoa(i) + "]" }

// AtEPCISEvent returns err, an error about one captured event, with its
// fields placed under event i of its document.
func AtEPCISEvent(i int, err error) error {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return err
	}
	out := *fe
	out.Fields = []fault.FieldError{{Field: eventPath(i), Message: fe.Msg}}
	if len(fe.Fields) > 0 {
		out.Fields = make([]fault.FieldError, len(fe.Fields))
		for j, f := range fe.Fields {
			f.Field = eventPath(i) + "." + strings.TrimPrefix(strings.TrimPrefix(f.Field, "epcis.event."), "epcis.")
			out.Fields[j] = f
		}
	}
	out.Msg = "event " + strconv.Itoa(i) + " of the document: " + fe.Msg
	return &out
}
