package ledger

import (
	"coldtrace/ledger/fault"
	"fmt"
	"slices"
	"strings"
)

// Who may say what. Every lot and site event is authorised here, in one
// place, before anything about the lot's state is checked or revealed: a key
// that may not act on a lot gets a fault.Forbidden error, never a rejection that
// tells it the lot's quantities or status.
//
// An event is allowed when one of its kind's grants matches: the key's role
// (any operator role when the grant names none) and what the key's org is to
// the lot or site (its standing). Admins manage the registry and auditors
// read; neither records events. docs/authority.md shows the same table.

// A standing is what a principal is to the lot, site or record an event is
// about.
type standing uint16

const (
	asHolder       standing = 1 << iota // holds the lot (or shipped it and it is on its way)
	asReceiver                          // is the named receiver of the lot's shipment
	asCarrier                           // carries the lot's shipment
	asCustodian                         // owns the site where the lot lies
	asImporter                          // declared the lot's batch
	asSiteOrg                           // owns the site of a site event
	asRecorder                          // recorded the record a void names
	inJurisdiction                      // a regulator whose regions cover where the lot is (属地)
)

var standingNames = []struct {
	s    standing
	name string
}{
	{asHolder, "the holder"}, {asReceiver, "the named receiver"}, {asCarrier, "the carrier"},
	{asCustodian, "the site's org"}, {asImporter, "the importer that declared the batch"}, {asSiteOrg, "the site's org"},
	{asRecorder, "the org that recorded it"}, {inJurisdiction, "of the region where the goods are"},
}

// A grant is one way to be allowed an event kind: a role ("" for any
// operator role) with a standing (0 for none needed).
type grant struct {
	role string
	need standing
}

// grants says who may record each lot and site event kind.
var grants = map[EventKind][]grant{
	Declared:            {{role: RoleImporter}},
	DocumentsAdded:      {{role: RoleImporter, need: asImporter}},
	Tested:              {{role: RoleLab}},
	Disinfected:         {{role: RoleDisinfector}, {need: asHolder}},
	Released:            {{role: RoleSupervisionWarehouse}},
	Shipped:             {{need: asHolder}},
	Received:            {{need: asReceiver}},
	Transformed:         {{role: RoleProcessor, need: asHolder}},
	Sold:                {{need: asHolder}},
	Consumed:            {{need: asHolder}},
	Destroyed:           {{need: asHolder}},
	Sealed:              {{role: RoleRegulator, need: inJurisdiction}},
	Unsealed:            {{role: RoleRegulator, need: inJurisdiction}},
	TemperatureRecorded: {{need: asHolder}, {need: asCarrier}},
	SiteTested:          {{role: RoleLab}},
	SiteDisinfected:     {{role: RoleDisinfector}, {need: asSiteOrg}},
	Voided:              {{need: asRecorder}, {role: RoleRegulator, need: inJurisdiction}},
	FindingClosed:       {{role: RoleRegulator, need: inJurisdiction}},
	FindingAcknowledged: {{role: RoleRegulator, need: inJurisdiction}},
	FindingAssigned:     {{role: RoleRegulator, need: inJurisdiction}},
	NoticeIssued:        {{role: RoleRegulator, need: inJurisdiction}},

	// worker_tests.go: the site's org, or a regulator of the site's region.
	WorkerTestsScheduled: {{need: asSiteOrg}, {role: RoleRegulator, need: inJurisdiction}},
	EPCISCaptured:        {{}, {role: RoleRegulator}},
}

// recordsNothing reports whether a role never records lot or site events.
func recordsNothing(role string) bool { return role == RoleAdmin || role == RoleAuditor }

// matches reports whether g allows a principal of role with standing s.
func (g grant) matches(role string, s standing) bool {
	if recordsNothing(role) {
		return false
	}
	if g.role != "" && g.role != role {
		return false
	}
	if g.role == "" && role == RoleRegulator {
		return false // regulators hold no goods: they act by their own grants
	}
	return s&g.need == g.need
}

// mayEver reports whether role could record kind with some standing; it is
// checked before anything about the lot is read.
func mayEver(kind EventKind, role string) bool {
	return slices.ContainsFunc(grants[kind], func(g grant) bool { return g.matches(role, ^standing(0)) })
}

// allowed reports whether a principal of role with standing s may record
// kind.
func allowed(kind EventKind, role string, s standing) bool {
	return slices.ContainsFunc(grants[kind], func(g grant) bool { return g.matches(role, s) })
}

// who describes in words who may record kind.
func who(kind EventKind) string {
	var parts []string
	for _, g := range grants[kind] {
		var need []string
		for _, n := range standingNames {
			if g.need&n.s != 0 {
				need = append(need, n.name)
			}
		}
		w := strings.Join(need, " ")
		switch {
		case g.role == "" && w == "":
			w = "any operator"
		case g.role == "":
		case g.role == RoleRegulator || w == "":
			w = strings.TrimSpace(article(g.role) + " " + w)
		default:
			w += " (" + article(g.role) + ")"
		}
		parts = append(parts, w)
	}
	return strings.Join(parts, ", or ")
}

// article returns a role in words with its indefinite article.
func article(role string) string {
	r := strings.ReplaceAll(role, "_", " ")
	if strings.ContainsRune("aeiou", rune(r[0])) {
		return "an " + r
	}
	return "a " + r
}

// gate refuses a principal whose role can never record kind, before the
// event's lot is looked up.
func gate(kind EventKind, p Principal) error {
	switch {
	case p.Role == RoleAdmin:
		return forbid("an admin key manages the registry; lot and site events are recorded by operators, labs and regulators")
	case p.Role == RoleAuditor:
		return forbid("an auditor key reads everything and records nothing")
	case !mayEver(kind, p.Role):
		return forbid("a %s key may not record %s: only %s may", p.Role, kind, who(kind))
	}
	return nil
}

// authorize refuses p unless its standing s allows kind; what names the
// thing acted on, regions (for regulators) where it lies.
func authorize(kind EventKind, p Principal, s standing, what string, regions []string) error {
	if err := gate(kind, p); err != nil {
		return err
	}
	if allowed(kind, p.Role, s) {
		return nil
	}
	if p.Role == RoleRegulator {
		return forbid("%s lies in region %s; only a regulator of that region or of a region above it may record %s there (this key covers %s)",
			what, strings.Join(regions, " or "), kind, strings.Join(p.Regions, ", "))
	}
	return forbid("only %s of %s may record %s", who(kind), what, kind)
}

// lotStanding returns what p is to lot l, and the regions of l's
// jurisdiction.
func lotStanding(st *state, p Principal, l *Lot) (standing, []string, error) {
	var s standing
	if p.Org != "" {
		if p.Org == l.Holder {
			s |= asHolder
		}
		if p.Org == l.Importer {
			s |= asImporter
		}
		if t := l.Transit; t != nil {
			if p.Org == t.ToOrg {
				s |= asReceiver
			}
			if p.Org == t.Carrier {
				s |= asCarrier
			}
		}
		if l.Site != "" {
			site, err := st.site(l.Site)
			if err != nil {
				return 0, nil, err
			}
			if site.Org == p.Org {
				s |= asCustodian
			}
		}
	}
	regions, err := jurisdiction(st, l)
	if err != nil {
		return 0, nil, err
	}
	if p.Role == RoleRegulator && slices.ContainsFunc(regions, func(r string) bool { return covers(p.Regions, r) }) {
		s |= inJurisdiction
	}
	return s, regions, nil
}

// jurisdiction returns the regions answerable for lot l (属地): where it
// lies, or for goods on their way where they left and where they go; and,
// for a family under a positive result, where the positive was found.
func jurisdiction(st *state, l *Lot) ([]string, error) {
	var rs []string
	add := func(r string) {
		if r != "" && !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	if l.Transit != nil {
		add(l.Transit.FromRegion)
		add(l.Transit.ToRegion)
	}
	add(l.Region)
	if l.Status.PositiveSeq > 0 {
		r, err := recordRegion(st, l.Status.PositiveSeq)
		if err != nil {
			return nil, err
		}
		add(r)
	}
	return rs, nil
}

// recordRegion returns the region a record was made for: the sealing
// region of a seal, the region of a positive result.
func recordRegion(st *state, seq int64) (string, error) {
	rec, err := st.record(seq)
	if err != nil {
		return "", err
	}
	return rec.Region, nil
}

// coveringPrefix returns the first of p's region prefixes that covers one
// of regions: the region in whose name p acts there.
func coveringPrefix(p Principal, regions []string) string {
	for _, pre := range p.Regions {
		if slices.ContainsFunc(regions, func(r string) bool { return strings.HasPrefix(r, pre) }) {
			return pre
		}
	}
	return ""
}

// liftsSeal reports whether p may lift a seal made for region sealRegion:
// that region or one above it. A seal recorded before seals carried their
// region ("") is lifted by any regulator of the lot's jurisdiction.
func liftsSeal(p Principal, sealRegion string) bool {
	return sealRegion == "" || slices.ContainsFunc(p.Regions, func(pre string) bool { return strings.HasPrefix(sealRegion, pre) })
}

// lotWhat names a lot in an authority refusal.
func lotWhat(l *Lot) string { return fmt.Sprintf("lot %s", l.TraceCode) }

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

// authorizeFinding reads the finding rec names and authorises p to record
// rec about it: a regulator of the region the finding was filed in, or of
// the region answerable for its lot now. It returns the finding and those
// regions.
func authorizeFinding(st *state, p Principal, rec *Record) (*Finding, []string, error) {
	f, err := st.finding(rec.Finding)
	if fault.KindOf(err) == fault.NotFound {
		return nil, nil, fault.Rejectf("finding", "no finding %s", rec.Finding)
	} else if err != nil {
		return nil, nil, err
	}
	var s standing
	regions := []string{f.Region}
	if f.AssignedTo != "" {
		regions = append(regions, f.AssignedTo) // assigned: that region acts for it too
	}
	if p.Role == RoleRegulator && (covers(p.Regions, f.Region) || covers(p.Regions, f.AssignedTo)) {
		s |= inJurisdiction
	}
	if f.Lot != "" {
		l, err := st.lot(f.Lot)
		if err != nil && fault.KindOf(err) != fault.NotFound {
			return nil, nil, err
		}
		if l != nil {
			ls, rs, err := lotStanding(st, p, l)
			if err != nil {
				return nil, nil, err
			}
			s |= ls & inJurisdiction
			regions = append(regions, rs...)
		}
	}
	regions = slices.Compact(regions)
	return f, regions, authorize(rec.Kind, p, s, "finding "+f.ID, regions)
}
