package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

// TestGoldenDataDirTakesNewRecords opens the golden data directory (lots
// and before-images stored as JSON, before issue 17) with the current code,
// sells from one of its lots (the lot is stored again in the binary
// encoding, its before-image holding the old JSON) and voids the sale (the
// old JSON comes back): the lot answers what it answered before, and
// verify, which replays everything in the new encoding, passes after each
// step.
func TestGoldenDataDirTakesNewRecords(t *testing.T) {
	g := readGolden(t)
	store, blobs, key := openGolden(t, g)
	l, err := ledger.New(store, key, ledger.Options{Blobs: blobs, SweepEvery: -1, CheckLotCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	admin, err := l.Authenticate(ctx, fixtures.TestAdminSecret)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(step string) {
		t.Helper()
		scratch, err := badgerkv.Open("", badgerkv.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		defer scratch.Close()
		if _, err := ledger.Verify(ctx, store, scratch, key.Verifier, nil); err != nil {
			t.Fatalf("verify after %s: %v", step, err)
		}
		if err := ledger.CheckQueryViews(store); err != nil {
			t.Fatalf("query views after %s: %v", step, err)
		}
	}
	lots, _, err := l.ListLots(ctx, admin, ledger.LotFilter{Status: "open", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var holder fixtures.Actor
	var lot ledger.LotItem
	for _, li := range lots {
		for _, a := range g.Demo.Actors {
			if a.Org == li.Holder && li.Quantity.OnHand >= 2000 && li.Site != "" && !li.Status.Sealed && a.Secret != "" {
				holder, lot = a, li
			}
		}
	}
	if lot.ID == "" {
		t.Fatal("the golden ledger has no open lot on hand")
	}
	p, err := l.Authenticate(ctx, holder.Secret)
	if err != nil {
		t.Fatal(err)
	}
	answer := func() []byte {
		t.Helper()
		v, err := l.Lot(ctx, admin, lot.ID)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(v.Lot)
		return data
	}
	was := answer()
	sold, err := l.Submit(ctx, p, ledger.Event{Kind: ledger.Sold, Lot: lot.ID, Quantity: &ledger.Quantity{Grams: 1000}, Channel: "retail"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(answer(), was) {
		t.Fatal("the sale did not change the lot")
	}
	verify("a sale from a lot stored as JSON")
	if _, err := l.Submit(ctx, p, ledger.Event{Kind: ledger.Voided, Voids: sold.Seq, Reason: "entered twice"}, ""); err != nil {
		t.Fatal(err)
	}
	if now := answer(); !bytes.Equal(now, was) {
		t.Fatalf("after the void the lot answers\n%s\nbefore the sale\n%s", now, was)
	}
	verify("the void of that sale")
}
