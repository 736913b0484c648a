package ledger

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"coldtrace/ledger/fault"
)

// The stored encodings of a lot (s/lot/) and of its before-image
// (s/lotprev/). Ledgers written before issue 17 stored both as JSON; the
// write path now stores them in a binary encoding (varints and
// length-prefixed strings, after the version byte lotBinary) that takes
// about 43% of the JSON's bytes (TestWritesPerEvent), and a before-image
// is only the bytes its record changed (lotPrev). Both encodings are read:
// a stored JSON lot or before-image starts with '{', which no binary one
// does. Verify compares a stored entry in the old encoding with the
// replayed one by what it decodes to (sameStateValue).

// lotBinary is the first byte of a binary lot or before-image.
const lotBinary = 1

// encodeLot is the stored encoding of l. Its fields run from those that
// never change to those that change with most records, LastSeq last, so
// that a record's before-image (lotPrev) is a short run of bytes.
func encodeLot(l *Lot) []byte {
	w := &wbuf{b: make([]byte, 0, 768)}
	w.b = append(w.b, lotBinary)
	w.str(l.ID)
	w.str(l.TraceCode)
	w.str(l.Root)
	lotStrs(w, l.Roots)
	lotStrs(w, l.Parents)
	p := l.Product
	for _, s := range []string{p.Name, p.HSCode, p.Category, p.OriginCountry, p.Spec, p.ProductionDate, p.Producer} {
		w.str(s)
	}
	w.int(p.ShelfLifeDays)
	w.bool(p.MaxTempC != nil)
	if p.MaxTempC != nil {
		w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(*p.MaxTempC))
	}
	w.int(l.Pieces)
	w.str(l.DeclarationNo)
	lotLen(w, l.Containers == nil, len(l.Containers))
	for _, c := range l.Containers {
		w.str(c.Number)
		w.str(c.Seal)
	}
	w.str(l.Importer)
	lotTime(w, l.DeclaredAt)
	lotTime(w, l.CreatedAt)
	w.int(l.CreatedSeq)

	lotLen(w, l.Custody == nil, len(l.Custody))
	for _, s := range l.Custody {
		w.str(s.Org)
		w.str(s.Site)
		w.str(s.Region)
		lotTime(w, s.From)
		lotOptTime(w, s.To)
		w.int(s.Seq)
	}
	lotLen(w, l.Vehicles == nil, len(l.Vehicles))
	for _, v := range l.Vehicles {
		w.str(v.Plate)
		w.str(v.Carrier)
		lotTime(w, v.From)
		lotOptTime(w, v.To)
		w.int(v.Seq)
	}
	lotStrs(w, l.Children)
	lotStrs(w, l.Documents)
	lotStrs(w, l.Findings)
	lotStrs(w, l.Orgs)

	w.str(l.Holder)
	w.str(l.Site)
	w.str(l.Region)
	w.qty(l.Quantity)
	w.bool(l.Transit != nil)
	if t := l.Transit; t != nil {
		w.int(t.Seq)
		for _, s := range []string{t.From, t.FromSite, t.FromRegion, t.ToOrg, t.ToSite, t.ToRegion} {
			w.str(s)
		}
		lotTime(w, t.Since)
		lotTime(w, t.Deadline)
		w.int(t.Quantity)
		w.str(t.Plate)
		w.str(t.Carrier)
		w.bool(t.Overdue)
	}
	s := l.Status
	for _, b := range []bool{s.Cleared, s.Sealed, s.Positive, s.Closed} {
		w.bool(b)
	}
	w.str(s.SealReason)
	w.int(s.SealSeq)
	w.int(s.PositiveSeq)
	w.int(int64(l.OpenFindings))
	for _, m := range []*Mark{l.LastTest, l.LastDisinfection, l.Release} {
		lotMark(w, m)
	}
	w.bool(l.Clearance != nil)
	if c := l.Clearance; c != nil {
		for _, m := range []*Mark{c.Papers, c.Test, c.Disinfection, c.Release} {
			lotMark(w, m)
		}
	}
	w.int(l.ArrivedSeq)
	w.bool(l.TestedSinceArrival)
	w.int(l.LastSeq)
	return w.b
}

// A list's length is written plus one, so that a nil list (0) and an
// empty one (1) stay apart: they are null and [] in the lot's JSON.
func lotLen(w *wbuf, isNil bool, n int) {
	if isNil {
		w.uint(0)
		return
	}
	w.uint(uint64(n) + 1)
}

func lotStrs(w *wbuf, ss []string) {
	lotLen(w, ss == nil, len(ss))
	for _, s := range ss {
		w.str(s)
	}
}

// A time keeps its zone offset, as its JSON does.
func lotTime(w *wbuf, t time.Time) {
	w.time(t)
	_, off := t.Zone()
	w.int(int64(off))
}

func lotOptTime(w *wbuf, t *time.Time) {
	w.bool(t != nil)
	if t != nil {
		lotTime(w, *t)
	}
}

func lotMark(w *wbuf, m *Mark) {
	w.bool(m != nil)
	if m != nil {
		w.int(m.Seq)
		lotTime(w, m.At)
		w.str(m.Result)
	}
}

// decodeLot decodes the stored lot id, in either encoding.
func decodeLot(id string, data []byte) (*Lot, error) {
	l := new(Lot)
	var err error
	if len(data) > 0 && data[0] == lotBinary {
		err = decodeBinaryLot(data, l)
	} else {
		err = json.Unmarshal(data, l)
	}
	if err != nil {
		return nil, fault.Wrap(fault.Tampered, "stored lot does not decode", fmt.Errorf("lot %s: %w", id, err))
	}
	if l.ID != id {
		return nil, fault.Errorf(fault.Tampered, "stored lot %s names lot %s", id, l.ID)
	}
	return l, nil
}

// lotReader reads a binary lot. Its strings are copied one by one (a
// lot's strings outlive its encoding in the lot cache and in answers).
type lotReader struct{ rbuf }

func (r *lotReader) str() string {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// len reads a list's length (see lotLen): -1 for nil.
func (r *lotReader) len() int {
	n := r.uint()
	if n > uint64(len(r.b))+1 { // every element takes at least a byte
		r.bad, r.b = true, nil
		return -1
	}
	return int(n) - 1
}

func (r *lotReader) strs() []string {
	n := r.len()
	if n < 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = r.str()
	}
	return ss
}

func (r *lotReader) time() time.Time {
	v := r.int()
	off := r.int()
	switch {
	case v == 0 && off == 0:
		return time.Time{}
	case off == 0:
		return time.Unix(0, v).UTC()
	}
	return time.Unix(0, v).In(time.FixedZone("", int(off)))
}

func (r *lotReader) optTime() *time.Time {
	if !r.bool() {
		return nil
	}
	t := r.time()
	return &t
}

func (r *lotReader) mark() *Mark {
	if !r.bool() {
		return nil
	}
	return &Mark{Seq: r.int(), At: r.time(), Result: r.str()}
}

func decodeBinaryLot(data []byte, l *Lot) error {
	r := &lotReader{rbuf{b: data[1:]}}
	l.ID, l.TraceCode, l.Root = r.str(), r.str(), r.str()
	l.Roots, l.Parents = r.strs(), r.strs()
	p := &l.Product
	for _, s := range []*string{&p.Name, &p.HSCode, &p.Category, &p.OriginCountry, &p.Spec, &p.ProductionDate, &p.Producer} {
		*s = r.str()
	}
	p.ShelfLifeDays = r.int()
	if r.bool() {
		if len(r.b) < 8 {
			return fmt.Errorf("binary lot cut short")
		}
		t := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
		p.MaxTempC, r.b = &t, r.b[8:]
	}
	l.Pieces = r.int()
	l.DeclarationNo = r.str()
	if n := r.len(); n >= 0 {
		l.Containers = make([]Container, n)
		for i := range l.Containers {
			l.Containers[i] = Container{Number: r.str(), Seal: r.str()}
		}
	}
	l.Importer = r.str()
	l.DeclaredAt, l.CreatedAt = r.time(), r.time()
	l.CreatedSeq = r.int()

	if n := r.len(); n >= 0 {
		l.Custody = make([]Stay, n)
		for i := range l.Custody {
			l.Custody[i] = Stay{Org: r.str(), Site: r.str(), Region: r.str(), From: r.time(), To: r.optTime(), Seq: r.int()}
		}
	}
	if n := r.len(); n >= 0 {
		l.Vehicles = make([]VehicleUse, n)
		for i := range l.Vehicles {
			l.Vehicles[i] = VehicleUse{Plate: r.str(), Carrier: r.str(), From: r.time(), To: r.optTime(), Seq: r.int()}
		}
	}
	l.Children, l.Documents, l.Findings, l.Orgs = r.strs(), r.strs(), r.strs(), r.strs()

	l.Holder, l.Site, l.Region = r.str(), r.str(), r.str()
	l.Quantity = r.qty()
	if r.bool() {
		t := &Transit{Seq: r.int()}
		for _, s := range []*string{&t.From, &t.FromSite, &t.FromRegion, &t.ToOrg, &t.ToSite, &t.ToRegion} {
			*s = r.str()
		}
		t.Since, t.Deadline = r.time(), r.time()
		t.Quantity = r.int()
		t.Plate, t.Carrier = r.str(), r.str()
		t.Overdue = r.bool()
		l.Transit = t
	}
	s := &l.Status
	for _, b := range []*bool{&s.Cleared, &s.Sealed, &s.Positive, &s.Closed} {
		*b = r.bool()
	}
	s.SealReason = r.str()
	s.SealSeq, s.PositiveSeq = r.int(), r.int()
	l.OpenFindings = int(r.int())
	l.LastTest, l.LastDisinfection, l.Release = r.mark(), r.mark(), r.mark()
	if r.bool() {
		l.Clearance = &Clearance{Papers: r.mark(), Test: r.mark(), Disinfection: r.mark(), Release: r.mark()}
	}
	l.ArrivedSeq = r.int()
	l.TestedSinceArrival = r.bool()
	l.LastSeq = r.int()
	if r.bad || len(r.b) != 0 {
		return fmt.Errorf("binary lot does not decode")
	}
	return nil
}

// reencodeLot encodes l as data was encoded (JSON or binary): the lot
// cache's check that a cached lot was not modified.
func reencodeLot(l *Lot, data []byte) []byte {
	if len(data) > 0 && data[0] == lotBinary {
		return encodeLot(l)
	}
	b, _ := json.Marshal(l)
	return b
}

// A lotPrev is a lot's state before its latest record, kept so that the
// record can be voided while it is the lot's latest: the stored encoding
// of the lot before it is cur[:keep] + mid + cur[len(cur)-tail:], where cur
// is the lot's stored encoding now (what the record wrote). A record
// changes a few fields of a lot, so the before-image is the bytes between
// the common prefix and suffix of the two encodings, not a second copy.
type lotPrev struct {
	Seq        int64
	none       bool // the record created the lot
	keep, tail int
	mid        []byte
}

// before returns the stored encoding of the lot before the record, given
// its stored encoding cur now; nil when the record created it.
func (p lotPrev) before(cur []byte) ([]byte, error) {
	if p.none {
		return nil, nil
	}
	if p.keep+p.tail > len(cur) {
		return nil, fault.Errorf(fault.Tampered, "before-image of record %d does not fit the lot it was taken against", p.Seq)
	}
	b := make([]byte, 0, p.keep+len(p.mid)+p.tail)
	b = append(b, cur[:p.keep]...)
	b = append(b, p.mid...)
	return append(b, cur[len(cur)-p.tail:]...), nil
}

// encodeLotPrev is the binary before-image of record seq: lotBinary, seq,
// then 0 when the record created the lot (before is nil), or 1 and the
// difference between before and the lot's new encoding after (nil when
// the record deleted the lot): the lengths of their common prefix and
// suffix and the bytes of before between them.
func encodeLotPrev(seq int64, before, after []byte) []byte {
	w := &wbuf{b: make([]byte, 0, 32)}
	w.b = append(w.b, lotBinary)
	w.int(seq)
	if before == nil {
		w.uint(0)
		return w.b
	}
	keep, n := 0, min(len(before), len(after))
	for keep < n && before[keep] == after[keep] {
		keep++
	}
	tail := 0
	for tail < n-keep && before[len(before)-1-tail] == after[len(after)-1-tail] {
		tail++
	}
	w.uint(1)
	w.uint(uint64(keep))
	w.uint(uint64(tail))
	w.b = append(w.b, before[keep:len(before)-tail]...)
	return w.b
}

// jsonLotPrev is the before-image as ledgers before issue 17 stored it:
// the whole lot before the record.
type jsonLotPrev struct {
	Seq    int64           `json:"seq"`
	Before json.RawMessage `json:"before"` // null when the record created the lot
}

// decodeLotPrev decodes a stored before-image in either encoding.
func decodeLotPrev(data []byte) (lotPrev, error) {
	if len(data) > 0 && data[0] == lotBinary {
		r := &rbuf{b: data[1:]}
		p := lotPrev{Seq: r.int()}
		switch r.uint() {
		case 0:
			p.none = true
		case 1:
			p.keep, p.tail, p.mid = int(r.uint()), int(r.uint()), r.b
		default:
			r.bad = true
		}
		if r.bad || (p.none && len(r.b) > 0) {
			return lotPrev{}, fault.Errorf(fault.Tampered, "stored before-image does not decode")
		}
		return p, nil
	}
	var j jsonLotPrev
	if err := json.Unmarshal(data, &j); err != nil {
		return lotPrev{}, fault.Wrap(fault.Tampered, "stored before-image does not decode", err)
	}
	p := lotPrev{Seq: j.Seq, mid: j.Before}
	p.none = bytes.Equal(j.Before, []byte("null"))
	return p, nil
}

// getLotPrev reads the before-image of lot id.
func (st *state) getLotPrev(id string) (lotPrev, error) {
	data, err := st.tx.Get(tabLotPrev.key(id))
	if err != nil {
		return lotPrev{}, err
	}
	return decodeLotPrev(data)
}

// sameStateValue reports whether two values a and b of state key k, which
// differ in bytes, say the same: a lot or a before-image stored as JSON by
// a ledger before issue 17 and its binary encoding by the replay, or a
// whole lot node and the reference to it (node.go). lotA and
// lotB read the stored encoding of a lot on a's side and on b's (nil when
// there is none): a before-image is read against it.
func sameStateValue(k, a, b []byte, lotA, lotB func(id string) []byte) bool {
	switch {
	case bytes.HasPrefix(k, tabLot.all()):
		return sameLot(string(k[len(tabLot.all()):]), a, b)
	case bytes.HasPrefix(k, tabNode.all()):
		return sameNodeEntry(a, b)
	case bytes.HasPrefix(k, tabLotPrev.all()):
		id := string(k[len(tabLotPrev.all()):])
		pa, err1 := decodeLotPrev(a)
		pb, err2 := decodeLotPrev(b)
		if err1 != nil || err2 != nil || pa.Seq != pb.Seq || pa.none != pb.none {
			return false
		}
		ba, err1 := pa.before(lotA(id))
		bb, err2 := pb.before(lotB(id))
		return err1 == nil && err2 == nil && (pa.none || sameLot(id, ba, bb))
	}
	return false
}

// sameLot reports whether two stored encodings of lot id decode to the
// same lot.
func sameLot(id string, a, b []byte) bool {
	la, err1 := decodeLot(id, a)
	lb, err2 := decodeLot(id, b)
	return err1 == nil && err2 == nil && bytes.Equal(encodeLot(la), encodeLot(lb))
}
