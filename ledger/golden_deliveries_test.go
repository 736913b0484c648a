package ledger_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"testing"
	"time"

	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/epcis"
)

// deliveriesPath holds a data directory with pending webhook and EPCIS
// subscription deliveries (one tried and failed, the others never tried),
// written by the code before the delivery machinery moved to
// ledger/delivery (issue 11), with the tasks that code found due next and the
// delivery keys and values it left once they were delivered. It is a
// compatibility contract: deliveries pending before an upgrade are
// delivered after it, and the bytes they leave are the same.
const deliveriesPath = "testdata/golden-deliveries.json.gz"

var updateDeliveries = flag.Bool("update-deliveries", false, "rewrite "+deliveriesPath+" from the current code (only when the on-disk format changes on purpose)")

// deliveriesDir is the file at deliveriesPath.
type deliveriesDir struct {
	Key   string      `json:"key"`   // the note signing key text
	Pairs [][2][]byte `json:"pairs"` // the store, in key order, with deliveries pending
	Tasks []byte      `json:"tasks"` // the deliveries due at deliveriesDue, as golden JSON
	After [][2][]byte `json:"after"` // the delivery keys once each was delivered
}

// deliveriesDue is when the golden deliveries are asked for; the failed one
// is due again by then.
var (
	deliveriesAt  = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	deliveriesDue = deliveriesAt.Add(time.Minute)
)

// TestDeliveriesWrittenBefore opens the golden data directory, takes the
// deliveries due and delivers them: the tasks and the bytes left are the
// old code's.
func TestDeliveriesWrittenBefore(t *testing.T) {
	if *updateDeliveries {
		writeDeliveries(t)
	}
	var g deliveriesDir
	readGzipJSON(t, deliveriesPath, &g)
	store, blobs, key := openGolden(t, &goldenDir{Key: g.Key, Pairs: g.Pairs})
	l, err := ledger.New(store, key, ledger.Options{Blobs: blobs, SweepEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tasks, after := deliverAll(t, l, store)
	if !bytes.Equal(tasks, g.Tasks) {
		t.Errorf("due deliveries:\n got %s\nwant %s", tasks, g.Tasks)
	}
	if len(after) != len(g.After) {
		t.Errorf("%d delivery keys after, golden has %d", len(after), len(g.After))
	}
	for i := range min(len(after), len(g.After)) {
		if !bytes.Equal(after[i][0], g.After[i][0]) || !bytes.Equal(after[i][1], g.After[i][1]) {
			t.Errorf("delivery key %d:\n got %q = %s\nwant %q = %s", i, after[i][0], after[i][1], g.After[i][0], g.After[i][1])
		}
	}
}

// deliveryPrefixes are where webhook and subscription deliveries live.
var deliveryPrefixes = []string{"a/wh", "a/eps"}

// deliverAll takes the deliveries due at deliveriesDue, delivers each and
// returns the tasks as JSON and the delivery keys left.
func deliverAll(t *testing.T, l *ledger.Ledger, store ledger.Store) ([]byte, [][2][]byte) {
	t.Helper()
	ctx := t.Context()
	tasks, err := l.DueDeliveries(ctx, deliveriesDue, 100)
	if err != nil {
		t.Fatal(err)
	}
	subs, err := l.DueEPCISDeliveries(ctx, deliveriesDue, 100)
	if err != nil {
		t.Fatal(err)
	}
	tasks = append(tasks, subs...)
	if len(tasks) < 4 || len(subs) < 2 {
		t.Fatalf("%d deliveries due, %d of subscriptions: the golden data should hold more", len(tasks), len(subs))
	}
	type task struct {
		Delivery ledger.Delivery
		URL      string
		Secret   string
		Payload  []byte
		GS1      bool
	}
	var ts []task
	for _, x := range tasks {
		ts = append(ts, task{x.Delivery, x.URL, x.Secret, x.Payload, x.GS1})
		if err := l.DeliveryDone(ctx, x, ledger.Attempt{At: deliveriesDue, Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	js, err := json.Marshal(ts)
	if err != nil {
		t.Fatal(err)
	}
	return js, deliveryPairs(t, store)
}

func deliveryPairs(t *testing.T, store ledger.Store) (out [][2][]byte) {
	t.Helper()
	for _, pre := range deliveryPrefixes {
		out = append(out, storePairs(t, store, []byte(pre))...)
	}
	return out
}

// captureShipping captures a shipping event of eventID
// urn:uuid:00000000-0000-4000-8000-0000000000<id> as p.
func captureShipping(t *testing.T, l *ledger.Ledger, p ledger.Principal, id string) {
	t.Helper()
	doc, err := epcis.Decode([]byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],` +
		`"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-01-01T00:00:00Z","epcisBody":{"eventList":[` +
		`{"type":"ObjectEvent","eventID":"urn:uuid:00000000-0000-4000-8000-0000000000` + id + `","eventTime":"2026-01-01T00:00:00Z","eventTimeZoneOffset":"+08:00",` +
		`"action":"OBSERVE","epcList":["urn:epc:id:sgtin:0614141.107346.1"],"bizStep":"shipping"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.CaptureAll(t.Context(), p, []ledger.Event{ledger.NewEPCISEvent(doc.Events[0], doc.Prefixes)}); err != nil {
		t.Fatal(err)
	}
}

// writeDeliveries builds the demo ledger, a webhook and a subscription with
// deliveries pending, one of them failed once, with the current code and
// writes it to deliveriesPath.
func writeDeliveries(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	e := fixtures.OpenTestLedger(t, ledger.Options{})
	d, err := fixtures.LoadDemo(ctx, e.L, e.Admin)
	if err != nil {
		t.Fatal(err)
	}
	actor := func(name string) ledger.Principal {
		a, ok := d.Actor(name)
		if !ok {
			t.Fatalf("no demo actor %s", name)
		}
		return a.Principal
	}
	gd, imp := actor("gd-regulator"), actor("sh-importer")
	if _, err := e.L.CreateWebhook(ctx, gd, ledger.WebhookRequest{URL: "http://127.0.0.1:9/hook"}); err != nil {
		t.Fatal(err)
	}
	open := true
	fs, _, err := e.L.Findings(ctx, gd, ledger.FindingFilter{Open: &open})
	if err != nil || len(fs) < 2 {
		t.Fatalf("%d open findings in Guangdong: %v", len(fs), err)
	}
	for _, f := range fs[:2] {
		var ev ledger.Event
		if err := json.Unmarshal([]byte(`{"kind":"finding_acknowledged","finding":"`+f.ID+`"}`), &ev); err != nil {
			t.Fatal(err)
		}
		if _, err := e.L.Submit(ctx, gd, ev, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.L.CreateNamedQuery(ctx, imp, "ships", json.RawMessage(`{"EQ_bizStep":"shipping"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.L.Subscribe(ctx, imp, "ships", ledger.SubscriptionRequest{Dest: "http://127.0.0.1:9/epcis", SignatureToken: "t", Stream: true}); err != nil {
		t.Fatal(err)
	}
	captureShipping(t, e.L, imp, "d1")
	captureShipping(t, e.L, imp, "d2")
	// The first delivery of each kind fails once and is due again at
	// deliveriesAt+5s; the others wait untried.
	hooks, err := e.L.DueDeliveries(ctx, deliveriesAt, 100)
	if err != nil || len(hooks) < 2 {
		t.Fatalf("%d webhook deliveries: %v", len(hooks), err)
	}
	subs, err := e.L.DueEPCISDeliveries(ctx, deliveriesAt, 100)
	if err != nil || len(subs) < 1 {
		t.Fatalf("%d subscription deliveries: %v", len(subs), err)
	}
	next := deliveriesAt.Add(5 * time.Second)
	for _, x := range []ledger.DeliveryTask{hooks[0], subs[0]} {
		if err := e.L.DeliveryDone(ctx, x, ledger.Attempt{At: deliveriesAt, Status: 503, Error: "receiver answered 503", Next: &next}); err != nil {
			t.Fatal(err)
		}
	}
	// A third captured event waits for its fan-out.
	captureShipping(t, e.L, imp, "d3")
	g := deliveriesDir{Key: e.SigningKey, Pairs: storePairs(t, e.Store, nil)}
	g.Tasks, g.After = deliverAll(t, e.L, e.Store)
	writeGzipJSON(t, deliveriesPath, &g)
}
