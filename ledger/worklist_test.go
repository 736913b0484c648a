package ledger_test

import (
	"context"
	"testing"
	"time"

	"coldtrace/ledger"
)

// TestSweepTellsFindingsOverdueOnce: a finding nobody acknowledged within
// its rule's time is marked overdue by one findings_overdue record, once;
// an acknowledged one is not; the log replays to the same state.
func TestSweepTellsFindingsOverdueOnce(t *testing.T) {
	d := newDomain(t)
	var lots []string
	for range 2 {
		lot := d.declare(true)
		d.rec(ledger.RoleImporter, ledger.Event{Kind: ledger.Shipped, Lot: lot, ToOrg: d.p[ledger.RoleColdStore].Org, ToSite: d.site[ledger.RoleColdStore], Quantity: g(1_000_000)})
		lots = append(lots, lot)
	}
	d.now = d.now.Add(49 * time.Hour)
	r, err := d.l.Sweep(context.Background())
	if err != nil || r == nil || len(r.Findings) != 2 {
		t.Fatalf("transit sweep: %+v, %v", r, err)
	}
	late, acked := r.Findings[0], r.Findings[1]
	if r, err := d.l.SweepFindings(context.Background()); err != nil || r != nil {
		t.Fatalf("finding sweep before the deadline: %+v, %v", r, err)
	}
	d.rec(ledger.RoleRegulator, ledger.Event{Kind: ledger.FindingAcknowledged, Finding: acked.ID})
	d.now = d.now.Add(24 * time.Hour) // transit_overdue: acknowledge within 24 h
	r, err = d.l.SweepFindings(context.Background())
	if err != nil || r == nil {
		t.Fatalf("finding sweep after the deadline: %+v, %v", r, err)
	}
	fs, err := d.l.LotFindings(context.Background(), d.p[ledger.RoleRegulator], lots[0])
	if err != nil || len(fs) != 1 || fs[0].ID != late.ID || fs[0].OverdueSeq != r.Seq || fs[0].OverdueAt == nil || !fs[0].OverdueAt.Equal(d.now) {
		t.Fatalf("overdue finding: %+v, %v", fs, err)
	}
	fs, _ = d.l.LotFindings(context.Background(), d.p[ledger.RoleRegulator], lots[1])
	if len(fs) != 1 || fs[0].OverdueSeq != 0 {
		t.Fatalf("acknowledged finding marked overdue: %+v", fs)
	}
	if r, err := d.l.SweepFindings(context.Background()); err != nil || r != nil {
		t.Fatalf("a finding was told overdue twice: %+v, %v", r, err)
	}
	// Only the ledger writes the record, and it cannot be voided.
	if _, err := d.l.Submit(context.Background(), d.p[ledger.RoleRegulator], ledger.Event{Kind: ledger.FindingsOverdue, At: d.now, Findings: []string{acked.ID}}, ""); err == nil {
		t.Fatal("a client wrote findings_overdue")
	}
	if _, err := d.l.Submit(context.Background(), d.p[ledger.RoleRegulator], ledger.Event{Kind: ledger.Voided, At: d.now, Voids: r.Seq, Reason: "x"}, ""); err == nil {
		t.Fatal("findings_overdue was voided")
	}
	d.verify()
}
