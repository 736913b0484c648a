package ledger

import (
	"slices"
	"strings"

	"coldtrace/ledger/fault"
)

// What a Lot (the full state) and a lotNode (its compact view for queries)
// share: who may see them, the regions they were in, their root batches and
// the status words they are listed by. Each is written once here, over the
// fields both types keep.

// covers reports whether a regulator scoped to prefixes may act in region.
func covers(prefixes []string, region string) bool {
	for _, p := range prefixes {
		if region != "" && strings.HasPrefix(region, p) {
			return true
		}
	}
	return false
}

// regionsOf returns every region of the stays, then the region a transit is
// bound to, once each.
func regionsOf(custody []Stay, t *Transit) []string {
	var rs []string
	for _, s := range custody {
		if !slices.Contains(rs, s.Region) {
			rs = append(rs, s.Region)
		}
	}
	if t != nil && !slices.Contains(rs, t.ToRegion) {
		rs = append(rs, t.ToRegion)
	}
	return rs
}

// visible reports whether p may see a lot: admins always, regulators when
// the lot was ever in one of their regions, operators when their org is
// among orgs (it held the lot, was sent it or recorded an event about it).
func visible(p Principal, custody []Stay, t *Transit, orgs []string) bool {
	switch {
	case p.readsAll():
		return true
	case p.Role == RoleRegulator:
		return slices.ContainsFunc(regionsOf(custody, t), func(r string) bool { return covers(p.Regions, r) })
	}
	return p.Org != "" && slices.Contains(orgs, p.Org)
}

// rootsOf returns the root batches of a lot: roots when it has several,
// else its one root.
func rootsOf(root string, roots []string) []string {
	if len(roots) > 0 {
		return roots
	}
	return []string{root}
}

// statusWords lists the status words (LotStatusWords) a lot is listed by.
func statusWords(f LotFlags, openFindings int64, inTransit bool) []string {
	s := []string{"open"}
	if f.Closed {
		s[0] = "closed"
	}
	for _, w := range []struct {
		on   bool
		word string
	}{{f.Sealed, "sealed"}, {f.Positive, "positive"}, {f.Cleared, "cleared"}, {openFindings > 0, "violation"}, {inTransit, "in_transit"}} {
		if w.on {
			s = append(s, w.word)
		}
	}
	return s
}

// Regions returns every region the lot was ever at or is on its way to.
func (l *Lot) Regions() []string { return regionsOf(l.Custody, l.Transit) }

// visibleTo reports whether p may see the lot (see visible).
func (l *Lot) visibleTo(p Principal) bool { return visible(p, l.Custody, l.Transit, l.Orgs) }

// roots returns the root batches the lot belongs to.
func (l *Lot) roots() []string { return rootsOf(l.Root, l.Roots) }

// statuses lists the status words the lot is listed by.
func (l *Lot) statuses() []string {
	f := LotFlags{Cleared: l.Status.Cleared, Sealed: l.Status.Sealed, Positive: l.Status.Positive, Closed: l.Status.Closed}
	return statusWords(f, int64(l.OpenFindings), l.Transit != nil)
}

// regions returns every region the lot was ever at or is on its way to.
func (n *lotNode) regions() []string { return regionsOf(n.Custody, n.Transit) }

// visibleTo reports whether p may see the lot (see visible).
func (n *lotNode) visibleTo(p Principal) bool { return visible(p, n.Custody, n.Transit, n.Orgs) }

// roots returns the root batches the node belongs to.
func (n *lotNode) roots() []string { return rootsOf(n.Root, n.Roots) }

// statuses lists the status words the lot is listed by.
func (n *lotNode) statuses() []string {
	f := LotFlags{Cleared: n.Cleared, Sealed: n.Sealed, Positive: n.Positive, Closed: n.Closed}
	return statusWords(f, n.OpenFindings, n.Transit != nil)
}

// canSeeLot is visibleTo by lot id; a missing lot is seen by nobody.
func canSeeLot(st *state, p Principal, lotID string) (bool, error) {
	l, err := st.lot(lotID)
	if fault.KindOf(err) == fault.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return l.visibleTo(p), nil
}
