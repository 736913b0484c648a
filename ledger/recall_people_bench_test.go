package ledger_test

import (
	"context"
	"fmt"
	"testing"

	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// BenchmarkRecallPeople measures the recall of one lot whose 20 tests
// carry people, in ledgers where other lots' tests carry people too (1,000
// or 10,000 of them): the recall's people part should cost about the same
// in both, its answer being the same.
func BenchmarkRecallPeople(b *testing.B) {
	for _, others := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) {
			e := fixtures.OpenTestLedger(b, ledger.Options{})
			ctx := context.Background()
			lp, lots := labAndLots(b, e, 960, 65)
			tested := func(lot string, i int) ledger.Submission {
				return ledger.Submission{Principal: lp, Event: ledger.Event{Kind: ledger.Tested, Lot: lot, Samples: 20, Scope: []string{"goods"}, Result: "negative",
					People: []ledger.Person{{Role: "sampler", Name: "采样员", Phone: fmt.Sprintf("137%08d", i)}}}}
			}
			var batch []ledger.Submission
			for i := range others + 20 {
				lot := lots[1+i%64]
				if i%(others/20+1) == 0 {
					lot = lots[0]
				}
				batch = append(batch, tested(lot, i))
			}
			for i := 0; i < len(batch); i += 1000 {
				for _, r := range e.L.SubmitBatch(ctx, batch[i:min(i+1000, len(batch))]) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			rc, err := e.L.Recall(ctx, e.Admin, lots[0])
			if err != nil || len(rc.People) == 0 {
				b.Fatalf("recall: %d people, %v", len(rc.People), err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := e.L.Recall(ctx, e.Admin, lots[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
