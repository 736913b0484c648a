package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
	"coldtrace/ledger/vlog"
)

// LotStatusWords are the statuses lots can be listed by.
var LotStatusWords = []string{"open", "closed", "sealed", "positive", "cleared", "violation", "in_transit"}

// A LotFilter selects lots. Every field set must match.
type LotFilter struct {
	Code        string // trace code, as typed
	Container   string // ISO 6346 container number
	Declaration string // customs declaration number
	Holder      string // org holding the lot now
	Site        string // site holding the lot now
	Region      string // region prefix (2, 4 or 6 digits) the lot was ever in
	Status      string // one of LotStatusWords
	Cursor      string // from a previous page's NextCursor
	Limit       int    // 100 when 0, at most 1000
}

// A LotItem is one lot of a list.
type LotItem struct {
	ID           string       `json:"id"`
	TraceCode    string       `json:"trace_code"`
	Root         string       `json:"root"`
	Product      TraceProduct `json:"product"`
	Declaration  string       `json:"declaration_no,omitempty"`
	Containers   []string     `json:"containers,omitempty"`
	Importer     string       `json:"importer"`
	Holder       string       `json:"holder"`
	Site         string       `json:"site"`
	Region       string       `json:"region"`
	Quantity     LotQuantity  `json:"quantity"`
	Status       LotFlags     `json:"status"`
	OpenFindings int64        `json:"open_findings"`
	CreatedBy    EventKind    `json:"created_by"`
	CreatedSeq   int64        `json:"created_seq"`
	CreatedAt    time.Time    `json:"created_at"`
	DeclaredAt   time.Time    `json:"declared_at"`
	Transit      *Transit     `json:"transit,omitempty"`
}

func lotItem(n *lotNode) LotItem {
	return LotItem{ID: n.ID, TraceCode: n.TraceCode, Root: n.Root, Product: TraceProduct{Name: n.Product, Category: n.Category},
		Declaration: n.Declaration, Containers: slices.Clone(n.Containers), Importer: n.Importer, Holder: n.Holder, Site: n.Site, Region: n.Region,
		Quantity: n.Q, Status: LotFlags{Cleared: n.Cleared, Sealed: n.Sealed, Positive: n.Positive, Closed: n.Closed},
		OpenFindings: n.OpenFindings, CreatedBy: n.CreatedBy, CreatedSeq: n.CreatedSeq, CreatedAt: n.CreatedAt,
		DeclaredAt: n.DeclaredAt, Transit: n.Transit.clone()}
}

func (f *LotFilter) match(n *lotNode) bool {
	return (f.Code == "" || strings.ReplaceAll(n.TraceCode, "-", "") == f.Code) &&
		(f.Container == "" || slices.Contains(n.Containers, f.Container)) &&
		(f.Declaration == "" || n.Declaration == f.Declaration) &&
		(f.Holder == "" || n.Holder == f.Holder) &&
		(f.Site == "" || n.Site == f.Site) &&
		(f.Region == "" || slices.ContainsFunc(n.regions(), func(r string) bool { return strings.HasPrefix(r, f.Region) })) &&
		(f.Status == "" || slices.Contains(n.statuses(), f.Status))
}

// A listScan is one index range a list reads: keys under prefix, the lot
// id after the first NUL of the suffix (or at a fixed offset).
type listScan struct {
	prefix []byte
	idAt   int // offset of the id in the suffix; -1: after the first NUL; -2: the value
}

type listCursor struct {
	Scan  int    `json:"s"`
	After []byte `json:"k"`
}

func encodeCursor(c listCursor) string {
	data, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(data)
}

func decodeCursor(s string) (listCursor, error) {
	var c listCursor
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(data, &c)
	}
	if err != nil || c.Scan < 0 {
		return c, fault.InvalidField("cursor", "is not a cursor this server gave")
	}
	return c, nil
}

// regionScopes returns the region prefixes a list or report for region
// (a prefix, or "" for the key's whole scope) reads for p; nil means every
// region (admin, no region given).
func regionScopes(p Principal, region string) ([]string, error) {
	if region != "" && !ident.ValidRegionPrefix(region) {
		return nil, fault.InvalidField("region", "is not a region prefix (2, 4 or 6 digits)")
	}
	if p.Role != RoleRegulator {
		if region == "" {
			return nil, nil
		}
		return []string{region}, nil
	}
	var out []string
	for _, r := range p.Regions {
		switch {
		case region == "" || strings.HasPrefix(r, region): // the whole scope, or the part of it inside region
			out = append(out, r)
		case strings.HasPrefix(region, r): // region lies inside the scope
			out = append(out, region)
		}
	}
	if len(out) == 0 {
		return nil, fault.Errorf(fault.Forbidden, "region %s is outside this key's regions (%s)", region, strings.Join(p.Regions, ", "))
	}
	// Drop prefixes covered by others, so that no lot is listed twice.
	slices.Sort(out)
	out = slices.Compact(out)
	return slices.DeleteFunc(out, func(r string) bool {
		return slices.ContainsFunc(out, func(o string) bool { return o != r && strings.HasPrefix(r, o) })
	}), nil
}

// ListLots lists the lots f selects that p may see, in index order, a page
// at a time.
func (l *Ledger) ListLots(ctx context.Context, p Principal, f LotFilter) (out []LotItem, next string, err error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 1000 {
		f.Limit = 1000
	}
	if f.Code != "" {
		c, ok := ident.NormalizeTraceCode(f.Code)
		if !ok {
			return nil, "", fault.InvalidField("code", "is not a trace code")
		}
		f.Code = c
	}
	if f.Status != "" && !slices.Contains(LotStatusWords, f.Status) {
		return nil, "", fault.InvalidField("status", "unknown status %q (one of %s)", f.Status, strings.Join(LotStatusWords, ", "))
	}
	if f.Declaration != "" && !ident.ValidDeclarationNo(f.Declaration) {
		return nil, "", fault.InvalidField("declaration", "is not a customs declaration number (18 digits)")
	}
	if f.Container != "" {
		f.Container = strings.ToUpper(f.Container)
	}
	var scans []listScan
	exact := func(x index, value string) { scans = append(scans, listScan{prefix: x.prefix(value), idAt: 0}) }
	switch {
	case f.Code != "":
		scans = append(scans, listScan{prefix: codeKey(f.Code), idAt: -2})
	case f.Container != "":
		exact(idxContainer, f.Container)
	case f.Declaration != "":
		exact(idxDeclaration, f.Declaration)
	case f.Site != "":
		exact(idxLotSite, f.Site)
	case f.Holder != "":
		exact(idxHolder, f.Holder)
	case f.Region != "" || p.Role == RoleRegulator:
		scopes, err := regionScopes(p, f.Region)
		if err != nil {
			return nil, "", err
		}
		for _, r := range scopes {
			scans = append(scans, listScan{prefix: idxRegion.within(r), idAt: -1})
		}
	case f.Status != "":
		exact(idxStatus, f.Status)
	case p.readsAll():
		scans = append(scans, listScan{prefix: idxCreated.prefix(""), idAt: 8})
	default:
		exact(idxLotOrg, p.Org)
	}
	if f.Region != "" && p.Role == RoleRegulator {
		if _, err := regionScopes(p, f.Region); err != nil {
			return nil, "", err
		}
	}
	cur := listCursor{}
	if f.Cursor != "" {
		if cur, err = decodeCursor(f.Cursor); err != nil {
			return nil, "", err
		}
		if cur.Scan >= len(scans) {
			return nil, "", fault.InvalidField("cursor", "does not belong to this filter")
		}
	}
	out = []LotItem{}
	err = l.query(ctx, func(st *state) error {
		for si := cur.Scan; si < len(scans); si++ {
			sc := scans[si]
			var start []byte
			if si == cur.Scan && cur.After != nil {
				start = append(slices.Clone(sc.prefix), cur.After...)
			}
			var last []byte
			full := false
			err := st.tx.Scan(sc.prefix, start, false, func(k, v []byte) error {
				sfx := k[len(sc.prefix):]
				if start != nil && bytes.Equal(k, start) {
					return nil
				}
				if len(out) == f.Limit {
					full = true
					return fault.ErrStop
				}
				last = slices.Clone(sfx)
				var id string
				if sc.idAt == -2 {
					id = string(v) // s/code/<code>: the value is the id
				} else if sc.idAt >= 0 {
					id = string(sfx[sc.idAt:])
				} else {
					id = string(sfx[bytes.IndexByte(sfx, 0)+1:])
				}
				n, err := st.node(id)
				if err != nil {
					return err
				}
				if !f.match(n) || !n.visibleTo(p) {
					return nil
				}
				// A lot in several regions of the scopes is listed once, at
				// the first of them.
				if sc.idAt == -1 {
					scope := string(sc.prefix[len(idxRegion.within("")):])
					region := scope + string(sfx[:bytes.IndexByte(sfx, 0)])
					first := ""
					for _, r := range n.regions() {
						if (first == "" || r < first) && slices.ContainsFunc(scans, func(o listScan) bool {
							return strings.HasPrefix(r, string(o.prefix[len(idxRegion.within("")):]))
						}) {
							first = r
						}
					}
					if region != first {
						return nil
					}
				}
				out = append(out, lotItem(n))
				return nil
			})
			if err != nil {
				return err
			}
			if full {
				next = encodeCursor(listCursor{Scan: si, After: last})
				return nil
			}
		}
		return nil
	})
	return out, next, err
}

// An EventFilter selects lot and site event records. Every field set must
// match.
type EventFilter struct {
	Kind     EventKind
	Org      string // the org that recorded it
	Site     string // site or to_site
	Lot      string // trace code or lot id: the records that changed the lot
	From, To time.Time
	After    int64 // list records after this seq; -1: from the start
	Limit    int   // 100 when 0, at most 1000
}

// maxEventScan bounds the index entries one page reads; a page that
// reaches it ends early with a cursor to go on from.
const maxEventScan = 200_000

// ListEvents lists the stored bytes of the lot and site event records f
// selects that p may see, in seq order, a page at a time; next is the
// cursor (a seq, for After) of the next page, or -1.
func (l *Ledger) ListEvents(ctx context.Context, p Principal, f EventFilter) (out []json.RawMessage, next int64, err error) {
	next = -1
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 1000 {
		f.Limit = 1000
	}
	if f.Kind != "" {
		if err := checkDoor(f.Kind, atEventFilter); err != nil {
			return nil, -1, err
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return nil, -1, fault.InvalidField("to", "must be after from")
	}
	out = []json.RawMessage{}
	err = l.query(ctx, func(st *state) error {
		var prefix []byte
		switch {
		case f.Lot != "":
			n, err := st.visibleNode(p, f.Lot)
			if err != nil {
				return err
			}
			prefix = idxLotEvents.prefix(n.ID)
		case f.Site != "":
			prefix = idxEventSite.prefix(f.Site)
		case f.Org != "":
			prefix = idxEventOrg.prefix(f.Org)
		case f.Kind != "":
			prefix = idxEventKind.prefix(string(f.Kind))
		}
		scanned := 0
		consider := func(seq int64) (bool, error) {
			scanned++
			if scanned > maxEventScan {
				next = seq - 1
				return false, nil
			}
			data, err := vlog.ReadRecord(st.tx, seq)
			if err != nil {
				return false, err
			}
			rec, err := DecodeRecord(data)
			if err != nil {
				return false, err
			}
			if rec.Kind.IsRegistry() || (f.Kind != "" && rec.Kind != f.Kind) || (f.Org != "" && rec.Actor.Org != f.Org) ||
				(f.Site != "" && rec.Site != f.Site && rec.ToSite != f.Site) ||
				(!f.From.IsZero() && rec.At.Before(f.From)) || (!f.To.IsZero() && !rec.At.Before(f.To)) {
				return true, nil
			}
			if ok, err := st.recordVisible(p, rec); err != nil || !ok {
				return err == nil, err
			}
			if len(out) == f.Limit {
				next = out2seq(out[len(out)-1])
				return false, nil
			}
			out = append(out, json.RawMessage(data))
			return true, nil
		}
		switch {
		case prefix != nil:
			return st.tx.Scan(prefix, append(slices.Clone(prefix), be64(f.After+1)...), false, func(k, _ []byte) error {
				ok, err := consider(int64(beUint(k[len(prefix):])))
				if err == nil && !ok {
					err = fault.ErrStop
				}
				return err
			})
		case !f.From.IsZero() || !f.To.IsZero():
			// A time window alone: the ev-at index, in time order; the
			// page is the window's records in seq order.
			p := idxEventAt.prefix("")
			var seqs []int64
			var start []byte
			if !f.From.IsZero() {
				start = append(slices.Clone(p), be64(f.From.UnixMicro())...)
			}
			err := st.tx.Scan(p, start, false, func(k, _ []byte) error {
				sfx := k[len(p):]
				if !f.To.IsZero() && int64(beUint(sfx[:8])) >= f.To.UnixMicro() {
					return fault.ErrStop
				}
				if s := int64(beUint(sfx[8:])); s > f.After {
					seqs = append(seqs, s)
				}
				return nil
			})
			if err != nil {
				return err
			}
			slices.Sort(seqs)
			for _, s := range seqs {
				if err := st.alive(); err != nil {
					return err
				}
				if ok, err := consider(s); err != nil || !ok {
					return err
				}
			}
			return nil
		default:
			return vlog.ScanRecords(st.tx, f.After+1, func(seq int64, _ []byte) error {
				ok, err := consider(seq)
				if err == nil && !ok {
					err = fault.ErrStop
				}
				return err
			})
		}
	})
	return out, next, err
}

// out2seq reads the seq of a stored record.
func out2seq(data []byte) int64 {
	var r struct {
		Seq int64 `json:"seq"`
	}
	_ = json.Unmarshal(data, &r)
	return r.Seq
}

// ParseSeq parses a non-negative record index.
func ParseSeq(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}
