package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// soakDuration is how long BenchmarkSoak holds the load: 10 minutes, or
// COLDTRACE_SOAK (a Go duration) to try the benchmark in less.
func soakDuration(b *testing.B) time.Duration {
	if v := os.Getenv("COLDTRACE_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("COLDTRACE_SOAK=%q: %v", v, err)
		}
		return d
	}
	return 10 * time.Minute
}

// BenchmarkSoak runs the real server process and measures, first, the rate
// of a 10-second burst of mixed ingest from 32 clients as fast as they can
// (half register orgs, a quarter send batches of four events, a quarter
// upload small attachments); then it holds half that rate for 10 minutes,
// sampling the server's resident memory (VmRSS in /proc) every 10 s. It
// reports the burst and achieved rates, RSS at the start, its maximum and
// at the end, and the count of requests that failed (any status but the
// expected 201/200, a failed line in a batch, or a broken connection). It
// fails when a request failed or the server died.
func BenchmarkSoak(b *testing.B) {
	if testing.Short() {
		b.Skip("soak benchmark in -short mode")
	}
	dir := b.TempDir()
	s := startServer(b, dir)
	disinfector := setupDisinfector(b, s)
	tr := &http.Transport{MaxIdleConnsPerHost: 48, MaxConnsPerHost: 48}
	defer tr.CloseIdleConnections()
	sk := &soak{url: s.URL, disinfector: disinfector, c: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	pid := s.cmd.Process.Pid

	burstOps := sk.run(32, 10*time.Second, nil)
	burst := float64(burstOps) / 10
	b.Logf("burst: %.0f requests/s (%d errors)", burst, sk.errors.Load())
	burstErrors := sk.errors.Swap(0)

	d := soakDuration(b)
	lim := rate.NewLimiter(rate.Limit(burst/2), 1)
	var (
		rss   []int64     // KiB, one sample every 10 s
		parts []memSample // the same samples by kind, and the budget's parts from /metrics
		done  = make(chan struct{})
		wg    sync.WaitGroup
		start = time.Now()
	)
	sample := func() {
		rss = append(rss, procKiB(pid, "VmRSS"))
		parts = append(parts, takeMemSample(sk.c, s.URL, pid))
	}
	sample()
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	b.ResetTimer()
	ops := sk.run(32, d, lim)
	elapsed := time.Since(start)
	b.StopTimer()
	close(done)
	wg.Wait()
	sample()
	select {
	case <-s.exited:
		b.Fatalf("the server died during the soak: %s", s.stderr)
	default:
	}
	maxRSS := rss[0]
	for _, r := range rss {
		maxRSS = max(maxRSS, r)
	}
	achieved := float64(ops) / elapsed.Seconds()
	errs := sk.errors.Load()
	b.ReportMetric(burst, "burst_req/s")
	b.ReportMetric(achieved, "soak_req/s")
	b.ReportMetric(burst/2, "soak_target_req/s")
	b.ReportMetric(float64(sk.records.Load())/elapsed.Seconds(), "soak_records/s")
	b.ReportMetric(float64(rss[0])/1024, "rss_start_MiB")
	b.ReportMetric(float64(maxRSS)/1024, "rss_max_MiB")
	b.ReportMetric(float64(rss[len(rss)-1])/1024, "rss_end_MiB")
	b.ReportMetric(float64(errs+burstErrors), "errors")
	series := make([]string, len(rss))
	for i, r := range rss {
		series[i] = strconv.FormatInt(r>>10, 10)
	}
	b.Logf("RSS every 10 s, MiB: %s", strings.Join(series, " "))
	logMemSamples(b, parts)
	b.Logf("soak %v at %.0f requests/s (target %.0f, half the burst): %d requests, %d records, %d errors; RSS start %d MiB, max %d MiB, end %d MiB",
		elapsed.Round(time.Second), achieved, burst/2, ops, sk.records.Load(), errs, rss[0]>>10, maxRSS>>10, rss[len(rss)-1]>>10)
	if errs+burstErrors > 0 {
		b.Fatalf("%d requests failed; the first: %s", errs+burstErrors, sk.firstError.Load())
	}
}

// A soak sends the mixed ingest of BenchmarkSoak and counts what happened.
type soak struct {
	url, disinfector string
	c                *http.Client
	next             atomic.Int64
	ops, records     atomic.Int64
	errors           atomic.Int64
	firstError       atomic.Value // string
}

// run sends requests from n clients for d, each waiting for lim when it is
// set, and returns how many it sent.
func (sk *soak) run(n int, d time.Duration, lim *rate.Limiter) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	before := sk.ops.Load()
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if lim != nil && lim.Wait(ctx) != nil {
					return
				}
				sk.one(int(sk.next.Add(1)))
				sk.ops.Add(1)
			}
		}()
	}
	wg.Wait()
	return sk.ops.Load() - before
}

// one sends the i-th request of the mix.
func (sk *soak) one(i int) {
	switch i % 4 {
	case 0, 1:
		b, _ := json.Marshal(orgBody(40+i/10_000_000, i%10_000_000))
		if sk.post("/v1/orgs", adminKey, "application/json", b, http.StatusCreated, nil) {
			sk.records.Add(1)
		}
	case 2:
		var lines []string
		for j := 0; j < 4; j++ {
			lines = append(lines, fmt.Sprintf(`{"kind":"site_disinfected","site":"CRASH-1","agent":"chlorine %d-%d"}`, i, j))
		}
		var out []byte
		if !sk.post("/v1/events/batch", sk.disinfector, "application/x-ndjson", []byte(strings.Join(lines, "\n")), http.StatusOK, &out) {
			return
		}
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			var r struct {
				Status int `json:"status"`
			}
			json.Unmarshal(line, &r)
			if r.Status != 0 {
				sk.fail(fmt.Sprintf("batch line: %s", line))
				continue
			}
			sk.records.Add(1)
		}
	case 3:
		content := fmt.Appendf(nil, "time,temperature_c\n2026-11-01T00:00:00Z,-18.%d\n", i)
		sk.post("/v1/attachments", adminKey, "text/csv", content, http.StatusCreated, nil)
	}
}

// post sends a body and reports whether the answer had status want; any
// other answer is counted as an error. The body is kept in out when set.
func (sk *soak) post(path, key, ct string, body []byte, want int, out *[]byte) bool {
	req, _ := http.NewRequest("POST", sk.url+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", ct)
	resp, err := sk.c.Do(req)
	if err != nil {
		sk.fail(fmt.Sprintf("POST %s: %v", path, err))
		return false
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != want {
		sk.fail(fmt.Sprintf("POST %s: %d %s %v", path, resp.StatusCode, data, err))
		return false
	}
	if out != nil {
		*out = data
	}
	return true
}

func (sk *soak) fail(msg string) {
	sk.errors.Add(1)
	sk.firstError.CompareAndSwap(nil, msg)
}
