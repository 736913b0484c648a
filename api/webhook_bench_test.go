package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// A findingWorld is a ledger behind its own server where 64 lots lie at a
// port yard in 330106, ready for temperature records; regulator is the
// secret of a regulator key for 33.
type findingWorld struct {
	l                 *ledger.Ledger
	base              string
	holder, regulator string
	lots              []string
	tempLog           string // the sha256 of a temperature log the holder uploaded

}

func newFindingWorld(b *testing.B) *findingWorld {
	l, quiet := benchLedger(b)
	ctx := context.Background()
	admin, _ := l.Authenticate(context.Background(), adminSecret)
	rec := fixtures.LedgerRecorder{L: l, Admin: admin}
	w := &findingWorld{l: l, base: serve(b, api.New(l, api.Options{Logger: quiet, RatePerSecond: -1}))}
	if err := rec.Org(ctx, fixtures.USCC("330106", 950), "importer", "330106", []string{ledger.RoleImporter}); err != nil {
		b.Fatal(err)
	}
	if err := rec.Site(ctx, "B-port", fixtures.USCC("330106", 950), "port", "port_yard", "330106", ""); err != nil {
		b.Fatal(err)
	}
	if err := rec.Org(ctx, fixtures.USCC("330106", 951), "regulator", "330106", []string{ledger.RoleRegulator}); err != nil {
		b.Fatal(err)
	}
	var err error
	if _, w.holder, err = rec.Key(ctx, fixtures.USCC("330106", 950), ledger.RoleImporter, nil); err != nil {
		b.Fatal(err)
	}
	if _, w.regulator, err = rec.Key(ctx, fixtures.USCC("330106", 951), ledger.RoleRegulator, []string{"33"}); err != nil {
		b.Fatal(err)
	}
	p, _ := l.Authenticate(context.Background(), w.holder)
	if w.tempLog, err = rec.Upload(ctx, fixtures.Actor{Principal: p}, "application/pdf", fixtures.PDF("temperature log")); err != nil {
		b.Fatal(err)
	}
	for n := range benchClients {
		r, err := l.Submit(ctx, p, ledger.Event{Kind: ledger.Declared, Site: "B-port", DeclarationNo: fmt.Sprintf("22482026200%07d", n),
			Product:    &ledger.Product{Name: "冷冻鸡翅", HSCode: "0207142200", Category: ledger.CategoryFrozen, OriginCountry: "BR"},
			Containers: []ledger.Container{{Number: fixtures.Container("BEW", n)}}, Quantity: &ledger.Quantity{Grams: 1_000_000}}, "")
		if err != nil {
			b.Fatal(err)
		}
		w.lots = append(w.lots, r.Lot)
	}
	return w
}

// temperatures returns a load of temperature records on the world's lots,
// one client per lot; every tenth is above the limit and opens a finding.
// committed, when not nil, is told each finding's commit (its 201).
func (w *findingWorld) temperatures(b *testing.B, committed func(seq int64, findings []ledger.Finding, at time.Time)) phase {
	c := keepAlive(b)
	var next atomic.Int64
	return func(d time.Duration) loadResult {
		return clients(b, d, func(until time.Time, record func(time.Duration)) error {
			lot := w.lots[int(next.Add(1))%len(w.lots)]
			for i := 0; time.Now().Before(until); i++ {
				maxC := -20.0
				if i%10 == 9 {
					maxC = -5
				}
				body, _ := json.Marshal(map[string]any{"kind": "temperature_recorded", "lot": lot, "min_c": -22, "max_c": maxC, "readings": 12,
					"attachments": []map[string]any{{"sha256": w.tempLog, "type": ledger.DocTemperatureLog}}})
				req, _ := http.NewRequest("POST", w.base+"/v1/events", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+w.holder)
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					return err
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				at := time.Now()
				if resp.StatusCode != 201 {
					return fmt.Errorf("temperature_recorded: %d %s", resp.StatusCode, data)
				}
				record(at.Sub(t0))
				if committed != nil && maxC > -18 {
					var r ledger.Receipt
					if err := json.Unmarshal(data, &r); err != nil {
						return err
					}
					committed(r.Seq, r.Findings, at)
				}
			}
			return nil
		})
	}
}

// BenchmarkWebhookDelivery measures, in one run, ingest of temperature
// records (one in ten opens a finding) on a ledger with no subscription and
// on one with 10 subscriptions of a regulator and the delivery worker of
// `coldtrace serve` (its default options) posting to a receiver on
// loopback, in turns; then the latency of each delivery from the commit
// (the 201 of the record that opened the finding) to the receiver's 2xx.
func BenchmarkWebhookDelivery(b *testing.B) {
	serveProcs(b)
	plain, watched := newFindingWorld(b), newFindingWorld(b)
	const subs = 10
	var (
		mu        sync.Mutex
		commitAt  = map[string]time.Time{} // "<seq>_<finding>" -> its 201
		arrivedAt = map[string][]time.Time{}
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		id := strings.TrimSuffix(strings.TrimPrefix(req.Header.Get("webhook-id"), "msg_"), "_opened")
		rw.WriteHeader(204)
		now := time.Now()
		mu.Lock()
		arrivedAt[id] = append(arrivedAt[id], now)
		mu.Unlock()
	}))
	b.Cleanup(rcv.Close)
	for i := range subs {
		body, _ := json.Marshal(map[string]any{"url": rcv.URL + "/hook/" + strconv.Itoa(i), "rules": []string{ledger.RuleTemperatureExcursion}})
		req, _ := http.NewRequest("POST", watched.base+"/v1/webhooks", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+watched.regulator)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			b.Fatalf("subscribe: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		api.NewDeliverer(watched.l, api.DelivererOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(ctx)
		close(done)
	}()
	b.Cleanup(func() { cancel(); <-done })

	b.ResetTimer()
	r := interleave(plain.temperatures(b, nil), watched.temperatures(b, func(seq int64, fs []ledger.Finding, at time.Time) {
		mu.Lock()
		for _, f := range fs {
			commitAt[strconv.FormatInt(seq, 10)+"_"+f.ID] = at
		}
		mu.Unlock()
	}))
	// Wait for the worker to deliver everything committed.
	var want int
	for end := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		got := 0
		mu.Lock()
		want = len(commitAt) * subs
		for _, ts := range arrivedAt {
			got += len(ts)
		}
		mu.Unlock()
		if got >= want {
			break
		}
		if time.Now().After(end) {
			b.Fatalf("%d of %d deliveries arrived within 2 minutes of the load", got, want)
		}
	}
	b.StopTimer()
	var lats []time.Duration
	for id, at := range commitAt {
		for _, t := range arrivedAt[id] {
			lats = append(lats, t.Sub(at))
		}
	}
	if len(lats) == 0 {
		b.Fatal("no delivery measured")
	}
	slices.Sort(lats)
	pct := func(p int) time.Duration { return lats[len(lats)*p/100] }
	without, with := r[0], r[1]
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(without.perSec(), "events/s-no-subs")
	b.ReportMetric(with.perSec(), "events/s-10-subs")
	b.ReportMetric(with.perSec()/without.perSec(), "ratio-10-subs-to-none")
	b.ReportMetric(ms(pct(50)), "delivery-p50-ms")
	b.ReportMetric(ms(pct(99)), "delivery-p99-ms")
	b.Logf("ingest (one in ten records opens a finding): %.0f events/s with no subscription, %.0f with %d (ratio %.2f); %d deliveries (%d findings × %d), commit to the receiver's 2xx: p50 %v, p99 %v, max %v; want %d",
		without.perSec(), with.perSec(), subs, with.perSec()/without.perSec(), len(lats), len(commitAt), subs, pct(50), pct(99), lats[len(lats)-1], want)
}
