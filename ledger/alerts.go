package ledger

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// One positive, every province told (issue 14). A positive result opens its
// family to every regulator who must act on it, and each region where goods
// of the family lie gets its own finding. Both are derived from what the
// records already give: the lots' positive marks and where they lie.

// RulePositiveBatch is the finding each region holding goods of a batch
// gets when a lot of the batch tests positive.
const RulePositiveBatch = "positive_batch"

func init() {
	RuleText[RulePositiveBatch] = [2]string{"同批次货物核酸检测阳性，本辖区内存有该批次货物，需立即封存排查", "a lot of this batch tested positive; goods of the batch lie in this region and must be sealed and traced"}
}

// A FindingLot is one lot a finding names: where it lies, who holds it and
// since when.
type FindingLot struct {
	Lot       string     `json:"lot"`
	TraceCode string     `json:"trace_code"`
	Site      string     `json:"site,omitempty"`
	Holder    string     `json:"holder,omitempty"`
	Since     *time.Time `json:"since,omitempty"`
	OnHand    int64      `json:"on_hand"`
	InTransit int64      `json:"in_transit"`
}

// underPositive reports whether any lot of a family carries a positive
// result (the lot's own, or the family's seal by one).
func underPositive(family []*lotNode) bool {
	return slices.ContainsFunc(family, func(n *lotNode) bool { return n.Positive || n.PositiveSeq > 0 })
}

// openedByPositive reports whether p sees the whole family of roots
// because it is under a positive result: regulators whose regions hold or
// held any part of it (the region where the positive was found among
// them). Auditors and admins see it anyway.
func (st *state) openedByPositive(p Principal, roots []string) (bool, error) {
	if p.Role != RoleRegulator {
		return false, nil
	}
	family, _, err := st.family(roots, MaxAnswerLots)
	if err != nil {
		return false, err
	}
	return familyOpenTo(p, family), nil
}

// familyOpenTo is openedByPositive over a family already read.
func familyOpenTo(p Principal, family []*lotNode) bool {
	if p.Role != RoleRegulator || !underPositive(family) {
		return false
	}
	return slices.ContainsFunc(family, func(n *lotNode) bool { return n.visibleTo(p) })
}

// openPositiveBatch opens one positive_batch finding for each region where
// lots of the positive lot's family lie now or are on their way to, naming
// them, their holders and since when. Positive results recorded before the
// record named its region (rec.Region) open none, so that replaying an old
// log derives the state it stored.
func (lt *lotTx) openPositiveBatch(pos *Lot, fx *effects) error {
	rec := lt.rec
	if rec.Region == "" {
		return nil
	}
	byRegion := map[string][]FindingLot{}
	for _, root := range pos.roots() {
		var ids []string
		if err := lt.st.scanIndex("root", root, func(id []byte) error { ids = append(ids, string(id)); return nil }); err != nil {
			return err
		}
		for _, id := range ids {
			m, err := lt.peek(id)
			if err != nil {
				return err
			}
			if m.terminal() {
				continue
			}
			fl := FindingLot{Lot: m.ID, TraceCode: m.TraceCode, Site: m.Site, Holder: m.Holder, OnHand: m.Quantity.OnHand, InTransit: m.Quantity.InTransit}
			if c := len(m.Custody); c > 0 && m.Custody[c-1].To == nil {
				since := m.Custody[c-1].From
				fl.Since = &since
			}
			region := m.Region
			if region == "" && m.Transit != nil {
				region, fl.Site, fl.Holder = m.Transit.ToRegion, m.Transit.ToSite, m.Transit.ToOrg
				since := m.Transit.Since
				fl.Since = &since
			}
			if region != "" && !slices.ContainsFunc(byRegion[region], func(x FindingLot) bool { return x.Lot == fl.Lot }) {
				byRegion[region] = append(byRegion[region], fl)
			}
		}
	}
	regions := make([]string, 0, len(byRegion))
	for r := range byRegion {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	for _, r := range regions {
		lots := byRegion[r]
		slices.SortFunc(lots, func(a, b FindingLot) int { return cmp.Compare(a.TraceCode, b.TraceCode) })
		var parts []string
		var grams int64
		for _, x := range lots {
			grams += x.OnHand + x.InTransit
			w := fmt.Sprintf("%s: %d g at %s held by %s", x.TraceCode, x.OnHand, x.Site, x.Holder)
			if x.InTransit > 0 {
				w = fmt.Sprintf("%s: %d g on the way to %s (%s)", x.TraceCode, x.InTransit, x.Site, x.Holder)
			}
			if x.Since != nil {
				w += " since " + x.Since.UTC().Format(time.RFC3339)
			}
			parts = append(parts, w)
		}
		f := &Finding{
			ID: findingID(rec.Seq, lt.finding), Rule: RulePositiveBatch, Seq: rec.Seq, Open: true, OpenedAt: rec.At,
			Region: r, Lots: lots,
			Detail: fmt.Sprintf("lot %s tested positive in region %s (record %d); %d g of its batch lie in region %s and are sealed: %s",
				pos.TraceCode, rec.Region, rec.Seq, grams, r, strings.Join(parts, "; ")),
		}
		if len(lots) == 1 {
			f.Site, f.Org = lots[0].Site, lots[0].Holder
		}
		// The finding is filed on the region's first lot, which stays open
		// until the region closes it.
		m, err := lt.get(lots[0].Lot)
		if err != nil {
			return err
		}
		f.Lot, f.TraceCode = m.ID, m.TraceCode
		m.Findings = append(m.Findings, f.ID)
		m.OpenFindings++
		lt.finding++
		fx.findings = append(fx.findings, *f)
		if err := lt.st.putFinding(nil, f); err != nil {
			return err
		}
	}
	return nil
}

// A RulePolicy is how urgent a rule's findings are: their severity and the
// time to acknowledge and to close them.
type RulePolicy struct {
	Severity    string        `json:"severity"` // critical, high, medium, low
	AckWithin   time.Duration `json:"-"`
	CloseWithin time.Duration `json:"-"`
}

// FindingPolicies are the worklist values in force, one per rule (the
// seeds: a positive is reported within 2 hours, on call around the clock).
var FindingPolicies = map[string]RulePolicy{
	RulePositiveTest:         {"critical", 2 * time.Hour, 24 * time.Hour},
	RulePositiveBatch:        {"critical", 2 * time.Hour, 24 * time.Hour},
	RuleSitePositive:         {"critical", 2 * time.Hour, 24 * time.Hour},
	RuleSealedMoved:          {"high", 4 * time.Hour, 72 * time.Hour},
	RuleFourNo:               {"high", 24 * time.Hour, 7 * 24 * time.Hour},
	RuleUntestedAfterArrival: {"high", 24 * time.Hour, 7 * 24 * time.Hour},
	RuleTemperatureExcursion: {"medium", 24 * time.Hour, 7 * 24 * time.Hour},
	RuleTransitOverdue:       {"medium", 24 * time.Hour, 7 * 24 * time.Hour},
	RuleVoidedRecord:         {"medium", 72 * time.Hour, 14 * 24 * time.Hour},
	RuleShortReceipt:         {"low", 72 * time.Hour, 14 * 24 * time.Hour},
}

// policyOf returns a rule's policy (medium, 3 and 14 days for a rule the
// table lacks).
func policyOf(rule string) RulePolicy {
	if p, ok := FindingPolicies[rule]; ok {
		return p
	}
	return RulePolicy{"medium", 72 * time.Hour, 14 * 24 * time.Hour}
}

// A Worklist is a finding's place in the regulators' work: its severity,
// when the next step (acknowledge, then close) is due, and whether that
// time has passed.
type Worklist struct {
	Severity string     `json:"severity"`
	Due      *time.Time `json:"due,omitempty"`
	Overdue  bool       `json:"overdue"`
}

// Worklist returns f's place in the worklist at now.
func (f *Finding) Worklist(now time.Time) Worklist {
	pol := policyOf(f.Rule)
	w := Worklist{Severity: pol.Severity}
	if !f.Open {
		return w
	}
	due := f.OpenedAt.Add(pol.AckWithin)
	if f.AckSeq > 0 {
		due = f.OpenedAt.Add(pol.CloseWithin)
	}
	w.Due, w.Overdue = &due, now.After(due)
	return w
}
