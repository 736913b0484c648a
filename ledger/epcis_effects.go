package ledger

import (
	"errors"
	"net/url"
	"strings"

	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
)

// Captured EPCIS events that name a coldtrace lot take effect in the
// domain: when an epcis_captured record is appended on the write path, the
// domain event it maps to (epcisToEvent) is appended right after it, in
// the same commit, under the same checks and authority as /v1/events, with
// EPCISSeq naming the captured record. A refusal of the domain event
// refuses the captured event with it (applySubmission). The mapping runs
// only when new records are written: replay applies the records as they
// are, so older captures keep their meaning.
//
// Mapped, for an ObjectEvent without errorDeclaration whose epcList names
// exactly one coldtrace lot by its public URL ({public URL}/t/{trace
// code} or {public URL}/v1/lots/{id}):
//
//	destroying      -> destroyed, method "other", the grams on hand
//	retail_selling  -> sold, channel "retail", the grams on hand
//
// An EPC names a whole lot, so the quantity is what the lot has on hand.
// Every other event has no effect.

// epcisToEvent maps captured event e to the domain event it takes effect
// as; ok is false when it has none. lot resolves a trace code or lot id
// (NotFound when coldtrace has no such lot).
func epcisToEvent(e epcis.Event, lot func(ref string) (*Lot, error)) (_ Event, ok bool, _ error) {
	if e.Type() != "ObjectEvent" || e.HasErrorDeclaration() {
		return Event{}, false, nil
	}
	var ev Event
	switch epcis.BizStep.Short(e.BizStep()) {
	case "destroying":
		ev = Event{Kind: Destroyed, Method: "other"}
	case "retail_selling":
		ev = Event{Kind: Sold, Channel: "retail"}
	default:
		return Event{}, false, nil
	}
	var found *Lot
	for _, epc := range e.EPCList() {
		ref, ok := lotRef(epc)
		if !ok {
			continue
		}
		l, err := lot(ref)
		if fault.KindOf(err) == fault.NotFound {
			continue
		}
		if err != nil {
			return Event{}, false, err
		}
		if found != nil && found.ID != l.ID {
			return Event{}, false, fault.InvalidField("epcList", "names more than one coldtrace lot; capture one event per lot")
		}
		found = l
	}
	if found == nil {
		return Event{}, false, nil
	}
	ev.Lot, ev.At = found.ID, e.Time()
	ev.Quantity = &Quantity{Grams: found.Quantity.OnHand}
	return ev, true, nil
}

// lotRef returns the trace code or lot id an EPC names when it is a
// coldtrace lot's public URL: .../t/{trace code} or .../v1/lots/{id}.
func lotRef(epc string) (string, bool) {
	u, err := url.Parse(epc)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" {
		return "", false
	}
	parts := strings.Split(strings.TrimSuffix(u.Path, "/"), "/")
	n := len(parts)
	switch {
	case n >= 2 && parts[n-2] == "t":
		return parts[n-1], parts[n-1] != ""
	case n >= 3 && parts[n-3] == "v1" && parts[n-2] == "lots":
		return parts[n-1], parts[n-1] != ""
	}
	return "", false
}

// epcisEffect returns the submission of the domain event that captured
// event c, recorded at seq, takes effect as, submitted by p, or nil when
// it has none.
func (l *Ledger) epcisEffect(st *state, p Principal, c *EPCISEvent, seq int64) (*submission, error) {
	e, err := c.Parse()
	if err != nil {
		return nil, err
	}
	ev, ok, err := epcisToEvent(e, st.resolveLot)
	if err != nil || !ok {
		return nil, err
	}
	s, err := l.newSubmission(p, ev, "")
	if err != nil {
		return nil, effectRefused(ev.Kind, err)
	}
	s.ev.EPCISSeq = seq
	return s, nil
}

// effectRefused says that err refused the domain event of kind k that a
// captured event took effect as.
func effectRefused(k EventKind, err error) error {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return err
	}
	out := *fe
	out.Msg = "it takes effect as " + string(k) + ", which is refused: " + fe.Msg
	return &out
}

// appendCaptured appends s as the record at seq and, when s captures an
// EPCIS event that takes effect in the domain, the domain event right
// after it; the captured record's receipt holds the domain event's as
// Effect. n is how many records were appended. A refusal of the domain
// event comes back as rejected with r set: the captured record is then
// written already and the transaction must be rolled back.
func (l *Ledger) appendCaptured(st *state, g *groupApply, s *submission, seq int64) (r *Receipt, n int64, rejected, err error) {
	r, rejected, err = l.appendRecord(st, g, s, seq)
	if r == nil || s.ev.Kind != EPCISCaptured {
		return r, 1, rejected, err
	}
	fx, err := l.epcisEffect(st, s.p, s.ev.EPCIS, seq)
	if err != nil || fx == nil {
		return r, 1, err, nil
	}
	r.Effect, rejected, err = l.appendRecord(st, g, fx, seq+1)
	if rejected != nil {
		return r, 0, effectRefused(fx.ev.Kind, rejected), nil
	}
	return r, 2, nil, err
}
