package ledger

import (
	"context"
	"time"

	"coldtrace/ledger/fault"
)

// Sweep looks for shipments past their deadline that nobody received and
// records one transit_overdue record (written by the ledger itself) that
// opens a finding for each. It returns that record's receipt, or nil when
// nothing was overdue.
func (l *Ledger) Sweep(ctx context.Context) (*Receipt, error) {
	now := l.now()
	var due []string
	err := l.view(ctx, func(st *state) error {
		p := idxDue.prefix("")
		return st.tx.Scan(p, nil, false, func(k, _ []byte) error {
			if int64(beUint(k[len(p):len(p)+8])) >= now.UnixMicro() || len(due) >= 1000 {
				return fault.ErrStop
			}
			due = append(due, string(k[len(p)+8:]))
			return nil
		})
	})
	if err != nil || len(due) == 0 {
		return nil, err
	}
	return l.enqueue(ctx, &submission{ev: Event{Kind: TransitOverdue, At: now.UTC(), Lots: due}, system: true})
}

// sweepLoop runs Sweep every interval until the ledger closes.
func (l *Ledger) sweepLoop(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.quit:
			return
		case <-t.C:
			if _, err := l.Sweep(context.Background()); err != nil {
				l.log.Warn("transit sweep failed", "err", err)
			}
			if _, err := l.SweepWorkerTests(context.Background()); err != nil { // worker_tests.go
				l.log.Warn("worker test sweep failed", "err", err)
			}
		}
	}
}
