package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/gin-gonic/gin"

	"coldtrace/api"
	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// benchClients is the number of concurrent keep-alive clients of the ingest
// benchmarks; benchPhase how long each measured phase runs in all, and
// benchSlice how long one turn of an interleaved phase runs (see
// interleave).
const (
	benchClients = 64
	benchPhase   = 5 * time.Second
	benchSlice   = time.Second
)

// loadResult is what one load phase measured: every request's latency and
// the time the phase ran.
type loadResult struct {
	lats    []time.Duration // sorted once the phase is over
	elapsed time.Duration
	cpu     time.Duration // the process's CPU (user and system) during the phase
}

// cpuPer returns the process's CPU per completed request, in µs: the
// server's work and the in-process clients', steadier than a rate on a
// shared machine.
func (r loadResult) cpuPer() float64 { return float64(r.cpu.Microseconds()) / float64(len(r.lats)) }

// processCPU is the CPU time the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r loadResult) n() int { return len(r.lats) }

func (r loadResult) perSec() float64 { return float64(len(r.lats)) / r.elapsed.Seconds() }

// pct returns the p-th percentile latency.
func (r loadResult) pct(p int) time.Duration { return r.lats[len(r.lats)*p/100] }

// add merges o, another turn of the same phase, into r.
func (r *loadResult) add(o loadResult) {
	r.lats = append(r.lats, o.lats...)
	slices.Sort(r.lats)
	r.elapsed += o.elapsed
	r.cpu += o.cpu
}

// A phase is a load that runs for the duration it is given.
type phase func(d time.Duration) loadResult

// interleave runs the phases in turns of benchSlice, the order alternating
// from one round to the next, until each ran for benchPhase, and merges
// each phase's turns. These machines are shared: their speed drifts by a
// fifth within seconds, and a phase measured after another would see a
// different machine. Taking turns, every phase sees the same one, so their
// ratio measures the code and not the neighbours.
func interleave(phases ...phase) []loadResult {
	out := make([]loadResult, len(phases))
	for round := 0; round < int(benchPhase/benchSlice); round++ {
		for k := range phases {
			i := k
			if round%2 == 1 {
				i = len(phases) - 1 - k
			}
			out[i].add(phases[i](benchSlice))
		}
	}
	return out
}

// keepAlive returns an HTTP client that keeps benchClients connections
// open to one server, from one turn of a phase to the next.
func keepAlive(b *testing.B) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: benchClients, MaxConnsPerHost: benchClients}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// clients runs client in benchClients goroutines until d has passed and
// gathers the latencies they record; a client's error fails the benchmark.
func clients(b *testing.B, d time.Duration, client func(until time.Time, record func(time.Duration)) error) loadResult {
	var (
		mu     sync.Mutex
		lats   []time.Duration
		wg     sync.WaitGroup
		failed atomic.Value
	)
	until := time.Now().Add(d)
	start, cpu0 := time.Now(), processCPU()
	for w := 0; w < benchClients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			if err := client(until, func(l time.Duration) { mine = append(mine, l) }); err != nil {
				failed.Store(err.Error())
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	if f := failed.Load(); f != nil {
		b.Fatalf("load failed: %v", f)
	}
	if len(lats) == 0 {
		b.Fatal("no request completed")
	}
	slices.Sort(lats)
	return loadResult{lats: lats, elapsed: elapsed, cpu: cpu}
}

// runLoad sends requests from benchClients clients sharing c for d and
// measures throughput and latency. next returns the next request's path and
// body (it is called concurrently); want is the expected status.
func runLoad(b *testing.B, c *http.Client, base string, d time.Duration, key string, want int, next func() (string, []byte)) loadResult {
	return clients(b, d, func(until time.Time, record func(time.Duration)) error {
		for time.Now().Before(until) {
			path, body := next()
			req, _ := http.NewRequest("POST", base+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+key)
			t0 := time.Now()
			resp, err := c.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			record(time.Since(t0))
		}
		return nil
	})
}

func serve(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go api.Serve(ctx, ln, h, api.ServeOptions{Grace: time.Second})
	b.Cleanup(cancel)
	return "http://" + ln.Addr().String()
}

// noopCeiling returns the load on a gin handler that decodes the JSON body
// and answers 201 with a small JSON: the most any JSON-over-HTTP ingest can
// reach here.
func noopCeiling(b *testing.B, body func(i int) []byte) phase {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/noop", func(c *gin.Context) {
		var v map[string]any
		if err := json.NewDecoder(c.Request.Body).Decode(&v); err != nil {
			c.Status(400)
			return
		}
		c.JSON(201, gin.H{"seq": 1, "ok": true})
	})
	base := serve(b, r)
	c := keepAlive(b)
	var i atomic.Int64
	return func(d time.Duration) loadResult {
		return runLoad(b, c, base, d, "x", 201, func() (string, []byte) { return "/noop", body(int(i.Add(1))) })
	}
}

// badgerCeiling measures raw synced badger commits of 100 records each, with
// records the size of the ingest's.
func badgerCeiling(b *testing.B, recordSize int) float64 {
	db, err := badger.Open(badger.DefaultOptions(b.TempDir()).WithSyncWrites(true).WithLogger(nil).WithDetectConflicts(false))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	val := bytes.Repeat([]byte("x"), recordSize)
	n := 0
	start := time.Now()
	for time.Since(start) < benchPhase {
		err := db.Update(func(txn *badger.Txn) error {
			for i := 0; i < 100; i++ {
				if err := txn.Set([]byte(fmt.Sprintf("r/%012d", n+i)), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		n += 100
	}
	return float64(n) / time.Since(start).Seconds()
}

// benchLedger opens a ledger on badger in a temp dir, with a blob folder and
// the admin key, logging nowhere.
func benchLedger(b *testing.B) (*ledger.Ledger, *slog.Logger) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	return fixtures.OpenTestLedger(b, ledger.Options{Logger: quiet}).L, quiet
}

// reportWriteStats reports how the write path grouped the benchmark's
// records: records per commit group, groups per sync and the wall time of
// each (a group's commit time includes taking in what arrives while it is
// applied, and waiting for CPU under load).
func reportWriteStats(b *testing.B, l *ledger.Ledger) {
	ws := l.WriteStats()
	if ws.Groups == 0 || ws.Syncs == 0 {
		b.Fatal("the write path recorded no group")
	}
	b.ReportMetric(float64(ws.Records)/float64(ws.Groups), "records/group")
	b.ReportMetric(float64(ws.Groups)/float64(ws.Syncs), "groups/sync")
	b.ReportMetric(float64(ws.CommitTime.Microseconds())/float64(ws.Groups), "commit-µs/group")
	b.ReportMetric(float64(ws.SyncTime.Microseconds())/float64(ws.Syncs), "sync-µs")
}

// serveProcs runs the rest of the benchmark with as many Ps as `coldtrace
// serve` uses (twice the default, see cmd/coldtrace); the ceilings run with
// the same.
func serveProcs(b *testing.B) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	old := runtime.GOMAXPROCS(2 * runtime.GOMAXPROCS(0))
	b.Cleanup(func() { runtime.GOMAXPROCS(old) })
}

// BenchmarkIngest measures durable ingest over REST (every 201 synced to disk
// and in the signed tree) next to the two ceilings, in the same run.
func BenchmarkIngest(b *testing.B) {
	serveProcs(b)
	l, quiet := benchLedger(b)
	base := serve(b, api.New(l, api.Options{Logger: quiet, RatePerSecond: -1}))
	body := func(i int) []byte {
		data, _ := json.Marshal(map[string]any{"uscc": fixtures.USCC("330106", i), "name": fmt.Sprintf("基准测试冷链贸易有限公司 %d", i),
			"roles": []string{"importer", "cold_store"}, "region": "330106"})
		return data
	}
	c := keepAlive(b)
	var i atomic.Int64
	ingestLoad := func(d time.Duration) loadResult {
		return runLoad(b, c, base, d, adminSecret, 201, func() (string, []byte) { return "/v1/orgs", body(int(i.Add(1))) })
	}
	b.ResetTimer()
	r := interleave(noopCeiling(b, body), ingestLoad)
	noop, ingest := r[0], r[1]
	rec, _ := l.Record(context.Background(), 1)
	raw := badgerCeiling(b, len(rec))
	b.StopTimer()

	reportWriteStats(b, l)
	b.ReportMetric(ingest.perSec(), "records/s")
	b.ReportMetric(float64(ingest.pct(50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(ingest.pct(99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(noop.perSec(), "noop-req/s")
	b.ReportMetric(float64(noop.pct(99).Microseconds())/1000, "noop-p99-ms")
	b.ReportMetric(raw, "badger100-records/s")
	b.ReportMetric(ingest.perSec()/noop.perSec(), "ratio-to-noop")
	b.ReportMetric(ingest.perSec()/raw, "ratio-to-badger")
	b.Logf("durable ingest: %.0f records/s (p50 %v, p99 %v) over %d clients; no-op gin: %.0f req/s (p99 %v); raw badger 100-record commits: %.0f records/s; ratio to no-op %.2f; phases interleaved in turns of %v",
		ingest.perSec(), ingest.pct(50), ingest.pct(99), benchClients, noop.perSec(), noop.pct(99), raw, ingest.perSec()/noop.perSec(), benchSlice)
}

// BenchmarkIngestMix measures durable ingest of a realistic event mix: each
// of 64 clients runs lots through the clean path of policy version 1 —
// declaration with its papers at the port, shipment into the supervision
// warehouse and its receipt, a test there with its report, a disinfection
// piece by piece with its certificate, the release, a split shipment to a
// cold store, its receipt and a retail sale of the rest (nine records per
// lot, each depending on the one before) — next to the two ceilings of the
// same run.
func BenchmarkIngestMix(b *testing.B) {
	serveProcs(b)
	l, quiet := benchLedger(b)
	ctx := context.Background()
	admin, _ := l.Authenticate(context.Background(), adminSecret)
	rec := fixtures.LedgerRecorder{L: l, Admin: admin}
	secrets, orgs := map[string]string{}, map[string]string{}
	for i, role := range []string{ledger.RoleImporter, ledger.RoleLab, ledger.RoleDisinfector, ledger.RoleSupervisionWarehouse, ledger.RoleColdStore} {
		u := fixtures.USCC("330106", 900+i)
		if err := rec.Org(ctx, u, role, "330106", []string{role}); err != nil {
			b.Fatal(err)
		}
		typ := siteTypeOf(role)
		if role == ledger.RoleImporter {
			typ = "port_yard" // declared at the port
		}
		if err := rec.Site(ctx, "B-"+role, u, role, typ, "330106", ""); err != nil {
			b.Fatal(err)
		}
		_, secret, err := rec.Key(ctx, u, role, nil)
		if err != nil {
			b.Fatal(err)
		}
		secrets[role], orgs[role] = secret, u
	}
	// Each document once, by the org that issues it; every lot cites them.
	docs := map[string]string{}
	for doc, role := range map[string]string{ledger.DocQuarantineCertificate: ledger.RoleImporter, ledger.DocCustomsDeclaration: ledger.RoleImporter,
		ledger.DocTestReport: ledger.RoleLab, ledger.DocDisinfectionCertificate: ledger.RoleDisinfector, ledger.DocReleaseCertificate: ledger.RoleSupervisionWarehouse} {
		p, _ := l.Authenticate(context.Background(), secrets[role])
		sha, err := rec.Upload(ctx, fixtures.Actor{Principal: p}, "application/pdf", fixtures.PDF(doc))
		if err != nil {
			b.Fatal(err)
		}
		docs[doc] = sha
	}
	ref := func(types ...string) []map[string]any {
		var out []map[string]any
		for _, t := range types {
			out = append(out, map[string]any{"sha256": docs[t], "type": t})
		}
		return out
	}
	base := serve(b, api.New(l, api.Options{Logger: quiet, RatePerSecond: -1}))

	noop := noopCeiling(b, func(i int) []byte {
		return []byte(`{"kind":"tested","lot":"ABCD-EFGH-JKMN","samples":5,"scope":["goods","packaging"],"result":"negative"}`)
	})
	c := keepAlive(b)
	post := func(role string, ev map[string]any) (ledger.Receipt, time.Duration, error) {
		body, _ := json.Marshal(ev)
		req, _ := http.NewRequest("POST", base+"/v1/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+secrets[role])
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return ledger.Receipt{}, 0, err
		}
		defer resp.Body.Close()
		var r ledger.Receipt
		data, _ := io.ReadAll(resp.Body)
		d := time.Since(t0)
		if resp.StatusCode != 201 {
			return r, d, fmt.Errorf("%s: %d %s", ev["kind"], resp.StatusCode, data)
		}
		return r, d, json.Unmarshal(data, &r)
	}
	var lotNo atomic.Int64
	mix := func(d time.Duration) loadResult {
		return clients(b, d, func(until time.Time, record func(time.Duration)) error {
			var err error
			step := func(role string, ev map[string]any) ledger.Receipt {
				if err != nil {
					return ledger.Receipt{}
				}
				r, d, e := post(role, ev)
				record(d)
				err = e
				return r
			}
			for time.Now().Before(until) && err == nil {
				n := int(lotNo.Add(1))
				d := step(ledger.RoleImporter, map[string]any{"kind": "declared", "site": "B-importer", "declaration_no": fmt.Sprintf("22482026100%07d", n),
					"product":    map[string]any{"name": "冷冻去骨牛肉", "hs_code": "0202300090", "category": "frozen", "origin_country": "BR"},
					"containers": []map[string]any{{"number": fixtures.Container("BEN", n)}}, "quantity": map[string]any{"grams": 20_000_000},
					"attachments": ref(ledger.DocQuarantineCertificate, ledger.DocCustomsDeclaration)})
				lot := d.Lot
				step(ledger.RoleImporter, map[string]any{"kind": "shipped", "lot": lot, "to_org": orgs[ledger.RoleSupervisionWarehouse], "to_site": "B-supervision_warehouse",
					"quantity": map[string]any{"grams": 20_000_000}, "vehicle": map[string]any{"plate": "浙A12345"}, "temperature_c": -19})
				step(ledger.RoleSupervisionWarehouse, map[string]any{"kind": "received", "lot": lot, "site": "B-supervision_warehouse", "quantity": map[string]any{"grams": 20_000_000}, "temperature_c": -19})
				step(ledger.RoleLab, map[string]any{"kind": "tested", "lot": lot, "samples": 20, "scope": []string{"goods", "packaging"}, "result": "negative", "attachments": ref(ledger.DocTestReport)})
				step(ledger.RoleDisinfector, map[string]any{"kind": "disinfected", "lot": lot, "scope": []string{"outer_packaging", "each_piece"}, "agent": "过氧乙酸", "attachments": ref(ledger.DocDisinfectionCertificate)})
				step(ledger.RoleSupervisionWarehouse, map[string]any{"kind": "released", "lot": lot, "attachments": ref(ledger.DocReleaseCertificate)})
				s := step(ledger.RoleSupervisionWarehouse, map[string]any{"kind": "shipped", "lot": lot, "to_org": orgs[ledger.RoleColdStore], "to_site": "B-cold_store",
					"quantity": map[string]any{"grams": 8_000_000}, "vehicle": map[string]any{"plate": "浙A12345"}, "temperature_c": -19})
				if err != nil {
					break
				}
				if len(s.CreatedLots) == 0 {
					return fmt.Errorf("the shipment created no lot")
				}
				child := s.CreatedLots[0].ID
				step(ledger.RoleColdStore, map[string]any{"kind": "received", "lot": child, "site": "B-cold_store", "quantity": map[string]any{"grams": 8_000_000}, "temperature_c": -19})
				step(ledger.RoleSupervisionWarehouse, map[string]any{"kind": "sold", "lot": lot, "quantity": map[string]any{"grams": 12_000_000}, "channel": "retail"})
			}
			return err
		})
	}
	r := interleave(noop, mix)
	events := r[1]
	last, _ := l.Record(context.Background(), l.Size()-1)
	raw := badgerCeiling(b, len(last))
	perSec, p50, p99 := events.perSec(), events.pct(50), events.pct(99)
	reportWriteStats(b, l)
	b.ReportMetric(perSec, "events/s")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(r[0].perSec(), "noop-req/s")
	b.ReportMetric(raw, "badger100-records/s")
	b.ReportMetric(perSec/r[0].perSec(), "ratio-to-noop")
	b.ReportMetric(perSec/raw, "ratio-to-badger")
	b.Logf("durable ingest of the event mix: %.0f events/s (p50 %v, p99 %v, %d events) over %d clients; no-op gin: %.0f req/s; raw badger: %.0f records/s; ratio to no-op %.2f",
		perSec, p50, p99, events.n(), benchClients, r[0].perSec(), raw, perSec/r[0].perSec())
}
