package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/epcis"
)

// BenchmarkDeliveryPass measures the ledger's side of the delivery worker
// alone (no HTTP, no receiver): per op, 100 captured events (captured off
// the clock) are fanned out to 10 subscriptions and their 10 deliveries
// taken and reported delivered, as api.Deliverer does, pass after pass
// until none is due.
func BenchmarkDeliveryPass(b *testing.B) {
	ctx := context.Background()
	e := fixtures.OpenTestLedger(b, ledger.Options{})
	d, err := fixtures.LoadDemo(ctx, e.L, e.Admin)
	if err != nil {
		b.Fatal(err)
	}
	a, _ := d.Actor("sh-importer")
	imp := a.Principal
	if _, err := e.L.CreateNamedQuery(ctx, imp, "ships", json.RawMessage(`{"EQ_bizStep":"shipping"}`)); err != nil {
		b.Fatal(err)
	}
	for range 10 {
		if _, err := e.L.Subscribe(ctx, imp, "ships", ledger.SubscriptionRequest{Dest: "http://127.0.0.1:9/epcis", SignatureToken: "t", Stream: true}); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	delivered, n := 0, 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		evs := make([]string, 100)
		for j := range evs {
			n++
			evs[j] = fmt.Sprintf(`{"type":"ObjectEvent","eventID":"urn:uuid:00000000-0000-4000-8000-%012d","eventTime":"2026-01-01T00:00:00Z",`+
				`"eventTimeZoneOffset":"+08:00","action":"OBSERVE","epcList":["urn:epc:id:sgtin:0614141.107346.1"],"bizStep":"shipping"}`, n)
		}
		doc, err := epcis.Decode([]byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],` +
			`"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-01-01T00:00:00Z","epcisBody":{"eventList":[` +
			strings.Join(evs, ",") + `]}}`))
		if err != nil {
			b.Fatal(err)
		}
		lev := make([]ledger.Event, len(doc.Events))
		for j, ev := range doc.Events {
			lev[j] = ledger.NewEPCISEvent(ev, doc.Prefixes)
		}
		if _, err := e.L.CaptureAll(ctx, imp, lev); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for {
			tasks, err := e.L.DueEPCISDeliveries(ctx, now, 100)
			if err != nil {
				b.Fatal(err)
			}
			if len(tasks) == 0 {
				break
			}
			for _, t := range tasks {
				if err := e.L.DeliveryDone(ctx, t, ledger.Attempt{At: now, Status: 200}); err != nil {
					b.Fatal(err)
				}
				delivered++
			}
		}
	}
	if delivered != 10*b.N {
		b.Fatalf("%d deliveries, want %d", delivered, 10*b.N)
	}
	b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "deliveries/s")
}
