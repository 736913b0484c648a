package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// BenchmarkWriteTested measures the write path alone (no HTTP) on the
// event the ingest benchmarks send: 64 goroutines submit a lab's negative
// `tested` event on one of 64 lots for two seconds, each returning once its
// group is durable. It reports events/s and, beside them, org
// registrations/s (BenchmarkSequencer's cheapest record) measured in the
// same run: the ratio is what a domain event costs over a registry record.
func BenchmarkWriteTested(b *testing.B) {
	e := fixtures.OpenTestLedger(b, ledger.Options{})
	lp, lots := labAndLots(b, e, 950, 64)
	b.ResetTimer()
	tested, testedCPU := load(b, e.L, func(i int) (ledger.Principal, ledger.Event) {
		return lp, ledger.Event{Kind: ledger.Tested, Lot: lots[i%len(lots)], Samples: 20, Scope: []string{"goods", "packaging"}, Result: "negative"}
	})
	orgs, orgsCPU := load(b, e.L, func(i int) (ledger.Principal, ledger.Event) {
		return e.Admin, ledger.Event{Kind: ledger.OrgRegistered, USCC: fixtures.USCC("330107", i), Name: "基准测试冷链贸易有限公司",
			Roles: []string{ledger.RoleImporter}, Region: "330106"}
	})
	b.StopTimer()
	b.ReportMetric(tested, "tested/s")
	b.ReportMetric(orgs, "orgs/s")
	b.ReportMetric(tested/orgs, "ratio-to-orgs")
	b.ReportMetric(testedCPU, "cpu-µs/tested")
	b.ReportMetric(orgsCPU, "cpu-µs/org")
	b.ReportMetric(testedCPU/orgsCPU, "cpu-ratio-to-org")
}

// load runs 64 goroutines submitting ev(i) for two seconds and returns the
// records per second and the CPU time the process spent per record (user
// and system: on a shared machine it drifts less than the rate).
func load(b *testing.B, l *ledger.Ledger, ev func(i int) (ledger.Principal, ledger.Event)) (perSec, cpuMicros float64) {
	cpu0 := cpuTime()
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(2 * time.Second)
	start := time.Now()
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				p, e := ev(int(n.Add(1)))
				if _, err := l.Submit(context.Background(), p, e, ""); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	done := float64(n.Load())
	return done / time.Since(start).Seconds(), float64((cpuTime() - cpu0).Microseconds()) / done
}

// cpuTime is the CPU time the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// labAndLots registers an importer and a lab (USCCs serial and serial+1
// in 330106), a port yard and a key of each, declares n lots of 20 t at
// the port as the importer and returns the lab's key and the lots, for
// the benchmarks' tests. Each serial makes its own site, declarations and
// containers.
func labAndLots(b *testing.B, e *fixtures.TestLedger, serial, n int) (lab ledger.Principal, lots []string) {
	b.Helper()
	ctx := context.Background()
	rec := fixtures.LedgerRecorder{L: e.L, Admin: e.Admin}
	imp, lb := fixtures.USCC("330106", serial), fixtures.USCC("330106", serial+1)
	site := fmt.Sprintf("P%d-PORT", serial)
	if err := rec.Org(ctx, imp, "基准进口商", "330106", []string{ledger.RoleImporter}); err != nil {
		b.Fatal(err)
	}
	if err := rec.Site(ctx, site, imp, "港口堆场", "port_yard", "330106", ""); err != nil {
		b.Fatal(err)
	}
	if err := rec.Org(ctx, lb, "基准检测实验室", "330106", []string{ledger.RoleLab}); err != nil {
		b.Fatal(err)
	}
	importer, _, err := rec.Key(ctx, imp, ledger.RoleImporter, nil)
	if err != nil {
		b.Fatal(err)
	}
	lab, _, err = rec.Key(ctx, lb, ledger.RoleLab, nil)
	if err != nil {
		b.Fatal(err)
	}
	lots = make([]string, n)
	for i := range lots {
		r, err := e.L.Submit(ctx, importer, ledger.Event{Kind: ledger.Declared, Site: site, DeclarationNo: fixtures.DeclarationNo("2248", 2026, 700_000+serial*1000+i),
			Product:    &ledger.Product{Name: "冷冻去骨牛肉", HSCode: "0202300090", Category: ledger.CategoryFrozen, OriginCountry: "BR"},
			Containers: []ledger.Container{{Number: fixtures.Container("BSI", serial*1000+i)}}, Quantity: &ledger.Quantity{Grams: 20_000_000}}, "")
		if err != nil {
			b.Fatal(err)
		}
		lots[i] = r.Lot
	}
	return lab, lots
}
