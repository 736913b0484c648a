package ledger

import (
	"context"
	"slices"
)

// LotFindings returns the findings opened about a lot, newest first, if p
// may see the lot.
func (l *Ledger) LotFindings(ctx context.Context, p Principal, ref string) (out []Finding, err error) {
	err = l.view(ctx, func(st *state) error {
		lot, err := st.visibleLot(p, ref)
		if err != nil {
			return err
		}
		ids := slices.Clone(lot.Findings)
		slices.SortFunc(ids, compareFindingIDsDesc)
		for _, id := range ids {
			f, err := st.finding(id)
			if err != nil {
				return err
			}
			out = append(out, *f)
		}
		return nil
	})
	return out, err
}
