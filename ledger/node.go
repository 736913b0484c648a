package ledger

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
)

// The query side keeps two compact views of the lots, derived in the same
// transaction as every lot change (st.derive, called by reindex), so that
// replay and verify rebuild them like every other s/ entry:
//
//	s/fam/<root>\x00<created seq><lot id>
//	                       a lotNode: what trace, recall, closure and the
//	                       lists need of a lot, in a binary encoding that
//	                       decodes about ten times faster than the lot's
//	                       JSON, under every root batch of the lot: a
//	                       family is one sequential scan
//	s/node/<lot id>        a reference to the lot's node under its first
//	                       root (nodeRef; the whole node again in ledgers
//	                       before issue 17)
//	s/rsum/<declared at><root id>
//	                       a rootSummary: the sums over a root batch's
//	                       whole family (the lots of its root index)
//	s/x/root-region/<region>\x00<declared at><root id> = rootSummary
//	                       one entry per region the family was ever in,
//	                       by declaration time, holding the batch's summary
//	                       (the bytes of its s/rsum/ entry): a closure
//	                       report for a region is one range scan of its
//	                       own entries and reads nothing else of the
//	                       batches (s/rsum/ stays for the write path, which
//	                       reads a batch's summary by root through the
//	                       state cache; ledgers before issue 17 stored no
//	                       value: migrate.go fills it at the first open)
//	s/x/site-stay/<site>\x00<end><start><lot id> = trace code
//	                       every stay at a site, by end time, with its
//	                       start: the lots present at a site in a time
//	                       window, without reading them (recall contacts,
//	                       the positive rules; stays.go)
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
	Out                    []Outflow // where grams left the lot for good
	PositiveSeq, SealSeq   int64
	SealReason             string
	LastTestResult         string
	LastTestAt             time.Time
	ReleaseAt, DisinfectAt time.Time
	DocumentCount, Pieces  int64

	raw string // the encoding it was decoded from (nodeCache); not encoded
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
		d := Outflow{Gone: l.Quantity.Gone}
		d.Gone.add(old.Quantity.Gone, -1)
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

func (n *lotNode) addOut(d Outflow) {
	i := slices.IndexFunc(n.Out, func(o Outflow) bool { return o.Site == d.Site && o.Org == d.Org })
	if i < 0 {
		n.Out = append(n.Out, Outflow{Site: d.Site, Org: d.Org, Region: d.Region})
		i = len(n.Out) - 1
		slices.SortStableFunc(n.Out, func(a, b Outflow) int {
			return strings.Compare(a.Site+"\x00"+a.Org, b.Site+"\x00"+b.Org)
		})
		i = slices.IndexFunc(n.Out, func(o Outflow) bool { return o.Site == d.Site && o.Org == d.Org })
	}
	o := &n.Out[i]
	o.Gone.add(d.Gone, 1)
	if o.zero() {
		n.Out = slices.Delete(n.Out, i, i+1)
	}
}

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
	s.Q.add(n.Q, sign)
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
	return idxRootRegion.key(region, append(be64(declaredAt.UnixNano()), root...))
}

// derive brings the nodes and root summaries in line with a lot's change
// from old to l (either may be nil). reindex calls it on every change.
func (st *state) derive(old, l *Lot) error {
	var prev, next *lotNode
	var prevRef []byte
	if old != nil {
		n, ref, err := st.nodeAndRef(old.ID)
		if err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
		prev, prevRef = n, ref
	}
	if l != nil {
		next = nodeOf(l, old, prev)
		data := next.encode()
		for _, r := range next.roots() {
			if err := st.tx.Set(famKey(r, next), data); err != nil {
				return err
			}
		}
		if ref := next.ref(); !bytes.Equal(ref, prevRef) {
			if err := st.tx.Set(tabNode.key(l.ID), ref); err != nil {
				return err
			}
		}
	} else if prev != nil {
		if err := st.tx.Delete(tabNode.key(prev.ID)); err != nil {
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
			if err != nil && fault.KindOf(err) != fault.NotFound {
				return err
			}
			if root != nil {
				at = root.DeclaredAt
			}
		}
		s, err := st.rootSummary(at, r)
		if fault.KindOf(err) == fault.NotFound {
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
		if reflect.DeepEqual(&before, s) {
			continue // most records change no sum of their batch
		}
		if err := st.putRootSummary(&before, s); err != nil {
			return err
		}
	}
	return nil
}

func (st *state) node(id string) (*lotNode, error) {
	n, _, err := st.nodeAndRef(id)
	return n, err
}

// nodeAndRef reads the node of lot id through its entry in s/node/, and
// returns that entry too. The entry is a reference to the node's family
// copy (nodeRef) in ledgers since issue 17, the whole node in older ones.
func (st *state) nodeAndRef(id string) (*lotNode, []byte, error) {
	ref, err := st.tx.Get(tabNode.key(id))
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return nil, nil, fault.Errorf(fault.NotFound, "no lot %s", id)
		}
		return nil, nil, err
	}
	data := ref
	if len(ref) > 0 && ref[0] == nodeRef {
		root, created, err := decodeNodeRef(ref)
		if err != nil {
			return nil, nil, err
		}
		data, err = st.tx.Get(tabFamily.key(root + "\x00" + string(be64(created)) + id))
		if fault.KindOf(err) == fault.NotFound {
			return nil, nil, fault.Errorf(fault.Tampered, "the node of lot %s is not in its family %s", id, root)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	var n *lotNode
	if st.nodes != nil {
		n, err = st.nodes.decode(id, data)
	} else {
		n, err = decodeNode(data)
	}
	return n, ref, err
}

// nodeRef is the first byte of an s/node/ entry that refers to the node's
// copy in its first root's family: nodeRef, the root, the node's created
// seq. A node changes with every record of its lot; the reference changes
// only if its lot's roots do, so that a record writes the node once per
// root, not once more by id. Whole nodes start with nodeVersion.
const nodeRef = 2

// ref is the s/node/ entry of n.
func (n *lotNode) ref() []byte {
	w := &wbuf{b: make([]byte, 0, 48)}
	w.b = append(w.b, nodeRef)
	w.str(n.roots()[0])
	w.int(n.CreatedSeq)
	return w.b
}

func decodeNodeRef(data []byte) (root string, created int64, err error) {
	r := &rbuf{b: data[1:], all: string(data[1:]), n: len(data) - 1} // no lists: no pools
	root, created = r.str(), r.int()
	if r.bad || len(r.b) != 0 {
		return "", 0, fault.Errorf(fault.Tampered, "stored lot node reference does not decode")
	}
	return root, created, nil
}

// sameNodeEntry reports whether two s/node/ entries, one of them a whole
// node as ledgers before issue 17 stored it, name the same family copy
// (verify compares the copies themselves under s/fam/).
func sameNodeEntry(a, b []byte) bool {
	asRef := func(v []byte) []byte {
		if len(v) > 0 && v[0] == nodeRef {
			return v
		}
		n, err := decodeNode(v)
		if err != nil {
			return nil
		}
		return n.ref()
	}
	ra, rb := asRef(a), asRef(b)
	return ra != nil && bytes.Equal(ra, rb)
}

// famKey is s/fam/<root>\x00<created seq><lot id>: a copy of the node of
// every lot of a batch, in creation order, so that a batch's family is one
// sequential scan (recall, reports, the downstream trace of a root).
func famKey(root string, n *lotNode) []byte {
	return tabFamily.key(root + "\x00" + string(be64(n.CreatedSeq)) + n.ID)
}

func famPrefix(root string) []byte { return tabFamily.key(root + "\x00") }

// rsumKey is s/rsum/<declared at><root>: the summary the write path reads
// and updates (derive, through the state cache); the reports read the
// copies in the root-region index.
func rsumKey(declaredAt time.Time, root string) []byte {
	return tabSummary.key(string(be64(declaredAt.UnixNano())) + root)
}

func (st *state) rootSummary(declaredAt time.Time, root string) (*rootSummary, error) {
	data, err := st.tx.Get(rsumKey(declaredAt, root))
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return nil, fault.Errorf(fault.NotFound, "no batch %s", root)
		}
		return nil, err
	}
	return decodeSummary(data)
}

// putRootSummary stores s, which was old, with its region index entries;
// a summary of no lots is removed. Every region entry carries the summary
// too, so each is rewritten with it (the reports read nothing else).
func (st *state) putRootSummary(old, s *rootSummary) error {
	moved := !s.DeclaredAt.Equal(old.DeclaredAt)
	for _, rc := range old.Regions {
		if s.Lots == 0 || moved || !slices.ContainsFunc(s.Regions, func(c regionCount) bool { return c.Region == rc.Region }) {
			if err := st.tx.Delete(rootRegionKey(rc.Region, old.DeclaredAt, old.Root)); err != nil {
				return err
			}
		}
	}
	if old.Lots > 0 && (s.Lots == 0 || moved) {
		if err := st.tx.Delete(rsumKey(old.DeclaredAt, old.Root)); err != nil {
			return err
		}
	}
	if s.Lots == 0 {
		return nil
	}
	data := s.encode()
	if err := st.tx.Set(rsumKey(s.DeclaredAt, s.Root), data); err != nil {
		return err
	}
	for _, rc := range s.Regions {
		if err := st.tx.Set(rootRegionKey(rc.Region, s.DeclaredAt, s.Root), data); err != nil {
			return err
		}
	}
	return nil
}
