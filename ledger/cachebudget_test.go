package ledger_test

import (
	"context"
	"testing"

	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// TestCacheBudget checks that Options.LotCacheBytes and NodeCacheBytes
// bound the decoded-lot caches (CacheBytes reports them): a ledger with
// 16 KiB caches holds at most that and one lot more after recording and
// listing 40 batches, where one with the default caches holds more.
func TestCacheBudget(t *testing.T) {
	const limit = 16 << 10
	held := func(opts ledger.Options) (lots, nodes int64) {
		ctx := context.Background()
		e := fixtures.OpenTestLedger(t, opts)
		if _, err := fixtures.Generate(ctx, e.L, e.Admin, fixtures.Options{Lots: 40, Seed: 3}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.L.ListLots(ctx, e.Admin, ledger.LotFilter{Limit: 1000}); err != nil {
			t.Fatal(err)
		}
		return e.L.CacheBytes()
	}
	bigLots, bigNodes := held(ledger.Options{})
	lots, nodes := held(ledger.Options{LotCacheBytes: limit, NodeCacheBytes: limit})
	t.Logf("cached with the defaults: lots %d, nodes %d bytes; with %d-byte caches: %d, %d", bigLots, bigNodes, limit, lots, nodes)
	const slack = 8 << 10 // one lot or node past the limit
	if lots <= 0 || lots > limit+slack || nodes > limit+slack {
		t.Errorf("16 KiB caches hold lots %d and nodes %d bytes", lots, nodes)
	}
	if bigLots <= lots+slack || bigNodes <= nodes+slack {
		t.Errorf("the default caches hold lots %d and nodes %d bytes, no more than 16 KiB ones (%d, %d): the options changed nothing", bigLots, bigNodes, lots, nodes)
	}
}
