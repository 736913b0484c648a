package ledger

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
)

// People to test after a positive. Every record whose annex lists people
// says so in the log by the roles it carries (AnnexRef.Roles); applying it
// writes a state entry — on the lot, or on the site for a site event —
// with its time, site, region and roles. When a lot tests positive, the
// records with people on the family's lots and the site events at the
// family's sites while it was there, inside the site window, are grouped by
// the region where the work was done, and each region gets one
// people_to_test finding naming those records. A positive site test does
// the same for the site and the lots that were on it inside its window.
// Records written before
// annexes carried roles have no entry, so old logs replay to the state
// they stored. The pseudonyms a finding names are read from the erasable
// people index when the finding is read or told (never stored in state):
// an erased annex takes its people off the finding too.

// RulePeopleToTest is the finding a region gets when people who handled
// goods of a positive batch, or worked at its sites while it was there,
// did that work in the region: they should be tested (人物并防).
const RulePeopleToTest = "people_to_test"

func init() {
	RuleText[RulePeopleToTest] = [2]string{"阳性批次货物的接触人员（装卸、运输、采样、作业人员）需在本辖区开展核酸检测", "people who handled goods of a positive batch or worked at its sites did so in this region; they should be tested"}
	FindingPolicies[RulePeopleToTest] = RulePolicy{"critical", 2 * time.Hour, 24 * time.Hour}
}

// A peopleMark is what state keeps of one record with people.
type peopleMark struct {
	Seq    int64     `json:"seq"`
	Kind   EventKind `json:"kind"`
	At     time.Time `json:"at"`
	Lot    string    `json:"lot,omitempty"` // trace code
	Site   string    `json:"site,omitempty"`
	Region string    `json:"region,omitempty"`
	Roles  []string  `json:"roles"`
}

// markPeople writes the state entry of a record with people; l is the
// record's lot before the record changed it (nil for a site event).
func (lt *lotTx) markPeople(l *Lot) error {
	rec := lt.rec
	if rec.Annex == nil || len(rec.Annex.Roles) == 0 {
		return nil
	}
	m := peopleMark{Seq: rec.Seq, Kind: rec.Kind, At: rec.At, Site: rec.Site, Roles: rec.Annex.Roles}
	if m.Site == "" && l != nil {
		m.Site = l.Site
		if m.Site == "" && l.Transit != nil {
			m.Site = l.Transit.FromSite
		}
	}
	if m.Site != "" {
		s, err := lt.st.site(m.Site)
		if err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
		if s != nil {
			m.Region = s.Region
		}
	}
	k := idxPeopleSite.key(m.Site, be64(rec.Seq))
	if l != nil {
		m.Lot = l.TraceCode
		if m.Region == "" {
			m.Region = l.Region
		}
		k = idxPeopleLot.key(l.ID, be64(rec.Seq))
	}
	return lt.st.put(k, m)
}

// scanPeopleMarks calls fn for each mark of one lot or site (index
// people-lot or people-site).
func (st *state) scanPeopleMarks(x index, value string, fn func(m *peopleMark) error) error {
	prefix := x.prefix(value)
	return st.tx.Scan(prefix, nil, false, func(_, v []byte) error {
		var m peopleMark
		if err := json.Unmarshal(v, &m); err != nil {
			return fault.Wrap(fault.Tampered, "a people mark does not decode", err)
		}
		return fn(&m)
	})
}

// openPeopleToTest opens one people_to_test finding for each region where
// people worked on the positive lot's family inside the site window before
// the positive: on the family's lots, or at the sites that held them while
// they were there.
func (lt *lotTx) openPeopleToTest(pos *Lot, fx *effects) error {
	rec := lt.rec
	var ids []string
	for _, root := range pos.roots() {
		if err := lt.st.scanIndex("root", root, func(id []byte) error { ids = append(ids, string(id)); return nil }); err != nil {
			return err
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	stays := map[string][]Stay{}
	for _, id := range ids {
		l, err := lt.peek(id)
		if err != nil {
			return err
		}
		for _, s := range l.Custody {
			stays[s.Site] = append(stays[s.Site], s)
		}
	}
	start := rec.At.Add(-DefaultSiteWindowDays * 24 * time.Hour)
	return lt.openPeopleFindings(start, ids, stays, fmt.Sprintf("lot %s tested positive (record %d); people worked on its batch", pos.TraceCode, rec.Seq), DefaultSiteWindowDays, fx)
}

// openSitePeopleToTest opens one people_to_test finding for each region
// where people worked, inside the site test's window, at the site that
// tested positive or on the lots that were on it (ids).
func (lt *lotTx) openSitePeopleToTest(site *Site, start time.Time, ids []string, fx *effects) error {
	rec := lt.rec
	end := rec.At
	stays := map[string][]Stay{site.ID: {{Site: site.ID, From: start, To: &end}}}
	return lt.openPeopleFindings(start, ids, stays, fmt.Sprintf("site %s tested positive (record %d); people worked at the site or on its goods", site.ID, rec.Seq), rec.WindowDays, fx)
}

// openPeopleFindings groups by region the marks made from start to the
// record's time on lots ids, or at a site of stays during one of its stays,
// and opens a people_to_test finding per region; its detail begins with
// lead and names the window of days.
func (lt *lotTx) openPeopleFindings(start time.Time, ids []string, stays map[string][]Stay, lead string, days int64, fx *effects) error {
	rec := lt.rec
	inWindow := func(t time.Time) bool { return !t.Before(start) && !t.After(rec.At) }
	marks := map[int64]*peopleMark{}
	for _, id := range ids {
		if err := lt.st.scanPeopleMarks(idxPeopleLot, id, func(m *peopleMark) error {
			if inWindow(m.At) {
				marks[m.Seq] = m
			}
			return nil
		}); err != nil {
			return err
		}
	}
	for site, ss := range stays {
		if err := lt.st.scanPeopleMarks(idxPeopleSite, site, func(m *peopleMark) error {
			during := slices.ContainsFunc(ss, func(s Stay) bool { return !m.At.Before(s.From) && (s.To == nil || !m.At.After(*s.To)) })
			if during && inWindow(m.At) {
				marks[m.Seq] = m
			}
			return nil
		}); err != nil {
			return err
		}
	}
	byRegion := map[string][]*peopleMark{}
	for _, m := range marks {
		if m.Region != "" {
			byRegion[m.Region] = append(byRegion[m.Region], m)
		}
	}
	regions := make([]string, 0, len(byRegion))
	for r := range byRegion {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	for _, r := range regions {
		ms := byRegion[r]
		slices.SortFunc(ms, func(a, b *peopleMark) int { return cmp.Compare(a.Seq, b.Seq) })
		var parts []string
		var seqs []int64
		for _, m := range ms {
			seqs = append(seqs, m.Seq)
			w := fmt.Sprintf("record %d (%s", m.Seq, m.Kind)
			if m.Lot != "" {
				w += " of " + m.Lot
			}
			if m.Site != "" {
				w += " at " + m.Site
			}
			parts = append(parts, w+fmt.Sprintf(" on %s: %s)", m.At.UTC().Format(time.RFC3339), strings.Join(m.Roles, ", ")))
		}
		f := &Finding{
			ID: findingID(rec.Seq, lt.finding), Rule: RulePeopleToTest, Seq: rec.Seq, Open: true, OpenedAt: rec.At,
			Region: r, PeopleEvents: seqs,
			Detail: fmt.Sprintf("%s in region %s within %d days before and should be tested: %s; a regulator of the region opens the records' annexes to reach them",
				lead, r, days, strings.Join(parts, "; ")),
		}
		lt.finding++
		fx.findings = append(fx.findings, *f)
		if err := lt.st.putFinding(nil, f); err != nil {
			return err
		}
	}
	return nil
}

// fillPeople gives a people_to_test finding the pseudonyms of the people
// on its records that the people index still holds (an erased annex's
// people are gone from it).
func (st *state) fillPeople(f *Finding) error {
	if len(f.PeopleEvents) == 0 {
		return nil
	}
	people, err := st.peopleOn(f.PeopleEvents)
	f.People = people
	return err
}

// peopleOn lists the pseudonymous people on records seqs, by pseudonym,
// each with the events they were on.
func (st *state) peopleOn(seqs []int64) ([]RecallPerson, error) {
	entries, err := st.peopleEntries(seqs)
	if err != nil {
		return nil, err
	}
	byPs := map[string]*RecallPerson{}
	for _, seq := range seqs {
		if e := entries[seq]; e != nil {
			addPeople(byPs, seq, e, "")
		}
	}
	return sortedPeople(byPs), nil
}
