package ledger

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/kv"
)

// A ReportFilter selects the root batches of a closure report: those whose
// family was ever in Region (a prefix; "" the key's whole scope) and that
// were declared in [From, To) (either may be zero: open-ended).
type ReportFilter struct {
	Region   string
	From, To time.Time
}

// A ClosureReport is the closure of every root batch of a region and
// declaration window: counts and quantities by status, every batch with
// its status and, when it is not closed, the reasons, and the positive
// batches with how far their recall has got. The ledger returns it typed;
// formatting (JSON, CSV, XLSX, PDF) is the API's business.
type ClosureReport struct {
	Region      string                   `json:"region"`
	Scopes      []string                 `json:"scopes"` // region prefixes read; empty: all
	From        *time.Time               `json:"from,omitempty"`
	To          *time.Time               `json:"to,omitempty"`
	GeneratedAt time.Time                `json:"generated_at"`
	TreeSize    int64                    `json:"tree_size"`
	Totals      ReportTotals             `json:"totals"`
	ByStatus    map[string]*ReportTotals `json:"by_status"`
	ByRegion    []*RegionTotals          `json:"by_region"`
	Batches     []*ReportBatch           `json:"batches"`
	Positive    []*PositiveBatch         `json:"positive"`
}

// ReportTotals sums batches; quantities are over each batch's whole family.
type ReportTotals struct {
	Batches   int64 `json:"batches"`
	Closed    int64 `json:"closed"`
	Open      int64 `json:"open"`
	Violation int64 `json:"violation"`
	Lots      int64 `json:"lots"`
	Declared  int64 `json:"declared"`
	Produced  int64 `json:"produced"`
	Outcome
	Processed    int64 `json:"processed"`
	OpenFindings int64 `json:"open_findings"`
}

func (t *ReportTotals) add(b *ReportBatch) {
	t.Batches++
	switch b.Status {
	case ClosureClosed:
		t.Closed++
	case ClosureOpen:
		t.Open++
	case ClosureViolation:
		t.Violation++
	}
	t.Lots += b.Lots
	t.Declared += b.Declared
	t.Produced += b.Produced
	t.Outcome.add(b.Outcome, 1)
	t.Processed += b.Processed
	t.OpenFindings += b.OpenFindings
}

// RegionTotals are the batches whose family was ever in one 6-digit
// region (a batch in two regions counts in both).
type RegionTotals struct {
	Region   string `json:"region"`
	Province string `json:"province"`
	ReportTotals
}

// A ReportBatch is one root batch of a report.
type ReportBatch struct {
	Root        string    `json:"root"`
	TraceCode   string    `json:"trace_code"`
	Declaration string    `json:"declaration_no"`
	Product     string    `json:"product"`
	Category    string    `json:"category"`
	Importer    string    `json:"importer"`
	DeclaredAt  time.Time `json:"declared_at"`
	Region      string    `json:"region"`  // where it was declared
	Regions     []string  `json:"regions"` // every region of the scope its family was in
	Status      string    `json:"status"`
	Lots        int64     `json:"lots"`
	Declared    int64     `json:"declared"`
	Produced    int64     `json:"produced"`
	Outcome
	Processed    int64    `json:"processed"`
	OpenFindings int64    `json:"open_findings"`
	Positive     bool     `json:"positive"`
	Reasons      []Reason `json:"reasons"`
	// MoreReasons counts the reasons left out beyond MaxReportReasons.
	MoreReasons int `json:"more_reasons,omitempty"`
}

// A PositiveBatch is a batch with a positive test and how far its recall
// has got: of the grams still within reach (on hand, in transit,
// destroyed or returned), the share already destroyed, returned or sealed
// in place.
type PositiveBatch struct {
	Root         string     `json:"root"`
	TraceCode    string     `json:"trace_code"`
	Product      string     `json:"product"`
	PositiveAt   *time.Time `json:"positive_at,omitempty"`
	Lots         int64      `json:"lots"`
	PositiveLots int64      `json:"positive_lots"`
	SealedLots   int64      `json:"sealed_lots"`
	OpenLots     int64      `json:"open_lots"` // lots with grams on hand or in transit
	OnHand       int64      `json:"on_hand"`
	SealedOnHand int64      `json:"sealed_on_hand"`
	InTransit    int64      `json:"in_transit"`
	Reached      int64      `json:"reached_consumers"` // sold or consumed before anyone could stop it
	Disposed     int64      `json:"disposed"`          // destroyed or returned
	Progress     float64    `json:"progress"`          // 0..1
	Regions      []string   `json:"regions"`
}

// MaxReportReasons caps the reasons listed per batch in a report.
const MaxReportReasons = 20

// ClosureReport builds the closure report f selects, as p may see it:
// regulators for their regions, admins for any; operators may not.
func (l *Ledger) ClosureReport(ctx context.Context, p Principal, f ReportFilter) (*ClosureReport, error) {
	if !p.readsAll() && p.Role != RoleRegulator {
		return nil, fault.Errorf(fault.Forbidden, "closure reports are for regulators, auditors and admins")
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return nil, fault.InvalidField("to", "must be after from")
	}
	scopes, err := regionScopes(p, f.Region)
	if err != nil {
		return nil, err
	}
	rep := &ClosureReport{Region: f.Region, Scopes: scopes, GeneratedAt: l.now().UTC(), TreeSize: l.Size(),
		ByStatus: map[string]*ReportTotals{}, ByRegion: []*RegionTotals{}, Batches: []*ReportBatch{}, Positive: []*PositiveBatch{}}
	if rep.Scopes == nil {
		rep.Scopes = []string{}
	}
	if !f.From.IsZero() {
		t := f.From.UTC()
		rep.From = &t
	}
	if !f.To.IsZero() {
		t := f.To.UTC()
		rep.To = &t
	}
	for _, s := range []string{ClosureClosed, ClosureOpen, ClosureViolation} {
		rep.ByStatus[s] = &ReportTotals{}
	}
	from, to := int64(-1<<63), int64(1<<63-1)
	if !f.From.IsZero() {
		from = f.From.UnixNano()
	}
	if !f.To.IsZero() {
		to = f.To.UnixNano()
	}
	err = l.query(ctx, func(st *state) error {
		batches, err := st.reportBatches(scopes, from, to)
		if err != nil {
			return err
		}
		rep.Batches = batches
		regions := map[string]*RegionTotals{}
		for _, b := range rep.Batches {
			for _, r := range b.Regions {
				rt := regions[r]
				if rt == nil {
					rt = &RegionTotals{Region: r, Province: province(r)}
					regions[r] = rt
				}
				rt.add(b)
			}
		}
		// Batches declared at the same time are listed by trace code.
		for i := 0; i < len(rep.Batches); {
			j := i + 1
			for j < len(rep.Batches) && rep.Batches[j].DeclaredAt.Equal(rep.Batches[i].DeclaredAt) {
				j++
			}
			if j-i > 1 {
				slices.SortFunc(rep.Batches[i:j], func(a, b *ReportBatch) int { return strings.Compare(a.TraceCode, b.TraceCode) })
			}
			i = j
		}
		// The families of the batches to explain, read in key order (by
		// root id).
		var explained []*ReportBatch
		for _, b := range rep.Batches {
			if b.Status != ClosureClosed || b.Positive {
				explained = append(explained, b)
			}
		}
		byRoot := slices.Clone(explained)
		slices.SortFunc(byRoot, func(a, b *ReportBatch) int { return strings.Compare(a.Root, b.Root) })
		roots := make([]string, len(byRoot))
		for i, b := range byRoot {
			roots[i] = b.Root
		}
		nodes, err := st.families(roots)
		if err != nil {
			return err
		}
		families := make(map[*ReportBatch][]*lotNode, len(byRoot))
		for i, b := range byRoot {
			families[b] = nodes[i]
		}
		nm := newNames(st)
		// The findings the reasons name, read ahead in key order.
		var fkeys [][]byte
		for _, b := range explained {
			if b.Status == ClosureViolation {
				for _, n := range families[b] {
					if n.OpenFindings > 0 {
						for _, id := range n.Findings {
							fkeys = append(fkeys, tabFinding.key(id))
						}
					}
				}
			}
		}
		slices.SortFunc(fkeys, bytes.Compare)
		fkeys = slices.CompactFunc(fkeys, bytes.Equal)
		nm.findings = make(map[string]*Finding, len(fkeys))
		findingPrefix := tabFinding.all()
		err = kv.GetSorted(st.tx, findingPrefix, fkeys, 16, func(i int, v []byte) error {
			var f Finding
			if err := json.Unmarshal(v, &f); err != nil {
				return fault.Wrap(fault.Tampered, "stored finding does not decode", err)
			}
			nm.findings[string(fkeys[i][len(findingPrefix):])] = &f
			return nil
		})
		if err != nil {
			return err
		}
		for _, b := range rep.Batches {
			rep.Totals.add(b)
			rep.ByStatus[b.Status].add(b)
		}
		for _, b := range explained {
			if err := st.explain(p, b, rep, nm, families[b]); err != nil {
				return err
			}
		}
		for _, rt := range regions {
			rep.ByRegion = append(rep.ByRegion, rt)
		}
		slices.SortFunc(rep.ByRegion, func(a, b *RegionTotals) int { return strings.Compare(a.Region, b.Region) })
		return nil
	})
	return rep, err
}

// rootDeclared is the root lot's own declared grams: the family's declared
// grams less what was split off into children and what processing made.
func rootDeclared(s *rootSummary) int64 { return s.Q.Declared - s.Q.Split - s.Produced }

// explain fills the reasons of a batch that is not closed and, for a
// positive batch, its recall progress, from the family's nodes.
func (st *state) explain(p Principal, b *ReportBatch, rep *ClosureReport, nm *names, family []*lotNode) error {
	var pb *PositiveBatch
	if b.Positive {
		pb = &PositiveBatch{Root: b.Root, TraceCode: b.TraceCode, Product: b.Product, Lots: b.Lots, Regions: b.Regions}
		rep.Positive = append(rep.Positive, pb)
	}
	for _, n := range family {
		if b.Status != ClosureClosed {
			rs, _, err := st.reasonsOf(p, n, b.Status == ClosureViolation, nm)
			if err != nil {
				return err
			}
			for _, r := range rs {
				if len(b.Reasons) == MaxReportReasons {
					b.MoreReasons++
					continue
				}
				b.Reasons = append(b.Reasons, r)
			}
		}
		if pb != nil {
			if n.Positive {
				pb.PositiveLots++
				if at := n.LastTestAt; !at.IsZero() && (pb.PositiveAt == nil || at.Before(*pb.PositiveAt)) {
					pb.PositiveAt = &at
				}
			}
			if n.Sealed {
				pb.SealedLots++
				pb.SealedOnHand += n.Q.OnHand
			}
			if n.Q.OnHand > 0 || n.Q.InTransit > 0 {
				pb.OpenLots++
			}
			pb.OnHand += n.Q.OnHand
			pb.InTransit += n.Q.InTransit
			pb.Reached += n.Q.Sold + n.Q.Consumed
			pb.Disposed += n.Q.Destroyed + n.Q.Returned
		}
	}
	if pb != nil {
		pb.Progress = 1
		if reach := pb.OnHand + pb.InTransit + pb.Disposed; reach > 0 {
			pb.Progress = float64(pb.Disposed+pb.SealedOnHand) / float64(reach)
		}
	}
	slices.SortStableFunc(b.Reasons, func(x, y Reason) int { return cmp.Compare(reasonOrder(x.Kind), reasonOrder(y.Kind)) })
	return nil
}
