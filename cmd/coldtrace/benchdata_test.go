package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/vlog"
	"coldtrace/storage/badgerkv"
	"coldtrace/storage/fsblob"
)

// The benchmark ledger: at least a million records, built once through the
// ledger's own write path (SubmitBatch, group commits, every rule of policy
// version 1) and kept under testout/benchdata/<parameters>/ (gitignored),
// so that later runs of make bench reuse it. It holds:
//
//   - one batch whose family is exactly 1,000 lots (9 x 10 x 10 splits down
//     to markets in four provinces), the downstream trace and recall of the
//     benchmark (built first, so that a rule it breaks shows in seconds);
//   - benchRoots import batches declared in Shanghai (region prefix 31),
//     eleven records each (buildRoots): declaration, test, disinfection, to
//     the supervision warehouse, receipt, test, release, a partial shipment
//     to a market, its receipt and sale, the rest sold from the warehouse.
//     Some keep stock, some are never received, some skip the disinfection
//     (a 四不 finding) and stay in the warehouse unreleased;
//   - with COLDTRACE_BENCH_RECORDS (e.g. 10M), as many more batches of the
//     same shape as reach that size, declared in four other provinces, so
//     that region 31's closure report still covers 100,000 batches. The
//     cache directory's name then carries the size asked for, and
//     COLDTRACE_BENCH_BUILD_LIMIT (a duration) may stop the build early:
//     bench.json then says how far it got.
const (
	benchRoots   = 100_000
	benchSeed    = 20261125
	benchVersion = 5 // bump when the shape below changes
	benchAdmin   = "bench-admin-key-0123456789abcdef"
)

// benchInfo is what the builder records about the ledger it built.
type benchInfo struct {
	Records   int64  `json:"records"`
	Roots     int    `json:"roots"`
	BigRoot   string `json:"big_root"`   // lot id of the 1,000-lot family's root
	BigCode   string `json:"big_code"`   // its trace code
	BigLots   int    `json:"big_lots"`   // lots of its family
	Region    string `json:"region"`     // region prefix of the report
	BuildSecs int64  `json:"build_secs"` // how long the build took
	Shanghai  int    `json:"shanghai"`   // batches of region 31 (besides the family)
	Stopped   bool   `json:"stopped"`    // COLDTRACE_BENCH_BUILD_LIMIT stopped the build short of its size
}

// benchDataDir returns the cached benchmark data directory, building it
// when it is missing.
func benchDataDir(tb testing.TB) (string, benchInfo) {
	tb.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", "testout", "benchdata"))
	if err != nil {
		tb.Fatal(err)
	}
	extra, err := benchExtraRoots()
	if err != nil {
		tb.Fatal(err)
	}
	name := fmt.Sprintf("roots%d-seed%d-v%d", benchRoots, benchSeed, benchVersion)
	if extra > 0 {
		name = fmt.Sprintf("records%s-roots%d+%d-seed%d-v%d", os.Getenv(benchRecordsEnv), benchRoots, extra, benchSeed, benchVersion)
	}
	dir := filepath.Join(root, name)
	var info benchInfo
	if data, err := os.ReadFile(filepath.Join(dir, "bench.json")); err == nil {
		if err := json.Unmarshal(data, &info); err != nil {
			tb.Fatal(err)
		}
		return dir, info
	}
	tmp := dir + ".building"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	tb.Logf("building the benchmark ledger in %s (once; later runs reuse it)", dir)
	info = buildBenchLedger(tb, tmp, extra)
	info.BuildSecs = int64(time.Since(start).Seconds())
	data, _ := json.MarshalIndent(info, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "bench.json"), data, 0o644); err != nil {
		tb.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("built %d records in %ds", info.Records, info.BuildSecs)
	// Leave the build's garbage behind before anything is measured.
	runtime.GC()
	debug.FreeOSMemory()
	return dir, info
}

type benchMember struct {
	p    ledger.Principal
	site string
}

func buildBenchLedger(tb testing.TB, dir string, extra int) benchInfo {
	ctx := context.Background()
	skey, key, err := vlog.GenerateKey("bench.coldtrace.local/ledger")
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "log.key"), []byte(skey+"\n"), 0o600)
	}
	if err != nil {
		tb.Fatal(err)
	}
	store, err := badgerkv.Open(filepath.Join(dir, "db"), badgerkv.Options{Bulk: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer store.Close()
	l, err := ledger.New(store, key, ledger.Options{Blobs: fsblob.New(filepath.Join(dir, "blobs")), SweepEvery: -1, MaxBatch: 512})
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Bootstrap(ctx, benchAdmin); err != nil {
		tb.Fatal(err)
	}
	admin, err := l.Authenticate(context.Background(), benchAdmin)
	if err != nil {
		tb.Fatal(err)
	}
	rec := fixtures.LedgerRecorder{L: l, Admin: admin}
	// Progress on stderr every 30 s: a large build takes minutes.
	t0, done := time.Now(), make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(30 * time.Second):
				n := l.Size()
				fmt.Fprintf(os.Stderr, "bench ledger: %d records in %v (%.0f records/s)\n", n, time.Since(t0).Round(time.Second), float64(n)/time.Since(t0).Seconds())
			}
		}
	}()
	r := rand.New(rand.NewPCG(benchSeed, benchSeed>>1))
	serial := 500000
	member := func(name, role, siteType, region string) benchMember {
		serial++
		uscc := fixtures.USCC(region, serial)
		full := fmt.Sprintf("%s%d有限公司", name, serial%10000)
		if err := rec.Org(ctx, uscc, full, region, []string{role}); err != nil {
			tb.Fatal(err)
		}
		m := benchMember{}
		if siteType != "" {
			m.site = fmt.Sprintf("B-%s-%d", siteType, serial)
			if err := rec.Site(ctx, m.site, uscc, full+"场所", siteType, region, ""); err != nil {
				tb.Fatal(err)
			}
		}
		if m.p, _, err = rec.Key(ctx, uscc, role, nil); err != nil {
			tb.Fatal(err)
		}
		return m
	}
	upload := func(m benchMember, doc string) []ledger.AttachmentRef {
		sha, err := rec.Upload(ctx, fixtures.Actor{Principal: m.p}, ledger.TypePDF, fixtures.PDF(doc, m.p.Org))
		if err != nil {
			tb.Fatal(err)
		}
		return []ledger.AttachmentRef{{SHA256: sha, Type: doc}}
	}
	// cast registers a region's port yard, 20 importers, 2 supervision
	// warehouses, 200 markets, a lab and a disinfector, and their
	// certificates.
	cast := func(reg benchRegion) *benchCast {
		c := &benchCast{benchRegion: reg, quarantine: map[string][]ledger.AttachmentRef{}, release: map[string][]ledger.AttachmentRef{}}
		d := reg.districts
		c.port = member(reg.port, ledger.RoleColdStore, "port_yard", d[0])
		for i := 0; i < 20; i++ {
			c.importers = append(c.importers, member(reg.prefix+"冷链进口贸易", ledger.RoleImporter, "", d[i%len(d)]))
		}
		for i := 0; i < 2; i++ {
			c.warehouses = append(c.warehouses, member(reg.prefix+"进口冷链食品集中监管仓", ledger.RoleSupervisionWarehouse, "supervision_warehouse", d[1+i]))
		}
		for i := 0; i < 200; i++ {
			c.markets = append(c.markets, member(reg.prefix+"农副产品市场", ledger.RoleRetailer, "market", d[i%len(d)]))
		}
		c.lab = member(reg.prefix+"核酸检测", ledger.RoleLab, "", d[2])
		c.dis = member(reg.prefix+"消毒服务", ledger.RoleDisinfector, "", d[1])
		for _, m := range c.importers {
			c.quarantine[m.p.Org] = append(upload(m, ledger.DocQuarantineCertificate), upload(m, ledger.DocCustomsDeclaration)...)
		}
		for _, m := range c.warehouses {
			c.release[m.p.Org] = upload(m, ledger.DocReleaseCertificate)
		}
		c.report, c.certificate = upload(c.lab, ledger.DocTestReport), upload(c.dis, ledger.DocDisinfectionCertificate)
		return c
	}
	sh := cast(benchShanghai)
	port, importers, warehouses, lab, dis := sh.port, sh.importers, sh.warehouses, sh.lab, sh.dis
	quarantine, release := sh.quarantine, sh.release
	mustRun := func(subs []ledger.Submission) []*ledger.Receipt {
		out, err := benchRun(ctx, l, subs)
		if err != nil {
			tb.Fatal(err)
		}
		return out
	}
	g := func(kg int64) *ledger.Quantity { return &ledger.Quantity{Grams: kg * 1000} }
	start := time.Now().UTC().Add(-400 * 24 * time.Hour).Truncate(time.Hour)
	products := benchProducts
	temp := -19.0
	// First the 1,000-lot family (a failure shows in seconds): a root
	// split into 9, each into 10, each into 10,
	// down cold stores and markets of four provinces.
	regions := []string{"330106", "440305", "370202", "110105"}
	var stores, stalls []benchMember
	for i := 0; i < 9; i++ {
		stores = append(stores, member("冷链仓储", ledger.RoleColdStore, "cold_store", regions[i%len(regions)]))
	}
	for i := 0; i < 30; i++ {
		stalls = append(stalls, member("农副产品批发市场", ledger.RoleWholesaler, "market", regions[i%len(regions)]))
	}
	at := start.Add(200 * 24 * time.Hour)
	imp, wh := importers[0], warehouses[0]
	prod := products[0]
	big := mustRun([]ledger.Submission{{Principal: imp.p, Event: ledger.Event{Kind: ledger.Declared, At: at, Site: port.site, Product: &prod,
		DeclarationNo: fixtures.DeclarationNo("2248", at.Year(), 999999), Containers: []ledger.Container{{Number: fixtures.Container("BIG", 1)}},
		Quantity: g(1_000_000), Attachments: quarantine[imp.p.Org]}}})[0]
	mustRun([]ledger.Submission{
		{Principal: lab.p, Event: ledger.Event{Kind: ledger.Tested, At: at.Add(time.Hour), Lot: big.Lot, Samples: 50, Scope: []string{"goods"}, Result: "negative"}},
		{Principal: dis.p, Event: ledger.Event{Kind: ledger.Disinfected, At: at.Add(2 * time.Hour), Lot: big.Lot, Scope: []string{"each_piece", "outer_packaging"}, Agent: "过氧乙酸", Attachments: sh.certificate}},
		{Principal: imp.p, Event: ledger.Event{Kind: ledger.Shipped, At: at.Add(3 * time.Hour), Lot: big.Lot, ToOrg: wh.p.Org, ToSite: wh.site, Quantity: g(1_000_000)}},
		{Principal: wh.p, Event: ledger.Event{Kind: ledger.Received, At: at.Add(5 * time.Hour), Lot: big.Lot, Site: wh.site, Quantity: g(1_000_000)}},
		{Principal: lab.p, Event: ledger.Event{Kind: ledger.Tested, At: at.Add(5*time.Hour + 30*time.Minute), Lot: big.Lot, Samples: 30, Scope: []string{"goods", "packaging"}, Result: "negative", Attachments: sh.report}},
		{Principal: wh.p, Event: ledger.Event{Kind: ledger.Released, At: at.Add(6 * time.Hour), Lot: big.Lot, Attachments: release[wh.p.Org]}},
	})
	type held struct {
		id  string
		m   benchMember
		kg  int64
		at  time.Time
		lvl int
	}
	level := []held{{id: big.Lot, m: wh, kg: 1_000_000, at: at.Add(6 * time.Hour)}}
	lots := 1
	for depth, fan := range []int{9, 10, 10} {
		var next []held
		var ships []ledger.Submission
		var dest []held
		for _, h := range level {
			for j := 0; j < fan; j++ {
				to := stores[(len(dest))%len(stores)]
				if depth > 0 {
					to = stalls[r.IntN(len(stalls))]
				}
				kg := h.kg / int64(fan+1)
				t := h.at.Add(time.Duration(j+1) * time.Hour)
				ships = append(ships, ledger.Submission{Principal: h.m.p, Event: ledger.Event{Kind: ledger.Shipped, At: t, Lot: h.id, ToOrg: to.p.Org, ToSite: to.site,
					Quantity: g(kg), Vehicle: &ledger.Vehicle{Plate: fmt.Sprintf("浙A%05d", r.IntN(100000))}, TemperatureC: &temp}})
				dest = append(dest, held{m: to, kg: kg, at: t.Add(4 * time.Hour), lvl: depth + 1})
			}
		}
		var recv []ledger.Submission
		for i, rc := range mustRun(ships) {
			dest[i].id = rc.CreatedLots[0].ID
			recv = append(recv, ledger.Submission{Principal: dest[i].m.p, Event: ledger.Event{Kind: ledger.Received, At: dest[i].at, Lot: dest[i].id,
				Site: dest[i].m.site, Quantity: g(dest[i].kg), TemperatureC: &temp}})
			recv = append(recv, ledger.Submission{Principal: lab.p, Event: ledger.Event{Kind: ledger.Tested, At: dest[i].at.Add(time.Hour), Lot: dest[i].id,
				Samples: 4, Scope: []string{"goods"}, Result: "negative"}})
			dest[i].at = dest[i].at.Add(2 * time.Hour)
			next = append(next, dest[i])
			lots++
		}
		mustRun(recv)
		level = next
	}
	var sells []ledger.Submission
	for i, h := range level {
		kg := h.kg
		if i%10 == 0 {
			kg /= 2
		}
		sells = append(sells, ledger.Submission{Principal: h.m.p, Event: ledger.Event{Kind: ledger.Sold, At: h.at.Add(24 * time.Hour), Lot: h.id, Quantity: g(kg), Channel: "retail"}})
	}
	mustRun(sells)
	// Then the 100,000 batches of Shanghai and, when COLDTRACE_BENCH_RECORDS
	// asks for more, the batches of four other regions.
	// COLDTRACE_BENCH_BUILD_LIMIT (a
	// duration) stops the submitters after their current 5,000 batches once
	// it has passed: the ledger keeps what it reached, and says so.
	var limit time.Time
	if d, err := time.ParseDuration(os.Getenv(benchBuildLimitEnv)); err == nil && d > 0 {
		limit = t0.Add(d)
	}
	stop := func() bool { return !limit.IsZero() && time.Now().After(limit) }
	type submitter struct {
		c *benchCast
		r *rand.Rand
		n int
	}
	subs := []submitter{{sh, r, benchRoots}}
	for k, reg := range benchOtherRegions {
		n := extra / len(benchOtherRegions)
		if k < extra%len(benchOtherRegions) {
			n++
		}
		if n > 0 {
			subs = append(subs, submitter{cast(reg), rand.New(rand.NewPCG(benchSeed+uint64(k)+1, benchSeed>>1)), n})
		}
	}
	// Shanghai's first (the report's region), then the others take turns
	// by 5,000 batches: one submitter at a time, as parallel submitters
	// built at half the rate (issue 17's notes).
	var turn sync.Mutex
	built := make([]int, len(subs))
	built[0], err = buildRoots(ctx, l, sh, r, benchRoots, start, stop, &turn)
	if err != nil {
		tb.Fatal(err)
	}
	errs := make(chan error, len(subs))
	for k, s := range subs[1:] {
		go func() {
			var err error
			built[k+1], err = buildRoots(ctx, l, s.c, s.r, s.n, start, stop, &turn)
			errs <- err
		}()
	}
	for range subs[1:] {
		if err := <-errs; err != nil {
			tb.Fatal(err)
		}
	}
	roots := 0
	for _, n := range built {
		roots += n
	}

	bigLot, err := l.Lot(context.Background(), admin, big.Lot)
	if err != nil {
		tb.Fatal(err)
	}
	return benchInfo{Records: l.Size(), Roots: roots + 1, Shanghai: built[0], Stopped: stop(), BigRoot: big.Lot, BigCode: bigLot.TraceCode, BigLots: lots, Region: "31"}
}

// openBenchLedger opens the benchmark ledger in dir in-process, as the
// benchmarks query it (no sweeps), and returns it with what closes it
// and its store.
func openBenchLedger(tb testing.TB, dir string) (*ledger.Ledger, func()) {
	tb.Helper()
	key, err := readBenchKey(dir)
	if err != nil {
		tb.Fatal(err)
	}
	store, err := badgerkv.Open(filepath.Join(dir, "db"), badgerkv.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	l, err := ledger.New(store, key, ledger.Options{Blobs: fsblob.New(filepath.Join(dir, "blobs")), SweepEvery: -1})
	if err != nil {
		store.Close()
		tb.Fatal(err)
	}
	return l, func() {
		l.Close()
		store.Close()
	}
}
