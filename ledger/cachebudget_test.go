package ledger_test

import (
	"context"
	"testing"

	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// TestCacheBudget checks that Options.LotCacheBytes, NodeCacheBytes and
// StateCacheBytes bound the ledger's caches (CacheBytes reports them): a
// ledger with 16 KiB caches holds at most that and one entry more after
// recording and listing 40 batches, where one with the default caches
// holds more.
func TestCacheBudget(t *testing.T) {
	const limit = 16 << 10
	held := func(opts ledger.Options) (lots, nodes, state int64) {
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
	bigLots, bigNodes, bigState := held(ledger.Options{})
	lots, nodes, state := held(ledger.Options{LotCacheBytes: limit, NodeCacheBytes: limit, StateCacheBytes: limit})
	t.Logf("cached with the defaults: lots %d, nodes %d, state %d bytes; with %d-byte caches: %d, %d, %d", bigLots, bigNodes, bigState, limit, lots, nodes, state)
	const slack = 8 << 10 // one lot or node past the limit
	if lots <= 0 || lots > limit+slack || nodes > limit+slack {
		t.Errorf("16 KiB caches hold lots %d and nodes %d bytes", lots, nodes)
	}
	if bigLots <= lots+slack || bigNodes <= nodes+slack {
		t.Errorf("the default caches hold lots %d and nodes %d bytes, no more than 16 KiB ones (%d, %d): the options changed nothing", bigLots, bigNodes, lots, nodes)
	}
	if state <= 0 || state > limit+slack || bigState <= state+slack {
		t.Errorf("the state cache holds %d bytes at 16 KiB and %d with the default: the option does not bound it", state, bigState)
	}
}
