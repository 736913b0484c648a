package ledger

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// The site-stay index (s/x/site-stay/<site>\x00<end ns><start ns><lot id> =
// trace code) lists every stay of every lot by site and by when it ended,
// open stays last: the lots at a site in a time window are a range scan.
// Recall's contacts and the positive rules (alerts.go, inspections.go) read
// it; the node's changes write it (node.go's derive).

// siteStayKeys returns the site-stay index entries of a node: one per stay,
// open stays ending at the largest time.
func siteStayKeys(n *lotNode) [][]byte {
	if n == nil {
		return nil
	}
	ks := make([][]byte, 0, len(n.Custody))
	for _, s := range n.Custody {
		end := int64(math.MaxInt64)
		if s.To != nil {
			end = s.To.UnixNano()
		}
		ks = append(ks, idxSiteStay.key(s.Site, append(append(be64(end), be64(s.From.UnixNano())...), n.ID...)))
	}
	return ks
}

// staysEndedSince returns the lots with a stay at site that ended in or
// after the microsecond of start (or is still open), each once, in the
// order of the first such stay's end in microseconds, then of lot id.
//
// That is what the retired µs stay index (s/x/stay/<site>\x00<end µs><lot
// id>) gave the site-positive rule, and a record replays to the same
// findings only if the rule gets the same lots in the same order: a stay
// that ended earlier in start's microsecond is included (the rule's own
// checks on the stays decide what it does with the lot), and the ns
// index's order (end ns, start ns, id) is brought back to (end µs, id).
func (st *state) staysEndedSince(site string, start time.Time) ([]string, error) {
	type stay struct {
		endMicro int64
		id       string
	}
	var found []stay
	p := idxSiteStay.prefix(site)
	// end >= start's microsecond in ns is floor(end/1000) >= start.UnixMicro().
	from := be64(start.UnixMicro() * 1000)
	err := st.tx.Scan(p, append(p, from...), false, func(k, _ []byte) error {
		sfx := k[len(p):]
		end := int64(beUint(sfx[:8]))
		if end != math.MaxInt64 {
			end = time.Unix(0, end).UnixMicro()
		}
		found = append(found, stay{end, string(sfx[16:])})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// As the keys sorted: the times as unsigned big-endian bytes.
	slices.SortFunc(found, func(a, b stay) int {
		return cmp.Or(cmp.Compare(uint64(a.endMicro), uint64(b.endMicro)), strings.Compare(a.id, b.id))
	})
	var ids []string
	for _, s := range found {
		if !slices.Contains(ids, s.id) {
			ids = append(ids, s.id)
		}
	}
	return ids, nil
}
