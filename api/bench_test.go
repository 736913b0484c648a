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
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/gin-gonic/gin"

	"coldtrace/api"
	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

// benchClients is the number of concurrent keep-alive clients of the ingest
// benchmark; benchPhase how long each measured phase runs.
const (
	benchClients = 64
	benchPhase   = 5 * time.Second
)

// loadResult is what one load phase measured.
type loadResult struct {
	n        int
	perSec   float64
	p50, p99 time.Duration
}

// runLoad sends requests from benchClients keep-alive clients for d and
// measures throughput and latency. next returns the i-th request's method,
// path and body; want is the expected status.
func runLoad(b *testing.B, base string, d time.Duration, key string, want int, next func(i int) (string, []byte)) loadResult {
	tr := &http.Transport{MaxIdleConnsPerHost: benchClients, MaxConnsPerHost: benchClients}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	var (
		counter atomic.Int64
		mu      sync.Mutex
		lats    []time.Duration
		wg      sync.WaitGroup
		failed  atomic.Value
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < benchClients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				i := int(counter.Add(1))
				path, body := next(i)
				req, _ := http.NewRequest("POST", base+path, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					failed.Store(err.Error())
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					failed.Store(fmt.Sprintf("status %d", resp.StatusCode))
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failed.Load(); f != nil {
		b.Fatalf("load failed: %v", f)
	}
	slices.Sort(lats)
	if len(lats) == 0 {
		b.Fatal("no request completed")
	}
	return loadResult{n: len(lats), perSec: float64(len(lats)) / elapsed.Seconds(),
		p50: lats[len(lats)*50/100], p99: lats[len(lats)*99/100]}
}

func serve(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go api.Serve(ctx, ln, h, time.Second)
	b.Cleanup(cancel)
	return "http://" + ln.Addr().String()
}

// noopCeiling measures a gin handler that decodes the JSON body and answers
// 201 with a small JSON: the most any JSON-over-HTTP ingest can reach here.
func noopCeiling(b *testing.B, body func(i int) []byte) loadResult {
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
	return runLoad(b, base, benchPhase, "x", 201, func(i int) (string, []byte) { return "/noop", body(i) })
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

// BenchmarkIngest measures durable ingest over REST (every 201 synced to disk
// and in the signed tree) next to the two ceilings, in the same run.
func BenchmarkIngest(b *testing.B) {
	dir := b.TempDir()
	key, err := ledger.LoadOrCreateKey(filepath.Join(dir, "log.key"), "bench.example/log")
	if err != nil {
		b.Fatal(err)
	}
	store, err := badgerkv.Open(filepath.Join(dir, "db"), badgerkv.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := ledger.New(store, key, ledger.Options{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Bootstrap(context.Background(), adminSecret); err != nil {
		b.Fatal(err)
	}
	base := serve(b, api.New(l, api.Options{Logger: quiet, RatePerSecond: -1}))
	body := func(i int) []byte {
		data, _ := json.Marshal(map[string]any{"uscc": testUSCC(i), "name": fmt.Sprintf("基准测试冷链贸易有限公司 %d", i),
			"roles": []string{"importer", "cold_store"}, "region": "330106"})
		return data
	}
	b.ResetTimer()
	noop := noopCeiling(b, body)
	ingest := runLoad(b, base, benchPhase, adminSecret, 201, func(i int) (string, []byte) { return "/v1/orgs", body(i) })
	rec, _ := l.Record(1)
	raw := badgerCeiling(b, len(rec))
	b.StopTimer()

	b.ReportMetric(ingest.perSec, "records/s")
	b.ReportMetric(float64(ingest.p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(ingest.p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(noop.perSec, "noop-req/s")
	b.ReportMetric(float64(noop.p99.Microseconds())/1000, "noop-p99-ms")
	b.ReportMetric(raw, "badger100-records/s")
	b.ReportMetric(ingest.perSec/noop.perSec, "ratio-to-noop")
	b.ReportMetric(ingest.perSec/raw, "ratio-to-badger")
	b.Logf("durable ingest: %.0f records/s (p50 %v, p99 %v) over %d clients; no-op gin: %.0f req/s (p99 %v); raw badger 100-record commits: %.0f records/s; ratio to no-op %.2f",
		ingest.perSec, ingest.p50, ingest.p99, benchClients, noop.perSec, noop.p99, raw, ingest.perSec/noop.perSec)
}
