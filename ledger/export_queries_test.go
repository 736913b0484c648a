package ledger

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
)

// Hooks for the external tests of the query views.

// CheckQueryViews checks the derived query views of every lot in s against
// the lot itself: its node (quantities, custody, vehicles, transit, links,
// regions), the summary of each of its root batches (recomputed from the
// nodes of the batch's family), the batch's region index entries (each
// holding the summary) and the lot's site-stay entries.
func CheckQueryViews(s Store) error {
	return s.View(context.Background(), func(tx Tx) error {
		st := &state{tx: tx}
		sums := map[string]*rootSummary{}
		stays := 0
		err := tx.Scan(tabLot.all(), nil, false, func(k, v []byte) error {
			l, err := decodeLot(string(k[len(tabLot.all()):]), v)
			if err != nil {
				return err
			}
			n, err := st.node(l.ID)
			if err != nil {
				return fmt.Errorf("lot %s: %w", l.ID, err)
			}
			want := nodeOf(l, nil, nil)
			want.Out, want.CreatedBy = n.Out, n.CreatedBy
			if !reflect.DeepEqual(roundTrip(want), n) {
				return fmt.Errorf("lot %s: node %+v, lot says %+v", l.ID, n, want)
			}
			if !slices.Equal(n.regions(), l.Regions()) || n.visibleTo(Principal{Role: RoleRegulator, Regions: []string{"31"}}) != l.visibleTo(Principal{Role: RoleRegulator, Regions: []string{"31"}}) {
				return fmt.Errorf("lot %s: node regions %v, lot %v", l.ID, n.regions(), l.Regions())
			}
			var out LotQuantity
			for _, o := range n.Out {
				out.Sold += o.Sold
				out.Consumed += o.Consumed
				out.Destroyed += o.Destroyed
				out.Returned += o.Returned
				out.Lost += o.Lost
			}
			if out.Sold != l.Quantity.Sold || out.Consumed != l.Quantity.Consumed || out.Destroyed != l.Quantity.Destroyed ||
				out.Returned != l.Quantity.Returned || out.Lost != l.Quantity.Lost {
				return fmt.Errorf("lot %s: outflows %+v do not add up to %+v", l.ID, n.Out, l.Quantity)
			}
			for _, r := range n.roots() {
				if v, err := tx.Get(famKey(r, n)); err != nil || !bytes.Equal(v, n.encode()) {
					return fmt.Errorf("lot %s: family copy under %s differs (%v)", l.ID, r, err)
				}
			}
			for _, sk := range siteStayKeys(n) {
				if v, err := tx.Get(sk); err != nil || string(v) != l.TraceCode {
					return fmt.Errorf("lot %s: site-stay entry %q, %v", l.ID, v, err)
				}
				stays++
			}
			for _, r := range n.roots() {
				if sums[r] == nil {
					sums[r] = &rootSummary{Root: r}
				}
			}
			for _, r := range n.roots() {
				sums[r].add(n, 1)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for r, want := range sums {
			got, err := st.rootSummary(want.DeclaredAt, r)
			if err != nil {
				return fmt.Errorf("batch %s: %w", r, err)
			}
			if !bytes.Equal(got.encode(), want.encode()) {
				return fmt.Errorf("batch %s: summary %+v, lots say %+v", r, got, want)
			}
			for _, rc := range got.Regions {
				v, err := tx.Get(rootRegionKey(rc.Region, got.DeclaredAt, r))
				if err != nil {
					return fmt.Errorf("batch %s: region entry %s missing", r, rc.Region)
				}
				if !bytes.Equal(v, got.encode()) {
					return fmt.Errorf("batch %s: region entry %s holds another summary", r, rc.Region)
				}
			}
		}
		n := 0
		if err := tx.Scan(tabSummary.all(), nil, false, func(k, v []byte) error { n++; return nil }); err != nil {
			return err
		}
		if n != len(sums) {
			return fmt.Errorf("%d batch summaries stored, %d batches have lots", n, len(sums))
		}
		copies := 0
		if err := tx.Scan(tabFamily.all(), nil, false, func(k, v []byte) error { copies++; return nil }); err != nil {
			return err
		}
		want := 0
		for _, s := range sums {
			want += int(s.Lots)
		}
		if copies != want {
			return fmt.Errorf("%d family copies stored, the batches have %d lots", copies, want)
		}
		total := 0
		if err := tx.Scan(idxSiteStay.within(""), nil, false, func(k, v []byte) error { total++; return nil }); err != nil {
			return err
		}
		if total != stays {
			return fmt.Errorf("%d site-stay entries stored, the lots have %d stays", total, stays)
		}
		return nil
	})
}

func roundTrip(n *lotNode) *lotNode {
	m, err := decodeNode(n.encode())
	if err != nil {
		panic(err)
	}
	return m
}

// RecallWithContactLimit is Recall listing at most limit contacts.
func RecallWithContactLimit(l *Ledger, p Principal, ref string, limit int) (*Recall, error) {
	return l.recall(context.Background(), p, ref, limit)
}

// DropNodeCache empties l's node cache.
func DropNodeCache(l *Ledger) {
	l.nodes.mu.Lock()
	defer l.nodes.mu.Unlock()
	l.nodes.nodes = generations[*lotNode]{}
}
