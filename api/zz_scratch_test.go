package api_test

import (
	"runtime"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"testing"
	"time"

	"coldtrace/api"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkScratchIngest(b *testing.B) {
	l, quiet := benchLedger(b)
	base := serve(b, api.New(l, api.Options{Logger: quiet, RatePerSecond: -1}))
	body := func(i int) []byte {
		data, _ := json.Marshal(map[string]any{"uscc": testUSCC(i), "name": fmt.Sprintf("基准测试冷链贸易有限公司 %d", i),
			"roles": []string{"importer", "cold_store"}, "region": "330106"})
		return data
	}
	c0, w0 := cpuNow(), time.Now()
	noop := noopCeiling(b, body)
	c1, w1 := cpuNow(), time.Now()
	if p := os.Getenv("PROF"); p != "" {
		f, _ := os.Create(p)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if p := os.Getenv("TRACE"); p != "" {
		f, _ := os.Create(p)
		go func() { time.Sleep(2 * time.Second); trace.Start(f); time.Sleep(300 * time.Millisecond); trace.Stop() }()
	}
	ingest := runLoad(b, base, benchPhase, adminSecret, 201, func(i int) (string, []byte) { return "/v1/orgs", body(i) })
	c2, w2 := cpuNow(), time.Now()
	ws := l.WriteStats()

	b.Logf("groups %d records %d (%.1f/group) syncs %d (%.1f groups/sync) commit %v/group sync %v/sync", ws.Groups, ws.Records, float64(ws.Records)/float64(ws.Groups), ws.Syncs, float64(ws.Groups)/float64(ws.Syncs), ws.CommitTime/time.Duration(ws.Groups), ws.SyncTime/time.Duration(ws.Syncs))
	b.Logf("noop %.0f/s p99 %v util %.2f cpu/req %v", noop.perSec, noop.p99, float64(c1-c0)/float64(w1.Sub(w0)), (c1-c0)/time.Duration(noop.n))
	b.Logf("ingest %.0f/s p50 %v p99 %v util %.2f cpu/req %v ratio %.2f", ingest.perSec, ingest.p50, ingest.p99, float64(c2-c1)/float64(w2.Sub(w1)), (c2-c1)/time.Duration(ingest.n), ingest.perSec/noop.perSec)
}

func TestScratchTraceMix(t *testing.T) {
	if os.Getenv("TRACE") == "" {
		t.Skip()
	}
	go func() {
		time.Sleep(9 * time.Second)
		f, _ := os.Create(os.Getenv("TRACE"))
		trace.Start(f)
		time.Sleep(400 * time.Millisecond)
		trace.Stop()
		f.Close()
	}()
	runtime.Gosched()
	testing.Benchmark(BenchmarkIngestMix)
}
