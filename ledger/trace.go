package ledger

import (
	"cmp"
	"context"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/ident"
)

// MaxAnswerLots caps the lots of one trace, recall or closure answer; a
// larger answer is cut there and says so (Truncated).
const MaxAnswerLots = 10_000

// Trace directions.
const (
	TraceUp   = "up"   // to the root batch(es)
	TraceDown = "down" // to every descendant
	TraceBoth = "both"
)

// A Trace is a lot's DAG: its ancestors up to the root batch(es), its
// descendants, or both, with the edges between them.
type Trace struct {
	Root      string      `json:"root"`
	Roots     []string    `json:"roots"`
	Lot       string      `json:"lot"` // the lot asked about
	TraceCode string      `json:"trace_code"`
	Direction string      `json:"direction"`
	Lots      []TraceLot  `json:"lots"`
	Edges     []TraceEdge `json:"edges"`
	Truncated bool        `json:"truncated"`
	// Hidden counts the lots of the answer this key may not see: they are
	// listed with their id and trace code only.
	Hidden int `json:"hidden"`
}

// A TraceEdge says that record Seq, of kind Kind (shipped: a partial
// shipment split the lot; transformed: processing), made lot To from lot
// From.
type TraceEdge struct {
	From string    `json:"from"`
	To   string    `json:"to"`
	Kind EventKind `json:"kind"`
	Seq  int64     `json:"seq"`
}

// A TraceLot is one lot of a trace, with its custody history. A lot the
// key may not see has only ID, TraceCode, Hidden and its links.
type TraceLot struct {
	ID           string        `json:"id"`
	TraceCode    string        `json:"trace_code"`
	Hidden       bool          `json:"hidden,omitempty"`
	Depth        int           `json:"depth"` // from the lot asked about: negative upstream
	Parents      []string      `json:"parents"`
	Children     []string      `json:"children"`
	Root         string        `json:"root,omitempty"`
	Product      *TraceProduct `json:"product,omitempty"`
	CreatedBy    EventKind     `json:"created_by,omitempty"`
	CreatedSeq   int64         `json:"created_seq"`
	CreatedAt    *time.Time    `json:"created_at,omitempty"`
	Holder       string        `json:"holder,omitempty"`
	Site         string        `json:"site,omitempty"`
	Region       string        `json:"region,omitempty"`
	Quantity     *LotQuantity  `json:"quantity,omitempty"`
	Status       *LotFlags     `json:"status,omitempty"`
	OpenFindings int64         `json:"open_findings"`
	Custody      []Stay        `json:"custody,omitempty"`
	Vehicles     []VehicleUse  `json:"vehicles,omitempty"`
	Transit      *Transit      `json:"transit,omitempty"`
}

// A TraceProduct names a lot's goods.
type TraceProduct struct {
	Name     string `json:"name"`
	Category string `json:"category"`
}

// LotFlags are a lot's status flags.
type LotFlags struct {
	Cleared  bool `json:"cleared"`
	Sealed   bool `json:"sealed"`
	Positive bool `json:"positive"`
	Closed   bool `json:"closed"`
}

// A traceArena holds the copies of the nodes' lists that a trace answer
// takes (nodes may be shared, nodeCache), and the values its lots point
// to, in a few large arrays instead of eight small allocations per lot.
type traceArena struct {
	ids      []string
	stays    []Stay
	vehicles []VehicleUse
	times    []time.Time
	products []TraceProduct
	qs       []LotQuantity
	flags    []LotFlags
}

// arenaPtr stores v in the chunk *s (a new chunk when it is full, so that
// earlier pointers stay valid) and returns a pointer to it.
func arenaPtr[T any](s *[]T, v T) *T {
	if len(*s) == cap(*s) {
		*s = make([]T, 0, 256)
	}
	*s = append(*s, v)
	return &(*s)[len(*s)-1]
}

func (a *traceArena) strs(s []string) []string {
	if len(s) == 0 {
		return []string{}
	}
	if cap(a.ids)-len(a.ids) < len(s) {
		a.ids = make([]string, 0, max(1024, len(s)))
	}
	i := len(a.ids)
	a.ids = append(a.ids, s...)
	return a.ids[i:len(a.ids):len(a.ids)]
}

func (a *traceArena) custody(s []Stay) []Stay {
	if len(s) == 0 {
		return nil
	}
	if cap(a.stays)-len(a.stays) < len(s) {
		a.stays = make([]Stay, 0, max(512, len(s)))
	}
	i := len(a.stays)
	a.stays = append(a.stays, s...)
	return a.stays[i:len(a.stays):len(a.stays)]
}

func (a *traceArena) uses(s []VehicleUse) []VehicleUse {
	if len(s) == 0 {
		return nil
	}
	if cap(a.vehicles)-len(a.vehicles) < len(s) {
		a.vehicles = make([]VehicleUse, 0, max(512, len(s)))
	}
	i := len(a.vehicles)
	a.vehicles = append(a.vehicles, s...)
	return a.vehicles[i:len(a.vehicles):len(a.vehicles)]
}

func traceLot(a *traceArena, n *lotNode, depth int, visible bool) TraceLot {
	t := TraceLot{ID: n.ID, TraceCode: n.TraceCode, Depth: depth, Parents: a.strs(n.Parents), Children: a.strs(n.Kids), CreatedSeq: n.CreatedSeq}
	if !visible {
		t.Hidden = true
		return t
	}
	t.Root, t.CreatedBy, t.CreatedAt = n.Root, n.CreatedBy, arenaPtr(&a.times, n.CreatedAt)
	t.Product = arenaPtr(&a.products, TraceProduct{Name: n.Product, Category: n.Category})
	t.Holder, t.Site, t.Region, t.Quantity = n.Holder, n.Site, n.Region, arenaPtr(&a.qs, n.Q)
	t.Status = arenaPtr(&a.flags, LotFlags{Cleared: n.Cleared, Sealed: n.Sealed, Positive: n.Positive, Closed: n.Closed})
	t.OpenFindings, t.Custody, t.Vehicles, t.Transit = n.OpenFindings, a.custody(n.Custody), a.uses(n.Vehicles), n.Transit.clone()
	return t
}

// Trace returns the DAG of the lot ref names (a trace code or lot id), if p
// may see that lot: upstream to its root batch(es), downstream to every
// descendant, or both. Each lot is read once, so the time is proportional
// to the answer. At most limit lots (MaxAnswerLots when 0 or more) are
// returned; lots p may not see are listed without their details.
func (l *Ledger) Trace(ctx context.Context, p Principal, ref, direction string, limit int) (*Trace, error) {
	switch direction {
	case "":
		direction = TraceBoth
	case TraceUp, TraceDown, TraceBoth:
	default:
		return nil, fault.InvalidField("direction", "must be up, down or both")
	}
	if limit <= 0 || limit > MaxAnswerLots {
		limit = MaxAnswerLots
	}
	var out *Trace
	err := l.query(ctx, func(st *state) error {
		start, err := st.visibleNode(p, ref)
		if err != nil {
			return err
		}
		// Downstream of a root batch is its whole family: read it with one
		// sequential scan instead of a point read per lot.
		var fam map[string]*lotNode
		if len(start.Parents) == 0 && direction != TraceUp {
			nodes, _, err := st.family([]string{start.ID}, limit)
			if err != nil {
				return err
			}
			fam = make(map[string]*lotNode, len(nodes))
			for _, n := range nodes {
				fam[n.ID] = n
			}
		}
		out = &Trace{Root: start.Root, Roots: start.roots(), Lot: start.ID, TraceCode: start.TraceCode, Direction: direction,
			Lots: make([]TraceLot, 1, max(1, len(fam))), Edges: make([]TraceEdge, 0, len(fam))}
		arena := &traceArena{}
		out.Lots[0] = traceLot(arena, start, 0, true)
		nodes := make([]*lotNode, 1, cap(out.Lots)) // the nodes of out.Lots
		nodes[0] = start
		seen := make(map[string]bool, len(fam))
		seen[start.ID] = true
		walk := func(up bool) error {
			type item struct {
				n     *lotNode
				depth int
			}
			queue := []item{{start, 0}}
			for len(queue) > 0 {
				if err := st.alive(); err != nil {
					return err
				}
				it := queue[0]
				queue = queue[1:]
				next := it.n.Kids
				if up {
					next = it.n.Parents
				}
				for _, id := range next {
					if seen[id] {
						continue
					}
					if len(out.Lots) >= limit {
						out.Truncated = true
						return nil
					}
					m := fam[id]
					if m == nil || up {
						var err error
						if m, err = st.node(id); err != nil {
							return err
						}
					}
					seen[id] = true
					d := it.depth + 1
					if up {
						d = it.depth - 1
					}
					vis := m.visibleTo(p)
					if !vis {
						out.Hidden++
					}
					out.Lots = append(out.Lots, traceLot(arena, m, d, vis))
					nodes = append(nodes, m)
					queue = append(queue, item{m, d})
				}
			}
			return nil
		}
		if direction != TraceDown {
			if err := walk(true); err != nil {
				return err
			}
		}
		if direction != TraceUp && !out.Truncated {
			if err := walk(false); err != nil {
				return err
			}
		}
		// The edges: every record that made a lot of the answer from a lot
		// of the answer. The walks alone would miss, in both directions,
		// an edge from an ancestor to a descendant (processing that took
		// the lot asked about and its parent's rest, say).
		for _, n := range nodes {
			for _, parent := range n.Parents {
				if seen[parent] {
					out.Edges = append(out.Edges, TraceEdge{From: parent, To: n.ID, Kind: n.CreatedBy, Seq: n.CreatedSeq})
				}
			}
		}
		return nil
	})
	return out, err
}

// visibleNode resolves ref to a lot's node, if p may see the lot.
func (st *state) visibleNode(p Principal, ref string) (*lotNode, error) {
	id, err := st.resolveLotID(ref)
	if err != nil {
		return nil, err
	}
	n, err := st.node(id)
	if err != nil {
		return nil, err
	}
	if !n.visibleTo(p) {
		if ok, err := st.openedByPositive(p, n.roots()); err != nil || !ok {
			return nil, cmp.Or(err, fault.Errorf(fault.Forbidden, "this key may not see lot %s", n.TraceCode))
		}
	}
	return n, nil
}

// resolveLotID finds the id of the lot a trace code (as typed) or lot id
// names.
func (st *state) resolveLotID(ref string) (string, error) {
	if len(ref) == 36 {
		if _, err := st.tx.Get(tabNode.key(ref)); err != nil {
			if fault.KindOf(err) == fault.NotFound {
				return "", fault.Errorf(fault.NotFound, "no lot %s", ref)
			}
			return "", err
		}
		return ref, nil
	}
	code, ok := ident.NormalizeTraceCode(ref)
	if !ok {
		return "", fault.Errorf(fault.NotFound, "%q is neither a lot id nor a valid trace code", ref)
	}
	id, err := st.tx.Get(codeKey(code)) // lot.go
	if fault.KindOf(err) == fault.NotFound {
		return "", fault.Errorf(fault.NotFound, "no lot has trace code %s", ref)
	}
	return string(id), err
}
