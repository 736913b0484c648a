package ledger

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
)

// A Lot is a quantity of one product with one trace code and one holder at a
// time. Its state is derived from the records alone.
type Lot struct {
	ID        string   `json:"id"`
	TraceCode string   `json:"trace_code"`
	Root      string   `json:"root"`
	Roots     []string `json:"roots,omitempty"` // more than one for products of several batches
	Parents   []string `json:"parents"`
	Children  []string `json:"children"`

	Product       Product     `json:"product"`
	Pieces        int64       `json:"pieces,omitempty"`
	DeclarationNo string      `json:"declaration_no,omitempty"`
	Containers    []Container `json:"containers,omitempty"`
	Importer      string      `json:"importer"`
	DeclaredAt    time.Time   `json:"declared_at"`
	CreatedAt     time.Time   `json:"created_at"`
	CreatedSeq    int64       `json:"created_seq"`
	LastSeq       int64       `json:"last_seq"`

	Holder   string      `json:"holder"`
	Site     string      `json:"site"`
	Region   string      `json:"region"`
	Quantity LotQuantity `json:"quantity"`
	Transit  *Transit    `json:"transit,omitempty"`
	Status   LotStatus   `json:"status"`

	Documents    []string `json:"documents"`
	Findings     []string `json:"findings"`
	OpenFindings int      `json:"open_findings"`

	LastTest         *Mark `json:"last_test,omitempty"`
	LastDisinfection *Mark `json:"last_disinfection,omitempty"`
	Release          *Mark `json:"release,omitempty"`
	// Clearance holds the parts of cleared the lot has, by record (policy
	// version 1).
	Clearance *Clearance `json:"clearance,omitempty"`
	// ArrivedSeq is the receipt that brought the lot to its current site;
	// TestedSinceArrival says whether a test followed it.
	ArrivedSeq         int64 `json:"arrived_seq,omitempty"`
	TestedSinceArrival bool  `json:"tested_since_arrival,omitempty"`

	Custody  []Stay       `json:"custody"`
	Vehicles []VehicleUse `json:"vehicles,omitempty"`
	// Orgs lists every org that held the lot, was sent it or recorded an
	// event about it: the operators who may see it.
	Orgs []string `json:"orgs"`
}

// LotStatus holds the flags of a lot.
type LotStatus struct {
	Cleared    bool   `json:"cleared"`  // the four documents of "四不" are all there
	Sealed     bool   `json:"sealed"`   // 就地封存
	Positive   bool   `json:"positive"` // this lot tested positive
	Closed     bool   `json:"closed"`   // every gram accounted for, no open finding
	SealReason string `json:"seal_reason,omitempty"`
	SealSeq    int64  `json:"seal_seq,omitempty"`
	// PositiveSeq is the positive test that sealed the lot's family.
	PositiveSeq int64 `json:"positive_seq,omitempty"`
}

// A Mark is when something happened to a lot, and by which record.
type Mark struct {
	Seq    int64     `json:"seq"`
	At     time.Time `json:"at"`
	Result string    `json:"result,omitempty"`
}

// A Transit is a shipment on its way.
type Transit struct {
	Seq        int64     `json:"seq"`
	From       string    `json:"from"`      // org
	FromSite   string    `json:"from_site"` // site
	FromRegion string    `json:"from_region"`
	ToOrg      string    `json:"to_org"`
	ToSite     string    `json:"to_site"`
	ToRegion   string    `json:"to_region"`
	Since      time.Time `json:"since"`
	Deadline   time.Time `json:"deadline"`
	Quantity   int64     `json:"quantity"`
	Plate      string    `json:"plate,omitempty"`
	Carrier    string    `json:"carrier,omitempty"`
	Overdue    bool      `json:"overdue,omitempty"`
}

// A Stay is a span of time a lot spent at a site in an org's custody.
type Stay struct {
	Org    string     `json:"org"`
	Site   string     `json:"site"`
	Region string     `json:"region"`
	From   time.Time  `json:"from"`
	To     *time.Time `json:"to,omitempty"`
	Seq    int64      `json:"seq"`
}

// A VehicleUse is a span of time a lot spent on a vehicle.
type VehicleUse struct {
	Plate   string     `json:"plate"`
	Carrier string     `json:"carrier,omitempty"`
	From    time.Time  `json:"from"`
	To      *time.Time `json:"to,omitempty"`
	Seq     int64      `json:"seq"`
}

// clone returns a deep copy of l: changing the copy never changes l, and
// both encode alike (nil and empty lists stay what they were).
// TestLotCloneSharesNothing fails when a field is added that clone shares.
func (l *Lot) clone() *Lot {
	c := *l
	c.Roots = slices.Clone(l.Roots)
	c.Parents = slices.Clone(l.Parents)
	c.Children = slices.Clone(l.Children)
	c.Product.MaxTempC = clonePtr(l.Product.MaxTempC)
	c.Containers = slices.Clone(l.Containers)
	c.Transit = clonePtr(l.Transit)
	c.Documents = slices.Clone(l.Documents)
	c.Findings = slices.Clone(l.Findings)
	c.LastTest = clonePtr(l.LastTest)
	c.LastDisinfection = clonePtr(l.LastDisinfection)
	c.Release = clonePtr(l.Release)
	c.Clearance = l.Clearance.clone()
	c.Custody = slices.Clone(l.Custody)
	for i := range c.Custody {
		c.Custody[i].To = clonePtr(c.Custody[i].To)
	}
	c.Vehicles = slices.Clone(l.Vehicles)
	for i := range c.Vehicles {
		c.Vehicles[i].To = clonePtr(c.Vehicles[i].To)
	}
	c.Orgs = slices.Clone(l.Orgs)
	return &c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func (l *Lot) addOrg(org string) {
	if org != "" && !slices.Contains(l.Orgs, org) {
		l.Orgs = append(l.Orgs, org)
	}
}

func (l *Lot) addDocuments(refs []AttachmentRef) {
	for _, r := range refs {
		if !slices.Contains(l.Documents, r.Type) {
			l.Documents = append(l.Documents, r.Type)
		}
	}
	slices.Sort(l.Documents)
}

// terminal reports whether nothing can happen to the lot any more: every
// gram has left it.
func (l *Lot) terminal() bool { return l.Quantity.OnHand == 0 && l.Quantity.InTransit == 0 }

// missingForMarket lists what the "四不" rule still needs before the lot may
// be sold: quarantine certificate, negative test, disinfection, release.
func (l *Lot) missingForMarket(p Policy) []string {
	var m []string
	if p.Version >= 1 {
		for _, part := range p.parts(l.Product.Category) {
			if l.Clearance.mark(part) == nil {
				m = append(m, PartText[part][1])
			}
		}
		if l.Status.Positive {
			m = append(m, "a negative test after the positive")
		}
		return m
	}
	if !slices.Contains(l.Documents, DocQuarantineCertificate) {
		m = append(m, "quarantine certificate")
	}
	if l.LastTest == nil || l.LastTest.Result != "negative" || l.Status.Positive {
		m = append(m, "negative nucleic-acid test")
	}
	if l.LastDisinfection == nil {
		m = append(m, "disinfection")
	}
	if l.Release == nil {
		m = append(m, "release from the supervision warehouse")
	}
	return m
}

// maxTempC is the highest temperature the product may be kept at, if any.
func (l *Lot) maxTempC() (float64, bool) {
	if l.Product.MaxTempC != nil {
		return *l.Product.MaxTempC, true
	}
	t, ok := defaultMaxTempC[l.Product.Category]
	return t, ok
}

// indexEntries returns the index keys a lot's state puts in the Store,
// all in one backing array (the write path builds them for the old and the
// new state of every lot a record changes).
func indexEntries(l *Lot) [][]byte {
	if l == nil {
		return nil
	}
	b := idxKeys{buf: make([]byte, 0, 1024), ks: make([][]byte, 0, 16+len(l.Orgs))}
	b.add(idxRoot, l.Root, 0, false, l.ID)
	b.add(idxCreated, "", l.CreatedSeq, true, l.ID)
	for _, r := range l.Roots {
		if r != l.Root {
			b.add(idxRoot, r, 0, false, l.ID)
		}
	}
	for _, c := range l.Containers {
		b.add(idxContainer, c.Number, 0, false, l.ID)
	}
	if l.DeclarationNo != "" {
		b.add(idxDeclaration, l.DeclarationNo, 0, false, l.ID)
	}
	if l.Holder != "" {
		b.add(idxHolder, l.Holder, 0, false, l.ID)
	}
	if l.Site != "" {
		b.add(idxLotSite, l.Site, 0, false, l.ID)
	}
	for _, r := range l.Regions() {
		b.add(idxRegion, r, 0, false, l.ID)
	}
	for _, o := range l.Orgs {
		b.add(idxLotOrg, o, 0, false, l.ID)
	}
	for _, st := range l.statuses() {
		b.add(idxStatus, st, 0, false, l.ID)
	}
	if t := l.Transit; t != nil && !t.Overdue {
		b.add(idxDue, "", t.Deadline.UnixMicro(), true, l.ID)
	}
	return b.ks
}

// idxKeys builds index keys (index.key's layout) in one growing buffer;
// each key is a full slice of it that later keys never write into.
type idxKeys struct {
	buf []byte
	ks  [][]byte
}

// add adds x's key of value with the suffix id, after n as 8 big-endian
// bytes when withN is set.
func (b *idxKeys) add(x index, value string, n int64, withN bool, id string) {
	start := len(b.buf)
	b.buf = append(b.buf, prefixState...)
	b.buf = append(b.buf, "x/"...)
	b.buf = append(b.buf, x...)
	b.buf = append(b.buf, '/')
	b.buf = append(b.buf, value...)
	b.buf = append(b.buf, 0)
	if withN {
		b.buf = binary.BigEndian.AppendUint64(b.buf, uint64(n))
	}
	b.buf = append(b.buf, id...)
	b.ks = append(b.ks, b.buf[start:len(b.buf):len(b.buf)])
}

// reindex replaces old's index entries with l's (either may be nil).
func (st *state) reindex(old, l *Lot) error {
	switch {
	case old == nil && l != nil:
		code, _ := ident.NormalizeTraceCode(l.TraceCode)
		if err := st.tx.Set(codeKey(code), []byte(l.ID)); err != nil {
			return err
		}
	case old != nil && l == nil:
		code, _ := ident.NormalizeTraceCode(old.TraceCode)
		if err := st.tx.Delete(codeKey(code)); err != nil {
			return err
		}
	}
	if err := st.replaceKeys(indexEntries(old), indexEntries(l), nil); err != nil {
		return err
	}
	return st.derive(old, l) // the query views (node.go)
}

// replaceKeys deletes the keys of oldKs that are not in newKs and sets those
// of newKs that are not in oldKs to value: an index entry set moving from
// one state of a lot to the next.
func (st *state) replaceKeys(oldKs, newKs [][]byte, value []byte) error {
	for _, k := range oldKs {
		if !slices.ContainsFunc(newKs, func(n []byte) bool { return bytes.Equal(n, k) }) {
			if err := st.tx.Delete(k); err != nil {
				return err
			}
		}
	}
	for _, k := range newKs {
		if !slices.ContainsFunc(oldKs, func(o []byte) bool { return bytes.Equal(o, k) }) {
			if err := st.tx.Set(k, value); err != nil {
				return err
			}
		}
	}
	return nil
}

// lot reads a lot by id.
func (st *state) lot(id string) (*Lot, error) {
	data, err := st.tx.Get(tabLot.key(id))
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.Errorf(fault.NotFound, "no lot %s", id)
	}
	if err != nil {
		return nil, err
	}
	return st.decodeLot(id, data)
}

// decodeLot decodes the stored bytes of lot id, through the lot cache on
// the write path: the lot it returns there is shared and must not be
// modified (lotTx.get clones it).
func (st *state) decodeLot(id string, data []byte) (*Lot, error) {
	if st.lots != nil {
		return st.lots.decode(id, data)
	}
	return decodeLot(id, data)
}

// resolveLot finds a lot by trace code (as typed) or lot id.
func (st *state) resolveLot(ref string) (*Lot, error) {
	if len(ref) == 36 && strings.Count(ref, "-") == 4 {
		return st.lot(ref)
	}
	code, ok := ident.NormalizeTraceCode(ref)
	if !ok {
		return nil, fault.Errorf(fault.NotFound, "%q is neither a lot id nor a valid trace code", ref)
	}
	id, err := st.tx.Get(codeKey(code))
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.Errorf(fault.NotFound, "no lot has trace code %s", ref)
	}
	if err != nil {
		return nil, err
	}
	return st.lot(string(id))
}

// scanIndex calls fn with the suffix of every entry of index value.
func (st *state) scanIndex(x index, value string, fn func(suffix []byte) error) error {
	p := x.prefix(value)
	return st.tx.Scan(p, nil, false, func(k, _ []byte) error { return fn(k[len(p):]) })
}
