package ledger

import (
	"encoding/binary"
	"slices"
	"strings"
	"time"
)

// The query side keeps two compact views of the lots, derived in the same
// transaction as every lot change (st.derive, called by reindex), so that
// replay and verify rebuild them like every other s/ entry:
//
//	s/node/<lot id>        a lotNode: what trace, recall, closure and the
//	                       lists need of a lot, in a binary encoding that
//	                       decodes about ten times faster than the lot's JSON
//	s/fam/<root>\x00<created seq><lot id>
//	                       the same node again, under every root batch of
//	                       the lot: a family is one sequential scan
//	s/rsum/<declared at><root id>
//	                       a rootSummary: the sums over a root batch's
//	                       whole family (the lots of its root index)
//	s/x/root-region/<region>\x00<declared at><root id>
//	                       one entry per region the family was ever in,
//	                       by declaration time: a closure report for a
//	                       region is one range scan and a summary per batch
//	s/x/site-stay/<site>\x00<end><start><lot id> = trace code
//	                       every stay at a site, by end time, with its
//	                       start: the lots present at a site in a time
//	                       window, without reading them (recall contacts)
//
// docs/decisions.md explains the measurements behind this.

// A lotNode is the compact view of a lot.
type lotNode struct {
	ID, TraceCode, Root    string
	Roots, Parents, Kids   []string
	CreatedBy              EventKind // declared, shipped (a split) or transformed
	Product, Category      string
	Importer, Declaration  string
	DeclaredAt, CreatedAt  time.Time
	CreatedSeq, LastSeq    int64
	Holder, Site, Region   string
	Q                      LotQuantity
	Cleared, Sealed        bool
	Positive, Closed       bool
	OpenFindings           int64
	Findings               []string
	Custody                []Stay
	Vehicles               []VehicleUse
	Transit                *Transit
	Orgs                   []string
	Containers             []string
	Out                    []outflow // where grams left the lot for good
	PositiveSeq, SealSeq   int64
	SealReason             string
	LastTestResult         string
	LastTestAt             time.Time
	ReleaseAt, DisinfectAt time.Time
	DocumentCount, Pieces  int64

	raw string // the encoding it was decoded from (nodeCache); not encoded
}

// An outflow is what left a lot for good at one site in one org's hands.
// Lost grams of a short receipt have no site (they were lost in transit).
type outflow struct {
	Site, Org, Region                         string
	Sold, Consumed, Destroyed, Returned, Lost int64
}

func (o outflow) zero() bool {
	return o.Sold == 0 && o.Consumed == 0 && o.Destroyed == 0 && o.Returned == 0 && o.Lost == 0
}

// roots returns the root batches the node belongs to.
func (n *lotNode) roots() []string {
	if len(n.Roots) > 0 {
		return n.Roots
	}
	return []string{n.Root}
}

// regions returns every region the lot was ever at or is on its way to.
func (n *lotNode) regions() []string {
	var rs []string
	for _, s := range n.Custody {
		if !slices.Contains(rs, s.Region) {
			rs = append(rs, s.Region)
		}
	}
	if n.Transit != nil && !slices.Contains(rs, n.Transit.ToRegion) {
		rs = append(rs, n.Transit.ToRegion)
	}
	return rs
}

// visibleTo is lotVisible for a node.
func (n *lotNode) visibleTo(p Principal) bool {
	switch {
	case p.readsAll():
		return true
	case p.Role == RoleRegulator:
		return slices.ContainsFunc(n.regions(), func(r string) bool { return covers(p.Regions, r) })
	}
	return p.Org != "" && slices.Contains(n.Orgs, p.Org)
}

// createdBy infers which kind of record created lot l: a declaration makes
// a lot without parents; a transformation starts the output's first stay
// in the record that creates it; a partial shipment creates a lot in
// transit, with no stay yet.
func createdBy(l *Lot) EventKind {
	switch {
	case len(l.Parents) == 0:
		return Declared
	case len(l.Custody) > 0 && l.Custody[0].Seq == l.CreatedSeq:
		return Transformed
	}
	return Shipped
}

// nodeOf builds the node of lot l, whose previous node (nil for a new lot)
// is prev and previous state old: grams that left the lot for good since
// old are added to the outflows at the site where old was.
func nodeOf(l *Lot, old *Lot, prev *lotNode) *lotNode {
	n := &lotNode{
		ID: l.ID, TraceCode: l.TraceCode, Root: l.Root, Roots: l.Roots, Parents: l.Parents, Kids: l.Children,
		Product: l.Product.Name, Category: l.Product.Category, Importer: l.Importer, Declaration: l.DeclarationNo,
		DeclaredAt: l.DeclaredAt, CreatedAt: l.CreatedAt, CreatedSeq: l.CreatedSeq, LastSeq: l.LastSeq,
		Holder: l.Holder, Site: l.Site, Region: l.Region, Q: l.Quantity,
		Cleared: l.Status.Cleared, Sealed: l.Status.Sealed, Positive: l.Status.Positive, Closed: l.Status.Closed,
		OpenFindings: int64(l.OpenFindings), Findings: l.Findings, Custody: l.Custody, Vehicles: l.Vehicles,
		Transit: l.Transit, Orgs: l.Orgs, PositiveSeq: l.Status.PositiveSeq, SealSeq: l.Status.SealSeq,
		SealReason: l.Status.SealReason, DocumentCount: int64(len(l.Documents)), Pieces: l.Pieces,
	}
	for _, c := range l.Containers {
		n.Containers = append(n.Containers, c.Number)
	}
	if t := l.LastTest; t != nil {
		n.LastTestResult, n.LastTestAt = t.Result, t.At
	}
	if m := l.Release; m != nil {
		n.ReleaseAt = m.At
	}
	if m := l.LastDisinfection; m != nil {
		n.DisinfectAt = m.At
	}
	if prev == nil {
		n.CreatedBy = createdBy(l)
	} else {
		n.CreatedBy = prev.CreatedBy
		n.Out = slices.Clone(prev.Out)
	}
	if old != nil {
		d := outflow{
			Sold: l.Quantity.Sold - old.Quantity.Sold, Consumed: l.Quantity.Consumed - old.Quantity.Consumed,
			Destroyed: l.Quantity.Destroyed - old.Quantity.Destroyed, Returned: l.Quantity.Returned - old.Quantity.Returned,
			Lost: l.Quantity.Lost - old.Quantity.Lost,
		}
		if !d.zero() {
			d.Site, d.Org, d.Region = old.Site, old.Holder, old.Region
			if old.Site == "" && old.Transit != nil {
				d.Org = old.Transit.From // lost on the way: the shipper's
			}
			n.addOut(d)
		}
	}
	return n
}

func (n *lotNode) addOut(d outflow) {
	i := slices.IndexFunc(n.Out, func(o outflow) bool { return o.Site == d.Site && o.Org == d.Org })
	if i < 0 {
		n.Out = append(n.Out, outflow{Site: d.Site, Org: d.Org, Region: d.Region})
		i = len(n.Out) - 1
		slices.SortStableFunc(n.Out, func(a, b outflow) int {
			return strings.Compare(a.Site+"\x00"+a.Org, b.Site+"\x00"+b.Org)
		})
		i = slices.IndexFunc(n.Out, func(o outflow) bool { return o.Site == d.Site && o.Org == d.Org })
	}
	o := &n.Out[i]
	o.Sold += d.Sold
	o.Consumed += d.Consumed
	o.Destroyed += d.Destroyed
	o.Returned += d.Returned
	o.Lost += d.Lost
	if o.zero() {
		n.Out = slices.Delete(n.Out, i, i+1)
	}
}

// ---- the root summary ----

// A rootSummary sums the lots of one root batch's family.
type rootSummary struct {
	Root, TraceCode, Declaration string
	Product, Category, Importer  string
	DeclaredAt                   time.Time
	Region                       string // where the batch was declared
	Regions                      []regionCount
	Lots                         int64
	Q                            LotQuantity // sums over the family
	Produced                     int64       // declared grams of products made by processing
	OpenFindings                 int64
	PositiveLots, SealedLots     int64
	Unfinished                   int64 // lots with grams on hand or in transit
}

// A regionCount is how many lots of a family were ever in a region.
type regionCount struct {
	Region string
	Lots   int64
}

// add adds (sign 1) or removes (sign -1) node n's share of the summary.
func (s *rootSummary) add(n *lotNode, sign int64) {
	if n.ID == s.Root && sign > 0 {
		s.TraceCode, s.Declaration, s.Product, s.Category, s.Importer = n.TraceCode, n.Declaration, n.Product, n.Category, n.Importer
		s.DeclaredAt = n.DeclaredAt
		if len(n.Custody) > 0 {
			s.Region = n.Custody[0].Region
		}
	}
	s.Lots += sign
	q := &s.Q
	q.Declared += sign * n.Q.Declared
	q.OnHand += sign * n.Q.OnHand
	q.InTransit += sign * n.Q.InTransit
	q.Sold += sign * n.Q.Sold
	q.Consumed += sign * n.Q.Consumed
	q.Destroyed += sign * n.Q.Destroyed
	q.Returned += sign * n.Q.Returned
	q.Lost += sign * n.Q.Lost
	q.Split += sign * n.Q.Split
	q.Transformed += sign * n.Q.Transformed
	if n.CreatedBy == Transformed {
		s.Produced += sign * n.Q.Declared
	}
	s.OpenFindings += sign * n.OpenFindings
	if n.Positive {
		s.PositiveLots += sign
	}
	if n.Sealed {
		s.SealedLots += sign
	}
	if n.Q.OnHand > 0 || n.Q.InTransit > 0 {
		s.Unfinished += sign
	}
	for _, r := range n.regions() {
		i := slices.IndexFunc(s.Regions, func(c regionCount) bool { return c.Region == r })
		if i < 0 {
			i, _ = slices.BinarySearchFunc(s.Regions, r, func(c regionCount, r string) int { return strings.Compare(c.Region, r) })
			s.Regions = slices.Insert(s.Regions, i, regionCount{Region: r})
		}
		s.Regions[i].Lots += sign
		if s.Regions[i].Lots == 0 {
			s.Regions = slices.Delete(s.Regions, i, i+1)
		}
	}
}

// Status is the batch's closure status: violation while any lot of the
// family has an open finding, open while any gram is on hand or in transit,
// closed otherwise.
func (s *rootSummary) status() string {
	switch {
	case s.OpenFindings > 0:
		return ClosureViolation
	case s.Q.OnHand > 0 || s.Q.InTransit > 0:
		return ClosureOpen
	}
	return ClosureClosed
}

// Closure statuses.
const (
	ClosureClosed    = "closed"
	ClosureOpen      = "open"
	ClosureViolation = "violation"
)

func rootRegionKey(region string, declaredAt time.Time, root string) []byte {
	return indexKey("root-region", region, append(be64(declaredAt.UnixNano()), root...))
}

// derive brings the nodes and root summaries in line with a lot's change
// from old to l (either may be nil). reindex calls it on every change.
func (st *state) derive(old, l *Lot) error {
	var prev, next *lotNode
	if old != nil {
		n, err := st.node(old.ID)
		if err != nil && KindOf(err) != NotFound {
			return err
		}
		prev = n
	}
	if l != nil {
		next = nodeOf(l, old, prev)
		data := next.encode()
		if err := st.tx.Set(stateKey("node", l.ID), data); err != nil {
			return err
		}
		for _, r := range next.roots() {
			if err := st.tx.Set(famKey(r, next), data); err != nil {
				return err
			}
		}
	} else if prev != nil {
		if err := st.tx.Delete(stateKey("node", prev.ID)); err != nil {
			return err
		}
		for _, r := range prev.roots() {
			if err := st.tx.Delete(famKey(r, prev)); err != nil {
				return err
			}
		}
	}
	// A stay's value is the lot's trace code: a recall lists contacts
	// without reading their nodes.
	var code []byte
	if next != nil {
		code = []byte(next.TraceCode)
	}
	if err := st.replaceKeys(siteStayKeys(prev), siteStayKeys(next), code); err != nil {
		return err
	}
	var roots []string
	for _, n := range []*lotNode{prev, next} {
		if n != nil {
			for _, r := range n.roots() {
				if !slices.Contains(roots, r) {
					roots = append(roots, r)
				}
			}
		}
	}
	for _, r := range roots {
		var at time.Time // when batch r was declared: its summary's key
		for _, n := range []*lotNode{next, prev} {
			if n != nil && n.Root == r && at.IsZero() {
				at = n.DeclaredAt
			}
		}
		if at.IsZero() {
			root, err := st.node(r)
			if err != nil && KindOf(err) != NotFound {
				return err
			}
			if root != nil {
				at = root.DeclaredAt
			}
		}
		s, err := st.rootSummary(at, r)
		if KindOf(err) == NotFound {
			s, err = &rootSummary{Root: r}, nil
		}
		if err != nil {
			return err
		}
		before := *s
		before.Regions = slices.Clone(s.Regions)
		if prev != nil && slices.Contains(prev.roots(), r) {
			s.add(prev, -1)
		}
		if next != nil && slices.Contains(next.roots(), r) {
			s.add(next, 1)
		}
		if err := st.putRootSummary(&before, s); err != nil {
			return err
		}
	}
	return nil
}

func (st *state) node(id string) (*lotNode, error) {
	data, err := st.tx.Get(stateKey("node", id))
	if err != nil {
		if KindOf(err) == NotFound {
			return nil, Errorf(NotFound, "no lot %s", id)
		}
		return nil, err
	}
	if st.nodes != nil {
		return st.nodes.decode(id, data)
	}
	return decodeNode(data)
}

// famKey is s/fam/<root>\x00<created seq><lot id>: a copy of the node of
// every lot of a batch, in creation order, so that a batch's family is one
// sequential scan (recall, reports, the downstream trace of a root).
func famKey(root string, n *lotNode) []byte {
	return stateKey("fam", root+"\x00"+string(be64(n.CreatedSeq))+n.ID)
}

func famPrefix(root string) []byte { return stateKey("fam", root+"\x00") }

// rsumKey is s/rsum/<declared at><root>: summaries in declaration order,
// so that a report reads them in (nearly) key order.
func rsumKey(declaredAt time.Time, root string) []byte {
	return stateKey("rsum", string(be64(declaredAt.UnixNano()))+root)
}

func (st *state) rootSummary(declaredAt time.Time, root string) (*rootSummary, error) {
	data, err := st.tx.Get(rsumKey(declaredAt, root))
	if err != nil {
		if KindOf(err) == NotFound {
			return nil, Errorf(NotFound, "no batch %s", root)
		}
		return nil, err
	}
	return decodeSummary(data)
}

// putRootSummary stores s, which was old, with its region index entries;
// a summary of no lots is removed.
func (st *state) putRootSummary(old, s *rootSummary) error {
	for _, rc := range old.Regions {
		if s.Lots == 0 || !slices.ContainsFunc(s.Regions, func(c regionCount) bool { return c.Region == rc.Region }) || !s.DeclaredAt.Equal(old.DeclaredAt) {
			if err := st.tx.Delete(rootRegionKey(rc.Region, old.DeclaredAt, old.Root)); err != nil {
				return err
			}
		}
	}
	if old.Lots > 0 && (s.Lots == 0 || !s.DeclaredAt.Equal(old.DeclaredAt)) {
		if err := st.tx.Delete(rsumKey(old.DeclaredAt, old.Root)); err != nil {
			return err
		}
	}
	if s.Lots == 0 {
		return nil
	}
	if err := st.tx.Set(rsumKey(s.DeclaredAt, s.Root), s.encode()); err != nil {
		return err
	}
	for _, rc := range s.Regions {
		if !slices.ContainsFunc(old.Regions, func(c regionCount) bool { return c.Region == rc.Region }) || !s.DeclaredAt.Equal(old.DeclaredAt) {
			if err := st.tx.Set(rootRegionKey(rc.Region, s.DeclaredAt, s.Root), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---- encoding ----

const nodeVersion, summaryVersion = 1, 1

type wbuf struct{ b []byte }

func (w *wbuf) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *wbuf) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *wbuf) str(s string)  { w.uint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *wbuf) time(t time.Time) {
	if t.IsZero() {
		w.int(0)
		return
	}
	w.int(t.UnixNano())
}
func (w *wbuf) strs(ss []string) {
	w.uint(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}
func (w *wbuf) bool(b bool) {
	if b {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}
func (w *wbuf) optTime(t *time.Time) {
	w.bool(t != nil)
	if t != nil {
		w.time(*t)
	}
}
func (w *wbuf) qty(q LotQuantity) {
	for _, v := range []int64{q.Declared, q.OnHand, q.InTransit, q.Sold, q.Consumed, q.Destroyed, q.Returned, q.Lost, q.Split, q.Transformed} {
		w.int(v)
	}
}

// An rbuf reads an encoding. Strings are cut out of one copy of the whole
// encoding (all), so that decoding a node allocates once for its text.
type rbuf struct {
	b   []byte
	all string
	n   int // len of the encoding
	bad bool
	// Lists of strings and optional times of one node share backing arrays.
	strPool  []string
	timePool []time.Time
}

func newRbuf(data []byte) *rbuf {
	return &rbuf{b: data, all: string(data), n: len(data), strPool: make([]string, 0, 16), timePool: make([]time.Time, 0, 8)}
}

func (r *rbuf) int() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}
func (r *rbuf) uint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}
func (r *rbuf) str() string {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return ""
	}
	at := r.n - len(r.b)
	r.b = r.b[n:]
	return r.all[at : at+int(n)]
}
func (r *rbuf) time() time.Time {
	v := r.int()
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}
func (r *rbuf) count() int {
	n := r.uint()
	if n > uint64(len(r.b)) { // every element takes at least a byte
		r.bad, r.b = true, nil
		return 0
	}
	return int(n)
}
func (r *rbuf) strs() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	start := len(r.strPool)
	for i := 0; i < n; i++ {
		r.strPool = append(r.strPool, r.str())
	}
	return r.strPool[start:len(r.strPool):len(r.strPool)]
}
func (r *rbuf) bool() bool {
	if len(r.b) == 0 {
		r.bad = true
		return false
	}
	v := r.b[0] == 1
	r.b = r.b[1:]
	return v
}
func (r *rbuf) optTime() *time.Time {
	if !r.bool() {
		return nil
	}
	r.timePool = append(r.timePool, r.time())
	return &r.timePool[len(r.timePool)-1]
}
func (r *rbuf) qty() LotQuantity {
	return LotQuantity{Declared: r.int(), OnHand: r.int(), InTransit: r.int(), Sold: r.int(), Consumed: r.int(),
		Destroyed: r.int(), Returned: r.int(), Lost: r.int(), Split: r.int(), Transformed: r.int()}
}

func (n *lotNode) encode() []byte {
	w := &wbuf{b: make([]byte, 0, 512)}
	w.uint(nodeVersion)
	w.str(n.ID)
	w.str(n.TraceCode)
	w.str(n.Root)
	w.strs(n.Roots)
	w.strs(n.Parents)
	w.strs(n.Kids)
	w.str(string(n.CreatedBy))
	w.str(n.Product)
	w.str(n.Category)
	w.str(n.Importer)
	w.str(n.Declaration)
	w.time(n.DeclaredAt)
	w.time(n.CreatedAt)
	w.int(n.CreatedSeq)
	w.int(n.LastSeq)
	w.str(n.Holder)
	w.str(n.Site)
	w.str(n.Region)
	w.qty(n.Q)
	w.bool(n.Cleared)
	w.bool(n.Sealed)
	w.bool(n.Positive)
	w.bool(n.Closed)
	w.int(n.OpenFindings)
	w.strs(n.Findings)
	w.uint(uint64(len(n.Custody)))
	for _, s := range n.Custody {
		w.str(s.Org)
		w.str(s.Site)
		w.str(s.Region)
		w.time(s.From)
		w.optTime(s.To)
		w.int(s.Seq)
	}
	w.uint(uint64(len(n.Vehicles)))
	for _, v := range n.Vehicles {
		w.str(v.Plate)
		w.str(v.Carrier)
		w.time(v.From)
		w.optTime(v.To)
		w.int(v.Seq)
	}
	w.bool(n.Transit != nil)
	if t := n.Transit; t != nil {
		w.int(t.Seq)
		w.str(t.From)
		w.str(t.FromSite)
		w.str(t.FromRegion)
		w.str(t.ToOrg)
		w.str(t.ToSite)
		w.str(t.ToRegion)
		w.time(t.Since)
		w.time(t.Deadline)
		w.int(t.Quantity)
		w.str(t.Plate)
		w.str(t.Carrier)
		w.bool(t.Overdue)
	}
	w.strs(n.Orgs)
	w.strs(n.Containers)
	w.uint(uint64(len(n.Out)))
	for _, o := range n.Out {
		w.str(o.Site)
		w.str(o.Org)
		w.str(o.Region)
		w.int(o.Sold)
		w.int(o.Consumed)
		w.int(o.Destroyed)
		w.int(o.Returned)
		w.int(o.Lost)
	}
	w.int(n.PositiveSeq)
	w.int(n.SealSeq)
	w.str(n.SealReason)
	w.str(n.LastTestResult)
	w.time(n.LastTestAt)
	w.time(n.ReleaseAt)
	w.time(n.DisinfectAt)
	w.int(n.DocumentCount)
	w.int(n.Pieces)
	return w.b
}

func decodeNode(data []byte) (*lotNode, error) {
	r := newRbuf(data)
	if r.uint() != nodeVersion {
		return nil, Errorf(Tampered, "stored lot node has an unknown version")
	}
	n := &lotNode{}
	n.ID = r.str()
	n.TraceCode = r.str()
	n.Root = r.str()
	n.Roots = r.strs()
	n.Parents = r.strs()
	n.Kids = r.strs()
	n.CreatedBy = EventKind(r.str())
	n.Product = r.str()
	n.Category = r.str()
	n.Importer = r.str()
	n.Declaration = r.str()
	n.DeclaredAt = r.time()
	n.CreatedAt = r.time()
	n.CreatedSeq = r.int()
	n.LastSeq = r.int()
	n.Holder = r.str()
	n.Site = r.str()
	n.Region = r.str()
	n.Q = r.qty()
	n.Cleared = r.bool()
	n.Sealed = r.bool()
	n.Positive = r.bool()
	n.Closed = r.bool()
	n.OpenFindings = r.int()
	n.Findings = r.strs()
	if c := r.count(); c > 0 {
		n.Custody = make([]Stay, c)
		for i := range n.Custody {
			s := &n.Custody[i]
			s.Org, s.Site, s.Region = r.str(), r.str(), r.str()
			s.From = r.time()
			s.To = r.optTime()
			s.Seq = r.int()
		}
	}
	if c := r.count(); c > 0 {
		n.Vehicles = make([]VehicleUse, c)
		for i := range n.Vehicles {
			v := &n.Vehicles[i]
			v.Plate, v.Carrier = r.str(), r.str()
			v.From = r.time()
			v.To = r.optTime()
			v.Seq = r.int()
		}
	}
	if r.bool() {
		t := &Transit{}
		t.Seq = r.int()
		t.From, t.FromSite, t.FromRegion, t.ToOrg, t.ToSite, t.ToRegion = r.str(), r.str(), r.str(), r.str(), r.str(), r.str()
		t.Since, t.Deadline = r.time(), r.time()
		t.Quantity = r.int()
		t.Plate, t.Carrier = r.str(), r.str()
		t.Overdue = r.bool()
		n.Transit = t
	}
	n.Orgs = r.strs()
	n.Containers = r.strs()
	if c := r.count(); c > 0 {
		n.Out = make([]outflow, c)
		for i := range n.Out {
			o := &n.Out[i]
			o.Site, o.Org, o.Region = r.str(), r.str(), r.str()
			o.Sold, o.Consumed, o.Destroyed, o.Returned, o.Lost = r.int(), r.int(), r.int(), r.int(), r.int()
		}
	}
	n.PositiveSeq = r.int()
	n.SealSeq = r.int()
	n.SealReason = r.str()
	n.LastTestResult = r.str()
	n.LastTestAt = r.time()
	n.ReleaseAt = r.time()
	n.DisinfectAt = r.time()
	n.DocumentCount = r.int()
	n.Pieces = r.int()
	if r.bad || len(r.b) != 0 {
		return nil, Errorf(Tampered, "stored lot node does not decode")
	}
	n.raw = r.all
	return n, nil
}

func (s *rootSummary) encode() []byte {
	w := &wbuf{b: make([]byte, 0, 256)}
	w.uint(summaryVersion)
	w.str(s.Root)
	w.str(s.TraceCode)
	w.str(s.Declaration)
	w.str(s.Product)
	w.str(s.Category)
	w.str(s.Importer)
	w.time(s.DeclaredAt)
	w.str(s.Region)
	w.uint(uint64(len(s.Regions)))
	for _, r := range s.Regions {
		w.str(r.Region)
		w.int(r.Lots)
	}
	w.int(s.Lots)
	w.qty(s.Q)
	w.int(s.Produced)
	w.int(s.OpenFindings)
	w.int(s.PositiveLots)
	w.int(s.SealedLots)
	w.int(s.Unfinished)
	return w.b
}

func decodeSummary(data []byte) (*rootSummary, error) {
	r := newRbuf(data)
	if r.uint() != summaryVersion {
		return nil, Errorf(Tampered, "stored batch summary has an unknown version")
	}
	s := &rootSummary{}
	s.Root, s.TraceCode, s.Declaration, s.Product, s.Category, s.Importer = r.str(), r.str(), r.str(), r.str(), r.str(), r.str()
	s.DeclaredAt = r.time()
	s.Region = r.str()
	if c := r.count(); c > 0 {
		s.Regions = make([]regionCount, c)
		for i := range s.Regions {
			s.Regions[i] = regionCount{Region: r.str(), Lots: r.int()}
		}
	}
	s.Lots = r.int()
	s.Q = r.qty()
	s.Produced = r.int()
	s.OpenFindings = r.int()
	s.PositiveLots = r.int()
	s.SealedLots = r.int()
	s.Unfinished = r.int()
	if r.bad || len(r.b) != 0 {
		return nil, Errorf(Tampered, "stored batch summary does not decode")
	}
	return s, nil
}
