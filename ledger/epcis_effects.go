package ledger

import (
	"bytes"
	"errors"
	"net/url"
	"slices"
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
//	receiving       -> received at the site its bizLocation names (the
//	                   site's URL {public URL}/v1/sites/{id}, or its GLN as
//	                   urn:epc:id:sgln or Digital Link), the grams shipped
//
// An EPC names a whole lot, so the quantity is all the lot has on hand (or
// in transit). Every other event has no effect; so has a receiving event
// whose bizLocation is no coldtrace site.

// An epcisLookup finds what a captured event names: a lot by trace code or
// lot id, a site by id or GLN (NotFound when coldtrace has none).
type epcisLookup struct {
	lot  func(ref string) (*Lot, error)
	site func(id, gln string) (*Site, error)
}

// epcisToEvent maps captured event e to the domain event it takes effect
// as; ok is false when it has none.
func epcisToEvent(e epcis.Event, find epcisLookup) (_ Event, ok bool, _ error) {
	if e.Type() != "ObjectEvent" || e.HasErrorDeclaration() {
		return Event{}, false, nil
	}
	var ev Event
	switch epcis.BizStep.Short(e.BizStep()) {
	case "destroying":
		ev = Event{Kind: Destroyed, Method: "other"}
	case "retail_selling":
		ev = Event{Kind: Sold, Channel: "retail"}
	case "receiving":
		site, err := epcisSite(e.BizLocation(), find)
		if site == nil || err != nil {
			return Event{}, false, err
		}
		ev = Event{Kind: Received, Site: site.ID}
	default:
		return Event{}, false, nil
	}
	lot, err := epcisLot(e, find)
	if lot == nil || err != nil {
		return Event{}, false, err
	}
	ev.Lot, ev.At = lot.ID, e.Time()
	grams := lot.Quantity.OnHand
	if ev.Kind == Received {
		grams = 0
		if lot.Transit != nil {
			grams = lot.Transit.Quantity
		}
	}
	switch {
	case grams <= 0 && ev.Kind == Received:
		return Event{}, false, fault.Rejectf("epcList", "lot %s is not in transit: nothing to receive", lot.TraceCode)
	case grams <= 0:
		return Event{}, false, fault.Rejectf("epcList", "lot %s has nothing on hand", lot.TraceCode)
	}
	ev.Quantity = &Quantity{Grams: grams}
	return ev, true, nil
}

// epcisLot returns the one coldtrace lot e's epcList names, or nil.
func epcisLot(e epcis.Event, find epcisLookup) (*Lot, error) {
	var found *Lot
	for _, epc := range e.EPCList() {
		ref, ok := urlRef(epc, "t")
		if !ok {
			ref, ok = urlRef(epc, "v1", "lots")
		}
		if !ok {
			continue
		}
		l, err := find.lot(ref)
		if fault.KindOf(err) == fault.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if found != nil && found.ID != l.ID {
			return nil, fault.InvalidField("epcList", "names more than one coldtrace lot; capture one event per lot")
		}
		found = l
	}
	return found, nil
}

// epcisSite returns the coldtrace site a bizLocation names, or nil.
func epcisSite(loc string, find epcisLookup) (*Site, error) {
	var s *Site
	var err error
	if id, ok := urlRef(loc, "v1", "sites"); ok {
		s, err = find.site(id, "")
	} else if gs1, perr := epcis.ParseIdentifier(loc); perr == nil && gs1.AI == "414" && (gs1.Ext == "" || gs1.Ext == "0") {
		s, err = find.site("", gs1.Key)
	} else {
		return nil, nil
	}
	if fault.KindOf(err) == fault.NotFound {
		return nil, nil
	}
	return s, err
}

// urlRef returns the last path segment of an http(s) URL whose path
// ends in dirs followed by that segment (.../t/{code}, .../v1/lots/{id}).
func urlRef(epc string, dirs ...string) (string, bool) {
	u, err := url.Parse(epc)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" {
		return "", false
	}
	parts := strings.Split(strings.TrimSuffix(u.Path, "/"), "/")
	n := len(parts) - 1
	if n < len(dirs) || parts[n] == "" || !slices.Equal(parts[n-len(dirs):n], dirs) {
		return "", false
	}
	return parts[n], true
}

// epcisEffect returns the submission of the domain event that captured
// event c, recorded at seq, takes effect as, submitted by p, or nil when
// it has none.
func (l *Ledger) epcisEffect(st *state, p Principal, c *EPCISEvent, seq int64) (*submission, error) {
	if !mayTakeEffect(c.Event) {
		return nil, nil
	}
	e, err := c.Parse()
	if err != nil {
		return nil, err
	}
	ev, ok, err := epcisToEvent(e, epcisLookup{lot: st.resolveLot, site: st.siteByIDOrGLN})
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

// mappedSteps are the bizSteps that take effect (epcisToEvent).
var mappedSteps = [][]byte{[]byte("retail_selling"), []byte("destroying"), []byte("receiving")}

// mayTakeEffect is false for an event that cannot take effect because no
// mapped bizStep occurs in it at all: most captured events, which are then
// not decoded a second time.
func mayTakeEffect(raw []byte) bool {
	for _, s := range mappedSteps {
		if bytes.Contains(raw, s) {
			return true
		}
	}
	return false
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

// siteByIDOrGLN reads a site by id or, when id is empty, finds the site
// registered with GLN gln (a scan of the sites: they are few).
func (st *state) siteByIDOrGLN(id, gln string) (*Site, error) {
	if id != "" {
		return st.site(id)
	}
	var found *Site
	prefix := tabSite.all()
	err := st.tx.Scan(prefix, nil, false, func(k, _ []byte) error {
		s, err := st.site(string(k[len(prefix):]))
		if err == nil && s.GLN == gln {
			found = s
			return fault.ErrStop
		}
		return err
	})
	if err == nil && found == nil {
		err = fault.Errorf(fault.NotFound, "no site has GLN %s", gln)
	}
	return found, err
}
