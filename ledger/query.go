package ledger

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
	"coldtrace/ledger/vlog"
)

// A LotAnswer is a lot as GET /v1/lots/{ref} shows it: its state and its
// papers, with whether the asker may open each.
type LotAnswer struct {
	*Lot
	Papers []Paper `json:"papers"`
	// ClearedParts says which parts of cleared the lot's category needs,
	// which record meets each and which are missing (policy version 1).
	ClearedParts []PartStatus `json:"cleared_parts,omitempty"`
}

// Lot returns the lot a trace code or lot id names, with its papers, if p
// may see it.
func (l *Ledger) Lot(ctx context.Context, p Principal, ref string) (*LotAnswer, error) {
	var out LotAnswer
	err := l.view(ctx, func(st *state) error {
		lot, err := st.visibleLot(p, ref)
		if err != nil {
			return err
		}
		out.Lot = lot
		if out.Papers, err = lotPapers(st, p, lot); err != nil {
			return err
		}
		pol, err := st.policy()
		if err == nil && pol.Version >= 1 {
			out.ClearedParts = describeParts(pol, lot)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if out.Papers == nil {
		out.Papers = []Paper{}
	}
	return &out, nil
}

func (st *state) visibleLot(p Principal, ref string) (*Lot, error) {
	lot, err := st.resolveLot(ref)
	if err != nil {
		return nil, err
	}
	if !lot.visibleTo(p) {
		if ok, err := st.openedByPositive(p, lot.roots()); err != nil || !ok {
			return nil, cmp.Or(err, fault.Errorf(fault.Forbidden, "this key may not see lot %s", lot.TraceCode))
		}
	}
	return lot, nil
}

// LotRecords is a lot's history: the stored bytes of every record that
// changed it, in order, and which of them were voided (by which record).
type LotRecords struct {
	Lot      *Lot
	Records  []json.RawMessage
	VoidedBy map[int64]int64
}

// LotEvents returns the records of a lot, if p may see it.
func (l *Ledger) LotEvents(ctx context.Context, p Principal, ref string) (*LotRecords, error) {
	out := &LotRecords{VoidedBy: map[int64]int64{}}
	err := l.view(ctx, func(st *state) error {
		lot, err := st.visibleLot(p, ref)
		if err != nil {
			return err
		}
		out.Lot = lot
		return st.scanIndex(idxLotEvents, lot.ID, func(sfx []byte) error {
			seq := int64(beUint(sfx))
			data, err := vlog.ReadRecord(st.tx, seq)
			if err != nil {
				return err
			}
			out.Records = append(out.Records, json.RawMessage(data))
			if v, err := st.get(tabVoided.key(string(sfx))); err == nil {
				out.VoidedBy[seq] = int64(beUint(v))
			}
			return nil
		})
	})
	return out, err
}

// Event returns the stored bytes of record seq and the record that voided
// it (0 if none), if p may see it: registry records are seen by every key,
// lot records by those who may see one of their lots, site records by
// regulators of the site's region and the site's org.
func (l *Ledger) Event(ctx context.Context, p Principal, seq int64) (data []byte, voidedBy int64, err error) {
	if seq >= l.Size() {
		return nil, 0, fault.Errorf(fault.NotFound, "no record %d", seq)
	}
	err = l.view(ctx, func(st *state) error {
		if data, err = vlog.ReadRecord(st.tx, seq); err != nil {
			return err
		}
		rec, err := DecodeRecord(data)
		if err != nil {
			return err
		}
		if v, err := st.get(tabVoided.seqKey(seq)); err == nil {
			voidedBy = int64(beUint(v))
		}
		if ok, err := st.recordVisible(p, rec); err != nil || ok {
			return err
		}
		return fault.Errorf(fault.Forbidden, "this key may not see record %d", seq)
	})
	return data, voidedBy, err
}

func (st *state) recordVisible(p Principal, rec *Record) (bool, error) {
	if p.readsAll() || rec.Kind.IsRegistry() || (p.Org != "" && rec.Actor.Org == p.Org) {
		return true, nil
	}
	if rec.Kind == EPCISCaptured {
		return epcisVisible(st, p, rec)
	}
	var rl recordLots
	if err := st.getJSON(tabRecordLots.seqKey(rec.Seq), &rl); err != nil && fault.KindOf(err) != fault.NotFound {
		return false, err
	}
	for _, id := range rl.Lots {
		if ok, err := canSeeLot(st, p, id); err != nil || ok {
			return ok, err
		}
	}
	if rec.Site != "" && p.Role == RoleRegulator {
		if s, err := st.site(rec.Site); err == nil && covers(p.Regions, s.Region) {
			return true, nil
		}
	}
	return false, nil
}

// A FindingFilter selects findings.
type FindingFilter struct {
	Region string // a region prefix; empty: the key's regions (regulators) or its org's findings (operators)
	Rule   string
	Open   *bool
	After  string // cursor: list findings after this id (newest first)
	Limit  int
}

// A findingScan reads the findings of an index under value.
type findingScan struct {
	index index
	value string
}

// Findings lists findings newest first, as p may see them: regulators those
// in their regions, operators those about their own lots.
func (l *Ledger) Findings(ctx context.Context, p Principal, f FindingFilter) (out []Finding, next string, err error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	if f.Region != "" && !ident.ValidRegionPrefix(f.Region) {
		return nil, "", fault.InvalidField("region", "is not a region prefix (2, 4 or 6 digits)")
	}
	var scans []findingScan
	switch {
	case p.readsAll():
		scans = append(scans, findingScan{idxFindingRegion, f.Region})
	case p.Role == RoleRegulator:
		if f.Region != "" {
			if !covers(p.Regions, f.Region) && !slices.ContainsFunc(p.Regions, func(r string) bool { return strings.HasPrefix(r, f.Region) }) {
				return nil, "", fault.Errorf(fault.Forbidden, "region %s is outside this key's regions (%s)", f.Region, strings.Join(p.Regions, ", "))
			}
		}
		for _, r := range p.Regions {
			switch {
			case f.Region == "", strings.HasPrefix(r, f.Region): // the whole scope, or the part of it inside f.Region
				scans = append(scans, findingScan{idxFindingRegion, r}, findingScan{idxFindingAssigned, r})
			case strings.HasPrefix(f.Region, r): // f.Region lies inside the scope
				scans = append(scans, findingScan{idxFindingRegion, f.Region}, findingScan{idxFindingAssigned, f.Region})
			}
		}
	default:
		scans = append(scans, findingScan{idxFindingOrg, p.Org})
	}
	err = l.view(ctx, func(st *state) error {
		seen := map[string]bool{}
		var ids []string
		for _, sc := range scans {
			// Region prefixes: scan without the value terminator.
			prefix := sc.index.within(sc.value)
			if sc.index == idxFindingOrg {
				prefix = sc.index.prefix(sc.value)
			}
			if err := st.tx.Scan(prefix, nil, false, func(k, _ []byte) error {
				id := string(k[bytes.IndexByte(k, 0)+1:])
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		slices.SortFunc(ids, compareFindingIDsDesc)
		for _, id := range ids {
			if f.After != "" && compareFindingIDsDesc(id, f.After) <= 0 {
				continue
			}
			fd, err := st.finding(id)
			if err != nil {
				return err
			}
			if (f.Rule != "" && fd.Rule != f.Rule) || (f.Open != nil && fd.Open != *f.Open) {
				continue
			}
			if len(out) == f.Limit {
				next = out[len(out)-1].ID
				return nil
			}
			if err := st.fillPeople(fd); err != nil { // people_findings.go
				return err
			}
			out = append(out, *fd)
		}
		return nil
	})
	return out, next, err
}

// compareFindingIDsDesc orders finding ids ("seq-n") newest first.
func compareFindingIDsDesc(a, b string) int {
	pa, pb := parseFindingID(a), parseFindingID(b)
	if c := cmp.Compare(pb[0], pa[0]); c != 0 {
		return c
	}
	return cmp.Compare(pb[1], pa[1])
}

func parseFindingID(id string) [2]int64 {
	s, n, _ := strings.Cut(id, "-")
	a, _ := strconv.ParseInt(s, 10, 64)
	b, _ := strconv.ParseInt(n, 10, 64)
	return [2]int64{a, b}
}
