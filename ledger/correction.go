package ledger

import (
	"coldtrace/ledger/fault"
	"fmt"
	"slices"
	"strings"
)

// Corrections of records that are no longer a lot's latest. A regulator of
// the region where the goods are may void an older record whose effect is a
// compliance mark — a test, a disinfection, a release, papers, a temperature
// record — and the marks of every lot of the family are then derived as if
// that record had not counted. Records that later records depended on are
// not rewritten: the lots' later outflows (shipments, sales, processing) stay
// as recorded and a voided_record finding names them for the regulator to
// review. Records that moved goods (declarations, shipments, receipts,
// processing, sales) and seals are voided only as a lot's latest record, so
// that quantities never depend on a guess; a seal made in error is lifted
// with an unseal.

// RuleVoidedRecord is opened when a regulator voids a record that later
// records were made under.
const RuleVoidedRecord = "voided_record"

// olderVoidable lists the kinds a regulator may void when they are not the
// latest record of their lots.
var olderVoidable = []EventKind{Tested, Disinfected, Released, DocumentsAdded, TemperatureRecorded}

// checkOlderVoid refuses an older void of a kind whose effect cannot be
// derived away.
func checkOlderVoid(target *Record, lot string, latest int64) error {
	if slices.Contains(olderVoidable, target.Kind) {
		return nil
	}
	return fault.Rejectf("voids", "record %d (%s) is not the latest record of lot %s (record %d is); a %s is voided only as a lot's latest record: void the later records first, newest first%s",
		target.Seq, target.Kind, lot, latest, target.Kind, map[bool]string{true: ", or lift the seal with an unseal", false: ""}[target.Kind == Sealed || target.Kind == Unsealed])
}

// applyOlderVoid applies rec, a regulator's void of record target, which is
// not the latest record of every lot it changed.
func applyOlderVoid(st *state, rec, target *Record, rl recordLots, fx *effects) error {
	v := target.Seq
	if err := st.tx.Set(tabVoided.seqKey(v), be64(rec.Seq)); err != nil {
		return err
	}
	lt := newLotTx(st, rec)
	roots := map[string]bool{}
	for _, id := range rl.Lots {
		l, err := lt.peek(id)
		if err != nil {
			return err
		}
		for _, r := range l.roots() {
			roots[r] = true
		}
	}
	var family []string
	for r := range roots {
		if err := st.scanIndex(idxRoot, r, func(id []byte) error {
			if !slices.Contains(family, string(id)) {
				family = append(family, string(id))
			}
			return nil
		}); err != nil {
			return err
		}
	}
	slices.Sort(family)
	for _, id := range family {
		if err := lt.rederiveMarks(id, v, len(target.Attachments) > 0); err != nil {
			return err
		}
	}
	// The findings the voided record opened are closed.
	for _, id := range rl.Findings {
		f, err := st.finding(id)
		if err != nil {
			return err
		}
		if f.Open {
			if err := lt.close(f, fmt.Sprintf("record %d voided: %s", v, rec.Reason)); err != nil {
				return err
			}
		}
	}
	if target.Lot != "" {
		if err := lt.flagDependents(target, rec, fx); err != nil {
			return err
		}
	}
	return lt.finish()
}

// rederiveMarks derives again the marks of lot id that came from record v;
// papers says whether v carried documents.
func (lt *lotTx) rederiveMarks(id string, v int64, papers bool) error {
	l, err := lt.peek(id)
	if err != nil {
		return err
	}
	refers := func(m *Mark) bool { return m != nil && m.Seq == v }
	sealedByV := l.Status.SealSeq == v || l.Status.PositiveSeq == v
	c := l.Clearance
	clears := c != nil && (refers(c.Papers) || refers(c.Test) || refers(c.Disinfection) || refers(c.Release))
	if !refers(l.LastTest) && !refers(l.LastDisinfection) && !refers(l.Release) && !sealedByV && !papers && !clears {
		return nil
	}
	if l, err = lt.get(id); err != nil {
		return err
	}
	if l.Status.SealSeq == v {
		l.Status.Sealed, l.Status.SealReason, l.Status.SealSeq = false, "", 0
	}
	if l.Status.PositiveSeq == v {
		l.Status.PositiveSeq = 0
	}
	if refers(l.LastTest) {
		if l.LastTest, err = lt.st.lastMark(l, Tested, l.LastSeq+1); err != nil {
			return err
		}
		l.Status.Positive = l.LastTest != nil && l.LastTest.Result == "positive"
	}
	if refers(l.LastDisinfection) {
		if l.LastDisinfection, err = lt.st.lastMark(l, Disinfected, l.LastSeq+1); err != nil {
			return err
		}
	}
	if refers(l.Release) {
		if l.Release, err = lt.st.lastMark(l, Released, l.LastSeq+1); err != nil {
			return err
		}
	}
	if clears {
		// A part of cleared that the voided record gave is gone; a later
		// record of the same kind gives it again.
		c := l.Clearance.clone()
		for _, m := range []**Mark{&c.Papers, &c.Test, &c.Disinfection, &c.Release} {
			if refers(*m) {
				*m = nil
			}
		}
		if *c == (Clearance{}) {
			c = nil
		}
		l.Clearance = c
	}
	if !papers {
		return nil
	}
	ps, err := lotPapers(lt.st, Principal{}, l)
	if err != nil {
		return err
	}
	l.Documents = []string{}
	for _, p := range ps {
		if !slices.Contains(l.Documents, p.Type) {
			l.Documents = append(l.Documents, p.Type)
		}
	}
	slices.Sort(l.Documents)
	return nil
}

// lastMark returns the mark of the latest live record of kind about lot l
// before seq; for a lot with none, what it inherited from its parents when
// it was made (the weaker mark of several inputs).
func (st *state) lastMark(l *Lot, kind EventKind, before int64) (*Mark, error) {
	var found *Mark
	err := st.liveLotRecords(l.ID, before, func(rec *Record) error {
		if rec.Kind == kind && rec.Lot == l.ID {
			found = &Mark{Seq: rec.Seq, At: rec.At, Result: rec.Result}
		}
		return nil
	})
	if err != nil || found != nil || len(l.Parents) == 0 {
		return found, err
	}
	var inherited *Mark
	for i, id := range l.Parents {
		parent, err := st.lot(id)
		if err != nil {
			return nil, err
		}
		m, err := st.lastMark(parent, kind, l.CreatedSeq)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			inherited = m
		} else {
			inherited = weakerMark(inherited, m)
		}
	}
	return inherited, nil
}

// flagDependents opens a voided_record finding on the voided record's lot
// naming the outflows recorded after it, which were made while it counted.
func (lt *lotTx) flagDependents(target, rec *Record, fx *effects) error {
	l, err := lt.get(target.Lot)
	if err != nil {
		return err
	}
	var later []string
	err = lt.st.liveLotRecords(l.ID, rec.Seq, func(r *Record) error {
		switch r.Kind {
		case Shipped, Sold, Consumed, Transformed, Released:
			if r.Seq > target.Seq {
				later = append(later, fmt.Sprintf("%d (%s)", r.Seq, r.Kind))
			}
		}
		return nil
	})
	if err != nil || len(later) == 0 {
		return err
	}
	return lt.open(RuleVoidedRecord, l, fmt.Sprintf("record %d (%s) of lot %s was voided by record %d (%s); these later records were made while it counted and need review: %s",
		target.Seq, target.Kind, l.TraceCode, rec.Seq, rec.Reason, strings.Join(later, ", ")), fx)
}

// voidsOlder reports whether record v, which changed the lots of rl, is no
// longer the latest record of one of them, and returns it then.
func voidsOlder(st *state, v int64, rl recordLots) (bool, *Record, error) {
	for _, id := range rl.Lots {
		prev, err := st.getLotPrev(id)
		if err != nil {
			return false, nil, err
		}
		if prev.Seq != v {
			target, err := st.record(v)
			return err == nil, target, err
		}
	}
	return false, nil, nil
}
