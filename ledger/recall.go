package ledger

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
)

// A Recall is the recall scope of a lot (DOMAIN.md): every lot of its root
// batch(es) and their descendants, what each holds now and what already
// left, every site that held any of them and every vehicle that carried
// them, with time windows, grouped by region; and the other lots that were
// at those sites at the same time.
type Recall struct {
	Root      string       `json:"root"`
	Roots     []string     `json:"roots"`
	Lot       string       `json:"lot"` // the lot asked about
	TraceCode string       `json:"trace_code"`
	Lots      []RecallLot  `json:"lots"`
	Sites     []RecallSite `json:"sites"`
	Vehicles  []RecallUse  `json:"vehicles"`
	// ByRegion groups the lots and sites by 6-digit region.
	ByRegion map[string]*RegionPart `json:"by_region"`
	// Contacts are lots outside the family that were at a family site
	// while a family lot was there (possible cross-contamination).
	// At most 1,000 are listed; ContactsTruncated says that some were
	// left out (or that the site-stay entries to look through exceeded
	// 20,000).
	Contacts          []Contact   `json:"contacts"`
	ContactsTruncated bool        `json:"contacts_truncated"`
	Totals            RecallTotal `json:"totals"`
	Scope             AnswerScope `json:"scope"`
	Truncated         bool        `json:"truncated"`
	// People are the pseudonymous people on the events of the lots shown
	// and at their sites while the family was there (people.go).
	People []RecallPerson `json:"people,omitempty"`
}

// An AnswerScope says whose view an answer is: a regulator sees only the
// entries of its regions, an operator its own lots and their counterparties.
type AnswerScope struct {
	Role    string   `json:"role"`
	Regions []string `json:"regions,omitempty"`
	Org     string   `json:"org,omitempty"`
	// HiddenLots counts the lots of the answer left out for this key.
	HiddenLots int    `json:"hidden_lots"`
	Note       string `json:"note,omitempty"`
}

// A RecallLot is one lot of a recall: where it is and what it holds now
// (what to seal in place), and where its grams already went.
type RecallLot struct {
	ID        string     `json:"id"`
	TraceCode string     `json:"trace_code"`
	Product   string     `json:"product"`
	Holder    string     `json:"holder"` // "" while in transit
	Site      string     `json:"site"`
	Region    string     `json:"region"`
	Since     *time.Time `json:"since,omitempty"` // at the current site
	Outcome
	Sealed   bool     `json:"sealed"`
	Positive bool     `json:"positive"`
	Transit  *Transit `json:"transit,omitempty"`
	// Outflows says where the sold, consumed, destroyed, returned and lost
	// grams left the lot: at which site, in whose hands.
	Outflows []Outflow `json:"outflows"`
}

// An Outflow is what left a lot for good at one site (empty: lost in
// transit) in one org's hands.
type Outflow struct {
	Site   string `json:"site"`
	Org    string `json:"org"`
	Region string `json:"region"`
	Gone
}

// A RecallSite is a site that held lots of the family, from the first
// arrival to the last departure (To is nil while a lot is still there).
type RecallSite struct {
	ID     string     `json:"id"`
	Org    string     `json:"org"`
	Region string     `json:"region"`
	From   time.Time  `json:"from"`
	To     *time.Time `json:"to"`
	Lots   []string   `json:"lots"`
	OnHand int64      `json:"on_hand"` // grams of the family there now
}

// A RecallUse is a vehicle that carried lots of the family, from the first
// loading to the last delivery (To is nil while one is on the way).
type RecallUse struct {
	Plate   string     `json:"plate"`
	Carrier string     `json:"carrier,omitempty"`
	From    time.Time  `json:"from"`
	To      *time.Time `json:"to"`
	Lots    []string   `json:"lots"`
}

// A RegionPart is one region's share of a recall.
type RegionPart struct {
	Province  string   `json:"province"` // the 2-digit province's region code (330000)
	Lots      []string `json:"lots"`     // lots held there now or on their way there
	Sites     []string `json:"sites"`
	OnHand    int64    `json:"on_hand"`
	InTransit int64    `json:"in_transit"` // on the way to the region
	Sold      int64    `json:"sold"`
	Consumed  int64    `json:"consumed"`
	Destroyed int64    `json:"destroyed"`
	Returned  int64    `json:"returned"`
}

// A Contact is a lot outside the family at a family site during a family
// stay.
type Contact struct {
	Lot       string     `json:"lot"`
	TraceCode string     `json:"trace_code"`
	Site      string     `json:"site"`
	Plate     string     `json:"plate,omitempty"` // a contact by vehicle: the plate (site is empty)
	From      time.Time  `json:"from"`
	To        *time.Time `json:"to"`
}

// RecallTotal sums the lots of the answer.
type RecallTotal struct {
	Lots int `json:"lots"`
	Outcome
}

// Recall bounds.
const (
	maxContacts     = 1000
	maxContactScans = 20_000 // site-stay entries read looking for contacts
)

// Recall returns the recall scope of the lot ref names, if p may see it.
// Regulators see the entries of their regions, operators their own lots
// (and the sites and vehicles of those lots). The time is proportional to
// the family and its contacts.
func (l *Ledger) Recall(ctx context.Context, p Principal, ref string) (*Recall, error) {
	return l.recall(ctx, p, ref, maxContacts)
}

// recall is Recall with at most limit contacts.
func (l *Ledger) recall(ctx context.Context, p Principal, ref string, limit int) (*Recall, error) {
	var out *Recall
	err := l.query(ctx, func(st *state) error {
		start, err := st.visibleNode(p, ref)
		if err != nil {
			return err
		}
		out = &Recall{Root: start.Root, Roots: start.roots(), Lot: start.ID, TraceCode: start.TraceCode,
			Lots: []RecallLot{}, Sites: []RecallSite{}, Vehicles: []RecallUse{}, ByRegion: map[string]*RegionPart{}, Contacts: []Contact{},
			Scope: AnswerScope{Role: p.Role, Regions: p.Regions, Org: p.Org}}
		switch {
		case p.readsAll():
		case p.Role == RoleRegulator:
			out.Scope.Note = "only the lots that were ever in this key's regions, and the sites and regions among them, are shown"
		default:
			out.Scope.Note = "only this org's lots, and the sites and vehicles that handled them, are shown"
		}
		family, truncated, err := st.family(start.roots(), MaxAnswerLots)
		if err != nil {
			return err
		}
		out.Truncated = truncated
		opened := familyOpenTo(p, family) // a positive opens the family (alerts.go)
		if opened {
			out.Scope.Note = "the batch is under a positive result: its whole family is shown to every region that holds or held part of it"
		}
		inFamily := make(map[string]bool, len(family))
		for _, n := range family {
			inFamily[n.ID] = true
		}
		sites := map[string]*RecallSite{}
		vehicles := map[string]*RecallUse{}
		plates := map[string][]plateWindow{} // for contacts by vehicle
		// stays of the family per site, for the contact search
		stays := map[string][][2]int64{}
		regionOK := func(r string) bool { return p.Role != RoleRegulator || opened || covers(p.Regions, r) }
		part := func(r string) *RegionPart {
			rp := out.ByRegion[r]
			if rp == nil {
				rp = &RegionPart{Province: province(r), Lots: []string{}, Sites: []string{}}
				out.ByRegion[r] = rp
			}
			return rp
		}
		for _, n := range family {
			if !opened && !n.visibleTo(p) {
				out.Scope.HiddenLots++
				continue
			}
			rl := RecallLot{ID: n.ID, TraceCode: n.TraceCode, Product: n.Product, Holder: n.Holder, Site: n.Site, Region: n.Region,
				Outcome: n.Q.Outcome, Sealed: n.Sealed, Positive: n.Positive, Transit: n.Transit.clone(), Outflows: []Outflow{}}
			if c := len(n.Custody); c > 0 && n.Custody[c-1].To == nil {
				since := n.Custody[c-1].From
				rl.Since = &since
			}
			for _, o := range n.Out {
				rl.Outflows = append(rl.Outflows, o)
				if o.Region != "" && regionOK(o.Region) {
					rp := part(o.Region)
					rp.Sold += o.Sold
					rp.Consumed += o.Consumed
					rp.Destroyed += o.Destroyed
					rp.Returned += o.Returned
				}
			}
			out.Lots = append(out.Lots, rl)
			t := &out.Totals
			t.Lots++
			t.Outcome.add(n.Q.Outcome, 1)
			if n.Region != "" && regionOK(n.Region) && n.Q.OnHand > 0 {
				rp := part(n.Region)
				rp.Lots = append(rp.Lots, n.ID)
				rp.OnHand += n.Q.OnHand
			}
			if tr := n.Transit; tr != nil && regionOK(tr.ToRegion) {
				rp := part(tr.ToRegion)
				rp.Lots = append(rp.Lots, n.ID)
				rp.InTransit += n.Q.InTransit
			}
			for _, s := range n.Custody {
				from, to := s.From.UnixNano(), int64(math.MaxInt64)
				if s.To != nil {
					to = s.To.UnixNano()
				}
				stays[s.Site] = append(stays[s.Site], [2]int64{from, to})
				if !regionOK(s.Region) {
					continue
				}
				rs := sites[s.Site]
				if rs == nil {
					rs = &RecallSite{ID: s.Site, Org: s.Org, Region: s.Region, From: s.From, To: s.To, Lots: []string{}}
					sites[s.Site] = rs
					rp := part(s.Region)
					rp.Sites = append(rp.Sites, s.Site)
				}
				if s.From.Before(rs.From) {
					rs.From = s.From
				}
				if rs.To != nil && (s.To == nil || s.To.After(*rs.To)) {
					rs.To = s.To
				}
				if !slices.Contains(rs.Lots, n.ID) {
					rs.Lots = append(rs.Lots, n.ID)
				}
				if s.To == nil {
					rs.OnHand += n.Q.OnHand
				}
			}
			for _, v := range n.Vehicles {
				to := time.Unix(1<<40, 0)
				if v.To != nil {
					to = *v.To
				}
				plates[v.Plate] = append(plates[v.Plate], plateWindow{v.From, to, n.TraceCode})
				ru := vehicles[v.Plate]
				if ru == nil {
					ru = &RecallUse{Plate: v.Plate, Carrier: v.Carrier, From: v.From, To: v.To, Lots: []string{}}
					vehicles[v.Plate] = ru
				}
				if v.From.Before(ru.From) {
					ru.From = v.From
				}
				if ru.To != nil && (v.To == nil || v.To.After(*ru.To)) {
					ru.To = v.To
				}
				if !slices.Contains(ru.Lots, n.ID) {
					ru.Lots = append(ru.Lots, n.ID)
				}
			}
		}
		for _, s := range sites {
			out.Sites = append(out.Sites, *s)
		}
		slices.SortFunc(out.Sites, func(a, b RecallSite) int { return cmp.Or(a.From.Compare(b.From), strings.Compare(a.ID, b.ID)) })
		for _, v := range vehicles {
			out.Vehicles = append(out.Vehicles, *v)
		}
		slices.SortFunc(out.Vehicles, func(a, b RecallUse) int { return cmp.Or(a.From.Compare(b.From), strings.Compare(a.Plate, b.Plate)) })
		if err := st.recallPeople(p, out); err != nil { // people.go
			return err
		}
		if err := st.contacts(p, out, stays, inFamily, limit); err != nil {
			return err
		}
		return st.recallVehicleContacts(p, out, plates, inFamily, limit) // vehicle_contacts.go
	})
	return out, err
}

// province returns the province-level code of a 6-digit region.
func province(r string) string {
	if len(r) < 2 {
		return r
	}
	return r[:2] + "0000"
}

// family reads the nodes of every lot of the given root batches, at most
// limit of them, in creation order: one sequential scan per batch.
func (st *state) family(roots []string, limit int) ([]*lotNode, bool, error) {
	var out []*lotNode
	var seen map[string]bool // a lot under several of the roots is listed once
	if len(roots) > 1 {
		seen = map[string]bool{}
	}
	truncated := false
	for _, r := range roots {
		if err := st.alive(); err != nil {
			return nil, false, err
		}
		prefix := famPrefix(r)
		err := st.tx.Scan(prefix, nil, false, func(k, v []byte) error {
			if len(out) >= limit {
				truncated = true
				return fault.ErrStop
			}
			n, err := st.famNode(k[len(prefix):], v)
			if err != nil {
				return err
			}
			if seen == nil {
				out = append(out, n)
			} else if !seen[n.ID] {
				seen[n.ID] = true
				out = append(out, n)
			}
			return nil
		})
		if err != nil {
			return nil, false, err
		}
	}
	if len(roots) > 1 {
		slices.SortStableFunc(out, func(a, b *lotNode) int { return cmp.Compare(a.CreatedSeq, b.CreatedSeq) })
	}
	return out, truncated, nil
}

// contacts finds the lots outside the family that were at a family site
// while a family lot was there, from the site-stay index (stays per site
// by end time, with their start), at most limit of them: sites in id
// order, each by the end of the contact's stay. ContactsTruncated says that
// a contact was left out, or that maxContactScans entries were read.
func (st *state) contacts(p Principal, out *Recall, stays map[string][][2]int64, inFamily map[string]bool, limit int) error {
	siteIDs := make([]string, 0, len(stays))
	for s := range stays {
		siteIDs = append(siteIDs, s)
	}
	slices.Sort(siteIDs)
	scanned := 0
	for _, site := range siteIDs {
		ws := stays[site]
		earliest := int64(math.MaxInt64)
		for _, w := range ws {
			earliest = min(earliest, w[0])
		}
		siteVisible := p.readsAll()
		if p.Role == RoleRegulator {
			if s, err := st.site(site); err == nil && covers(p.Regions, s.Region) {
				siteVisible = true
			}
		}
		prefix := idxSiteStay.prefix(site)
		err := st.tx.Scan(prefix, append(prefix, be64(earliest)...), false, func(k, v []byte) error {
			if scanned++; scanned > maxContactScans {
				out.ContactsTruncated = true // more entries than a recall reads
				return fault.ErrStop
			}
			sfx := k[len(prefix):]
			end, from, id := int64(beUint(sfx[:8])), int64(beUint(sfx[8:16])), string(sfx[16:])
			if inFamily[id] {
				return nil
			}
			if !slices.ContainsFunc(ws, func(w [2]int64) bool { return from <= w[1] && end >= w[0] }) {
				return nil
			}
			code := string(v)
			if !siteVisible || code == "" {
				n, err := st.node(id)
				if err != nil {
					return err
				}
				if !siteVisible && !n.visibleTo(p) {
					return nil
				}
				code = n.TraceCode
			}
			if len(out.Contacts) >= limit {
				out.ContactsTruncated = true // a contact is left out
				return fault.ErrStop
			}
			c := Contact{Lot: id, TraceCode: code, Site: site, From: time.Unix(0, from).UTC()}
			if end != math.MaxInt64 {
				t := time.Unix(0, end).UTC()
				c.To = &t
			}
			out.Contacts = append(out.Contacts, c)
			return nil
		})
		if err != nil {
			return err
		}
		if out.ContactsTruncated {
			break
		}
	}
	return nil
}
