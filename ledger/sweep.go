package ledger

import (
	"bytes"
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

// SweepFindings looks for open findings past their acknowledgement
// deadline that nobody acknowledged and records one findings_overdue record
// (written by the ledger itself) naming them: applying it marks each
// finding overdue once and writes its finding.overdue outbox entry, so
// webhooks and the stream are told like of any other finding event. It
// returns that record's receipt, or nil when nothing was overdue.
func (l *Ledger) SweepFindings(ctx context.Context) (*Receipt, error) {
	now := l.now()
	var due []string
	var done [][]byte // entries of findings acknowledged, closed or told already
	err := l.view(ctx, func(st *state) error {
		return st.tx.Scan(prefixAckDue, nil, false, func(k, _ []byte) error {
			rest := k[len(prefixAckDue):]
			if int64(beUint(rest[:8])) > now.UnixMicro() || len(due) >= 1000 {
				return fault.ErrStop
			}
			f, err := st.finding(string(rest[8:]))
			if err != nil {
				return err
			}
			if overdueNow(f, now) {
				due = append(due, f.ID)
			} else {
				done = append(done, bytes.Clone(k))
			}
			return nil
		})
	})
	if err == nil && len(done) > 0 {
		err = l.store.Update(ctx, func(tx Tx) error {
			for _, k := range done {
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil || len(due) == 0 {
		return nil, err
	}
	return l.enqueue(ctx, &submission{ev: Event{Kind: FindingsOverdue, At: now.UTC(), Findings: due}, system: true})
}

// overdueNow reports whether f is open, unacknowledged, not yet told
// overdue, and past its acknowledgement deadline at now.
func overdueNow(f *Finding, now time.Time) bool {
	return f.Open && f.AckSeq == 0 && f.OverdueSeq == 0 && now.After(f.OpenedAt.Add(policyOf(f.Rule).AckWithin))
}

// applyFindingsOverdue marks the findings the record names overdue, those
// still overdue at the record's time (a finding acknowledged or closed
// meanwhile is left as it is).
func applyFindingsOverdue(lt *lotTx, _ *Lot, _ *effects) error {
	for _, id := range lt.rec.Findings {
		f, err := lt.st.finding(id)
		if err != nil {
			return err
		}
		if !overdueNow(f, lt.rec.At) {
			continue
		}
		old := *f
		at := lt.rec.At
		f.OverdueSeq, f.OverdueAt = lt.rec.Seq, &at
		if err := lt.st.putFinding(&old, f); err != nil {
			return err
		}
		if err := lt.st.tx.Delete(ackDueKey(f)); err != nil {
			return err
		}
	}
	return nil
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
			if _, err := l.SweepFindings(context.Background()); err != nil {
				l.log.Warn("finding sweep failed", "err", err)
			}
		}
	}
}
