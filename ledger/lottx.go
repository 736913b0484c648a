package ledger

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
)

// lotTx changes lots within one record's application. It loads each lot once,
// keeps its state before the record (so that the record can be voided while
// it is the lot's latest) and, when flushed, writes the lots and brings their
// index entries in line with the new state.
type lotTx struct {
	st      *state
	rec     *Record
	lots    map[string]*lotChange
	order   []string
	finding int // findings opened so far by rec
}

type lotChange struct {
	before []byte // nil for a lot the record creates
	old    *Lot   // before, decoded (shared: see lotCache)
	lot    *Lot
}

func newLotTx(st *state, rec *Record) *lotTx {
	return &lotTx{st: st, rec: rec, lots: map[string]*lotChange{}}
}

// get returns lot id for changing: a clone of its state before the record,
// which lotChange keeps unchanged.
func (lt *lotTx) get(id string) (*Lot, error) {
	if c, ok := lt.lots[id]; ok {
		return c.lot, nil
	}
	data, err := lt.st.tx.Get(tabLot.key(id))
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.Errorf(fault.NotFound, "no lot %s", id)
	}
	if err != nil {
		return nil, err
	}
	old, err := lt.st.decodeLot(id, data)
	if err != nil {
		return nil, err
	}
	l := old.clone()
	lt.lots[id] = &lotChange{before: data, old: old, lot: l}
	lt.order = append(lt.order, id)
	return l, nil
}

// create adds a new lot.
func (lt *lotTx) create(l *Lot) {
	lt.lots[l.ID] = &lotChange{lot: l}
	lt.order = append(lt.order, l.ID)
}

// closeOverdue closes the open transit_overdue findings that the sweep
// opened on lot l for shipment t.
func (lt *lotTx) closeOverdue(l *Lot, t *Transit, reason string) error {
	for _, id := range l.Findings {
		f, err := lt.st.finding(id)
		if err != nil {
			return err
		}
		if f.Open && f.Rule == RuleTransitOverdue && f.Seq > t.Seq {
			if err := lt.close(f, reason); err != nil {
				return err
			}
		}
	}
	return nil
}

// peek returns lot id as this record has it so far, without marking it
// changed.
func (lt *lotTx) peek(id string) (*Lot, error) {
	if c, ok := lt.lots[id]; ok {
		return c.lot, nil
	}
	return lt.st.lot(id)
}

// recordLots lists the lots a record changed and the findings it opened.
type recordLots struct {
	Lots     []string `json:"lots"`
	Findings []string `json:"findings,omitempty"`
}

// flush writes every changed lot, its before-image and its index entries,
// and the record's list of lots.
func (lt *lotTx) flush() error {
	rl := recordLots{}
	for _, id := range lt.order {
		c := lt.lots[id]
		l := c.lot
		l.LastSeq = lt.rec.Seq
		pol, err := lt.st.policy()
		if err != nil {
			return err
		}
		l.Status.Cleared = len(l.missingForMarket(pol)) == 0
		endStayIfEmpty(l, lt.rec.At)
		data := encodeLot(l)
		if err := lt.st.reindex(c.old, l); err != nil {
			return err
		}
		if err := lt.st.tx.Set(tabLot.key(id), data); err != nil {
			return err
		}
		if lt.st.lots != nil {
			lt.st.lots.add(data, l) // the record is done with l
		}
		if err := lt.st.tx.Set(tabLotPrev.key(id), encodeLotPrev(lt.rec.Seq, c.before, data)); err != nil {
			return err
		}
		if err := lt.st.tx.Set(idxLotEvents.key(id, be64(lt.rec.Seq)), nil); err != nil {
			return err
		}
		rl.Lots = append(rl.Lots, id)
	}
	for i := 0; i < lt.finding; i++ {
		rl.Findings = append(rl.Findings, findingID(lt.rec.Seq, i))
	}
	if len(rl.Lots) == 0 && len(rl.Findings) == 0 {
		return nil
	}
	return lt.st.put(tabRecordLots.seqKey(lt.rec.Seq), rl)
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
		pol, err := lt.st.policy()
		if err != nil {
			return err
		}
		if missing := l.missingForMarket(pol); len(missing) > 0 && toMarket {
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

// open opens a finding of rule about lot l (at its current site, or site if
// given) and returns it.
func (lt *lotTx) open(rule string, l *Lot, detail string, fx *effects) error {
	f := &Finding{
		ID: findingID(lt.rec.Seq, lt.finding), Rule: rule, Seq: lt.rec.Seq, Open: true,
		OpenedAt: lt.rec.At, Detail: detail,
	}
	lt.finding++
	if l != nil {
		f.Lot, f.TraceCode, f.Site, f.Region, f.Org = l.ID, l.TraceCode, l.Site, l.Region, l.Holder
		if f.Site == "" && l.Transit != nil {
			f.Site, f.Region = l.Transit.FromSite, l.Transit.FromRegion
		}
		l.Findings = append(l.Findings, f.ID)
		l.OpenFindings++
	}
	fx.findings = append(fx.findings, *f)
	return lt.st.putFinding(nil, f)
}

// openAtSite opens a finding about a site, not a lot.
func (lt *lotTx) openAtSite(rule string, site *Site, detail string, fx *effects) error {
	f := &Finding{
		ID: findingID(lt.rec.Seq, lt.finding), Rule: rule, Seq: lt.rec.Seq, Open: true,
		OpenedAt: lt.rec.At, Detail: detail, Site: site.ID, Region: site.Region, Org: site.Org,
	}
	lt.finding++
	fx.findings = append(fx.findings, *f)
	return lt.st.putFinding(nil, f)
}

// close closes finding f with the record's reason.
func (lt *lotTx) close(f *Finding, reason string) error {
	old := *f
	at := lt.rec.At
	f.Open, f.ClosedSeq, f.ClosedAt, f.ClosedReason = false, lt.rec.Seq, &at, reason
	if f.Lot != "" {
		l, err := lt.get(f.Lot)
		if err != nil {
			return err
		}
		l.OpenFindings--
	}
	return lt.st.putFinding(&old, f)
}

// refreshClosed recomputes the closed flag of every changed lot and of their
// ancestors whose flag changes as a result: a lot is closed when it has
// nothing on hand or in transit, no open finding, and all its children are
// closed.
func (lt *lotTx) refreshClosed() error {
	queue := slices.Clone(lt.order)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		l, err := lt.peek(id)
		if err != nil {
			return err
		}
		closed := l.terminal() && l.OpenFindings == 0
		for _, c := range l.Children {
			if !closed {
				break
			}
			child, err := lt.peek(c)
			if err != nil {
				return err
			}
			closed = child.Status.Closed
		}
		if closed != l.Status.Closed {
			if l, err = lt.get(id); err != nil {
				return err
			}
			l.Status.Closed = closed
			queue = append(queue, l.Parents...)
		}
	}
	return nil
}

// endStayIfEmpty ends the open stay of a lot that has nothing left on hand:
// goods that are all sold, consumed or destroyed are no longer at the site.
func endStayIfEmpty(l *Lot, at time.Time) {
	if n := len(l.Custody); n > 0 && l.Custody[n-1].To == nil && l.Quantity.OnHand == 0 {
		l.Custody[n-1].To = &at
	}
}

// refreshCleared sets the cleared flag from the lot's compliance marks.

// finish ends a record's application: the closed flags up the DAG, the
// changed lots written, the record's index entries.
func (lt *lotTx) finish() error {
	if err := lt.refreshClosed(); err != nil {
		return err
	}
	if err := lt.flush(); err != nil {
		return err
	}
	return indexRecord(lt.st, lt.rec)
}
