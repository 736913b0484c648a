package ledger

import (
	"fmt"
	"slices"
	"time"

	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
)

// The moves family: shipped (a whole lot or a split-off child), received,
// and the grams that leave for good, sold, consumed and destroyed; check,
// prepare and apply of each.

func checkShipped(ev *Event, fe *fault.Fields) {
	if !ident.USCCShapeOK(ev.ToOrg) {
		fe.Add("to_org", "is required (the receiver's unified social credit code)")
	}
	checkSiteRef(fe, "to_site", ev.ToSite)
	checkQuantity(fe, "quantity", ev.Quantity, true)
	if v := ev.Vehicle; v != nil {
		if !ident.ValidPlate(v.Plate) {
			fe.Add("vehicle.plate", "is not a Chinese vehicle plate (such as 沪A12345 or 浙AD12345)")
		}
		if v.Carrier != "" && !ident.USCCShapeOK(v.Carrier) {
			fe.Add("vehicle.carrier", "is not a unified social credit code")
		}
		if v.GIAI != "" {
			if err := epcis.ValidGIAI(v.GIAI); err != nil {
				fe.Add("vehicle.giai", "is not a GS1 GIAI: %v", err)
			}
		}
	}
	checkTemp(fe, "temperature_c", ev.TemperatureC)
	if ev.Deadline != nil && !ev.At.IsZero() && !ev.Deadline.After(ev.At) {
		fe.Add("deadline", "must be after at")
	}
}

func prepareShipped(st *state, p Principal, rec *Record, l *Lot) error {
	if err := stopped(st, rec, l); err != nil {
		return err
	}
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
		return fault.Rejectf("to_site", "site %s belongs to %s, not to_org %s", to.ID, to.Org, rec.ToOrg)
	}
	if rec.Vehicle != nil && rec.Vehicle.Carrier != "" {
		if _, err := requireOrg(st, "vehicle.carrier", rec.Vehicle.Carrier); err != nil {
			return err
		}
	}
	if rec.Deadline == nil {
		d := rec.At.Add(DefaultTransitDeadline)
		rec.Deadline = &d
	} else if err := transitLimit(st, rec); err != nil {
		return err
	} else if !rec.Deadline.After(rec.At) {
		return fault.InvalidField("deadline", "must be after at")
	}
	// The region the goods leave: a shipment that names it is indexed by
	// plate for contacts by vehicle (vehicle_contacts.go).
	rec.Region = l.Region
	if rec.Quantity.Grams < l.Quantity.OnHand {
		c, err := newLotRef(st, *rec.Quantity)
		if err != nil {
			return err
		}
		rec.CreatedLots = []CreatedLot{c}
	}
	return nil
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
		if rec.Region != "" {
			if err := lt.st.tx.Set(plateUseKey(v.Plate, rec.At, moving.ID), nil); err != nil {
				return err
			}
		}
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
		Clearance: parent.Clearance.clone(), Orgs: slices.Clone(parent.Orgs),
	}
}

func checkReceived(ev *Event, fe *fault.Fields) {
	checkSiteRef(fe, "site", ev.Site)
	checkQuantity(fe, "quantity", ev.Quantity, true)
	checkTemp(fe, "temperature_c", ev.TemperatureC)
}

func prepareReceived(st *state, p Principal, rec *Record, l *Lot) error {
	site, err := requireSite(st, "site", rec.Site)
	if err != nil {
		return err
	}
	if site.Org != p.Org {
		return fault.Rejectf("site", "site %s belongs to %s, not to the receiver", site.ID, site.Org)
	}
	if rec.Quantity.Grams > l.Transit.Quantity {
		return fault.Rejectf("quantity.grams", "%d g received but only %d g were shipped", rec.Quantity.Grams, l.Transit.Quantity)
	}
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

func checkSold(ev *Event, fe *fault.Fields) {
	checkQuantity(fe, "quantity", ev.Quantity, true)
	checkOneOf(fe, "channel", ev.Channel, SaleChannels, true)
	if b := ev.Buyer; b != nil {
		if !ident.USCCShapeOK(b.USCC) {
			fe.Add("buyer.uscc", "is not a unified social credit code")
		}
		checkText(fe, "buyer.name", b.Name, true, 200)
	}
}

func checkConsumed(ev *Event, fe *fault.Fields) {
	checkQuantity(fe, "quantity", ev.Quantity, true)
}

func prepareTakeOut(st *state, p Principal, rec *Record, l *Lot) error {
	if err := stopped(st, rec, l); err != nil {
		return err
	}
	if err := requireOnHand(l, "quantity.grams", rec.Quantity.Grams); err != nil {
		return err
	}
	return saleable(st, rec)
}

func applyTakeOut(bucket func(q *LotQuantity) *int64, toMarket bool) func(lt *lotTx, l *Lot, fx *effects) error {
	return func(lt *lotTx, l *Lot, fx *effects) error {
		if err := lt.judgeOutflow(l, toMarket, fx); err != nil {
			return err
		}
		if err := lt.judgeLeftLedger(l, fx); err != nil {
			return err
		}
		g := lt.rec.Quantity.Grams
		l.Quantity.OnHand -= g
		*bucket(&l.Quantity) += g
		return nil
	}
}

func checkDestroyed(ev *Event, fe *fault.Fields) {
	checkQuantity(fe, "quantity", ev.Quantity, true)
	checkOneOf(fe, "method", ev.Method, DestroyMethods, true)
	checkText(fe, "order", ev.Order, false, 200)
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
