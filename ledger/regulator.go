package ledger

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// The regulator family: sealed and unsealed, voided (a correction) and
// finding_closed, and transit_overdue, which the ledger writes itself;
// check, prepare and apply of each.

func checkReason(ev *Event, fe *fault.Fields) {
	checkText(fe, "reason", ev.Reason, true, 500)
}

func prepareSealed(st *state, p Principal, rec *Record, l *Lot) error {
	if l.Status.Sealed {
		return &fault.Error{Kind: fault.Conflict, Msg: fmt.Sprintf("lot %s is already sealed (%s)", l.TraceCode, l.Status.SealReason)}
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

func applySealed(lt *lotTx, l *Lot, fx *effects) error {
	l.Status.Sealed, l.Status.SealReason, l.Status.SealSeq = true, lt.rec.Reason, lt.rec.Seq
	return lt.judgeLate(l, nil, fx)
}

func prepareUnsealed(st *state, p Principal, rec *Record, l *Lot) error {
	if !l.Status.Sealed {
		return fault.Rejectf("lot", "lot %s is not sealed", l.TraceCode)
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
	if judged, err := liftable(st, l); judged || err != nil {
		return err
	}
	pos := l.Status.PositiveSeq
	if pos == 0 || l.Status.SealSeq > pos {
		return nil // sealed by hand after any positive: the regulator decides
	}
	if l.LastDisinfection == nil || l.LastDisinfection.Seq < pos {
		return fault.Rejectf("lot", "lot %s was sealed after a positive test (record %d) and has not been disinfected since", l.TraceCode, pos)
	}
	negative := false
	for _, root := range l.roots() {
		err := st.scanIndex(idxRoot, root, func(id []byte) error {
			m, err := st.lot(string(id))
			if err != nil {
				return err
			}
			if m.LastTest != nil && m.LastTest.Seq > pos && m.LastTest.Result == "negative" {
				negative = true
				return fault.ErrStop
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if !negative {
		return fault.Rejectf("lot", "lot %s was sealed after a positive test (record %d); its batch needs a negative retest first", l.TraceCode, pos)
	}
	return nil
}

func applyUnsealed(lt *lotTx, l *Lot, fx *effects) error {
	l.Status.Sealed, l.Status.SealReason, l.Status.SealSeq = false, "", 0
	return nil
}

func checkVoided(ev *Event, fe *fault.Fields) {
	if ev.Voids <= 0 {
		fe.Add("voids", "is required: the seq of the record to void")
	}
	checkText(fe, "reason", ev.Reason, true, 500)
}

func prepareVoided(st *state, p Principal, rec *Record, _ *Lot) error {
	v := rec.Voids
	if v >= rec.Seq {
		return fault.Rejectf("voids", "record %d does not exist yet", v)
	}
	data, err := vlog.ReadRecord(st.tx, v)
	if err != nil {
		return fault.Rejectf("voids", "record %d does not exist", v)
	}
	target, err := DecodeRecord(data)
	if err != nil {
		return err
	}
	switch {
	case target.Kind == OrgRegistered || target.Kind == SiteRegistered || target.Kind == KeyCreated || target.Kind == KeyRevoked:
		return fault.Rejectf("voids", "record %d is a registry record; only lot records can be voided", v)
	case target.Kind == Voided || target.Kind == FindingClosed || target.Kind == FindingAcknowledged || target.Kind == TransitOverdue || target.Kind == FindingsOverdue:
		return fault.Rejectf("voids", "a %s record cannot be voided", target.Kind)
	}
	var rl recordLots
	if err := st.getJSON(tabRecordLots.seqKey(v), &rl); err != nil && fault.KindOf(err) != fault.NotFound {
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
		if fault.KindOf(err) == fault.NotFound {
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
		return fault.Rejectf("voids", "record %d changed no lot; only lot records can be voided", v)
	case !byRegulator && target.Kind == Tested && target.Result == "positive":
		return forbid("a positive result is voided only by a regulator of the region where the goods are; a lab may not void its own positive")
	}
	if _, err := st.get(tabVoided.seqKey(v)); err == nil {
		return &fault.Error{Kind: fault.Conflict, Msg: fmt.Sprintf("record %d is already voided", v)}
	}
	for _, id := range rl.Lots {
		prev, err := st.getLotPrev(id)
		if err != nil {
			return err
		}
		if prev.Seq == v {
			continue
		}
		if !byRegulator {
			return fault.Rejectf("voids", "record %d is not the latest record of lot %s (record %d is); an org voids only its own latest record of a lot, a regulator of the region any record", v, id, prev.Seq)
		}
		if err := checkOlderVoid(target, id, prev.Seq); err != nil {
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
	if err := st.getJSON(tabRecordLots.seqKey(v), &rl); err != nil {
		return err
	}
	if older, target, err := voidsOlder(st, v, rl); err != nil || older {
		if err != nil {
			return err
		}
		return applyOlderVoid(st, rec, target, rl, fx)
	}
	for _, id := range rl.Lots {
		prev, err := st.getLotPrev(id)
		if err != nil {
			return err
		}
		curData, err := st.tx.Get(tabLot.key(id))
		if err != nil {
			return err
		}
		cur, err := st.decodeLot(id, curData)
		if err != nil {
			return err
		}
		beforeData, err := prev.before(curData)
		if err != nil {
			return err
		}
		var before *Lot
		if beforeData != nil {
			if before, err = decodeLot(id, beforeData); err != nil {
				return err
			}
		}
		if err := st.reindex(cur, before); err != nil {
			return err
		}
		if before == nil {
			err = st.tx.Delete(tabLot.key(id))
		} else {
			err = st.tx.Set(tabLot.key(id), beforeData)
		}
		if err != nil {
			return err
		}
		next := encodeLotPrev(rec.Seq, curData, beforeData)
		if err := st.tx.Set(tabLotPrev.key(id), next); err != nil {
			return err
		}
		if err := st.tx.Set(idxLotEvents.key(id, be64(rec.Seq)), nil); err != nil {
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
	if err := st.tx.Set(tabVoided.seqKey(v), be64(rec.Seq)); err != nil {
		return err
	}
	if err := st.put(tabRecordLots.seqKey(rec.Seq), recordLots{Lots: rl.Lots}); err != nil {
		return err
	}
	return indexRecord(st, rec)
}

func checkFindingClosed(ev *Event, fe *fault.Fields) {
	if ev.Finding == "" {
		fe.Add("finding", "is required: the id of the finding to close")
	}
	checkText(fe, "reason", ev.Reason, true, 500)
}

func prepareFindingClosed(st *state, p Principal, rec *Record, _ *Lot) error {
	f, _, err := authorizeFinding(st, p, rec)
	if err != nil {
		return err
	}
	if !f.Open {
		return &fault.Error{Kind: fault.Conflict, Msg: fmt.Sprintf("finding %s is already closed", f.ID)}
	}
	return nil
}

func applyFindingClosed(lt *lotTx, _ *Lot, fx *effects) error {
	f, err := lt.st.finding(lt.rec.Finding)
	if err != nil {
		return err
	}
	if err := lt.st.putEvidence(f, evidenceOf(lt.rec)); err != nil { // worklist.go
		return err
	}
	return lt.close(f, lt.rec.Reason)
}

func prepareSystemOnly(*state, Principal, *Record) error {
	return forbid("only the ledger itself writes this kind")
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
