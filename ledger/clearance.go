package ledger

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
)

// What "cleared", "closed" and "sealed" mean under policy version 1: the
// refusals that keep one key from manufacturing a status. Each is called by
// its kind's prepare (goods.go, inspections.go, moves.go, regulator.go);
// the parts of cleared themselves are judged in policy.go.

// RuleLateReport and RuleLeftLedger are the findings policy version 1 adds.
const (
	RuleLateReport = "late_report" // a positive or a seal recorded later than the reporting limit
	RuleLeftLedger = "left_ledger" // goods sold wholesale or for processing to a business not on the ledger
)

// minEventTime is the earliest time an event may have happened.
var minEventTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// firstStationTypes are the sites where imported goods may be declared.
var firstStationTypes = []string{"port_yard", "supervision_warehouse", "cold_store"}

// policyV1 returns the policy in force when it is version 1 or later.
func (st *state) policyV1() (Policy, bool, error) {
	p, err := st.policy()
	return p, err == nil && p.Version >= 1, err
}

// stopped refuses moving a sealed lot: shipping, selling, consuming or
// processing it. Only a regulator-ordered destruction or return (a
// destroyed record with its order), or an unseal, moves it.
func stopped(st *state, rec *Record, l *Lot) error {
	if !l.Status.Sealed {
		return nil
	}
	if _, v1, err := st.policyV1(); err != nil || !v1 {
		return err
	}
	if rec.Kind == Destroyed && rec.Order != "" {
		return nil
	}
	by, at, region := "", "", ""
	if seal, err := st.record(l.Status.SealSeq); err == nil {
		by, at, region = seal.Actor.Org, seal.At.Format(time.RFC3339), seal.Region
	}
	return &fault.Error{Kind: fault.Conflict, Msg: fmt.Sprintf("lot %s is sealed (就地封存) by record %d of %s for region %s at %s: %s; only an unseal, or a destruction or return on the regulator's order, moves it",
		l.TraceCode, l.Status.SealSeq, by, region, at, l.Status.SealReason),
		Fields: []fault.FieldError{{Field: "lot", Message: "is sealed"}}}
}

// releasable refuses a release unless the lot lies at the releasing
// warehouse's own site and has the test and disinfection its category
// needs.
func releasable(st *state, p Principal, l *Lot) error {
	pol, v1, err := st.policyV1()
	if err != nil || !v1 {
		return err
	}
	site, err := st.site(l.Site)
	if err != nil {
		return err
	}
	if site.Org != p.Org {
		return forbid("lot %s lies at %s (%s), not at this supervision warehouse's site; a warehouse releases only goods in its custody", l.TraceCode, site.ID, site.Type)
	}
	var missing []string
	for _, part := range pol.parts(l.Product.Category) {
		if part != PartRelease && part != PartPapers && l.Clearance.mark(part) == nil {
			missing = append(missing, PartText[part][1])
		}
	}
	if l.Status.Positive {
		missing = append(missing, "a negative test after the positive")
	}
	if len(missing) > 0 {
		return fault.Rejectf("lot", "lot %s cannot be released yet; it lacks %s", l.TraceCode, strings.Join(missing, "; "))
	}
	return nil
}

// liftable refuses unsealing a lot of a positive batch until that very lot
// has a negative retest of goods and packaging by a lab and a disinfection
// by a disinfector, both after the positive.
func liftable(st *state, l *Lot) (bool, error) {
	_, v1, err := st.policyV1()
	if err != nil || !v1 {
		return false, err
	}
	pos := l.Status.PositiveSeq
	if pos == 0 || l.Status.SealSeq > pos {
		return true, nil
	}
	var missing []string
	if t := l.Clearance.mark(PartTest); t == nil || t.Seq < pos {
		missing = append(missing, "a negative retest of this lot's goods and packaging after the positive")
	}
	if d := l.Clearance.mark(PartDisinfection); d == nil || d.Seq < pos {
		missing = append(missing, "a disinfection of this lot by a disinfector after the positive")
	}
	if len(missing) > 0 {
		return true, fault.Rejectf("lot", "lot %s was sealed after a positive test (record %d); it needs %s", l.TraceCode, pos, strings.Join(missing, " and "))
	}
	return true, nil
}

// declarable refuses a declaration away from a first station or repeating
// one already recorded.
func declarable(st *state, p Principal, rec *Record, site *Site) error {
	if _, v1, err := st.policyV1(); err != nil || !v1 {
		return err
	}
	if !slices.Contains(firstStationTypes, site.Type) {
		return fault.Rejectf("site", "site %s is a %s; goods are declared at their first station: a port yard, a supervision warehouse or a cold store", site.ID, site.Type)
	}
	if site.Type != "port_yard" {
		org, err := st.org(p.Org)
		if err != nil {
			return err
		}
		if org.Region[:2] != site.Region[:2] {
			return fault.Rejectf("site", "site %s is in region %s, outside the importer's province (%s); declare at the port yard or at a first station in the importer's province", site.ID, site.Region, org.Region)
		}
	}
	var dup *Lot
	err := st.scanIndex(idxDeclaration, rec.DeclarationNo, func(id []byte) error {
		l, err := st.lot(string(id))
		if err != nil {
			return err
		}
		if l.Parents != nil && len(l.Parents) > 0 {
			return nil // a child lot keeps its batch's number
		}
		for _, c := range rec.Containers {
			if slices.ContainsFunc(l.Containers, func(o Container) bool { return o.Number == c.Number }) {
				dup = l
				return fault.ErrStop
			}
		}
		if len(rec.Containers) == 0 && len(l.Containers) == 0 {
			dup = l
			return fault.ErrStop
		}
		return nil
	})
	if err != nil {
		return err
	}
	if dup != nil {
		return &fault.Error{Kind: fault.Conflict, Msg: fmt.Sprintf("declaration %s with these containers was already recorded as lot %s (record %d); a consignment has one trace code — split it with a shipment, or add papers with documents_added", rec.DeclarationNo, dup.TraceCode, dup.CreatedSeq),
			Fields: []fault.FieldError{{Field: "declaration_no", Message: "was already declared as lot " + dup.TraceCode}}}
	}
	return nil
}

// saleable refuses a wholesale or processing sale that names no buyer, or
// names one on the ledger (the goods must then be shipped to it, so they
// stay traced).
func saleable(st *state, rec *Record) error {
	if _, v1, err := st.policyV1(); err != nil || !v1 {
		return err
	}
	if rec.Channel != "wholesale" && rec.Channel != "processing" {
		return nil
	}
	if rec.Buyer == nil {
		return fault.InvalidField("buyer", "is required for a %s sale: the buyer's unified social credit code and name", rec.Channel)
	}
	if _, err := st.org(rec.Buyer.USCC); err == nil {
		return fault.Rejectf("buyer.uscc", "buyer %s is registered on the ledger: record a shipment to it (kind shipped), so that the goods stay traced", rec.Buyer.USCC)
	} else if fault.KindOf(err) != fault.NotFound {
		return err
	}
	return nil
}

// inTime refuses an event dated before the event that brought the goods to
// the actor: a receipt before its shipment, a sale before the receipt.
func inTime(rec *Record, l *Lot) error {
	since := l.CreatedAt
	switch rec.Kind {
	case Received:
		if l.Transit != nil {
			since = l.Transit.Since
		}
	case Shipped, Sold, Consumed, Destroyed, Transformed:
		if n := len(l.Custody); n > 0 && l.Custody[n-1].From.After(since) {
			since = l.Custody[n-1].From
		}
	}
	if rec.At.Before(since) {
		return fault.Rejectf("at", "is before the goods of lot %s came to this holder (%s)", l.TraceCode, since.Format(time.RFC3339))
	}
	return nil
}

// transitLimit refuses a shipment deadline beyond the policy's limit.
func transitLimit(st *state, rec *Record) error {
	pol, v1, err := st.policyV1()
	if err != nil || !v1 || rec.Deadline == nil {
		return err
	}
	if limit := rec.At.Add(time.Duration(pol.TransitDays) * 24 * time.Hour); rec.Deadline.After(limit) {
		return fault.InvalidField("deadline", "is more than %d days after at (the policy's transit limit)", pol.TransitDays)
	}
	return nil
}

// judgeLate opens a late_report finding when the record being applied — a
// positive result or a seal — was recorded later than the policy's limit
// after it happened.
func (lt *lotTx) judgeLate(l *Lot, site *Site, fx *effects) error {
	pol, v1, err := lt.st.policyV1()
	if err != nil || !v1 {
		return err
	}
	rec := lt.rec
	late := rec.RecordedAt.Sub(rec.At)
	if late <= time.Duration(pol.LateHours)*time.Hour {
		return nil
	}
	detail := fmt.Sprintf("%s (record %d) happened %s and was recorded %s, %s later; the limit is %d hours (直报)",
		rec.Kind, rec.Seq, rec.At.Format(time.RFC3339), rec.RecordedAt.Format(time.RFC3339), late.Round(time.Minute), pol.LateHours)
	if l != nil {
		return lt.open(RuleLateReport, l, detail, fx)
	}
	return lt.openAtSite(RuleLateReport, site, detail, fx)
}

// judgeLeftLedger opens a left_ledger finding for goods sold wholesale or
// for processing to a business not on the ledger: they are counted apart
// and keep the batch open until a regulator closes the finding.
func (lt *lotTx) judgeLeftLedger(l *Lot, fx *effects) error {
	rec := lt.rec
	if rec.Buyer == nil || (rec.Channel != "wholesale" && rec.Channel != "processing") {
		return nil
	}
	if _, v1, err := lt.st.policyV1(); err != nil || !v1 {
		return err
	}
	return lt.open(RuleLeftLedger, l, fmt.Sprintf("%d g of lot %s were sold (%s) to %s (%s), a business not on the ledger (record %d); the goods left the traced chain",
		rec.Quantity.Grams, l.TraceCode, rec.Channel, rec.Buyer.Name, rec.Buyer.USCC, rec.Seq), fx)
}

// notTooOld refuses an event dated before 2000-01-01 (policy version 1).
func notTooOld(st *state, rec *Record) error {
	if !rec.At.Before(minEventTime) {
		return nil
	}
	if _, v1, err := st.policyV1(); err != nil || !v1 {
		return err
	}
	return fault.InvalidField("at", "is before 2000-01-01: not a time this ledger records")
}
