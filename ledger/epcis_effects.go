package ledger

import (
	"bytes"
	"errors"
	"math"
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
// refuses the captured event with it (appendCaptured). The mapping runs
// only when new records are written: replay applies the records as they
// are, so older captures keep their meaning.
//
// Mapped, for an ObjectEvent whose epcList (or quantityList) names exactly
// one coldtrace lot, by its public URL ({public URL}/t/{trace code} or
// {public URL}/v1/lots/{id}) or by the LGTIN of its declaration
// (epcis_effects_lgtin.go):
//
//	destroying      -> destroyed (ct:method, else "other")
//	retail_selling  -> sold (ct:channel, else "retail")
//	receiving       -> received at the site its bizLocation names (the
//	                   site's URL {public URL}/v1/sites/{id}, or its GLN as
//	                   urn:epc:id:sgln or Digital Link)
//	shipping        -> shipped to destinationList's party and location
//	inspecting      -> tested, disposition conformant (negative) or
//	                   non_conformant (positive), samples and scope from
//	                   ct:nucleicAcidTest
//
// a TransformationEvent that carries its inputs and outputs in coldtrace's
// extensions -> transformed (epcis_effects_transform.go), and an event with
// errorDeclaration about a captured event that took effect -> voided, of
// that effect (epcis_effects_void.go). The quantity
// is ct:quantity, or the lot's quantityList entry in KGM or GRM, or else
// all the lot has on hand (in transit, for a receipt). The coldtrace
// extensions (ct:...) are read in epcis_effects_ext.go. Every other event
// has no effect; so has a receiving event whose bizLocation is no
// coldtrace site, and an inspection with another disposition.

// EPCISVocab is the namespace of coldtrace's own EPCIS vocabulary (the
// prefix "ct" of exported documents): the extensions a captured event's
// effect is read from.
const EPCISVocab = "https://w3id.org/coldtrace/voc#"

// vehiclePlateNS is where the URIs of vehicle plates live: a plate is
// unique in China, so its URI is the same in every coldtrace.
const vehiclePlateNS = "https://w3id.org/coldtrace/plate/"

// VehiclePlateURI is the EPCIS identifier of a vehicle without a GIAI:
// its plate under vehiclePlateNS, percent-encoded as one path segment.
func VehiclePlateURI(plate string) string { return vehiclePlateNS + url.PathEscape(plate) }

// An epcisLookup finds what a captured event names: a lot by trace code or
// lot id, a site by id or GLN (NotFound when coldtrace has none), the lots
// declared with an LGTIN, and the effect of an earlier captured event.
type epcisLookup struct {
	lot  func(ref string) (*Lot, error)
	site func(id, gln string) (*Site, error)
	// lgtin returns the lots of the batches declared with GTIN gtin and
	// batch number batch: the declared lots and the lots split off them.
	lgtin func(gtin, batch string) ([]*Lot, error)
	// effect returns the seq of the domain record that the captured event
	// eventID took effect as, 0 when it was not captured before seq or
	// took no effect.
	effect func(eventID string, seq int64) (int64, error)
}

// An epcisSubject is an event being captured: the event, the id it is
// captured under, the seq of its record and the prefix its document
// declared for coldtrace's vocabulary.
type epcisSubject struct {
	epcis.Event
	id  string
	seq int64
	ct  string
}

// epcisToEvent maps captured event c to the domain event it takes effect
// as; ok is false when it has none.
func epcisToEvent(c epcisSubject, find epcisLookup) (_ Event, ok bool, _ error) {
	x := &ctExt{e: c.Event, ct: c.ct}
	if c.HasErrorDeclaration() {
		return epcisCorrection(c, x, find)
	}
	if c.Type() == "TransformationEvent" {
		return epcisTransformation(c, x, find)
	}
	if c.Type() != "ObjectEvent" {
		return Event{}, false, nil
	}
	var ev Event
	switch epcis.BizStep.Short(c.BizStep()) {
	case "destroying":
		ev = Event{Kind: Destroyed, Method: x.word("method", DestroyMethods, "other")}
	case "retail_selling":
		ev = Event{Kind: Sold, Channel: x.word("channel", SaleChannels, "retail")}
	case "receiving":
		site, err := epcisSite(c.BizLocation(), find)
		if site == nil || err != nil {
			return Event{}, false, err
		}
		ev = Event{Kind: Received, Site: site.ID, TemperatureC: x.temperature()}
	case "inspecting":
		result, ok := map[string]string{"conformant": "negative", "non_conformant": "positive"}[epcis.Disposition.Short(c.Disposition())]
		if !ok {
			return Event{}, false, nil // an inspection that states no test result
		}
		ev = Event{Kind: Tested, Result: result}
	case "shipping":
		ev = Event{Kind: Shipped}
	default:
		return Event{}, false, nil
	}
	lot, q, err := epcisLot(c.Event, find)
	if lot == nil || err != nil {
		return Event{}, false, err
	}
	ev.Lot, ev.At = lot.ID, c.Time()
	switch ev.Kind {
	case Tested:
		if x.test(&ev); len(x.fe) > 0 {
			return Event{}, false, x.fe.Err()
		}
		return ev, true, nil
	case Shipped:
		if err := x.shipment(&ev, find); err != nil {
			return Event{}, false, err
		}
	}
	if q == nil {
		q = x.root().quantity(false)
	}
	if err := x.fe.Err(); err != nil {
		return Event{}, false, err
	}
	if q == nil {
		if q, err = wholeLot(lot, ev.Kind); err != nil {
			return Event{}, false, err
		}
	}
	ev.Quantity = q
	return ev, true, nil
}

// wholeLot is the quantity of an event that names a whole lot: all it has
// on hand or, for a receipt, in transit.
func wholeLot(lot *Lot, k EventKind) (*Quantity, error) {
	if k == Received {
		if lot.Transit == nil || lot.Transit.Quantity <= 0 {
			return nil, fault.Rejectf("epcList", "lot %s is not in transit: nothing to receive", lot.TraceCode)
		}
		return &Quantity{Grams: lot.Transit.Quantity}, nil
	}
	if lot.Quantity.OnHand <= 0 {
		return nil, fault.Rejectf("epcList", "lot %s has nothing on hand", lot.TraceCode)
	}
	return &Quantity{Grams: lot.Quantity.OnHand}, nil
}

// epcisLot returns the one coldtrace lot e names in epcList or
// quantityList, or nil, and the quantity of it the quantityList entry that
// names it gives (nil when none does).
func epcisLot(e epcis.Event, find epcisLookup) (*Lot, *Quantity, error) {
	var found *Lot
	var q *Quantity
	take := func(field string, l *Lot) error {
		if found != nil && found.ID != l.ID {
			return fault.InvalidField(field, "names more than one coldtrace lot; capture one event per lot")
		}
		found = l
		return nil
	}
	for _, epc := range e.EPCList() {
		l, err := epcisLotByURL(epc, find)
		if l == nil && err == nil {
			l, err = lotByLGTIN(e, epc, "epcList", find)
		}
		if err != nil {
			return nil, nil, err
		}
		if l != nil {
			if err := take("epcList", l); err != nil {
				return nil, nil, err
			}
		}
	}
	for i, c := range e.QuantityList() {
		field := indexField("quantityList", i)
		l, err := epcisLotByURL(c.EPCClass, find)
		if l == nil && err == nil {
			l, err = lotByLGTIN(e, c.EPCClass, field, find)
		}
		if err != nil {
			return nil, nil, err
		}
		if l == nil {
			continue
		}
		if err := take(field, l); err != nil {
			return nil, nil, err
		}
		if c.Quantity == nil {
			continue
		}
		g, err := gramsOf(*c.Quantity, c.UOM, field)
		if err != nil {
			return nil, nil, err
		}
		q = &Quantity{Grams: g}
	}
	return found, q, nil
}

// gramsOf converts an EPCIS quantity in KGM or GRM to whole grams.
func gramsOf(n float64, uom, field string) (int64, error) {
	switch uom {
	case "KGM":
		n *= 1000
	case "GRM":
	default:
		return 0, fault.InvalidField(field+".uom", "must be KGM or GRM for a coldtrace lot (got %q)", uom)
	}
	g := math.Round(n)
	if g <= 0 || g > 1e12 || math.Abs(n-g) > 1e-6 {
		return 0, fault.InvalidField(field+".quantity", "must be a whole number of grams above 0")
	}
	return int64(g), nil
}

// epcisLotByURL returns the coldtrace lot an EPC names by its public URL,
// or nil.
func epcisLotByURL(epc string, find epcisLookup) (*Lot, error) {
	ref, ok := urlRef(epc, "t")
	if !ok {
		ref, ok = urlRef(epc, "v1", "lots")
	}
	if !ok {
		return nil, nil
	}
	l, err := find.lot(ref)
	if fault.KindOf(err) == fault.NotFound {
		return nil, nil
	}
	return l, err
}

// epcisSite returns the coldtrace site a location names, or nil.
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
	id, err := c.hashID(e)
	if err != nil {
		return nil, err
	}
	ev, ok, err := epcisToEvent(epcisSubject{Event: e, id: id, seq: seq, ct: c.vocabPrefix()},
		epcisLookup{lot: st.resolveLot, site: st.siteByIDOrGLN, lgtin: st.lotsByLGTIN, effect: st.epcisEffectOf})
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

// vocabPrefix is the prefix c's document declared for coldtrace's
// vocabulary ("ct" when it declared none).
func (c *EPCISEvent) vocabPrefix() string {
	var found []string
	for k, v := range c.Prefixes {
		if v == EPCISVocab {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		return "ct"
	}
	slices.Sort(found)
	return found[0]
}

// mayTakeEffect is false for an event that cannot take effect because
// nothing that maps occurs in it, or it names no lot the way coldtrace
// lots are named (a URL .../t/ or .../v1/lots/, an LGTIN): most captured
// events, which are then not decoded a second time. An error declaration
// names what the event it corrects named.
func mayTakeEffect(raw []byte) bool {
	return containsAny(raw, "retail_selling", "destroying", "receiving", "inspecting", "shipping", "errorDeclaration", "TransformationEvent") &&
		containsAny(raw, "/t/", "/v1/lots/", "lgtin:", "/10/")
}

func containsAny(raw []byte, words ...string) bool {
	for _, w := range words {
		if bytes.Contains(raw, []byte(w)) {
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
	out.Fields = slices.Clone(fe.Fields)
	for i, f := range out.Fields {
		if name, ok := epcisFieldOf[f.Field]; ok {
			out.Fields[i].Field = name
		}
	}
	return &out
}

// epcisFieldOf names the EPCIS member a domain event's field came from,
// for refusals of an effect.
var epcisFieldOf = map[string]string{"lot": "epcList", "site": "bizLocation", "to_org": "destinationList",
	"to_site": "destinationList", "voids": "errorDeclaration", "quantity.grams": "ct:quantity"}

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
