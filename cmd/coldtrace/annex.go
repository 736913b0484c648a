package main

import (
	"context"
	"fmt"

	"coldtrace/ledger"
)

// verifyAnnexes checks every annex against its record's commitment and
// reports erased annexes apart from broken ones.
func verifyAnnexes(ctx context.Context, store ledger.Store) error {
	rep, err := ledger.VerifyAnnexes(ctx, store)
	if rep != nil {
		fmt.Printf("annexes: %d recorded, %d match their commitment, %d erased %v\n",
			rep.Annexes, rep.Annexes-int64(len(rep.Erased)+len(rep.Mismatched)+len(rep.Missing)), len(rep.Erased), rep.Erased)
		for _, seq := range rep.Mismatched {
			fmt.Printf("annex of record %d: does not match its commitment\n", seq)
		}
		for _, seq := range rep.Missing {
			fmt.Printf("annex of record %d: missing, and no erasure record names it\n", seq)
		}
	}
	if err != nil {
		return fmt.Errorf("FAILED: %w", err)
	}
	return nil
}
