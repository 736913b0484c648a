package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/vlog"
	"coldtrace/storage/badgerkv"
	"coldtrace/storage/fsblob"
)

// The verify benchmark's ledger: fixtures.Generate's mix of import
// batches (declarations, tests, moves, splits, processing, sales, findings)
// of verifyLots root lots, at least verifyMinRecords records, built once
// through the write path into testout/verifydata/<parameters>/.
const (
	verifyLots       = 3600
	verifySeed       = 17
	verifyVersion    = 1 // bump when fixtures.Generate changes its output
	verifyMinRecords = 100_000
)

// verifyDataDir returns the cached data directory of the verify benchmark,
// building it when it is missing, and its signing key.
func verifyDataDir(b *testing.B) (string, *vlog.Key) {
	root, err := filepath.Abs(filepath.Join("..", "..", "testout", "verifydata"))
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(root, fmt.Sprintf("lots%d-seed%d-v%d", verifyLots, verifySeed, verifyVersion))
	if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
		tmp := dir + ".building"
		os.RemoveAll(tmp)
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		b.Logf("building the verify benchmark's ledger in %s (once; later runs reuse it)", dir)
		skey, key, err := vlog.GenerateKey("verify.coldtrace.local/ledger")
		if err == nil {
			err = os.WriteFile(filepath.Join(tmp, "log.key"), []byte(skey+"\n"), 0o600)
		}
		if err != nil {
			b.Fatal(err)
		}
		store, err := badgerkv.Open(filepath.Join(tmp, "db"), badgerkv.Options{})
		if err != nil {
			b.Fatal(err)
		}
		l, err := ledger.New(store, key, ledger.Options{Blobs: fsblob.New(filepath.Join(tmp, "blobs")), SweepEvery: -1})
		if err == nil {
			_, err = l.Bootstrap(context.Background(), adminKey)
		}
		var admin ledger.Principal
		if err == nil {
			admin, err = l.Authenticate(context.Background(), adminKey)
		}
		var g *fixtures.Generated
		if err == nil {
			g, err = fixtures.Generate(context.Background(), l, admin, fixtures.Options{Lots: verifyLots, Seed: verifySeed})
		}
		l.Close()
		store.Close()
		if err != nil {
			b.Fatal(err)
		}
		info, _ := json.Marshal(map[string]any{"records": g.Records, "build_secs": int(time.Since(start).Seconds())})
		if err := os.WriteFile(filepath.Join(tmp, "done"), info, 0o644); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(dir)
		if err := os.Rename(tmp, dir); err != nil {
			b.Fatal(err)
		}
		b.Logf("built %d records in %s", g.Records, time.Since(start).Round(time.Second))
	}
	key, err := readBenchKey(dir)
	if err != nil {
		b.Fatal(err)
	}
	return dir, key
}

// BenchmarkVerify measures verify on a ledger of at least 100,000 records:
// the log alone (ledger.VerifyLog, `coldtrace verify --log-only`) on every
// core and on one, and the derived state (replay and comparison, the part
// of ledger.Verify after the log), each in records/s, next to a plain read
// of every record, the ceiling of any check of them, in the same run.
func BenchmarkVerify(b *testing.B) {
	dir, key := verifyDataDir(b)
	store, err := badgerkv.Open(filepath.Join(dir, "db"), badgerkv.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx := context.Background()
	b.ResetTimer()

	start := time.Now()
	var size, byteCount int64
	if err := store.View(ctx, func(tx ledger.Tx) error {
		return vlog.ScanRecords(tx, 0, func(_ int64, v []byte) error { size++; byteCount += int64(len(v)); return nil })
	}); err != nil {
		b.Fatal(err)
	}
	read := float64(size) / time.Since(start).Seconds()
	if size < verifyMinRecords {
		b.Fatalf("the benchmark ledger has %d records, fewer than %d", size, verifyMinRecords)
	}

	opts := &ledger.VerifyOptions{Decode: gojson.Unmarshal} // as `coldtrace verify`
	logRate := func() (perSec, perCPUSec float64) {
		cpu := cpuTime()
		rep, err := ledger.VerifyLog(ctx, store, key.Verifier, opts)
		if err != nil {
			b.Fatal(err)
		}
		return float64(rep.Size) / rep.LogTime.Seconds(), float64(rep.Size) / (cpuTime() - cpu).Seconds()
	}
	all, logCPU := logRate()
	old := runtime.GOMAXPROCS(1)
	one, _ := logRate()
	runtime.GOMAXPROCS(old)

	scratch, err := badgerkv.Open("", badgerkv.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer scratch.Close()
	cpu := cpuTime()
	rep, err := ledger.Verify(ctx, store, scratch, key.Verifier, opts)
	if err != nil {
		b.Fatal(err)
	}
	fullCPU := cpuTime() - cpu
	b.StopTimer()
	state := float64(rep.Size) / rep.StateTime.Seconds()
	b.ReportMetric(float64(size), "records")
	b.ReportMetric(float64(byteCount)/float64(size), "bytes/record")
	b.ReportMetric(read, "read-records/s")
	b.ReportMetric(all, "log-records/s")
	b.ReportMetric(one, "log-1core-records/s")
	b.ReportMetric(state, "state-records/s")
	b.ReportMetric(logCPU, "log-records/cpu-s")
	b.ReportMetric(float64(rep.Size)/fullCPU.Seconds(), "verify-records/cpu-s")
	b.ReportMetric(all/one, "log-speedup")
	b.ReportMetric(all/read, "log-ratio-to-read")
	b.Logf("verify of %d records on %d cores: the log %.0f records/s (one core %.0f, x%.2f; %.0f records per CPU second; a plain read %.0f records/s), the derived state %.0f records/s (%d state entries; all of verify %.0f records per CPU second)",
		size, runtime.GOMAXPROCS(0), all, one, all/one, logCPU, read, state, rep.StateKeys, float64(rep.Size)/fullCPU.Seconds())
}

// cpuTime is the CPU time this process has used, user and system: on a
// shared machine a rate per CPU second says what the code costs, a rate per
// second also what the neighbours left it.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVerifyLog measures the log check alone (ledger.VerifyLog, as
// `coldtrace verify --log-only` runs it) on the verify benchmark's ledger,
// b.N times, in records/s and records per CPU second; for a profile of the
// log check without the replay.
func BenchmarkVerifyLog(b *testing.B) {
	dir, key := verifyDataDir(b)
	store, err := badgerkv.Open(filepath.Join(dir, "db"), badgerkv.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	opts := &ledger.VerifyOptions{Decode: gojson.Unmarshal}
	b.ResetTimer()
	var records int64
	var wall time.Duration
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		rep, err := ledger.VerifyLog(context.Background(), store, key.Verifier, opts)
		if err != nil {
			b.Fatal(err)
		}
		records += rep.Size
		wall += rep.LogTime
	}
	cpu = cpuTime() - cpu
	b.ReportMetric(float64(records)/wall.Seconds(), "records/s")
	b.ReportMetric(float64(records)/cpu.Seconds(), "records/cpu-s")
}
