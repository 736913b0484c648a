package ledger

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
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
	family := map[string]bool{}
	for _, root := range pos.roots() {
		var ids []string
		if err := lt.st.scanIndex(idxRoot, root, func(id []byte) error { ids = append(ids, string(id)); return nil }); err != nil {
			return err
		}
		for _, id := range ids {
			family[id] = true
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
	return lt.openContacts(pos, family, fx)
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

// finding_acknowledged: a regulator of the finding's region takes it on
// (the worklist's first step; its deadline is the rule's AckWithin).

func checkFindingAcknowledged(ev *Event, fe *fault.Fields) {
	if ev.Finding == "" {
		fe.Add("finding", "is required: the id of the finding to acknowledge")
	}
	checkText(fe, "reason", ev.Reason, false, 500)
}

func prepareFindingAcknowledged(st *state, p Principal, rec *Record, _ *Lot) error {
	f, regions, err := authorizeFinding(st, p, rec)
	if err != nil {
		return err
	}
	switch {
	case !f.Open:
		return &fault.Error{Kind: fault.Conflict, Msg: fmt.Sprintf("finding %s is closed", f.ID)}
	case f.AckSeq > 0:
		return &fault.Error{Kind: fault.Conflict, Msg: fmt.Sprintf("finding %s was acknowledged by record %d", f.ID, f.AckSeq)}
	}
	rec.Region = coveringPrefix(p, regions)
	return nil
}

func applyFindingAcknowledged(lt *lotTx, _ *Lot, fx *effects) error {
	f, err := lt.st.finding(lt.rec.Finding)
	if err != nil {
		return err
	}
	old := *f
	at := lt.rec.At
	f.AckSeq, f.AckAt, f.AckBy = lt.rec.Seq, &at, lt.rec.Region
	return lt.st.putFinding(&old, f)
}

// siteReach does what a positive site test recorded with its region owes
// beyond the findings on the lots that were at the site: a finding for the
// site's own region, the stock still on the site sealed (for that region),
// and a finding on every child lot that left the site inside the window
// (a partial shipment), in the region where the child is now. ids are the
// lots with a stay at the site that ended inside the window.
func (lt *lotTx) siteReach(site *Site, start time.Time, ids []string, fx *effects) error {
	rec := lt.rec
	reason := fmt.Sprintf("场所核酸检测阳性：%s（记录 %d）", site.ID, rec.Seq)
	var sealed []string
	var grams int64
	for _, id := range ids {
		l, err := lt.peek(id)
		if err != nil {
			return err
		}
		if l.Site == site.ID && l.Quantity.OnHand > 0 {
			if l, err = lt.get(id); err != nil {
				return err
			}
			if !l.Status.Sealed {
				l.Status.Sealed, l.Status.SealReason, l.Status.SealSeq = true, reason, rec.Seq
			}
			sealed = append(sealed, l.TraceCode)
			grams += l.Quantity.OnHand
		}
		// Child lots that left the site inside the window.
		for _, cid := range l.Children {
			c, err := lt.peek(cid)
			if err != nil {
				return err
			}
			if c.CreatedAt.Before(start) || c.CreatedAt.After(rec.At) || slices.Contains(ids, cid) {
				continue
			}
			left := slices.ContainsFunc(l.Custody, func(s Stay) bool {
				return s.Site == site.ID && !s.From.After(c.CreatedAt) && (s.To == nil || !s.To.Before(c.CreatedAt))
			})
			if !left {
				continue
			}
			if c, err = lt.get(cid); err != nil {
				return err
			}
			if err := lt.open(RuleSitePositive, c, fmt.Sprintf("lot %s left %s on %s as part of %s, within %d days before a positive %s test there (%d of %d samples, record %d)",
				c.TraceCode, site.ID, c.CreatedAt.UTC().Format(time.RFC3339), l.TraceCode, rec.WindowDays, strings.Join(rec.Scope, "/"), *rec.Positives, rec.Samples, rec.Seq), fx); err != nil {
				return err
			}
		}
	}
	detail := fmt.Sprintf("site %s tested positive (%s, %d of %d samples, record %d)", site.ID, strings.Join(rec.Scope, "/"), *rec.Positives, rec.Samples, rec.Seq)
	if len(sealed) > 0 {
		detail += fmt.Sprintf("; %d g on the site sealed: %s", grams, strings.Join(sealed, ", "))
	} else {
		detail += "; no stock on the site"
	}
	return lt.openAtSite(RuleSitePositive, site, detail, fx)
}

// RuleContact is the finding a lot gets when it shared a site with goods
// of a positive batch inside the window: it should be tested.
const RuleContact = "contact"

func init() {
	RuleText[RuleContact] = [2]string{"与阳性批次货物同场所、同时段存放的密接货物，需采样检测", "the lot was at a site at the same time as goods of a positive batch; it should be tested"}
	FindingPolicies[RuleContact] = RulePolicy{"high", 12 * time.Hour, 72 * time.Hour}
}

// maxContactFindings bounds the contact findings one positive opens.
const maxContactFindings = 200

// openContacts opens a contact finding, in the region where each lot is
// now, for every lot outside the positive's family that still holds goods
// and was at a site while a family lot was there, within the site window
// (DefaultSiteWindowDays) before the positive.
func (lt *lotTx) openContacts(pos *Lot, family map[string]bool, fx *effects) error {
	rec := lt.rec
	start := rec.At.Add(-DefaultSiteWindowDays * 24 * time.Hour)
	type window struct {
		from, to int64
		lot      string
	}
	stays := map[string][]window{}
	// In id order: the finding names the first family lot of each site, and
	// replaying the record must name the same one (no map order here).
	ids := make([]string, 0, len(family))
	for id := range family {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		m, err := lt.peek(id)
		if err != nil {
			return err
		}
		for _, s := range m.Custody {
			if s.To != nil && s.To.Before(start) {
				continue
			}
			to := int64(1<<63 - 1)
			if s.To != nil {
				to = s.To.UnixNano()
			}
			stays[s.Site] = append(stays[s.Site], window{max(s.From.UnixNano(), start.UnixNano()), to, m.TraceCode})
		}
	}
	sites := make([]string, 0, len(stays))
	for s := range stays {
		sites = append(sites, s)
	}
	slices.Sort(sites)
	seen := map[string]bool{}
	type contact struct{ id, site, with string }
	var found []contact
	for _, site := range sites {
		ws := stays[site]
		earliest := int64(1<<63 - 1)
		for _, w := range ws {
			earliest = min(earliest, w.from)
		}
		prefix := idxSiteStay.prefix(site)
		err := lt.st.tx.Scan(prefix, append(prefix, be64(earliest)...), false, func(k, _ []byte) error {
			sfx := k[len(prefix):]
			end, from, id := int64(beUint(sfx[:8])), int64(beUint(sfx[8:16])), string(sfx[16:])
			if family[id] || seen[id] {
				return nil
			}
			i := slices.IndexFunc(ws, func(w window) bool { return from <= w.to && end >= w.from })
			if i < 0 {
				return nil
			}
			if len(found) >= maxContactFindings {
				return fault.ErrStop
			}
			seen[id] = true
			found = append(found, contact{id, site, ws[i].lot})
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, c := range found {
		if err := lt.openContact(c.id, func(l *Lot) string {
			return fmt.Sprintf("lot %s was at %s while %s of the batch that tested positive (lot %s, record %d) was there, within %d days before; test it",
				l.TraceCode, c.site, c.with, pos.TraceCode, rec.Seq, DefaultSiteWindowDays)
		}, fx); err != nil {
			return err
		}
	}
	for id := range family {
		seen[id] = true
	}
	return lt.openVehicleContacts(pos, ids, seen, maxContactFindings-len(found), fx) // vehicle_contacts.go
}
