package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"coldtrace/api"
	"coldtrace/fixtures"
)

// BenchmarkEPCISSubscription measures, in one run, the capture of
// 100-event EPCIS documents on a ledger with no subscription and on one
// with 10 stream subscriptions to a named query selecting every event and
// the delivery worker of `coldtrace serve` (default options) posting to a
// receiver on loopback, in turns; then the latency of each event's
// delivery from its document's 202 to the receiver's 2xx.
func BenchmarkEPCISSubscription(b *testing.B) {
	serveProcs(b)
	type world struct {
		base, key string
		l         interface{ Size() int64 }
	}
	open := func() (world, *api.Deliverer) {
		l, quiet := benchLedger(b)
		admin, _ := l.Authenticate(context.Background(), adminSecret)
		demo, err := fixtures.LoadDemo(context.Background(), l, admin)
		if err != nil {
			b.Fatal(err)
		}
		imp, _ := demo.Actor("sh-importer")
		return world{base: serve(b, api.New(l, api.Options{Logger: quiet, RatePerSecond: -1})), key: imp.Secret, l: l},
			api.NewDeliverer(l, api.DelivererOptions{Logger: quiet})
	}
	plain, _ := open()
	watched, deliverer := open()
	const subs, perDoc = 10, 100
	var (
		mu        sync.Mutex
		acceptAt  = map[int64]time.Time{} // document number -> its 202
		arrivedAt = map[int64][]time.Time{}
		arrived   int
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		var doc struct {
			EPCISBody struct {
				QueryResults struct {
					ResultsBody struct{ EventList []struct{ EventID string } }
				}
			}
		}
		json.NewDecoder(req.Body).Decode(&doc)
		rw.WriteHeader(204)
		now := time.Now()
		mu.Lock()
		for _, e := range doc.EPCISBody.QueryResults.ResultsBody.EventList {
			n, _ := strconv.ParseInt(e.EventID[len(e.EventID)-12:], 10, 64)
			arrivedAt[n/perDoc] = append(arrivedAt[n/perDoc], now)
			arrived++
		}
		mu.Unlock()
	}))
	b.Cleanup(rcv.Close)
	do := func(w world, method, path string, body any) {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, w.base+path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+w.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			b.Fatalf("%s %s: %v %v", method, path, resp, err)
		}
		resp.Body.Close()
	}
	do(watched, "POST", "/epcis/queries", map[string]any{"name": "all", "query": map[string]any{}})
	for i := range subs {
		do(watched, "POST", "/epcis/queries/all/subscriptions", map[string]any{"dest": rcv.URL + "/s/" + strconv.Itoa(i), "signatureToken": "t", "stream": true})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { deliverer.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })

	var docNo atomic.Int64
	capture := func(w world, accepted func(doc int64, at time.Time)) phase {
		c := keepAlive(b)
		return func(d time.Duration) loadResult {
			return clients(b, d, func(until time.Time, record func(time.Duration)) error {
				for time.Now().Before(until) {
					n := docNo.Add(1)
					events := make([]string, perDoc)
					for i := range events {
						events[i] = objectEvent(fmt.Sprintf("00000000-0000-4000-8000-%012d", n*perDoc+int64(i)), "shipping", "urn:epc:id:sgtin:0614141.107346.1")
					}
					req, _ := http.NewRequest("POST", w.base+"/epcis/capture", bytes.NewReader(epcisDoc(events...)))
					req.Header.Set("Content-Type", "application/ld+json")
					req.Header.Set("Authorization", "Bearer "+w.key)
					t0 := time.Now()
					resp, err := c.Do(req)
					if err != nil {
						return err
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					at := time.Now()
					if resp.StatusCode != 202 {
						return fmt.Errorf("capture: %d", resp.StatusCode)
					}
					record(at.Sub(t0))
					if accepted != nil {
						accepted(n, at)
					}
				}
				return nil
			})
		}
	}
	b.ResetTimer()
	r := interleave(capture(plain, nil), capture(watched, func(n int64, at time.Time) {
		mu.Lock()
		acceptAt[n] = at
		mu.Unlock()
	}))
	var want int
	for end := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		want = len(acceptAt) * perDoc * subs
		got := arrived
		mu.Unlock()
		if got >= want {
			break
		}
		if time.Now().After(end) {
			b.Fatalf("%d of %d event deliveries arrived within 3 minutes of the load", got, want)
		}
	}
	b.StopTimer()
	var lats []time.Duration
	for n, at := range acceptAt {
		for _, t := range arrivedAt[n] {
			lats = append(lats, t.Sub(at))
		}
	}
	slices.Sort(lats)
	pct := func(p int) time.Duration { return lats[len(lats)*p/100] }
	without, with := r[0].perSec()*perDoc, r[1].perSec()*perDoc
	b.ReportMetric(without, "events/s-without")
	b.ReportMetric(with, "events/s-with-10-subscriptions")
	b.ReportMetric(with/without, "ratio")
	b.ReportMetric(float64(pct(50).Milliseconds()), "delivery-p50-ms")
	b.ReportMetric(float64(pct(99).Milliseconds()), "delivery-p99-ms")
	b.Logf("capture of 100-event documents: %.0f events/s without subscriptions, %.0f with 10 (ratio %.2f); %d event deliveries, 202 to receiver p50 %v p99 %v",
		without, with, with/without, len(lats), pct(50), pct(99))
}
