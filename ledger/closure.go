package ledger

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// A Closure says whether every gram of a lot and its descendants is
// accounted for: closed (every gram reached sold, consumed, destroyed,
// returned or a recorded loss, directly or through child lots, and no
// finding is open), open (Reasons say where the rest is) or violation
// (Findings lists the open findings).
type Closure struct {
	Lot        string     `json:"lot"`
	TraceCode  string     `json:"trace_code"`
	Root       string     `json:"root"`
	Status     string     `json:"status"`
	Accounting Accounting `json:"accounting"`
	Reasons    []Reason   `json:"reasons"`
	Findings   []Finding  `json:"findings"`
	Truncated  bool       `json:"truncated"`
}

// Accounting proves a closure status: over the lot and its descendants,
// Declared + Produced = OnHand + InTransit + Terminal + Processed, where
// Terminal = Sold + Consumed + Destroyed + Returned + Lost. Grams split off
// into child lots cancel out (a child declares what its parent split);
// Processed grams went into products whose own declared grams are
// Produced.
type Accounting struct {
	Declared int64 `json:"declared"` // the lot's own declared grams
	Produced int64 `json:"produced"` // declared grams of products made from it
	Outcome
	Terminal  int64 `json:"terminal"`
	Processed int64 `json:"processed"`
	Balanced  bool  `json:"balanced"`
	Lots      int   `json:"lots"`
	// OpenLots counts the lots with grams on hand or in transit.
	OpenLots     int   `json:"open_lots"`
	OpenFindings int64 `json:"open_findings"`
}

func (a *Accounting) add(n *lotNode) {
	a.Lots++
	a.Outcome.add(n.Q.Outcome, 1)
	a.Processed += n.Q.Transformed
	if n.CreatedBy == Transformed {
		a.Produced += n.Q.Declared
	}
	if n.Q.OnHand > 0 || n.Q.InTransit > 0 {
		a.OpenLots++
	}
	a.OpenFindings += n.OpenFindings
}

func (a *Accounting) finish() {
	a.Terminal = a.Sold + a.Consumed + a.Destroyed + a.Returned + a.Lost
	a.Balanced = a.Declared+a.Produced == a.OnHand+a.InTransit+a.Terminal+a.Processed
}

func (a *Accounting) status() string {
	switch {
	case a.OpenFindings > 0:
		return ClosureViolation
	case a.OnHand > 0 || a.InTransit > 0:
		return ClosureOpen
	}
	return ClosureClosed
}

// A Reason is why a lot or batch is not closed: grams on hand somewhere,
// grams in transit, or an open finding. For a lot the key may not see,
// only the region and the grams are given.
type Reason struct {
	Kind      string     `json:"kind"` // on_hand, in_transit, finding
	Lot       string     `json:"lot"`
	TraceCode string     `json:"trace_code"`
	Grams     int64      `json:"grams,omitempty"`
	Org       string     `json:"org,omitempty"`
	OrgName   string     `json:"org_name,omitempty"`
	Site      string     `json:"site,omitempty"`
	SiteName  string     `json:"site_name,omitempty"`
	Region    string     `json:"region,omitempty"`
	Since     *time.Time `json:"since,omitempty"`
	ToOrg     string     `json:"to_org,omitempty"`
	ToOrgName string     `json:"to_org_name,omitempty"`
	ToSite    string     `json:"to_site,omitempty"`
	Plate     string     `json:"plate,omitempty"`
	Deadline  *time.Time `json:"deadline,omitempty"`
	Overdue   bool       `json:"overdue,omitempty"`
	Sealed    bool       `json:"sealed,omitempty"`
	Finding   string     `json:"finding,omitempty"`
	Rule      string     `json:"rule,omitempty"`
	Detail    string     `json:"detail,omitempty"`
	Hidden    bool       `json:"hidden,omitempty"`
}

// Text is the reason in a sentence of plain Chinese, for reports.
func (r Reason) Text() string { return r.text(true) }

// ShortText is Text without the finding's detail (which is in English).
func (r Reason) ShortText() string { return r.text(false) }

func (r Reason) text(detail bool) string {
	t := func(p *time.Time) string {
		if p == nil {
			return ""
		}
		return p.In(chinaTime).Format("2006-01-02 15:04")
	}
	name := func(id, n string) string {
		if n == "" {
			return id
		}
		return n + "（" + id + "）"
	}
	switch r.Kind {
	case ReasonOnHand:
		if r.Hidden {
			return fmt.Sprintf("批次 %s 尚有 %s 在地区 %s 库存（不在本账号辖区）", r.TraceCode, grams(r.Grams), r.Region)
		}
		s := fmt.Sprintf("批次 %s 尚有 %s 在库：%s，场所 %s，地区 %s", r.TraceCode, grams(r.Grams), name(r.Org, r.OrgName), name(r.Site, r.SiteName), r.Region)
		if r.Since != nil {
			s += "，自 " + t(r.Since) + " 起"
		}
		if r.Sealed {
			s += "，已封存"
		}
		return s
	case ReasonInTransit:
		if r.Hidden {
			return fmt.Sprintf("批次 %s 尚有 %s 在途，发往地区 %s（不在本账号辖区）", r.TraceCode, grams(r.Grams), r.Region)
		}
		s := fmt.Sprintf("批次 %s 尚有 %s 在途：%s 自场所 %s 发往 %s，场所 %s", r.TraceCode, grams(r.Grams), t(r.Since), name(r.Site, r.SiteName), name(r.ToOrg, r.ToOrgName), r.ToSite)
		if r.Plate != "" {
			s += "，车辆 " + r.Plate
		}
		if r.Overdue {
			s += "，已超过签收时限 " + t(r.Deadline)
		}
		return s
	case ReasonFinding:
		what := r.Rule
		if text, ok := RuleText[r.Rule]; ok {
			what = text[0]
		}
		s := fmt.Sprintf("批次 %s 有未关闭的问题 %s：%s", r.TraceCode, r.Finding, what)
		if detail && r.Detail != "" {
			s += "（" + r.Detail + "）"
		}
		return s
	}
	return r.Kind
}

// Reason kinds.
const (
	ReasonOnHand    = "on_hand"
	ReasonInTransit = "in_transit"
	ReasonFinding   = "finding"
)

// chinaTime is UTC+8, the time the reports are written in.
var chinaTime = time.FixedZone("CST", 8*3600)

// grams formats a quantity for people: kilograms with up to three
// decimals.
func grams(g int64) string {
	if g%1000 == 0 {
		return fmt.Sprintf("%d 千克", g/1000)
	}
	return fmt.Sprintf("%.3f 千克", float64(g)/1000)
}

// names resolves org and site names for reasons, each once per answer, and
// holds the findings a report read ahead (findings).
type names struct {
	st       *state
	orgs     map[string]string
	sites    map[string]string
	findings map[string]*Finding
}

// finding returns finding id, read ahead or from the store.
func (nm *names) finding(id string) (*Finding, error) {
	if f := nm.findings[id]; f != nil {
		return f, nil
	}
	return nm.st.finding(id)
}

func newNames(st *state) *names {
	return &names{st: st, orgs: map[string]string{}, sites: map[string]string{}}
}

func (nm *names) org(uscc string) string {
	if uscc == "" {
		return ""
	}
	n, ok := nm.orgs[uscc]
	if !ok {
		if o, err := nm.st.org(uscc); err == nil {
			n = o.Name
		}
		nm.orgs[uscc] = n
	}
	return n
}

func (nm *names) site(id string) string {
	if id == "" {
		return ""
	}
	n, ok := nm.sites[id]
	if !ok {
		if s, err := nm.st.site(id); err == nil {
			n = s.Name
		}
		nm.sites[id] = n
	}
	return n
}

// reasonsOf lists why node n is not closed, as p may see it.
func (st *state) reasonsOf(p Principal, n *lotNode, withFindings bool, nm *names) ([]Reason, []Finding, error) {
	var rs []Reason
	var fs []Finding
	hidden := !n.visibleTo(p)
	if n.Q.OnHand > 0 {
		r := Reason{Kind: ReasonOnHand, Lot: n.ID, TraceCode: n.TraceCode, Grams: n.Q.OnHand, Region: n.Region, Hidden: hidden}
		if !hidden {
			r.Org, r.Site, r.Sealed = n.Holder, n.Site, n.Sealed
			r.OrgName, r.SiteName = nm.org(r.Org), nm.site(r.Site)
			if c := len(n.Custody); c > 0 && n.Custody[c-1].To == nil {
				since := n.Custody[c-1].From
				r.Since = &since
			}
		}
		rs = append(rs, r)
	}
	if tr := n.Transit; tr != nil && n.Q.InTransit > 0 {
		r := Reason{Kind: ReasonInTransit, Lot: n.ID, TraceCode: n.TraceCode, Grams: n.Q.InTransit, Region: tr.ToRegion, Hidden: hidden}
		if !hidden {
			since, deadline := tr.Since, tr.Deadline
			r.Org, r.Site, r.ToOrg, r.ToSite, r.Plate, r.Since, r.Deadline, r.Overdue, r.Sealed = tr.From, tr.FromSite, tr.ToOrg, tr.ToSite, tr.Plate, &since, &deadline, tr.Overdue, n.Sealed
			r.OrgName, r.SiteName, r.ToOrgName = nm.org(r.Org), nm.site(r.Site), nm.org(r.ToOrg)
		}
		rs = append(rs, r)
	}
	if n.OpenFindings > 0 && withFindings {
		for _, id := range n.Findings {
			f, err := nm.finding(id)
			if err != nil {
				return nil, nil, err
			}
			if !f.Open {
				continue
			}
			r := Reason{Kind: ReasonFinding, Lot: n.ID, TraceCode: n.TraceCode, Region: f.Region, Finding: f.ID, Rule: f.Rule, Hidden: hidden}
			if !hidden {
				r.Org, r.Site, r.Detail = f.Org, f.Site, f.Detail
				r.OrgName, r.SiteName = nm.org(r.Org), nm.site(r.Site)
				fs = append(fs, *f)
			}
			rs = append(rs, r)
		}
	}
	return rs, fs, nil
}

// Closure returns the closure of the lot ref names and of its descendants,
// if p may see the lot.
func (l *Ledger) Closure(ctx context.Context, p Principal, ref string) (*Closure, error) {
	var out *Closure
	err := l.query(ctx, func(st *state) error {
		start, err := st.visibleNode(p, ref)
		if err != nil {
			return err
		}
		out = &Closure{Lot: start.ID, TraceCode: start.TraceCode, Root: start.Root, Reasons: []Reason{}, Findings: []Finding{}}
		out.Accounting.Declared = start.Q.Declared
		dag, truncated, err := st.descendants(start, MaxAnswerLots)
		if err != nil {
			return err
		}
		out.Truncated = truncated
		nm := newNames(st)
		for _, n := range dag {
			out.Accounting.add(n)
			rs, fs, err := st.reasonsOf(p, n, true, nm)
			if err != nil {
				return err
			}
			out.Reasons = append(out.Reasons, rs...)
			out.Findings = append(out.Findings, fs...)
		}
		// A lot made by processing is not its own "produced" grams: only
		// products made from it count.
		if start.CreatedBy == Transformed {
			out.Accounting.Produced -= start.Q.Declared
		}
		out.Accounting.finish()
		out.Status = out.Accounting.status()
		slices.SortStableFunc(out.Reasons, func(a, b Reason) int { return cmp.Compare(reasonOrder(a.Kind), reasonOrder(b.Kind)) })
		return nil
	})
	return out, err
}

func reasonOrder(kind string) int {
	return slices.Index([]string{ReasonFinding, ReasonInTransit, ReasonOnHand}, kind)
}

// descendants returns lot start and every lot descended from it, each once,
// breadth first, at most limit of them.
func (st *state) descendants(start *lotNode, limit int) ([]*lotNode, bool, error) {
	if len(start.Parents) == 0 {
		// A root batch's descendants are its family.
		return st.family([]string{start.ID}, limit)
	}
	out := []*lotNode{start}
	seen := map[string]bool{start.ID: true}
	for i := 0; i < len(out); i++ {
		for _, id := range out[i].Kids {
			if seen[id] {
				continue
			}
			if len(out) >= limit {
				return out, true, nil
			}
			n, err := st.node(id)
			if err != nil {
				return nil, false, err
			}
			seen[id] = true
			out = append(out, n)
		}
	}
	return out, false, nil
}
