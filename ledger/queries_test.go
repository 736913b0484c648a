package ledger_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
	"coldtrace/storage/badgerkv"
)

type queryEnv struct {
	store *badgerkv.Store
	key   *vlog.Key
	l     *ledger.Ledger
	admin ledger.Principal
}

func newQueryEnv(t *testing.T) *queryEnv {
	t.Helper()
	e := fixtures.OpenTestLedger(t, ledger.Options{})
	return &queryEnv{store: e.Store, key: e.Key, l: e.L, admin: e.Admin}
}

func (e *queryEnv) check(t *testing.T) {
	t.Helper()
	if err := ledger.CheckQueryViews(e.store); err != nil {
		t.Fatal(err)
	}
	scratch, err := badgerkv.Open("", badgerkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	if _, err := ledger.Verify(context.Background(), e.store, scratch, e.key.Verifier, nil); err != nil {
		t.Fatalf("verify (replay re-derives the query views): %v", err)
	}
}

// TestQueryViewsFollowLots checks the query views (lot nodes, batch
// summaries, region and site-stay entries) against the lots after a
// generated ledger, the demo stories, and voids of a split and of a sale.
func TestQueryViewsFollowLots(t *testing.T) {
	ctx := context.Background()
	e := newQueryEnv(t)
	if _, err := fixtures.Generate(ctx, e.l, e.admin, fixtures.Options{Lots: 80, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	e.check(t)

	d := newQueryEnv(t)
	demo, err := fixtures.LoadDemo(ctx, d.l, d.admin)
	if err != nil {
		t.Fatal(err)
	}
	d.check(t)
	// Voids: a partial shipment (its child lot goes away) and a sale.
	lots, _, err := d.l.ListLots(t.Context(), d.admin, ledger.LotFilter{Status: "open", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var holder fixtures.Actor
	var lot ledger.LotItem
	for _, li := range lots {
		for _, a := range demo.Actors {
			if a.Org == li.Holder && li.Quantity.OnHand >= 2000 && li.Site != "" && !li.Status.Sealed && a.Principal.Role != ledger.RoleRegulator {
				holder, lot = a, li
			}
		}
	}
	if lot.ID == "" {
		t.Fatal("the demo has no open lot on hand")
	}
	full, err := d.l.Lot(t.Context(), d.admin, lot.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := full.Quantity
	// Queries keep decoded nodes (the node cache): one before the sale,
	// and the answers after it must show the sale.
	if _, err := d.l.Trace(t.Context(), d.admin, lot.ID, ledger.TraceBoth, 0); err != nil {
		t.Fatal(err)
	}
	sold, err := d.l.Submit(ctx, holder.Principal, ledger.Event{Kind: ledger.Sold, Lot: lot.ID, Quantity: &ledger.Quantity{Grams: 1000}, Channel: "retail"}, "")
	if err != nil {
		t.Fatal(err)
	}
	d.check(t)
	tr, err := d.l.Trace(t.Context(), d.admin, lot.ID, ledger.TraceBoth, 0)
	if err != nil {
		t.Fatal(err)
	}
	if q := tr.Lots[0].Quantity; q.OnHand != before.OnHand-1000 || q.Sold != before.Sold+1000 {
		t.Fatalf("after selling 1000 g of %+v the trace shows %+v", before, *q)
	}
	if _, err := d.l.Submit(ctx, holder.Principal, ledger.Event{Kind: ledger.Voided, Voids: sold.Seq, Reason: "entered twice"}, ""); err != nil {
		t.Fatal(err)
	}
	d.check(t)
	r, err := d.l.Recall(t.Context(), d.admin, lot.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, rl := range r.Lots {
		if rl.ID == lot.ID && (rl.Sold != before.Sold || rl.OnHand != before.OnHand) {
			t.Fatalf("after the void the recall shows %+v, before the sale %+v", rl, before)
		}
	}
	// A partial shipment to the holder's own site, voided: the child lot
	// and its views go away.
	ship, err := d.l.Submit(ctx, holder.Principal, ledger.Event{Kind: ledger.Shipped, Lot: lot.ID, ToOrg: holder.Org, ToSite: lot.Site,
		Quantity: &ledger.Quantity{Grams: 1000}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ship.CreatedLots) != 1 {
		t.Fatalf("a partial shipment made %d lots", len(ship.CreatedLots))
	}
	d.check(t)
	tr, err = d.l.Trace(t.Context(), d.admin, lot.ID, ledger.TraceDown, 0)
	if err != nil || len(tr.Edges) == 0 {
		t.Fatalf("trace after the split: %+v %v", tr, err)
	}
	if _, err := d.l.Submit(ctx, holder.Principal, ledger.Event{Kind: ledger.Voided, Voids: ship.Seq, Reason: "wrong lot"}, ""); err != nil {
		t.Fatal(err)
	}
	d.check(t)
	if _, err := d.l.Trace(t.Context(), d.admin, ship.CreatedLots[0].TraceCode, ledger.TraceUp, 0); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("the voided shipment's lot still traces: %v", err)
	}
}

// smallTxnStore is a Store whose transactions take at most max writes, like
// badger's size limit but much smaller.
type smallTxnStore struct {
	ledger.Store
	max int
}

type countingTx struct {
	ledger.Tx
	n, max int
}

func (t *countingTx) Set(k, v []byte) error {
	if t.n++; t.n > t.max {
		return fault.Wrap(fault.Internal, "test transaction full", ledger.ErrTxnFull)
	}
	return t.Tx.Set(k, v)
}

func (t *countingTx) Delete(k []byte) error {
	if t.n++; t.n > t.max {
		return fault.Wrap(fault.Internal, "test transaction full", ledger.ErrTxnFull)
	}
	return t.Tx.Delete(k)
}

func (s smallTxnStore) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	return s.Store.Update(ctx, func(tx ledger.Tx) error { return fn(&countingTx{Tx: tx, max: s.max}) })
}

// TestFullTransactionSplitsTheGroup checks that a group whose writes do not
// fit one transaction is committed in parts, in order, and nothing is lost
// or half-written.
func TestFullTransactionSplitsTheGroup(t *testing.T) {
	ctx := context.Background()
	l, store, key, admin := openWrapped(t, func(s ledger.Store) ledger.Store { return smallTxnStore{Store: s, max: 600} })
	g, err := fixtures.Generate(ctx, l, admin, fixtures.Options{Lots: 60, Seed: 3})
	if err != nil {
		t.Fatalf("generate with small transactions: %v", err)
	}
	if len(g.Roots) != 60 {
		t.Fatalf("%d roots", len(g.Roots))
	}
	e := &queryEnv{store: store, key: key, l: l, admin: admin}
	e.check(t)
}

// TestTraceBothListsEveryEdgeOfTheLineage checks the edges of a trace in
// both directions: every edge between two lots of the answer, once, also
// one from an ancestor of the lot asked about to one of its descendants
// (here processing that took the split-off lot and the rest of its root
// batch), which neither the upward nor the downward walk crosses.
func TestTraceBothListsEveryEdgeOfTheLineage(t *testing.T) {
	d := newDomain(t)
	root := d.declare(true)
	split := d.move(root, ledger.RoleImporter, ledger.RoleProcessor, 400_000, 400_000) // a child of root
	if split == root {
		t.Fatal("the partial shipment did not make a child lot")
	}
	if moved := d.move(root, ledger.RoleImporter, ledger.RoleProcessor, 600_000, 600_000); moved != root {
		t.Fatal("the whole shipment made a child lot")
	}
	r := d.rec(ledger.RoleProcessor, ledger.Event{Kind: ledger.Transformed, Site: d.site[ledger.RoleProcessor],
		Inputs: []ledger.LotAmount{{Lot: split, Quantity: ledger.Quantity{Grams: 400_000}}, {Lot: root, Quantity: ledger.Quantity{Grams: 300_000}}},
		Outputs: []ledger.Output{{Product: ledger.Product{Name: "鸡爪罐头", HSCode: "1602329100", Category: ledger.CategoryNonColdChain},
			Quantity: ledger.Quantity{Grams: 650_000}}}})
	product := r.CreatedLots[0].ID
	type edge struct{ from, to string }
	for _, c := range []struct {
		ref, dir string
		want     []edge
	}{
		{split, ledger.TraceBoth, []edge{{root, split}, {split, product}, {root, product}}},
		{split, ledger.TraceUp, []edge{{root, split}}},
		{split, ledger.TraceDown, []edge{{split, product}}},
		{product, ledger.TraceUp, []edge{{root, split}, {split, product}, {root, product}}},
		{root, ledger.TraceDown, []edge{{root, split}, {split, product}, {root, product}}},
		{root, ledger.TraceBoth, []edge{{root, split}, {split, product}, {root, product}}},
	} {
		tr, err := d.l.Trace(t.Context(), d.admin, c.ref, c.dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []edge
		for _, e := range tr.Edges {
			got = append(got, edge{e.From, e.To})
			want := ledger.Shipped
			if e.To == product {
				want = ledger.Transformed
			}
			if e.Kind != want {
				t.Errorf("trace %s of %s: edge %s -> %s is %s, want %s", c.dir, c.ref, e.From, e.To, e.Kind, want)
			}
		}
		sortEdges := func(es []edge) {
			slices.SortFunc(es, func(a, b edge) int { return cmp.Or(strings.Compare(a.from, b.from), strings.Compare(a.to, b.to)) })
		}
		sortEdges(got)
		sortEdges(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("trace %s of %s: edges %v, want %v", c.dir, c.ref, got, c.want)
		}
	}
}

// TestRecallSaysWhenContactsAreCut checks that a recall with more contacts
// than it lists says so, and only then.
func TestRecallSaysWhenContactsAreCut(t *testing.T) {
	e := newQueryEnv(t)
	if _, err := fixtures.Generate(context.Background(), e.l, e.admin, fixtures.Options{Lots: 80, Seed: 11}); err != nil {
		t.Fatal(err)
	}
	lots, _, err := e.l.ListLots(t.Context(), e.admin, ledger.LotFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, li := range lots {
		full, err := e.l.Recall(t.Context(), e.admin, li.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := len(full.Contacts)
		if n < 2 {
			continue
		}
		if full.ContactsTruncated {
			t.Fatalf("recall of %s: %d contacts, under the cap, but contacts_truncated", li.TraceCode, n)
		}
		exact, err := ledger.RecallWithContactLimit(e.l, e.admin, li.ID, n)
		if err != nil || exact.ContactsTruncated || len(exact.Contacts) != n {
			t.Fatalf("recall of %s with room for its %d contacts: %d, truncated %v, %v", li.TraceCode, n, len(exact.Contacts), exact.ContactsTruncated, err)
		}
		cut, err := ledger.RecallWithContactLimit(e.l, e.admin, li.ID, n-1)
		if err != nil || !cut.ContactsTruncated || len(cut.Contacts) != n-1 {
			t.Fatalf("recall of %s with room for %d of its %d contacts: %d, truncated %v, %v", li.TraceCode, n-1, n, len(cut.Contacts), cut.ContactsTruncated, err)
		}
		return
	}
	t.Fatal("no lot of the generated ledger has two contacts")
}

// TestQueriesDuringWrites runs traces, recalls, closures and reports while
// a generated ledger is written (under -race: the queries share cached
// nodes, which nothing may modify), and then checks that the answers
// match a ledger that was never cached.
func TestQueriesDuringWrites(t *testing.T) {
	ctx := context.Background()
	e := newQueryEnv(t)
	done := make(chan error, 1)
	go func() {
		_, err := fixtures.Generate(ctx, e.l, e.admin, fixtures.Options{Lots: 60, Seed: 4})
		done <- err
	}()
	var readErr error
	reads := 0
	for writing := true; writing; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			writing = false
		default:
		}
		lots, _, err := e.l.ListLots(t.Context(), e.admin, ledger.LotFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, li := range lots {
			if _, err := e.l.Trace(t.Context(), e.admin, li.ID, ledger.TraceBoth, 0); err != nil && fault.KindOf(err) != fault.NotFound {
				readErr = err
			}
			if _, err := e.l.Recall(t.Context(), e.admin, li.ID); err != nil && fault.KindOf(err) != fault.NotFound {
				readErr = err
			}
			reads++
		}
		if _, err := e.l.ClosureReport(t.Context(), e.admin, ledger.ReportFilter{}); err != nil {
			readErr = err
		}
	}
	if readErr != nil {
		t.Fatal(readErr)
	}
	if reads == 0 {
		t.Fatal("no query ran during the writes")
	}
	// The answers now, from the cache, are those decoded afresh.
	lots, _, err := e.l.ListLots(t.Context(), e.admin, ledger.LotFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	answers := func() []byte {
		var out []byte
		for _, li := range lots {
			tr, err := e.l.Trace(t.Context(), e.admin, li.ID, ledger.TraceBoth, 0)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := e.l.Recall(t.Context(), e.admin, li.ID)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal([]any{tr, rc})
			out = append(out, b...)
		}
		return out
	}
	cached := answers()
	ledger.DropNodeCache(e.l)
	if !bytes.Equal(cached, answers()) {
		t.Fatal("answers from cached nodes differ from answers decoded afresh")
	}
}

// TestGeneratedRecordsDecodeCanonical checks that every record of a
// generated ledger (each kind fixtures.Generate writes) takes verify's
// fast path, decodeCanonical, and decodes there to what DecodeRecord
// gives.
func TestGeneratedRecordsDecodeCanonical(t *testing.T) {
	e := newQueryEnv(t)
	if _, err := fixtures.Generate(context.Background(), e.l, e.admin, fixtures.Options{Lots: 40, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	n, err := ledger.CheckRecordsDecodeCanonical(e.store)
	if err != nil {
		t.Fatal(err)
	}
	if n < 500 {
		t.Fatalf("only %d records", n)
	}
}
