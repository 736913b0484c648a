package ledger

import (
	"bytes"
	"encoding/binary"
	"slices"
	"time"

	"coldtrace/ledger/fault"
)

// The binary encodings of a lotNode (s/node/, s/fam/) and a rootSummary
// (s/rsum/, and the root-region index's values): varints and
// length-prefixed strings, behind a version byte.

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
	var q LotQuantity
	for _, v := range []*int64{&q.Declared, &q.OnHand, &q.InTransit, &q.Sold, &q.Consumed, &q.Destroyed, &q.Returned, &q.Lost, &q.Split, &q.Transformed} {
		*v = r.int()
	}
	return q
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
		return nil, fault.Errorf(fault.Tampered, "stored lot node has an unknown version")
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
		n.Out = make([]Outflow, c)
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
		return nil, fault.Errorf(fault.Tampered, "stored lot node does not decode")
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
	s := &rootSummary{}
	if err := s.decode(data); err != nil {
		return nil, err
	}
	return s, nil
}

// decode sets s to the summary data encodes, reusing s's Regions: the
// strings share one copy of data, and nothing else is allocated (the
// reports decode 100,000 summaries into one).
func (s *rootSummary) decode(data []byte) error {
	r := rbuf{b: data, all: string(data), n: len(data)}
	if r.uint() != summaryVersion {
		return fault.Errorf(fault.Tampered, "stored batch summary has an unknown version")
	}
	s.Root, s.TraceCode, s.Declaration, s.Product, s.Category, s.Importer = r.str(), r.str(), r.str(), r.str(), r.str(), r.str()
	s.DeclaredAt = r.time()
	s.Region = r.str()
	c := r.count()
	if s.Regions = s.Regions[:0]; c > 0 {
		s.Regions = slices.Grow(s.Regions, c)
	}
	for ; c > 0; c-- {
		s.Regions = append(s.Regions, regionCount{Region: r.str(), Lots: r.int()})
	}
	s.Lots = r.int()
	s.Q = r.qty()
	s.Produced = r.int()
	s.OpenFindings = r.int()
	s.PositiveLots = r.int()
	s.SealedLots = r.int()
	s.Unfinished = r.int()
	if r.bad || len(r.b) != 0 {
		return fault.Errorf(fault.Tampered, "stored batch summary does not decode")
	}
	return nil
}

// firstInScope reports whether region is the first of the regions listed
// in summary (an encoded rootSummary) that lies in one of scopes (any
// region when scopes is empty): a batch in several regions of a report's
// scopes has an entry in each, and only this one is decoded. It reads the
// encoding without decoding it (no allocation); one that does not parse
// is decoded, to say so.
func firstInScope(summary, region []byte, scopes [][]byte) bool {
	r := rbuf{b: summary, n: len(summary)}
	skip := func() []byte {
		n := r.uint()
		if n > uint64(len(r.b)) {
			r.bad, r.b = true, nil
			return nil
		}
		s := r.b[:n]
		r.b = r.b[n:]
		return s
	}
	r.uint() // version
	for range 6 {
		skip() // root, trace code, declaration, product, category, importer
	}
	r.int() // declared at
	skip()  // region declared in
	for c := r.count(); c > 0 && !r.bad; c-- {
		rg := skip()
		r.int() // lots
		if len(scopes) == 0 || slices.ContainsFunc(scopes, func(sc []byte) bool { return bytes.HasPrefix(rg, sc) }) {
			return r.bad || bytes.Equal(rg, region)
		}
	}
	return true
}

const nodeVersion, summaryVersion = 1, 1
