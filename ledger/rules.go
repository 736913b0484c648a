package ledger

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// This file holds the closed-loop rules. prepare* functions enforce the
// physical and authority invariants: a breach rejects the event and nothing
// is recorded. apply* functions change state as the record says and judge
// the policy rules: a breach is recorded and opens a finding.

// marketSiteTypes are the places from which goods reach consumers.
var marketSiteTypes = []string{"market", "store", "restaurant", "canteen"}

// arrivalTestSiteTypes are the sites where cold-chain goods must be tested
// after they arrive, before they leave again.
var arrivalTestSiteTypes = []string{"cold_store", "supervision_warehouse", "plant"}

// covers reports whether a regulator scoped to prefixes may act in region.
func covers(prefixes []string, region string) bool {
	for _, p := range prefixes {
		if region != "" && strings.HasPrefix(region, p) {
			return true
		}
	}
	return false
}

// lotVisible reports whether p may see lot l: admins always, regulators when
// the lot was ever in one of their regions, operators when their org held
// it, was sent it or recorded an event about it.
func lotVisible(p Principal, l *Lot) bool {
	switch {
	case p.readsAll():
		return true
	case p.Role == RoleRegulator:
		return slices.ContainsFunc(l.Regions(), func(r string) bool { return covers(p.Regions, r) })
	}
	return p.Org != "" && slices.Contains(l.Orgs, p.Org)
}

// canSeeLot is lotVisible by lot id; a missing lot is seen by nobody.
func canSeeLot(st *state, p Principal, lotID string) (bool, error) {
	l, err := st.lot(lotID)
	if KindOf(err) == NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return lotVisible(p, l), nil
}

func forbid(format string, args ...any) error { return Errorf(Forbidden, format, args...) }

// prepareLot wraps a kind's prepare with what every lot and site event
// shares, in the order that reveals nothing to a key that may not act: the
// role gate, the lot reference resolved to its id, the key's authority over
// that lot (authority.go), then the lot's state (not finished, not older
// than the event) and the documents the record cites (papers.go).
func prepareLot(own func(st *state, p Principal, rec *Record, l *Lot) error) func(st *state, p Principal, rec *Record) error {
	return func(st *state, p Principal, rec *Record) error {
		if err := gate(rec.Kind, p); err != nil {
			return err
		}
		var l *Lot
		if rec.Lot != "" {
			var err error
			if l, err = st.resolveLot(rec.Lot); err != nil {
				if KindOf(err) == NotFound {
					return &Error{Kind: Rejected, Msg: err.(*Error).Msg, Fields: []FieldError{{Field: "lot", Message: "no such lot"}}}
				}
				return err
			}
			rec.Lot = l.ID
			s, regions, err := lotStanding(st, p, l)
			if err != nil {
				return err
			}
			if err := authorize(rec.Kind, p, s, lotWhat(l), regions); err != nil {
				return err
			}
			if l.terminal() {
				return rejectf("lot", "lot %s is finished: every gram was sold, consumed, destroyed, returned, split off or lost", l.TraceCode)
			}
			if rec.At.Before(l.CreatedAt) {
				return rejectf("at", "is before lot %s was created (%s)", l.TraceCode, l.CreatedAt.Format(time.RFC3339))
			}
		}
		if err := own(st, p, rec, l); err != nil {
			return err
		}
		return checkDocuments(st, p, rec)
	}
}

// requireSite returns the site id names, rejecting an unknown one.
func requireSite(st *state, field, id string) (*Site, error) {
	s, err := st.site(id)
	if KindOf(err) == NotFound {
		return nil, rejectf(field, "site %s is not registered", id)
	}
	return s, err
}

func requireOrg(st *state, field, uscc string) (*Org, error) {
	o, err := st.org(uscc)
	if KindOf(err) == NotFound {
		return nil, rejectf(field, "org %s is not registered", uscc)
	}
	return o, err
}

func requireOnHand(l *Lot, field string, grams int64) error {
	if grams > l.Quantity.OnHand {
		return rejectf(field, "lot %s has %d g on hand, not %d g", l.TraceCode, l.Quantity.OnHand, grams)
	}
	return nil
}

// newLotRef makes a new lot id and a trace code no lot has.
func newLotRef(st *state, q Quantity) (CreatedLot, error) {
	for {
		code := newTraceCode()
		if _, err := st.resolveLot(code); KindOf(err) == NotFound {
			return CreatedLot{ID: uuid.NewString(), TraceCode: code, Quantity: q}, nil
		} else if err != nil {
			return CreatedLot{}, err
		}
	}
}

// withDefaultTemp fills the product's storage limit from its category, so
// that the record carries the limit the rules applied.
func withDefaultTemp(p Product) Product {
	if t, ok := defaultMaxTempC[p.Category]; ok && p.MaxTempC == nil {
		p.MaxTempC = &t
	}
	return p
}

func prepareDeclared(st *state, p Principal, rec *Record, _ *Lot) error {
	if _, err := requireSite(st, "site", rec.Site); err != nil {
		return err
	}
	prod := withDefaultTemp(*rec.Product)
	rec.Product = &prod
	c, err := newLotRef(st, *rec.Quantity)
	if err != nil {
		return err
	}
	rec.CreatedLots = []CreatedLot{c}
	return nil
}

func prepareTested(st *state, p Principal, rec *Record, l *Lot) error {
	if rec.Result == "positive" {
		// The record names the region where the positive was found: it
		// answers for the family's seal (authority.go).
		rec.Region = l.Region
		if rec.Region == "" && l.Transit != nil {
			rec.Region = l.Transit.ToRegion
		}
	}
	if rec.RetestOf != 0 {
		data, err := readRecord(st.tx, rec.RetestOf)
		if err != nil || rec.RetestOf >= rec.Seq {
			return rejectf("retest_of", "record %d does not exist", rec.RetestOf)
		}
		var r struct {
			Kind EventKind `json:"kind"`
		}
		if json.Unmarshal(data, &r) != nil || r.Kind != Tested {
			return rejectf("retest_of", "record %d is not a test", rec.RetestOf)
		}
	}
	return nil
}

func prepareReleased(st *state, p Principal, rec *Record, l *Lot) error {
	if l.Site == "" {
		return rejectf("lot", "lot %s is in transit; it is released where it is stored", l.TraceCode)
	}
	site, err := st.site(l.Site)
	if err != nil {
		return err
	}
	if site.Org != p.Org && site.Type != "port_yard" {
		return forbid("lot %s is at %s, which is neither this warehouse's site nor a port yard", l.TraceCode, l.Site)
	}
	if l.Release != nil {
		return &Error{Kind: Conflict, Msg: fmt.Sprintf("lot %s was already released by record %d", l.TraceCode, l.Release.Seq)}
	}
	return nil
}

func prepareShipped(st *state, p Principal, rec *Record, l *Lot) error {
	if err := requireOnHand(l, "quantity.grams", rec.Quantity.Grams); err != nil {
		return err
	}
	if _, err := requireOrg(st, "to_org", rec.ToOrg); err != nil {
		return err
	}
	to, err := requireSite(st, "to_site", rec.ToSite)
	if err != nil {
		return err
	}
	if to.Org != rec.ToOrg {
		return rejectf("to_site", "site %s belongs to %s, not to_org %s", to.ID, to.Org, rec.ToOrg)
	}
	if rec.Vehicle != nil && rec.Vehicle.Carrier != "" {
		if _, err := requireOrg(st, "vehicle.carrier", rec.Vehicle.Carrier); err != nil {
			return err
		}
	}
	if rec.Deadline == nil {
		d := rec.At.Add(DefaultTransitDeadline)
		rec.Deadline = &d
	} else if !rec.Deadline.After(rec.At) {
		return invalidField("deadline", "must be after at")
	}
	if rec.Quantity.Grams < l.Quantity.OnHand {
		c, err := newLotRef(st, *rec.Quantity)
		if err != nil {
			return err
		}
		rec.CreatedLots = []CreatedLot{c}
	}
	return nil
}

func prepareReceived(st *state, p Principal, rec *Record, l *Lot) error {
	site, err := requireSite(st, "site", rec.Site)
	if err != nil {
		return err
	}
	if site.Org != p.Org {
		return rejectf("site", "site %s belongs to %s, not to the receiver", site.ID, site.Org)
	}
	if rec.Quantity.Grams > l.Transit.Quantity {
		return rejectf("quantity.grams", "%d g received but only %d g were shipped", rec.Quantity.Grams, l.Transit.Quantity)
	}
	return nil
}

func prepareTransformed(st *state, p Principal, rec *Record, _ *Lot) error {
	site, err := requireSite(st, "site", rec.Site)
	if err != nil {
		return err
	}
	if site.Org != p.Org {
		return rejectf("site", "site %s belongs to %s, not to the processor", site.ID, site.Org)
	}
	var first *Lot
	for i := range rec.Inputs {
		in := &rec.Inputs[i]
		f := indexField("inputs", i)
		l, err := st.resolveLot(in.Lot)
		if KindOf(err) == NotFound {
			return rejectf(f+".lot", "no lot %s", in.Lot)
		} else if err != nil {
			return err
		}
		in.Lot = l.ID
		if slices.IndexFunc(rec.Inputs[:i], func(o LotAmount) bool { return o.Lot == l.ID }) >= 0 {
			return invalidField(f+".lot", "lists lot %s twice", l.TraceCode)
		}
		s, regions, err := lotStanding(st, p, l)
		if err != nil {
			return err
		}
		if err := authorize(rec.Kind, p, s, lotWhat(l), regions); err != nil {
			return err
		}
		if err := requireOnHand(l, f+".quantity.grams", in.Quantity.Grams); err != nil {
			return err
		}
		if first == nil {
			first = l
		}
	}
	rec.CreatedLots = nil
	for i := range rec.Outputs {
		out := &rec.Outputs[i]
		if out.Product.OriginCountry == "" {
			out.Product.OriginCountry = first.Product.OriginCountry
		}
		out.Product = withDefaultTemp(out.Product)
		c, err := newLotRef(st, out.Quantity)
		if err != nil {
			return err
		}
		rec.CreatedLots = append(rec.CreatedLots, c)
	}
	return nil
}

func prepareTakeOut(st *state, p Principal, rec *Record, l *Lot) error {
	return requireOnHand(l, "quantity.grams", rec.Quantity.Grams)
}

func prepareSealed(st *state, p Principal, rec *Record, l *Lot) error {
	if l.Status.Sealed {
		return &Error{Kind: Conflict, Msg: fmt.Sprintf("lot %s is already sealed (%s)", l.TraceCode, l.Status.SealReason)}
	}
	regions, err := jurisdiction(st, l)
	if err != nil {
		return err
	}
	// The record names the region in whose name the lot is sealed: only
	// that region or one above it lifts the seal.
	rec.Region = coveringPrefix(p, regions)
	return nil
}

func prepareUnsealed(st *state, p Principal, rec *Record, l *Lot) error {
	if !l.Status.Sealed {
		return rejectf("lot", "lot %s is not sealed", l.TraceCode)
	}
	sealRegion, err := recordRegion(st, l.Status.SealSeq)
	if err != nil {
		return err
	}
	// A positive's seals on its family (就地封存) are lifted by the region
	// where the positive was found or by the region where the lot lies.
	local := l.Status.SealSeq == l.Status.PositiveSeq && l.Region != "" && covers(p.Regions, l.Region)
	if !liftsSeal(p, sealRegion) && !local {
		return forbid("lot %s was sealed for region %s (record %d); only a regulator of %s or of a region above it lifts the seal (this key covers %s)",
			l.TraceCode, sealRegion, l.Status.SealSeq, sealRegion, strings.Join(p.Regions, ", "))
	}
	pos := l.Status.PositiveSeq
	if pos == 0 || l.Status.SealSeq > pos {
		return nil // sealed by hand after any positive: the regulator decides
	}
	if l.LastDisinfection == nil || l.LastDisinfection.Seq < pos {
		return rejectf("lot", "lot %s was sealed after a positive test (record %d) and has not been disinfected since", l.TraceCode, pos)
	}
	negative := false
	for _, root := range lotRoots(l) {
		err := st.scanIndex("root", root, func(id []byte) error {
			m, err := st.lot(string(id))
			if err != nil {
				return err
			}
			if m.LastTest != nil && m.LastTest.Seq > pos && m.LastTest.Result == "negative" {
				negative = true
				return ErrStop
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if !negative {
		return rejectf("lot", "lot %s was sealed after a positive test (record %d); its batch needs a negative retest first", l.TraceCode, pos)
	}
	return nil
}

func prepareSiteTested(st *state, p Principal, rec *Record, _ *Lot) error {
	if _, err := requireSite(st, "site", rec.Site); err != nil {
		return err
	}
	if rec.WindowDays == 0 {
		rec.WindowDays = DefaultSiteWindowDays
	}
	return nil
}

func prepareSiteDisinfected(st *state, p Principal, rec *Record, _ *Lot) error {
	site, err := requireSite(st, "site", rec.Site)
	if err != nil {
		return err
	}
	return authorizeSite(p, rec.Kind, site)
}

func prepareVoided(st *state, p Principal, rec *Record, _ *Lot) error {
	v := rec.Voids
	if v >= rec.Seq {
		return rejectf("voids", "record %d does not exist yet", v)
	}
	data, err := readRecord(st.tx, v)
	if err != nil {
		return rejectf("voids", "record %d does not exist", v)
	}
	target, err := DecodeRecord(data)
	if err != nil {
		return err
	}
	switch {
	case target.Kind == OrgRegistered || target.Kind == SiteRegistered || target.Kind == KeyCreated || target.Kind == KeyRevoked:
		return rejectf("voids", "record %d is a registry record; only lot records can be voided", v)
	case target.Kind == Voided || target.Kind == FindingClosed || target.Kind == TransitOverdue:
		return rejectf("voids", "a %s record cannot be voided", target.Kind)
	}
	var rl recordLots
	if err := st.getJSON(stateKey("rec", string(be64(v))), &rl); err != nil && KindOf(err) != NotFound {
		return err
	}
	// Authority before anything about the record's lots: what the key is to the record and to its lots.
	var s standing
	if p.Org != "" && target.Actor.Org == p.Org {
		s |= asRecorder
	}
	var regions []string
	for _, id := range rl.Lots {
		l, err := st.lot(id)
		if KindOf(err) == NotFound {
			continue // created by the record and gone with an earlier void
		} else if err != nil {
			return err
		}
		ls, rs, err := lotStanding(st, p, l)
		if err != nil {
			return err
		}
		s |= ls & inJurisdiction
		regions = append(regions, rs...)
	}
	what := fmt.Sprintf("record %d", v)
	if err := authorize(Voided, p, s, what, slices.Compact(regions)); err != nil {
		return err
	}
	byRegulator := s&inJurisdiction != 0 && p.Role == RoleRegulator
	switch {
	case len(rl.Lots) == 0:
		return rejectf("voids", "record %d changed no lot; only lot records can be voided", v)
	case !byRegulator && target.Kind == Tested && target.Result == "positive":
		return forbid("a positive result is voided only by a regulator of the region where the goods are; a lab may not void its own positive")
	}
	if _, err := st.get(stateKey("voided", string(be64(v)))); err == nil {
		return &Error{Kind: Conflict, Msg: fmt.Sprintf("record %d is already voided", v)}
	}
	for _, id := range rl.Lots {
		var prev lotPrev
		if err := st.getJSON(stateKey("lotprev", id), &prev); err != nil {
			return err
		}
		if prev.Seq == v {
			continue
		}
		if !byRegulator {
			return rejectf("voids", "record %d is not the latest record of lot %s (record %d is); an org voids only its own latest record of a lot, a regulator of the region any record", v, id, prev.Seq)
		}
		if err := checkOlderVoid(target, id, prev.Seq); err != nil {
			return err
		}
	}
	return nil
}

func prepareFindingClosed(st *state, p Principal, rec *Record, _ *Lot) error {
	f, err := st.finding(rec.Finding)
	if KindOf(err) == NotFound {
		return rejectf("finding", "no finding %s", rec.Finding)
	} else if err != nil {
		return err
	}
	// A finding is closed by the region it was filed in, or by the region
	// answerable for its lot now.
	var s standing
	regions := []string{f.Region}
	if p.Role == RoleRegulator && covers(p.Regions, f.Region) {
		s |= inJurisdiction
	}
	if f.Lot != "" {
		l, err := st.lot(f.Lot)
		if err != nil && KindOf(err) != NotFound {
			return err
		}
		if l != nil {
			ls, rs, err := lotStanding(st, p, l)
			if err != nil {
				return err
			}
			s |= ls & inJurisdiction
			regions = append(regions, rs...)
		}
	}
	if err := authorize(FindingClosed, p, s, "finding "+f.ID, slices.Compact(regions)); err != nil {
		return err
	}
	if !f.Open {
		return &Error{Kind: Conflict, Msg: fmt.Sprintf("finding %s is already closed", f.ID)}
	}
	return nil
}

// authorizeSite authorises a site event by what p is to site.
func authorizeSite(p Principal, kind EventKind, site *Site) error {
	var s standing
	if p.Org != "" && p.Org == site.Org {
		s |= asSiteOrg
	}
	if p.Role == RoleRegulator && covers(p.Regions, site.Region) {
		s |= inJurisdiction
	}
	return authorize(kind, p, s, "site "+site.ID, []string{site.Region})
}

// lotRoots returns the root batches of a lot.
func lotRoots(l *Lot) []string {
	if len(l.Roots) > 0 {
		return l.Roots
	}
	return []string{l.Root}
}

// ---- apply ----

// applyLot wraps a kind's apply with what every lot and site event shares:
// the record indexes, the attachments' lot index, the documents and the
// orgs of the lot, the closed flags, and writing the changed lots.
func applyLot(own func(lt *lotTx, l *Lot, fx *effects) error) func(st *state, rec *Record, fx *effects) error {
	return func(st *state, rec *Record, fx *effects) error {
		lt := newLotTx(st, rec)
		var l *Lot
		if rec.Lot != "" {
			var err error
			if l, err = lt.get(rec.Lot); err != nil {
				return err
			}
			l.addOrg(rec.Actor.Org)
			l.addDocuments(rec.Attachments)
			for _, a := range rec.Attachments {
				if err := st.tx.Set(indexKey("att-lot", a.SHA256, []byte(l.ID)), nil); err != nil {
					return err
				}
			}
			fx.lot = l
		}
		if err := own(lt, l, fx); err != nil {
			return err
		}
		if err := lt.refreshClosed(); err != nil {
			return err
		}
		if err := lt.flush(); err != nil {
			return err
		}
		return indexRecord(st, rec)
	}
}

// indexRecord adds the record-level index entries of a lot or site event.
func indexRecord(st *state, rec *Record) error {
	seq := be64(rec.Seq)
	ks := [][]byte{
		indexKey("ev-kind", string(rec.Kind), seq),
		indexKey("ev-at", "", append(be64(rec.At.UnixMicro()), seq...)),
	}
	if rec.Actor.Org != "" {
		ks = append(ks, indexKey("ev-org", rec.Actor.Org, seq))
	}
	for _, s := range []string{rec.Site, rec.ToSite} {
		if s != "" {
			ks = append(ks, indexKey("ev-site", s, seq))
		}
	}
	for _, k := range ks {
		if err := st.tx.Set(k, nil); err != nil {
			return err
		}
	}
	return nil
}

// newStay starts a stay of the lot at a site.
func (lt *lotTx) newStay(l *Lot, org string, site *Site) {
	l.Holder, l.Site, l.Region = org, site.ID, site.Region
	l.Custody = append(l.Custody, Stay{Org: org, Site: site.ID, Region: site.Region, From: lt.rec.At, Seq: lt.rec.Seq})
	l.addOrg(org)
}

// endStay ends the lot's current stay (it leaves its site).
func (lt *lotTx) endStay(l *Lot) {
	if n := len(l.Custody); n > 0 && l.Custody[n-1].To == nil {
		at := lt.rec.At
		l.Custody[n-1].To = &at
	}
	l.Site, l.Region = "", ""
}

func applyDeclared(lt *lotTx, _ *Lot, fx *effects) error {
	rec := lt.rec
	site, err := lt.st.site(rec.Site)
	if err != nil {
		return err
	}
	c := rec.CreatedLots[0]
	l := &Lot{
		ID: c.ID, TraceCode: c.TraceCode, Root: c.ID, Parents: []string{}, Children: []string{},
		Product: *rec.Product, Pieces: rec.Quantity.Pieces, DeclarationNo: rec.DeclarationNo, Containers: rec.Containers,
		Importer: rec.Actor.Org, DeclaredAt: rec.At, CreatedAt: rec.At, CreatedSeq: rec.Seq,
		Quantity:  LotQuantity{Declared: c.Quantity.Grams, OnHand: c.Quantity.Grams},
		Documents: []string{}, Findings: []string{},
	}
	lt.newStay(l, rec.Actor.Org, site)
	l.addDocuments(rec.Attachments)
	for _, a := range rec.Attachments {
		if err := lt.st.tx.Set(indexKey("att-lot", a.SHA256, []byte(l.ID)), nil); err != nil {
			return err
		}
	}
	lt.create(l)
	fx.lot = l
	return nil
}

func applyTested(lt *lotTx, l *Lot, fx *effects) error {
	rec := lt.rec
	l.LastTest = &Mark{Seq: rec.Seq, At: rec.At, Result: rec.Result}
	l.TestedSinceArrival = true
	if rec.Result == "negative" {
		l.Status.Positive = false
		return nil
	}
	l.Status.Positive = true
	if err := lt.open(RulePositiveTest, l, fmt.Sprintf("lot %s tested positive (%d samples, %s); its batch is sealed where it is", l.TraceCode, rec.Samples, strings.Join(rec.Scope, ", ")), fx); err != nil {
		return err
	}
	// Seal the lot, its root batch and every lot descended from it, wherever
	// they are.
	reason := fmt.Sprintf("核酸检测阳性：%s（记录 %d）", l.TraceCode, rec.Seq)
	for _, root := range lotRoots(l) {
		var ids []string
		if err := lt.st.scanIndex("root", root, func(id []byte) error { ids = append(ids, string(id)); return nil }); err != nil {
			return err
		}
		for _, id := range ids {
			m, err := lt.get(id)
			if err != nil {
				return err
			}
			if m.terminal() {
				continue // nothing left to seal
			}
			m.Status.Sealed, m.Status.SealReason, m.Status.SealSeq, m.Status.PositiveSeq = true, reason, rec.Seq, rec.Seq
		}
	}
	l.Status.Sealed, l.Status.SealReason, l.Status.SealSeq, l.Status.PositiveSeq = true, reason, rec.Seq, rec.Seq
	return nil
}

func applyDisinfected(lt *lotTx, l *Lot, fx *effects) error {
	l.LastDisinfection = &Mark{Seq: lt.rec.Seq, At: lt.rec.At}
	return nil
}

func applyReleased(lt *lotTx, l *Lot, fx *effects) error {
	l.Release = &Mark{Seq: lt.rec.Seq, At: lt.rec.At}
	return nil
}

// judgeOutflow opens the findings due when goods leave a lot's hands: moved
// while sealed, to market without the four papers, out of a site without
// the arrival test, and temperature.
func (lt *lotTx) judgeOutflow(l *Lot, toMarket bool, fx *effects) error {
	rec := lt.rec
	if l.Status.Sealed && rec.Kind != Destroyed {
		if err := lt.open(RuleSealedMoved, l, fmt.Sprintf("lot %s is sealed (%s) but was %s", l.TraceCode, l.Status.SealReason, rec.Kind), fx); err != nil {
			return err
		}
	}
	if rec.Kind != Destroyed {
		if missing := l.missingForMarket(); len(missing) > 0 && toMarket {
			if err := lt.open(RuleFourNo, l, fmt.Sprintf("lot %s was %s without: %s", l.TraceCode, rec.Kind, strings.Join(missing, ", ")), fx); err != nil {
				return err
			}
		}
		if l.ArrivedSeq > 0 && !l.TestedSinceArrival && l.Product.Category != CategoryNonColdChain && l.Site != "" {
			site, err := lt.st.site(l.Site)
			if err != nil {
				return err
			}
			if slices.Contains(arrivalTestSiteTypes, site.Type) {
				if err := lt.open(RuleUntestedAfterArrival, l, fmt.Sprintf("lot %s arrived at %s (record %d) and was %s without a test there", l.TraceCode, l.Site, l.ArrivedSeq, rec.Kind), fx); err != nil {
					return err
				}
			}
		}
	}
	return lt.judgeTemperature(l, rec.TemperatureC, fx)
}

func (lt *lotTx) judgeTemperature(l *Lot, t *float64, fx *effects) error {
	limit, ok := l.maxTempC()
	if t == nil || !ok || *t <= limit {
		return nil
	}
	return lt.open(RuleTemperatureExcursion, l, fmt.Sprintf("lot %s (%s) was at %.1f °C, above its limit of %.1f °C (record %d)", l.TraceCode, l.Product.Category, *t, limit, lt.rec.Seq), fx)
}

// inherit returns a new lot made of (part of) parent: same product, batch,
// papers and test history.
func inherit(parent *Lot, c CreatedLot, rec *Record) *Lot {
	return &Lot{
		ID: c.ID, TraceCode: c.TraceCode, Root: parent.Root, Roots: parent.Roots, Parents: []string{parent.ID}, Children: []string{},
		Product: parent.Product, Pieces: c.Quantity.Pieces, DeclarationNo: parent.DeclarationNo,
		Importer: parent.Importer, DeclaredAt: parent.DeclaredAt, CreatedAt: rec.At, CreatedSeq: rec.Seq,
		Quantity: LotQuantity{Declared: c.Quantity.Grams}, Status: LotStatus{
			Sealed: parent.Status.Sealed, SealReason: parent.Status.SealReason, SealSeq: parent.Status.SealSeq,
			PositiveSeq: parent.Status.PositiveSeq, Positive: parent.Status.Positive,
		},
		Documents: slices.Clone(parent.Documents), Findings: []string{},
		LastTest: parent.LastTest, LastDisinfection: parent.LastDisinfection, Release: parent.Release,
		Orgs: slices.Clone(parent.Orgs),
	}
}

func applyShipped(lt *lotTx, l *Lot, fx *effects) error {
	rec := lt.rec
	from, err := lt.st.site(l.Site)
	if err != nil {
		return err
	}
	to, err := lt.st.site(rec.ToSite)
	if err != nil {
		return err
	}
	toMarket := from.Type == "supervision_warehouse" || slices.Contains(marketSiteTypes, to.Type)
	q := rec.Quantity.Grams
	moving := l
	if len(rec.CreatedLots) > 0 {
		moving = inherit(l, rec.CreatedLots[0], rec)
		l.Quantity.OnHand -= q
		l.Quantity.Split += q
		l.Children = append(l.Children, moving.ID)
		moving.Custody = []Stay{}
		moving.Holder = l.Holder
		lt.create(moving)
	} else {
		l.Quantity.OnHand -= q
		lt.endStay(l)
	}
	moving.Quantity.InTransit = q
	moving.Transit = &Transit{Seq: rec.Seq, From: l.Holder, FromSite: from.ID, FromRegion: from.Region, ToOrg: rec.ToOrg, ToSite: to.ID, ToRegion: to.Region,
		Since: rec.At, Deadline: *rec.Deadline, Quantity: q}
	moving.addOrg(rec.ToOrg)
	if v := rec.Vehicle; v != nil {
		moving.Transit.Plate, moving.Transit.Carrier = v.Plate, v.Carrier
		moving.Vehicles = append(moving.Vehicles, VehicleUse{Plate: v.Plate, Carrier: v.Carrier, From: rec.At, Seq: rec.Seq})
		moving.addOrg(v.Carrier)
	}
	// Judge the goods as they were at the site they left.
	judged := *moving
	judged.Site, judged.Region = from.ID, from.Region
	judged.ArrivedSeq, judged.TestedSinceArrival = l.ArrivedSeq, l.TestedSinceArrival
	if err := lt.judgeOutflow(&judged, toMarket, fx); err != nil {
		return err
	}
	moving.Findings, moving.OpenFindings = judged.Findings, judged.OpenFindings
	return nil
}

func applyReceived(lt *lotTx, l *Lot, fx *effects) error {
	rec := lt.rec
	site, err := lt.st.site(rec.Site)
	if err != nil {
		return err
	}
	t := l.Transit
	got := rec.Quantity.Grams
	l.Quantity.InTransit -= t.Quantity
	l.Quantity.OnHand += got
	l.Quantity.Lost += t.Quantity - got
	for i := range l.Vehicles {
		if l.Vehicles[i].To == nil {
			at := rec.At
			l.Vehicles[i].To = &at
		}
	}
	l.Transit = nil
	lt.newStay(l, rec.Actor.Org, site)
	l.ArrivedSeq, l.TestedSinceArrival = rec.Seq, false
	if got < t.Quantity {
		if err := lt.open(RuleShortReceipt, l, fmt.Sprintf("lot %s: %d g shipped (record %d), %d g received; %d g recorded lost", l.TraceCode, t.Quantity, t.Seq, got, t.Quantity-got), fx); err != nil {
			return err
		}
	}
	if !t.Overdue && rec.At.After(t.Deadline) {
		if err := lt.open(RuleTransitOverdue, l, fmt.Sprintf("lot %s shipped %s (record %d) was received %s, after its deadline %s", l.TraceCode, t.Since.Format(time.RFC3339), t.Seq, rec.At.Format(time.RFC3339), t.Deadline.Format(time.RFC3339)), fx); err != nil {
			return err
		}
	}
	if t.Overdue && !rec.At.After(t.Deadline) {
		// The sweep found no receipt by the deadline, but the goods arrived
		// in time and the receipt was recorded late: the overdue finding
		// of this shipment was a false alarm.
		if err := lt.closeOverdue(l, t, fmt.Sprintf("received %s, within the deadline %s; the receipt (record %d) was recorded late", rec.At.Format(time.RFC3339), t.Deadline.Format(time.RFC3339), rec.Seq)); err != nil {
			return err
		}
	}
	return lt.judgeTemperature(l, rec.TemperatureC, fx)
}

func applyTransformed(lt *lotTx, _ *Lot, fx *effects) error {
	rec := lt.rec
	site, err := lt.st.site(rec.Site)
	if err != nil {
		return err
	}
	var inputs []*Lot
	for _, in := range rec.Inputs {
		l, err := lt.get(in.Lot)
		if err != nil {
			return err
		}
		l.addOrg(rec.Actor.Org)
		if err := lt.judgeOutflow(l, false, fx); err != nil {
			return err
		}
		l.Quantity.OnHand -= in.Quantity.Grams
		l.Quantity.Transformed += in.Quantity.Grams
		inputs = append(inputs, l)
	}
	for i, c := range rec.CreatedLots {
		out := inherit(inputs[0], c, rec)
		out.Product = rec.Outputs[i].Product
		out.Parents, out.Roots = nil, nil
		for _, in := range inputs {
			out.Parents = append(out.Parents, in.ID)
			for _, r := range lotRoots(in) {
				if !slices.Contains(out.Roots, r) {
					out.Roots = append(out.Roots, r)
				}
			}
			in.Children = append(in.Children, out.ID)
			// The product is only as cleared as its least cleared input.
			out.Documents = slices.DeleteFunc(out.Documents, func(d string) bool { return !slices.Contains(in.Documents, d) })
			out.LastTest = weakerMark(out.LastTest, in.LastTest)
			out.LastDisinfection = weakerMark(out.LastDisinfection, in.LastDisinfection)
			out.Release = weakerMark(out.Release, in.Release)
			if in.Status.Sealed && !out.Status.Sealed {
				out.Status.Sealed, out.Status.SealReason, out.Status.SealSeq, out.Status.PositiveSeq = true, in.Status.SealReason, in.Status.SealSeq, in.Status.PositiveSeq
			}
			out.Status.Positive = out.Status.Positive || in.Status.Positive
			for _, o := range in.Orgs {
				out.addOrg(o)
			}
		}
		if len(out.Roots) == 1 {
			out.Roots = nil
		}
		out.Root = lotRoots(inputs[0])[0]
		out.Quantity.OnHand = c.Quantity.Grams
		lt.newStay(out, rec.Actor.Org, site)
		lt.create(out)
	}
	return nil
}

// weakerMark returns the mark that counts for a product made of two inputs:
// none if either has none, else the older.
func weakerMark(a, b *Mark) *Mark {
	if a == nil || b == nil {
		return nil
	}
	if b.Seq < a.Seq || (b.Result != "" && b.Result != "negative") {
		return b
	}
	return a
}

func applyTakeOut(bucket func(q *LotQuantity) *int64, toMarket bool) func(lt *lotTx, l *Lot, fx *effects) error {
	return func(lt *lotTx, l *Lot, fx *effects) error {
		if err := lt.judgeOutflow(l, toMarket, fx); err != nil {
			return err
		}
		g := lt.rec.Quantity.Grams
		l.Quantity.OnHand -= g
		*bucket(&l.Quantity) += g
		return nil
	}
}

func applyDestroyed(lt *lotTx, l *Lot, fx *effects) error {
	g := lt.rec.Quantity.Grams
	l.Quantity.OnHand -= g
	if lt.rec.Method == "return_export" {
		l.Quantity.Returned += g
	} else {
		l.Quantity.Destroyed += g
	}
	return nil
}

func applySealed(lt *lotTx, l *Lot, fx *effects) error {
	l.Status.Sealed, l.Status.SealReason, l.Status.SealSeq = true, lt.rec.Reason, lt.rec.Seq
	return nil
}

func applyUnsealed(lt *lotTx, l *Lot, fx *effects) error {
	l.Status.Sealed, l.Status.SealReason, l.Status.SealSeq = false, "", 0
	return nil
}

func applyTemperatureRecorded(lt *lotTx, l *Lot, fx *effects) error {
	return lt.judgeTemperature(l, lt.rec.MaxC, fx)
}

func applySiteTested(lt *lotTx, _ *Lot, fx *effects) error {
	rec := lt.rec
	if *rec.Positives == 0 {
		return nil
	}
	site, err := lt.st.site(rec.Site)
	if err != nil {
		return err
	}
	start := rec.At.Add(-time.Duration(rec.WindowDays) * 24 * time.Hour)
	// Stays at the site that ended at or after the window's start.
	var ids []string
	p := indexPrefix("stay", site.ID)
	err = lt.st.tx.Scan(p, append(p, be64(start.UnixMicro())...), false, func(k, _ []byte) error {
		id := string(k[len(p)+8:])
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	n := 0
	for _, id := range ids {
		l, err := lt.peek(id)
		if err != nil {
			return err
		}
		present := slices.ContainsFunc(l.Custody, func(s Stay) bool {
			return s.Site == site.ID && !s.From.After(rec.At) && (s.To == nil || !s.To.Before(start))
		})
		if !present {
			continue
		}
		if l, err = lt.get(id); err != nil {
			return err
		}
		n++
		if err := lt.open(RuleSitePositive, l, fmt.Sprintf("lot %s was at %s within %d days of a positive %s test there (%d of %d samples, record %d)", l.TraceCode, site.ID, rec.WindowDays, strings.Join(rec.Scope, "/"), *rec.Positives, rec.Samples, rec.Seq), fx); err != nil {
			return err
		}
	}
	if n == 0 {
		return lt.openAtSite(RuleSitePositive, site, fmt.Sprintf("site %s tested positive (%s, %d of %d samples); no lot was there in the %d days before", site.ID, strings.Join(rec.Scope, "/"), *rec.Positives, rec.Samples, rec.WindowDays), fx)
	}
	return nil
}

func applySiteDisinfected(lt *lotTx, _ *Lot, fx *effects) error { return nil }

func applyFindingClosed(lt *lotTx, _ *Lot, fx *effects) error {
	f, err := lt.st.finding(lt.rec.Finding)
	if err != nil {
		return err
	}
	return lt.close(f, lt.rec.Reason)
}

func applyTransitOverdue(lt *lotTx, _ *Lot, fx *effects) error {
	for _, id := range lt.rec.Lots {
		l, err := lt.peek(id)
		if err != nil {
			return err
		}
		if l.Transit == nil || l.Transit.Overdue {
			continue
		}
		if l, err = lt.get(id); err != nil {
			return err
		}
		l.Transit.Overdue = true
		t := l.Transit
		if err := lt.open(RuleTransitOverdue, l, fmt.Sprintf("lot %s shipped %s to %s (record %d) was not received by its deadline %s", l.TraceCode, t.Since.Format(time.RFC3339), t.ToSite, t.Seq, t.Deadline.Format(time.RFC3339)), fx); err != nil {
			return err
		}
	}
	return nil
}

// applyVoided undoes a record: every lot it changed goes back to its state
// before it, and the findings it opened are closed.
func applyVoided(st *state, rec *Record, fx *effects) error {
	v := rec.Voids
	var rl recordLots
	if err := st.getJSON(stateKey("rec", string(be64(v))), &rl); err != nil {
		return err
	}
	for _, id := range rl.Lots {
		var prev lotPrev
		if err := st.getJSON(stateKey("lotprev", id), &prev); err != nil {
			return err
		}
		if prev.Seq != v {
			data, err := readRecord(st.tx, v)
			if err != nil {
				return err
			}
			target, err := DecodeRecord(data)
			if err != nil {
				return err
			}
			return applyOlderVoid(st, rec, target, rl, fx)
		}
	}
	for _, id := range rl.Lots {
		var prev lotPrev
		if err := st.getJSON(stateKey("lotprev", id), &prev); err != nil {
			return err
		}
		cur, err := st.lot(id)
		if err != nil {
			return err
		}
		curData, _ := json.Marshal(cur)
		var before *Lot
		if string(prev.Before) != "null" {
			before = new(Lot)
			if err := json.Unmarshal(prev.Before, before); err != nil {
				return err
			}
		}
		if err := st.reindex(cur, before); err != nil {
			return err
		}
		if before == nil {
			err = st.tx.Delete(stateKey("lot", id))
		} else {
			err = st.tx.Set(stateKey("lot", id), prev.Before)
		}
		if err != nil {
			return err
		}
		next := encodeLotPrev(rec.Seq, curData)
		if err := st.tx.Set(stateKey("lotprev", id), next); err != nil {
			return err
		}
		if err := st.tx.Set(indexKey("lot-ev", id, be64(rec.Seq)), nil); err != nil {
			return err
		}
	}
	for _, id := range rl.Findings {
		f, err := st.finding(id)
		if err != nil {
			return err
		}
		if !f.Open {
			continue
		}
		old := *f
		at := rec.At
		f.Open, f.ClosedSeq, f.ClosedAt, f.ClosedReason = false, rec.Seq, &at, fmt.Sprintf("record %d voided: %s", v, rec.Reason)
		if err := st.putFinding(&old, f); err != nil {
			return err
		}
	}
	if err := st.tx.Set(stateKey("voided", string(be64(v))), be64(rec.Seq)); err != nil {
		return err
	}
	if err := st.put(stateKey("rec", string(be64(rec.Seq))), recordLots{Lots: rl.Lots}); err != nil {
		return err
	}
	return indexRecord(st, rec)
}
